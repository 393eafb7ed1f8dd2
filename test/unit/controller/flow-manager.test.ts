// FlowManager's bookkeeping against a scripted switch: what a reconcile sends for what the switch reports,
// hard timeouts across re-adds, expiry, ownership, and serialisation per switch.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { FlowManager, SwitchNotConnectedError } from '../../../controller/flow-manager.js';
import { OwnershipConflictError } from '../../../controller/desired-state.js';
import type { Controller } from '../../../controller/controller.js';
import { silentLogger } from '../../../controller/log.js';
import { flowKey, type FlowEntry, type FlowSpec } from '../../../controller/flow-entry.js';
import { OFPRR, OFPFC, isBundleMsg, parseBundleAdd, ONFT_BUNDLE_ADD_MESSAGE, type OfpMessage } from '../../../controller/openflow/index.js';
import type { FlowStats } from '../../../controller/openflow/multipart/flow.js';
import { FakeConn } from './fake-conn.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const DPID = 0xabn;

function setup(conn: FakeConn | undefined = new FakeConn()): { fm: FlowManager; ctl: EventEmitter; conn: FakeConn } {
  const ctl = Object.assign(new EventEmitter(), { log: silentLogger(), get: () => conn });
  const fm = new FlowManager(ctl as unknown as Controller, { reconcileOnConnect: false });
  fm.registerOwner('app', 1);
  fm.registerOwner('other', 2);
  return { fm, ctl, conn };
}

const spec = (priority: number, over: Partial<FlowSpec> = {}): FlowSpec => ({
  priority,
  match: [{ field: 'in_port', value: 1 }],
  instructions: [{ type: 'applyActions', actions: [{ type: 'output', port: 2, maxLen: 0 }] }],
  ...over,
});

function onSwitch(e: FlowEntry, durationSec: number, over: Partial<FlowStats> = {}): FlowStats {
  return { ...e, durationSec, durationNsec: 0, packetCount: 0n, byteCount: 0n, ...over };
}

type FlowMod = Extract<OfpMessage, { type: 'flowMod' }>;
/** The flow-mods sent, plain or inside bundle adds. */
const flowMods = (conn: FakeConn): FlowMod[] =>
  conn.sent.map((m) => (isBundleMsg(m, ONFT_BUNDLE_ADD_MESSAGE) ? parseBundleAdd(m).message : m)).filter((m): m is FlowMod => m.type === 'flowMod');

describe('FlowManager.reconcile', () => {
  it('reads flows, meters and groups, then sends only the difference', async () => {
    const { fm, conn } = setup();
    fm.setFlows(DPID, 'app', [spec(1), spec(2)]);
    const [right] = fm.desiredFlows(DPID, 'app');
    conn.tables.flowStatsRequest = [onSwitch(right!, 30), onSwitch(fm.entry('other', spec(9)), 5)];
    const r = await fm.reconcile(DPID);
    expect(r).toMatchObject({ added: 1, modified: 0, deleted: 1, unchanged: 1, expired: 0, failed: [] });
    expect(conn.trace()).toEqual([
      'flowStatsRequest',
      'meterConfigStatsRequest',
      'groupDescStatsRequest',
      'mod:DEL_STRICT:9',
      'barrier',
      'mod:ADD:2',
      'barrier',
    ]);
    const read = conn.sent[0] as Extract<OfpMessage, { type: 'flowStatsRequest' }>;
    expect(read).toMatchObject({ tableId: 0xff, cookie: 0n, cookieMask: 0n });
  });

  it('an owner-scoped reconcile reads by cookie/mask and skips meters and groups', async () => {
    const { fm, conn } = setup();
    fm.setFlows(DPID, 'other', [spec(1, { cookie: (2n << 48n) | 5n })]);
    const r = await fm.reconcile(DPID, { owner: 'other' });
    expect(r).toMatchObject({ owner: 'other', added: 1 });
    expect(r.meters).toBeUndefined();
    expect(conn.sent[0]).toMatchObject({ type: 'flowStatsRequest', cookie: 2n << 48n, cookieMask: 0xffffn << 48n });
    expect(conn.trace()).toEqual(['flowStatsRequest', 'mod:ADD:1', 'barrier']);
  });

  it('a missing flow is re-added with what is left of its hard timeout', async () => {
    const { fm, conn } = setup();
    fm.setFlows(DPID, 'app', [spec(1, { hardTimeout: 100 })]);
    const [e] = fm.desiredFlows(DPID, 'app');
    conn.tables.flowStatsRequest = [onSwitch(e!, 40)]; // installed 40 s ago
    expect(await fm.reconcile(DPID)).toMatchObject({ unchanged: 1 });
    conn.tables.flowStatsRequest = []; // the switch restarted and lost it
    conn.sent = [];
    expect(await fm.reconcile(DPID)).toMatchObject({ added: 1 });
    const [add] = flowMods(conn);
    expect(add!.hardTimeout).toBeGreaterThanOrEqual(59);
    expect(add!.hardTimeout).toBeLessThanOrEqual(60);
  });

  it('a flow missing after its hard timeout ran out has expired: forgotten, not re-added', async () => {
    const { fm, conn } = setup();
    fm.setFlows(DPID, 'app', [spec(1, { hardTimeout: 30 }), spec(2)]);
    const [e] = fm.desiredFlows(DPID, 'app').filter((f) => f.hardTimeout);
    conn.tables.flowStatsRequest = [onSwitch(e!, 31)];
    await fm.reconcile(DPID); // learns it has been on the switch for 31 s
    conn.tables.flowStatsRequest = [];
    const expired: FlowEntry[] = [];
    fm.on('flowExpired', (_d, owner, entry) => {
      expect(owner).toBe('app');
      expired.push(entry);
    });
    conn.sent = [];
    expect(await fm.reconcile(DPID)).toMatchObject({ added: 1, expired: 1 });
    expect(flowMods(conn).map((m) => m.priority)).toEqual([2]);
    expect(expired.map((x) => x.priority)).toEqual([1]);
    expect(fm.desiredFlows(DPID, 'app').map((f) => f.priority)).toEqual([2]);
  });

  it('forgets a flow the switch reports timed out when it can have; re-installs one reported removed too early', async () => {
    const { fm, ctl, conn } = setup();
    fm.setFlows(DPID, 'app', [
      spec(1, { idleTimeout: 30 }),
      spec(2, { hardTimeout: 10 }),
      spec(3, { hardTimeout: 600 }),
      spec(4),
      spec(5, { hardTimeout: 600 }),
    ]);
    const [idle, hard, early, none, del] = fm.desiredFlows(DPID, 'app');
    const rec = (e: FlowEntry) => fm.desired.get(DPID).flows.get(flowKey(e))!;
    rec(hard!).since = Date.now() - 10_500; // its 10 s have run out
    rec(early!).since = Date.now() - 10_000; // 590 s left
    rec(del!).since = Date.now() - 10_000;
    const removed = (e: FlowEntry, reason: number) =>
      ctl.emit(
        'flowRemoved',
        { dpid: DPID },
        {
          type: 'flowRemoved',
          xid: 0,
          cookie: e.cookie,
          priority: e.priority,
          reason,
          tableId: e.tableId,
          durationSec: 1,
          durationNsec: 0,
          idleTimeout: 0,
          hardTimeout: 0,
          packetCount: 0n,
          byteCount: 0n,
          match: [...e.match],
        },
      );
    const expired: number[] = [];
    const lost: [number, string][] = [];
    fm.on('flowExpired', (_d, _o, e) => expired.push(e.priority));
    fm.on('flowLost', (_d, owner, e, why) => {
      expect(owner).toBe('app');
      lost.push([e.priority, why]);
    });
    removed(idle!, OFPRR.IDLE_TIMEOUT);
    removed(hard!, OFPRR.HARD_TIMEOUT);
    removed(early!, OFPRR.HARD_TIMEOUT);
    removed(none!, OFPRR.IDLE_TIMEOUT);
    removed(del!, OFPRR.DELETE);
    // A flow-removed for a different cookie (someone else's entry at that identity) changes nothing.
    removed({ ...none!, cookie: none!.cookie + 1n }, OFPRR.HARD_TIMEOUT);
    expect(expired).toEqual([1, 2]);
    expect(lost).toEqual([
      [3, 'hard timeout 590 s before its time'],
      [4, 'idle timeout on a flow without one'],
      [5, 'deleted, but not by us'],
    ]);
    expect(fm.desiredFlows(DPID, 'app').map((f) => f.priority)).toEqual([3, 4, 5]);
    await fm.reconcile(DPID, { owner: 'other' }); // (after the re-installs: operations on a switch are serial)
    const adds = flowMods(conn).filter((m) => m.command === OFPFC.ADD);
    expect(adds.map((m) => [m.priority, m.hardTimeout])).toEqual([
      [3, 590],
      [4, 0],
      [5, 590],
    ]);
  });

  it("keeps each flow's end through a re-declaration with the time left, and a re-armed hard timeout", async () => {
    const { fm, ctl } = setup();
    await fm.apply(DPID, 'app', { add: [spec(1, { hardTimeout: 600 }), spec(2, { hardTimeout: 600 })] });
    const rec = (p: number) => fm.desired.get(DPID).flows.get(flowKey(fm.entry('app', spec(p))))!;
    for (const p of [1, 2]) rec(p).since! -= 100_000; // installed 100 s ago: 500 s left
    // Re-declared with the time left (as after a reload): not sent again, so still ending in 500 s.
    fm.setFlows(DPID, 'app', [spec(1, { hardTimeout: 500 }), spec(2, { hardTimeout: 600 })]);
    // Flow 2 re-armed by its owner (an OFPFC_ADD sent now): 900 s from now.
    fm.updateFlows(DPID, 'app', { add: [spec(2, { hardTimeout: 900 })] }, Date.now());
    const lost: [number, string][] = [];
    fm.on('flowLost', (_d, _o, e, why) => lost.push([e.priority, why]));
    for (const p of [1, 2]) {
      const e = rec(p).entry;
      ctl.emit(
        'flowRemoved',
        { dpid: DPID },
        {
          type: 'flowRemoved',
          xid: 0,
          cookie: e.cookie,
          priority: p,
          reason: OFPRR.HARD_TIMEOUT,
          tableId: 0,
          durationSec: 1,
          durationNsec: 0,
          idleTimeout: 0,
          hardTimeout: 0,
          packetCount: 0n,
          byteCount: 0n,
          match: [...e.match],
        },
      );
    }
    expect(lost).toEqual([
      [1, 'hard timeout 500 s before its time'],
      [2, 'hard timeout 900 s before its time'],
    ]);
    // A flow the switch holds without a hard timeout, re-declared with one (the time left has come under 65535 s):
    // the switch still never times it out.
    await fm.apply(DPID, 'app', { add: [spec(3)] });
    rec(3).since! -= 100_000;
    fm.setFlows(DPID, 'app', [spec(1, { hardTimeout: 500 }), spec(2, { hardTimeout: 900 }), spec(3, { hardTimeout: 60_000 })]);
    const e3 = rec(3).entry;
    ctl.emit(
      'flowRemoved',
      { dpid: DPID },
      {
        type: 'flowRemoved',
        xid: 0,
        cookie: e3.cookie,
        priority: 3,
        reason: OFPRR.HARD_TIMEOUT,
        tableId: 0,
        durationSec: 1,
        durationNsec: 0,
        idleTimeout: 0,
        hardTimeout: 0,
        packetCount: 0n,
        byteCount: 0n,
        match: [...e3.match],
      },
    );
    expect(lost.at(-1)).toEqual([3, 'hard timeout before the flow was known installed']);
  });

  it('re-arms a flow on request: sent again as an add with the new hard timeout, timed on its clock', async () => {
    const conn = new FakeConn();
    const ctl = Object.assign(new EventEmitter(), { log: silentLogger(), get: () => conn });
    const clock = new FakeClock(1_000_000);
    const fm = new FlowManager(ctl as unknown as Controller, { reconcileOnConnect: false, clock });
    fm.registerOwner('app', 1);
    await fm.apply(DPID, 'app', { add: [spec(1, { hardTimeout: 60 })] }, { atomic: false });
    clock.advance(30_000);
    // Unchanged but for its timeout: without rearm nothing is sent (the switch keeps the old 60 s).
    await fm.apply(DPID, 'app', { add: [spec(1, { hardTimeout: 600 })] }, { atomic: false });
    expect(flowMods(conn).map((m) => [m.command, m.hardTimeout])).toEqual([[OFPFC.ADD, 60]]);
    await fm.apply(DPID, 'app', { add: [spec(1, { hardTimeout: 600 })] }, { atomic: false, rearm: true });
    expect(flowMods(conn).map((m) => [m.command, m.hardTimeout])).toEqual([
      [OFPFC.ADD, 60],
      [OFPFC.ADD, 600],
    ]);
    expect(fm.desired.get(DPID).flows.get(flowKey(fm.entry('app', spec(1))))!.since).toBe(1_030_000);
  });

  it('a flow-removed of a delete it is sending is its own, not a loss', async () => {
    const { fm, ctl, conn } = setup();
    await fm.apply(DPID, 'app', { add: [spec(1)] });
    const [e] = fm.desiredFlows(DPID, 'app');
    const lost: number[] = [];
    fm.on('flowLost', (_d, _o, x) => lost.push(x.priority));
    // A switch that reports the delete before it answers the barrier.
    conn.judge = (m) => {
      if (m.type === 'flowMod' && m.command === OFPFC.DELETE_STRICT)
        ctl.emit(
          'flowRemoved',
          { dpid: DPID },
          {
            type: 'flowRemoved',
            xid: 0,
            cookie: e!.cookie,
            priority: 1,
            reason: OFPRR.DELETE,
            tableId: 0,
            durationSec: 1,
            durationNsec: 0,
            idleTimeout: 0,
            hardTimeout: 0,
            packetCount: 0n,
            byteCount: 0n,
            match: [...e!.match],
          },
        );
      return undefined;
    };
    await fm.apply(DPID, 'app', { remove: [spec(1)] }, { atomic: false });
    expect(lost).toEqual([]);
    expect(fm.desiredFlows(DPID, 'app')).toEqual([]);
  });

  it('refused messages are reported, the rest applied', async () => {
    const conn = new FakeConn((m) => (m.type === 'flowMod' && m.priority === 2 ? { errType: 5, code: 1 } : undefined));
    const { fm } = setup(conn);
    fm.setFlows(DPID, 'app', [spec(1), spec(2), spec(3)]);
    const r = await fm.reconcile(DPID);
    expect(r.added).toBe(3);
    expect(r.failed).toEqual([
      { what: expect.stringContaining('priority=2') as string, error: expect.stringMatching(/OFPFMFC_TABLE_FULL/) as string },
    ]);
  });
});

describe('FlowManager ownership and plumbing', () => {
  it('owners: ids are unique, names resolve, cookies carry the id', () => {
    const { fm } = setup();
    expect(() => fm.registerOwner('third', 1)).toThrow(/already registered/);
    expect(() => fm.registerOwner('app', 3)).toThrow(/already registered/);
    expect(fm.registerOwner('app', 1)).toBe(1); // idempotent
    expect(fm.cookie('other', 7n)).toBe((2n << 48n) | 7n);
    expect(() => fm.setFlows(DPID, 'nobody', [])).toThrow(/unknown flow owner/);
    expect(fm.entry('app', { match: [] }).cookie).toBe(1n << 48n);
  });

  it("apply refuses to touch another owner's entry", async () => {
    const { fm } = setup();
    fm.setFlows(DPID, 'app', [spec(1)]);
    await expect(fm.apply(DPID, 'other', { add: [spec(1)] })).rejects.toBeInstanceOf(OwnershipConflictError);
    await expect(fm.apply(DPID, 'other', { remove: [spec(1)] })).rejects.toBeInstanceOf(OwnershipConflictError);
  });

  it('apply gives the flow key of each added spec, in order, the keys the desired state holds them by', async () => {
    const { fm } = setup();
    const specs = [
      spec(3, {
        match: [
          { field: 'eth_type', value: 0x800 },
          { field: 'in_port', value: 4 },
        ],
      }),
      spec(1),
      spec(2),
    ];
    const keys: string[] = [];
    await fm.apply(DPID, 'app', { add: specs }, { keys });
    expect(keys).toEqual(specs.map((s) => flowKey(fm.entry('app', s))));
    expect([...fm.desired.get(DPID).flows.keys()].sort()).toEqual([...keys].sort());
    // Another atomic apply (streamed into a bundle where the switch has taken one before; on OVS in the system tests).
    const streamed: string[] = [];
    await fm.apply(DPID, 'app', { add: [spec(6), spec(7)] }, { keys: streamed });
    expect(streamed).toEqual([spec(6), spec(7)].map((s) => flowKey(fm.entry('app', s))));
    // Plain (non-atomic) applies too.
    const more: string[] = [];
    await fm.apply(DPID, 'app', { add: [spec(5)] }, { atomic: false, keys: more });
    expect(more).toEqual([flowKey(fm.entry('app', spec(5)))]);
  });

  it('apply without a connection rejects; updateFlows queues the change for the next reconcile', async () => {
    const ctl = Object.assign(new EventEmitter(), { log: silentLogger(), get: () => undefined });
    const fm = new FlowManager(ctl as unknown as Controller);
    fm.registerOwner('app', 1);
    await expect(fm.apply(DPID, 'app', { add: [spec(1)] })).rejects.toBeInstanceOf(SwitchNotConnectedError);
    expect(fm.desiredFlows(DPID)).toEqual([]);
    fm.updateFlows(DPID, 'app', { add: [spec(1), spec(2)] });
    fm.updateFlows(DPID, 'app', { remove: [spec(1)] });
    expect(fm.desiredFlows(DPID).map((e) => e.priority)).toEqual([2]);
  });

  it("removing an entry the manager does not know deletes only this owner's flow there", async () => {
    const { fm, conn } = setup();
    await fm.apply(DPID, 'app', { remove: [spec(4)] });
    const [del] = flowMods(conn);
    expect(del).toMatchObject({ command: OFPFC.DELETE_STRICT, cookie: 1n << 48n, cookieMask: 0xffffn << 48n });
  });

  it('operations on one switch run one at a time, in call order', async () => {
    const { fm, conn } = setup();
    fm.setFlows(DPID, 'app', [spec(1)]);
    const order: string[] = [];
    const a = fm.reconcile(DPID).then(() => order.push('reconcile'));
    const b = fm.apply(DPID, 'app', { add: [spec(5)] }).then(() => order.push('apply'));
    const c = fm.apply(DPID, 'app', { add: [spec(5, { tableId: 9, match: [] })] }).then(() => order.push('apply 2'));
    await Promise.all([a, b, c]);
    expect(order).toEqual(['reconcile', 'apply', 'apply 2']);
    // The reconcile's read came before the apply's messages.
    expect(conn.trace().indexOf('flowStatsRequest')).toBeLessThan(conn.trace().indexOf('open'));
    expect(fm.desiredFlows(DPID, 'app').map((e) => flowKey(e)).length).toBe(3);
  });
});

describe('FlowManager on connect', () => {
  it("reconciles a switch that comes up, after `ready` (the apps' state) is settled", async () => {
    const conn = new FakeConn();
    const ctl = Object.assign(new EventEmitter(), { log: silentLogger(), get: () => conn });
    let release!: () => void;
    const ready = new Promise<void>((r) => {
      release = r;
    });
    const fm = new FlowManager(ctl as unknown as Controller, { ready });
    fm.registerOwner('app', 1);
    const done = new Promise((r) => fm.once('reconciled', r));
    ctl.emit('switchUp', Object.assign(conn, { dpidText: 'ab' }));
    await new Promise((r) => setTimeout(r, 20));
    expect(conn.sent).toEqual([]); // waiting for the apps
    fm.setFlows(DPID, 'app', [spec(1)]);
    release();
    await done;
    expect(conn.trace()).toContain('mod:ADD:1');
    fm.close();
    expect(ctl.listenerCount('switchUp')).toBe(0);
  });
});
