// What a decision asks the world to do, as data: flow, meter and group changes per switch (in steps, with the
// atomicity they need), the records to persist, the audit entries and the events to publish, and the timers to
// set. The executor runs it; the core never does I/O.
import type { FlowSpec, MeterSpec } from '../pipeline.js';
import type { LeaseRecord, BlockRecord } from '../records.js';
import type { RefusalLimit } from '../pipeline.js';

/** The app's flow owners (the cookie's owner, controller/cookie.ts). */
export type OwnerName = 'dmz-pipeline' | 'dmz-leases' | 'dmz-blocks';
export const OWNERS = { pipeline: 'dmz-pipeline', leases: 'dmz-leases', blocks: 'dmz-blocks' } as const satisfies Record<string, OwnerName>;

/** A group entry (OF1.3.5 §7.3.4.2) as a plan carries it: select for parallel links, fast-failover for backups. */
export interface GroupSpec {
  groupId: number;
  type: 'all' | 'select' | 'indirect' | 'fast-failover';
  buckets: { weight?: number; watchPort?: number; actions: FlowSpec['instructions'] }[];
}

/**
 * One owner's changes on one switch. `replace`: the owner's whole desired table there (a switch that came up, a
 * reload); else `add` (an existing entry is replaced, OF1.3.5 §6.4) and `remove`.
 */
export interface SwitchChange {
  dpid: bigint;
  owner: OwnerName;
  add?: FlowSpec[];
  remove?: FlowSpec[];
  replace?: FlowSpec[];
  meters?: { add?: MeterSpec[]; remove?: number[] };
  groups?: { add?: GroupSpec[]; remove?: number[] };
}

/**
 * `per-switch`: each change all or nothing on its switch (an ONF bundle); `across-switches`: prepared on every
 * switch, then committed (all or none of them); `none`: each flow-mod on its own.
 */
export type Atomicity = 'none' | 'per-switch' | 'across-switches';

export type RecordChange = { kind: 'lease'; record: LeaseRecord } | { kind: 'block'; record: BlockRecord };

export interface AuditDraft {
  actor: string;
  project?: string;
  client?: string;
  action: string;
  decision: 'granted' | 'refused' | 'done';
  transfer?: number;
  block?: number;
  code?: string;
  reason?: string;
  details?: Record<string, unknown>;
}

export type CoreEvent =
  | { type: 'lease.created' | 'lease.extended' | 'lease.closed'; lease: LeaseRecord }
  | { type: 'block.created' | 'block.removed'; block: BlockRecord }
  | { type: 'flow.lost'; dpid: bigint; owner: OwnerName; lease?: number; block?: number; reason: string }
  /** A link of a lease's path went down: moved to another path (`hops`), or none found (its flows wait). */
  | { type: 'lease.path-moved' | 'lease.path-lost'; lease: number; link: string; hops: string[] };

export interface TimerChange {
  /** ruleKey of the rule whose end it is. */
  key: string;
  /** Epoch ms; undefined: cancel. */
  at: number | undefined;
}

export interface Refusal {
  /** LeaseRefused's reason (the API maps it to its error code). */
  reason: string;
  message: string;
  limit?: RefusalLimit;
}

export interface Plan {
  refused?: Refusal;
  /** Steps run in order; the changes of one step may run at once. */
  steps: SwitchChange[][];
  atomicity: Atomicity;
  /**
   * A link change's moves, in waves run one after another: each wave's first `install` steps put its leases on
   * their new paths (all or nothing: if refused, its leases stay where they were: command moves-failed), its next
   * `remove` steps take off what of the old paths is no longer used. The pipeline's steps follow the last wave.
   */
  moves?: { leases: number[]; install: number; remove: number }[];
  records: RecordChange[];
  audit: AuditDraft[];
  events: CoreEvent[];
  timers: TimerChange[];
}

export const emptyPlan = (): Plan => ({ steps: [], atomicity: 'none', records: [], audit: [], events: [], timers: [] });

export function isEmpty(p: Plan): boolean {
  return !p.refused && p.steps.length === 0 && p.records.length === 0 && p.audit.length === 0 && p.events.length === 0 && p.timers.length === 0;
}
