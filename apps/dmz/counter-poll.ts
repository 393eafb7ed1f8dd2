// Reading the active leases' counters from their switches (the DMZ app's poll): flow-stats requests that select a
// lease's flows by the cookie, its owner and id (OF1.3.5 §7.3.5.2: cookie and cookie_mask), on the switch of each
// lease's first hop, whose inbound and outbound flows count the whole transfer.
import { flowStatsByCookie } from '../../controller/flow-stats.js';
import type { Controller } from '../../controller/controller.js';
import type { FlowManager } from '../../controller/flow-manager.js';
import { flowKey, ALL_ONES_64, type FlowEntry } from '../../controller/flow-entry.js';
import { ID_MASK, OWNER_MASK, cookieId } from '../../controller/cookie.js';
import type { FlowStats } from '../../controller/openflow/multipart/index.js';
import { OWNER_NAMES } from './owners.js';
import type { Site } from './site.js';
import type { LeaseCounters } from './lease-counters.js';

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

/** A lease as the poll needs it: its id, its DTN and the switches of its path (the first one is read). */
export interface PolledLease {
  id: number;
  dtn: string;
  hops: readonly { dpid: bigint }[];
}

/** Whether a lease flow counts traffic toward its DTN (it does not come in from the DTN's port). */
export function countsInbound(site: Site, dtn: string, match: FlowEntry['match']): boolean {
  const port = site.dtns.find((d) => d.name === dtn)?.port;
  return match.find((m) => m.field === 'in_port')?.value !== port;
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
  for (const l of leases) {
    const dpid = l.hops[0]?.dpid;
    if (dpid === undefined) continue;
    let list = bySwitch.get(dpid);
    if (!list) bySwitch.set(dpid, (list = []));
    list.push(l);
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
      const site = p.site();
      for (const [id, flows] of byLease) {
        const lease = p.active(id);
        if (!lease || p.counters.unchanged(id, flows)) continue;
        for (const s of flows) {
          const key = flowKey({ tableId: s.tableId, priority: s.priority, match: s.match });
          p.counters.note(id, key, countsInbound(site, lease.dtn, s.match), s.packetCount, s.byteCount);
        }
      }
      for (const l of block.leases) p.counters.read(l.id);
    }
  }
}
