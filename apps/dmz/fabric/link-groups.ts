// Sending out of a link group: one link, its port; parallel links, the switch's select group over them (OF1.3.5
// §5.6.1: the switch picks one bucket per flow by a hash of its own choosing; Open vSwitch hashes the 5-tuple),
// whose buckets watch their ports so that a link that goes down drops out of the choice. OpenFlow 1.3 has no way
// to name the hash fields (OVS takes them in a group property from OpenFlow 1.5 on): a switch given `lag-hash`
// sends over Open vSwitch's bundle action instead, which hashes those fields over the members that are up.
import type { Action } from '../../../controller/openflow/index.js';
import { nxBundle } from '../../../controller/openflow/nx-actions.js';
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
  const ports = portsOn(fabricGraph(site).groups.get(key)!, sw);
  const id = selectIds(site).get(key);
  if (id === undefined) return output(ports[0]!);
  const hash = lagHashOf(site, sw);
  return hash ? nxBundle(ports, hash) : { type: 'group', groupId: id };
}

function lagHashOf(site: Site, sw: string) {
  return site.switches.find((s) => s.name === sw)?.lagHash;
}

/** The port a fast-failover bucket watches for a link group: its first port (a parallel group's select group follows). */
export function watchPortOf(site: Site, key: string, sw: string): number {
  return portsOn(fabricGraph(site).groups.get(key)!, sw)[0]!;
}

/** The select groups a switch holds: one per parallel link group it is an end of (none where it hashes itself). */
export function selectGroupsOf(site: Site, sw: string): GroupSpec[] {
  const out: GroupSpec[] = [];
  if (lagHashOf(site, sw)) return out;
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
