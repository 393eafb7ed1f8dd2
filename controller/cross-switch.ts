// A change spread over several switches, applied on all of them or on none (FlowManager.applyAcross).
//
// Prepare, on every switch at once: where the switch has ONF bundles (EXT-230), the changes go into an atomic
// bundle, which is then closed, and a barrier collects the adds' refusals (atomic.ts, BundleSession.prepare);
// where it has none, the flows are staged in a form that cannot match yet (staged-flows.ts). Any refusal or failure
// there: every bundle is discarded and every staged entry deleted, and no switch has changed.
//
// Commit, stage after stage in the caller's order, each waiting for the previous one's replies; the parts of one
// stage commit at once. A switch may have a part in two stages (a bundle, or a staging cookie, each): the DMZ app
// puts every flow that takes packets from a fabric port in the first stage going up and the flows that take them
// into the path (from a host, the WAN or a trunk) in the second, the reverse going down, so that nothing is
// steered into a path before every switch holds its part, in either direction, in two round trips.
//
// A switch can still refuse at commit (Open vSwitch checks that referenced meters and groups exist only then): the
// switches after it are discarded, those before it undone in reverse order (compensating changes: an atomic bundle
// of each change's undo where the switch has bundles), and the caller gets the refusal and the switches undone.
//
// A switch that dies between prepare and commit:
//   - with bundles, its bundle dies with the connection (EXT-230 and OF1.4 §6.8: bundles are per connection);
//   - without, its staged entries stay on it: they match nothing, carry a staging cookie that no owner declares,
//     and a hard timeout of STAGED_HARD_TIMEOUT_S.
// Its commit then fails, so the change is undone where it was committed and the desired state is not changed: when
// the switch reconnects, FlowManager reconciles it against that desired state, which deletes staged entries (not
// desired) and, if the commit did reach it before the connection went, the flows it committed. A switch whose
// commit outcome is unknown (a timeout) or whose undo failed is reconciled as soon as the change has ended.
import { SwitchError, dpidText } from './errors.js';
import {
  BundleSession,
  AtomicGroupError,
  applyInBundle,
  applyWithRollback,
  isBundleUnsupported,
  sendAll,
  type Change,
  type FlowConn,
} from './atomic.js';
import { addFlowMsg, groupMsg } from './reconcile.js';
import { newStagingCookie, stagedEntry, deleteStagedMsg } from './staged-flows.js';
import { OFPGC, format, type OfpMessage } from './openflow/index.js';
import type { FlowEntry, FlowSpec, GroupEntry } from './flow-entry.js';

/** One switch's part of a cross-switch change. */
export interface SwitchChange {
  dpid: bigint;
  owner: string;
  /**
   * When it commits: stages in ascending order, each once the one before has committed on every switch, and the
   * switches of one stage at once. Default: its index in the array (one switch after another, in array order).
   */
  stage?: number;
  add?: readonly FlowSpec[];
  remove?: readonly FlowSpec[];
  /** Group-mods, sent before the flows (adds, modifies) or after them (deletes). */
  groups?: readonly GroupChange[];
}

export interface GroupChange {
  command: 'add' | 'modify' | 'delete';
  /** For a delete, only groupId counts. */
  group: GroupEntry;
}

export type CrossPath = 'bundle' | 'staged';

export interface CrossSwitchResult {
  /** In commit order; `path` 'none' where nothing had to change. */
  switches: { dpid: bigint; path: CrossPath | 'none'; added: number; modified: number; deleted: number; unchanged: number }[];
  /** Time until every switch was prepared, then time of the commits. */
  prepareMs: number;
  commitMs: number;
}

/** A change as sent to one switch, with what a switch without bundles needs to stage it. */
export interface CrossChange extends Change {
  /** The entry the change puts on the switch (an add, modify or replace): staged where there are no bundles. */
  readonly installs?: FlowEntry;
  /** Changes no forwarding until a flow uses it (a new group): where there are no bundles, applied at prepare. */
  readonly inert?: boolean;
}

/** The message, undo and description of a group-mod; `prev` is the group as desired before (for the undo). */
export function groupChange(g: GroupChange, prev: GroupEntry | undefined): CrossChange {
  const id = g.group.groupId;
  switch (g.command) {
    case 'add':
      return { msg: groupMsg(OFPGC.ADD, g.group), undo: [groupMsg(OFPGC.DELETE, g.group)], what: `add group ${id}`, inert: true };
    case 'modify':
      return { msg: groupMsg(OFPGC.MODIFY, g.group), undo: prev ? [groupMsg(OFPGC.MODIFY, prev)] : [], what: `modify group ${id}` };
    default:
      // Undone as far as OpenFlow allows: the group comes back, the flows its delete removed (OF1.3.5 §6.5) do not.
      return { msg: groupMsg(OFPGC.DELETE, g.group), undo: prev ? [groupMsg(OFPGC.ADD, prev)] : [], what: `delete group ${id}` };
  }
}

/** One switch's side of the two phases. */
export class SwitchPart {
  /** How the switch took part; undefined until prepared (and when there was nothing to change). */
  path: CrossPath | undefined;
  private session?: BundleSession;
  private stageCookie?: bigint;
  /** Inert changes applied at prepare (the staged path). */
  private early: CrossChange[] = [];

  constructor(
    readonly dpid: bigint,
    private readonly conn: FlowConn,
    readonly changes: readonly CrossChange[],
    /** Whether the switch takes bundles (undefined: not known yet; preparing finds out). */
    public bundles: boolean | undefined,
  ) {}

  /** Rejects with the refusal (an AtomicGroupError naming the change) or the failure; then nothing of it is left. */
  async prepare(): Promise<void> {
    if (this.changes.length === 0) return;
    if (this.bundles !== false && (await this.prepareBundle())) return;
    await this.prepareStaged();
  }

  /** Rejects as prepare() does; then nothing of this part is applied (a staged switch rolls back what it sent). */
  async commit(): Promise<void> {
    if (this.path === 'bundle') return this.session!.commitPrepared();
    if (this.path !== 'staged') return;
    await this.sendOrThrow([deleteStagedMsg(this.stageCookie!)]);
    try {
      await applyWithRollback(
        this.conn,
        this.changes.filter((c) => !c.inert),
      );
    } catch (e) {
      await this.undoEarly().catch(() => undefined); // a switch gone meanwhile is reconciled when it is back
      throw e;
    }
  }

  /** Drops a prepared part. Never rejects (a switch gone meanwhile has dropped its bundle itself). */
  async discard(): Promise<void> {
    try {
      if (this.path === 'bundle') await this.session!.discard();
      else if (this.path === 'staged') {
        await sendAll(this.conn, [deleteStagedMsg(this.stageCookie!)]);
        await this.undoEarly();
      }
    } catch (e) {
      this.conn.log.warn(
        { dpid: dpidText(this.dpid), err: (e as Error).message },
        'discarding a prepared change failed (the next reconcile removes it)',
      );
    }
  }

  /**
   * Takes back a committed part (a later switch refused its commit): every change's undo, in reverse order, in
   * one atomic bundle where the switch has bundles. Resolves the refusals (empty: the switch is as before).
   */
  async undo(): Promise<SwitchError[]> {
    const msgs: OfpMessage[] = [];
    for (let i = this.changes.length - 1; i >= 0; i--) msgs.push(...this.changes[i]!.undo);
    if (msgs.length === 0) return [];
    if (this.path === 'bundle') {
      try {
        const took = await applyInBundle(
          this.conn,
          msgs.map((msg) => ({ msg, undo: [], what: 'undo' })),
          { pipelined: true },
        );
        if (took) return [];
      } catch (e) {
        if (e instanceof SwitchError) return [e];
        throw e;
      }
    }
    return [...(await sendAll(this.conn, msgs)).values()];
  }

  private async prepareBundle(): Promise<boolean> {
    const s = new BundleSession(this.conn);
    if (this.bundles === undefined) {
      const e = await s.opened();
      if (e !== undefined) {
        s.close();
        if (!isBundleUnsupported(e)) throw e;
        this.bundles = false;
        return false;
      }
    }
    try {
      for (const c of this.changes) {
        const p = s.add(c);
        if (p) await p;
      }
    } catch (e) {
      await s.discard();
      throw e;
    }
    try {
      this.bundles = await s.prepare({ close: true });
    } catch (e) {
      if (e instanceof AtomicGroupError) this.bundles = true; // it took the bundle and refused a change
      throw e;
    }
    if (!this.bundles) return false; // an OPEN sent pipelined was refused as unknown: nothing was applied
    this.session = s;
    this.path = 'bundle';
    return true;
  }

  private async prepareStaged(): Promise<void> {
    this.path = 'staged';
    const cookie = (this.stageCookie = newStagingCookie());
    // Inert changes first (a staged entry may use a new group), each batch behind its barrier (OF1.3.5 §6.2).
    const early = this.changes.filter((c) => c.inert);
    if (early.length) {
      const errors = await sendAll(
        this.conn,
        early.map((c) => c.msg),
      );
      this.early = early.filter((_, i) => !errors.has(i));
      if (errors.size) {
        await this.discard();
        throw this.refusal(errors, early);
      }
    }
    const staged = this.changes.filter((c) => !c.inert && c.installs);
    const errors = await sendAll(
      this.conn,
      staged.map((c) => addFlowMsg(stagedEntry(c.installs!, cookie))),
    );
    if (errors.size) {
      await this.discard();
      throw this.refusal(errors, staged);
    }
  }

  private async undoEarly(): Promise<void> {
    const msgs: OfpMessage[] = [];
    for (let i = this.early.length - 1; i >= 0; i--) msgs.push(...this.early[i]!.undo);
    this.early = [];
    if (msgs.length) await sendAll(this.conn, msgs);
  }

  private async sendOrThrow(msgs: OfpMessage[]): Promise<void> {
    const errors = await sendAll(this.conn, msgs);
    const first = [...errors.values()][0];
    if (first) throw first;
  }

  /** The first refused change, as an AtomicGroupError naming it (the real change, not its staged form). */
  private refusal(errors: Map<number, SwitchError>, changes: readonly CrossChange[]): AtomicGroupError {
    const i = Math.min(...errors.keys());
    const c = changes[i]!;
    return new AtomicGroupError(errors.get(i)!, c.msg, this.changes.indexOf(c), `${c.what}, staged`, 'fallback');
  }
}

export type CrossPhase = 'prepare' | 'commit';

/** What every cross-switch failure tells: where it stopped and what was taken back. */
export interface CrossFailure {
  readonly phase: CrossPhase;
  /** The switch whose refusal or failure stopped the change. */
  readonly failedDpid: bigint;
  /** Switches that had committed, then were undone (in the order they were undone). */
  readonly undone: readonly bigint[];
  /** Switches whose undo was refused or failed, with why: they hold (part of) the change until reconciled. */
  readonly undoFailures: readonly { dpid: bigint; error: Error }[];
  /** Switches whose table may differ from the desired state: the failed one if its commit's outcome is unknown, and those whose undo failed. */
  readonly uncertain: readonly bigint[];
}

function outcome(f: Omit<CrossFailure, 'uncertain'>, failedUncertain: boolean, total: number): string {
  if (f.phase === 'prepare') return `while preparing; nothing applied on any of ${total} switches`;
  const undone = f.undone.length ? `undone on ${f.undone.map(dpidText).join(', ')}` : 'nothing committed before it';
  const left = f.undoFailures.length ? `; undo failed on ${f.undoFailures.map((u) => dpidText(u.dpid)).join(', ')} (reconciling)` : '';
  return `at commit; ${undone}${left}${failedUncertain ? '; its own outcome unknown (reconciling)' : ''}`;
}

/** Where a change stopped and what was taken back, as the errors below carry it. */
interface Stopped {
  phase: CrossPhase;
  failedDpid: bigint;
  undone: bigint[];
  undoFailures: { dpid: bigint; error: Error }[];
  uncertain: bigint[];
  total: number;
}

/** A switch refused its part: a SwitchError (the switch's error type and code) naming the switch and the change. */
export class CrossSwitchRefusedError extends SwitchError implements CrossFailure {
  readonly phase: CrossPhase;
  readonly failedDpid: bigint;
  readonly undone: readonly bigint[];
  readonly undoFailures: readonly { dpid: bigint; error: Error }[];
  readonly uncertain: readonly bigint[];
  /** The refused message as ovs-ofctl would print it (e.g. `ADD priority=10,in_port=3 ... actions=group:99`). */
  readonly refused: string | undefined;
  constructor(
    readonly refusal: SwitchError,
    readonly what: string | undefined,
    at: Stopped,
  ) {
    super(refusal.dpid ?? at.failedDpid, refusal.errType, refusal.code, refusal.request, refusal.data);
    this.name = 'CrossSwitchRefusedError';
    ({ phase: this.phase, failedDpid: this.failedDpid, undone: this.undone, undoFailures: this.undoFailures, uncertain: this.uncertain } = at);
    this.refused = refusal.request && format(refusal.request).replace(/^.*?\): /, '');
    const detail = [what, this.refused].filter(Boolean).join(': ');
    this.message = `${this.message}${detail ? ` (${detail})` : ''}, ${outcome(at, false, at.total)}`;
  }
}

/** A switch failed its part without refusing it (connection lost, no answer in time). */
export class CrossSwitchAbortedError extends Error implements CrossFailure {
  readonly phase: CrossPhase;
  readonly failedDpid: bigint;
  readonly undone: readonly bigint[];
  readonly undoFailures: readonly { dpid: bigint; error: Error }[];
  readonly uncertain: readonly bigint[];
  constructor(
    override readonly cause: Error,
    at: Stopped,
  ) {
    super(`switch ${dpidText(at.failedDpid)} failed: ${cause.message}, ${outcome(at, at.uncertain.includes(at.failedDpid), at.total)}`);
    this.name = 'CrossSwitchAbortedError';
    ({ phase: this.phase, failedDpid: this.failedDpid, undone: this.undone, undoFailures: this.undoFailures, uncertain: this.uncertain } = at);
  }
}

export function isCrossFailure(e: unknown): e is CrossFailure & Error {
  return e instanceof CrossSwitchRefusedError || e instanceof CrossSwitchAbortedError;
}

function failure(e: unknown, at: Stopped): Error {
  if (e instanceof SwitchError) return new CrossSwitchRefusedError(e, e instanceof AtomicGroupError ? e.what : undefined, at);
  return new CrossSwitchAbortedError(e instanceof Error ? e : new Error(String(e)), at);
}

/** Undoes committed parts one after another, in the order given. */
async function undoAll(parts: readonly SwitchPart[]): Promise<Pick<Stopped, 'undone' | 'undoFailures'>> {
  const undone: bigint[] = [];
  const undoFailures: { dpid: bigint; error: Error }[] = [];
  for (const p of parts) {
    if (p.path === undefined) continue; // it had nothing to change
    undone.push(p.dpid);
    try {
      const refused = await p.undo();
      if (refused.length) undoFailures.push({ dpid: p.dpid, error: refused[0]! });
    } catch (u) {
      undoFailures.push({ dpid: p.dpid, error: u as Error });
    }
  }
  return { undone, undoFailures };
}

/**
 * Prepares every part at once, then commits them stage by stage: the parts of a stage at once, each stage once
 * the one before has committed everywhere (`stages[i]`: part i's stage; by default its index, so one part after
 * another in array order). Resolves the two phases' durations; rejects with a CrossSwitchRefusedError or
 * CrossSwitchAbortedError (see the top of this file for what is left where).
 */
export async function commitAcross(parts: readonly SwitchPart[], stages?: readonly number[]): Promise<{ prepareMs: number; commitMs: number }> {
  const t0 = performance.now();
  const total = parts.length;
  const prepared = await Promise.allSettled(parts.map((p) => p.prepare()));
  const refused = prepared.findIndex((r) => r.status === 'rejected');
  if (refused >= 0) {
    await Promise.all(parts.filter((_, i) => prepared[i]!.status === 'fulfilled').map((p) => p.discard()));
    const reason: unknown = (prepared[refused] as PromiseRejectedResult).reason;
    throw failure(reason, { phase: 'prepare', failedDpid: parts[refused]!.dpid, undone: [], undoFailures: [], uncertain: [], total });
  }
  const t1 = performance.now();
  const stageOf = (i: number) => stages?.[i] ?? i;
  const order = [...new Set(parts.map((_, i) => stageOf(i)))].sort((a, b) => a - b).map((s) => parts.filter((_, i) => stageOf(i) === s));
  const committed: SwitchPart[] = [];
  for (let k = 0; k < order.length; k++) {
    const stage = order[k]!;
    const results = await Promise.allSettled(stage.map((p) => p.commit()));
    const failed: { part: SwitchPart; reason: unknown }[] = [];
    results.forEach((r, i) => (r.status === 'fulfilled' ? committed.push(stage[i]!) : failed.push({ part: stage[i]!, reason: r.reason })));
    if (failed.length === 0) continue;
    await Promise.all(
      order
        .slice(k + 1)
        .flat()
        .map((p) => p.discard()),
    );
    const { undone, undoFailures } = await undoAll(committed.reverse());
    // A commit that failed without a refusal (connection lost, timeout) may or may not have been applied.
    const lost = failed.filter((f) => !(f.reason instanceof SwitchError)).map((f) => f.part.dpid);
    const uncertain = [...lost, ...undoFailures.map((u) => u.dpid)];
    throw failure(failed[0]!.reason, { phase: 'commit', failedDpid: failed[0]!.part.dpid, undone, undoFailures, uncertain, total });
  }
  return { prepareMs: t1 - t0, commitMs: performance.now() - t1 };
}
