// The Science DMZ app at run time: it owns three kinds of flows on the site's switches (the enterprise-path
// pipeline, lease bypasses, blocks), turns lease and block requests into atomic flow changes through the
// controller's flow manager, follows leases through their end (controller timer and switch hard timeout both),
// flow-removed messages and counters, and reloads the site config changing only what the change touches.
import { monotonicClock, systemClock, type Cancel, type Clock } from '../../controller/clock.js';
import { EventEmitter } from 'node:events';
import type { Controller } from '../../controller/controller.js';
import type { FlowManager } from '../../controller/flow-manager.js';
import type { FlowEntry, MeterEntry } from '../../controller/flow-entry.js';
import { flowKey, ALL_ONES_64 } from '../../controller/flow-entry.js';
import { ID_MASK, OWNER_MASK, cookieId, ownerIdOf } from '../../controller/cookie.js';
import { meterMsg } from '../../controller/reconcile.js';
import { HARD_TIMEOUT_TOLERANCE_MS } from '../../controller/flow-manager.js';
import { sendAll } from '../../controller/atomic.js';
import type { Logger } from '../../controller/log.js';
import { OFPFF, OFPMC, OFPMMFC, OFPTT, OFPP, OFPG, OFPRR, type MessageOf } from '../../controller/openflow/index.js';
import type { FlowStats } from '../../controller/openflow/multipart/index.js';
import { baseFlows, leaseFlows, leaseMeter, LeaseRefused, type FlowSpec, type MeterSpec } from './pipeline.js';
import { OWNER, OWNER_NAMES } from './owners.js';
import { LeaseBook, checkAgainstSite, leaseRecord, zeroCounters, type LeaseRecord, type BlockRecord, type LeaseRequest } from './lease-book.js';
import { switchByName, type Site } from './site.js';
import { LeaseInstalls } from './lease-installs.js';
import { DeadlineTimer } from './deadline-timer.js';
import { Admission, leaseRate, type SwitchBudget } from './admission.js';
import { TableSizes } from './table-sizes.js';
import type { Block, Lease } from './model.js';
import { decide } from './core/decide.js';
import { SYSTEM, type Actor } from './core/commands.js';
import { blockOf, initialState, ruleKey, rulesOf, type State } from './core/state.js';
import { withRules } from './core/leases.js';
import { blockRuleOf, flowsOfBlock } from './core/blocks.js';
import type { AuditDraft, Plan } from './core/plan.js';
import { parsePrefix } from './addresses.js';

/** Flow-stats requests per switch per poll at most (see idBlocks). */
const MAX_POLL_BLOCKS = 32;

/**
 * Leases in blocks of consecutive ids, each block read with one flow-stats request that matches the owner and
 * the high bits of the id in the cookie (OF1.3.5 §7.3.5.2: cookie and cookie_mask): a poll of thousands of
 * leases is then read and counted a block at a time, between which the event loop serves requests, not in one
 * long turn. Blocks of 256 ids, or larger ones if the active ids are so spread that there would be more than
 * MAX_POLL_BLOCKS. One lease: its exact cookie.
 */
export function idBlocks<L extends { id: number }>(list: L[]): { low: bigint; mask: bigint; leases: L[] }[] {
  if (list.length === 1) return [{ low: BigInt(list[0]!.id), mask: ALL_ONES_64, leases: list }];
  for (let bits = 8; ; bits++) {
    const size = 2 ** bits;
    const blocks = new Map<number, L[]>();
    for (const l of list) {
      const b = Math.floor(l.id / size);
      let part = blocks.get(b);
      if (!part) blocks.set(b, (part = []));
      part.push(l);
    }
    if (blocks.size <= MAX_POLL_BLOCKS || bits >= 48) {
      const mask = OWNER_MASK | (ID_MASK & ~(BigInt(size) - 1n));
      return [...blocks].map(([b, leases]) => ({ low: BigInt(b) * BigInt(size), mask, leases }));
    }
  }
}

export type DmzEvent =
  | { type: 'lease.created' | 'lease.extended' | 'lease.closed'; lease: LeaseRecord }
  /** `audit`: the core's audit entries of a change nobody asked for (a block's end), for the executor to write. */
  | { type: 'block.created' | 'block.removed'; block: BlockRecord; audit?: readonly AuditDraft[] }
  /**
   * A switch reported one of our flows removed while it should still be there (see FlowManager's flowLost): it
   * is being re-installed. `lease` or `block` names the owner's record when the flow is one of theirs.
   */
  | { type: 'flow.lost'; dpid: bigint; owner: string; lease?: number; block?: number; reason: string; flow: FlowEntry };

/** Whether a drafted lease's flows went to the switch, and the settling of its `sent` promise. */
interface Sending {
  sent: boolean;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export interface DmzAppEvents {
  event: [DmzEvent];
  /** Counters of active leases changed (after a poll or a flow-removed). */
  counters: [LeaseRecord[]];
}

/** What a lease request would install (a dry run): nothing of it is taken, installed or recorded. */
export interface LeasePlan {
  /** The lease as it would be drafted now (its id and meter id are the next free ones, not reserved). */
  lease: Lease;
  /** The flows as the flow manager would install them. */
  flows: FlowEntry[];
  meter?: MeterSpec;
  switchBudget: SwitchBudget;
  /** Transfer and block flows the switch holds now. */
  flowsInUse: number;
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

export class DmzApp extends EventEmitter<DmzAppEvents> {
  site: Site;
  readonly book = new LeaseBook();
  /** The core's state (apps/dmz/core): the live blocks, whose changes decide() makes. */
  private core: State;
  private readonly controller: Controller;
  private readonly flows: FlowManager;
  private readonly log: Logger;
  private readonly clock: Clock;
  /** Lease ends (one per active lease: one timer for all of them). */
  private readonly leaseEnds: DeadlineTimer;
  /** Block ends (a block may last a year: far beyond what one Node timer can wait). */
  private readonly blockEnds: DeadlineTimer;
  /** Per lease: the latest counters of each of its flows (by flow key). */
  private readonly flowCounters = new Map<number, Map<string, { inbound: boolean; packets: number; bytes: number }>>();
  /** Per lease whose flows are being deleted: the flows whose flow-removed (final counts) has not come yet. */
  private readonly awaitingRemoved = new Map<number, Set<{ keys: Set<string>; done: () => void }>>();
  /**
   * Per active lease: the keys (flowKey) of the flows it put on its switch, so that its removal finds them in the
   * desired state without a scan of every lease's flows.
   */
  private readonly leaseFlowKeys = new Map<number, string[]>();
  /** Lease flow installs, grouped per switch while one is under way. */
  private readonly installs: LeaseInstalls;
  /** Lease removals under way. */
  private readonly releasing = new Map<number, Promise<LeaseRecord>>();
  private stopPolling: Cancel | undefined;
  /** What leases and blocks hold of the switches' flow budgets and of the circuits' capacity. */
  private readonly admission = new Admission();
  private readonly tableSizes: TableSizes;
  /** Per switch: how many pipeline flows it holds (they take table space the flow budget does not count). */
  private readonly pipelineFlows = new Map<bigint, number>();
  private readonly onFlowRemoved = (_conn: unknown, msg: MessageOf<'flowRemoved'>) => this.flowRemoved(msg);
  private readonly onFlowLost = (dpid: bigint, owner: string, flow: FlowEntry, reason: string): void => {
    const kind = ownerIdOf(flow.cookie);
    const id = cookieId(flow.cookie);
    const ours = kind === OWNER.LEASES ? { lease: id } : kind === OWNER.BLOCKS ? { block: id } : {};
    this.emit('event', { type: 'flow.lost', dpid, owner, ...ours, reason, flow });
  };
  /**
   * A lease whose lost flow the switch refused to take back is not in force: it is revoked (its other flows
   * removed), so that the API does not call it active. A block stays (the next reconcile retries its flows).
   */
  private readonly onFlowNotRestored = (_dpid: bigint, _owner: string, flow: FlowEntry, e: Error): void => {
    if (ownerIdOf(flow.cookie) !== OWNER.LEASES) return;
    const id = cookieId(flow.cookie);
    if (this.book.leases.get(id)?.state !== 'active') return;
    void this.releaseLease(id, 'revoked', `the switch lost a flow of this lease and refused it back: ${e.message}`).catch((err: Error) =>
      this.log.warn({ lease: id, err: err.message }, 'revoking a lease whose flow was lost failed'),
    );
  };

  constructor(private readonly opts: DmzAppOptions) {
    super();
    this.site = opts.site;
    this.core = initialState(opts.site);
    this.controller = opts.controller;
    this.flows = opts.flows;
    this.log = opts.logger.child({ component: 'dmz' });
    this.clock = opts.clock ?? systemClock;
    // Durations on a monotonic clock (a wall clock may step), unless a clock is given (a test's).
    const timers = opts.clock ?? monotonicClock;
    this.leaseEnds = new DeadlineTimer((id) => this.leaseEnded(id), timers);
    this.blockEnds = new DeadlineTimer((id) => this.blockEnded(id), timers);
    this.flows.registerOwner(OWNER_NAMES.pipeline, OWNER.PIPELINE);
    this.flows.registerOwner(OWNER_NAMES.leases, OWNER.LEASES);
    this.flows.registerOwner(OWNER_NAMES.blocks, OWNER.BLOCKS);
    this.installs = new LeaseInstalls(this.flows, OWNER_NAMES.leases);
    this.tableSizes = new TableSizes(this.controller, this.log);
  }

  /**
   * Declares the desired state of every site switch (pipeline, restored leases and blocks); the flow manager
   * installs it as each switch connects, and reconciles switches already connected.
   */
  async start(restored: { leases?: LeaseRecord[]; blocks?: BlockRecord[] } = {}): Promise<void> {
    const now = this.clock.now();
    this.book.restore(restored.leases ?? [], restored.blocks ?? []);
    // What ended while we were down is closed, never re-installed.
    for (const l of this.book.active()) if (l.end <= now) this.closeLease(l, 'expired', 'ended while the controller was down');
    // What the site config (changed while we were down) no longer allows is revoked, as a reload would; its
    // flows are stale to the connect-time reconcile. (Declaring a lease of a DTN the config lost would throw.)
    for (const l of this.book.active()) {
      try {
        checkAgainstSite(this.site, { ...l, durationSeconds: 0 });
        leaseFlows(this.site, l, now);
      } catch (e) {
        this.closeLease(l, 'revoked', `not valid under the site config: ${(e as Error).message}`);
      }
    }
    this.restoreBlocks(now);
    this.declarePipeline(this.site);
    this.declareBlocks(now);
    this.declareLeases(now);
    for (const l of this.book.active()) this.scheduleEnd(l);
    for (const b of rulesOf(this.core, 'block')) if (b.end !== undefined) this.blockEnds.set(b.id, b.end - now);
    this.controller.on('flowRemoved', this.onFlowRemoved);
    this.tableSizes.start();
    this.flows.on('flowLost', this.onFlowLost);
    this.flows.on('flowNotRestored', this.onFlowNotRestored);
    const every = this.opts.pollIntervalMs ?? 5000;
    if (every > 0) {
      const poll = (): void => {
        this.stopPolling = this.clock.setTimer(every, poll);
        void this.pollCounters().catch((e: Error) => this.log.warn({ err: e.message }, 'counter poll failed'));
      };
      this.stopPolling = this.clock.setTimer(every, poll);
    }
    await Promise.all(this.site.switches.filter((sw) => this.controller.get(sw.dpid)).map((sw) => this.flows.reconcile(sw.dpid)));
  }

  stop(): void {
    this.leaseEnds.stop();
    this.blockEnds.stop();
    this.stopPolling?.();
    this.stopPolling = undefined;
    this.controller.off('flowRemoved', this.onFlowRemoved);
    this.tableSizes.stop();
    this.flows.off('flowLost', this.onFlowLost);
    this.flows.off('flowNotRestored', this.onFlowNotRestored);
  }

  /**
   * Entries held per lease or block beyond the book's records, by structure: all return to their baseline once
   * the leases and blocks of a run have closed (the per-lease state must not outlive its lease).
   */
  internalSizes(): Record<string, number> {
    return {
      flowCounters: this.flowCounters.size,
      awaitingRemoved: this.awaitingRemoved.size,
      leaseFlowKeys: this.leaseFlowKeys.size,
      releasing: this.releasing.size,
      leaseEnds: this.leaseEnds.size,
      blockEnds: this.blockEnds.size,
      ...this.book.internalSizes(),
    };
  }

  // ---- leases -------------------------------------------------------------------------------------------------

  /** Validates, installs (atomically, barrier-confirmed) and records a lease. Throws LeaseRefused or a switch error. */
  async requestLease(asked: LeaseRequest): Promise<LeaseRecord> {
    return this.draftLease(asked, false).installed;
  }

  /**
   * Checks a request and takes what the lease needs (its id, meter, overlap and budget shares) in this turn, so
   * that requests under way at once can neither share them nor together go past a limit. `record` is the record
   * the lease will have once installed; `sent` resolves as its flows go to the switch, with the rest of their
   * install group (lease-installs.ts) in the same turn, so that a caller that keeps leases durably (the API's
   * transfers service) writes the group's records in one write while the switch installs them: a request then
   * waits for the longer of the two, not for their sum. `installed` resolves once the switch confirmed the flows.
   * Throws LeaseRefused for a refused request; `installed` rejects with the switch's error (and `sent` too if the
   * flows never went), and then, with `keepRefused`, a lease whose flows were sent (its record may be durable)
   * stays as a revoked record (book.refuse), not forgotten. A crash between the two leaves a recorded lease that
   * a restart installs.
   */
  draftLease(asked: LeaseRequest, keepRefused = true): { record: LeaseRecord; sent: Promise<void>; installed: Promise<LeaseRecord> } {
    const now = this.clock.now();
    const req = this.admissible(asked);
    const lease = this.book.draft(req, now);
    let planned: ReturnType<typeof leaseFlows>;
    let dpid: bigint;
    try {
      planned = leaseFlows(this.site, lease, now);
      dpid = this.leaseDpid(lease.dtn);
      this.admission.admitLease(this.site, lease.id, lease.path, lease.rateMbps, this.switchBudget(dpid), planned.flows.length, true);
    } catch (e) {
      this.book.abandon(lease);
      throw e;
    }
    if (!this.controller.get(dpid)) {
      this.admission.release(lease.id);
      this.book.abandon(lease);
      throw new LeaseRefused('switch-down', `switch ${switchByName(this.site, this.dtnSwitch(lease.dtn)).name} is not connected`);
    }
    const record = leaseRecord(lease, now);
    const sending: Sending = { sent: false, resolve: () => undefined, reject: () => undefined };
    const sent = new Promise<void>((resolve, reject) => Object.assign(sending, { resolve, reject }));
    sent.catch(() => undefined); // (a caller may wait only for `installed`)
    return { record, sent, installed: this.install(lease, record, dpid, planned, keepRefused, sending) };
  }

  private async install(
    lease: Lease,
    rec: LeaseRecord,
    dpid: bigint,
    planned: ReturnType<typeof leaseFlows>,
    keepRefused: boolean,
    sending: Sending,
  ): Promise<LeaseRecord> {
    const { flows, meter } = planned;
    let keys: string[];
    try {
      if (meter) await this.installMeter(dpid, meter);
      try {
        keys = await this.installs.install(dpid, flows, () => {
          sending.sent = true;
          sending.resolve();
        });
      } catch (e) {
        if (meter) await this.removeMeter(dpid, meter.meterId).catch(() => undefined);
        throw e;
      }
    } catch (e) {
      this.admission.release(lease.id);
      if (keepRefused && sending.sent) this.book.refuse(lease, rec, this.clock.now(), `not installed: ${(e as Error).message}`);
      else this.book.abandon(lease);
      if (!sending.sent) sending.reject(e);
      throw e;
    }
    this.book.add(lease, rec.createdAt, rec);
    this.leaseFlowKeys.set(rec.id, keys);
    if (rec.meterId) this.declareMeters(dpid);
    this.scheduleEnd(rec);
    // Debug, not info: every lease is requested through the API, whose audit line ("audit: transfer.create
    // granted") logs the grant with these facts and who asked; at info each grant was logged twice (a line is a
    // write to the log file in the request's path).
    if (this.log.isLevelEnabled('debug'))
      this.log.debug(
        { lease: rec.id, project: rec.project, dtn: rec.dtn, remote: rec.remote, path: rec.path, end: new Date(rec.end).toISOString() },
        'lease installed',
      );
    this.emit('event', { type: 'lease.created', lease: rec });
    return rec;
  }

  /**
   * Every check requestLease makes (site policy, overlap, flow budgets, circuit capacity, the switch connected),
   * in the same order, and the flows it would install; throws the same refusals. Nothing is held or installed.
   */
  planLease(asked: LeaseRequest): LeasePlan {
    const now = this.clock.now();
    const req = this.admissible(asked);
    const lease = this.book.preview(req, now);
    const { flows, meter } = leaseFlows(this.site, lease, now);
    const dpid = this.leaseDpid(lease.dtn);
    const switchBudget = this.switchBudget(dpid);
    this.admission.admitLease(this.site, lease.id, lease.path, lease.rateMbps, switchBudget, flows.length, false);
    if (!this.controller.get(dpid)) throw new LeaseRefused('switch-down', `switch ${switchBudget.name} is not connected`);
    const entries = flows.map((f) => this.flows.entry(OWNER_NAMES.leases, f));
    return { lease, flows: entries, ...(meter ? { meter } : {}), switchBudget, flowsInUse: this.admission.flowsInUse(dpid) };
  }

  /** The budget of lease and block flows of a site switch: the policy's, capped by the table size it reported. */
  switchBudget(dpid: bigint): SwitchBudget {
    const sw = this.site.switches.find((s) => s.dpid === dpid);
    if (!sw) throw new Error(`no site switch with datapath id ${dpid.toString(16)}`);
    let budget = this.site.policy.switchFlowBudget;
    const size = this.tableSizes.of(dpid);
    if (size !== undefined) budget = Math.min(budget, Math.max(0, size - (this.pipelineFlows.get(dpid) ?? 0)));
    return { name: sw.name, dpid, budget };
  }

  /** Moves a lease's end; the switch-side hard timeouts are re-armed by replacing its flows (no gap). */
  async extendLease(id: number, end: number): Promise<LeaseRecord> {
    const rec = this.activeLease(id);
    const now = this.clock.now();
    if (end <= now) throw new LeaseRefused('expired', 'the new end is in the past');
    if ((end - now) / 1000 > this.site.policy.maxLeaseSeconds)
      throw new LeaseRefused('duration', `a lease may run at most ${this.site.policy.maxLeaseSeconds} s from now`);
    const { flows } = leaseFlows(this.site, { ...rec, end }, now);
    const dpid = this.leaseDpid(rec.dtn);
    if (!this.controller.get(dpid)) throw new LeaseRefused('switch-down', "the lease's switch is not connected");
    // Re-armed through the flow manager: each flow sent again as an OFPFC_ADD, which replaces it with its hard
    // timeout restarting and, without OFPFF_RESET_COUNTS, its counters copied (OF1.3.5 §6.4; OVS does so): the
    // counts go on from where they were, so nothing is carried over here (doing so counted every packet twice).
    await this.pollCounters([rec]);
    await this.flows.apply(dpid, OWNER_NAMES.leases, { add: flows }, { atomic: false, rearm: true });
    this.noteLeaseFlows(rec.id, flows);
    rec.end = end;
    this.scheduleEnd(rec);
    this.emit('event', { type: 'lease.extended', lease: rec });
    return rec;
  }

  /** Removes a lease's flows and closes it with its final counters. */
  releaseLease(id: number, state: 'released' | 'revoked' | 'expired' = 'released', reason = 'released by its holder'): Promise<LeaseRecord> {
    // One removal per lease at a time: the end timer and the switch's hard timeout (its flow-removed) often
    // both ask at once, and a second removal would close the lease before the first one's final counts are in.
    const running = this.releasing.get(id);
    if (running) return running;
    const p = this.releaseNow(id, state, reason).finally(() => this.releasing.delete(id));
    this.releasing.set(id, p);
    return p;
  }

  private async releaseNow(id: number, state: 'released' | 'revoked' | 'expired', reason: string): Promise<LeaseRecord> {
    const rec = this.activeLease(id);
    await this.pollCounters([rec]).catch(() => undefined);
    await this.removeLeaseFlows(rec);
    this.closeLease(rec, state, reason);
    // Only now is the lease no longer active: its meter leaves the desired state (else a reconcile re-adds it).
    if (rec.meterId) this.declareMeters(this.leaseDpid(rec.dtn));
    return rec;
  }

  lease(id: number): LeaseRecord | undefined {
    return this.book.leases.get(id);
  }

  // ---- blocks -------------------------------------------------------------------------------------------------

  /**
   * Installs a block on every connected site switch (atomically per switch) and records it: decide() makes the
   * block (its id, flows, record and end), the admission checks what the core does not hold yet (lease flows and
   * the table sizes the switches reported).
   */
  async addBlock(b: Omit<Block, 'id' | 'start'>): Promise<BlockRecord> {
    return (await this.createBlock(b, SYSTEM)).record;
  }

  /** addBlock for someone: with the audit entries the core wrote for it (for the executor to persist). */
  async createBlock(b: Omit<Block, 'id' | 'start'>, by: Actor): Promise<{ record: BlockRecord; audit: AuditDraft[] }> {
    const now = this.clock.now();
    const spec = {
      prefix: parsePrefix(b.prefix),
      reason: b.reason,
      ...(b.protocol !== undefined ? { protocol: b.protocol } : {}),
      ...(b.ports !== undefined ? { ports: b.ports } : {}),
      ...(b.end !== undefined ? { end: b.end } : {}),
      ...(b.project !== undefined ? { project: b.project } : {}),
      ...(b.createdBy !== undefined ? { createdBy: b.createdBy } : {}),
    };
    const { state, plan } = decide(this.core, { type: 'block', by, block: spec }, now);
    const id = this.core.nextId.block;
    const rule = blockOf(state, id);
    if (plan.refused || !rule) throw refusalOf(plan);
    this.admission.admitBlock(
      this.site,
      id,
      this.site.switches.map((sw) => this.switchBudget(sw.dpid)),
      rule.flows,
      true,
    );
    this.core = state;
    try {
      await this.applyFlows(plan);
    } catch (e) {
      this.admission.releaseBlock(id);
      this.core = withRules(this.core, (rules) => rules.delete(ruleKey('block', id)));
      throw e;
    }
    const rec = this.book.addBlock(blockRecordIn(plan));
    this.applyTimers(plan, now);
    this.log.info({ block: rec.id, prefix: rec.prefix, reason: rec.reason }, 'block installed');
    this.emit('event', { type: 'block.created', block: rec });
    return { record: rec, audit: plan.audit };
  }

  /** Removes an active block (decide(): unblock, or expire when its end has come). */
  async removeBlock(id: number, state: 'removed' | 'expired' = 'removed'): Promise<BlockRecord> {
    return (await this.endBlock(id, state, SYSTEM)).record;
  }

  /** removeBlock for someone: with the audit entries the core wrote for it (for the executor to persist). */
  async endBlock(id: number, state: 'removed' | 'expired', by: Actor): Promise<{ record: BlockRecord; audit: AuditDraft[] }> {
    const rec = this.book.blocks.get(id);
    const rule = blockOf(this.core, id);
    if (!rec || rec.state !== 'active' || !rule) throw new LeaseRefused('not-found', `no active block ${id}`);
    const now = this.clock.now();
    const cmd = state === 'expired' ? ({ type: 'expire', kind: 'block', id } as const) : ({ type: 'unblock', by, id } as const);
    const decided = decide(this.core, cmd, now);
    if (decided.plan.refused) throw refusalOf(decided.plan);
    if (decided.plan.records.length === 0) return { record: rec, audit: [] }; // not ended yet: nothing to do
    this.core = decided.state;
    try {
      await this.applyFlows(decided.plan);
    } catch (e) {
      this.core = withRules(this.core, (rules) => rules.set(ruleKey('block', id), rule));
      throw e;
    }
    this.applyTimers(decided.plan, now);
    this.closeBlock(rec, decided.plan);
    return { record: rec, audit: decided.plan.audit };
  }

  /** A plan's flow changes, step by step: on a connected switch now, else declared for when it connects. */
  private async applyFlows(plan: Plan): Promise<void> {
    const atomic = plan.atomicity !== 'none';
    for (const step of plan.steps) {
      for (const c of step) {
        const change = { ...(c.add ? { add: c.add } : {}), ...(c.remove ? { remove: c.remove } : {}) };
        if (this.controller.get(c.dpid)) await this.flows.apply(c.dpid, c.owner, change, { atomic });
        else this.flows.updateFlows(c.dpid, c.owner, change);
      }
    }
  }

  /** A plan's rule ends to set or cancel (blocks only, so far). */
  private applyTimers(plan: Plan, now: number): void {
    for (const t of plan.timers) {
      const [kind, id] = t.key.split('/');
      if (kind !== 'block') continue;
      if (t.at === undefined) this.blockEnds.clear(Number(id));
      else this.blockEnds.set(Number(id), t.at - now);
    }
  }

  /** The restored blocks into the core; those that ended while we were down are closed (decide(): expire). */
  private restoreBlocks(now: number): void {
    const active = this.book.activeBlocks();
    let next = initialState(this.site, { block: Math.max(1, ...[...this.book.blocks.keys()].map((id) => id + 1)) });
    next = withRules(next, (rules) => {
      for (const b of active) rules.set(ruleKey('block', b.id), blockRuleOf(b, now));
    });
    this.core = { ...next, nextId: { ...next.nextId, lease: this.core.nextId.lease } };
    for (const b of active) {
      if (b.end === undefined || b.end > now) continue;
      const { state, plan } = decide(this.core, { type: 'expire', kind: 'block', id: b.id }, now);
      if (plan.records.length === 0) continue;
      this.core = state; // its flows are not declared (declareBlocks follows)
      this.closeBlock(b, plan);
    }
  }

  // ---- site reload --------------------------------------------------------------------------------------------

  /**
   * Adopts a new site config. Pipeline flows are reconciled by owner, so flows the change does not touch stay
   * as they are (durations and counters keep running); leases the new site refuses are revoked.
   */
  async reloadSite(site: Site): Promise<{ revoked: number[] }> {
    const now = this.clock.now();
    const revoked: number[] = [];
    for (const l of this.book.active()) {
      try {
        checkAgainstSite(site, { ...l, durationSeconds: 0 });
        leaseFlows(site, l, now);
      } catch (e) {
        await this.removeLeaseFlows(l).catch(() => undefined);
        this.closeLease(l, 'revoked', `no longer valid under the reloaded site config: ${(e as Error).message}`);
        revoked.push(l.id);
      }
    }
    const gone = this.site.switches.filter((old) => !site.switches.some((s) => s.dpid === old.dpid));
    this.site = site;
    this.core = { ...this.core, site };
    for (const sw of gone) for (const owner of Object.values(OWNER_NAMES)) this.flows.setFlows(sw.dpid, owner, []);
    this.declarePipeline(site);
    this.declareLeases(now);
    this.declareBlocks(now);
    for (const sw of [...site.switches, ...gone]) {
      if (!this.controller.get(sw.dpid)) continue;
      for (const owner of Object.values(OWNER_NAMES)) await this.flows.reconcile(sw.dpid, { owner });
    }
    this.log.info({ site: site.name, revoked }, 'site config reloaded');
    return { revoked };
  }

  // ---- counters -----------------------------------------------------------------------------------------------

  /** Reads the lease flows' counters from the switches (all active leases, or the given ones). */
  async pollCounters(only?: LeaseRecord[]): Promise<void> {
    const leases = only ?? this.book.active();
    const bySwitch = new Map<bigint, LeaseRecord[]>();
    for (const l of leases) {
      const dpid = this.leaseDpid(l.dtn);
      let list = bySwitch.get(dpid);
      if (!list) bySwitch.set(dpid, (list = []));
      list.push(l);
    }
    for (const [dpid, list] of bySwitch) {
      const conn = this.controller.get(dpid);
      if (!conn) continue;
      for (const block of idBlocks(list)) {
        const stats = await conn.multipart<FlowStats>({
          type: 'flowStatsRequest',
          xid: 0,
          flags: 0,
          tableId: OFPTT.ALL,
          outPort: OFPP.ANY,
          outGroup: OFPG.ANY,
          match: [],
          cookie: this.flows.cookie(OWNER_NAMES.leases, block.low),
          cookieMask: block.mask,
        });
        const byLease = new Map<number, FlowStats[]>();
        for (const s of stats) {
          const id = cookieId(s.cookie);
          let list = byLease.get(id);
          if (!list) byLease.set(id, (list = []));
          list.push(s);
        }
        for (const [id, flows] of byLease) {
          const rec = this.book.leases.get(id);
          if (!rec || this.unchanged(rec, flows)) continue;
          for (const s of flows)
            this.noteFlow(rec, s.match, flowKey({ tableId: s.tableId, priority: s.priority, match: s.match }), s.packetCount, s.byteCount);
        }
        for (const l of block.leases) this.sumCounters(l);
      }
    }
    this.emit('counters', leases);
  }

  // ---- internals ----------------------------------------------------------------------------------------------

  private flowRemoved(msg: MessageOf<'flowRemoved'>): void {
    if (ownerIdOf(msg.cookie) !== OWNER.LEASES) return;
    const rec = this.book.leases.get(cookieId(msg.cookie));
    if (!rec || rec.state !== 'active') return; // (closed: its counts are final, and its per-lease state gone)
    const key = flowKey({ tableId: msg.tableId, priority: msg.priority, match: msg.match });
    const awaited = this.awaitingRemoved.get(rec.id);
    let ours = false;
    for (const w of awaited ?? []) if (w.keys.has(key)) ours = true;
    const ended = msg.reason === OFPRR.HARD_TIMEOUT && rec.end <= this.clock.now() + HARD_TIMEOUT_TOLERANCE_MS;
    // Only the report of our delete or of the lease's end carries the flow's final counts. Any other (the flow
    // manager re-installs the flow, see onFlowLost) is not believed: the poll reads the flow's counters again.
    if (!ours && !ended) return;
    this.noteFlow(rec, msg.match, key, msg.packetCount, msg.byteCount);
    this.sumCounters(rec);
    this.emit('counters', [rec]);
    for (const w of awaited ?? []) if (w.keys.delete(key) && w.keys.size === 0) w.done();
    if (ended) {
      this.leaseEnds.clear(rec.id);
      void this.releaseLease(rec.id, 'expired', 'lease ended (switch hard timeout)').catch(() => undefined);
    }
  }

  /**
   * Whether a lease's flows report the totals it already has: a flow's counts only grow (and an ADD that re-arms
   * a flow keeps them, OF1.3.5 §6.4), so equal totals mean no flow moved, and the per-flow bookkeeping (a
   * canonical key per flow) is skipped for the idle leases that most polls find.
   */
  private unchanged(rec: LeaseRecord, flows: FlowStats[]): boolean {
    let packets = 0;
    let bytes = 0;
    for (const s of flows) {
      packets += Number(s.packetCount);
      bytes += Number(s.byteCount);
    }
    const c = rec.counters;
    if (packets !== c.packetsIn + c.packetsOut || bytes !== c.bytesIn + c.bytesOut) return false;
    // ... and the same flows as last time (a flow gone or new, even with equal totals, is bookkept).
    return packets + bytes === 0 || (this.flowCounters.get(rec.id)?.size ?? 0) === flows.length;
  }

  private noteFlow(rec: LeaseRecord, match: FlowEntry['match'], key: string, packets: bigint, bytes: bigint): void {
    const dtn = this.site.dtns.find((d) => d.name === rec.dtn);
    const inPort = match.find((m) => m.field === 'in_port')?.value;
    const map = this.flowCounters.get(rec.id) ?? new Map<string, { inbound: boolean; packets: number; bytes: number }>();
    map.set(key, { inbound: inPort !== dtn?.port, packets: Number(packets), bytes: Number(bytes) });
    this.flowCounters.set(rec.id, map);
  }

  private sumCounters(rec: LeaseRecord): void {
    const c = zeroCounters();
    for (const f of this.flowCounters.get(rec.id)?.values() ?? []) {
      if (f.inbound) {
        c.packetsIn += f.packets;
        c.bytesIn += f.bytes;
      } else {
        c.packetsOut += f.packets;
        c.bytesOut += f.bytes;
      }
    }
    rec.counters = c;
  }

  private async removeLeaseFlows(rec: LeaseRecord): Promise<void> {
    const dpid = this.leaseDpid(rec.dtn);
    // The lease's flows that are still desired (one its switch timed out is gone from the desired state already).
    const desired = this.flows.desired.has(dpid) ? this.flows.desired.get(dpid).flows : undefined;
    const cookie = this.flows.cookie(OWNER_NAMES.leases, BigInt(rec.id));
    const specs: FlowEntry[] = [];
    for (const key of this.leaseFlowKeys.get(rec.id) ?? []) {
      const r = desired?.get(key);
      if (r && r.entry.cookie === cookie) specs.push(r.entry);
    }
    if (this.controller.get(dpid)) {
      // Open vSwitch sends the flow-removed of a delete after the barrier reply (it postpones them), so the
      // delete's completion does not mean the final counts are in: wait for them, briefly, so that the lease
      // closes with the switch's final numbers.
      const finals = this.expectFlowRemoved(rec.id, specs.filter((f) => f.flags & OFPFF.SEND_FLOW_REM).map(flowKey));
      try {
        await this.flows.apply(dpid, OWNER_NAMES.leases, { remove: specs }, { atomic: false });
      } catch (e) {
        finals.cancel();
        throw e;
      }
      await finals.wait(1000);
      if (rec.meterId) await this.removeMeter(dpid, rec.meterId).catch((e: Error) => this.log.warn({ err: e.message }, 'meter removal failed'));
    } else {
      this.flows.updateFlows(dpid, OWNER_NAMES.leases, { remove: specs });
    }
  }

  /** Notes that the flow-removed of `keys` (a lease's deleted flows) are due; wait() resolves when all came. */
  private expectFlowRemoved(id: number, keys: string[]): { wait: (ms: number) => Promise<void>; cancel: () => void } {
    let resolve!: () => void;
    const arrived = new Promise<void>((r) => {
      resolve = r;
    });
    let cancel: Cancel | undefined;
    let finished = false;
    const waiter = {
      keys: new Set(keys),
      done: (): void => {
        finished = true;
        cancel?.();
        const set = this.awaitingRemoved.get(id);
        set?.delete(waiter);
        if (set?.size === 0) this.awaitingRemoved.delete(id);
        resolve();
      },
    };
    if (keys.length === 0) waiter.done();
    else this.awaitingRemoved.set(id, (this.awaitingRemoved.get(id) ?? new Set()).add(waiter));
    return {
      wait: (ms) => {
        if (!finished) cancel = this.clock.setTimer(ms, waiter.done);
        return arrived;
      },
      cancel: waiter.done,
    };
  }

  private closeLease(rec: LeaseRecord, state: 'released' | 'revoked' | 'expired', reason: string): void {
    this.leaseEnds.clear(rec.id);
    this.admission.release(rec.id);
    if (!this.book.close(rec.id, state, reason, this.clock.now())) return;
    this.leaseFlowKeys.delete(rec.id);
    this.flowCounters.delete(rec.id);
    // Debug, as 'lease installed' is: the API audits and logs every close, the ones it was asked for and those the
    // system made (expiry, a switch's hard timeout, a site reload, at start), with the reason and final counters.
    if (this.log.isLevelEnabled('debug')) this.log.debug({ lease: rec.id, state, reason, counters: rec.counters }, 'lease closed');
    this.emit('event', { type: 'lease.closed', lease: rec });
  }

  /** Closes the book's record as the core's plan says; an expiry's audit goes with its event (nobody asked). */
  private closeBlock(rec: BlockRecord, plan: Plan): void {
    const closed = blockRecordIn(plan);
    this.blockEnds.clear(rec.id);
    this.admission.releaseBlock(rec.id);
    rec.state = closed.state;
    rec.closedAt = closed.closedAt;
    this.book.pruneBlocks();
    this.emit('event', { type: 'block.removed', block: rec, ...(closed.state === 'expired' ? { audit: plan.audit } : {}) });
  }

  private noteLeaseFlows(id: number, flows: FlowSpec[]): void {
    this.leaseFlowKeys.set(
      id,
      flows.map((f) => flowKey(this.flows.entry(OWNER_NAMES.leases, f))),
    );
  }

  private scheduleEnd(rec: LeaseRecord): void {
    this.leaseEnds.set(rec.id, rec.end - this.clock.now());
  }

  private leaseEnded(id: number): void {
    void this.releaseLease(id, 'expired', 'lease ended').catch((e: Error) =>
      this.log.warn({ lease: id, err: e.message }, 'closing an ended lease failed'),
    );
  }

  private blockEnded(id: number): void {
    void this.removeBlock(id, 'expired').catch((e: Error) => this.log.warn({ block: id, err: e.message }, 'closing an ended block failed'));
  }

  /** Desired lease flows and meters of every switch from the book (pure; after start or reload). */
  private declareLeases(now: number): void {
    const perSwitch = new Map<bigint, FlowSpec[]>(this.site.switches.map((s) => [s.dpid, []]));
    for (const l of this.book.active()) {
      const { flows } = leaseFlows(this.site, l, now);
      this.noteLeaseFlows(l.id, flows);
      this.admission.holdLease(this.site, l.id, l.path, l.rateMbps, this.leaseDpid(l.dtn), flows.length);
      perSwitch.get(this.leaseDpid(l.dtn))?.push(...flows);
    }
    for (const [dpid, flows] of perSwitch) {
      this.flows.setFlows(dpid, OWNER_NAMES.leases, flows);
      this.declareMeters(dpid);
    }
  }

  private declarePipeline(site: Site): void {
    for (const sw of site.switches) {
      const flows = baseFlows(site, sw);
      this.pipelineFlows.set(sw.dpid, flows.length);
      this.flows.setFlows(sw.dpid, OWNER_NAMES.pipeline, flows);
    }
  }

  private declareBlocks(now: number): void {
    // Blocks with the same match share one flow (the later block's, as the switch kept it when it was added).
    const flows = new Map<string, FlowSpec>();
    for (const b of rulesOf(this.core, 'block')) {
      const own = flowsOfBlock(b, now);
      this.admission.holdBlock(b.id, own.length);
      for (const f of own) flows.set(this.blockFlowKey(f), f);
    }
    for (const sw of this.site.switches) this.flows.setFlows(sw.dpid, OWNER_NAMES.blocks, [...flows.values()]);
  }

  private blockFlowKey(f: FlowSpec): string {
    return flowKey(this.flows.entry(OWNER_NAMES.blocks, f));
  }

  private declareMeters(dpid: bigint): void {
    const now = this.clock.now();
    const meters: MeterEntry[] = [];
    for (const l of this.book.metered()) {
      if (!l.meterId || !l.rateMbps || l.end <= now || this.leaseDpid(l.dtn) !== dpid) continue;
      meters.push(leaseMeter(l.meterId, l.rateMbps));
    }
    this.flows.setMeters(dpid, meters);
  }

  private async installMeter(dpid: bigint, meter: MeterEntry): Promise<void> {
    const conn = this.controller.get(dpid)!;
    let errors = await sendAll(conn, [meterMsg(OFPMC.ADD, meter)]);
    // A meter left by an earlier run with the same id: take it over.
    if (errors.size > 0 && [...errors.values()][0]!.code === OFPMMFC.METER_EXISTS) errors = await sendAll(conn, [meterMsg(OFPMC.MODIFY, meter)]);
    if (errors.size > 0) throw [...errors.values()][0]!;
  }

  private async removeMeter(dpid: bigint, meterId: number): Promise<void> {
    const conn = this.controller.get(dpid);
    if (!conn) return;
    await sendAll(conn, [meterMsg(OFPMC.DELETE, { meterId, flags: 0, bands: [] })]);
  }

  /** A request checked against the site policy, with the rate it will carry (leaseRate: a circuit's default). */
  private admissible(req: LeaseRequest): LeaseRequest {
    checkAgainstSite(this.site, req);
    const rateMbps = leaseRate(this.site, req.path, req.rateMbps);
    return rateMbps === req.rateMbps ? req : { ...req, rateMbps };
  }

  private activeLease(id: number): LeaseRecord {
    const rec = this.book.leases.get(id);
    if (!rec || rec.state !== 'active') throw new LeaseRefused('not-found', `no active lease ${id}`);
    return rec;
  }

  private dtnSwitch(dtn: string): string {
    const d = this.site.dtns.find((x) => x.name === dtn);
    if (!d) throw new LeaseRefused('unknown-dtn', `${dtn} is not a configured DTN`);
    return d.switch;
  }

  private leaseDpid(dtn: string): bigint {
    return switchByName(this.site, this.dtnSwitch(dtn)).dpid;
  }
}

/** A refused plan as the error the API maps to its code. */
function refusalOf(plan: Plan): LeaseRefused {
  const r = plan.refused;
  return new LeaseRefused(r?.reason ?? 'refused', r?.message ?? 'refused', r?.limit);
}

/** The block record a plan persists (a block command's plan carries exactly one). */
function blockRecordIn(plan: Plan): BlockRecord {
  const r = plan.records.find((c) => c.kind === 'block');
  if (!r || r.kind !== 'block') throw new Error('a block plan without its record');
  return r.record;
}
