// Flow ownership and reconciliation. Apps declare, per switch, the flows they want (each tagged with a cookie
// naming its owner), and the meters and groups; the manager makes each switch hold exactly that: on connect, on
// reconnect and on demand it reads the switch's tables, deletes what is stale, adds what is missing and leaves
// correct flows alone (no cold start, no gap in forwarding, durations and counters keep running). Incremental
// changes (a lease's flows) go through apply(), atomically by default.
//
// Every operation on a switch is serialised per datapath, so a reconcile never interleaves with an apply.
import { flowStatsByCookie } from './flow-stats.js';
import { systemClock, type Clock } from './clock.js';
import { EventEmitter } from 'node:events';
import type { Controller } from './controller.js';
import type { SwitchConnection } from './switch-connection.js';
import type { Logger } from './log.js';
import { dpidText, SwitchError } from './errors.js';
import { OFPM, OFPRR, type MessageOf, type OfpMessage } from './openflow/index.js';
import type { FlowStats } from './openflow/multipart/flow.js';
import type { MeterConfig } from './openflow/multipart/meter-config.js';
import type { GroupDesc } from './openflow/multipart/group-desc.js';
import {
  type FlowEntry,
  type FlowSpec,
  type MeterEntry,
  type GroupEntry,
  normaliseFlow,
  flowKey,
  checkEncodes,
  checkInstructions,
  flowText,
} from './flow-entry.js';
import { ownerCookie, OWNER_MASK } from './cookie.js';
import { DesiredState, FlowRecord, OwnershipConflictError, sameEnd, type SwitchDesiredState } from './desired-state.js';
import {
  diffFlows,
  diffMeters,
  diffGroups,
  planPhases,
  compareFlow,
  addFlowMsg,
  modifyFlowMsg,
  deleteFlowMsg,
  type TableDiff,
  type FlowVerdict,
} from './reconcile.js';
import { applyInBundle, applyWithRollback, sendAll, AtomicGroupError, BundleSession, type Change, type FlowConn, type AtomicPath } from './atomic.js';
import {
  SwitchPart,
  commitAcross,
  groupChange,
  isCrossFailure,
  type CrossChange,
  type CrossSwitchResult,
  type GroupChange,
  type SwitchChange,
} from './cross-switch.js';

export interface FlowManagerOptions {
  /** Default: the system clock. */
  clock?: Clock;
  /** Use ONF bundles for atomic groups where the switch has them (default true; false forces barrier + rollback). */
  bundles?: boolean;
  /** Reconcile every switch as it connects or reconnects (default true). */
  reconcileOnConnect?: boolean;
  /**
   * Connect-time reconciles wait for this (e.g. the apps' state loaded from their database): a restarted
   * controller must not reconcile a switch against an empty desired state, which would wipe it.
   */
  ready?: Promise<unknown>;
  logger?: Logger;
}

export interface Counts {
  added: number;
  modified: number;
  deleted: number;
  unchanged: number;
}

export interface ReconcileReport extends Counts {
  dpid: string;
  /** Set for an owner-scoped reconcile. */
  owner?: string;
  /** Flows whose cookie or flags differed, replaced by an OFPFC_ADD (counted in `modified` too). */
  replaced: number;
  /** Desired flows missing after their hard timeout ran out: dropped from the desired state, not re-added. */
  expired: number;
  meters?: Counts;
  groups?: Counts;
  /** Messages the switch refused (the rest were applied). */
  failed: { what: string; error: string }[];
  durationMs: number;
}

export interface ApplyResult {
  path: AtomicPath | 'plain' | 'none';
  added: number;
  modified: number;
  deleted: number;
  unchanged: number;
}

export interface FlowManagerEvents {
  reconciled: [bigint, ReconcileReport];
  reconcileError: [bigint, Error];
  /** A desired flow the switch timed out (flow-removed with an idle/hard timeout reason, or hard timeout run out). */
  flowExpired: [bigint, string, FlowEntry];
  /**
   * The switch reported a desired flow removed that should still be there (a hard timeout before its time, a
   * timeout it does not have, a delete we did not send): the flow is re-installed, never forgotten. The string
   * says why the report was not taken as an expiry.
   */
  flowLost: [bigint, string, FlowEntry, string];
  /** The switch refused to take back a flow it lost (flowLost): it stays desired, and is not on the switch. */
  flowNotRestored: [bigint, string, FlowEntry, SwitchError];
}

/**
 * A hard-timeout flow-removed this close to the earliest time the flow can have timed out is its expiry: the
 * switch counts from its own install time and checks timeouts about once a second.
 */
export const HARD_TIMEOUT_TOLERANCE_MS = 1000;

/** Whether each connection took a bundle; see FlowManager.bundleSupport. */
const BUNDLE_SUPPORT = new WeakMap<FlowConn, boolean>();

export class SwitchNotConnectedError extends Error {
  constructor(readonly dpid: bigint) {
    super(`switch ${dpidText(dpid)} is not connected`);
    this.name = 'SwitchNotConnectedError';
  }
}

export class FlowManager extends EventEmitter<FlowManagerEvents> {
  readonly desired = new DesiredState();
  private readonly log: Logger;
  private readonly useBundles: boolean;
  private readonly ownersByName = new Map<string, number>();
  private readonly ownerNames = new Map<number, string>();
  /**
   * Per connection: whether it took a bundle (undefined until tried). Shared by every manager (it is what the
   * switch on that connection does, not a manager's state): a manager created later on a connection that has
   * taken bundles does not ask again.
   */
  private readonly bundleSupport = BUNDLE_SUPPORT;
  private readonly queues = new Map<bigint, Promise<unknown>>();
  private readonly ready: Promise<unknown>;
  private readonly onSwitchUp = (conn: SwitchConnection): void => {
    // After the current turn, so that apps that declare state in their own switchUp handlers are included.
    setImmediate(() => {
      if (conn.isClosed() || conn.dpid === undefined) return;
      this.ready
        .then(() => (conn.isClosed() ? undefined : this.reconcile(conn.dpid!)))
        .catch((e: Error) => {
          this.log.error({ dpid: conn.dpidText, err: e.message }, 'reconcile on connect failed');
          this.emit('reconcileError', conn.dpid!, e);
        });
    });
  };
  /** Per switch: the flow keys an apply() under way is deleting (their flow-removed is ours, not a loss). */
  private readonly deleting = new Map<bigint, Set<string>>();
  private readonly onFlowRemoved = (conn: SwitchConnection, msg: MessageOf<'flowRemoved'>): void => {
    const dpid = conn.dpid;
    if (dpid === undefined || !this.desired.has(dpid)) return;
    const s = this.desired.get(dpid);
    const key = flowKey(msg);
    const rec = s.flows.get(key);
    if (!rec || rec.cookie !== msg.cookie || this.deleting.get(dpid)?.has(key)) return;
    const owner = this.ownerName(rec.owner);
    const lost = lossReason(rec, msg.reason, this.clock.now());
    if (lost === undefined) {
      s.flows.delete(key);
      this.emit('flowExpired', dpid, owner, rec.entry);
      return;
    }
    // A switch that drops a flow it should hold, or one that forges the report (OF1.3.5 §6.5 lets any switch
    // send one), must not make the controller forget a flow it still wants: that would lift a block at the
    // next reconcile. The flow goes back on the switch; the report is an alarm.
    this.log.warn(
      { dpid: dpidText(dpid), owner, flow: flowText(rec), reason: lost },
      'switch removed a flow that should still be there: re-installing it',
    );
    this.emit('flowLost', dpid, owner, rec.entry, lost);
    this.reinstall(dpid, key, rec).catch((e: Error) => {
      this.log.error(
        { dpid: dpidText(dpid), owner, flow: flowText(rec), err: e.message },
        're-installing a lost flow failed (the next reconcile retries)',
      );
      if (e instanceof SwitchError) this.emit('flowNotRestored', dpid, owner, rec.entry, e);
    });
  };

  /** Epoch time: what the switches' hard timeouts are measured against. */
  readonly clock: Clock;

  constructor(
    private readonly controller: Controller,
    opts: FlowManagerOptions = {},
  ) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.logger ?? controller.log).child({ component: 'flow-manager' });
    this.useBundles = opts.bundles ?? true;
    this.ready = opts.ready ?? Promise.resolve();
    if (opts.reconcileOnConnect ?? true) controller.on('switchUp', this.onSwitchUp);
    controller.on('flowRemoved', this.onFlowRemoved);
  }

  /** Stops following the controller's events. */
  close(): void {
    this.controller.off('switchUp', this.onSwitchUp);
    this.controller.off('flowRemoved', this.onFlowRemoved);
  }

  // ---- owners and desired state (pure updates) ----------------------------------------------------------------

  /** Registers an owner: its flows' cookies carry `id` (1..0xfffe) in their top 16 bits. */
  registerOwner(name: string, id: number): number {
    ownerCookie(id); // validates the id
    const byId = this.ownerNames.get(id);
    if (byId !== undefined && byId !== name) throw new Error(`owner id ${id} is already registered to ${byId}`);
    const byName = this.ownersByName.get(name);
    if (byName !== undefined && byName !== id) throw new Error(`owner ${name} is already registered with id ${byName}`);
    this.ownersByName.set(name, id);
    this.ownerNames.set(id, name);
    return id;
  }

  /** The cookie for an owner's flow, with `low` (48 bits) of the owner's own (e.g. a lease number). */
  cookie(owner: string, low = 0n): bigint {
    return ownerCookie(this.ownerId(owner), low);
  }

  /** Normalises an owner's flow spec (a missing cookie becomes the owner's id with low bits 0). */
  entry(owner: string, spec: FlowSpec): FlowEntry {
    const e = normaliseFlow(spec, this.cookie(owner));
    checkEncodes(e);
    return e;
  }

  setFlows(dpid: bigint, owner: string, specs: readonly FlowSpec[]): void {
    this.desired.setFlows(
      dpid,
      this.ownerId(owner),
      specs.map((s) => this.entry(owner, s)),
    );
  }

  /**
   * Incremental pure update of an owner's flows (no switch traffic; see apply() for that). `sentAt`: the caller
   * sent the added flows to the switch itself (OFPFC_ADD) then, which restarts their hard timeouts.
   */
  updateFlows(dpid: bigint, owner: string, change: { add?: readonly FlowSpec[]; remove?: readonly FlowSpec[] }, sentAt?: number): void {
    const add = (change.add ?? []).map((s) => this.entry(owner, s));
    const remove = (change.remove ?? []).map((s) => flowKey(this.entry(owner, s)));
    this.desired.updateFlows(dpid, this.ownerId(owner), add, remove, sentAt);
  }

  setMeters(dpid: bigint, meters: readonly MeterEntry[]): void {
    this.desired.setMeters(dpid, meters);
  }

  setGroups(dpid: bigint, groups: readonly GroupEntry[]): void {
    this.desired.setGroups(dpid, groups);
  }

  desiredFlows(dpid: bigint, owner?: string): FlowEntry[] {
    if (!this.desired.has(dpid)) return [];
    const ownerId = owner === undefined ? undefined : this.ownerId(owner);
    const out: FlowEntry[] = [];
    for (const r of this.desired.get(dpid).flows.values()) if (ownerId === undefined || r.owner === ownerId) out.push(r.entry);
    return out;
  }

  /** How many flows are desired on a switch, by `label(cookie)` (no entry is built: see desiredFlows). */
  countDesired(dpid: bigint, label: (cookie: bigint) => string): Map<string, number> {
    const by = new Map<string, number>();
    if (!this.desired.has(dpid)) return by;
    for (const r of this.desired.get(dpid).flows.values()) {
      const k = label(r.cookie);
      by.set(k, (by.get(k) ?? 0) + 1);
    }
    return by;
  }

  /** Whether atomic groups go in bundles on the switch's current connection; undefined if not yet tried (or not connected). */
  bundlesSupported(dpid: bigint): boolean | undefined {
    if (!this.useBundles) return false;
    const conn = this.controller.get(dpid);
    return conn ? this.bundleSupport.get(conn) : undefined;
  }

  // ---- reconciliation ---------------------------------------------------------------------------------------------

  /**
   * Makes the switch hold exactly the desired state. Without `owner`: every flow on the switch that no owner
   * desires is stale (the controller owns its switches), and meters and groups are reconciled too. With `owner`:
   * only flows carrying that owner's cookie are read and fixed. Refused messages are reported, not thrown.
   */
  reconcile(dpid: bigint, opts: { owner?: string } = {}): Promise<ReconcileReport> {
    const ownerId = opts.owner === undefined ? undefined : this.ownerId(opts.owner);
    return this.serial(dpid, () => this.reconcileNow(dpid, ownerId));
  }

  private async reconcileNow(dpid: bigint, ownerId: number | undefined): Promise<ReconcileReport> {
    const started = this.clock.now();
    const conn = this.connection(dpid);
    const state = this.desired.get(dpid);
    const full = ownerId === undefined;
    const cookie = full ? 0n : ownerCookie(ownerId);
    const [flows, meters, groups] = await Promise.all([
      conn.multipart<FlowStats>(flowStatsByCookie(cookie, full ? 0n : OWNER_MASK)),
      full
        ? this.readTable<MeterConfig>(conn, { type: 'meterConfigStatsRequest', xid: 0, flags: 0, meterId: OFPM.ALL }, state.meters.size, 'meters')
        : undefined,
      full ? this.readTable<GroupDesc>(conn, { type: 'groupDescStatsRequest', xid: 0, flags: 0 }, state.groups.size, 'groups') : undefined,
    ]);
    const now = this.clock.now();
    const flowDiff = diffFlows(state.flowMap(ownerId), flows);
    // Hard-timeout bookkeeping: learn when present flows were installed; drop desired flows that expired. The
    // entry on the switch times out at (its install) + (its own hard timeout), which after a restart is not the
    // desired entry's (declared with the time left then): `since` is set so that since + the desired hard
    // timeout is that moment, at the earliest (the switch read its duration after `started`). An entry without a
    // hard timeout never times out: its `since` stays unknown.
    for (const { entry, current } of [...flowDiff.unchanged, ...flowDiff.modify]) {
      const rec = state.flows.get(flowKey(entry));
      if (rec && rec.since === undefined && (current.hardTimeout || !entry.hardTimeout)) {
        const installed = started - current.durationSec * 1000 - Math.ceil(current.durationNsec / 1e6);
        rec.since = installed + (current.hardTimeout - entry.hardTimeout) * 1000;
      }
    }
    let expired = 0;
    flowDiff.add = flowDiff.add.filter((e) => {
      const left = remainingHard(state, e, now);
      if (left > 0) return true;
      const key = flowKey(e);
      const rec = state.flows.get(key)!;
      state.flows.delete(key);
      expired++;
      this.emit('flowExpired', dpid, this.ownerName(rec.owner), rec.entry);
      return false;
    });
    const meterDiff = meters && diffMeters(state.meters, meters);
    const groupDiff = groups && diffGroups(state.groups, groups);
    const phases = planPhases({
      flows: flowDiff,
      meters: meterDiff,
      groups: groupDiff,
      currentGroups: groups,
      hardTimeoutFor: (e) => (e.hardTimeout ? Math.ceil(remainingHard(state, e, now)) : 0),
    });
    const failed: ReconcileReport['failed'] = [];
    const installed: FlowEntry[] = [];
    // Before anything is sent: the switch's install times are later, so hard timeouts counted from here end no
    // later than the switch's.
    const at = this.clock.now();
    for (const phase of phases) {
      const errors = await sendAll(
        conn,
        phase.map((p) => p.msg),
      );
      for (const [i, err] of errors) failed.push({ what: phase[i]!.what, error: err.message });
      phase.forEach((p, i) => {
        if (p.entry && !errors.has(i)) installed.push(p.entry);
      });
    }
    // An added entry's hard timeout counts from its sending (unless it was re-added with what it had left); a
    // replaced entry is a fresh one.
    const replaced = new Set(flowDiff.replace.map((p) => p.entry));
    for (const e of installed) {
      const rec = state.flows.get(flowKey(e));
      if (rec && rec === e && (rec.since === undefined || replaced.has(e))) rec.since = at;
    }
    const report: ReconcileReport = {
      dpid: dpidText(dpid),
      added: flowDiff.add.length,
      modified: flowDiff.modify.length + flowDiff.replace.length,
      replaced: flowDiff.replace.length,
      deleted: flowDiff.remove.length,
      unchanged: flowDiff.unchanged.length,
      expired,
      failed,
      durationMs: this.clock.now() - started,
    };
    if (ownerId !== undefined) report.owner = this.ownerName(ownerId);
    if (meterDiff) report.meters = counts(meterDiff);
    if (groupDiff) report.groups = counts(groupDiff);
    this.log[failed.length ? 'warn' : 'info']({ ...report, failed: failed.length ? failed : undefined }, 'reconciled switch');
    this.emit('reconciled', dpid, report);
    return report;
  }

  /** Reads meters or groups; a switch without them (an error) is fine when none are desired. */
  private async readTable<T>(
    conn: FlowConn,
    req: MessageOf<'meterConfigStatsRequest'> | MessageOf<'groupDescStatsRequest'>,
    desired: number,
    what: string,
  ): Promise<T[] | undefined> {
    try {
      return await conn.multipart<T>(req);
    } catch (e) {
      if (e instanceof SwitchError && desired === 0) {
        this.log.debug({ dpid: dpidText(conn.dpid), err: e.message }, `switch does not report ${what}; none desired`);
        return undefined;
      }
      throw e;
    }
  }

  // ---- incremental, atomic changes ----------------------------------------------------------------------------

  /**
   * Adds (or changes) and removes some of an owner's flows on a switch, and on success records them in the
   * desired state. Atomic by default: all or none (a bundle, else barrier + rollback); on failure the switch and
   * the desired state are as before and the promise rejects with an AtomicGroupError (a SwitchError) naming the
   * refused flow-mod. With `atomic: false` the changes the switch took are kept (and recorded) and the first
   * refusal is thrown. A spec that is not valid (RangeError, OfpError) or an identity another owner holds
   * (OwnershipConflictError) rejects too, with nothing applied. The work starts after every earlier operation on
   * the switch; `change`'s arrays are read now, their specs when it starts.
   *
   * `opts.keys`, if given, gets the flow key of each `add` spec pushed to it, in order, once they are validated:
   * the very strings the desired state is keyed by, for an owner that looks its flows up later (a lease's
   * removal) without computing and holding a second copy of each.
   */
  apply(
    dpid: bigint,
    owner: string,
    change: { add?: readonly FlowSpec[]; remove?: readonly FlowSpec[] },
    opts: { atomic?: boolean; keys?: string[]; rearm?: boolean } = {},
  ): Promise<ApplyResult> {
    const ownerId = this.ownerId(owner);
    const add = change.add ? change.add.slice() : [];
    const remove = change.remove ? change.remove.slice() : [];
    const atomic = opts.atomic ?? true;
    const keysOut = opts.keys;
    return this.serial(dpid, async () => {
      try {
        const r = await this.applyNow(dpid, ownerId, add, remove, atomic, keysOut, opts.rearm ?? false);
        this.log.debug({ dpid: dpidText(dpid), owner, ...r }, 'applied flow changes');
        return r;
      } catch (e) {
        this.log.warn({ dpid: dpidText(dpid), owner, atomic, err: (e as Error).message }, 'flow changes refused');
        throw e;
      }
    });
  }

  private async applyNow(
    dpid: bigint,
    ownerId: number,
    addSpecs: FlowSpec[],
    removeSpecs: FlowSpec[],
    atomic: boolean,
    keysOut: string[] | undefined,
    rearm: boolean,
  ): Promise<ApplyResult> {
    const conn = this.connection(dpid);
    const cookie = ownerCookie(ownerId);
    if (atomic && !rearm && removeSpecs.length === 0 && this.useBundles && this.bundleSupport.get(conn) === true) {
      return this.applyStreaming(conn, dpid, ownerId, addSpecs, cookie, keysOut);
    }
    // Everything is validated and keyed before anything is sent.
    const add = keyedEntries(addSpecs, cookie);
    const remove = keyedEntries(removeSpecs, cookie);
    if (keysOut) for (const k of add.keys) keysOut.push(k);
    const state = this.desired.get(dpid);
    const now = this.clock.now();
    // The final wish per identity: an add wins over a remove of the same entry (in the remove's place).
    const adds = new Map<string, FlowEntry>();
    for (let i = 0; i < add.entries.length; i++) adds.set(add.keys[i]!, add.entries[i]!);
    const removes = new Map<string, FlowEntry>();
    for (let i = 0; i < remove.entries.length; i++) removes.set(remove.keys[i]!, remove.entries[i]!);
    const result: ApplyResult = { path: 'none', added: 0, modified: 0, deleted: 0, unchanged: 0 };
    const steps: Step[] = [];
    const changes: Step[] = [];
    const plan = (key: string, want: FlowEntry | null, identity: FlowEntry): void => {
      const prev = state.flows.get(key);
      if (prev && prev.owner !== ownerId) {
        throw new OwnershipConflictError(`flow ${flowText(identity)} belongs to owner ${this.ownerName(prev.owner)}, not ${this.ownerName(ownerId)}`);
      }
      let kind: StepKind;
      if (want === null) kind = 'delete';
      else if (!prev) kind = 'add';
      else kind = compareFlow(want, prev);
      // Re-armed: sent again as an add, which replaces the entry with its hard timeout restarting and its
      // counters kept (OF1.3.5 §6.4, without OFPFF_RESET_COUNTS), even where nothing else changed.
      if (rearm && want !== null && kind !== 'add') kind = 'replace';
      const step = new Step(key, want, identity, kind, prev, ownerId, now);
      steps.push(step);
      if (kind === 'unchanged') result.unchanged++;
      else {
        changes.push(step);
        if (kind === 'delete') result.deleted++;
        else if (kind === 'add') result.added++;
        else result.modified++;
      }
    };
    for (const [key, e] of removes) {
      const instead = adds.get(key);
      plan(key, instead ?? null, instead ?? e);
    }
    for (const [key, e] of adds) if (!removes.has(key)) plan(key, e, e);
    if (changes.length === 0) {
      this.record(state, ownerId, steps, new Set(), now);
      return result;
    }
    // A switch may send the flow-removed of our deletes before the barrier reply, while they are still desired.
    const deleting = new Set<string>();
    for (const c of changes) if (c.kind === 'delete') deleting.add(c.key);
    if (deleting.size > 0) this.deleting.set(dpid, deleting);
    try {
      if (!atomic) {
        result.path = 'plain';
        const errors = await sendAll(
          conn,
          changes.map((c) => c.msg),
        );
        const refused = new Set<Step>([...errors.keys()].map((i) => changes[i]!));
        this.record(state, ownerId, steps, refused, now);
        const first = [...errors.entries()].sort((a, b) => a[0] - b[0])[0];
        if (first) throw first[1];
        return result;
      }
      result.path = await this.applyAtomic(conn, changes);
      this.record(state, ownerId, steps, new Set(), now);
      return result;
    } finally {
      if (this.deleting.get(dpid) === deleting) this.deleting.delete(dpid);
    }
  }

  /**
   * Applies changes to several switches, on all of them or on none (controller/cross-switch.ts): every switch
   * prepares its part at once (a closed ONF bundle, or staged flows that cannot match where it has no bundles),
   * then the parts are committed one after another in the order of `changes`, or stage by stage where they say so
   * (SwitchChange.stage; a switch may have a part in two stages, not two in one). Every spec is validated, and every identity checked against other owners, before anything is sent. Resolves what
   * changed where. Rejects with a CrossSwitchRefusedError (a SwitchError naming the switch and the refused
   * flow-mod) or a CrossSwitchAbortedError (a switch lost or silent); then the change is on no switch (undone
   * where it had been committed) and the desired state is as before. Each switch's other operations wait.
   */
  applyAcross(changes: readonly SwitchChange[]): Promise<CrossSwitchResult> {
    let work: AcrossWork[];
    try {
      const seen = new Set<string>();
      work = changes.map((c, i) => {
        // A switch may take part twice, in two stages (its own bundle each), never twice in one.
        const at = `${c.dpid}/${c.stage ?? i}`;
        if (seen.has(at)) throw new Error(`switch ${dpidText(c.dpid)} is given twice in one stage of a cross-switch change`);
        seen.add(at);
        return {
          dpid: c.dpid,
          stage: c.stage,
          ownerId: this.ownerId(c.owner),
          add: c.add?.slice() ?? [],
          remove: c.remove?.slice() ?? [],
          groups: c.groups?.slice() ?? [],
        };
      });
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    return this.serialAll([...new Set(work.map((w) => w.dpid))], () => this.applyAcrossNow(work));
  }

  private async applyAcrossNow(work: AcrossWork[]): Promise<CrossSwitchResult> {
    const now = this.clock.now();
    const plans = work.map((w) => this.planAcross(w, now)); // a bad spec or a conflict throws before anything is sent
    const parts = plans.map((p) => new SwitchPart(p.dpid, p.conn, p.changes, this.useBundles ? this.bundleSupport.get(p.conn) : false));
    // One set per switch, shared by its parts (a switch may take part in two stages).
    const deleting = new Map<bigint, Set<string>>();
    for (const p of plans) {
      if (p.deleting.size === 0) continue;
      const all = deleting.get(p.dpid) ?? new Set<string>();
      for (const k of p.deleting) all.add(k);
      deleting.set(p.dpid, all);
    }
    for (const [dpid, keys] of deleting) this.deleting.set(dpid, keys);
    try {
      const timing = await commitAcross(
        parts,
        work.map((w, i) => w.stage ?? i),
      );
      for (const p of plans) {
        this.record(p.state, p.ownerId, p.steps, new Set(), now);
        for (const g of p.groups) {
          if (g.command === 'delete') p.state.groups.delete(g.group.groupId);
          else p.state.groups.set(g.group.groupId, g.group);
        }
      }
      const switches = plans.map((p, i) => ({ dpid: p.dpid, path: parts[i]!.path ?? ('none' as const), ...p.counts }));
      this.log.debug({ switches: switches.map((x) => ({ ...x, dpid: dpidText(x.dpid) })), ...timing }, 'applied a cross-switch change');
      return { switches, ...timing };
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'cross-switch change refused');
      // Switches that may hold part of the change: brought back to the desired state once this change has ended.
      if (isCrossFailure(e)) for (const d of e.uncertain) if (this.controller.get(d)) void this.reconcile(d).catch(() => undefined);
      throw e;
    } finally {
      parts.forEach((part, i) => {
        if (part.bundles !== undefined) this.bundleSupport.set(plans[i]!.conn, part.bundles);
      });
      for (const [dpid, keys] of deleting) if (this.deleting.get(dpid) === keys) this.deleting.delete(dpid);
    }
  }

  /** One switch's part of applyAcross(): its steps as apply() plans them, and the messages to send, in order. */
  private planAcross(w: AcrossWork, now: number): AcrossPlan {
    const conn = this.connection(w.dpid);
    const cookie = ownerCookie(w.ownerId);
    const add = keyedEntries(w.add, cookie);
    const remove = keyedEntries(w.remove, cookie);
    const state = this.desired.get(w.dpid);
    // The final wish per identity: an add wins over a remove of the same entry (in the remove's place).
    const wants = new Map<string, [FlowEntry | null, FlowEntry]>();
    remove.keys.forEach((k, i) => wants.set(k, [null, remove.entries[i]!]));
    add.keys.forEach((k, i) => wants.set(k, [add.entries[i]!, add.entries[i]!]));
    const counts = { added: 0, modified: 0, deleted: 0, unchanged: 0 };
    const steps: Step[] = [];
    const flows: CrossChange[] = [];
    const deleting = new Set<string>();
    for (const [key, [want, identity]] of wants) {
      const prev = state.flows.get(key);
      if (prev && prev.owner !== w.ownerId) {
        throw new OwnershipConflictError(
          `flow ${flowText(identity)} belongs to owner ${this.ownerName(prev.owner)}, not ${this.ownerName(w.ownerId)}`,
        );
      }
      const kind: StepKind = want === null ? 'delete' : prev ? compareFlow(want, prev.entry) : 'add';
      const step = new Step(key, want, identity, kind, prev, w.ownerId, now);
      steps.push(step);
      if (kind === 'unchanged') counts.unchanged++;
      else {
        if (kind === 'delete') {
          counts.deleted++;
          deleting.add(key);
        } else if (kind === 'add') counts.added++;
        else counts.modified++;
        flows.push({ msg: step.msg, undo: step.undo, what: step.what, installs: want ?? undefined });
      }
    }
    const groupsBefore = w.groups.filter((g) => g.command !== 'delete').map((g) => groupChange(g, state.groups.get(g.group.groupId)));
    const groupsAfter = w.groups.filter((g) => g.command === 'delete').map((g) => groupChange(g, state.groups.get(g.group.groupId)));
    return {
      dpid: w.dpid,
      conn,
      ownerId: w.ownerId,
      state,
      steps,
      counts,
      deleting,
      groups: w.groups,
      changes: [...groupsBefore, ...flows, ...groupsAfter],
    };
  }

  /**
   * Puts a desired flow the switch lost back on it, with the hard timeout it has left (the desired record keeps
   * its install time: the flow still ends when it was meant to). Nothing if it stopped being desired meanwhile.
   */
  private reinstall(dpid: bigint, key: string, desired: FlowRecord): Promise<void> {
    return this.serial(dpid, async () => {
      const state = this.desired.get(dpid);
      const rec = state.flows.get(key);
      if (!rec || rec !== desired) return;
      const conn = this.connection(dpid);
      const sent = this.clock.now();
      const left = remainingHard(state, rec, sent);
      if (left <= 0) return; // its time ran out meanwhile: the next reconcile sees it expired
      const errors = await sendAll(conn, [addFlowMsg(rec, rec.hardTimeout ? Math.ceil(left) : 0)]);
      if (errors.size > 0) throw [...errors.values()][0]!;
      rec.since ??= sent;
    });
  }

  /**
   * An atomic group of adds on a switch known to take bundles: each spec is validated, keyed, compared with the
   * desired state and, if it changes something, sent into the bundle at once, so that the switch works on the
   * first flow-mods while the rest are still being prepared (a large group takes about as long as the switch
   * needs, not our preparation plus that). Anything wrong on our side midway (a bad spec, another owner's
   * identity) discards the bundle: nothing is applied, as if it had been found before sending. An identity given
   * twice: the last spec wins, in the first one's place (its flow-mod follows the first in the bundle).
   */
  private async applyStreaming(
    conn: FlowConn,
    dpid: bigint,
    ownerId: number,
    specs: FlowSpec[],
    cookie: bigint,
    keysOut: string[] | undefined,
  ): Promise<ApplyResult> {
    const state = this.desired.get(dpid);
    const now = this.clock.now();
    const planned = new Map<string, Step>();
    let bundle: BundleSession | undefined;
    try {
      for (const spec of specs) {
        const e = normaliseFlow(spec, cookie);
        const key = flowKey(e); // (encodes the match: validates it)
        checkInstructions(e);
        keysOut?.push(key);
        const prev = state.flows.get(key);
        if (prev && prev.owner !== ownerId) {
          throw new OwnershipConflictError(`flow ${flowText(e)} belongs to owner ${this.ownerName(prev.owner)}, not ${this.ownerName(ownerId)}`);
        }
        let kind: StepKind = prev ? compareFlow(e, prev) : 'add';
        // The same identity again, after a change to it went into the bundle: put the entry back as this one says.
        if (kind === 'unchanged' && (planned.get(key)?.kind ?? 'unchanged') !== 'unchanged') kind = 'replace';
        const step = new Step(key, e, e, kind, prev, ownerId, now);
        planned.set(key, step);
        if (kind === 'unchanged') continue;
        bundle ??= new BundleSession(conn);
        const pause = bundle.add(step);
        if (pause) await pause;
      }
    } catch (err) {
      await bundle?.discard();
      throw err;
    }
    const steps = [...planned.values()];
    const result: ApplyResult = { path: 'none', added: 0, modified: 0, deleted: 0, unchanged: 0 };
    for (const st of steps) {
      if (st.kind === 'add') result.added++;
      else if (st.kind === 'unchanged') result.unchanged++;
      else result.modified++;
    }
    if (bundle) {
      if (await bundle.commit()) {
        result.path = 'bundle';
      } else {
        // The OPEN refused as unknown on a connection that took bundles before: no bundles from now on.
        this.bundleSupport.set(conn, false);
        this.log.info({ dpid: dpidText(conn.dpid) }, 'switch refused a bundle: atomic groups use barrier + rollback on this connection');
        await applyWithRollback(
          conn,
          steps.filter((st) => st.kind !== 'unchanged'),
        );
        result.path = 'fallback';
      }
    }
    this.record(state, ownerId, steps, new Set(), now);
    return result;
  }

  private async applyAtomic(conn: FlowConn, changes: Change[]): Promise<AtomicPath> {
    const known = this.bundleSupport.get(conn);
    if (this.useBundles && known !== false) {
      let took: boolean;
      try {
        // Once the connection has taken a bundle, the OPEN need not be answered before the adds go out.
        took = await applyInBundle(conn, changes, { pipelined: known === true });
      } catch (e) {
        if (e instanceof AtomicGroupError) this.bundleSupport.set(conn, true); // the switch took the bundle, refused a change
        throw e;
      }
      this.bundleSupport.set(conn, took);
      if (took) return 'bundle';
      this.log.info({ dpid: dpidText(conn.dpid) }, 'switch refused a bundle: atomic groups use barrier + rollback on this connection');
    }
    await applyWithRollback(conn, changes);
    return 'fallback';
  }

  /** Records in the desired state the steps whose change the switch took (all but `refused`). */
  private record(state: SwitchDesiredState, ownerId: number, steps: Step[], refused: Set<Step>, now: number): void {
    for (const step of steps) {
      if (refused.has(step)) continue;
      const { key, want } = step;
      const prev = state.flows.get(key);
      if (want === null) {
        state.flows.delete(key);
        continue;
      }
      // An unchanged or modified entry is the same switch entry: it still ends when it did (a different hard
      // timeout in `want` was not sent); a new or replaced (re-added) one starts now.
      const kept = step.kind === 'unchanged' || step.kind === 'modify';
      const same = kept && prev !== undefined && prev.cookie === want.cookie && prev.flags === want.flags;
      state.flows.set(key, new FlowRecord(want, key, ownerId, same ? sameEnd(prev, want) : now));
    }
  }

  // ---- plumbing ------------------------------------------------------------------------------------------------

  private connection(dpid: bigint): FlowConn {
    const conn = this.controller.get(dpid);
    if (!conn || conn.isClosed()) throw new SwitchNotConnectedError(dpid);
    return conn;
  }

  private ownerId(name: string): number {
    const id = this.ownersByName.get(name);
    if (id === undefined) throw new Error(`unknown flow owner ${JSON.stringify(name)} (registerOwner first)`);
    return id;
  }

  private ownerName(id: number): string {
    return this.ownerNames.get(id) ?? `owner-${id}`;
  }

  /**
   * Runs `fn` after every earlier operation on each of `dpids` has settled, holding all of them until it ends.
   * It takes its place in every queue at once, so two such runs over the same switches cannot wait on each other.
   */
  private serialAll<T>(dpids: readonly bigint[], fn: () => Promise<T>): Promise<T> {
    const run = Promise.all(dpids.map((d) => this.queues.get(d) ?? Promise.resolve())).then(fn);
    const tail = run.catch(() => undefined);
    for (const d of dpids) {
      this.queues.set(d, tail);
      void tail.then(() => {
        if (this.queues.get(d) === tail) this.queues.delete(d);
      });
    }
    return run;
  }

  /** Runs `fn` after every earlier operation on the same switch has settled. */
  private serial<T>(dpid: bigint, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(dpid) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.queues.set(dpid, tail);
    void tail.then(() => {
      if (this.queues.get(dpid) === tail) this.queues.delete(dpid);
    });
    return run;
  }
}

/**
 * Why a flow-removed for a desired flow is not its expiry (undefined when it is): only a timeout the flow has, and
 * for a hard timeout only once it can have run out (its install time unknown: not yet, the flow is kept).
 */
function lossReason(rec: FlowRecord, reason: number, now: number): string | undefined {
  const e = rec;
  if (reason === OFPRR.IDLE_TIMEOUT) return e.idleTimeout ? undefined : 'idle timeout on a flow without one';
  if (reason === OFPRR.HARD_TIMEOUT) {
    if (!e.hardTimeout) return 'hard timeout on a flow without one';
    if (rec.since === undefined) return 'hard timeout before the flow was known installed';
    const early = rec.since + e.hardTimeout * 1000 - now;
    return early > HARD_TIMEOUT_TOLERANCE_MS ? `hard timeout ${Math.ceil(early / 1000)} s before its time` : undefined;
  }
  if (reason === OFPRR.DELETE) return 'deleted, but not by us';
  if (reason === OFPRR.GROUP_DELETE) return 'removed with a group';
  return `removed (reason ${reason})`;
}

/** One switch's part of an applyAcross(), as given. */
interface AcrossWork {
  dpid: bigint;
  stage: number | undefined;
  ownerId: number;
  add: FlowSpec[];
  remove: FlowSpec[];
  groups: GroupChange[];
}

/** One switch's part of an applyAcross(), planned. */
interface AcrossPlan {
  dpid: bigint;
  conn: FlowConn;
  ownerId: number;
  state: SwitchDesiredState;
  steps: Step[];
  counts: Counts;
  /** The flow keys the change deletes (their flow-removed is ours). */
  deleting: Set<string>;
  groups: GroupChange[];
  changes: CrossChange[];
}

/** Normalised entries and their flow keys, index by index. */
interface KeyedEntries {
  entries: FlowEntry[];
  keys: string[];
}

/**
 * Normalises specs (a missing cookie becomes `cookie`) and keys them. What entry() checks is checked here too:
 * the key's encoding of the match validates it, checkInstructions the instructions; both throw for what the codec
 * cannot encode, so a bad spec fails before anything is sent.
 */
function keyedEntries(specs: readonly FlowSpec[] | undefined, cookie: bigint): KeyedEntries {
  const n = specs?.length ?? 0;
  const out: KeyedEntries = { entries: new Array<FlowEntry>(n), keys: new Array<string>(n) };
  for (let i = 0; i < n; i++) {
    const e = normaliseFlow(specs![i]!, cookie);
    out.keys[i] = flowKey(e);
    checkInstructions(e);
    out.entries[i] = e;
  }
  return out;
}

function counts<T>(d: TableDiff<T>): Counts {
  return { added: d.add.length, modified: d.modify.length, deleted: d.remove.length, unchanged: d.unchanged.length };
}

/** Seconds of hard timeout a desired flow has left (Infinity if it has none, full if its install time is unknown). */
function remainingHard(state: SwitchDesiredState, e: FlowEntry, now: number): number {
  if (!e.hardTimeout) return Infinity;
  const since = state.flows.get(flowKey(e))?.since;
  return since === undefined ? e.hardTimeout : e.hardTimeout - (now - since) / 1000;
}

/** The hard timeout to restore a flow with after a failed group (what it had left, at least 1 s). */
function restoreHard(rec: FlowRecord, now: number): number {
  if (!rec.hardTimeout || rec.since === undefined) return rec.hardTimeout;
  return Math.max(1, Math.ceil(rec.hardTimeout - (now - rec.since) / 1000));
}

type StepKind = 'add' | 'delete' | 'unchanged' | FlowVerdict;

/**
 * One identity an apply() touches and the change it needs ('unchanged': none, the switch has it right). It is the
 * Change sent for it, built lazily: an atomic group of 100k flows should not hold 100k undo messages and texts it
 * will most likely never use (and the garbage collector should not have to move them).
 */
class Step implements Change {
  constructor(
    readonly key: string,
    readonly want: FlowEntry | null,
    private readonly identity: FlowEntry,
    readonly kind: StepKind,
    private readonly prev: FlowRecord | undefined,
    private readonly ownerId: number,
    private readonly now: number,
  ) {}

  get msg(): OfpMessage {
    const { want, prev } = this;
    switch (this.kind) {
      case 'delete':
        // The known entry exactly; else whatever of this owner's is there (nothing to restore then).
        // (The identity's match, not the record's: the same entry, and it needs no reading back from the key.)
        return prev ? deleteFlowMsg(this.identity, prev.cookie) : deleteFlowMsg(this.identity, ownerCookie(this.ownerId), OWNER_MASK);
      case 'modify':
        return modifyFlowMsg(want!);
      default:
        return addFlowMsg(want!); // add, replace (and unchanged, never sent)
    }
  }

  get undo(): OfpMessage[] {
    const { want, prev } = this;
    switch (this.kind) {
      case 'add':
        return [deleteFlowMsg(want!, want!.cookie)];
      case 'modify':
        return [modifyFlowMsg(prev!)];
      case 'unchanged':
        return [];
      default:
        return prev ? [addFlowMsg(prev, restoreHard(prev, this.now))] : []; // delete, replace
    }
  }

  get what(): string {
    switch (this.kind) {
      case 'delete':
        return `delete flow ${flowText(this.prev ?? this.identity)}`;
      case 'unchanged':
        return `keep flow ${flowText(this.want!)}`;
      default:
        return `${this.kind} flow ${flowText(this.want!)}`;
    }
  }
}
