// Sending groups of changes to a switch and learning which ones it refused; atomic groups of flow-mods.
//
// An atomic group is applied all or none. Where the switch supports them it goes in an ONF EXT-230 bundle
// (OF1.3's extension, what Open vSwitch implements; OF1.4 §6.8 standardised it) opened with OFPBF_ATOMIC. Where
// it does not, the flow-mods are sent plainly, a barrier collects the errors (OF1.3.5 §6.2: every error for a
// message before the barrier arrives before its reply) and whatever succeeded is undone.
//
// Open vSwitch 3.1, as seen against a private instance:
//   - a bundled flow-mod that fails to decode or to initialise (bad match, goto_table backwards) is refused AT
//     ADD TIME with an error carrying the add's xid, and simply left out of the bundle: a commit after that
//     commits the rest. So we wait (barrier) for the adds' errors before committing, and discard on any;
//   - a flow-mod that fails when the commit applies it (an unknown meter or group) gets an error with its add's
//     xid, then the commit fails with ONF experimenter error 2313 (OFPBFC_MSG_FAILED) and nothing is applied;
//   - meter-mods cannot be bundled (OFPBFC_MSG_UNSUP): atomic groups carry flow-mods (and group-mods) only.
import { OFPET, OFPBRC, OFPBCT, OFPBF, bundleControlMsg, bundleAddMsg, type OfpMessage } from './openflow/index.js';
import { SwitchError } from './errors.js';
import type { Logger } from './log.js';

/** What this module needs of a switch connection (SwitchConnection has it; tests can fake it). */
export interface FlowConn {
  readonly dpid: bigint | undefined;
  readonly log: Logger;
  send(msg: OfpMessage): number;
  request(msg: OfpMessage, timeoutMs?: number): Promise<OfpMessage[]>;
  multipart<T>(msg: OfpMessage, timeoutMs?: number): Promise<T[]>;
  barrier(timeoutMs?: number): Promise<void>;
  on(event: 'switchError', listener: (e: SwitchError) => void): unknown;
  off(event: 'switchError', listener: (e: SwitchError) => void): unknown;
  isClosed(): boolean;
  /** A fresh xid: a bundled message's must be known before it is encoded (EXT-230: inner xid = outer xid). */
  allocXid(): number;
  /** Sends `msg` in a bundle add under a fresh xid (returned); without it, send(bundleAddMsg(...)) is used. */
  sendBundleAdd?(bundleId: number, flags: number, msg: OfpMessage): number;
  /**
   * Whether so much waits to be handed to the kernel that a bulk sender should stop until drained() resolves.
   * With both, bulk sends are flow-controlled by the socket; without, they pause on a barrier every BATCH messages.
   */
  readonly backlogged?: boolean;
  drained?(): Promise<void>;
}

export function allocXid(conn: FlowConn): number {
  return conn.allocXid();
}

/** The xid of the request an OFPT_ERROR answers: the remembered request's, else the header in the error's data. */
export function errorXid(e: SwitchError): number | undefined {
  if (e.request) return e.request.xid;
  return e.data.length >= 8 ? e.data.readUInt32BE(4) : undefined;
}

/** Sends `msg` under a fresh xid (a message given with an xid of its own is sent under a new one too). */
function sendFresh(conn: FlowConn, msg: OfpMessage): number {
  return conn.send(msg.xid === 0 ? msg : { ...msg, xid: 0 });
}

/** Collects the switch's unsolicited errors while a group of messages is in flight. */
export class ErrorCollector {
  readonly byXid = new Map<number, SwitchError>();
  private readonly listener = (e: SwitchError): void => {
    const xid = errorXid(e);
    if (xid !== undefined && !this.byXid.has(xid)) this.byXid.set(xid, e);
  };

  constructor(private readonly conn: FlowConn) {
    conn.on('switchError', this.listener);
  }

  stop(): void {
    this.conn.off('switchError', this.listener);
  }
}

/**
 * Bulk sends must not outgrow a connection's bounded send queue (SwitchConnection disconnects a switch whose queue
 * passes maxQueueBytes, taking it for stalled). On a connection that says when it is backlogged, a sender checks
 * every CHECK_EVERY messages and then waits until the socket drains: the switch reads as fast as it can and never
 * waits for us. On one that does not (a test double), it waits for a barrier every BATCH messages.
 */
export const BATCH = 1000;
const CHECK_EVERY = 64;

/** Whether a bulk sender should pause after its i-th message (0-based); then await pause(conn). */
function mustPause(conn: FlowConn, i: number): boolean {
  if (conn.drained) return i % CHECK_EVERY === CHECK_EVERY - 1 && conn.backlogged === true;
  return (i + 1) % BATCH === 0;
}

function pause(conn: FlowConn): Promise<void> {
  return conn.drained ? conn.drained() : conn.barrier();
}

/**
 * Sends `msgs` in order (fresh xids), waits for a barrier, and returns the switch's error for each refused one,
 * by index. Resolves even if all were refused; rejects only if the barrier fails (connection gone, timeout).
 */
export async function sendAll(conn: FlowConn, msgs: readonly OfpMessage[]): Promise<Map<number, SwitchError>> {
  const errors = new ErrorCollector(conn);
  const xids: number[] = [];
  try {
    for (let i = 0; i < msgs.length; i++) {
      xids.push(sendFresh(conn, msgs[i]!));
      if (i + 1 < msgs.length && mustPause(conn, i)) await pause(conn);
    }
    await conn.barrier();
  } finally {
    errors.stop();
  }
  const out = new Map<number, SwitchError>();
  xids.forEach((xid, i) => {
    const e = errors.byXid.get(xid);
    if (e) out.set(i, e);
  });
  return out;
}

/** One change of an atomic group, and how to undo it if it succeeds but the group fails (fallback path only). */
export interface Change {
  msg: OfpMessage;
  /** Messages that restore the state before `msg`; empty if there is nothing to restore. */
  undo: OfpMessage[];
  /** For error messages and logs. */
  what: string;
}

export type AtomicPath = 'bundle' | 'fallback';

/** The group failed: `index` is the change the switch refused, and the table was left as it was. */
export class AtomicGroupError extends SwitchError {
  constructor(
    cause: SwitchError,
    request: OfpMessage,
    readonly index: number,
    readonly what: string,
    readonly path: AtomicPath,
    /** Fallback path: undo messages the switch refused too (the table may then differ from before). */
    readonly rollbackFailures: SwitchError[] = [],
  ) {
    super(cause.dpid, cause.errType, cause.code, request, cause.data);
    this.name = 'AtomicGroupError';
    this.message = `${this.message} (${what}; atomic group via ${path}${rollbackFailures.length ? `, ${rollbackFailures.length} undo messages refused too` : ', nothing applied'})`;
  }
}

/** OPEN refused this way means the switch has no bundles (OF1.3.5 §7.4.4: unknown experimenter or type). */
export function isBundleUnsupported(e: unknown): boolean {
  if (!(e instanceof SwitchError)) return false;
  return e.errType === OFPET.BAD_REQUEST && (e.code === OFPBRC.BAD_TYPE || e.code === OFPBRC.BAD_EXPERIMENTER || e.code === OFPBRC.BAD_EXP_TYPE);
}

let nextBundleId = 1;

/**
 * One atomic bundle being filled (ONF EXT-230 with OFPBF_ATOMIC): the OPEN goes out when it is created, then each
 * add as it comes (flow-controlled), then commit(). What the switch does with it is described at the top of this
 * file; commit() turns it into all or none:
 *
 * The OPEN, the adds and a barrier go out back to back; only the commit waits, for the barrier's reply: OVS refuses
 * a bad add when it gets it and leaves it out of the bundle, and every such refusal arrives before the barrier's
 * reply (OF1.3.5 §6.2), so the commit is sent only if no add was refused (else the bundle is discarded). When the
 * OPEN fails, the adds went to no bundle (OVS refuses each, OFPBFC_BAD_ID) and nothing is committed either. A
 * caller that does not yet know whether the switch does bundles awaits opened() before adding anything.
 */
export class BundleSession {
  readonly id: number;
  private readonly errors: ErrorCollector;
  /** The OPEN's outcome, settled into a value at once: a refused OPEN is never an unhandled rejection. */
  private readonly open: Promise<Error | undefined>;
  private readonly xids: number[] = [];
  private readonly changes: Change[] = [];
  private state: 'filling' | 'preparing' | 'prepared' | 'committing' | 'ended' = 'filling';

  constructor(private readonly conn: FlowConn) {
    this.id = nextBundleId;
    nextBundleId = (nextBundleId + 1) >>> 0 || 1;
    this.errors = new ErrorCollector(conn);
    this.open = conn.request(bundleControlMsg(0, this.id, OFPBCT.OPEN_REQUEST, OFPBF.ATOMIC)).then(
      () => undefined,
      (e: unknown) => (e instanceof Error ? e : new Error(`bundle OPEN failed: ${String(e)}`)),
    );
  }

  /** Resolves with the OPEN's error (undefined once the switch accepted it). */
  opened(): Promise<Error | undefined> {
    return this.open;
  }

  /**
   * Sends `change` into the bundle. Returns a promise only when the connection's send queue must drain before
   * more is sent (await it then); undefined otherwise, so that adding costs no promise per message.
   */
  add(change: Change): Promise<void> | undefined {
    const conn = this.conn;
    const msg = change.msg;
    const xid = conn.sendBundleAdd ? conn.sendBundleAdd(this.id, OFPBF.ATOMIC, msg) : sendBundleAddMsg(conn, this.id, msg);
    this.xids.push(xid);
    this.changes.push(change);
    return mustPause(conn, this.changes.length - 1) ? pause(conn) : undefined;
  }

  /**
   * Commits if the switch took every add: resolves true; false if the OPEN was refused as unknown (the switch
   * has no bundles; nothing was applied). Rejects with AtomicGroupError naming the refused change (the bundle is
   * discarded, the table as it was), or with the OPEN's or the commit's own error. Ends the session either way.
   */
  async commit(): Promise<boolean> {
    if (!(await this.prepare())) return false;
    await this.commitPrepared();
    return true;
  }

  /**
   * The first half of commit(), for a change spread over several switches: learns whether the switch took every
   * add, and leaves the bundle waiting for commitPrepared() or discard(). `close`: also sends a CLOSE_REQUEST
   * (OF1.4 §7.3.9.7: a closed bundle takes no more adds), right before the barrier: no extra round trip. Resolves
   * true when the bundle is ready to commit; false, with the session ended, if the OPEN was refused as unknown.
   * Rejects, with the bundle discarded and the session ended, as commit() does.
   */
  async prepare(opts: { close?: boolean } = {}): Promise<boolean> {
    const { conn, errors, xids, changes } = this;
    this.state = 'preparing';
    try {
      const closed = opts.close ? conn.request(bundleControlMsg(0, this.id, OFPBCT.CLOSE_REQUEST, OFPBF.ATOMIC)) : undefined;
      closed?.catch(() => undefined); // awaited below, once the OPEN is known to have been taken
      // Errors of the adds themselves arrive before this barrier's reply; a refused add is not in the bundle.
      const barrier = conn.barrier();
      const openError = await this.open;
      if (openError !== undefined) {
        await barrier.catch(() => undefined); // the adds' refusals (no such bundle) land in the collector, not in logs
        this.end();
        if (isBundleUnsupported(openError)) return false;
        throw openError;
      }
      await barrier;
      const refused = firstRefused(errors, xids);
      if (refused) {
        await this.sendDiscard();
        this.end();
        throw groupError(refused.err, changes, refused.index, xids, 'bundle');
      }
      if (closed) await closed;
    } catch (e) {
      if (this.state === 'preparing') {
        await this.sendDiscard();
        this.end();
      }
      throw e;
    }
    this.state = 'prepared';
    return true;
  }

  /** Commits a bundle prepare() found complete; rejects as commit() does. Ends the session. */
  async commitPrepared(): Promise<void> {
    if (this.state !== 'prepared') throw new Error(`bundle ${this.id} is ${this.state}, not prepared`);
    const { conn, errors, xids, changes, id } = this;
    this.state = 'committing';
    try {
      await conn.request(bundleControlMsg(0, id, OFPBCT.COMMIT_REQUEST, OFPBF.ATOMIC));
    } catch (e) {
      // The failing message's own error (with its add's xid) came before the commit's OFPBFC_MSG_FAILED.
      const failed = firstRefused(errors, xids);
      if (failed) throw groupError(failed.err, changes, failed.index, xids, 'bundle');
      throw e;
    } finally {
      this.end();
    }
  }

  /** Abandons the bundle (while filling it, or once prepared): nothing of it is applied. Idempotent. */
  async discard(): Promise<void> {
    if (this.state !== 'filling' && this.state !== 'prepared') return;
    this.state = 'ended';
    try {
      if ((await this.open) === undefined) await this.sendDiscard();
    } finally {
      this.errors.stop();
    }
  }

  /** Ends the session without a word to the switch (its OPEN was refused: there is nothing to discard). */
  close(): void {
    this.end();
  }

  private end(): void {
    this.state = 'ended';
    this.errors.stop();
  }

  private async sendDiscard(): Promise<void> {
    await this.conn.request(bundleControlMsg(0, this.id, OFPBCT.DISCARD_REQUEST, OFPBF.ATOMIC)).catch((e: Error) => {
      this.conn.log.warn(
        { dpid: this.conn.dpid?.toString(16), bundle: this.id, err: e.message },
        'bundle discard failed (the switch drops it when the connection ends)',
      );
    });
  }
}

/**
 * Applies `changes` in one atomic bundle (a BundleSession). Resolves true on commit, false if the switch does not
 * do bundles (and then nothing was sent but the refused OPEN, unless `pipelined`); rejects with AtomicGroupError
 * if a change was refused, and then the switch's table is as it was. `pipelined`: the switch is known to do
 * bundles, so the adds follow the OPEN without waiting for its reply.
 */
export async function applyInBundle(conn: FlowConn, changes: readonly Change[], opts: { pipelined?: boolean } = {}): Promise<boolean> {
  const bundle = new BundleSession(conn);
  if (!opts.pipelined) {
    const e = await bundle.opened();
    if (e !== undefined) {
      bundle.close();
      if (isBundleUnsupported(e)) return false;
      throw e;
    }
  }
  try {
    for (const c of changes) {
      const p = bundle.add(c);
      if (p) await p;
    }
  } catch (e) {
    await bundle.discard(); // the connection failed while adding (the collector must stop listening too)
    throw e;
  }
  return bundle.commit();
}

function sendBundleAddMsg(conn: FlowConn, bundleId: number, msg: OfpMessage): number {
  const xid = allocXid(conn);
  return conn.send(bundleAddMsg(xid, bundleId, OFPBF.ATOMIC, msg));
}

function firstRefused(errors: ErrorCollector, xids: readonly number[]): { err: SwitchError; index: number } | undefined {
  for (let i = 0; i < xids.length; i++) {
    const err = errors.byXid.get(xids[i]!);
    if (err) return { err, index: i };
  }
  return undefined;
}

function groupError(
  err: SwitchError,
  changes: readonly Change[],
  index: number,
  xids: readonly number[],
  path: AtomicPath,
  undoFailures: SwitchError[] = [],
): AtomicGroupError {
  const c = changes[index]!;
  return new AtomicGroupError(err, { ...c.msg, xid: xids[index]! }, index, c.what, path, undoFailures);
}

/**
 * Applies `changes` without bundles: all are sent, then a barrier; if any was refused, the undo messages of those
 * that succeeded are sent in reverse order, then a barrier, and the promise rejects with the first refusal.
 */
export async function applyWithRollback(conn: FlowConn, changes: readonly Change[]): Promise<void> {
  const errors = new ErrorCollector(conn);
  const xids: number[] = [];
  try {
    for (let i = 0; i < changes.length; i++) {
      xids.push(sendFresh(conn, changes[i]!.msg));
      if (i + 1 < changes.length && mustPause(conn, i)) await pause(conn);
    }
    await conn.barrier();
  } finally {
    errors.stop();
  }
  const refused = firstRefused(errors, xids);
  if (!refused) return;
  const undo: OfpMessage[] = [];
  for (let i = changes.length - 1; i >= 0; i--) {
    if (errors.byXid.has(xids[i]!)) continue; // refused: it changed nothing
    undo.push(...changes[i]!.undo);
  }
  const undoErrors = undo.length ? await sendAll(conn, undo) : new Map<number, SwitchError>();
  const failures = [...undoErrors.values()];
  if (failures.length) {
    conn.log.error(
      { dpid: conn.dpid?.toString(16), refused: failures.map((e) => e.message) },
      'rollback of a failed atomic group was partly refused',
    );
  }
  throw groupError(refused.err, changes, refused.index, xids, 'fallback', failures);
}
