// Reading the active leases' counters from their switches (the DMZ app's poll): flow-stats requests that select a
// lease's flows by the cookie, its owner and id (OF1.3.5 §7.3.5.2: cookie and cookie_mask), on the switches of its
// DTNs (a cluster's members may sit on several), where every packet of the transfer is counted once (countedAs).
import { flowStatsByCookie } from '../../controller/flow-stats.js';
import type { Controller } from '../../controller/controller.js';
import type { FlowManager } from '../../controller/flow-manager.js';
import { flowKey, ALL_ONES_64, type FlowEntry } from '../../controller/flow-entry.js';
import { ID_MASK, OWNER_MASK, cookieId } from '../../controller/cookie.js';
import type { FlowStats } from '../../controller/openflow/multipart/index.js';
import { ipv6ToBytes, ipv6ToString } from '../../controller/openflow/addr.js';
import { OWNER_NAMES } from './owners.js';
import { dtnsNamed, switchByName, type Site } from './site.js';
import { countedKey, type LeaseCounters } from './lease-counters.js';

/** Flow-stats requests per switch per poll at most (see idBlocks). */
const MAX_POLL_BLOCKS = 32;

/**
 * Leases in blocks of consecutive ids, each block read with one flow-stats request that matches the owner and
 * the high bits of the id in the cookie: a poll of thousands of leases is then read and counted a block at a
 * time, between which the event loop serves requests, not in one long turn. Blocks of 256 ids, or larger ones if
 * the active ids are so spread that there would be more than MAX_POLL_BLOCKS. One lease: its exact cookie.
 */
export function idBlocks<L extends { id: number }>(list: L[]): { low: bigint; mask: bigint; leases: L[] }[] {
  if (list.length === 1) return [{ low: BigInt(list[0]!.id), mask: ALL_ONES_64, leases: list }];
  for (let bits = 8; ; bits++) {
    const size = 2 ** bits;
    const blocks = new Map<number, L[]>();
    for (const l of list) {
      const b = Math.floor(l.id / size);
      let part = blocks.get(b);
      if (!part) blocks.set(b, (part = []));
      part.push(l);
    }
    if (blocks.size <= MAX_POLL_BLOCKS || bits >= 48) {
      const mask = OWNER_MASK | (ID_MASK & ~(BigInt(size) - 1n));
      return [...blocks].map(([b, leases]) => ({ low: BigInt(b) * BigInt(size), mask, leases }));
    }
  }
}

/** A lease as the poll needs it: its id and its DTN (or cluster). */
export interface PolledLease {
  id: number;
  dtn: string;
}

/** A DTN of a lease on one switch: the port it sends from, the addresses it is reached at. */
interface Member {
  port: number;
  addrs: Set<string>;
}

const membersBySite = new WeakMap<Site, Map<string, Map<bigint, Member[]>>>();

/** The lease's DTNs (a cluster's members) by the dpid of their switch. */
function memberSwitches(site: Site, dtn: string): Map<bigint, Member[]> {
  let bySite = membersBySite.get(site);
  if (!bySite) membersBySite.set(site, (bySite = new Map<string, Map<bigint, Member[]>>()));
  let out = bySite.get(dtn);
  if (!out) {
    out = new Map<bigint, Member[]>();
    for (const d of dtnsNamed(site, dtn)) {
      const dpid = switchByName(site, d.switch).dpid;
      // As the codec prints a decoded ipv6 field, so that the comparison holds whatever the config's spelling.
      const addrs = new Set([...d.ipv4, ...d.ipv6.map((a) => ipv6ToString(ipv6ToBytes(a), 0))]);
      out.set(dpid, [...(out.get(dpid) ?? []), { port: d.port, addrs }]);
    }
    bySite.set(dtn, out);
  }
  return out;
}

/**
 * Whether a lease flow on switch `dpid` counts the transfer's packets in, out, or not at all. Each packet is
 * counted once, at its DTN's switch: going out by the flow that takes it in from the DTN's port, coming in by the
 * flow there that sends it on toward the DTN's address (from the WAN, a trunk, or a fabric port). Flows on the
 * other switches of the path, and those of another member passing through, count nothing.
 */
export function countedAs(site: Site, dtn: string, dpid: bigint, match: FlowEntry['match']): 'in' | 'out' | undefined {
  const members = memberSwitches(site, dtn).get(dpid);
  if (!members) return undefined;
  const inPort = match.find((m) => m.field === 'in_port')?.value;
  if (members.some((m) => m.port === inPort)) return 'out';
  const dst = match.find((m) => (m.field === 'ipv4_dst' || m.field === 'ipv6_dst') && m.mask === undefined)?.value;
  return typeof dst === 'string' && members.some((m) => m.addrs.has(dst)) ? 'in' : undefined;
}

export interface CounterPoll {
  controller: Controller;
  flows: FlowManager;
  counters: LeaseCounters;
  site: () => Site;
  /** The lease as it is now, if still active (a lease may close while its block is read). */
  active: (id: number) => PolledLease | undefined;
}

/** Reads the counters of `leases` (switches not connected are skipped) into the lease counters. */
export async function readLeaseCounters(p: CounterPoll, leases: Iterable<PolledLease>): Promise<void> {
  const bySwitch = new Map<bigint, PolledLease[]>();
  const site = p.site();
  for (const l of leases) {
    for (const dpid of memberSwitches(site, l.dtn).keys()) {
      let list = bySwitch.get(dpid);
      if (!list) bySwitch.set(dpid, (list = []));
      list.push(l);
    }
  }
  for (const [dpid, list] of bySwitch) {
    const conn = p.controller.get(dpid);
    if (!conn) continue;
    for (const block of idBlocks(list)) {
      const stats = await conn.multipart<FlowStats>(flowStatsByCookie(p.flows.cookie(OWNER_NAMES.leases, block.low), block.mask));
      const byLease = new Map<number, FlowStats[]>();
      for (const s of stats) {
        const id = cookieId(s.cookie);
        let flows = byLease.get(id);
        if (!flows) byLease.set(id, (flows = []));
        flows.push(s);
      }
      for (const [id, flows] of byLease) {
        const lease = p.active(id);
        if (!lease) continue;
        const counted = flows.flatMap((s) => {
          const as = countedAs(site, lease.dtn, dpid, s.match);
          return as ? [{ s, inbound: as === 'in' }] : [];
        });
        if (
          p.counters.unchanged(
            id,
            dpid,
            counted.map((c) => c.s),
          )
        )
          continue;
        for (const { s, inbound } of counted) {
          const key = countedKey(dpid, flowKey({ tableId: s.tableId, priority: s.priority, match: s.match }));
          p.counters.note(id, key, inbound, s.packetCount, s.byteCount);
        }
      }
      for (const l of block.leases) p.counters.read(l.id);
    }
  }
}
