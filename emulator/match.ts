// Match semantics of the emulated switch (OF1.3.5 §7.2.3): validation of a flow-mod's match the way Open vSwitch
// checks it, a canonical form for "identical match" (§6.4), and the three relations the flow table needs:
//   overlap  - a packet could match both entries (OFPFF_CHECK_OVERLAP);
//   covers   - a non-strict modify/delete/stats request selects an entry at least as specific as itself;
//   matches  - a packet's field values hit an entry (lookup).
// Every value is turned into a bigint with its mask (all ones when exact), so that MACs, IPv4/IPv6 addresses and
// integers of any width compare the same way.
import { OfpError, OFPET, OFPBMC, oxmDef, macToBytes, ipv4ToBytes, ipv6ToBytes } from '../controller/openflow/index.js';
import type { Match, OxmValue, OxmDef } from '../controller/openflow/index.js';

export interface CField {
  name: string;
  /** Value with the bits outside the mask cleared. */
  value: bigint;
  mask: bigint;
}

export interface CompiledMatch {
  /** Sorted by field name; wildcarded (all-zero mask) fields are dropped, full masks count as exact. */
  fields: CField[];
  /** Canonical text of `fields`: equal keys are identical matches. */
  key: string;
}

/** Packet field values for lookup(): OXM field names (`in_port`, `eth_dst`, `ipv4_src`, ...) to values. */
export type PacketFields = Record<string, OxmValue>;

function bytesToBig(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

function toBig(def: OxmDef | undefined, v: OxmValue): bigint {
  if (Buffer.isBuffer(v)) return bytesToBig(v);
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  switch (def?.kind) {
    case 'mac':
      return bytesToBig(macToBytes(v));
    case 'ipv4':
      return bytesToBig(ipv4ToBytes(v));
    case 'ipv6':
      return bytesToBig(ipv6ToBytes(v));
    default:
      throw new OfpError(OFPET.BAD_MATCH, OFPBMC.BAD_VALUE, `text value for integer field ${def?.name}`);
  }
}

function fullMask(def: OxmDef | undefined, v: OxmValue): bigint {
  const width = def ? def.width : Buffer.isBuffer(v) ? v.length : 8;
  return (1n << BigInt(8 * width)) - 1n;
}

/** Open vSwitch also takes masks on these, though OF1.3.5 Table 12 does not list them as maskable. */
const OVS_MASKABLE = new Set(['tcp_src', 'tcp_dst', 'udp_src', 'udp_dst', 'sctp_src', 'sctp_dst', 'ipv6_nd_target']);

const IP = [0x0800, 0x86dd];
/** OF1.3.5 Table 12 prerequisites: the field that must be matched exactly (earlier in the list), and its values. */
const PREREQS: Record<string, [string, number[]][]> = {
  ip_dscp: [['eth_type', IP]],
  ip_ecn: [['eth_type', IP]],
  ip_proto: [['eth_type', IP]],
  ipv4_src: [['eth_type', [0x0800]]],
  ipv4_dst: [['eth_type', [0x0800]]],
  tcp_src: [['ip_proto', [6]]],
  tcp_dst: [['ip_proto', [6]]],
  udp_src: [['ip_proto', [17]]],
  udp_dst: [['ip_proto', [17]]],
  sctp_src: [['ip_proto', [132]]],
  sctp_dst: [['ip_proto', [132]]],
  icmpv4_type: [
    ['eth_type', [0x0800]],
    ['ip_proto', [1]],
  ],
  icmpv4_code: [
    ['eth_type', [0x0800]],
    ['ip_proto', [1]],
  ],
  arp_op: [['eth_type', [0x0806]]],
  arp_spa: [['eth_type', [0x0806]]],
  arp_tpa: [['eth_type', [0x0806]]],
  arp_sha: [['eth_type', [0x0806]]],
  arp_tha: [['eth_type', [0x0806]]],
  ipv6_src: [['eth_type', [0x86dd]]],
  ipv6_dst: [['eth_type', [0x86dd]]],
  ipv6_flabel: [['eth_type', [0x86dd]]],
  ipv6_exthdr: [['eth_type', [0x86dd]]],
  icmpv6_type: [
    ['eth_type', [0x86dd]],
    ['ip_proto', [58]],
  ],
  icmpv6_code: [
    ['eth_type', [0x86dd]],
    ['ip_proto', [58]],
  ],
  ipv6_nd_target: [['icmpv6_type', [135, 136]]],
  ipv6_nd_sll: [['icmpv6_type', [135]]],
  ipv6_nd_tll: [['icmpv6_type', [136]]],
  mpls_label: [['eth_type', [0x8847, 0x8848]]],
  mpls_tc: [['eth_type', [0x8847, 0x8848]]],
  mpls_bos: [['eth_type', [0x8847, 0x8848]]],
  pbb_isid: [['eth_type', [0x88e7]]],
};

const badMatch = (code: number, detail: string): never => {
  throw new OfpError(OFPET.BAD_MATCH, code, detail);
};

/**
 * Validates a match as Open vSwitch does for OpenFlow 1.2+ (strict mode) and compiles it. Errors: BAD_FIELD
 * (unknown field), BAD_MASK (mask on an unmaskable field), BAD_WILDCARDS (value bits outside the mask),
 * DUP_FIELD, BAD_PREREQ (prerequisite missing or not earlier in the list).
 */
export function compileMatch(match: Match): CompiledMatch {
  const exact = new Map<string, bigint>(); // exactly matched fields so far, for prerequisites
  const seen = new Set<string>();
  const fields: CField[] = [];
  for (const f of match) {
    const def = oxmDef(f.field);
    if (!def) badMatch(OFPBMC.BAD_FIELD, `unsupported match field ${f.field}`);
    if (seen.has(f.field)) badMatch(OFPBMC.DUP_FIELD, `${f.field} appears twice`);
    seen.add(f.field);
    const full = fullMask(def, f.value);
    const value = toBig(def, f.value);
    let mask = full;
    if (f.mask !== undefined) {
      if (!def!.maskable && !OVS_MASKABLE.has(f.field)) badMatch(OFPBMC.BAD_MASK, `${f.field} cannot be masked`);
      mask = toBig(def, f.mask);
      if ((value & ~mask) !== 0n) badMatch(OFPBMC.BAD_WILDCARDS, `${f.field} value has bits outside its mask`);
    }
    for (const [pre, values] of PREREQS[f.field] ?? []) {
      const v = exact.get(pre);
      if (v === undefined || !values.includes(Number(v))) badMatch(OFPBMC.BAD_PREREQ, `${f.field} needs ${pre} in ${values.join('/')}`);
    }
    if (f.field === 'vlan_pcp') {
      const vid = fields.find((x) => x.name === 'vlan_vid');
      if (!vid || (vid.value & vid.mask & 0x1000n) === 0n) badMatch(OFPBMC.BAD_PREREQ, 'vlan_pcp needs vlan_vid with OFPVID_PRESENT');
    }
    if (mask === full) exact.set(f.field, value);
    if (mask !== 0n) fields.push({ name: f.field, value, mask });
  }
  fields.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const key = fields.map((f) => `${f.name}=${f.value.toString(16)}/${f.mask.toString(16)}`).join(',');
  return { fields, key };
}

function find(fields: CField[], name: string): CField | undefined {
  for (const f of fields) if (f.name === name) return f;
  return undefined;
}

/** True if some packet could match both (§6.4 overlap): every field both constrain agrees on the common bits. */
export function overlaps(a: CField[], b: CField[]): boolean {
  for (const x of a) {
    const y = find(b, x.name);
    if (!y) continue;
    const common = x.mask & y.mask;
    if ((x.value & common) !== (y.value & common)) return false;
  }
  return true;
}

/**
 * Non-strict selection (§6.4): the entry matches at least every bit the request matches, with the same values,
 * i.e. the entry is equally or more specific. The empty request selects everything.
 */
export function covers(request: CField[], entry: CField[]): boolean {
  for (const r of request) {
    const e = find(entry, r.name);
    if (!e || (e.mask & r.mask) !== r.mask || (e.value & r.mask) !== r.value) return false;
  }
  return true;
}

/** Packet fields turned into bigints once per lookup. */
export function compilePacket(pkt: PacketFields): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const [name, v] of Object.entries(pkt)) out.set(name, toBig(oxmDef(name), v));
  return out;
}

/** Whether a packet with these field values hits the entry. A packet without a VLAN tag has vlan_vid OFPVID_NONE. */
export function packetMatches(pkt: Map<string, bigint>, entry: CField[]): boolean {
  for (const f of entry) {
    let v = pkt.get(f.name);
    if (v === undefined) {
      if (f.name !== 'vlan_vid') return false;
      v = 0n;
    }
    if ((v & f.mask) !== f.value) return false;
  }
  return true;
}
