// The block commands: block, unblock, expire. A block's drop flows go on every switch of the site.
import { HARD_TIMEOUT_TOLERANCE_MS } from '../../../controller/flow-manager.js';
import { blockFlowsOf, LeaseRefused, type FlowSpec } from '../pipeline.js';
import { parsePrefix } from '../addresses.js';
import type { BlockRecord } from '../records.js';
import type { PortRange } from '../port-ranges.js';
import type { Actor, BlockSpec } from './commands.js';
import { emptyPlan, OWNERS, type SwitchChange } from './plan.js';
import { blockRecordOf } from './records.js';
import { blockOf, ruleKey, rulesOf, type BlockRule, type State } from './state.js';
import { flowKey } from '../../../controller/flow-entry.js';
import { checkRequestBudget, checkSwitchBudget, flowsInUse } from './budgets.js';
import { refused, withRules, type Decision } from './leases.js';

export function flowsOfBlock(b: BlockRule, now: number): FlowSpec[] {
  return blockFlowsOf(
    { id: b.id, protocol: b.protocol, ports: b.ports as PortRange[] | undefined, start: b.start, end: b.end, reason: b.reason },
    b.prefix,
    now,
  );
}

/** An active block's record (restored at start) as the core's rule. */
export function blockRuleOf(rec: BlockRecord, now: number): BlockRule {
  const rule: BlockRule = {
    kind: 'block',
    id: rec.id,
    prefix: parsePrefix(rec.prefix),
    protocol: rec.protocol,
    ports: rec.ports,
    start: rec.start,
    end: rec.end,
    reason: rec.reason,
    project: rec.project,
    createdBy: rec.createdBy,
    flows: 0,
  };
  rule.flows = flowsOfBlock(rule, now).length;
  return rule;
}

export function block(state: State, by: Actor, spec: BlockSpec, now: number): Decision {
  try {
    const rule: BlockRule = {
      kind: 'block',
      id: state.nextId.block,
      prefix: spec.prefix,
      protocol: spec.protocol,
      ports: spec.ports,
      start: now,
      end: spec.end,
      reason: spec.reason,
      project: spec.project,
      createdBy: spec.createdBy,
      flows: 0,
    };
    const flows = flowsOfBlock(rule, now);
    rule.flows = flows.length;
    checkRequestBudget(state.site, flows.length, 'block');
    for (const sw of state.site.switches) checkSwitchBudget(state.site, sw, flows.length, flowsInUse(state, sw.dpid));
    const next = withRules(state, (rules) => rules.set(ruleKey('block', rule.id), rule));
    const record = blockRecordOf(rule);
    return {
      state: { ...next, nextId: { ...state.nextId, block: rule.id + 1 } },
      plan: {
        ...emptyPlan(),
        steps: [state.site.switches.map((sw): SwitchChange => ({ dpid: sw.dpid, owner: OWNERS.blocks, add: flows }))],
        atomicity: 'per-switch',
        records: [{ kind: 'block', record }],
        audit: [{ ...by, action: 'block.create', decision: 'granted', block: rule.id, reason: rule.reason, details: { prefix: record.prefix } }],
        events: [{ type: 'block.created', block: record }],
        timers: rule.end !== undefined ? [{ key: ruleKey('block', rule.id), at: rule.end }] : [],
      },
    };
  } catch (e) {
    return refused(state, e);
  }
}

function remove(state: State, b: BlockRule, how: 'removed' | 'expired', by: Actor, now: number): Decision {
  const next = withRules(state, (rules) => rules.delete(ruleKey('block', b.id)));
  // Two blocks may drop the same packets with the same flows (same match and priority: one entry on the switch,
  // OF1.3.5 §6.4): such a flow stays, handed to the block that remains, and only the others go.
  const kept = new Map<string, FlowSpec>();
  for (const o of rulesOf(next, 'block')) for (const f of flowsOfBlock(o, now)) kept.set(flowKey(f), f);
  const remove: FlowSpec[] = [];
  const add: FlowSpec[] = [];
  for (const f of flowsOfBlock({ ...b, end: undefined }, now)) {
    const other = kept.get(flowKey(f));
    if (other) add.push(other);
    else remove.push(f);
  }
  const record = blockRecordOf(b, { state: how, at: now });
  return {
    state: next,
    plan: {
      ...emptyPlan(),
      steps: [state.site.switches.map((sw): SwitchChange => ({ dpid: sw.dpid, owner: OWNERS.blocks, remove, ...(add.length ? { add } : {}) }))],
      records: [{ kind: 'block', record }],
      audit: [
        how === 'expired'
          ? { ...by, action: 'block.expired', decision: 'done', block: b.id }
          : { ...by, action: 'block.remove', decision: 'done', block: b.id },
      ],
      events: [{ type: 'block.removed', block: record }],
      timers: [{ key: ruleKey('block', b.id), at: undefined }],
    },
  };
}

export function unblock(state: State, by: Actor, id: number, now: number): Decision {
  const b = blockOf(state, id);
  if (!b) return refused(state, new LeaseRefused('not-found', `no active block ${id}`));
  return remove(state, b, 'removed', by, now);
}

export function expireBlock(state: State, id: number, now: number): Decision {
  const b = blockOf(state, id);
  if (!b || b.end === undefined || b.end > now + HARD_TIMEOUT_TOLERANCE_MS) return { state, plan: emptyPlan() };
  return remove(state, b, 'expired', { actor: 'system' }, now);
}
