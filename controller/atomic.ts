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
import {
  OFPET, OFPBRC, OFPBCT, OFPBF, bundleControlMsg, bundleAddMsg,
  type OfpMessage,
} from './openflow/index.js';
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
}

export function allocXid(conn: FlowConn): number {
  return conn.allocXid();
}

/** The xid of the request an OFPT_ERROR answers: the remembered request's, else the header in the error's data. */
export function errorXid(e: SwitchError): number | undefined {
  if (e.request) return e.request.xid;
  return e.data.length >= 8 ? e.data.readUInt32BE(4) : undefined;
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

/** Messages sent between barriers, so that a large batch never outgrows the connection's bounded send queue. */
export const BATCH = 1000;

/**
 * Sends `msgs` in order (fresh xids), waits for a barrier, and returns the switch's error for each refused one,
 * by index. Resolves even if all were refused; rejects only if the barrier fails (connection gone, timeout).
 */
export async function sendAll(conn: FlowConn, msgs: readonly OfpMessage[]): Promise<Map<number, SwitchError>> {
  const errors = new ErrorCollector(conn);
  const xids: number[] = [];
  try {
    for (let i = 0; i < msgs.length; i++) {
      xids.push(conn.send({ ...msgs[i]!, xid: allocXid(conn) } as OfpMessage));
      if ((i + 1) % BATCH === 0 && i + 1 < msgs.length) await conn.barrier();
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
  return e.errType === OFPET.BAD_REQUEST &&
    (e.code === OFPBRC.BAD_TYPE || e.code === OFPBRC.BAD_EXPERIMENTER || e.code === OFPBRC.BAD_EXP_TYPE);
}

let nextBundleId = 1;

/**
 * Applies `changes` in one atomic bundle. Resolves true on commit, false if the switch does not do bundles (and
 * then nothing was sent but the refused OPEN); rejects with AtomicGroupError if a change was refused.
 */
export async function applyInBundle(conn: FlowConn, changes: readonly Change[]): Promise<boolean> {
  const id = nextBundleId;
  nextBundleId = (nextBundleId + 1) >>> 0 || 1;
  const errors = new ErrorCollector(conn);
  try {
    try {
      await conn.request(bundleControlMsg(0, id, OFPBCT.OPEN_REQUEST, OFPBF.ATOMIC));
    } catch (e) {
      if (isBundleUnsupported(e)) return false;
      throw e;
    }
    const xids: number[] = [];
    for (let i = 0; i < changes.length; i++) {
      const xid = allocXid(conn);
      xids.push(xid);
      conn.send(bundleAddMsg(xid, id, OFPBF.ATOMIC, changes[i]!.msg));
      if ((i + 1) % BATCH === 0) await conn.barrier();
    }
    // Errors of the adds themselves arrive before this barrier's reply; a refused add is not in the bundle.
    await conn.barrier();
    const refused = firstRefused(errors, xids);
    if (refused) {
      await conn.request(bundleControlMsg(0, id, OFPBCT.DISCARD_REQUEST, OFPBF.ATOMIC)).catch((e: Error) => {
        conn.log.warn({ dpid: conn.dpid?.toString(16), bundle: id, err: e.message }, 'bundle discard failed (the switch drops it when the connection ends)');
      });
      throw groupError(refused.err, changes, refused.index, xids, 'bundle');
    }
    try {
      await conn.request(bundleControlMsg(0, id, OFPBCT.COMMIT_REQUEST, OFPBF.ATOMIC));
    } catch (e) {
      // The failing message's own error (with its add's xid) came before the commit's OFPBFC_MSG_FAILED.
      const failed = firstRefused(errors, xids);
      if (failed) throw groupError(failed.err, changes, failed.index, xids, 'bundle');
      throw e;
    }
    return true;
  } finally {
    errors.stop();
  }
}

function firstRefused(errors: ErrorCollector, xids: number[]): { err: SwitchError; index: number } | undefined {
  for (let i = 0; i < xids.length; i++) {
    const err = errors.byXid.get(xids[i]!);
    if (err) return { err, index: i };
  }
  return undefined;
}

function groupError(err: SwitchError, changes: readonly Change[], index: number, xids: number[], path: AtomicPath, undoFailures: SwitchError[] = []): AtomicGroupError {
  const c = changes[index]!;
  return new AtomicGroupError(err, { ...c.msg, xid: xids[index]! } as OfpMessage, index, c.what, path, undoFailures);
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
      xids.push(conn.send({ ...changes[i]!.msg, xid: allocXid(conn) } as OfpMessage));
      if ((i + 1) % BATCH === 0) await conn.barrier();
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
    conn.log.error({ dpid: conn.dpid?.toString(16), refused: failures.map((e) => e.message) }, 'rollback of a failed atomic group was partly refused');
  }
  throw groupError(refused.err, changes, refused.index, xids, 'fallback', failures);
}
