// Sending out of a link group: one link, its port; parallel links, the switch's select group over them (OF1.3.5
// §5.6.1: the switch picks one bucket per flow by a hash of its own choosing; Open vSwitch hashes the 5-tuple),
// whose buckets watch their ports so that a link that goes down drops out of the choice.
import type { Action } from '../../../controller/openflow/index.js';
import type { GroupSpec } from '../core/plan.js';
import { output } from '../pipeline.js';
import type { Site } from '../site.js';
import { fabricGraph, portsOn } from './graph.js';
import { SELECT_GROUP_BASE } from './vlans.js';

const idsOf = new WeakMap<Site, Map<string, number>>();

/** Each configured link group with parallel links and its select group id (fixed for the site). */
function selectIds(site: Site): Map<string, number> {
  let ids = idsOf.get(site);
  if (!ids) {
    const parallel = [...fabricGraph(site).groups.values()].filter((g) => g.links.length > 1).map((g) => g.key);
    ids = new Map(parallel.sort().map((k, i) => [k, SELECT_GROUP_BASE + i]));
    idsOf.set(site, ids);
  }
  return ids;
}

/** The action that sends a packet from switch `sw` over link group `key`. */
export function sendOver(site: Site, key: string, sw: string): Action {
  const id = selectIds(site).get(key);
  if (id !== undefined) return { type: 'group', groupId: id };
  return output(portsOn(fabricGraph(site).groups.get(key)!, sw)[0]!);
}

/** The port a fast-failover bucket watches for a link group: its first port (a parallel group's select group follows). */
export function watchPortOf(site: Site, key: string, sw: string): number {
  return portsOn(fabricGraph(site).groups.get(key)!, sw)[0]!;
}

/** The select groups a switch holds: one per parallel link group it is an end of. */
export function selectGroupsOf(site: Site, sw: string): GroupSpec[] {
  const out: GroupSpec[] = [];
  for (const [key, groupId] of selectIds(site)) {
    const g = fabricGraph(site).groups.get(key)!;
    if (!g.links.some((l) => l.a.switch === sw || l.b.switch === sw)) continue;
    out.push({
      groupId,
      type: 'select',
      buckets: portsOn(g, sw).map((port) => ({ weight: 1, watchPort: port, actions: [{ type: 'applyActions', actions: [output(port)] }] })),
    });
  }
  return out;
}
