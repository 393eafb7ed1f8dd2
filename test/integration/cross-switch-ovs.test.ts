/**
 * A change across three Open vSwitch bridges (one private ovs-vswitchd, lab/private-ovs.ts), all or none: a flow-mod
 * OVS refuses on the third bridge leaves nothing on the first two, whether OVS refuses it when it is added to the
 * bundle (goto_table backwards) or only when the bundle is committed (a group that does not exist); a good change
 * lands on all three. The same with bundles turned off (staged flows). `ovs-ofctl dump-flows` is the judge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller } from '../../controller/controller.js';
import { FlowManager } from '../../controller/flow-manager.js';
import { CrossSwitchRefusedError, type SwitchChange } from '../../controller/cross-switch.js';
import { silentLogger } from '../../controller/log.js';
import type { FlowSpec } from '../../controller/flow-entry.js';
import { PrivateOvs } from '../../lab/private-ovs.js';

const BRIDGES = ['xa', 'xb', 'xc'];
const DPIDS = [0xc0001n, 0xc0002n, 0xc0003n];
const OWNER = 'lease';
const OWNER_ID = 0x42;

let ovs: PrivateOvs;
let ctl: Controller;
let fm: FlowManager;

/** The flow lines of a bridge whose cookie has `top16` as its top 16 bits. */
async function flowsOf(bridge: string, top16: number): Promise<string[]> {
  const text = await ovs.ofctl('dump-flows', bridge);
  return text.split('\n').filter((l) => {
    const m = /cookie=0x([0-9a-f]+)/.exec(l);
    return m !== null && BigInt(`0x${m[1]}`) >> 48n === BigInt(top16);
  });
}

/** 8 flows of a lease on a bridge (its number in the cookie's low bits and in the addresses). */
const leaseFlows = (lease: number): FlowSpec[] =>
  Array.from({ length: 8 }, (_, i) => ({
    priority: 3000,
    cookie: (BigInt(OWNER_ID) << 48n) | BigInt(lease),
    match: [
      { field: 'in_port', value: 1 },
      { field: 'eth_type', value: 0x0800 },
      { field: 'ipv4_src', value: `10.${lease}.0.${i + 1}` },
    ],
    instructions: [{ type: 'applyActions', actions: [{ type: 'output', port: 2, maxLen: 0 }] }],
  }));

const backwardsGoto: FlowSpec = {
  tableId: 2,
  priority: 10,
  match: [{ field: 'in_port', value: 3 }],
  instructions: [{ type: 'gotoTable', tableId: 1 }],
};
const toMissingGroup: FlowSpec = {
  priority: 10,
  match: [{ field: 'in_port', value: 3 }],
  instructions: [{ type: 'applyActions', actions: [{ type: 'group', groupId: 4242 }] }],
};

const change = (lease: number, lastExtra?: FlowSpec): SwitchChange[] =>
  DPIDS.map((dpid, i) => ({ dpid, owner: OWNER, add: [...leaseFlows(lease), ...(i === 2 && lastExtra ? [lastExtra] : [])] }));

beforeAll(async () => {
  ovs = await new PrivateOvs().start();
  ctl = new Controller({ port: 0, host: '127.0.0.1', logger: silentLogger() });
  fm = new FlowManager(ctl, { logger: silentLogger() });
  fm.registerOwner(OWNER, OWNER_ID);
  for (const d of DPIDS) fm.setFlows(d, OWNER, []);
  const { port } = await ctl.listen();
  const pending = new Set(DPIDS);
  const allUp = new Promise<void>((resolve) =>
    fm.on('reconciled', (d) => {
      pending.delete(d);
      if (pending.size === 0) resolve();
    }),
  );
  for (const [i, br] of BRIDGES.entries()) {
    await ovs.addBridge(br, DPIDS[i]!, { controller: `tcp:127.0.0.1:${port}`, ports: [`${br}p1`, `${br}p2`, `${br}p3`] });
  }
  await allUp;
});

afterAll(async () => {
  fm?.close();
  await ctl?.close();
  await ovs?.stop();
});

describe('FlowManager.applyAcross against Open vSwitch (bundles)', () => {
  it('a good change lands on all three bridges, in bundles', async () => {
    const r = await fm.applyAcross(change(1).reverse()); // the exit first
    expect(r.switches.map((s) => [s.path, s.added])).toEqual([
      ['bundle', 8],
      ['bundle', 8],
      ['bundle', 8],
    ]);
    for (const br of BRIDGES) expect(await flowsOf(br, OWNER_ID)).toHaveLength(8);
    for (const d of DPIDS) expect(await fm.reconcile(d)).toMatchObject({ added: 0, deleted: 0, modified: 0, unchanged: 8, failed: [] });
  });

  it('refused when added to the third bridge (goto_table backwards): nothing on the first two', async () => {
    const err = await fm.applyAcross(change(2, backwardsGoto)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CrossSwitchRefusedError);
    expect(err).toMatchObject({ failedDpid: DPIDS[2], phase: 'prepare', undone: [] });
    expect((err as Error).message).toContain('goto_table:1');
    for (const br of BRIDGES) expect(await flowsOf(br, OWNER_ID)).toHaveLength(8); // lease 1 only
  });

  it('refused at commit on the third bridge (a group that does not exist): the first two are undone', async () => {
    const err = await fm.applyAcross(change(3, toMissingGroup)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CrossSwitchRefusedError);
    expect(err).toMatchObject({ failedDpid: DPIDS[2], phase: 'commit', undone: [DPIDS[1], DPIDS[0]], undoFailures: [] });
    expect((err as Error).message).toContain('group:4242');
    for (const br of BRIDGES) {
      const flows = await flowsOf(br, OWNER_ID);
      expect(flows).toHaveLength(8);
      expect(flows.join('\n')).not.toContain('10.3.0.');
    }
    for (const d of DPIDS) expect(fm.desiredFlows(d, OWNER)).toHaveLength(8);
  });

  it('the lease goes down everywhere, entry first', async () => {
    const r = await fm.applyAcross(DPIDS.map((dpid) => ({ dpid, owner: OWNER, remove: leaseFlows(1) })));
    expect(r.switches.map((s) => s.deleted)).toEqual([8, 8, 8]);
    for (const br of BRIDGES) expect(await flowsOf(br, OWNER_ID)).toEqual([]);
  });
});

describe('FlowManager.applyAcross against Open vSwitch, bundles off (staged flows)', () => {
  let staged: FlowManager;
  beforeAll(() => {
    staged = new FlowManager(ctl, { logger: silentLogger(), bundles: false, reconcileOnConnect: false });
    staged.registerOwner(OWNER, OWNER_ID);
  });
  afterAll(() => staged?.close());

  it('refused while staging on the third bridge: nothing on any bridge, no staged entry left', async () => {
    const err = await staged.applyAcross(change(4, toMissingGroup)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CrossSwitchRefusedError);
    expect(err).toMatchObject({ failedDpid: DPIDS[2], phase: 'prepare' });
    for (const br of BRIDGES) {
      expect(await flowsOf(br, OWNER_ID)).toEqual([]);
      expect(await flowsOf(br, 0xffff)).toEqual([]);
    }
  });

  it('a good change lands on all three bridges; the staged entries are gone', async () => {
    const r = await staged.applyAcross(change(5));
    expect(r.switches.map((s) => s.path)).toEqual(['staged', 'staged', 'staged']);
    for (const br of BRIDGES) {
      expect(await flowsOf(br, OWNER_ID)).toHaveLength(8);
      expect(await flowsOf(br, 0xffff)).toEqual([]);
    }
  });
});
