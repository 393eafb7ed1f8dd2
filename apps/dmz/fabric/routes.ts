// A lease's routes: for each of its DTNs (one, or a cluster's members), the path from the DTN's switch to the exit
// its path name chooses (routed: a wan-routed port on any switch; circuit:NAME: the circuit's trunk), and, when the
// site's policy asks, at each switch of it a detour around the next link group back onto the path further along;
// for a routed lease in a fabric of several WAN entries, the way from each other entry onto the path (inbound).
import { LeaseRefused } from '../pipeline.js';
import { dtnsNamed, standaloneSwitches, type Site } from '../site.js';
import type { PathName } from '../model.js';
import { fabricGraph, type FabricGraph } from './graph.js';
import { shortestPath, type FabricPath } from './paths.js';

export interface Exit {
  switch: string;
  port: number;
  /** The circuit whose trunk it is (its VLAN pushed here on the way out, popped on the way in). */
  circuit?: string;
  /** A wan-routed port's border router, addressed by what leaves there (router-mac in the site config). */
  routerMac?: string;
}

/**
 * A way around the link group a path leaves switch `at` by (its index along the direction: up from the DTN's switch,
 * down from the exit), back onto the path further along: a fast-failover group at that switch takes it when the
 * link dies.
 */
export interface Detour {
  direction: 'up' | 'down';
  at: number;
  path: FabricPath;
}

/**
 * Another WAN entry of a routed lease (a fabric with several `wan-routed` ports): the way from it onto the lease's
 * path, for the packets the far end's network sends in there. Inbound only; it reserves nothing.
 */
export interface WanEntry {
  entry: Exit;
  /** From the entry's switch to the first switch of the lease's path it reaches (one switch: it is on the path). */
  path: FabricPath;
}

export interface MemberRoute {
  dtn: string;
  path: FabricPath;
  exit: Exit;
  /** With policy.backup-paths: for each switch of the path, a detour around its next link group, where one exists. */
  detours?: Detour[];
  /** A routed lease in a fabric: every other WAN entry it can be reached from over the links up. */
  entries?: WanEntry[];
}

export function exitsOf(site: Site, path: PathName): Exit[] {
  if (path === 'routed') {
    return site.switches.flatMap((sw) =>
      sw.ports
        .filter((p) => p.role === 'wan-routed')
        .map((p) => ({ switch: sw.name, port: p.portNo, ...(p.routerMac ? { routerMac: p.routerMac } : {}) })),
    );
  }
  const name = path.slice('circuit:'.length);
  const c = site.circuits.find((x) => x.name === name);
  if (!c) throw new LeaseRefused('unknown-path', `no circuit named ${name}`);
  return [{ switch: c.switch, port: c.trunkPort, circuit: c.name }];
}

/**
 * Routes for a lease's DTNs; `free(key)` is a link group's unreserved capacity (the tie-break among equal costs).
 * Refused ('no-path') when an exit cannot be reached over the links that are up.
 */
export function routeLease(site: Site, dtn: string, path: PathName, down: ReadonlySet<string>, free: (key: string) => number): MemberRoute[] {
  const key = `${dtn}\n${path}`;
  const known = local.get(site)?.get(key);
  if (known) return known;
  const graph = fabricGraph(site, down);
  const exits = exitsOf(site, path);
  const exitSwitches = new Set(exits.map((e) => e.switch));
  const routes = dtnsNamed(site, dtn).map((d) => {
    const p = shortestPath(graph, d.switch, exitSwitches, free);
    if (!p)
      throw new LeaseRefused('no-path', `no path of links up from ${d.name}'s switch ${d.switch} to ${path === 'routed' ? 'a WAN exit' : path}`);
    const end = p.switches.at(-1)!;
    const exit = exits.find((e) => e.switch === end)!;
    const route: MemberRoute = { dtn: d.name, path: p, exit };
    if (site.policy.backupPaths && p.switches.length > 1) {
      const reversed: FabricPath = { switches: [...p.switches].reverse(), groups: [...p.groups].reverse() };
      const detours = [...detoursOf(graph, p, 'up', free), ...detoursOf(graph, reversed, 'down', free)];
      if (detours.length > 0) route.detours = detours;
    }
    if (path === 'routed' && !standaloneSwitches(site)) {
      const entries = entriesOf(graph, exits, exit, p, free);
      if (entries.length > 0) route.entries = entries;
    }
    return route;
  });
  // Routes that stay on their DTNs' switches depend on no link: made once per site, shared by every such lease.
  // Not with another WAN entry: its way comes over links (and one cut off now may come back).
  if (routes.every((r) => r.path.switches.length === 1 && !r.entries) && (path !== 'routed' || !lacksEntries(site, routes))) {
    let bySite = local.get(site);
    if (!bySite) local.set(site, (bySite = new Map<string, MemberRoute[]>()));
    bySite.set(key, routes);
  }
  return routes;
}

const local = new WeakMap<Site, Map<string, MemberRoute[]>>();

/** At each switch of `seq` (in its direction), the best way around its next group back onto `seq` further along. */
function detoursOf(graph: FabricGraph, seq: FabricPath, direction: Detour['direction'], free: (key: string) => number): Detour[] {
  const out: Detour[] = [];
  for (let k = 0; k < seq.groups.length; k++) {
    const path = shortestPath(graph, seq.switches[k]!, new Set(seq.switches.slice(k + 1)), free, new Set([seq.groups[k]!]));
    if (path) out.push({ direction, at: k, path });
  }
  return out;
}

/**
 * The far end's network may send a routed lease's packets in by any WAN entry of the site: from each other one,
 * the shortest way onto the path (where it joins, the path's own flows take the packets on). An entry that cannot
 * reach the path over the links up has none.
 */
function entriesOf(graph: FabricGraph, exits: readonly Exit[], exit: Exit, p: FabricPath, free: (key: string) => number): WanEntry[] {
  const onPath = new Set(p.switches);
  const out: WanEntry[] = [];
  for (const e of exits) {
    if (e.switch === exit.switch && e.port === exit.port) continue;
    const path = shortestPath(graph, e.switch, onPath, free);
    if (path) out.push({ entry: e, path });
  }
  return out;
}

/** Whether a routed lease's routes lack a WAN entry of the site (one that could not reach its path when they were made). */
export function lacksEntries(site: Site, routes: readonly MemberRoute[]): boolean {
  if (standaloneSwitches(site)) return false;
  const others = exitsOf(site, 'routed').length - 1;
  return routes.some((r) => r.exit.circuit === undefined && (r.entries?.length ?? 0) < others);
}

/** The link groups a lease's primary paths and its ways in from other WAN entries use, each once (its rate is reserved once on each). */
export function groupsOf(routes: readonly MemberRoute[]): Set<string> {
  // Another WAN entry's way carries the lease's inbound packets whenever the far end's traffic comes in by it: it
  // reserves as the path does. A detour carries nothing until a link fails, and reserves nothing.
  return new Set(routes.flatMap((r) => [...r.path.groups, ...(r.entries ?? []).flatMap((e) => e.path.groups)]));
}

/** The switches of a lease's routes (primary and detours), the exits first, then in order of distance from them. */
export function switchesByDistanceFromExit(routes: readonly MemberRoute[]): string[][] {
  const rank = new Map<string, number>();
  for (const r of routes) r.path.switches.forEach((sw, i) => rank.set(sw, Math.max(rank.get(sw) ?? 0, r.path.switches.length - 1 - i)));
  // A detour's own switches carry nothing until a link fails: they go with the exit, before any group points at them.
  // So do another WAN entry's: its flows only bring packets onto the path.
  for (const r of routes) for (const d of r.detours ?? []) for (const sw of d.path.switches) if (!rank.has(sw)) rank.set(sw, 0);
  for (const r of routes) for (const e of r.entries ?? []) for (const sw of e.path.switches) if (!rank.has(sw)) rank.set(sw, 0);
  const steps: string[][] = [];
  for (const [sw, k] of rank) (steps[k] ??= []).push(sw);
  // The exits lead their step (a lease's first hop is its exit), then by name.
  const exits = new Set(routes.map((r) => r.exit.switch));
  const order = (a: string, b: string): number => Number(exits.has(b)) - Number(exits.has(a)) || (a < b ? -1 : a > b ? 1 : 0);
  return steps.filter((s) => s !== undefined).map((s) => s.sort(order));
}
