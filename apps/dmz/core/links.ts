// Links that go down or come back (LLDP lost, port status): the fabric pipeline's trees are made anew without the
// links down, and every lease whose path lost a link group moves to another path if one exists; a lease with no
// other path keeps its record and its flows, which wait for a link to come back (`lease.path-lost`). The moves go
// in waves (plan.moves): each installs its leases' new paths, then takes off what of the old ones they no longer
// use, both in the two stages of leaseSteps; a wave the switches refuse sends its leases back to their old paths (moves-failed).
import { flowKey } from '../../../controller/flow-entry.js';
import { standaloneSwitches } from '../site.js';
import { baseFlows, LeaseRefused, type FlowSpec } from '../pipeline.js';
import { fabricGraph } from '../fabric/graph.js';
import { groupsOf, lacksEntries, routeLease, type MemberRoute } from '../fabric/routes.js';
import { emptyPlan, OWNERS, type CoreEvent, type Plan, type SwitchChange } from './plan.js';
import { leaseOf, ruleKey, rulesOf, type LeaseRule, type State } from './state.js';
import { hopsOf, leaseSteps, routesOf, tablesOf } from './lease-tables.js';
import { checkPathCapacity, freeOn } from './reservations.js';
import { withRules, type Decision } from './leases.js';

export function linkDown(state: State, link: string, now: number): Decision {
  if (state.linksDown.has(link) || !state.site.links.some((l) => l.name === link)) return { state, plan: emptyPlan() };
  const s: State = { ...state, linksDown: new Set(state.linksDown).add(link) };
  const graph = fabricGraph(s.site, s.linksDown);
  // A parallel group that keeps a link up still carries its leases (its select group skips the dead port).
  const broken = (r: readonly MemberRoute[]) =>
    r.some((m) =>
      [...m.path.groups, ...(m.detours ?? []).flatMap((d) => d.path.groups), ...(m.entries ?? []).flatMap((e) => e.path.groups)].some(
        (key) => !graph.groups.has(key),
      ),
    );
  return reroute(s, (l) => !l.pathLost && broken(routesOf(state.site, l, state.linksDown)), link, now);
}

export function linkUp(state: State, link: string, now: number): Decision {
  if (!state.linksDown.has(link)) return { state, plan: emptyPlan() };
  const linksDown = new Set(state.linksDown);
  linksDown.delete(link);
  // Back on a path: the leases that waited for one, and those a WAN entry could not reach and now can.
  const s = { ...state, linksDown };
  return reroute(s, (l) => l.pathLost === true || gainsEntry(s, l, state.linksDown), link, now);
}

const entryCount = (routes: readonly MemberRoute[]): number => routes.reduce((n, r) => n + (r.entries?.length ?? 0), 0);

/** A routed lease that a WAN entry could not reach (with the links `before` down), and that one now can. */
function gainsEntry(s: State, l: LeaseRule, before: ReadonlySet<string>): boolean {
  if (l.path !== 'routed') return false;
  const old = routesOf(s.site, l, before);
  if (!lacksEntries(s.site, old)) return false;
  try {
    return entryCount(routeLease(s.site, l.dtn, l.path, s.linksDown, () => Infinity)) > entryCount(old);
  } catch {
    return false;
  }
}

/** Moves the leases `affected` picks to a path over the links up; the fabric pipeline follows the links too. */
function reroute(state: State, affected: (l: LeaseRule) => boolean, link: string, now: number): Decision {
  let s = state;
  const plan: Plan = { ...emptyPlan(), atomicity: 'across-switches' };
  const moves: Move[] = [];
  // Leases without a rate reserve nothing: while only they move, the free capacity (the routes' tie-break) stays
  // as it is, so leases of one DTN and path get the same routes, computed once.
  let free: ((key: string) => number) | undefined;
  const sameRoutes = new Map<string, MemberRoute[] | undefined>();
  for (const l of [...rulesOf(state, 'lease')].filter(affected)) {
    let routes: MemberRoute[] | undefined;
    const rated = (l.rateMbps ?? 0) > 0;
    const key = `${l.dtn}\n${l.path}`;
    if (!rated && sameRoutes.has(key)) routes = sameRoutes.get(key);
    else {
      const others = rated ? withRules(s, (rules) => rules.delete(ruleKey('lease', l.id))) : s;
      try {
        routes = routeLease(s.site, l.dtn, l.path, s.linksDown, rated ? freeOn(others) : (free ??= freeOn(s)));
        checkPathCapacity(others, groupsOf(routes), l.rateMbps ?? 0);
      } catch (e) {
        if (!(e instanceof LeaseRefused)) throw e;
        routes = undefined;
      }
      if (rated) {
        free = undefined;
        sameRoutes.clear();
      } else sameRoutes.set(key, routes);
    }
    if (!routes) {
      s = withRules(s, (rules) => rules.set(ruleKey('lease', l.id), { ...l, pathLost: true }));
      plan.events.push(pathEvent('lease.path-lost', l, link));
      continue;
    }
    const moved: LeaseRule = { ...l, routes, hops: hopsOf(s.site, routes), pathLost: false };
    moves.push({ lease: l.id, ...moveSteps(s, l, moved, now) });
    s = withRules(s, (rules) => rules.set(ruleKey('lease', l.id), moved));
    plan.events.push(pathEvent('lease.path-moved', moved, link));
  }
  plan.moves = [];
  for (const w of waves(moves)) {
    const install = stagesOf(w.install);
    const remove = stagesOf(w.remove);
    plan.steps.push(...install, ...remove);
    plan.moves.push({ leases: w.leases, install: install.length, remove: remove.length });
  }
  if (!standaloneSwitches(s.site)) {
    plan.steps.push(
      s.site.switches.map((sw): SwitchChange => ({ dpid: sw.dpid, owner: OWNERS.pipeline, replace: baseFlows(s.site, sw, s.linksDown) })),
    );
  }
  if (plan.steps.length === 0) plan.atomicity = 'none';
  return { state: s, plan };
}

/**
 * Leases whose move could not be installed (the switches refused the new path: nothing of it is there): back on
 * the path they had, whose flows are still on the switches, as leases with no path (they move when a link comes
 * back). `before`: the state the moves were decided from.
 */
export function movesFailed(state: State, before: State, leases: readonly number[], link: string): Decision {
  const plan = emptyPlan();
  let s = state;
  for (const id of leases) {
    const was = leaseOf(before, id);
    if (!was || !leaseOf(s, id)) continue;
    const kept: LeaseRule = { ...was, pathLost: true };
    s = withRules(s, (rules) => rules.set(ruleKey('lease', id), kept));
    plan.events.push(pathEvent('lease.path-lost', kept, link));
  }
  return { state: s, plan };
}

function pathEvent(type: 'lease.path-moved' | 'lease.path-lost', l: LeaseRule, link: string): CoreEvent {
  return { type, lease: l.id, link, hops: l.hops.map((h) => h.switch) };
}

/** One lease's move: the new path's steps, then the removal of what of the old one it no longer uses (leaseSteps' stages). */
interface Move {
  lease: number;
  install: SwitchChange[][];
  remove: SwitchChange[][];
}

/** Several leases' moves as one: per switch and stage, the changes merged there. */
type Staged = Map<string, { stage: number; change: SwitchChange }>;

interface Wave {
  leases: number[];
  install: Staged;
  remove: Staged;
}

/** The most leases one wave moves: it is all or nothing, so a refusal sends at most this many back. */
const WAVE_LEASES = 250;

/**
 * Moves merged into waves, each one cross-switch change to install and one to remove, instead of two per lease.
 * Each lease's changes keep their stage (leaseSteps), so every lease still commits in its own order.
 */
function waves(moves: readonly Move[]): Wave[] {
  const out: Wave[] = [];
  for (const m of moves) {
    let w = out.at(-1);
    if (!w || w.leases.length >= WAVE_LEASES) out.push((w = { leases: [], install: new Map(), remove: new Map() }));
    merge(w.install, m.install);
    merge(w.remove, m.remove);
    w.leases.push(m.lease);
  }
  return out;
}

function merge(into: Staged, steps: readonly SwitchChange[][]): void {
  steps.forEach((step, stage) => {
    for (const c of step) {
      const at = `${c.dpid}/${stage}`;
      const had = into.get(at);
      if (had) mergeInto(had.change, c);
      else into.set(at, { stage, change: mergeInto({ dpid: c.dpid, owner: c.owner }, c) });
    }
  });
}

/** Appends b's changes to a's (a wave's own change, whose lists are its own: a wave of n leases costs O(n)). */
function mergeInto(a: SwitchChange, b: SwitchChange): SwitchChange {
  if (b.add?.length) (a.add ??= []).push(...b.add);
  if (b.remove?.length) (a.remove ??= []).push(...b.remove);
  if (b.meters?.add?.length) ((a.meters ??= {}).add ??= []).push(...b.meters.add);
  if (b.meters?.remove?.length) ((a.meters ??= {}).remove ??= []).push(...b.meters.remove);
  if (b.groups?.add?.length) ((a.groups ??= {}).add ??= []).push(...b.groups.add);
  if (b.groups?.remove?.length) ((a.groups ??= {}).remove ??= []).push(...b.groups.remove);
  return a;
}

function stagesOf(staged: Staged): SwitchChange[][] {
  const steps: SwitchChange[][] = [];
  for (const { stage, change } of staged.values()) (steps[stage] ??= []).push(change);
  return steps.filter(Boolean);
}

/** The new path's tables, then what of the old path's the new one does not hold, each in leaseSteps' stages. */
function moveSteps(state: State, from: LeaseRule, to: LeaseRule, now: number): Omit<Move, 'lease'> {
  if (to.end <= now) return { install: [], remove: [] };
  const site = state.site;
  const next = tablesOf(site, to, now, to.routes);
  const add = leaseSteps(site, to.routes!, next, 'add');
  let old;
  try {
    old = tablesOf(site, from, now, routesOf(site, from));
  } catch {
    return { install: add, remove: [] };
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
  return { install: add, remove: removeSteps };
}
