// Paths across the fabric: from a switch to the nearest of a set of exit switches, shortest by configured cost and,
// among equals, the one whose tightest link group has the most unreserved capacity (Dijkstra on the pair, which
// stays exact because a path's bottleneck only shrinks as it grows).
import type { FabricGraph } from './graph.js';

export interface FabricPath {
  /** Switch names from the start to the exit. */
  switches: string[];
  /** The link group keys between consecutive switches. */
  groups: string[];
}

interface Label {
  cost: number;
  free: number;
  prev?: { sw: string; group: string };
}

const better = (a: Label, b: Label | undefined): boolean => !b || a.cost < b.cost || (a.cost === b.cost && a.free > b.free);

/**
 * The best path from `from` to any switch of `exits`, or undefined when none is reachable. `free(key)`: a group's
 * unreserved capacity; `avoid`: group keys not to use (a detour's: the link group it goes around).
 */
export function shortestPath(
  graph: FabricGraph,
  from: string,
  exits: ReadonlySet<string>,
  free: (groupKey: string) => number,
  avoid: ReadonlySet<string> = new Set(),
): FabricPath | undefined {
  const labels = new Map<string, Label>([[from, { cost: 0, free: Infinity }]]);
  const done = new Set<string>();
  for (;;) {
    let at: string | undefined;
    for (const [sw, l] of labels) {
      if (done.has(sw)) continue;
      const cur = at === undefined ? undefined : labels.get(at);
      // Ties on cost and room go to the name first in order, so that every switch computes the same tree.
      if (better(l, cur) || (cur && l.cost === cur.cost && l.free === cur.free && sw < at!)) at = sw;
    }
    if (at === undefined) return undefined;
    if (exits.has(at)) return unwind(labels, at);
    done.add(at);
    const here = labels.get(at)!;
    for (const e of graph.edges.get(at) ?? []) {
      if (done.has(e.to) || avoid.has(e.group.key)) continue;
      const next: Label = { cost: here.cost + e.group.cost, free: Math.min(here.free, free(e.group.key)), prev: { sw: at, group: e.group.key } };
      if (better(next, labels.get(e.to))) labels.set(e.to, next);
    }
  }
}

function unwind(labels: Map<string, Label>, end: string): FabricPath {
  const switches = [end];
  const groups: string[] = [];
  for (let l = labels.get(end)!; l.prev; l = labels.get(l.prev.sw)!) {
    switches.unshift(l.prev.sw);
    groups.unshift(l.prev.group);
  }
  return { switches, groups };
}

type Tree = Map<string, { group: string; to: string }>;
const trees = new WeakMap<FabricGraph, Map<string, Tree>>();

/** Each switch's next link group toward `target` (a shortest-path tree rooted there; the target has none). */
export function treeToward(graph: FabricGraph, target: string): Map<string, { group: string; to: string }> {
  let byTarget = trees.get(graph);
  if (!byTarget) trees.set(graph, (byTarget = new Map<string, Tree>()));
  const known = byTarget.get(target);
  if (known) return known;
  const out = new Map<string, { group: string; to: string }>();
  byTarget.set(target, out);
  for (const sw of graph.edges.keys()) {
    if (sw === target) continue;
    const p = shortestPath(graph, sw, new Set([target]), () => Infinity);
    if (p && p.switches.length > 1) out.set(sw, { group: p.groups[0]!, to: p.switches[1]! });
  }
  return out;
}
