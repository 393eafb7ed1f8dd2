// What the fabric benchmarks read off an emulated switch's tables: the DMZ leases' flows (by their owner's cookie),
// which lease each belongs to, and the ports it comes in by or goes out of.
import type { EmulatedSwitch } from '../emulator/index.js';
import type { FlowEntry } from '../emulator/flow-table.js';
import { cookieId, ownerIdOf } from '../controller/cookie.js';
import { OWNER } from '../apps/dmz/owners.js';

export function leaseFlows(sw: EmulatedSwitch): FlowEntry[] {
  return [...sw.pipeline.allFlows()].filter((e) => ownerIdOf(e.cookie) === OWNER.LEASES);
}

export const leaseOf = (e: FlowEntry): number => cookieId(e.cookie);

/** The flow's in_port (undefined: it matches none). */
export function inPortOf(e: FlowEntry): number | undefined {
  const f = e.fields.find((x) => x.name === 'in_port');
  return f && Number(f.value);
}

/** Every output port of its actions, and of the buckets of the groups it sends to. */
export function outPortsOf(sw: EmulatedSwitch, e: FlowEntry): number[] {
  const out: number[] = [];
  for (const i of e.instructions) {
    if (i.type !== 'applyActions' && i.type !== 'writeActions') continue;
    for (const a of i.actions) {
      if (a.type === 'output') out.push(a.port);
      if (a.type === 'group')
        for (const b of sw.pipeline.groups.get(a.groupId)?.buckets ?? []) for (const x of b.actions) if (x.type === 'output') out.push(x.port);
    }
  }
  return out;
}

/** The leases with a flow on the switch that comes in by or goes out of `port`. */
export function leasesThrough(sw: EmulatedSwitch, port: number): Set<number> {
  const ids = new Set<number>();
  for (const e of leaseFlows(sw)) if (inPortOf(e) === port || outPortsOf(sw, e).includes(port)) ids.add(leaseOf(e));
  return ids;
}

/** The leases with any flow on the switch. */
export function leasesOn(sw: EmulatedSwitch): Set<number> {
  return new Set(leaseFlows(sw).map(leaseOf));
}
