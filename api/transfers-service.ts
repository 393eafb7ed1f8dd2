// The one executor of lease and block changes: every change of a lease or a block, whoever asked for it (an API
// request, or the DMZ app itself: an end timer, a switch's hard timeout, a site reload, the start), is persisted,
// audited and published here, and nowhere else. A new lease's record is written while the switch installs its
// flows (the 201 waits for the longer of the two, not their sum); see api/README.md for the crash guarantees.
import type { Logger } from '../controller/log.js';
import { dpidText } from '../controller/errors.js';
import { flowText } from '../controller/flow-entry.js';
import type { DmzApp } from '../apps/dmz/dmz-app.js';
import type { DmzEvent, Done, LeaseDraft } from '../apps/dmz/dmz-app-shapes.js';
import type { AuditDraft as CoreAudit } from '../apps/dmz/core/plan.js';
import type { LeaseRequest } from '../apps/dmz/lease-book.js';
import type { BlockRecord, LeaseRecord } from '../apps/dmz/records.js';
import type { Block } from '../apps/dmz/model.js';
import { ApiError, toApiError, type ErrorCode } from './errors.js';
import { NotLeaderError } from './cluster/not-leader.js';
import type { EventHub } from './events.js';
import type { StateBackend, StateRecord } from './state/state-store.js';
import type { AuditEntry } from './state/types.js';
import { blockView, transferView } from './views.js';

/** Who asks, as the audit trail names them: a token (with its project and the client's address), or `system`. */
export interface Actor {
  actor: string;
  project?: string;
  client?: string;
}

type AuditDraft = Omit<AuditEntry, 'id' | 'at' | 'actor'>;

/** How long a lease.created event may wait for a record another change causes before it gets one of its own. */
const EVENT_RIDE_MS = 10;

export interface TransfersServiceOptions {
  app: DmzApp;
  store: StateBackend;
  hub: EventHub;
  logger: Logger;
  /** An audit entry as a record (numbered and logged now), for the batch that holds the change it decided. */
  auditRecord(entry: Omit<AuditEntry, 'id' | 'at'>): StateRecord;
  switchName(dpid: bigint): string | undefined;
}

export class TransfersService {
  private readonly app: DmzApp;
  private readonly store: StateBackend;
  private readonly hub: EventHub;
  private readonly log: Logger;
  /** Leases this service is creating: their record is written already (their lease.created needs no other). */
  private readonly creating = new Set<number>();
  /** Block creations, one at a time (each checks the budgets against those before it). */
  private blocks: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: TransfersServiceOptions) {
    this.app = opts.app;
    this.store = opts.store;
    this.hub = opts.hub;
    this.log = opts.logger;
  }

  /** Follows the app's own changes (and its counters); returns the detach. */
  attach(): () => void {
    const onEvent = (e: DmzEvent): void => this.applied(e);
    const onCounters = (leases: LeaseRecord[]): void => {
      // A poll reports every active lease; only those whose counters moved are stored (and journaled) again.
      const moved: StateRecord[] = [];
      for (const l of leases) if (!this.store.view.leaseHasCounters(l.id, l.counters)) moved.push({ kind: 'lease.put', lease: l });
      // Nobody waits for counters: a failed write is counted and logged by the store.
      if (moved.length) this.store.commit(moved).catch(() => undefined);
    };
    this.app.on('event', onEvent);
    this.app.on('counters', onCounters);
    return () => {
      this.app.off('event', onEvent);
      this.app.off('counters', onCounters);
    };
  }

  /**
   * Grants a lease: its record and audit entry are written while the switch installs its flows. If the switch
   * refuses, the lease was recorded: it is kept revoked (and that written before the refusal is answered); if the
   * write fails, the installed lease is revoked (DMZ_STORE_FAILED).
   */
  async create(req: LeaseRequest, by: Actor): Promise<LeaseRecord> {
    let draft: LeaseDraft;
    try {
      draft = this.app.draftLease(req, true, by);
    } catch (e) {
      throw await this.refused(by, 'transfer.create', e);
    }
    const rec = draft.record;
    this.creating.add(rec.id);
    // Written as its flows go to the switch: the leases of one install group in one write.
    const written = draft.sent.then(
      () =>
        this.store.commit([{ kind: 'lease.put', lease: rec }, ...draft.audit.map((a) => this.opts.auditRecord(a))]).then(
          () => undefined,
          (e: Error) => e,
        ),
      () => undefined,
    );
    try {
      await draft.installed;
    } catch (e) {
      // Recorded (its flows were sent) and refused: kept revoked, and that written with the refusal.
      const closed = this.app.lease(rec.id);
      throw await this.refused(
        by,
        'transfer.create',
        e,
        closed ? { transfer: rec.id } : {},
        undefined,
        closed ? [{ kind: 'lease.put', lease: closed }] : [],
      );
    } finally {
      this.creating.delete(rec.id);
    }
    const writeError = await written;
    if (writeError) {
      this.log.error({ err: writeError.message, lease: rec.id }, 'state write failed; revoking the lease just granted');
      await this.app.releaseLease(rec.id, 'revoked', 'the state could not be saved').catch(() => undefined);
      throw writeError instanceof NotLeaderError ? toApiError(writeError) : new ApiError('DMZ_STORE_FAILED');
    }
    return rec;
  }

  async extend(id: number, end: number, by: Actor): Promise<LeaseRecord> {
    let done: Done<LeaseRecord>;
    try {
      done = await this.app.extend(id, end, by);
    } catch (e) {
      throw await this.refused(by, 'transfer.extend', e, { transfer: id });
    }
    await this.persist(done.audit.map((a) => this.opts.auditRecord(a)));
    return done.record;
  }

  async release(id: number, state: 'released' | 'revoked', reason: string, by: Actor): Promise<LeaseRecord> {
    let done: Done<LeaseRecord>;
    try {
      done = await this.app.endLease(id, state, reason, by);
    } catch (e) {
      throw await this.refused(by, 'transfer.release', e, { transfer: id });
    }
    await this.persist(closeAudit(done.audit, done.record).map((a) => this.opts.auditRecord(a)));
    return done.record;
  }

  async addBlock(block: Omit<Block, 'id' | 'start'>, by: Actor): Promise<BlockRecord> {
    const run = this.blocks.then(() => this.app.createBlock(block, by));
    this.blocks = run.catch(() => undefined);
    let done: Done<BlockRecord>;
    try {
      done = await run;
    } catch (e) {
      throw await this.refused(by, 'block.create', e, {}, 'DMZ_BLOCK_NOT_FOUND');
    }
    await this.persist(done.audit.map((a) => this.opts.auditRecord(a)));
    return done.record;
  }

  async removeBlock(id: number, by: Actor): Promise<BlockRecord> {
    let done: Done<BlockRecord>;
    try {
      done = await this.app.endBlock(id, 'removed', by);
    } catch (e) {
      throw await this.refused(by, 'block.remove', e, { block: id }, 'DMZ_BLOCK_NOT_FOUND');
    }
    await this.persist(done.audit.map((a) => this.opts.auditRecord(a)));
    return done.record;
  }

  /**
   * Audits and persists a refusal (in one batch after `records`, the change it leaves); returns it as the API
   * error it is (for the caller to throw).
   */
  async refused(
    by: Actor,
    action: string,
    e: unknown,
    ids: { transfer?: number; block?: number } = {},
    notFound?: ErrorCode,
    records: StateRecord[] = [],
  ): Promise<ApiError> {
    const err = toApiError(e, notFound);
    if (err.code === 'DMZ_INTERNAL') this.log.error({ err: e }, `${action} failed`);
    records.push(
      this.auditRecord(by, {
        action,
        decision: 'refused',
        code: err.code,
        reason: err.message,
        ...(ids.transfer !== undefined ? { transfer: ids.transfer } : {}),
        ...(ids.block !== undefined ? { block: ids.block } : {}),
        ...(err.extra.switch_error ? { details: { switch_error: err.extra.switch_error } } : {}),
      }),
    );
    await this.store.commit(records).catch(() => undefined);
    return err;
  }

  /** Commits the records of a change (its audit entry); a failure is a 500 (the change stands: flows were already changed). */
  private async persist(records: StateRecord[]): Promise<void> {
    try {
      await this.store.commit(records);
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'state write failed');
      throw new ApiError('DMZ_STORE_FAILED');
    }
  }

  private auditRecord(by: Actor, entry: AuditDraft): StateRecord {
    return this.opts.auditRecord({ ...by, ...entry });
  }

  /** A change the app made: persisted (unless written already), published, and audited if nobody asked for it. */
  private applied(e: DmzEvent): void {
    if (e.type === 'flow.lost') {
      const name = this.opts.switchName(e.dpid);
      this.hub.publish('flow.lost', {
        switch: { dpid: dpidText(e.dpid), ...(name ? { name } : {}) },
        owner: e.owner,
        ...(e.lease !== undefined ? { transfer: e.lease } : {}),
        ...(e.block !== undefined ? { block: e.block } : {}),
        reason: e.reason,
        flow: flowText(e.flow),
        reinstalled: true,
      });
      return;
    }
    if (e.type === 'lease.path-moved' || e.type === 'lease.path-lost') {
      this.hub.publish(e.type, { transfer: transferView(e.lease), route: { link: e.link, hops: e.hops } }, e.lease.project);
      return;
    }
    if ('lease' in e) {
      const l = e.lease;
      const created = e.type === 'lease.created';
      // A lease this service is creating was written as its flows were sent: putting it again would only
      // serialise it to find the text the store holds. Its event may ride with the next record.
      const put: StateRecord[] = created && this.creating.has(l.id) ? [] : [{ kind: 'lease.put', lease: l }];
      this.hub.publish(e.type, { transfer: transferView(l) }, l.project, created ? EVENT_RIDE_MS : undefined, put);
      // The core's audit of a close nobody asked the API for (the app's timers, a switch's hard timeout, a site
      // reload, the start); a failed write is counted and logged by the store.
      if (e.type === 'lease.closed' && e.audit?.length)
        this.store.commit(closeAudit(e.audit, l).map((a) => this.opts.auditRecord(a))).catch(() => undefined);
      return;
    }
    this.hub.publish(e.type, { block: blockView(e.block) }, e.block.project, undefined, [{ kind: 'block.put', block: e.block }]);
    // The core's audit of a change nobody asked for (a block's end); a failed write is counted by the store.
    if (e.audit?.length) this.store.commit(e.audit.map((a) => this.opts.auditRecord(a))).catch(() => undefined);
  }
}

/** A close's audit entries with the lease's final counters (the switches' figures: the core has none). */
function closeAudit(audit: readonly CoreAudit[], rec: LeaseRecord): CoreAudit[] {
  return audit.map((a) => ({ ...a, details: { ...a.details, counters: { ...rec.counters } } }));
}
