// What switches report (up, down, a flow removed or lost) and a site reload: the desired tables of a switch are
// the pipeline plus the live rules on it, all derived from the state.
import { baseFlows, type FlowSpec, type MeterSpec } from '../pipeline.js';
import { OWNER } from '../owners.js';
import { cookieId, ownerIdOf } from '../../../controller/cookie.js';
import { checkParsedAgainstSite } from '../lease-book.js';
import { switchOfDtn, type Site, type SiteSwitch } from '../site.js';
import type { PortRange } from '../port-ranges.js';
import type { RemovedReason } from './commands.js';
import { emptyPlan, OWNERS, type OwnerName, type Plan, type SwitchChange } from './plan.js';
import { blockOf, leaseOf, rulesOf, type LeaseRule, type State } from './state.js';
import { close, expire, flowsOfLease, withRules, type Decision } from './leases.js';
import { expireBlock, flowsOfBlock } from './blocks.js';

/** Every owner's desired table on one switch, whole (`replace`). */
export function switchTables(state: State, sw: SiteSwitch, now: number): SwitchChange[] {
  const leaseFlows: FlowSpec[] = [];
  const meters: MeterSpec[] = [];
  for (const l of rulesOf(state, 'lease')) {
    if (!l.hops.some((h) => h.dpid === sw.dpid) || l.end <= now) continue;
    const { flows, meter } = flowsOfLease(state.site, l, now);
    leaseFlows.push(...flows);
    if (meter) meters.push(meter);
  }
  const blockFlows: FlowSpec[] = [];
  for (const b of rulesOf(state, 'block')) blockFlows.push(...flowsOfBlock(b, now));
  return [
    { dpid: sw.dpid, owner: OWNERS.pipeline, replace: baseFlows(state.site, sw) },
    { dpid: sw.dpid, owner: OWNERS.leases, replace: leaseFlows, meters: { add: meters } },
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
  if (lease && lease.end > now) flows = flowsOfLease(state.site, lease, now).flows;
  else if (block) flows = flowsOfBlock(block, now);
  else if (owner === OWNER.PIPELINE) {
    const sw = state.site.switches.find((s) => s.dpid === dpid);
    if (sw) flows = baseFlows(state.site, sw);
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
    flowsOfLease(site, l, now);
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
  // A kept lease's DTN may have moved to another switch.
  s = withRules({ ...s, site }, (rules) => {
    for (const l of rulesOf(s, 'lease')) {
      const sw = switchOfDtn(site, l.dtn);
      if (sw && l.hops[0]?.dpid !== sw.dpid) rules.set(`lease/${l.id}`, { ...l, hops: [{ dpid: sw.dpid, switch: sw.name }] });
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
