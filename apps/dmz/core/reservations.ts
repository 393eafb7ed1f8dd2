// Bandwidth reserved on the fabric's link groups: a lease with a rate holds it on every link group of its primary
// routes and of their ways in from other WAN entries (once per group, however many of its DTNs' paths cross it).
// Running sums kept with the rules (rules.ts).
import { LeaseRefused } from '../pipeline.js';
import { fabricGraph } from '../fabric/graph.js';
import { groupsOf } from '../fabric/routes.js';
import type { State } from './state.js';
import { routesOf } from './lease-tables.js';

/** Mbit/s reserved on each link group (by its key, `A<->B`). */
export function reservedByGroup(state: State): Map<string, number> {
  const out = new Map<string, number>();
  if (state.site.links.length === 0) return out;
  for (const [key, mbps] of state.rules.routedReservations) out.set(key, mbps);
  for (const l of state.rules.unroutedRated()) {
    let routes;
    try {
      routes = routesOf(state.site, l, state.linksDown);
    } catch {
      continue; // (no path: it reserves nothing until it has one)
    }
    for (const key of groupsOf(routes)) out.set(key, (out.get(key) ?? 0) + (l.rateMbps ?? 0));
  }
  return out;
}

/** A link group's capacity not reserved, over its links that are up. */
export function freeOn(state: State): (key: string) => number {
  const reserved = reservedByGroup(state);
  const graph = fabricGraph(state.site, state.linksDown);
  return (key) => (graph.groups.get(key)?.capacityMbps ?? 0) - (reserved.get(key) ?? 0);
}

/** Refuses ('path-capacity') when a group of the path has less room than `rate`, naming the first such link. */
export function checkPathCapacity(state: State, groups: Iterable<string>, rate: number, free = freeOn(state)): void {
  if (rate <= 0) return;
  const graph = fabricGraph(state.site, state.linksDown);
  for (const key of groups) {
    const left = free(key);
    if (rate <= left + 1e-6) continue;
    const g = graph.groups.get(key)!;
    const name = g.links.length === 1 ? g.links[0]!.name : `${key} (${g.links.map((l) => l.name).join(', ')})`;
    const fmt = (x: number): string => String(Math.round(x * 1000) / 1000);
    throw new LeaseRefused(
      'path-capacity',
      `link ${name} has ${fmt(Math.max(0, left))} Mbit/s of its ${g.capacityMbps} unreserved; the transfer asks for ${fmt(rate)}`,
      {
        link: name,
        capacity_mbps: g.capacityMbps,
        capacity_left_mbps: Math.max(0, Number(fmt(left))),
        rate_mbps: rate,
      },
    );
  }
}

/** Mbit/s reserved on each link (by SiteLink name): a group's reservation shared by its links in proportion to their capacity. */
export function reservedByLink(state: State): Map<string, number> {
  const out = new Map<string, number>();
  const graph = fabricGraph(state.site);
  for (const [key, mbps] of reservedByGroup(state)) {
    const g = graph.groups.get(key);
    if (!g) continue;
    for (const l of g.links) out.set(l.name, (mbps * l.capacityMbps) / g.capacityMbps);
  }
  return out;
}
