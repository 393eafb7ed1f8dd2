// Changes across several switches, all or none, against emulated switches under a real Controller: a refusal
// anywhere leaves every switch as it was, the commits follow the given order, a switch lost between prepare and
// commit, and switches without bundles (staged flows). (The same against Open vSwitch:
// test/integration/cross-switch-ovs.test.ts.)
import { afterEach, describe, expect, it } from 'vitest';
import { Controller } from '../../../controller/controller.js';
import { FlowManager } from '../../../controller/flow-manager.js';
import { CrossSwitchAbortedError, CrossSwitchRefusedError, type SwitchChange } from '../../../controller/cross-switch.js';
import { isStagingCookie } from '../../../controller/cookie.js';
import { silentLogger } from '../../../controller/log.js';
import type { FlowSpec } from '../../../controller/flow-entry.js';
import { OFPGT, type OfpMessage } from '../../../controller/openflow/index.js';
import { EmulatedSwitch } from '../../../emulator/index.js';
import { asBundleCtrl, OFPBCT } from '../../../emulator/bundle.js';

const OWNER = 'lease';

interface Fabric {
  flows: FlowManager;
  switches: EmulatedSwitch[];
  /** Per switch (1-based index - 1): the bundle control types it received, in order. */
  controls: number[][];
  sw(dpid: number): EmulatedSwitch;
  close(): Promise<void>;
}

let open: Fabric | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

function reconciled(flows: FlowManager, dpid: bigint): Promise<void> {
  return new Promise((resolve) => {
    const on = (d: bigint) => {
      if (d !== dpid) return;
      flows.off('reconciled', on);
      resolve();
    };
    flows.on('reconciled', on);
  });
}

/**
 * `n` emulated switches (dpids 1..n) connected and reconciled; those in `noBundles` answer bundles as unknown;
 * `trace` gets what each switch sends and receives.
 */
async function fabric(n: number, noBundles: number[] = [], trace?: (line: string) => void): Promise<Fabric> {
  const logger = silentLogger();
  const controller = new Controller({ port: 0, host: '127.0.0.1', logger });
  const flows = new FlowManager(controller, { logger });
  flows.registerOwner(OWNER, 0x42);
  const { port } = await controller.listen();
  const switches = Array.from(
    { length: n },
    (_, i) => new EmulatedSwitch({ dpid: BigInt(i + 1), ports: 4, port, bundles: !noBundles.includes(i + 1), trace }),
  );
  const controls = switches.map(() => [] as number[]);
  switches.forEach((s, i) =>
    s.on('message', (m: OfpMessage) => {
      const c = asBundleCtrl(m);
      if (c) controls[i]!.push(c.ctrlType);
    }),
  );
  for (const s of switches) {
    flows.setFlows(s.dpid, OWNER, []);
    const done = reconciled(flows, s.dpid);
    await s.connect();
    await done;
  }
  open = {
    flows,
    switches,
    controls,
    sw: (d) => switches[d - 1]!,
    close: async () => {
      flows.close();
      await Promise.all(switches.map((s) => s.close()));
      await controller.close();
    },
  };
  return open;
}

/** A lease-sized change: 8 flows on a switch (in port 1 from 10.0.0.i, out port 2). */
const leaseFlows = (count = 8): FlowSpec[] =>
  Array.from({ length: count }, (_, i) => ({
    priority: 3000,
    match: [
      { field: 'in_port', value: 1 },
      { field: 'eth_type', value: 0x0800 },
      { field: 'ipv4_src', value: `10.0.0.${i + 1}` },
    ],
    instructions: [{ type: 'applyActions', actions: [{ type: 'output', port: 2, maxLen: 0 }] }],
    cookie: (0x42n << 48n) | 7n,
  }));

/** Refused when it is added (Open vSwitch and the emulator check goto_table direction at once). */
const backwardsGoto: FlowSpec = {
  tableId: 1,
  priority: 10,
  match: [{ field: 'in_port', value: 3 }],
  instructions: [{ type: 'gotoTable', tableId: 0 }],
};

/** Refused only when applied: the group does not exist (checked against the table's state, at commit). */
const toMissingGroup: FlowSpec = {
  priority: 10,
  match: [{ field: 'in_port', value: 3 }],
  instructions: [{ type: 'applyActions', actions: [{ type: 'group', groupId: 99 }] }],
};

const up = (dpids: number[], extra: Record<number, FlowSpec[]> = {}): SwitchChange[] =>
  dpids.map((d) => ({ dpid: BigInt(d), owner: OWNER, add: [...leaseFlows(), ...(extra[d] ?? [])] }));

const leaseFlowCount = (s: EmulatedSwitch) => s.pipeline.flows().filter((e) => e.cookie >> 48n === 0x42n).length;
const stagedCount = (s: EmulatedSwitch) => s.pipeline.flows().filter((e) => isStagingCookie(e.cookie)).length;
const commits = (f: Fabric, d: number) => f.controls[d - 1]!.filter((t) => t === OFPBCT.COMMIT_REQUEST).length;
const lease = { in_port: 1, eth_type: 0x0800, ipv4_src: '10.0.0.3' };

describe('FlowManager.applyAcross (bundles)', () => {
  it('commits on every switch in the order given: each switch commits only once the one before it holds the change', async () => {
    const f = await fabric(3);
    const seenAtCommit: Record<number, number[]> = {};
    f.switches.forEach((s, i) =>
      s.on('message', (m: OfpMessage) => {
        if (asBundleCtrl(m)?.ctrlType === OFPBCT.COMMIT_REQUEST) seenAtCommit[i + 1] = f.switches.map(leaseFlowCount);
      }),
    );
    const r = await f.flows.applyAcross(up([3, 2, 1])); // the exit (3) first, the entry (1) last
    expect(seenAtCommit).toEqual({ 3: [0, 0, 0], 2: [0, 0, 8], 1: [0, 8, 8] });
    expect(r.switches.map((s) => [s.dpid, s.path, s.added])).toEqual([
      [3n, 'bundle', 8],
      [2n, 'bundle', 8],
      [1n, 'bundle', 8],
    ]);
    // Prepared with a close before any commit: OPEN, CLOSE, COMMIT on each.
    for (const d of [1, 2, 3]) expect(f.controls[d - 1]).toEqual([OFPBCT.OPEN_REQUEST, OFPBCT.CLOSE_REQUEST, OFPBCT.COMMIT_REQUEST]);
    for (const d of [1, 2, 3]) {
      expect(f.sw(d).injectPacket(1, Buffer.alloc(60), lease).outputs).toEqual([2]);
      expect(f.flows.desiredFlows(BigInt(d), OWNER)).toHaveLength(8);
      expect(await f.flows.reconcile(BigInt(d))).toMatchObject({ added: 0, deleted: 0, modified: 0, unchanged: 8 });
    }
  });

  it('switches of one stage commit at once: the exit and the core together, then the entry', async () => {
    // Switch 3 stops reading once prepared: its commit waits, and switch 2's must not wait for it.
    let armed = false;
    const f: Fabric = await fabric(3, [], (line) => {
      if (armed && line.startsWith('3 -> OFPT_BARRIER_REPLY')) {
        armed = false;
        f.sw(3).stall(); // (armed only once f is set)
      }
    });
    f.sw(3).on('message', (m: OfpMessage) => {
      if (asBundleCtrl(m)?.ctrlType === OFPBCT.CLOSE_REQUEST) armed = true;
    });
    const changes = up([3, 2, 1]).map((c, i) => ({ ...c, stage: i < 2 ? 0 : 1 }));
    const done = f.flows.applyAcross(changes);
    const until = Date.now() + 3000;
    while (leaseFlowCount(f.sw(2)) < 8 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    const whileStalled = f.switches.map(leaseFlowCount);
    f.sw(3).resume();
    await done;
    expect(whileStalled).toEqual([0, 8, 0]);
    expect(f.switches.map(leaseFlowCount)).toEqual([8, 8, 8]);
  });

  it('a flow-mod refused at prepare on switch 3: nothing on 1 and 2, no switch got a commit, nothing desired', async () => {
    const f = await fabric(3);
    const err = await f.flows.applyAcross(up([1, 2, 3], { 3: [backwardsGoto] })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CrossSwitchRefusedError);
    const e = err as CrossSwitchRefusedError;
    expect(e).toMatchObject({ failedDpid: 3n, phase: 'prepare', undone: [], uncertain: [] });
    expect(e.message).toContain('switch 0000000000000003 refused');
    expect(e.message).toContain('goto_table:0');
    expect(e.message).toContain('nothing applied on any of 3 switches');
    for (const d of [1, 2, 3]) {
      expect(leaseFlowCount(f.sw(d))).toBe(0);
      expect(commits(f, d)).toBe(0);
      expect(f.flows.desiredFlows(BigInt(d), OWNER)).toEqual([]);
    }
    // Switches 1 and 2 were prepared, then discarded.
    expect(f.controls[0]).toEqual([OFPBCT.OPEN_REQUEST, OFPBCT.CLOSE_REQUEST, OFPBCT.DISCARD_REQUEST]);
  });

  it('a flow-mod refused at commit on switch 3: the commits of 1 and 2 are undone, nothing desired', async () => {
    const f = await fabric(3);
    const err = await f.flows.applyAcross(up([1, 2, 3], { 3: [toMissingGroup] })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CrossSwitchRefusedError);
    expect(err).toMatchObject({ failedDpid: 3n, phase: 'commit', undone: [2n, 1n], undoFailures: [] });
    expect((err as Error).message).toContain('group:99');
    expect((err as Error).message).toContain('undone on 0000000000000002, 0000000000000001');
    // Switch 1 committed, then took an atomic bundle of the undo.
    const { OPEN_REQUEST: O, CLOSE_REQUEST: C, COMMIT_REQUEST: M } = OFPBCT;
    expect(f.controls[0]).toEqual([O, C, M, O, M]);
    for (const d of [1, 2, 3]) {
      expect(leaseFlowCount(f.sw(d))).toBe(0);
      expect(f.flows.desiredFlows(BigInt(d), OWNER)).toEqual([]);
    }
  });

  it('a switch lost between prepare and commit: its bundle dies with it, the others are undone, its reconnect changes nothing', async () => {
    const f = await fabric(3);
    // Switch 3 dies when switch 1 gets its commit: prepared, never committed.
    f.sw(1).on('message', (m: OfpMessage) => {
      if (asBundleCtrl(m)?.ctrlType !== OFPBCT.COMMIT_REQUEST) return;
      f.sw(3).stall();
      void f.sw(3).disconnect();
    });
    const err = await f.flows.applyAcross(up([1, 2, 3])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CrossSwitchAbortedError);
    expect(err).toMatchObject({ failedDpid: 3n, phase: 'commit', undone: [2n, 1n], uncertain: [3n] });
    for (const d of [1, 2, 3]) expect(leaseFlowCount(f.sw(d))).toBe(0);
    expect(f.flows.desiredFlows(3n, OWNER)).toEqual([]);
    f.sw(3).resume();
    const done = reconciled(f.flows, 3n);
    await f.sw(3).connect();
    await done;
    expect(leaseFlowCount(f.sw(3))).toBe(0);
  });

  it('a committed switch lost before its undo keeps the change until its reconnect reconciles it away', async () => {
    const f = await fabric(3);
    f.sw(2).on('message', (m: OfpMessage) => {
      if (asBundleCtrl(m)?.ctrlType !== OFPBCT.COMMIT_REQUEST) return;
      f.sw(1).stall(); // switch 1 has committed
      void f.sw(1).disconnect();
    });
    const err = await f.flows.applyAcross(up([1, 2, 3], { 3: [toMissingGroup] })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CrossSwitchRefusedError);
    const e = err as CrossSwitchRefusedError;
    expect(e).toMatchObject({ failedDpid: 3n, phase: 'commit', undone: [2n, 1n], uncertain: [1n] });
    expect(e.undoFailures.map((u) => u.dpid)).toEqual([1n]);
    expect(e.message).toContain('undo failed on 0000000000000001');
    expect(f.switches.map(leaseFlowCount)).toEqual([8, 0, 0]);
    expect(f.flows.desiredFlows(1n, OWNER)).toEqual([]);
    f.sw(1).resume();
    const done = reconciled(f.flows, 1n);
    await f.sw(1).connect();
    await done;
    expect(leaseFlowCount(f.sw(1))).toBe(0);
  });

  it('a lease going down: removed everywhere, entry first; no flow-removed is taken for a loss', async () => {
    const f = await fabric(3);
    const withRem = (d: number): SwitchChange => ({ dpid: BigInt(d), owner: OWNER, add: leaseFlows().map((s) => ({ ...s, flags: 1 })) });
    await f.flows.applyAcross([withRem(3), withRem(2), withRem(1)]);
    const lost: string[] = [];
    f.flows.on('flowLost', (d) => lost.push(String(d)));
    const r = await f.flows.applyAcross([1, 2, 3].map((d) => ({ dpid: BigInt(d), owner: OWNER, remove: leaseFlows() })));
    expect(r.switches.map((s) => s.deleted)).toEqual([8, 8, 8]);
    for (const d of [1, 2, 3]) expect(leaseFlowCount(f.sw(d))).toBe(0);
    await new Promise((res) => setTimeout(res, 50));
    expect(lost).toEqual([]);
  });

  it('group-mods go in the same change: the group before the flows that use it', async () => {
    const f = await fabric(2);
    const group = {
      groupId: 7,
      groupType: OFPGT.SELECT,
      buckets: [{ weight: 1, watchPort: 0xffffffff, watchGroup: 0xffffffff, actions: [{ type: 'output' as const, port: 2, maxLen: 0 }] }],
    };
    const viaGroup: FlowSpec = { ...toMissingGroup, instructions: [{ type: 'applyActions', actions: [{ type: 'group', groupId: 7 }] }] };
    await f.flows.applyAcross([1, 2].map((d) => ({ dpid: BigInt(d), owner: OWNER, add: [viaGroup], groups: [{ command: 'add' as const, group }] })));
    for (const d of [1, 2]) {
      expect(f.sw(d).pipeline.groups.has(7)).toBe(true);
      expect(f.flows.desired.get(BigInt(d)).groups.has(7)).toBe(true);
    }
  });

  it('a switch with a part in two stages: the first stage commits everywhere before its second part', async () => {
    const f = await fabric(2);
    const [first, second] = [leaseFlows(8).slice(0, 4), leaseFlows(8).slice(4)];
    let atSecond: { one: number; two: number } | undefined;
    let commitsOnOne = 0;
    f.sw(1).on('message', (m: OfpMessage) => {
      if (asBundleCtrl(m)?.ctrlType !== OFPBCT.COMMIT_REQUEST || ++commitsOnOne !== 2) return;
      atSecond = { one: leaseFlowCount(f.sw(1)), two: leaseFlowCount(f.sw(2)) };
    });
    await f.flows.applyAcross([
      { dpid: 1n, owner: OWNER, stage: 0, add: first },
      { dpid: 2n, owner: OWNER, stage: 0, add: leaseFlows() },
      { dpid: 1n, owner: OWNER, stage: 1, add: second },
    ]);
    // At switch 1's second commit, its first part and switch 2's whole part were in.
    expect(atSecond).toEqual({ one: 4, two: 8 });
    expect(leaseFlowCount(f.sw(1))).toBe(8);
    expect(f.flows.desired.get(1n).flows.size).toBeGreaterThanOrEqual(8);
  });

  it('rejects a switch given twice in one stage, an unknown owner and a switch not connected, sending nothing', async () => {
    const f = await fabric(1);
    const once = up([1]).map((c) => ({ ...c, stage: 0 }));
    await expect(f.flows.applyAcross([...once, ...once])).rejects.toThrow(/given twice in one stage/);
    await expect(f.flows.applyAcross([{ dpid: 1n, owner: 'nobody', add: leaseFlows() }])).rejects.toThrow(/unknown flow owner/);
    await expect(f.flows.applyAcross(up([1, 9]))).rejects.toThrow(/not connected/);
    expect(f.controls[0]).toEqual([]);
  });
});

describe('FlowManager.applyAcross on switches without bundles (staged flows)', () => {
  it('stages entries that match nothing, then makes them live at commit', async () => {
    const f = await fabric(3, [2]);
    let atCommit: { staged: number; live: number; hit: number[] } | undefined;
    f.sw(1).on('message', (m: OfpMessage) => {
      if (asBundleCtrl(m)?.ctrlType !== OFPBCT.COMMIT_REQUEST) return;
      atCommit = { staged: stagedCount(f.sw(2)), live: leaseFlowCount(f.sw(2)), hit: f.sw(2).injectPacket(1, Buffer.alloc(60), lease).outputs };
    });
    const r = await f.flows.applyAcross(up([1, 2, 3]));
    expect(atCommit).toEqual({ staged: 8, live: 0, hit: [] });
    expect(r.switches.map((s) => s.path)).toEqual(['bundle', 'staged', 'bundle']);
    expect(f.flows.bundlesSupported(2n)).toBe(false);
    expect(stagedCount(f.sw(2))).toBe(0);
    expect(leaseFlowCount(f.sw(2))).toBe(8);
    expect(f.sw(2).injectPacket(1, Buffer.alloc(60), lease).outputs).toEqual([2]);
    expect(await f.flows.reconcile(2n)).toMatchObject({ added: 0, deleted: 0, unchanged: 8 });
  });

  it('a flow refused while staging (its group does not exist): nothing on any switch, no staged entry left', async () => {
    const f = await fabric(3, [3]);
    const err = await f.flows.applyAcross(up([1, 2, 3], { 3: [toMissingGroup] })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CrossSwitchRefusedError);
    expect(err).toMatchObject({ failedDpid: 3n, phase: 'prepare' });
    expect((err as Error).message).toContain('staged');
    for (const d of [1, 2, 3]) {
      expect(leaseFlowCount(f.sw(d))).toBe(0);
      expect(stagedCount(f.sw(d))).toBe(0);
      expect(commits(f, d)).toBe(0);
    }
  });

  it('a switch lost between prepare and commit keeps its staged entries until its reconnect reconciles them away', async () => {
    const f = await fabric(3, [3]);
    f.sw(1).on('message', (m: OfpMessage) => {
      if (asBundleCtrl(m)?.ctrlType !== OFPBCT.COMMIT_REQUEST) return;
      f.sw(3).stall();
      void f.sw(3).disconnect();
    });
    const err = await f.flows.applyAcross(up([1, 2, 3])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CrossSwitchAbortedError);
    expect(err).toMatchObject({ failedDpid: 3n, undone: [2n, 1n] });
    for (const d of [1, 2]) expect(leaseFlowCount(f.sw(d))).toBe(0);
    expect(stagedCount(f.sw(3))).toBe(8); // left behind, matching nothing
    expect(leaseFlowCount(f.sw(3))).toBe(0);
    expect(f.sw(3).injectPacket(1, Buffer.alloc(60), lease).outputs).toEqual([]);
    f.sw(3).resume();
    const done = reconciled(f.flows, 3n);
    await f.sw(3).connect();
    await done;
    expect(stagedCount(f.sw(3))).toBe(0);
  });

  it('with bundles turned off in the manager, every switch stages', async () => {
    const f = await fabric(2);
    const logger = silentLogger();
    const flows = new FlowManager((f.flows as unknown as { controller: Controller }).controller, {
      logger,
      bundles: false,
      reconcileOnConnect: false,
    });
    flows.registerOwner(OWNER, 0x42);
    const r = await flows.applyAcross(up([1, 2]));
    flows.close();
    expect(r.switches.map((s) => s.path)).toEqual(['staged', 'staged']);
    for (const d of [1, 2]) expect(f.controls[d - 1]).toEqual([]);
    for (const d of [1, 2]) expect(leaseFlowCount(f.sw(d))).toBe(8);
  });
});
