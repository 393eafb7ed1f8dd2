// Reading what the core's plans carry (dmz-app.ts): the lease flows per switch, the refusal, the record.
import { LeaseRefused, type FlowSpec } from './pipeline.js';
import type { LeaseRecord, BlockRecord } from './lease-book.js';
import { OWNERS, type Plan } from './core/plan.js';

/** The lease flows a plan adds, per switch (a switch may have them in two steps). */
export function leaseFlowsBySwitch(plan: Plan): Map<bigint, FlowSpec[]> {
  const out = new Map<bigint, FlowSpec[]>();
  for (const c of plan.steps.flat()) if (c.owner === OWNERS.leases && c.add) out.set(c.dpid, [...(out.get(c.dpid) ?? []), ...c.add]);
  return out;
}

/** A refused plan as the error the API maps to its code. */
export function refusalOf(plan: Plan): LeaseRefused {
  const r = plan.refused;
  return new LeaseRefused(r?.reason ?? 'refused', r?.message ?? 'refused', r?.limit);
}

/** The lease record a plan persists (a request's or a close's plan carries exactly one). */
export function leaseRecordIn(plan: Plan): LeaseRecord {
  const r = plan.records.find((c) => c.kind === 'lease');
  if (!r || r.kind !== 'lease') throw new Error('a lease plan without its record');
  return r.record;
}

/** The block record a plan persists (a block command's plan carries exactly one). */
export function blockRecordIn(plan: Plan): BlockRecord {
  const r = plan.records.find((c) => c.kind === 'block');
  if (!r || r.kind !== 'block') throw new Error('a block plan without its record');
  return r.record;
}
