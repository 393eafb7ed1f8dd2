// Links that go down or come back (LLDP lost, port status): the fabric pipeline's trees are made anew without the
// links down, and every lease whose path lost a link group moves to another path if one exists (a plan that
// installs the new path, exit first, then takes off what of the old one it no longer uses); a lease with no other
// path keeps its record and its flows, which wait for a link to come back (`lease.path-lost`).
import { flowKey } from '../../../controller/flow-entry.js';
import { standaloneSwitches } from '../site.js';
import { baseFlows, LeaseRefused, type FlowSpec } from '../pipeline.js';
import { fabricGraph } from '../fabric/graph.js';
import { groupsOf, routeLease, type MemberRoute } from '../fabric/routes.js';
import { emptyPlan, OWNERS, type CoreEvent, type Plan, type SwitchChange } from './plan.js';
import { ruleKey, rulesOf, type LeaseRule, type State } from './state.js';
import { hopsOf, leaseSteps, routesOf, tablesOf } from './lease-tables.js';
import { checkPathCapacity, freeOn } from './reservations.js';
import { withRules, type Decision } from './leases.js';

export function linkDown(state: State, link: string, now: number): Decision {
  if (state.linksDown.has(link) || !state.site.links.some((l) => l.name === link)) return { state, plan: emptyPlan() };
  const s: State = { ...state, linksDown: new Set(state.linksDown).add(link) };
  const graph = fabricGraph(s.site, s.linksDown);
  // A parallel group that keeps a link up still carries its leases (its select group skips the dead port).
  const broken = (r: readonly MemberRoute[]) =>
    r.some((m) => [...m.path.groups, ...(m.detours ?? []).flatMap((d) => d.path.groups)].some((key) => !graph.groups.has(key)));
  return reroute(s, (l) => !l.pathLost && broken(routesOf(state.site, l, state.linksDown)), link, now);
}

export function linkUp(state: State, link: string, now: number): Decision {
  if (!state.linksDown.has(link)) return { state, plan: emptyPlan() };
  const linksDown = new Set(state.linksDown);
  linksDown.delete(link);
  return reroute({ ...state, linksDown }, (l) => l.pathLost === true, link, now);
}

/** Moves the leases `affected` picks to a path over the links up; the fabric pipeline follows the links too. */
function reroute(state: State, affected: (l: LeaseRule) => boolean, link: string, now: number): Decision {
  let s = state;
  const plan: Plan = { ...emptyPlan(), atomicity: 'across-switches' };
  for (const l of [...rulesOf(state, 'lease')].filter(affected)) {
    const others = withRules(s, (rules) => rules.delete(ruleKey('lease', l.id)));
    let routes: MemberRoute[] | undefined;
    try {
      routes = routeLease(s.site, l.dtn, l.path, s.linksDown, freeOn(others));
      checkPathCapacity(others, groupsOf(routes), l.rateMbps ?? 0);
    } catch (e) {
      if (!(e instanceof LeaseRefused)) throw e;
      routes = undefined;
    }
    const event = (type: CoreEvent['type'], hops: string[]): CoreEvent => ({ type, lease: l.id, link, hops }) as CoreEvent;
    if (!routes) {
      s = withRules(s, (rules) => rules.set(ruleKey('lease', l.id), { ...l, pathLost: true }));
      plan.events.push(
        event(
          'lease.path-lost',
          l.hops.map((h) => h.switch),
        ),
      );
      continue;
    }
    const moved: LeaseRule = { ...l, routes, hops: hopsOf(s.site, routes), pathLost: false };
    plan.steps.push(...moveSteps(s, l, moved, now));
    s = withRules(s, (rules) => rules.set(ruleKey('lease', l.id), moved));
    plan.events.push(
      event(
        'lease.path-moved',
        moved.hops.map((h) => h.switch),
      ),
    );
  }
  if (!standaloneSwitches(s.site)) {
    plan.steps.push(
      s.site.switches.map((sw): SwitchChange => ({ dpid: sw.dpid, owner: OWNERS.pipeline, replace: baseFlows(s.site, sw, s.linksDown) })),
    );
  }
  if (plan.steps.length === 0) plan.atomicity = 'none';
  return { state: s, plan };
}

/** The new path's tables, exit first, then (entry first) what of the old path's the new one does not hold. */
function moveSteps(state: State, from: LeaseRule, to: LeaseRule, now: number): SwitchChange[][] {
  if (to.end <= now) return [];
  const site = state.site;
  const next = tablesOf(site, to, now, to.routes);
  const add = leaseSteps(site, to.routes!, next, 'add');
  let old;
  try {
    old = tablesOf(site, from, now, routesOf(site, from));
  } catch {
    return add;
  }
  const removeSteps = leaseSteps(site, routesOf(site, from), old, 'remove')
    .map((step) =>
      step
        .map((c): SwitchChange => {
          const name = site.switches.find((x) => x.dpid === c.dpid)!.name;
          const keep = new Set((next.bySwitch.get(name)?.flows ?? []).map(flowKey));
          const keepGroups = new Set((next.bySwitch.get(name)?.groups ?? []).map((g) => g.groupId));
          const remove: FlowSpec[] = (c.remove ?? []).filter((f) => !keep.has(flowKey(f)));
          const groups = (c.groups?.remove ?? []).filter((id) => !keepGroups.has(id));
          const stays = next.bySwitch.has(name);
          return {
            dpid: c.dpid,
            owner: OWNERS.leases,
            remove,
            ...(groups.length ? { groups: { remove: groups } } : {}),
            ...(!stays && from.meterId !== undefined ? { meters: { remove: [from.meterId] } } : {}),
          };
        })
        .filter((c) => (c.remove?.length ?? 0) > 0 || c.groups || c.meters),
    )
    .filter((step) => step.length > 0);
  return [...add, ...removeSteps];
}
