// The fabric as a graph: switches joined by link groups. Parallel links between the same two switches form one
// group (used together, through a select group), whose cost is its cheapest link's and whose capacity is the sum
// of its links'. A link that is down is left out; a group with no link up is no edge.
import type { Site, SiteLink } from '../site.js';

export interface LinkGroup {
  /** `A<->B`, the switch names in sorted order. */
  key: string;
  /** The up links of the group, in config order. */
  links: SiteLink[];
  cost: number;
  capacityMbps: number;
}

export interface Edge {
  group: LinkGroup;
  to: string;
}

export interface FabricGraph {
  groups: Map<string, LinkGroup>;
  edges: Map<string, Edge[]>;
}

export const groupKey = (x: string, y: string): string => (x < y ? `${x}<->${y}` : `${y}<->${x}`);

const graphs = new WeakMap<Site, Map<string, FabricGraph>>();

/** The graph of a site's links less those down (made once per site and set of down links). */
export function fabricGraph(site: Site, down: ReadonlySet<string> = new Set()): FabricGraph {
  let bySite = graphs.get(site);
  if (!bySite) graphs.set(site, (bySite = new Map<string, FabricGraph>()));
  const cacheKey = [...down].sort().join('\n');
  let g = bySite.get(cacheKey);
  if (g) return g;
  g = { groups: new Map(), edges: new Map(site.switches.map((sw) => [sw.name, []])) };
  for (const l of site.links) {
    if (down.has(l.name)) continue;
    const key = groupKey(l.a.switch, l.b.switch);
    let grp = g.groups.get(key);
    if (!grp) {
      g.groups.set(key, (grp = { key, links: [], cost: l.cost, capacityMbps: 0 }));
      g.edges.get(l.a.switch)?.push({ group: grp, to: l.b.switch });
      g.edges.get(l.b.switch)?.push({ group: grp, to: l.a.switch });
    }
    grp.links.push(l);
    grp.cost = Math.min(grp.cost, l.cost);
    grp.capacityMbps += l.capacityMbps;
  }
  bySite.set(cacheKey, g);
  return g;
}

/** The ports of a group's links on one of its switches, in config order. */
export function portsOn(group: LinkGroup, sw: string): number[] {
  return group.links.map((l) => (l.a.switch === sw ? l.a.port : l.b.port));
}

/** Every fabric link group's ports on a switch (the configured links, up or not). */
export function fabricPortsOf(site: Site, sw: string): number[] {
  return site.links.flatMap((l) => (l.a.switch === sw ? [l.a.port] : l.b.switch === sw ? [l.b.port] : []));
}
