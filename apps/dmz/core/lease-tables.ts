// A lease's flows, meter and groups per switch of its routes, and the plan steps that install or remove them in an
// order that black-holes nothing: the flows that take packets into the path (from a DTN, the WAN, a trunk) go in
// after all the others and come out before them (leaseSteps).
import type { PortRange } from '../port-ranges.js';
import type { Lease } from '../model.js';
import type { Site } from '../site.js';
import type { FlowSpec } from '../pipeline.js';
import { leaseTables, type LeaseTables } from '../fabric/lease-flows.js';
import { routeLease, switchesByDistanceFromExit, type MemberRoute } from '../fabric/routes.js';
import { OWNERS, type SwitchChange } from './plan.js';
import type { Hop, LeaseRule } from './state.js';

/** The pipeline's view of a lease rule (pipeline.ts takes model Leases; the prefix goes beside it, parsed). */
export function asLease(l: Omit<LeaseRule, 'remote' | 'kind' | 'status' | 'hops' | 'flows' | 'createdAt'>): Omit<Lease, 'remote'> {
  return {
    id: l.id,
    project: l.project,
    dtn: l.dtn,
    protocol: l.protocol,
    localPorts: l.localPorts as PortRange[],
    remotePorts: l.remotePorts as PortRange[],
    path: l.path,
    start: l.start,
    end: l.end,
    rateMbps: l.rateMbps,
    meterId: l.meterId,
  };
}

/** A lease's routes: its own, or (a lease restored without them) the shortest over the links up, nothing reserved. */
export function routesOf(site: Site, l: LeaseRule, down: ReadonlySet<string> = new Set()): readonly MemberRoute[] {
  return l.routes ?? routeLease(site, l.dtn, l.path, down, () => Infinity);
}

/**
 * The rule with its routes and hops: a lease restored from its record (which keeps neither) gets the shortest
 * routes over the links up, nothing reserved, and every switch of them as hops. A rule with routes is itself.
 */
export function withRoutes(site: Site, l: LeaseRule, down: ReadonlySet<string> = new Set()): LeaseRule {
  if (l.routes) return l;
  try {
    const routes = routesOf(site, l, down);
    return { ...l, routes, hops: hopsOf(site, routes) };
  } catch {
    return l; // (no path: its hops stay what it was given)
  }
}

/** Its flows and groups by switch name, and its meter (throws LeaseRefused). */
export function tablesOf(site: Site, l: LeaseRule, now: number, routes: readonly MemberRoute[] = routesOf(site, l)): LeaseTables {
  return leaseTables(site, asLease(l), l.remote, routes, now);
}

const hopsByRoutes = new WeakMap<readonly MemberRoute[], Hop[]>();

/** The switches of routes as hops, the exit's first (one array per routes: leases that share routes share it). */
export function hopsOf(site: Site, routes: readonly MemberRoute[]): Hop[] {
  let hops = hopsByRoutes.get(routes);
  if (!hops) {
    hops = switchesByDistanceFromExit(routes)
      .flat()
      .map((name) => ({ dpid: site.switches.find((s) => s.name === name)!.dpid, switch: name }));
    hopsByRoutes.set(routes, hops);
  }
  return hops;
}

/** The most flows the lease takes on one switch. */
export function flowsPerHop(t: LeaseTables): number {
  return Math.max(0, ...[...t.bySwitch.values()].map((p) => p.flows.length));
}

/**
 * Steps that install (`add`) or remove a lease's tables. On one switch, one change. Across several, two stages
 * that steer nothing into a path that is not whole, in either direction: going up, first every flow that takes
 * packets from a fabric port (only the lease's own flows send them there) with the groups and meter they use, on
 * every switch at once; then the flows that take packets in from a DTN, the WAN or a circuit's trunk. Going down,
 * the reverse. So a switch may have two changes, one per stage.
 */
export function leaseSteps(site: Site, routes: readonly MemberRoute[], t: LeaseTables, op: 'add' | 'remove', meterId?: number): SwitchChange[][] {
  const names = switchesByDistanceFromExit(routes).flat();
  const inner: SwitchChange[] = [];
  const intake: SwitchChange[] = [];
  for (const name of names) {
    const sw = site.switches.find((s) => s.name === name)!;
    const part = t.bySwitch.get(name) ?? { flows: [], groups: [] };
    const fabric = new Set(sw.ports.filter((p) => p.role === 'fabric').map((p) => p.portNo));
    const takesIn = (f: FlowSpec): boolean => names.length === 1 || !fabric.has(f.match.find((m) => m.field === 'in_port')?.value as number);
    const withTheRest: SwitchChange = { dpid: sw.dpid, owner: OWNERS.leases, [op]: part.flows.filter((f) => !takesIn(f)) };
    if (op === 'add' && t.meter) withTheRest.meters = { add: [t.meter] };
    if (op === 'remove' && meterId !== undefined) withTheRest.meters = { remove: [meterId] };
    if (part.groups.length) withTheRest.groups = op === 'add' ? { add: part.groups } : { remove: part.groups.map((g) => g.groupId) };
    const intakeFlows = part.flows.filter(takesIn);
    if (names.length === 1) {
      inner.push({ ...withTheRest, [op]: intakeFlows });
      continue;
    }
    inner.push(withTheRest);
    if (intakeFlows.length) intake.push({ dpid: sw.dpid, owner: OWNERS.leases, [op]: intakeFlows });
  }
  const steps = intake.length ? [inner, intake] : [inner];
  return op === 'add' ? steps : steps.reverse();
}
