// Flow ownership and reconciliation. Apps declare, per switch, the flows they want (each tagged with a cookie
// naming its owner), and the meters and groups; the manager makes each switch hold exactly that: on connect, on
// reconnect and on demand it reads the switch's tables, deletes what is stale, adds what is missing and leaves
// correct flows alone (no cold start, no gap in forwarding, durations and counters keep running). Incremental
// changes (a lease's flows) go through apply(), atomically by default.
//
// Every operation on a switch is serialised per datapath, so a reconcile never interleaves with an apply.
import { EventEmitter } from 'node:events';
import type { Controller } from './controller.js';
import type { SwitchConnection } from './switch-connection.js';
import type { Logger } from './log.js';
import { dpidText, SwitchError } from './errors.js';
import { OFPTT, OFPP, OFPG, OFPM, OFPRR, type MessageOf } from './openflow/index.js';
import type { FlowStats } from './openflow/multipart/flow.js';
import type { MeterConfig } from './openflow/multipart/meter-config.js';
import type { GroupDesc } from './openflow/multipart/group-desc.js';
import {
  type FlowEntry, type FlowSpec, type MeterEntry, type GroupEntry,
  normaliseFlow, flowKey, ownerCookie, checkEncodes, flowText, OWNER_MASK, OWNER_SHIFT,
} from './flow-entry.js';
import { DesiredState, OwnershipConflictError, type SwitchDesiredState } from './desired-state.js';
import {
  diffFlows, diffMeters, diffGroups, planPhases, compareFlow, addFlowMsg, modifyFlowMsg, deleteFlowMsg,
  type TableDiff,
} from './reconcile.js';
import { applyInBundle, applyWithRollback, sendAll, AtomicGroupError, type Change, type FlowConn, type AtomicPath } from './atomic.js';

export interface FlowManagerOptions {
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

export interface Counts { added: number; modified: number; deleted: number; unchanged: number }

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

export interface ApplyResult { path: AtomicPath | 'plain' | 'none'; added: number; modified: number; deleted: number; unchanged: number }

export interface FlowManagerEvents {
  reconciled: [bigint, ReconcileReport];
  reconcileError: [bigint, Error];
  /** A desired flow the switch timed out (flow-removed with an idle/hard timeout reason, or hard timeout run out). */
  flowExpired: [bigint, string, FlowEntry];
}

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
  /** Per connection: whether it took a bundle (undefined until tried). */
  private readonly bundleSupport = new WeakMap<FlowConn, boolean>();
  private readonly queues = new Map<bigint, Promise<unknown>>();
  private readonly ready: Promise<unknown>;
  private readonly onSwitchUp = (conn: SwitchConnection): void => {
    // After the current turn, so that apps that declare state in their own switchUp handlers are included.
    setImmediate(() => {
      if (conn.isClosed() || conn.dpid === undefined) return;
      this.ready.then(() => (conn.isClosed() ? undefined : this.reconcile(conn.dpid!))).catch((e: Error) => {
        this.log.error({ dpid: conn.dpidText, err: e.message }, 'reconcile on connect failed');
        this.emit('reconcileError', conn.dpid!, e);
      });
    });
  };
  private readonly onFlowRemoved = (conn: SwitchConnection, msg: MessageOf<'flowRemoved'>): void => {
    if (msg.reason !== OFPRR.IDLE_TIMEOUT && msg.reason !== OFPRR.HARD_TIMEOUT) return;
    if (conn.dpid === undefined || !this.desired.has(conn.dpid)) return;
    const s = this.desired.get(conn.dpid);
    const key = flowKey(msg);
    const rec = s.flows.get(key);
    if (!rec || rec.entry.cookie !== msg.cookie) return;
    s.flows.delete(key);
    this.emit('flowExpired', conn.dpid, this.ownerName(rec.owner), rec.entry);
  };

  constructor(private readonly controller: Controller, opts: FlowManagerOptions = {}) {
    super();
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
    this.desired.setFlows(dpid, this.ownerId(owner), specs.map((s) => this.entry(owner, s)));
  }

  /** Incremental pure update of an owner's flows (no switch traffic; see apply() for that). */
  updateFlows(dpid: bigint, owner: string, change: { add?: readonly FlowSpec[]; remove?: readonly FlowSpec[] }): void {
    const add = (change.add ?? []).map((s) => this.entry(owner, s));
    const remove = (change.remove ?? []).map((s) => flowKey(this.entry(owner, s)));
    this.desired.updateFlows(dpid, this.ownerId(owner), add, remove);
  }

  setMeters(dpid: bigint, meters: readonly MeterEntry[]): void {
    this.desired.setMeters(dpid, meters);
  }

  setGroups(dpid: bigint, groups: readonly GroupEntry[]): void {
    this.desired.setGroups(dpid, groups);
  }

  desiredFlows(dpid: bigint, owner?: string): FlowEntry[] {
    if (!this.desired.has(dpid)) return [];
    return [...this.desired.get(dpid).flowMap(owner === undefined ? undefined : this.ownerId(owner)).values()];
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
    const started = Date.now();
    const conn = this.connection(dpid);
    const state = this.desired.get(dpid);
    const full = ownerId === undefined;
    const cookie = full ? 0n : BigInt(ownerId) << OWNER_SHIFT;
    const [flows, meters, groups] = await Promise.all([
      conn.multipart<FlowStats>({
        type: 'flowStatsRequest', xid: 0, flags: 0, tableId: OFPTT.ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, match: [],
        cookie, cookieMask: full ? 0n : OWNER_MASK,
      }),
      full ? this.readTable<MeterConfig>(conn, { type: 'meterConfigStatsRequest', xid: 0, flags: 0, meterId: OFPM.ALL }, state.meters.size, 'meters') : undefined,
      full ? this.readTable<GroupDesc>(conn, { type: 'groupDescStatsRequest', xid: 0, flags: 0 }, state.groups.size, 'groups') : undefined,
    ]);
    const now = Date.now();
    const flowDiff = diffFlows(state.flowMap(ownerId), flows);
    // Hard-timeout bookkeeping: learn when present flows were installed; drop desired flows that expired.
    for (const { entry, current } of [...flowDiff.unchanged, ...flowDiff.modify]) {
      const rec = state.flows.get(flowKey(entry));
      if (rec && rec.since === undefined) rec.since = now - current.durationSec * 1000 - Math.floor(current.durationNsec / 1e6);
    }
    let expired = 0;
    flowDiff.add = flowDiff.add.filter((e) => {
      const left = remainingHard(state, e, now);
      if (left > 0) return true;
      const key = flowKey(e);
      const rec = state.flows.get(key)!;
      state.flows.delete(key);
      expired++;
      this.emit('flowExpired', dpid, this.ownerName(rec.owner), e);
      return false;
    });
    const meterDiff = meters && diffMeters(state.meters, meters);
    const groupDiff = groups && diffGroups(state.groups, groups);
    const phases = planPhases({
      flows: flowDiff, meters: meterDiff, groups: groupDiff, currentGroups: groups,
      hardTimeoutFor: (e) => (e.hardTimeout ? Math.ceil(remainingHard(state, e, now)) : 0),
    });
    const failed: ReconcileReport['failed'] = [];
    const installed: FlowEntry[] = [];
    for (const phase of phases) {
      const errors = await sendAll(conn, phase.map((p) => p.msg));
      for (const [i, err] of errors) failed.push({ what: phase[i]!.what, error: err.message });
      phase.forEach((p, i) => { if (p.entry && !errors.has(i)) installed.push(p.entry); });
    }
    // An added entry's hard timeout counts from now (unless it was re-added with what it had left); a replaced
    // entry is a fresh one.
    const at = Date.now();
    const replaced = new Set(flowDiff.replace.map((p) => p.entry));
    for (const e of installed) {
      const rec = state.flows.get(flowKey(e));
      if (rec && rec.entry === e && (rec.since === undefined || replaced.has(e))) rec.since = at;
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
      durationMs: Date.now() - started,
    };
    if (ownerId !== undefined) report.owner = this.ownerName(ownerId);
    if (meterDiff) report.meters = counts(meterDiff);
    if (groupDiff) report.groups = counts(groupDiff);
    this.log[failed.length ? 'warn' : 'info']({ ...report, failed: failed.length ? failed : undefined }, 'reconciled switch');
    this.emit('reconciled', dpid, report);
    return report;
  }

  /** Reads meters or groups; a switch without them (an error) is fine when none are desired. */
  private async readTable<T>(conn: FlowConn, req: MessageOf<'meterConfigStatsRequest'> | MessageOf<'groupDescStatsRequest'>, desired: number, what: string): Promise<T[] | undefined> {
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
   * refusal is thrown.
   */
  apply(dpid: bigint, owner: string, change: { add?: readonly FlowSpec[]; remove?: readonly FlowSpec[] }, opts: { atomic?: boolean } = {}): Promise<ApplyResult> {
    const ownerId = this.ownerId(owner);
    const add = (change.add ?? []).map((s) => this.entry(owner, s));
    const remove = (change.remove ?? []).map((s) => this.entry(owner, s));
    const atomic = opts.atomic ?? true;
    return this.serial(dpid, async () => {
      try {
        const r = await this.applyNow(dpid, ownerId, add, remove, atomic);
        this.log.debug({ dpid: dpidText(dpid), owner, ...r }, 'applied flow changes');
        return r;
      } catch (e) {
        this.log.warn({ dpid: dpidText(dpid), owner, atomic, err: (e as Error).message }, 'flow changes refused');
        throw e;
      }
    });
  }

  private async applyNow(dpid: bigint, ownerId: number, add: FlowEntry[], remove: FlowEntry[], atomic: boolean): Promise<ApplyResult> {
    const conn = this.connection(dpid);
    const state = this.desired.get(dpid);
    const now = Date.now();
    // The final wish per identity: an add wins over a remove of the same entry.
    const target = new Map<string, { want: FlowEntry | null; identity: FlowEntry }>();
    for (const e of remove) target.set(flowKey(e), { want: null, identity: e });
    for (const e of add) target.set(flowKey(e), { want: e, identity: e });
    const result: ApplyResult = { path: 'none', added: 0, modified: 0, deleted: 0, unchanged: 0 };
    const steps: Step[] = [];
    for (const [key, { want, identity }] of target) {
      const prev = state.flows.get(key);
      if (prev && prev.owner !== ownerId) {
        throw new OwnershipConflictError(`flow ${flowText(identity)} belongs to owner ${this.ownerName(prev.owner)}, not ${this.ownerName(ownerId)}`);
      }
      const restore = prev ? addFlowMsg(prev.entry, restoreHard(prev, now)) : undefined;
      if (want === null) {
        // The known entry exactly; else whatever of this owner's is there (nothing to restore then).
        const msg = prev ? deleteFlowMsg(prev.entry, prev.entry.cookie) : deleteFlowMsg(identity, BigInt(ownerId) << OWNER_SHIFT, OWNER_MASK);
        steps.push({ key, want, change: { msg, undo: restore ? [restore] : [], what: `delete flow ${flowText(prev?.entry ?? identity)}` } });
        result.deleted++;
      } else if (!prev) {
        steps.push({ key, want, change: { msg: addFlowMsg(want), undo: [deleteFlowMsg(want, want.cookie)], what: `add flow ${flowText(want)}` } });
        result.added++;
      } else {
        const v = compareFlow(want, prev.entry);
        if (v === 'unchanged') {
          steps.push({ key, want });
          result.unchanged++;
          continue;
        }
        const change = v === 'modify'
          ? { msg: modifyFlowMsg(want), undo: [modifyFlowMsg(prev.entry)], what: `modify flow ${flowText(want)}` }
          : { msg: addFlowMsg(want), undo: [restore!], what: `replace flow ${flowText(want)}` };
        steps.push({ key, want, change });
        result.modified++;
      }
    }
    const changes = steps.flatMap((s) => (s.change ? [s.change] : []));
    if (changes.length === 0) {
      this.record(state, ownerId, steps, new Set(), now);
      return result;
    }
    if (!atomic) {
      result.path = 'plain';
      const errors = await sendAll(conn, changes.map((c) => c.msg));
      const refused = new Set([...errors.keys()].map((i) => changes[i]!));
      this.record(state, ownerId, steps, refused, now);
      const first = [...errors.entries()].sort((a, b) => a[0] - b[0])[0];
      if (first) throw first[1];
      return result;
    }
    result.path = await this.applyAtomic(conn, changes);
    this.record(state, ownerId, steps, new Set(), now);
    return result;
  }

  private async applyAtomic(conn: FlowConn, changes: Change[]): Promise<AtomicPath> {
    if (this.useBundles && this.bundleSupport.get(conn) !== false) {
      let took: boolean;
      try {
        took = await applyInBundle(conn, changes);
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
  private record(state: SwitchDesiredState, ownerId: number, steps: Step[], refused: Set<Change>, now: number): void {
    for (const { key, want, change } of steps) {
      if (change && refused.has(change)) continue;
      const prev = state.flows.get(key);
      if (want === null) {
        state.flows.delete(key);
        continue;
      }
      // An unchanged or modified entry is the same switch entry: it keeps its install time; a new or replaced one starts now.
      const same = prev !== undefined && prev.entry.cookie === want.cookie && prev.entry.flags === want.flags;
      state.flows.set(key, { entry: want, owner: ownerId, since: same ? prev.since : now });
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

  /** Runs `fn` after every earlier operation on the same switch has settled. */
  private serial<T>(dpid: bigint, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(dpid) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.queues.set(dpid, tail);
    void tail.then(() => { if (this.queues.get(dpid) === tail) this.queues.delete(dpid); });
    return run;
  }
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
function restoreHard(rec: { entry: FlowEntry; since?: number }, now: number): number {
  if (!rec.entry.hardTimeout || rec.since === undefined) return rec.entry.hardTimeout;
  return Math.max(1, Math.ceil(rec.entry.hardTimeout - (now - rec.since) / 1000));
}

/** One identity an apply() touches, and the change it needs (none if the switch already has it right). */
interface Step { key: string; want: FlowEntry | null; change?: Change }
