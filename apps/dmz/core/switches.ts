// What switches report (up, down, a flow removed or lost) and a site reload: the desired tables of a switch are
// the pipeline plus the live rules on it, all derived from the state.
import { baseFlows, type FlowSpec, type MeterSpec } from '../pipeline.js';
import { OWNER } from '../owners.js';
import { cookieId, ownerIdOf } from '../../../controller/cookie.js';
import { checkParsedAgainstSite } from '../lease-book.js';
import type { Site, SiteSwitch } from '../site.js';
import type { PortRange } from '../port-ranges.js';
import type { RemovedReason } from './commands.js';
import { emptyPlan, OWNERS, type GroupSpec, type OwnerName, type Plan, type SwitchChange } from './plan.js';
import { hopsOf, routesOf, tablesOf, withRoutes } from './lease-tables.js';
import { routeLease } from '../fabric/routes.js';
import { selectGroupsOf } from '../fabric/link-groups.js';
import { blockOf, leaseOf, rulesOf, type LeaseRule, type State } from './state.js';
import { close, expire, flowsOfLease, withRules, type Decision } from './leases.js';
import { expireBlock, flowsOfBlock } from './blocks.js';

/** Every owner's desired table on one switch, whole (`replace`). */
export function switchTables(state: State, sw: SiteSwitch, now: number): SwitchChange[] {
  const leaseFlows: FlowSpec[] = [];
  const meters: MeterSpec[] = [];
  const groups: GroupSpec[] = [];
  for (const rule of rulesOf(state, 'lease')) {
    const l = withRoutes(state.site, rule, state.linksDown);
    if (!l.hops.some((h) => h.dpid === sw.dpid) || l.end <= now) continue;
    const t = tablesOf(state.site, l, now, routesOf(state.site, l, state.linksDown));
    leaseFlows.push(...(t.bySwitch.get(sw.name)?.flows ?? []));
    groups.push(...(t.bySwitch.get(sw.name)?.groups ?? []));
    if (t.meter) meters.push(t.meter);
  }
  const blockFlows: FlowSpec[] = [];
  for (const b of rulesOf(state, 'block')) blockFlows.push(...flowsOfBlock(b, now));
  const selects = selectGroupsOf(state.site, sw.name);
  return [
    {
      dpid: sw.dpid,
      owner: OWNERS.pipeline,
      replace: baseFlows(state.site, sw, state.linksDown),
      ...(selects.length ? { groups: { add: selects } } : {}),
    },
    { dpid: sw.dpid, owner: OWNERS.leases, replace: leaseFlows, meters: { add: meters }, ...(groups.length ? { groups: { add: groups } } : {}) },
    { dpid: sw.dpid, owner: OWNERS.blocks, replace: blockFlows },
  ];
}

export function switchUp(state: State, dpid: bigint, now: number): Decision {
  const next: State = { ...state, up: new Set(state.up).add(dpid) };
  const sw = state.site.switches.find((s) => s.dpid === dpid);
  if (!sw) return { state: next, plan: emptyPlan() };
  return { state: next, plan: { ...emptyPlan(), steps: [switchTables(next, sw, now)] } };
}

export function switchDown(state: State, dpid: bigint): Decision {
  const up = new Set(state.up);
  up.delete(dpid);
  return { state: { ...state, up }, plan: emptyPlan() };
}

/** Only a hard timeout at a rule's end means anything here: the rule ended on the switch (OF1.3.5 §6.4). */
export function flowRemoved(state: State, cookie: bigint, reason: RemovedReason, now: number): Decision {
  if (reason !== 'hard-timeout') return { state, plan: emptyPlan() };
  const id = cookieId(cookie);
  const owner = ownerIdOf(cookie);
  if (owner === OWNER.LEASES) return expire(state, id, now, 'lease ended (switch hard timeout)');
  if (owner === OWNER.BLOCKS) return expireBlock(state, id, now);
  return { state, plan: emptyPlan() };
}

/** A flow of ours the switch no longer has: it is put back, and the loss announced. */
export function flowLost(state: State, dpid: bigint, cookie: bigint, reason: string, now: number): Decision {
  const id = cookieId(cookie);
  const owner = ownerIdOf(cookie);
  const plan: Plan = emptyPlan();
  const ownerName: OwnerName = owner === OWNER.LEASES ? OWNERS.leases : owner === OWNER.BLOCKS ? OWNERS.blocks : OWNERS.pipeline;
  const lease = owner === OWNER.LEASES ? leaseOf(state, id) : undefined;
  const block = owner === OWNER.BLOCKS ? blockOf(state, id) : undefined;
  let flows: FlowSpec[] = [];
  if (lease && lease.end > now) flows = flowsOfLease(state.site, lease, now, dpid).flows;
  else if (block) flows = flowsOfBlock(block, now);
  else if (owner === OWNER.PIPELINE) {
    const sw = state.site.switches.find((s) => s.dpid === dpid);
    if (sw) flows = baseFlows(state.site, sw, state.linksDown);
  }
  if (flows.length > 0) plan.steps.push([{ dpid, owner: ownerName, add: flows }]);
  plan.events.push({ type: 'flow.lost', dpid, owner: ownerName, ...(lease ? { lease: id } : {}), ...(block ? { block: id } : {}), reason });
  return { state, plan };
}

/** Whether a lease is still valid under a site (the checks a new request meets, but its duration). */
function validUnder(site: Site, l: LeaseRule, now: number): string | undefined {
  try {
    checkParsedAgainstSite(
      site,
      { ...l, localPorts: l.localPorts as PortRange[], remotePorts: l.remotePorts as PortRange[], durationSeconds: 0 },
      l.remote,
    );
    tablesOf(
      site,
      l,
      now,
      routeLease(site, l.dtn, l.path, new Set(), () => Infinity),
    );
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * Adopts a new site: leases it refuses are revoked (their flows removed under the old site), every switch of the
 * new site gets its whole tables (the flow manager changes only what differs), a switch gone gets none.
 */
export function configReload(state: State, site: Site, now: number): Decision {
  let s = state;
  const plan: Plan = emptyPlan();
  for (const l of [...rulesOf(state, 'lease')]) {
    if (l.status !== 'active') continue;
    const why = validUnder(site, l, now);
    if (why === undefined) continue;
    const d = close(s, l, { state: 'revoked', at: now, reason: `no longer valid under the reloaded site config: ${why}` }, { actor: 'system' }, now);
    s = d.state;
    plan.steps.push(...d.plan.steps);
    plan.records.push(...d.plan.records);
    plan.audit.push(...d.plan.audit);
    plan.events.push(...d.plan.events);
    plan.timers.push(...d.plan.timers);
  }
  // A kept lease's DTN may have moved to another switch, its links changed: its routes are made anew under the new
  // site (links reported down stay down while they are still in it).
  const linksDown = new Set([...s.linksDown].filter((name) => site.links.some((l) => l.name === name)));
  s = withRules({ ...s, site, linksDown }, (rules) => {
    for (const l of rulesOf(s, 'lease')) {
      try {
        const routes = routeLease(site, l.dtn, l.path, linksDown, () => Infinity);
        rules.set(`lease/${l.id}`, { ...l, hops: hopsOf(site, routes), routes, ...(l.pathLost ? { pathLost: false } : {}) });
      } catch {
        // No path under the new site: it waits for a link to come up, its flows nowhere.
        rules.set(`lease/${l.id}`, { ...l, hops: [], routes: [], pathLost: true });
      }
    }
  });
  const tables: SwitchChange[] = site.switches.flatMap((sw) => switchTables(s, sw, now));
  for (const old of state.site.switches) {
    if (site.switches.some((x) => x.dpid === old.dpid)) continue;
    for (const owner of Object.values(OWNERS))
      tables.push({ dpid: old.dpid, owner, replace: [], ...(owner === OWNERS.leases ? { meters: { add: [] } } : {}) });
  }
  plan.steps.push(tables);
  return { state: s, plan };
}
