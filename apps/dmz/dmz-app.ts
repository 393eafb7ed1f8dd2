// The Science DMZ app at run time: it owns three kinds of flows on the site's switches (the enterprise-path
// pipeline, lease bypasses, blocks). Every change of a lease or block is decided by the pure core (core/decide.ts)
// from a command: an API call, an end timer, a switch's report, a site reload. This shell runs the plans through
// the controller's flow manager (batching lease installs per switch, waiting for the switches' confirmations),
// keeps the timers and the counters the switches report, and hands records, audit and events to the executor.
// Blocks (block-shell.ts) and link changes (link-follower.ts) run in parts of their own on the same core state.
import { monotonicClock, systemClock, type Cancel, type Clock } from '../../controller/clock.js';
import { EventEmitter } from 'node:events';
import type { Controller } from '../../controller/controller.js';
import type { FlowManager } from '../../controller/flow-manager.js';
import type { FlowEntry, MeterEntry } from '../../controller/flow-entry.js';
import { flowKey } from '../../controller/flow-entry.js';
import { cookieId, ownerIdOf } from '../../controller/cookie.js';
import { HARD_TIMEOUT_TOLERANCE_MS } from '../../controller/flow-manager.js';
import type { Logger } from '../../controller/log.js';
import type { SwitchConnection } from '../../controller/switch-connection.js';
import { OFPRR, type MessageOf } from '../../controller/openflow/index.js';
import { leaseMeter, LeaseRefused } from './pipeline.js';
import { OWNER, OWNER_NAMES } from './owners.js';
import { LeaseBook, type LeaseRecord, type BlockRecord, type LeaseRequest } from './lease-book.js';
import type { Site, SiteSwitch } from './site.js';
import { LeaseInstalls } from './lease-installs.js';
import { countedKey, LeaseCounters } from './lease-counters.js';
import { PlanRunner } from './plan-runner.js';
import { countedAs, readLeaseCounters, type CounterPoll } from './counter-poll.js';
import { DeadlineTimer } from './deadline-timer.js';
import { TableSizes } from './table-sizes.js';
import type { Block, Lease } from './model.js';
import { decide, type Decision } from './core/decide.js';
import { SYSTEM, type Actor, type Command } from './core/commands.js';
import { initialState, leaseOf, ruleKey, rulesOf, type LeaseRule, type State } from './core/state.js';
import { leaseRecordOf } from './core/records.js';
import { withRules } from './core/leases.js';
import { blockRuleOf } from './core/blocks.js';
import { checkSwitchBudget, flowsInUse } from './core/budgets.js';
import { reservedByLink } from './core/reservations.js';
import type { Plan } from './core/plan.js';
import { leaseRuleOf, leaseSpecOf } from './lease-rules.js';
import type { DmzAppEvents, DmzAppOptions, DmzEvent, Done, LeaseDraft, LeasePlan, SwitchBudget } from './dmz-app-shapes.js';
import { leaseFlowsBySwitch, leaseRecordIn, refusalOf } from './plan-records.js';
import type { CoreCell } from './core-cell.js';
import { BlockShell } from './block-shell.js';
import { LinkFollower } from './link-follower.js';

/** Whether a drafted lease's flows went to the switch, and the settling of its `sent` promise. */
interface Sending {
  sent: boolean;
  resolve: () => void;
  reject: (e: unknown) => void;
}

type CloseCommand = Extract<Command, { type: 'release' | 'expire' | 'flow-removed' }>;

export class DmzApp extends EventEmitter<DmzAppEvents> {
  site: Site;
  /** The records the API reads (with their counters), kept as the core's plans say; active leases' built when read. */
  readonly book = new LeaseBook({
    record: (id) => this.activeRecord(id),
    records: () => this.activeRecords(),
    summaries: () => this.activeRules(),
  });
  /** Leases being extended: the end their records show until the switches have the new one. */
  private readonly extending = new Map<number, number>();
  /** The core's state (apps/dmz/core): the live leases and blocks and the switches up; decide() changes it. */
  private readonly cell: CoreCell;
  private readonly controller: Controller;
  private readonly flows: FlowManager;
  private readonly log: Logger;
  private readonly clock: Clock;
  /** Lease ends (one per active lease: one timer for all of them). */
  private readonly leaseEnds: DeadlineTimer;
  /** Blocks: their flows, records and ends. */
  private readonly blocks: BlockShell;
  /** The counters the switches report, per lease and flow. */
  private readonly counters: LeaseCounters;
  /** Lease flow installs, grouped per switch while one is under way. */
  private readonly installs: LeaseInstalls;
  /** Lease removals under way. */
  private readonly releasing = new Map<number, Promise<Done<LeaseRecord> | undefined>>();
  private stopPolling: Cancel | undefined;
  private readonly tableSizes: TableSizes;
  /** Runs the plans' flow and meter changes. */
  private readonly runner: PlanRunner;
  private readonly poll: CounterPoll;
  private readonly linkFollower: LinkFollower;
  private readonly onFlowRemoved = (conn: SwitchConnection, msg: MessageOf<'flowRemoved'>) => this.flowRemoved(conn.dpid, msg);
  private readonly onSwitchUp = (conn: SwitchConnection): void => this.switchUp(conn.dpid!);
  private readonly onSwitchDown = (conn: SwitchConnection): void => {
    this.core = decide(this.core, { type: 'switch-down', dpid: conn.dpid! }, this.clock.now()).state;
  };
  private readonly onFlowLost = (dpid: bigint, _owner: string, flow: FlowEntry, reason: string): void => {
    const { plan } = decide(this.core, { type: 'flow-lost', dpid, cookie: flow.cookie, reason }, this.clock.now());
    // The plan's re-install is the flow manager's own (it restores every lost flow it holds as desired): only
    // the announcement is left to do here.
    for (const e of plan.events) if (e.type === 'flow.lost') this.emit('event', { ...e, flow });
  };
  /**
   * A lease whose lost flow the switch refused to take back is not in force: it is revoked (its other flows
   * removed), so that the API does not call it active. A block stays (the next reconcile retries its flows).
   */
  private readonly onFlowNotRestored = (_dpid: bigint, _owner: string, flow: FlowEntry, e: Error): void => {
    if (ownerIdOf(flow.cookie) !== OWNER.LEASES) return;
    const id = cookieId(flow.cookie);
    if (leaseOf(this.core, id)?.status !== 'active') return;
    void this.releaseLease(id, 'revoked', `the switch lost a flow of this lease and refused it back: ${e.message}`).catch((err: Error) =>
      this.log.warn({ lease: id, err: err.message }, 'revoking a lease whose flow was lost failed'),
    );
  };

  private get core(): State {
    return this.cell.state;
  }

  private set core(s: State) {
    this.cell.state = s;
  }

  constructor(private readonly opts: DmzAppOptions) {
    super();
    this.site = opts.site;
    this.cell = { state: initialState(opts.site) };
    this.controller = opts.controller;
    this.flows = opts.flows;
    this.log = opts.logger.child({ component: 'dmz' });
    this.clock = opts.clock ?? systemClock;
    // Durations on a monotonic clock (a wall clock may step), unless a clock is given (a test's).
    const timers = opts.clock ?? monotonicClock;
    this.leaseEnds = new DeadlineTimer((id) => this.leaseEnded(id), timers);
    this.flows.registerOwner(OWNER_NAMES.pipeline, OWNER.PIPELINE);
    this.flows.registerOwner(OWNER_NAMES.leases, OWNER.LEASES);
    this.flows.registerOwner(OWNER_NAMES.blocks, OWNER.BLOCKS);
    this.installs = new LeaseInstalls(this.flows, OWNER_NAMES.leases);
    this.tableSizes = new TableSizes(this.controller, this.log);
    this.counters = new LeaseCounters(this.clock);
    this.runner = new PlanRunner(this.controller, this.flows, this.counters, this.log);
    const shared = {
      cell: this.cell,
      site: () => this.site,
      runner: this.runner,
      clock: this.clock,
      log: this.log,
      emit: (e: DmzEvent) => this.emit('event', e),
    };
    this.blocks = new BlockShell({
      ...shared,
      book: this.book,
      timers,
      checkTableSize: (sw, flows) => this.checkTableSize(sw, flows),
      applyTimers: (t, now) => this.applyTimers(t, now),
    });
    this.linkFollower = new LinkFollower({
      ...shared,
      controller: this.controller,
      flows: this.flows,
      lease: (id) => this.lease(id),
      declareMeters: (dpid) => this.declareMeters(dpid),
    });
    this.poll = {
      controller: this.controller,
      flows: this.flows,
      counters: this.counters,
      site: () => this.site,
      active: (id) => {
        const rule = leaseOf(this.core, id);
        return rule?.status === 'active' ? rule : undefined;
      },
    };
  }

  /**
   * Declares the desired state of every site switch (pipeline, restored leases and blocks); the flow manager
   * installs it as each switch connects, and reconciles switches already connected.
   */
  async start(restored: { leases?: LeaseRecord[]; blocks?: BlockRecord[] } = {}): Promise<void> {
    const now = this.clock.now();
    const active = this.book.restore(restored.leases ?? [], restored.blocks ?? []);
    for (const l of active) this.counters.restore(l.id, l.counters);
    this.restoreRules(restored.leases ?? [], active, now);
    // What ended while we were down is closed, never re-installed; what the site config (changed while we were
    // down) no longer allows is revoked, as a reload would (its flows are stale to the connect-time reconcile).
    for (const l of [...rulesOf(this.core, 'lease')]) this.closedAtStart(decide(this.core, { type: 'expire', kind: 'lease', id: l.id }, now));
    for (const b of [...rulesOf(this.core, 'block')]) this.closedAtStart(decide(this.core, { type: 'expire', kind: 'block', id: b.id }, now));
    const reload = decide(this.core, { type: 'config-reload', site: this.site }, now);
    this.closedAtStart(reload);
    this.runner.declare(reload.plan);
    this.applyTimers(
      [...rulesOf(this.core, 'lease'), ...rulesOf(this.core, 'block')].map((r) => ({ key: ruleKey(r.kind, r.id), at: r.end })),
      now,
    );
    this.controller.on('flowRemoved', this.onFlowRemoved);
    this.controller.on('switchUp', this.onSwitchUp);
    this.controller.on('switchDown', this.onSwitchDown);
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
    this.blocks.ends.stop();
    this.stopPolling?.();
    this.stopPolling = undefined;
    this.controller.off('flowRemoved', this.onFlowRemoved);
    this.controller.off('switchUp', this.onSwitchUp);
    this.controller.off('switchDown', this.onSwitchDown);
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
      ...this.counters.sizes(),
      releasing: this.releasing.size,
      leaseEnds: this.leaseEnds.size,
      blockEnds: this.blocks.ends.size,
      rules: this.core.rules.size,
      ...this.book.internalSizes(),
    };
  }

  // ---- leases -------------------------------------------------------------------------------------------------

  /** Validates, installs (atomically, barrier-confirmed) and records a lease. Throws LeaseRefused or a switch error. */
  async requestLease(asked: LeaseRequest): Promise<LeaseRecord> {
    return this.draftLease(asked, false).installed;
  }

  /**
   * The first half of a request (decide(): request): the lease takes its id, meter, overlap and budget shares in
   * this turn, as `installing`, so that requests under way at once can neither share them nor together go past a
   * limit. `record` is the record the lease will have once installed, `audit` the grant's; `sent` resolves as its
   * flows go to the switch, with the rest of their install group (lease-installs.ts) in the same turn, so that a
   * caller that keeps leases durably (the API's transfers service) writes the group's records in one write while
   * the switch installs them: a request then waits for the longer of the two, not for their sum. `installed`
   * resolves once the switch confirmed the flows (the second half: installed). Throws LeaseRefused for a refused
   * request; `installed` rejects with the switch's error (and `sent` too if the flows never went), and then
   * (install-failed), with `keepRefused`, a lease whose flows were sent (its record may be durable) stays as a
   * revoked record, not forgotten. A crash between the two leaves a recorded lease that a restart installs.
   */
  draftLease(asked: LeaseRequest, keepRefused = true, by: Actor = SYSTEM): LeaseDraft {
    const now = this.clock.now();
    const id = this.core.nextId.lease;
    const d = this.decideRequest(asked, by, now);
    this.core = d.state;
    const record = leaseRecordIn(d.plan);
    const sending: Sending = { sent: false, resolve: () => undefined, reject: () => undefined };
    const sent = new Promise<void>((resolve, reject) => Object.assign(sending, { resolve, reject }));
    sent.catch(() => undefined); // (a caller may wait only for `installed`)
    return { record, audit: d.plan.audit, sent, installed: this.install(id, record, d.plan, keepRefused, sending) };
  }

  /** decide(): request, and the table size a switch reported (a live fact the core does not hold). */
  private decideRequest(asked: LeaseRequest, by: Actor, now: number): Decision {
    const lease = leaseSpecOf(this.site, asked, now);
    const d = decide(this.core, { type: 'request', by, lease }, now);
    if (d.plan.refused) throw refusalOf(d.plan);
    // Every switch of the path: any of them may report a table smaller than the policy's budget.
    for (const [dpid, flows] of leaseFlowsBySwitch(d.plan))
      this.checkTableSize(
        this.site.switches.find((s) => s.dpid === dpid)!,
        flows.length,
      );
    return d;
  }

  /** The core's switch budget check again with the table size the switch reported, where that is the smaller. */
  private checkTableSize(sw: SiteSwitch, flows: number): void {
    const { budget } = this.switchBudget(sw.dpid);
    if (budget < this.site.policy.switchFlowBudget) checkSwitchBudget(this.site, sw, flows, flowsInUse(this.core, sw.dpid), budget);
  }

  private async install(id: number, rec: LeaseRecord, plan: Plan, keepRefused: boolean, sending: Sending): Promise<LeaseRecord> {
    const change = plan.steps[0]![0]!;
    try {
      if (plan.atomicity === 'across-switches') {
        // A path over several switches: all of them or none (the runner's cross-switch change), in two stages.
        sending.sent = true;
        sending.resolve();
        await this.runner.applyAcross(plan);
      } else {
        const meter = change.meters?.add?.[0];
        if (meter) await this.runner.installMeter(change.dpid, meter);
        await this.installs.install(change.dpid, change.add ?? [], () => {
          sending.sent = true;
          sending.resolve();
        });
      }
    } catch (e) {
      const failed = decide(this.core, { type: 'install-failed', id, reason: (e as Error).message }, this.clock.now());
      this.core = failed.state;
      for (const step of failed.plan.steps)
        for (const c of step) for (const m of c.meters?.remove ?? []) await this.runner.removeMeter(c.dpid, m).catch(() => undefined);
      if (keepRefused && sending.sent) this.book.closed(leaseRecordIn(failed.plan));
      if (!sending.sent) sending.reject(e);
      throw e;
    }
    const done = decide(this.core, { type: 'installed', id }, this.clock.now());
    this.core = done.state;
    if (rec.meterId) for (const dpid of new Set(plan.steps.flat().map((c) => c.dpid))) this.declareMeters(dpid);
    this.applyTimers(done.plan.timers, this.clock.now());
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
   * Every check requestLease makes (decide(): request, on the state as it is), and the flows it would install;
   * throws the same refusals. Nothing is held or installed: the decided state is dropped.
   */
  planLease(asked: LeaseRequest): LeasePlan {
    const now = this.clock.now();
    const d = this.decideRequest(asked, SYSTEM, now);
    const rec = leaseRecordIn(d.plan);
    const lease: Lease = {
      id: rec.id,
      project: rec.project,
      dtn: rec.dtn,
      remote: rec.remote,
      protocol: rec.protocol,
      localPorts: rec.localPorts,
      remotePorts: rec.remotePorts,
      path: rec.path,
      start: rec.start,
      end: rec.end,
      rateMbps: rec.rateMbps,
      meterId: rec.meterId,
    };
    const meter = d.plan.steps[0]![0]!.meters?.add?.[0];
    // In the order of the lease's hops: the exit first, the DTN's switch last.
    const bySwitch = leaseFlowsBySwitch(d.plan);
    const hops = leaseOf(d.state, rec.id)!
      .hops.filter((h) => bySwitch.has(h.dpid))
      .map((h) => ({
        flows: bySwitch.get(h.dpid)!.map((f) => this.flows.entry(OWNER_NAMES.leases, f)),
        switchBudget: this.switchBudget(h.dpid),
        flowsInUse: flowsInUse(this.core, h.dpid),
      }));
    return { lease, ...hops.at(-1)!, hops, ...(meter ? { meter } : {}) };
  }

  /** The budget of lease and block flows of a site switch: the policy's, capped by the table size it reported. */
  switchBudget(dpid: bigint): SwitchBudget {
    const sw = this.site.switches.find((s) => s.dpid === dpid);
    if (!sw) throw new Error(`no site switch with datapath id ${dpid.toString(16)}`);
    let budget = this.site.policy.switchFlowBudget;
    const size = this.tableSizes.of(dpid);
    if (size !== undefined) budget = Math.min(budget, Math.max(0, size - (this.runner.pipelineFlows.get(dpid) ?? 0)));
    return { name: sw.name, dpid, budget };
  }

  /** Moves a lease's end; the switch-side hard timeouts are re-armed by replacing its flows (no gap). */
  async extendLease(id: number, end: number): Promise<LeaseRecord> {
    return (await this.extend(id, end, SYSTEM)).record;
  }

  /** extendLease for someone (decide(): extend), with the audit entries the core wrote for it. */
  async extend(id: number, end: number, by: Actor): Promise<Done<LeaseRecord>> {
    const now = this.clock.now();
    const before = leaseOf(this.core, id);
    const d = decide(this.core, { type: 'extend', by, id, end }, now);
    if (d.plan.refused) throw refusalOf(d.plan);
    const rec = this.book.lease(id)!;
    this.extending.set(id, rec.end);
    this.core = d.state;
    try {
      // Re-armed through the flow manager: each flow sent again as an OFPFC_ADD, which replaces it with its hard
      // timeout restarting and, without OFPFF_RESET_COUNTS, its counters copied (OF1.3.5 §6.4; OVS does so): the
      // counts go on from where they were, so nothing is carried over here (doing so counted every packet twice).
      await this.pollCounters([rec]);
      for (const step of d.plan.steps)
        for (const c of step) await this.flows.apply(c.dpid, c.owner, { add: c.add ?? [] }, { atomic: false, rearm: true });
    } catch (e) {
      // Back to the end it had, unless something else changed the lease meanwhile.
      if (before && leaseOf(this.core, id)?.end === end) this.core = withRules(this.core, (rules) => rules.set(ruleKey('lease', id), before));
      throw e;
    } finally {
      this.extending.delete(id);
    }
    const extended = this.book.lease(id) ?? { ...rec, end };
    this.applyTimers(d.plan.timers, now);
    this.emit('event', { type: 'lease.extended', lease: extended });
    return { record: extended, audit: d.plan.audit };
  }

  /** Removes a lease's flows and closes it with its final counters. */
  async releaseLease(id: number, state: 'released' | 'revoked' | 'expired' = 'released', reason = 'released by its holder'): Promise<LeaseRecord> {
    const cmd: CloseCommand = state === 'expired' ? { type: 'expire', kind: 'lease', id } : { type: 'release', by: SYSTEM, id, state, reason };
    const done = await this.closeLease(id, cmd);
    if (!done) throw new LeaseRefused('not-found', `no active lease ${id}`);
    return done.record;
  }

  /** releaseLease for someone (decide(): release), with the audit entries the core wrote for it. */
  async endLease(id: number, state: 'released' | 'revoked', reason: string, by: Actor): Promise<Done<LeaseRecord>> {
    const done = await this.closeLease(id, { type: 'release', by, id, state, reason });
    if (!done) throw new LeaseRefused('not-found', `no active lease ${id}`);
    return done;
  }

  lease(id: number): LeaseRecord | undefined {
    return this.book.lease(id);
  }

  /** An active lease's record: the core's rule with the counters the switches reported (no copy is kept). */
  private activeRecord(id: number): LeaseRecord | undefined {
    const rule = leaseOf(this.core, id);
    return rule?.status === 'active' ? this.recordOf(rule) : undefined;
  }

  private *activeRules(): Iterable<LeaseRule> {
    for (const rule of rulesOf(this.core, 'lease')) if (rule.status === 'active') yield rule;
  }

  private activeRecords(): LeaseRecord[] {
    const records: LeaseRecord[] = [];
    for (const rule of rulesOf(this.core, 'lease')) if (rule.status === 'active') records.push(this.recordOf(rule));
    return records;
  }

  private recordOf(rule: LeaseRule): LeaseRecord {
    const rec = leaseRecordOf(rule);
    rec.counters = this.counters.of(rule.id);
    const end = this.extending.get(rule.id);
    if (end !== undefined) rec.end = end;
    return rec;
  }

  /**
   * Runs a close of a lease (release, expire, its switch's hard timeout): one at a time per lease, since the end
   * timer and the switch's hard timeout often both ask at once, and a second removal would close the lease before
   * the first one's final counts are in. Undefined: nothing to close (not ended yet, or closed already).
   */
  private closeLease(id: number, cmd: CloseCommand): Promise<Done<LeaseRecord> | undefined> {
    // A close already under way is this one's answer; its audit is its own (written once, by whoever asked).
    const running = this.releasing.get(id);
    if (running) return running.then((d) => d && { record: d.record, audit: [] });
    const p = this.closeNow(id, cmd).finally(() => this.releasing.delete(id));
    this.releasing.set(id, p);
    return p;
  }

  private async closeNow(id: number, cmd: CloseCommand): Promise<Done<LeaseRecord> | undefined> {
    const now = this.clock.now();
    const first = decide(this.core, cmd, now);
    if (first.plan.refused) throw refusalOf(first.plan);
    const rec = this.activeRecord(id);
    if (first.plan.records.length === 0 || !rec) return undefined;
    // The lease keeps its place in the state (its overlap and budget shares) until its flows have left the switch.
    await this.pollCounters([rec]).catch(() => undefined);
    await this.runner.removeLeaseFlows(rec, first.plan);
    const d = decide(this.core, cmd, now);
    if (d.plan.records.length === 0) return undefined;
    const was = this.core;
    this.core = d.state;
    this.closed(was, d.plan, cmd.type === 'release' && cmd.by.actor !== 'system');
    return { record: this.book.lease(id) ?? rec, audit: d.plan.audit };
  }

  /** The leases active in `was` that a plan closes: their records kept, and announced (with the core's audit when nobody asked). */
  private closed(was: State, plan: Plan, asked: boolean): void {
    this.applyTimers(plan.timers, this.clock.now());
    // Only now are the leases no longer active: their meters leave the desired state (else a reconcile re-adds them).
    for (const step of plan.steps) for (const c of step) if (c.meters?.remove?.length) this.declareMeters(c.dpid);
    for (const r of plan.records) {
      if (r.kind !== 'lease') continue;
      if (leaseOf(was, r.record.id)?.status !== 'active') continue;
      const rec = r.record; // (the plan's own: one shape with every record, see test/unit/dmz/lease-record-shape.test.ts)
      rec.counters = this.counters.of(rec.id);
      this.book.closed(rec);
      this.counters.forget(rec.id);
      // Debug, as 'lease installed' is: the API audits and logs every close, the ones it was asked for and those
      // the system made (expiry, a switch's hard timeout, a site reload, at start), with the reason and counters.
      if (this.log.isLevelEnabled('debug'))
        this.log.debug({ lease: rec.id, state: rec.state, reason: rec.closeReason, counters: rec.counters }, 'lease closed');
      const audit = plan.audit.filter((a) => a.transfer === rec.id);
      this.emit('event', { type: 'lease.closed', lease: rec, ...(asked ? {} : { audit }) });
    }
  }

  // ---- blocks -------------------------------------------------------------------------------------------------

  /** Installs a block on every site switch (atomically per switch) and records it (decide(): block). */
  async addBlock(b: Omit<Block, 'id' | 'start'>): Promise<BlockRecord> {
    return (await this.createBlock(b, SYSTEM)).record;
  }

  /** addBlock for someone: with the audit entries the core wrote for it (for the executor to persist). */
  createBlock(b: Omit<Block, 'id' | 'start'>, by: Actor): Promise<Done<BlockRecord>> {
    return this.blocks.create(b, by);
  }

  /** Removes an active block (decide(): unblock, or expire when its end has come). */
  async removeBlock(id: number, state: 'removed' | 'expired' = 'removed'): Promise<BlockRecord> {
    return (await this.blocks.end(id, state, SYSTEM)).record;
  }

  /** removeBlock for someone: with the audit entries the core wrote for it (for the executor to persist). */
  endBlock(id: number, state: 'removed' | 'expired', by: Actor): Promise<Done<BlockRecord>> {
    return this.blocks.end(id, state, by);
  }

  /** A plan's rule ends to set or cancel. */
  private applyTimers(timers: Plan['timers'], now: number): void {
    for (const t of timers) {
      const [kind, id] = t.key.split('/');
      const ends = kind === 'lease' ? this.leaseEnds : kind === 'block' ? this.blocks.ends : undefined;
      if (!ends) continue;
      if (t.at === undefined) ends.clear(Number(id));
      else ends.set(Number(id), t.at - now);
    }
  }

  /** The restored leases and blocks as the core's live rules; ids continue after the highest seen. */
  private restoreRules(leases: LeaseRecord[], active: LeaseRecord[], now: number): void {
    const leaseIds = leases.map((l) => l.id);
    const blockIds = [...this.book.blocks.keys()];
    const next = initialState(this.site, { lease: Math.max(0, ...leaseIds) + 1, block: Math.max(0, ...blockIds) + 1 });
    const up = new Set(this.site.switches.filter((sw) => this.controller.get(sw.dpid)).map((sw) => sw.dpid));
    this.core = withRules({ ...next, up }, (rules) => {
      for (const l of active) rules.set(ruleKey('lease', l.id), leaseRuleOf(this.site, l, now));
      for (const b of this.book.activeBlocks()) rules.set(ruleKey('block', b.id), blockRuleOf(b, now));
    });
  }

  /** A close decided at start: nothing of it was declared yet, so only its records change and are announced. */
  private closedAtStart(d: Decision): void {
    const was = this.core;
    this.core = d.state;
    for (const r of d.plan.records) {
      if (r.kind === 'lease') this.closed(was, { ...d.plan, records: [r], steps: [] }, false);
      else if (r.kind === 'block') {
        const rec = this.book.blocks.get(r.record.id);
        if (rec) this.blocks.close(rec, { ...d.plan, records: [r] });
      }
    }
  }

  // ---- switches and site reload -------------------------------------------------------------------------------

  /** A switch connected (decide(): switch-up): its whole tables declared, for the flow manager's reconcile. */
  private switchUp(dpid: bigint): void {
    const d = decide(this.core, { type: 'switch-up', dpid }, this.clock.now());
    this.core = d.state;
    this.runner.declare(d.plan);
  }

  /**
   * Adopts a new site config (decide(): config-reload). Flows are reconciled by owner, so flows the change does
   * not touch stay as they are (durations and counters keep running); leases the new site refuses are revoked.
   */
  async reloadSite(site: Site): Promise<{ revoked: number[] }> {
    const now = this.clock.now();
    const first = decide(this.core, { type: 'config-reload', site }, now);
    // The revoked leases keep their place in the state until their flows have left the switches.
    for (const r of first.plan.records) {
      const rec = r.kind === 'lease' ? this.book.lease(r.record.id) : undefined;
      if (rec) await this.runner.removeLeaseFlows(rec, first.plan).catch(() => undefined);
    }
    const d = decide(this.core, { type: 'config-reload', site }, now);
    const revoked = d.plan.records.flatMap((r) => (r.kind === 'lease' ? [r.record.id] : []));
    const gone = this.site.switches.filter((old) => !site.switches.some((s) => s.dpid === old.dpid));
    const was = this.core;
    this.core = d.state;
    this.site = site;
    this.closed(was, d.plan, false);
    this.runner.declare(d.plan);
    for (const sw of [...site.switches, ...gone]) {
      if (!this.controller.get(sw.dpid)) continue;
      for (const owner of Object.values(OWNER_NAMES)) await this.flows.reconcile(sw.dpid, { owner });
    }
    this.log.info({ site: site.name, revoked }, 'site config reloaded');
    return { revoked };
  }

  // ---- links ------------------------------------------------------------------------------------------------

  /**
   * A configured link stopped (`up` false) or started being usable (fabric-monitor.ts's link-down / link-up): the
   * leases whose path crossed it move to another path (link-follower.ts). Resolves once the switches hold it.
   */
  linkChanged(link: string, up: boolean): Promise<void> {
    return this.linkFollower.changed(link, up);
  }

  /** Mbit/s the active leases reserve on each configured link, by name (the topology's reserved_mbps). */
  reservedByLink(): Map<string, number> {
    return reservedByLink(this.core);
  }

  // ---- counters -----------------------------------------------------------------------------------------------

  /** Reads the lease flows' counters from the switches (all active leases, or the given ones). */
  async pollCounters(only?: LeaseRecord[]): Promise<void> {
    // From the core's rules: a whole poll builds the records once, after the read.
    const rules = only ? only.map((l) => leaseOf(this.core, l.id)) : [...rulesOf(this.core, 'lease')].filter((r) => r.status === 'active');
    await readLeaseCounters(
      this.poll,
      rules.filter((r) => r !== undefined),
    );
    // Records as read now (the ones asked for were built before the read).
    this.emit('counters', only ? only.map((l) => this.book.lease(l.id) ?? l) : this.book.active());
  }

  // ---- internals ----------------------------------------------------------------------------------------------

  private flowRemoved(dpid: bigint | undefined, msg: MessageOf<'flowRemoved'>): void {
    if (ownerIdOf(msg.cookie) !== OWNER.LEASES) return;
    const rec = this.activeRecord(cookieId(msg.cookie));
    if (!rec) return; // (closed: its counts are final, and its per-lease state gone)
    if (dpid === undefined) return;
    const key = countedKey(dpid, flowKey({ tableId: msg.tableId, priority: msg.priority, match: msg.match }));
    const ours = this.counters.awaited(rec.id, key);
    const ended = msg.reason === OFPRR.HARD_TIMEOUT && rec.end <= this.clock.now() + HARD_TIMEOUT_TOLERANCE_MS;
    // Only the report of our delete or of the lease's end carries the flow's final counts. Any other (the flow
    // manager re-installs the flow, see onFlowLost) is not believed: the poll reads the flow's counters again.
    if (!ours && !ended) return;
    const as = countedAs(this.site, rec.dtn, dpid, msg.match);
    if (as) {
      this.counters.note(rec.id, key, as === 'in', msg.packetCount, msg.byteCount);
      this.counters.read(rec.id);
      this.emit('counters', [this.activeRecord(rec.id) ?? rec]);
    }
    this.counters.arrived(rec.id, key);
    if (ended) void this.closeLease(rec.id, { type: 'flow-removed', dpid, cookie: msg.cookie, reason: 'hard-timeout' }).catch(() => undefined);
  }

  private leaseEnded(id: number): void {
    void this.closeLease(id, { type: 'expire', kind: 'lease', id }).catch((e: Error) =>
      this.log.warn({ lease: id, err: e.message }, 'closing an ended lease failed'),
    );
  }

  /** The meters of the active leases on a switch, as its desired state. */
  private declareMeters(dpid: bigint): void {
    const now = this.clock.now();
    const meters: MeterEntry[] = [];
    for (const l of rulesOf(this.core, 'lease')) {
      if (l.status !== 'active' || !l.meterId || !l.rateMbps || l.end <= now || !l.hops.some((h) => h.dpid === dpid)) continue;
      meters.push(leaseMeter(l.meterId, l.rateMbps));
    }
    this.flows.setMeters(dpid, meters);
  }
}
