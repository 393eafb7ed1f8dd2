// The lease commands: request (then installed / install-failed, the executor's report), extend, release, expire.
import { HARD_TIMEOUT_TOLERANCE_MS } from '../../../controller/flow-manager.js';
import { checkParsedAgainstSite } from '../lease-book.js';
import { LeaseRefused, type FlowSpec, type MeterSpec } from '../pipeline.js';
import { leaseRate, circuitOf } from '../admission.js';
import { rangesOverlap, type PortRange } from '../port-ranges.js';
import { dtnsNamed, type Site } from '../site.js';
import type { Actor, LeaseSpec } from './commands.js';
import { emptyPlan, OWNERS, type Plan, type SwitchChange } from './plan.js';
import { leaseRecordOf, type LeaseClose } from './records.js';
import { leaseOf, ruleKey, type LeaseRule, type State } from './state.js';
import { RulesEditor } from './rules.js';
import { flowsInUse, checkRequestBudget, checkSwitchBudget } from './budgets.js';
import { flowsPerHop, hopsOf, leaseSteps, routesOf, tablesOf, withRoutes } from './lease-tables.js';
import { checkPathCapacity, freeOn } from './reservations.js';
import { groupsOf, routeLease } from '../fabric/routes.js';

export interface Decision {
  state: State;
  plan: Plan;
}

const anyOverlap = (xs: readonly PortRange[], ys: readonly PortRange[]): boolean => xs.some((x) => ys.some((y) => rangesOverlap(x, y)));

/** A lease's flows and meter on one of its switches (`dpid`, default its first hop) under `site` at `now` (throws LeaseRefused). */
export function flowsOfLease(site: Site, l: LeaseRule, now: number, dpid: bigint = l.hops[0]!.dpid): { flows: FlowSpec[]; meter?: MeterSpec } {
  const t = tablesOf(site, l, now);
  const name = site.switches.find((s) => s.dpid === dpid)?.name;
  const flows = (name !== undefined ? t.bySwitch.get(name)?.flows : undefined) ?? [];
  return t.meter ? { flows, meter: t.meter } : { flows };
}

export function refused(state: State, e: unknown): Decision {
  if (!(e instanceof LeaseRefused)) throw e;
  return { state, plan: { ...emptyPlan(), refused: { reason: e.reason, message: e.message, ...(e.limit ? { limit: e.limit } : {}) } } };
}

/** The state with its rules edited (the caller's state keeps its own: the rules are persistent). */
export function withRules(state: State, edit: (rules: RulesEditor) => void): State {
  const editor = new RulesEditor(state.rules);
  edit(editor);
  return { ...state, rules: editor.rules };
}

export function request(state: State, by: Actor, spec: LeaseSpec, now: number): Decision {
  const { site } = state;
  try {
    const durationSeconds = Math.ceil((spec.end - now) / 1000);
    const asked = { ...spec, localPorts: spec.localPorts as PortRange[], remotePorts: spec.remotePorts as PortRange[], durationSeconds };
    checkParsedAgainstSite(site, asked, spec.remote);
    const rateMbps = leaseRate(site, spec.path, spec.rateMbps);
    // A cluster's lease programs its members' flows: it overlaps a lease of any of them.
    const mine = new Set(dtnsNamed(site, spec.dtn).map((d) => d.name));
    const sameDtn = (dtn: string): boolean => dtn === spec.dtn || dtnsNamed(site, dtn).some((d) => mine.has(d.name));
    for (const o of state.rules.leasesOverlapping(sameDtn, spec.protocol, spec.remote)) {
      if (anyOverlap(o.localPorts, spec.localPorts) && anyOverlap(o.remotePorts, spec.remotePorts)) {
        throw new LeaseRefused('overlap', `overlaps lease ${o.id} (${o.project}: ${o.dtn} <-> ${o.remote.text})`);
      }
    }
    const rateAsked = rateMbps ?? 0;
    const routes = routeLease(site, spec.dtn, spec.path, state.linksDown, freeOn(state));
    const hops = hopsOf(site, routes);
    const lease: LeaseRule = {
      kind: 'lease',
      id: state.nextId.lease,
      status: 'installing',
      project: spec.project,
      dtn: spec.dtn,
      remote: spec.remote,
      protocol: spec.protocol,
      localPorts: spec.localPorts,
      remotePorts: spec.remotePorts,
      path: spec.path,
      hops,
      routes,
      start: now,
      end: spec.end,
      rateMbps,
      meterId: rateMbps !== undefined ? state.rules.freeMeterId() : undefined,
      flows: 0,
      createdAt: now,
    };
    const tables = tablesOf(site, lease, now, routes);
    lease.flows = flowsPerHop(tables);
    // The budget keeps one request from filling a switch: it counts the most flows the lease takes on any one.
    checkRequestBudget(site, lease.flows, 'transfer');
    for (const h of hops) {
      const sw = site.switches.find((x) => x.dpid === h.dpid)!;
      checkSwitchBudget(site, sw, tables.bySwitch.get(sw.name)?.flows.length ?? 0, flowsInUse(state, sw.dpid));
    }
    const circuit = circuitOf(site, spec.path);
    if (circuit && circuit.capacityMbps > 0) {
      const left = circuit.capacityMbps - state.rules.rateOnPath(spec.path);
      const rate = rateAsked;
      if (rate > left + 1e-6) {
        const fmt = (x: number): string => String(Math.round(x * 1000) / 1000);
        throw new LeaseRefused(
          'circuit-capacity',
          `circuit ${circuit.name} has ${fmt(left)} Mbit/s of its ${circuit.capacityMbps} left; the transfer asks for ${fmt(rate)}`,
          {
            circuit: circuit.name,
            capacity_mbps: circuit.capacityMbps,
            capacity_left_mbps: Math.max(0, Number(fmt(left))),
            rate_mbps: rate,
          },
        );
      }
    }
    checkPathCapacity(state, groupsOf(routes), rateAsked);
    for (const h of hops) if (!state.up.has(h.dpid)) throw new LeaseRefused('switch-down', `switch ${h.switch} is not connected`);
    const next = withRules(state, (rules) => rules.set(ruleKey('lease', lease.id), lease));
    const record = leaseRecordOf(lease);
    return {
      state: { ...next, nextId: { ...state.nextId, lease: lease.id + 1 } },
      plan: {
        ...emptyPlan(),
        steps: leaseSteps(site, routes, tables, 'add'),
        atomicity: hops.length > 1 ? 'across-switches' : 'per-switch',
        records: [{ kind: 'lease', record }],
        // The grant is audited in the same write as its record (api/README.md: the crash guarantees).
        audit: [
          {
            ...by,
            action: 'transfer.create',
            decision: 'granted',
            transfer: lease.id,
            details: { dtn: record.dtn, remote: record.remote, path: record.path, end: new Date(record.end).toISOString() },
          },
        ],
      },
    };
  } catch (e) {
    return refused(state, e);
  }
}

/** The executor's report that a requested lease's flows are confirmed: it is active from now, and announced. */
export function installed(state: State, id: number): Decision {
  const l = leaseOf(state, id);
  if (!l || l.status !== 'installing') return { state, plan: emptyPlan() };
  const active: LeaseRule = { ...l, status: 'active' };
  const next = withRules(state, (rules) => rules.set(ruleKey('lease', id), active));
  return {
    state: next,
    plan: {
      ...emptyPlan(),
      events: [{ type: 'lease.created', lease: leaseRecordOf(active) }],
      timers: [{ key: ruleKey('lease', id), at: active.end }],
    },
  };
}

/** The executor's report that a requested lease's flows were refused: recorded already, it is kept revoked. */
export function installFailed(state: State, id: number, reason: string, now: number): Decision {
  const l = leaseOf(state, id);
  if (!l || l.status !== 'installing') return { state, plan: emptyPlan() };
  const next = withRules(state, (rules) => rules.delete(ruleKey('lease', id)));
  const record = leaseRecordOf(l, { state: 'revoked', at: now, reason: `not installed: ${reason}` });
  // Nothing of it is on the switches (the install was atomic), but its meter may be.
  const meterId = l.meterId;
  const changes: SwitchChange[] =
    meterId !== undefined ? l.hops.map((h) => ({ dpid: h.dpid, owner: OWNERS.leases, meters: { remove: [meterId] } })) : [];
  return { state: next, plan: { ...emptyPlan(), steps: changes.length ? [changes] : [], records: [{ kind: 'lease', record }] } };
}

export function extend(state: State, by: Actor, id: number, end: number, now: number): Decision {
  try {
    const found = leaseOf(state, id);
    if (!found || found.status !== 'active') throw new LeaseRefused('not-found', `no active lease ${id}`);
    const l = withRoutes(state.site, found, state.linksDown);
    if (end <= now) throw new LeaseRefused('expired', 'the new end is in the past');
    if ((end - now) / 1000 > state.site.policy.maxLeaseSeconds)
      throw new LeaseRefused('duration', `a lease may run at most ${state.site.policy.maxLeaseSeconds} s from now`);
    const longer: LeaseRule = { ...l, end };
    const tables = tablesOf(state.site, longer, now);
    if (l.hops.some((h) => !state.up.has(h.dpid))) throw new LeaseRefused('switch-down', "a switch of the lease's path is not connected");
    const next = withRules(state, (rules) => rules.set(ruleKey('lease', id), longer));
    const record = leaseRecordOf(longer);
    return {
      state: next,
      plan: {
        ...emptyPlan(),
        steps: l.hops.map((h) => [{ dpid: h.dpid, owner: OWNERS.leases, add: tables.bySwitch.get(h.switch)?.flows ?? [] }]),
        records: [{ kind: 'lease', record }],
        audit: [{ ...by, action: 'transfer.extend', decision: 'granted', transfer: id, details: { end: new Date(end).toISOString() } }],
        events: [{ type: 'lease.extended', lease: record }],
        timers: [{ key: ruleKey('lease', id), at: end }],
      },
    };
  } catch (e) {
    return refused(state, e);
  }
}

/** Closes a lease: its flows and meter leave its switches, its last record is persisted, and it leaves the state. */
export function close(state: State, rule: LeaseRule, how: LeaseClose, by: Actor, now: number, site: Site = state.site): Decision {
  const l = withRoutes(site, rule, state.linksDown);
  let steps: SwitchChange[][];
  try {
    const routes = routesOf(site, l, state.linksDown);
    steps = leaseSteps(site, routes, tablesOf(site, l, Math.min(now, l.end - 1000), routes), 'remove', l.meterId);
  } catch {
    // (not expressible under this site: nothing of it can be on the switches either, but its meter may be)
    steps = [
      l.hops.map((h) => ({
        dpid: h.dpid,
        owner: OWNERS.leases,
        remove: [],
        ...(l.meterId !== undefined ? { meters: { remove: [l.meterId] } } : {}),
      })),
    ];
  }
  const next = withRules(state, (rules) => rules.delete(ruleKey('lease', l.id)));
  const record = leaseRecordOf(l, how);
  const system = by.actor === 'system';
  return {
    state: next,
    plan: {
      ...emptyPlan(),
      steps,
      records: [{ kind: 'lease', record }],
      audit: [
        system
          ? {
              ...by,
              project: l.project,
              action: `transfer.${how.state}`,
              decision: 'done',
              transfer: l.id,
              reason: how.reason,
              details: { state: how.state },
            }
          : { ...by, action: 'transfer.release', decision: 'done', transfer: l.id, details: { state: how.state } },
      ],
      events: [{ type: 'lease.closed', lease: record }],
      timers: [{ key: ruleKey('lease', l.id), at: undefined }],
    },
  };
}

export function release(state: State, by: Actor, id: number, how: 'released' | 'revoked', reason: string, now: number): Decision {
  const l = leaseOf(state, id);
  if (!l || l.status !== 'active') return refused(state, new LeaseRefused('not-found', `no active lease ${id}`));
  return close(state, l, { state: how, at: now, reason }, by, now);
}

/** A lease's end (its timer, or its switch's hard timeout): closed unless it was extended meanwhile. */
export function expire(state: State, id: number, now: number, reason = 'lease ended'): Decision {
  const l = leaseOf(state, id);
  if (!l || l.status !== 'active' || l.end > now + HARD_TIMEOUT_TOLERANCE_MS) return { state, plan: emptyPlan() };
  return close(state, l, { state: 'expired', at: now, reason }, { actor: 'system' }, now);
}
