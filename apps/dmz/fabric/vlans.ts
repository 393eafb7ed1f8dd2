// The fabric VLANs: on a link between switches, enterprise (default) traffic travels tagged with the VLAN of its
// segment and direction, so that every switch forwards it by tag alone; lease traffic travels untagged and is
// matched exactly (vlan_vid OFPVID_NONE, OF1.3.5 §7.2.3.8) on every hop. Untagged traffic from a fabric port that
// matches no lease, or traffic with another tag, meets the table miss: dropped.
export const FABRIC_VLAN = {
  /** From a WAN entry (or a circuit trunk, without a lease) toward the firewall's outside leg. */
  outsideUp: 4091,
  /** From the firewall's outside leg toward the site's WAN exit. */
  outsideDown: 4092,
  /** From an inside host (DTN, perfSONAR, LAN) toward the firewall's inside leg. */
  insideUp: 4093,
  /** From the firewall's inside leg toward the inside hosts. */
  insideDown: 4094,
} as const;

/** Select groups over parallel links take ids from here up (one per link group, fixed per site). */
export const SELECT_GROUP_BASE = 0xf000;
/** A lease's fast-failover groups: FF_GROUP_BASE + lease id * 256 + member * 32 + direction * 16 + step (lease-flows.ts). */
export const FF_GROUP_BASE = 0x100000;
export const FF_GROUPS_PER_LEASE = 256;
