// A lease's routes: for each of its DTNs (one, or a cluster's members), the path from the DTN's switch to the exit
// its path name chooses (routed: a wan-routed port on any switch; circuit:NAME: the circuit's trunk), and, when the
// site's policy asks, a backup path to the same exit that shares no link group with it.
import { LeaseRefused } from '../pipeline.js';
import { dtnsNamed, type Site } from '../site.js';
import type { PathName } from '../model.js';
import { fabricGraph } from './graph.js';
import { shortestPath, type FabricPath } from './paths.js';

export interface Exit {
  switch: string;
  port: number;
  /** The circuit whose trunk it is (its VLAN pushed here on the way out, popped on the way in). */
  circuit?: string;
}

export interface MemberRoute {
  dtn: string;
  path: FabricPath;
  exit: Exit;
  /** Link-disjoint from `path`, to the same exit (a fast-failover group where they part). */
  backup?: FabricPath;
}

export function exitsOf(site: Site, path: PathName): Exit[] {
  if (path === 'routed') {
    return site.switches.flatMap((sw) => sw.ports.filter((p) => p.role === 'wan-routed').map((p) => ({ switch: sw.name, port: p.portNo })));
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
      const backup = shortestPath(graph, d.switch, new Set([end]), free, new Set(p.groups));
      if (backup) route.backup = backup;
    }
    return route;
  });
  // Routes that stay on their DTNs' switches depend on no link: made once per site, shared by every such lease.
  if (routes.every((r) => r.path.switches.length === 1)) {
    let bySite = local.get(site);
    if (!bySite) local.set(site, (bySite = new Map<string, MemberRoute[]>()));
    bySite.set(key, routes);
  }
  return routes;
}

const local = new WeakMap<Site, Map<string, MemberRoute[]>>();

/** The link groups a lease's primary paths use, each once (its rate is reserved once on each). */
export function groupsOf(routes: readonly MemberRoute[]): Set<string> {
  return new Set(routes.flatMap((r) => r.path.groups));
}

/** The switches of a lease's routes (primary and backup), the exits first, then in order of distance from them. */
export function switchesByDistanceFromExit(routes: readonly MemberRoute[]): string[][] {
  const rank = new Map<string, number>();
  for (const r of routes) {
    for (const p of [r.path, ...(r.backup ? [r.backup] : [])]) {
      p.switches.forEach((sw, i) => rank.set(sw, Math.max(rank.get(sw) ?? 0, p.switches.length - 1 - i)));
    }
  }
  const steps: string[][] = [];
  for (const [sw, k] of rank) (steps[k] ??= []).push(sw);
  return steps.filter((s) => s !== undefined).map((s) => s.sort());
}
