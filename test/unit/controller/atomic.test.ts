// Atomic groups against a scripted switch: which messages go out in which order, how refusals are tied to the
// flow-mod that caused them, what is rolled back, and how a switch without bundles is detected and remembered.
// (The same paths against Open vSwitch: test/integration/flow-manager.test.ts.)
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  applyInBundle,
  applyWithRollback,
  sendAll,
  isBundleUnsupported,
  errorXid,
  AtomicGroupError,
  BATCH,
  type Change,
} from '../../../controller/atomic.js';
import { SwitchError } from '../../../controller/errors.js';
import { FlowManager } from '../../../controller/flow-manager.js';
import { OwnershipConflictError } from '../../../controller/desired-state.js';
import type { Controller } from '../../../controller/controller.js';
import { silentLogger } from '../../../controller/log.js';
import { addFlowMsg, deleteFlowMsg } from '../../../controller/reconcile.js';
import { normaliseFlow } from '../../../controller/flow-entry.js';
import { ownerCookie } from '../../../controller/cookie.js';
import {
  encode,
  OFPET,
  OFPBRC,
  OFPBIC,
  OFPFC,
  OFPBCT,
  parseBundleControl,
  parseBundleAdd,
  isBundleMsg,
  ONFT_BUNDLE_CONTROL,
  ONFT_BUNDLE_ADD_MESSAGE,
  ONF_EXPERIMENTER_ID,
  ONF_BUNDLE_ERROR_BASE,
  OFPBFC,
  type OfpMessage,
} from '../../../controller/openflow/index.js';
import { FakeConn } from './fake-conn.js';

const flow = (priority: number) =>
  normaliseFlow(
    {
      priority,
      match: [{ field: 'in_port', value: 1 }],
      instructions: [{ type: 'applyActions', actions: [{ type: 'output', port: 2, maxLen: 0 }] }],
    },
    ownerCookie(1),
  );
/** Adding a new flow: undone by deleting it. */
const addChange = (priority: number): Change => ({
  msg: addFlowMsg(flow(priority)),
  undo: [deleteFlowMsg(flow(priority), ownerCookie(1))],
  what: `add ${priority}`,
});

const BAD_TABLE = { errType: OFPET.BAD_INSTRUCTION, code: OFPBIC.BAD_TABLE_ID };
const innerPriority = (m: OfpMessage): number | undefined => {
  if (m.type === 'flowMod') return m.priority;
  if (isBundleMsg(m, ONFT_BUNDLE_ADD_MESSAGE)) {
    const i = parseBundleAdd(m).message;
    return i.type === 'flowMod' ? i.priority : undefined;
  }
  return undefined;
};

describe('bundles', () => {
  it("opens, adds each change, waits for the adds' errors, then commits", async () => {
    const conn = new FakeConn();
    expect(await applyInBundle(conn, [addChange(1), addChange(2)])).toBe(true);
    expect(conn.trace()).toEqual(['open', 'add:ADD:1', 'add:ADD:2', 'barrier', 'commit']);
    // EXT-230: the inner message carries the outer xid.
    const add = conn.sent[1]!;
    expect(isBundleMsg(add, ONFT_BUNDLE_ADD_MESSAGE) && parseBundleAdd(add).message.xid).toBe(add.xid);
  });

  it('an add refused at add time (OVS leaves it out and would commit the rest): discard, reject naming it', async () => {
    const conn = new FakeConn((m) => (isBundleMsg(m, ONFT_BUNDLE_ADD_MESSAGE) && innerPriority(m) === 2 ? BAD_TABLE : undefined));
    const e = (await applyInBundle(conn, [addChange(1), addChange(2), addChange(3)]).catch((x: unknown) => x)) as AtomicGroupError;
    expect(e).toBeInstanceOf(AtomicGroupError);
    expect(e).toMatchObject({ errType: OFPET.BAD_INSTRUCTION, code: OFPBIC.BAD_TABLE_ID, index: 1, path: 'bundle', what: 'add 2' });
    expect(e.request).toMatchObject({ type: 'flowMod', priority: 2, command: OFPFC.ADD });
    expect(conn.trace()).toEqual(['open', 'add:ADD:1', 'add:ADD:2', 'add:ADD:3', 'barrier', 'discard']);
  });

  it('a commit that fails names the flow-mod whose error preceded it', async () => {
    const commitFail = { errType: OFPET.EXPERIMENTER, code: ONF_BUNDLE_ERROR_BASE + OFPBFC.MSG_FAILED };
    const conn = new FakeConn((m) => {
      if (isBundleMsg(m, ONFT_BUNDLE_CONTROL) && parseBundleControl(m).ctrlType === OFPBCT.COMMIT_REQUEST) {
        // The switch reports the failing message (its add's xid) first, then fails the commit.
        const failing = conn.sent.find((s) => innerPriority(s) === 3)!;
        conn.emit('switchError', new SwitchError(conn.dpid, OFPET.BAD_ACTION, 9, failing, encode(failing)));
        return commitFail;
      }
      return undefined;
    });
    const e = await applyInBundle(conn, [addChange(1), addChange(2), addChange(3)]).catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'AtomicGroupError', errType: OFPET.BAD_ACTION, code: 9, index: 2, request: { priority: 3 } });
    expect(conn.trace().at(-1)).toBe('commit');
  });

  it('an OPEN refused as unknown experimenter/type means no bundles: false, nothing else sent', async () => {
    for (const code of [OFPBRC.BAD_TYPE, OFPBRC.BAD_EXPERIMENTER, OFPBRC.BAD_EXP_TYPE]) {
      const conn = new FakeConn((m) => (m.type === 'experimenter' ? { errType: OFPET.BAD_REQUEST, code } : undefined));
      expect(await applyInBundle(conn, [addChange(1)])).toBe(false);
      expect(conn.trace()).toEqual(['open']);
    }
    // Other refusals of OPEN are errors, not a missing feature.
    const conn = new FakeConn((m) =>
      m.type === 'experimenter' ? { errType: OFPET.EXPERIMENTER, code: ONF_BUNDLE_ERROR_BASE + OFPBFC.OUT_OF_BUNDLES } : undefined,
    );
    await expect(applyInBundle(conn, [addChange(1)])).rejects.toBeInstanceOf(SwitchError);
    expect(isBundleUnsupported(new Error('x'))).toBe(false);
  });
});

describe('bundles, pipelined (the switch is known to do bundles)', () => {
  /** A FakeConn whose OPEN is answered only when the test says so: what went out before the answer shows. */
  function heldOpen(judge?: (m: OfpMessage) => { errType: number; code: number } | undefined) {
    const conn = new FakeConn(judge);
    let answer!: (err?: Error) => void;
    const request = conn.request.bind(conn);
    conn.request = (msg: OfpMessage) => {
      if (isBundleMsg(msg, ONFT_BUNDLE_CONTROL) && parseBundleControl(msg).ctrlType === OFPBCT.OPEN_REQUEST) {
        conn.sent.push(msg);
        return new Promise((resolve, reject) => {
          answer = (err) => (err ? reject(err) : resolve([msg]));
        });
      }
      return request(msg);
    };
    return { conn, answer: (err?: Error) => answer(err) };
  }

  it("sends the OPEN, the adds and the barrier without waiting for the OPEN's reply; commits after both", async () => {
    const { conn, answer } = heldOpen();
    const done = applyInBundle(conn, [addChange(1), addChange(2)], { pipelined: true });
    await new Promise((r) => setImmediate(r));
    expect(conn.trace()).toEqual(['open', 'add:ADD:1', 'add:ADD:2', 'barrier']);
    answer();
    expect(await done).toBe(true);
    expect(conn.trace()).toEqual(['open', 'add:ADD:1', 'add:ADD:2', 'barrier', 'commit']);
  });

  it('without pipelined, nothing but the OPEN goes out until it is answered', async () => {
    const { conn, answer } = heldOpen();
    const done = applyInBundle(conn, [addChange(1)]);
    await new Promise((r) => setImmediate(r));
    expect(conn.trace()).toEqual(['open']);
    answer();
    expect(await done).toBe(true);
  });

  it("an OPEN refused after the adds went out: no commit, the group rejects with the OPEN's error", async () => {
    const { conn, answer } = heldOpen();
    const done = applyInBundle(conn, [addChange(1), addChange(2)], { pipelined: true }).catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    const refusal = new SwitchError(conn.dpid, OFPET.EXPERIMENTER, ONF_BUNDLE_ERROR_BASE + OFPBFC.OUT_OF_BUNDLES, undefined, Buffer.alloc(0));
    answer(refusal);
    expect(await done).toBe(refusal);
    expect(conn.trace()).not.toContain('commit');
  });

  it('an OPEN refused as unknown after the adds went out: false (the caller falls back), no commit', async () => {
    const { conn, answer } = heldOpen();
    const done = applyInBundle(conn, [addChange(1)], { pipelined: true });
    await new Promise((r) => setImmediate(r));
    answer(new SwitchError(conn.dpid, OFPET.BAD_REQUEST, OFPBRC.BAD_EXPERIMENTER, undefined, Buffer.alloc(0)));
    expect(await done).toBe(false);
    expect(conn.trace()).not.toContain('commit');
  });

  it('a refused add still discards the bundle and names the add', async () => {
    const conn = new FakeConn((m) => (isBundleMsg(m, ONFT_BUNDLE_ADD_MESSAGE) && innerPriority(m) === 2 ? BAD_TABLE : undefined));
    const e = await applyInBundle(conn, [addChange(1), addChange(2), addChange(3)], { pipelined: true }).catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'AtomicGroupError', index: 1, path: 'bundle' });
    expect(conn.trace()).toEqual(['open', 'add:ADD:1', 'add:ADD:2', 'add:ADD:3', 'barrier', 'discard']);
  });
});

describe('flow control of bulk sends', () => {
  /** A FakeConn with a send queue (`queuedBytes`, backlogged past 1 MB), drained() counted. */
  class QueuedConn extends FakeConn {
    queuedBytes = 0;
    drains = 0;
    get backlogged(): boolean {
      return this.queuedBytes > 1024 * 1024;
    }
    async drained(): Promise<void> {
      this.drains++;
      this.sent.push({ type: 'echoRequest', xid: 0, data: Buffer.alloc(0) }); // a marker in the trace
      this.queuedBytes = 0;
    }
  }

  it('on a connection that says when it is backlogged, pauses on drained(), never on barriers', async () => {
    const conn = new QueuedConn();
    const send = conn.send.bind(conn);
    let most = 0;
    conn.send = (m: OfpMessage) => {
      conn.queuedBytes += 1000;
      most = Math.max(most, conn.queuedBytes);
      return send(m);
    }; // as if the socket took nothing
    const msgs = Array.from({ length: 3 * BATCH }, (_, i) => addFlowMsg(flow(i)));
    await sendAll(conn, msgs);
    expect(conn.trace().filter((t) => t === 'barrier')).toHaveLength(1); // the final one only
    expect(conn.drains).toBe(2); // 3 MB sent, a pause after each ~1 MB
    expect(most).toBeLessThanOrEqual(1024 * 1024 + 64 * 1000); // never more than 1 MB and one check interval waiting
  });

  it('a connection that keeps up is never paused', async () => {
    const conn = new QueuedConn();
    await applyInBundle(
      conn,
      Array.from({ length: 2 * BATCH }, (_, i) => addChange(i)),
      { pipelined: true },
    );
    expect(conn.drains).toBe(0);
    expect(conn.trace().filter((t) => t === 'barrier')).toHaveLength(1);
  });
});

describe('barrier + rollback', () => {
  it('all taken: one pass and a barrier', async () => {
    const conn = new FakeConn();
    await applyWithRollback(conn, [addChange(1), addChange(2)]);
    expect(conn.trace()).toEqual(['mod:ADD:1', 'mod:ADD:2', 'barrier']);
  });

  it('one refused: the others are undone in reverse order, then it rejects with the refusal', async () => {
    const conn = new FakeConn((m) => (m.type === 'flowMod' && m.command === OFPFC.ADD && m.priority === 3 ? BAD_TABLE : undefined));
    const changes = [addChange(1), addChange(2), addChange(3), addChange(4)];
    const e = (await applyWithRollback(conn, changes).catch((x: unknown) => x)) as AtomicGroupError;
    expect(e).toMatchObject({ name: 'AtomicGroupError', path: 'fallback', index: 2, request: { priority: 3 }, rollbackFailures: [] });
    expect(conn.trace()).toEqual([
      'mod:ADD:1',
      'mod:ADD:2',
      'mod:ADD:3',
      'mod:ADD:4',
      'barrier',
      'mod:DEL_STRICT:4',
      'mod:DEL_STRICT:2',
      'mod:DEL_STRICT:1',
      'barrier',
    ]);
  });

  it('an undo the switch refuses is reported on the error', async () => {
    const conn = new FakeConn((m) =>
      m.type === 'flowMod' && ((m.command === OFPFC.ADD && m.priority === 2) || m.command === OFPFC.DELETE_STRICT) ? BAD_TABLE : undefined,
    );
    const e = (await applyWithRollback(conn, [addChange(1), addChange(2)]).catch((x: unknown) => x)) as AtomicGroupError;
    expect(e.rollbackFailures).toHaveLength(1);
    expect(e.message).toMatch(/undo messages refused/);
  });

  it('sendAll paces large batches with barriers and maps errors to indexes', async () => {
    const conn = new FakeConn((m) => (m.type === 'flowMod' && m.priority === 1500 ? BAD_TABLE : undefined));
    const msgs = Array.from({ length: 2 * BATCH + 1 }, (_, i) => addFlowMsg(flow(i)));
    const errors = await sendAll(conn, msgs);
    expect([...errors.keys()]).toEqual([1500]);
    expect(conn.trace().filter((t) => t === 'barrier')).toHaveLength(3);
  });

  it('errorXid falls back to the header in the error data when the request was forgotten', () => {
    const m = addFlowMsg(flow(1));
    const data = encode({ ...m, xid: 77 });
    expect(errorXid(new SwitchError(1n, 1, 1, undefined, data))).toBe(77);
    expect(errorXid(new SwitchError(1n, 1, 1, { ...m, xid: 5 }, data))).toBe(5);
  });
});

describe('FlowManager.apply path selection', () => {
  function manager(conn: FakeConn, bundles = true): FlowManager {
    const ctl = Object.assign(new EventEmitter(), { log: silentLogger(), get: () => conn }) as unknown as Controller;
    const fm = new FlowManager(ctl, { bundles, reconcileOnConnect: false });
    fm.registerOwner('app', 1);
    return fm;
  }
  const spec = (priority: number) => ({ priority, match: [{ field: 'in_port', value: 1 }], instructions: [] });

  it('remembers a switch without bundles: later groups go straight to barrier + rollback', async () => {
    const conn = new FakeConn((m) =>
      m.type === 'experimenter' && m.experimenter === ONF_EXPERIMENTER_ID ? { errType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_EXPERIMENTER } : undefined,
    );
    const fm = manager(conn);
    expect(await fm.apply(0xabn, 'app', { add: [spec(1)] })).toMatchObject({ path: 'fallback', added: 1 });
    expect(fm.bundlesSupported(0xabn)).toBe(false);
    conn.sent = [];
    expect(await fm.apply(0xabn, 'app', { add: [spec(2)] })).toMatchObject({ path: 'fallback', added: 1 });
    expect(conn.trace()).toEqual(['mod:ADD:2', 'barrier']);
    expect(
      fm
        .desiredFlows(0xabn, 'app')
        .map((e) => e.priority)
        .sort(),
    ).toEqual([1, 2]);
  });

  it('a repeated apply of what is already there sends nothing', async () => {
    const conn = new FakeConn();
    const fm = manager(conn);
    await fm.apply(0xabn, 'app', { add: [spec(1)] });
    conn.sent = [];
    expect(await fm.apply(0xabn, 'app', { add: [spec(1)] })).toEqual({ path: 'none', added: 0, modified: 0, deleted: 0, unchanged: 1 });
    expect(conn.sent).toEqual([]);
  });

  it('a failed group leaves the desired state as it was; the rollback restores a removed flow', async () => {
    const conn = new FakeConn((m) => (m.type === 'flowMod' && m.command === OFPFC.ADD && m.priority === 9 ? BAD_TABLE : undefined));
    const fm = manager(conn, false);
    await fm.apply(0xabn, 'app', { add: [spec(1)] });
    conn.sent = [];
    await expect(fm.apply(0xabn, 'app', { add: [spec(9)], remove: [spec(1)] })).rejects.toBeInstanceOf(AtomicGroupError);
    expect(conn.trace()).toEqual(['mod:DEL_STRICT:1', 'mod:ADD:9', 'barrier', 'mod:ADD:1', 'barrier']);
    expect(fm.desiredFlows(0xabn, 'app').map((e) => e.priority)).toEqual([1]);
  });

  describe('adds on a switch known to take bundles (prepared and sent one by one)', () => {
    /** A manager whose connection has taken a bundle already (the first apply). */
    async function known(judge?: (m: OfpMessage) => { errType: number; code: number } | undefined) {
      const conn = new FakeConn(judge);
      const fm = manager(conn);
      await fm.apply(0xabn, 'app', { add: [spec(1)] });
      expect(fm.bundlesSupported(0xabn)).toBe(true);
      conn.sent = [];
      return { conn, fm };
    }

    it('goes out as the OPEN, each add, a barrier and the commit; unchanged entries send nothing', async () => {
      const { conn, fm } = await known();
      expect(await fm.apply(0xabn, 'app', { add: [spec(1), spec(2), spec(3)] })).toEqual({
        path: 'bundle',
        added: 2,
        modified: 0,
        deleted: 0,
        unchanged: 1,
      });
      expect(conn.trace()).toEqual(['open', 'add:ADD:2', 'add:ADD:3', 'barrier', 'commit']);
      expect(
        fm
          .desiredFlows(0xabn, 'app')
          .map((e) => e.priority)
          .sort(),
      ).toEqual([1, 2, 3]);
    });

    it('a bad spec midway: the bundle is discarded, nothing recorded, the promise rejects', async () => {
      const { conn, fm } = await known();
      const bad = { ...spec(5), priority: 70_000 };
      await expect(fm.apply(0xabn, 'app', { add: [spec(4), bad, spec(6)] })).rejects.toBeInstanceOf(RangeError);
      expect(conn.trace()).toEqual(['open', 'add:ADD:4', 'discard']);
      expect(fm.desiredFlows(0xabn, 'app').map((e) => e.priority)).toEqual([1]);
    });

    it("another owner's identity midway: discarded, OwnershipConflictError", async () => {
      const { conn, fm } = await known();
      fm.registerOwner('other', 2);
      await fm.apply(0xabn, 'other', { add: [spec(9)] });
      conn.sent = [];
      await expect(fm.apply(0xabn, 'app', { add: [spec(8), spec(9)] })).rejects.toBeInstanceOf(OwnershipConflictError);
      expect(conn.trace()).toEqual(['open', 'add:ADD:8', 'discard']);
      expect(fm.desiredFlows(0xabn, 'app').map((e) => e.priority)).toEqual([1]);
    });

    it('a refused add fails the group whole: discarded, the desired state as before', async () => {
      const { conn, fm } = await known((m) => (isBundleMsg(m, ONFT_BUNDLE_ADD_MESSAGE) && innerPriority(m) === 7 ? BAD_TABLE : undefined));
      const e = await fm.apply(0xabn, 'app', { add: [spec(6), spec(7)] }).catch((x: unknown) => x);
      expect(e).toMatchObject({ name: 'AtomicGroupError', path: 'bundle', index: 1, request: { priority: 7 } });
      expect(conn.trace()).toEqual(['open', 'add:ADD:6', 'add:ADD:7', 'barrier', 'discard']);
      expect(fm.desiredFlows(0xabn, 'app').map((e2) => e2.priority)).toEqual([1]);
    });

    it('an identity given twice: the last wins (both go into the bundle, in order), counted once', async () => {
      const { conn, fm } = await known();
      const a = { ...spec(5), instructions: [{ type: 'gotoTable' as const, tableId: 1 }] };
      const b = { ...spec(5), instructions: [{ type: 'gotoTable' as const, tableId: 2 }] };
      expect(await fm.apply(0xabn, 'app', { add: [a, b] })).toMatchObject({ path: 'bundle', added: 1 });
      expect(conn.trace()).toEqual(['open', 'add:ADD:5', 'add:ADD:5', 'barrier', 'commit']);
      expect(fm.desiredFlows(0xabn, 'app').find((e2) => e2.priority === 5)?.instructions).toEqual(b.instructions);
      // Changed, then given again as it is on the switch: put back.
      conn.sent = [];
      expect(await fm.apply(0xabn, 'app', { add: [a, b] })).toMatchObject({ path: 'bundle', modified: 1 });
      expect(conn.trace()).toEqual(['open', 'add:MOD_STRICT:5', 'add:ADD:5', 'barrier', 'commit']);
    });
  });

  it('non-atomic: what the switch took is recorded, the first refusal is thrown', async () => {
    const conn = new FakeConn((m) => (m.type === 'flowMod' && m.priority === 9 ? BAD_TABLE : undefined));
    const fm = manager(conn);
    const e = await fm.apply(0xabn, 'app', { add: [spec(8), spec(9)] }, { atomic: false }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SwitchError);
    expect(e).toMatchObject({ request: { type: 'flowMod', priority: 9 } });
    expect(fm.desiredFlows(0xabn, 'app').map((e2) => e2.priority)).toEqual([8]);
  });
});
