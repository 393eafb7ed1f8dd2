// What the DMZ app offers and reports (dmz-app.ts): its events, a dry run's plan, a drafted lease, a change made
// for someone with its audit, and its options.
import type { Clock } from '../../controller/clock.js';
import type { Controller } from '../../controller/controller.js';
import type { FlowManager } from '../../controller/flow-manager.js';
import type { FlowEntry } from '../../controller/flow-entry.js';
import type { Logger } from '../../controller/log.js';
import type { MeterSpec } from './pipeline.js';
import type { LeaseRecord, BlockRecord } from './lease-book.js';
import type { Site } from './site.js';
import type { Lease } from './model.js';
import type { AuditDraft } from './core/plan.js';

export type DmzEvent =
  /** `audit`: the core's audit entries of a close nobody asked for (an end, a reload), for the executor to write. */
  | { type: 'lease.created' | 'lease.extended'; lease: LeaseRecord }
  | { type: 'lease.closed'; lease: LeaseRecord; audit?: readonly AuditDraft[] }
  /** `audit`: the core's audit entries of a change nobody asked for (a block's end), for the executor to write. */
  | { type: 'block.created' | 'block.removed'; block: BlockRecord; audit?: readonly AuditDraft[] }
  /**
   * A switch reported one of our flows removed while it should still be there (see FlowManager's flowLost): it
   * is being re-installed. `lease` or `block` names the owner's record when the flow is one of theirs.
   */
  | { type: 'flow.lost'; dpid: bigint; owner: string; lease?: number; block?: number; reason: string; flow: FlowEntry }
  /** A link of the lease's path went down (or came back): moved to the switches `hops` (exit first), or left with no path. */
  | { type: 'lease.path-moved' | 'lease.path-lost'; lease: LeaseRecord; link: string; hops: string[] };

export interface DmzAppEvents {
  event: [DmzEvent];
  /** Counters of active leases changed (after a poll or a flow-removed). */
  counters: [LeaseRecord[]];
}

/** One switch's budget for lease and block flows, all requests together. */
export interface SwitchBudget {
  name: string;
  dpid: bigint;
  budget: number;
}

/** What a lease request would install on one switch. */
export interface HopPlan {
  /** The flows as the flow manager would install them. */
  flows: FlowEntry[];
  switchBudget: SwitchBudget;
  /** Transfer and block flows the switch holds now. */
  flowsInUse: number;
}

/** What a lease request would install (a dry run): nothing of it is taken, installed or recorded. */
export interface LeasePlan extends HopPlan {
  /** The lease as it would be drafted now (its id and meter id are the next free ones, not reserved). */
  lease: Lease;
  meter?: MeterSpec;
  /** Every switch of its path, the exit first (the DTN's switch, whose part is the plan's own fields, last). */
  hops: HopPlan[];
}

/** A drafted lease (see draftLease). */
export interface LeaseDraft {
  record: LeaseRecord;
  /** The core's audit entries of the grant, for the executor to write with the record. */
  audit: AuditDraft[];
  sent: Promise<void>;
  installed: Promise<LeaseRecord>;
}

/** A change made for someone, with the audit entries the core wrote for it (for the executor to persist). */
export interface Done<R> {
  record: R;
  audit: AuditDraft[];
}

export interface DmzAppOptions {
  site: Site;
  controller: Controller;
  flows: FlowManager;
  logger: Logger;
  /** Epoch time and timers (default: the system's); lease and block ends are timed on it. */
  clock?: Clock;
  /** How often lease counters are read from the switches (ms); 0 disables polling. */
  pollIntervalMs?: number;
}
