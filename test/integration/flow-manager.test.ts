/**
 * Flow ownership, reconciliation and atomic change groups against real Open vSwitch (a private ovsdb-server +
 * ovs-vswitchd, userspace datapath, lab/private-ovs.ts). OVS is the judge: what `ovs-ofctl dump-flows`,
 * `dump-meters` and `dump-groups` print (parsed here, compared with expectations written by hand in OVS's own
 * text) is the proof, and the flows' `duration` proves that correct flows are left alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller } from '../../controller/controller.js';
import { SwitchError } from '../../controller/errors.js';
import { FlowManager, type ReconcileReport } from '../../controller/flow-manager.js';
import { AtomicGroupError } from '../../controller/atomic.js';
import type { FlowSpec, GroupEntry, MeterEntry } from '../../controller/flow-entry.js';
import { OFPET, OFPBIC, OFPMMFC, OFPBAC, OFPFF, OFPMF, OFPGT, OFPP, OFPG, type Instruction, type Action } from '../../controller/openflow/index.js';
import { PrivateOvs } from '../../lab/private-ovs.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- reading OVS's answers ----------------------------------------------------------------------------------------

interface Dumped {
  cookie: string;
  duration: number;
  table: number;
  priority: number;
  hardTimeout: number;
  flags: string[];
  match: string;
  actions: string;
}

/** Parses `ovs-ofctl -O OpenFlow13 dump-flows` lines. */
function parseFlows(text: string): Dumped[] {
  const out: Dumped[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*cookie=(0x[0-9a-f]+), duration=([\d.]+)s, table=(\d+), n_packets=\d+, n_bytes=\d+, (.*)$/.exec(line);
    if (!m) continue;
    let rest = m[4]!;
    let hardTimeout = 0;
    for (let t; (t = /^(idle_timeout|hard_timeout|idle_age|hard_age|importance)=(\d+), /.exec(rest)); rest = rest.slice(t[0].length)) {
      if (t[1] === 'hard_timeout') hardTimeout = Number(t[2]);
    }
    const flags: string[] = [];
    for (let t; (t = /^(send_flow_rem|check_overlap|reset_counts|no_packet_counts|no_byte_counts) /.exec(rest)); rest = rest.slice(t[0].length))
      flags.push(t[1]!);
    const at = rest.lastIndexOf(' actions=');
    let matchText = at >= 0 ? rest.slice(0, at) : rest;
    const actions = at >= 0 ? rest.slice(at + ' actions='.length) : '';
    if (matchText.startsWith('actions=')) matchText = '';
    let priority = 32768;
    const p = /^priority=(\d+),?/.exec(matchText);
    if (p) {
      priority = Number(p[1]);
      matchText = matchText.slice(p[0].length);
    }
    out.push({ cookie: m[1]!, duration: Number(m[2]), table: Number(m[3]), priority, hardTimeout, flags, match: matchText, actions });
  }
  return out;
}

/** A flow as the test expects OVS to print it. */
interface Expect {
  table: number;
  priority: number;
  cookie: string;
  match: string;
  actions: string;
  flags?: string[];
}

const id = (f: { table: number; priority: number; match: string }) => `${f.table}/${f.priority}/${f.match}`;
const content = (f: Dumped | Expect) => ({
  table: f.table,
  priority: f.priority,
  cookie: f.cookie,
  match: f.match,
  actions: f.actions,
  flags: f.flags ?? [],
});
const sorted = <T extends { table: number; priority: number; match: string }>(l: T[]) => [...l].sort((a, b) => id(a).localeCompare(id(b)));

// ---- what the apps want --------------------------------------------------------------------------------------------

const out = (port: number, maxLen = 0): Action => ({ type: 'output', port, maxLen });
const apply = (...actions: Action[]): Instruction => ({ type: 'applyActions', actions });

const BASE = 'base';
const LEASE = 'lease';
const cookieText = (owner: number, low = 0) => `0x${((BigInt(owner) << 48n) | BigInt(low)).toString(16)}`;

/** The base app's flows, written the way an app might (fields out of order, sloppy masks), and OVS's text for each. */
function baseFlows(): [FlowSpec, Expect][] {
  return [
    [
      {
        tableId: 0,
        priority: 100,
        match: [
          { field: 'ipv4_dst', value: '10.0.0.77', mask: '255.255.255.0' },
          { field: 'eth_type', value: 0x800 },
          { field: 'in_port', value: 1 },
        ],
        instructions: [apply(out(2))],
      },
      { table: 0, priority: 100, cookie: cookieText(1), match: 'ip,in_port=1,nw_dst=10.0.0.0/24', actions: 'output:2' },
    ],
    [
      {
        tableId: 0,
        priority: 50,
        match: [{ field: 'in_port', value: 2 }],
        instructions: [{ type: 'gotoTable', tableId: 1 }, apply(out(OFPP.CONTROLLER, 0xffe5))],
      },
      { table: 0, priority: 50, cookie: cookieText(1), match: 'in_port=2', actions: 'CONTROLLER:65509,goto_table:1' },
    ],
    [
      { tableId: 0, priority: 0, match: [], instructions: [] },
      { table: 0, priority: 0, cookie: cookieText(1), match: '', actions: 'drop' },
    ],
    [
      {
        tableId: 1,
        priority: 10,
        match: [
          { field: 'tcp_dst', value: 80 },
          { field: 'ip_proto', value: 6 },
          { field: 'eth_type', value: 0x800 },
        ],
        instructions: [apply(out(1)), { type: 'meter', meterId: 1 }],
      },
      { table: 1, priority: 10, cookie: cookieText(1), match: 'tcp,tp_dst=80', actions: 'meter:1,output:1' },
    ],
    [
      {
        tableId: 1,
        priority: 5,
        flags: OFPFF.SEND_FLOW_REM,
        match: [
          { field: 'vlan_vid', value: 0x1005 },
          { field: 'eth_dst', value: '01:00:00:00:00:00', mask: '01:00:00:00:00:00' },
        ],
        instructions: [{ type: 'writeMetadata', metadata: 5n, metadataMask: 0xffn }, apply({ type: 'popVlan' }, out(1))],
      },
      {
        table: 1,
        priority: 5,
        cookie: cookieText(1),
        match: 'dl_vlan=5,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00',
        actions: 'pop_vlan,output:1,write_metadata:0x5/0xff',
        flags: ['send_flow_rem'],
      },
    ],
    [
      {
        tableId: 1,
        priority: 20,
        match: [
          { field: 'eth_type', value: 0x800 },
          { field: 'ip_proto', value: 17 },
        ],
        instructions: [apply({ type: 'group', groupId: 1 })],
      },
      { table: 1, priority: 20, cookie: cookieText(1), match: 'udp', actions: 'group:1' },
    ],
    [
      {
        tableId: 1,
        priority: 30,
        cookie: (1n << 48n) | 3n,
        match: [
          { field: 'eth_type', value: 0x800 },
          { field: 'ipv4_src', value: '10.1.2.3', mask: '255.255.255.255' },
          { field: 'ipv4_dst', value: '9.9.9.9', mask: '0.0.0.0' },
        ],
        instructions: [apply({ type: 'setField', field: { field: 'eth_dst', value: '02:00:00:00:00:01' } }, out(2))],
      },
      { table: 1, priority: 30, cookie: cookieText(1, 3), match: 'ip,nw_src=10.1.2.3', actions: 'set_field:02:00:00:00:00:01->eth_dst,output:2' },
    ],
    [
      {
        tableId: 1,
        priority: 40,
        match: [{ field: 'in_port', value: 3 }],
        instructions: [
          apply({ type: 'pushVlan', ethertype: 0x8100 }, { type: 'setField', field: { field: 'vlan_vid', value: 0x1064 } }, out(2)),
          { type: 'writeActions', actions: [out(1)] },
        ],
      },
      {
        table: 1,
        priority: 40,
        cookie: cookieText(1),
        match: 'in_port=3',
        actions: 'push_vlan:0x8100,set_field:4196->vlan_vid,output:2,write_actions(output:1)',
      },
    ],
    [
      {
        tableId: 1,
        priority: 50,
        match: [
          { field: 'udp_dst', value: 53 },
          { field: 'ipv6_src', value: '2001:db8::1', mask: 'ffff:ffff::' },
          { field: 'ip_proto', value: 17 },
          { field: 'eth_type', value: 0x86dd },
        ],
        instructions: [apply({ type: 'decNwTtl' }, out(2))],
      },
      { table: 1, priority: 50, cookie: cookieText(1), match: 'udp6,ipv6_src=2001:db8::/32,tp_dst=53', actions: 'dec_ttl,output:2' },
    ],
    [
      {
        tableId: 1,
        priority: 51,
        match: [
          { field: 'ipv6_nd_target', value: 'fe80::1' },
          { field: 'icmpv6_type', value: 135 },
          { field: 'ip_proto', value: 58 },
          { field: 'eth_type', value: 0x86dd },
        ],
        instructions: [apply(out(OFPP.CONTROLLER, 0), out(OFPP.IN_PORT))],
      },
      { table: 1, priority: 51, cookie: cookieText(1), match: 'icmp6,icmp_type=135,nd_target=fe80::1', actions: 'CONTROLLER:0,IN_PORT' },
    ],
  ];
}

/** The lease app's flows: a lease (number 7) with a hard timeout. */
function leaseFlows(): [[FlowSpec, Expect], [FlowSpec, Expect]] {
  return [
    [
      {
        tableId: 0,
        priority: 200,
        cookie: (2n << 48n) | 7n,
        hardTimeout: 300,
        match: [
          { field: 'eth_type', value: 0x800 },
          { field: 'ipv4_src', value: '192.0.2.10' },
          { field: 'ip_proto', value: 6 },
          { field: 'tcp_dst', value: 22 },
        ],
        instructions: [apply(out(2))],
      },
      { table: 0, priority: 200, cookie: cookieText(2, 7), match: 'tcp,nw_src=192.0.2.10,tp_dst=22', actions: 'output:2' },
    ],
    [
      {
        tableId: 0,
        priority: 200,
        cookie: (2n << 48n) | 7n,
        hardTimeout: 300,
        match: [
          { field: 'eth_type', value: 0x800 },
          { field: 'ipv4_dst', value: '192.0.2.10' },
          { field: 'ip_proto', value: 6 },
          { field: 'tcp_src', value: 22 },
        ],
        instructions: [apply(out(1))],
      },
      { table: 0, priority: 200, cookie: cookieText(2, 7), match: 'tcp,nw_dst=192.0.2.10,tp_src=22', actions: 'output:1' },
    ],
  ];
}

/** How many flows the apps declare. */
const ALL = baseFlows().length + leaseFlows().length;

const METERS: MeterEntry[] = [
  { meterId: 1, flags: OFPMF.KBPS | OFPMF.BURST | OFPMF.STATS, bands: [{ type: 'drop', rate: 1000, burstSize: 100 }] },
  { meterId: 2, flags: OFPMF.PKTPS, bands: [{ type: 'drop', rate: 50, burstSize: 0 }] },
];
const bucket = (...actions: Action[]) => ({ weight: 0, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions });
const GROUPS: GroupEntry[] = [
  { groupId: 1, groupType: OFPGT.ALL, buckets: [bucket(out(1)), bucket(out(2))] },
  {
    groupId: 2,
    groupType: OFPGT.SELECT,
    buckets: [
      { ...bucket(out(1)), weight: 50 },
      { ...bucket(out(2)), weight: 50 },
    ],
  },
  { groupId: 3, groupType: OFPGT.INDIRECT, buckets: [bucket({ type: 'group', groupId: 1 })] },
];

// ---- harness ---------------------------------------------------------------------------------------------------------

const DPID = 0xf10001n;
const DPID_FALLBACK = 0xf10002n;
let ovs: PrivateOvs;

function nextReport(fm: FlowManager, dpid: bigint, ms = 20_000): Promise<ReconcileReport> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      fm.off('reconciled', on);
      reject(new Error(`no reconcile of ${dpid.toString(16)} within ${ms} ms`));
    }, ms);
    const on = (d: bigint, r: ReconcileReport) => {
      if (d !== dpid) return;
      clearTimeout(timer);
      fm.off('reconciled', on);
      resolve(r);
    };
    fm.on('reconciled', on);
  });
}

async function dump(bridge: string): Promise<Dumped[]> {
  return parseFlows(await ovs.ofctl('dump-flows', bridge));
}

async function expectTable(bridge: string, want: Expect[]): Promise<Dumped[]> {
  const have = await dump(bridge);
  expect(sorted(have).map(content)).toEqual(sorted(want).map(content));
  return have;
}

function declare(fm: FlowManager, dpid: bigint, opts: { base?: [FlowSpec, Expect][]; lease?: [FlowSpec, Expect][] } = {}): Expect[] {
  const base = opts.base ?? baseFlows();
  const lease = opts.lease ?? leaseFlows();
  fm.setFlows(
    dpid,
    BASE,
    base.map(([s]) => s),
  );
  fm.setFlows(
    dpid,
    LEASE,
    lease.map(([s]) => s),
  );
  fm.setMeters(dpid, METERS);
  fm.setGroups(dpid, GROUPS);
  return [...base, ...lease].map(([, e]) => e);
}

function newManager(ctl: Controller, opts: { bundles?: boolean } = {}): FlowManager {
  const fm = new FlowManager(ctl, opts);
  fm.registerOwner(BASE, 1);
  fm.registerOwner(LEASE, 2);
  return fm;
}

const METER_TEXT = ['meter=1 kbps burst stats bands=', 'type=drop rate=1000 burst_size=100', 'meter=2 pktps bands=', 'type=drop rate=50'];
const GROUP_TEXT = [
  'group_id=1,type=all,bucket=actions=output:1,bucket=actions=output:2',
  'group_id=2,type=select,bucket=weight:50,actions=output:1,bucket=weight:50,actions=output:2',
  'group_id=3,type=indirect,bucket=actions=group:1',
];
const lines = (s: string) =>
  s
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('OFPST_'));

beforeAll(async () => {
  ovs = await new PrivateOvs().start();
});

afterAll(async () => {
  await ovs?.stop();
});

describe('FlowManager against Open vSwitch', () => {
  let ctl: Controller;
  let fm: FlowManager;
  let port: number;
  let expected: Expect[];

  afterAll(async () => {
    fm?.close();
    await ctl?.close();
  });

  it('installs the declared flows, meters and groups when the switch connects', async () => {
    ctl = new Controller({ port: 0, host: '127.0.0.1' });
    fm = newManager(ctl);
    expected = declare(fm, DPID);
    port = (await ctl.listen()).port!;
    const report = nextReport(fm, DPID);
    await ovs.addBridge('br0', DPID, { controller: `tcp:127.0.0.1:${port}`, ports: ['p1', 'p2', 'p3'] });
    const r = await report;
    expect(r).toMatchObject({ added: ALL, modified: 0, deleted: 0, unchanged: 0, failed: [] });
    expect(r.meters).toEqual({ added: 2, modified: 0, deleted: 0, unchanged: 0 });
    expect(r.groups).toEqual({ added: 3, modified: 0, deleted: 0, unchanged: 0 });
    await expectTable('br0', expected);
    expect(lines(await ovs.ofctl('dump-meters', 'br0'))).toEqual(METER_TEXT);
    expect(lines(await ovs.ofctl('dump-groups', 'br0')).sort()).toEqual(GROUP_TEXT);
  });

  it('leaves a switch that is right untouched: every flow unchanged, durations keep counting', async () => {
    const before = await dump('br0');
    await sleep(1100);
    const r = await fm.reconcile(DPID);
    expect(r).toMatchObject({ added: 0, modified: 0, deleted: 0, unchanged: ALL, failed: [] });
    expect(r.meters).toEqual({ added: 0, modified: 0, deleted: 0, unchanged: 2 });
    expect(r.groups).toEqual({ added: 0, modified: 0, deleted: 0, unchanged: 3 });
    const after = await expectTable('br0', expected);
    for (const f of after) expect(f.duration).toBeGreaterThanOrEqual(before.find((b) => id(b) === id(f))!.duration + 1);
  });

  it('repairs drift: deletes stale entries, adds missing ones, fixes changed ones, touches nothing else', async () => {
    await ovs.ofctl('add-flow', 'br0', 'table=0,priority=7,in_port=3,actions=drop'); // stale, cookie 0
    await ovs.ofctl('del-flows', 'br0', '--strict', 'table=0,priority=50,in_port=2'); // missing
    await ovs.ofctl('mod-flows', 'br0', '--strict', 'table=1,priority=10,tcp,tp_dst=80,actions=output:3'); // instructions changed
    await ovs.ofctl('add-flow', 'br0', 'cookie=0x99,table=1,priority=20,udp,actions=group:1'); // cookie changed
    await ovs.ofctl('add-meter', 'br0', 'meter=9,pktps,band=type=drop,rate=5');
    await ovs.ofctl('mod-meter', 'br0', 'meter=2,pktps,band=type=drop,rate=60');
    await ovs.ofctl('add-group', 'br0', 'group_id=9,type=all,bucket=actions=output:3');
    await ovs.ofctl('mod-group', 'br0', 'group_id=2,type=select,bucket=weight:50,actions=output:1');
    const before = await dump('br0');
    const r = await fm.reconcile(DPID);
    expect(r).toMatchObject({ added: 1, modified: 2, replaced: 1, deleted: 1, unchanged: ALL - 3, failed: [] });
    expect(r.meters).toEqual({ added: 0, modified: 1, deleted: 1, unchanged: 1 });
    expect(r.groups).toEqual({ added: 0, modified: 1, deleted: 1, unchanged: 2 });
    const after = await expectTable('br0', expected);
    expect(lines(await ovs.ofctl('dump-meters', 'br0'))).toEqual(METER_TEXT);
    expect(lines(await ovs.ofctl('dump-groups', 'br0')).sort()).toEqual(GROUP_TEXT);
    // The flows that were right kept their entries (duration did not restart); so did the modified one.
    for (const f of after) {
      const was = before.find((b) => id(b) === id(f));
      if (!was || was.cookie !== f.cookie) continue; // added or replaced: new entries
      expect(f.duration, id(f)).toBeGreaterThanOrEqual(was.duration);
    }
  });

  it("an owner-scoped reconcile reads and fixes only that owner's flows", async () => {
    await ovs.ofctl('del-flows', 'br0', '--strict', `table=0,priority=200,tcp,nw_dst=192.0.2.10,tp_src=22`);
    await ovs.ofctl('add-flow', 'br0', 'cookie=0x2000000000063,table=0,priority=9,in_port=1,actions=drop'); // the lease owner's, stale
    await ovs.ofctl('add-flow', 'br0', 'cookie=0x5000000000000,table=0,priority=8,in_port=1,actions=drop'); // someone else's
    const r = await fm.reconcile(DPID, { owner: LEASE });
    expect(r).toMatchObject({ owner: LEASE, added: 1, modified: 0, deleted: 1, unchanged: 1, failed: [] });
    expect(r.meters).toBeUndefined();
    const have = await dump('br0');
    expect(have.some((f) => f.priority === 8)).toBe(true); // not the lease owner's business
    const full = await fm.reconcile(DPID);
    expect(full).toMatchObject({ added: 0, deleted: 1, unchanged: ALL });
    await expectTable('br0', expected);
  });

  it('rejects a flow-mod OVS refuses with the decoded error, and records nothing', async () => {
    const gotoBack: FlowSpec = { tableId: 3, priority: 1, match: [], instructions: [{ type: 'gotoTable', tableId: 1 }] };
    const e1 = await fm.apply(DPID, BASE, { add: [gotoBack] }, { atomic: false }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(SwitchError);
    expect(e1).toMatchObject({ errType: OFPET.BAD_INSTRUCTION, code: OFPBIC.BAD_TABLE_ID, request: { type: 'flowMod', tableId: 3 } });
    const noMeter: FlowSpec = {
      tableId: 0,
      priority: 3,
      match: [{ field: 'in_port', value: 3 }],
      instructions: [{ type: 'meter', meterId: 99 }, apply(out(1))],
    };
    const e2 = await fm.apply(DPID, BASE, { add: [noMeter] }, { atomic: false }).catch((e: unknown) => e);
    expect(e2).toMatchObject({ errType: OFPET.METER_MOD_FAILED, code: OFPMMFC.INVALID_METER });
    const noGroup: FlowSpec = {
      tableId: 0,
      priority: 4,
      match: [{ field: 'in_port', value: 3 }],
      instructions: [apply({ type: 'group', groupId: 77 })],
    };
    const e3 = await fm.apply(DPID, BASE, { add: [noGroup] }).catch((e: unknown) => e);
    expect(e3).toBeInstanceOf(AtomicGroupError);
    expect(e3).toMatchObject({ errType: OFPET.BAD_ACTION, code: OFPBAC.BAD_OUT_GROUP, path: 'bundle' });
    expect(fm.desiredFlows(DPID, BASE)).toHaveLength(baseFlows().length);
    await expectTable('br0', expected);
  });

  describe('atomic groups through bundles', () => {
    atomicSuite(() => ({ fm, bridge: 'br0', dpid: DPID, expected, path: 'bundle' }));
  });

  it('a controller restart keeps correct flows (duration keeps counting), deletes stale, adds missing', async () => {
    await fm.reconcile(DPID);
    await expectTable('br0', expected);
    await sleep(2000);
    fm.close();
    await ctl.close();
    const restartedAt = Date.now();
    // The new controller wants the same, except one base flow less (now stale) and one more (missing).
    const base = baseFlows().filter(([, e]) => e.priority !== 30);
    base.push([
      { tableId: 0, priority: 60, match: [{ field: 'in_port', value: 3 }], instructions: [apply(out(1))] },
      { table: 0, priority: 60, cookie: cookieText(1), match: 'in_port=3', actions: 'output:1' },
    ]);
    ctl = new Controller({ port, host: '127.0.0.1' });
    fm = newManager(ctl);
    expected = declare(fm, DPID, { base });
    const report = nextReport(fm, DPID);
    await ctl.listen();
    const r = await report;
    expect(r).toMatchObject({ added: 1, modified: 0, deleted: 1, unchanged: ALL - 1, failed: [] });
    const after = await expectTable('br0', expected);
    const sinceRestart = (Date.now() - restartedAt) / 1000;
    for (const f of after) {
      if (f.priority === 60) expect(f.duration).toBeLessThan(sinceRestart + 0.5);
      else expect(f.duration, id(f)).toBeGreaterThan(2);
    }
  });

  it('an ovs-vswitchd restart (flows lost) ends with exactly the desired flows, meters and groups', async () => {
    const leaseBefore = (await dump('br0')).find((f) => f.priority === 200)!;
    await ovs.stopVswitchd();
    const report = nextReport(fm, DPID, 30_000);
    await ovs.startVswitchd();
    const r = await report;
    // OVS keeps bridges in its database but flows, meters and groups only in memory: all re-added.
    expect(r).toMatchObject({ added: ALL, modified: 0, deleted: 0, unchanged: 0, failed: [] });
    expect(r.meters).toMatchObject({ added: 2 });
    expect(r.groups).toMatchObject({ added: 3 });
    const after = await expectTable('br0', expected);
    expect(lines(await ovs.ofctl('dump-meters', 'br0'))).toEqual(METER_TEXT);
    expect(lines(await ovs.ofctl('dump-groups', 'br0')).sort()).toEqual(GROUP_TEXT);
    // The lease flows came back with what was left of their hard timeout, not a fresh 300 s.
    const lease = after.filter((f) => f.priority === 200);
    expect(lease).toHaveLength(2);
    for (const f of lease) {
      expect(f.hardTimeout).toBeLessThan(300);
      expect(f.hardTimeout).toBeGreaterThan(300 - leaseBefore.duration - 30);
    }
  });

  it('forgets a desired flow the switch timed out, and does not re-add it', async () => {
    const expired = new Promise<string>((resolve) => fm.once('flowExpired', (_d, owner) => resolve(owner)));
    const r = await fm.apply(DPID, LEASE, {
      add: [
        {
          tableId: 0,
          priority: 210,
          cookie: (2n << 48n) | 8n,
          hardTimeout: 1,
          flags: OFPFF.SEND_FLOW_REM,
          match: [{ field: 'in_port', value: 1 }],
          instructions: [apply(out(3))],
        },
      ],
    });
    expect(r).toMatchObject({ path: 'bundle', added: 1 });
    expect(fm.desiredFlows(DPID, LEASE)).toHaveLength(3);
    expect(await expired).toBe(LEASE);
    expect(fm.desiredFlows(DPID, LEASE)).toHaveLength(2);
    expect(await fm.reconcile(DPID)).toMatchObject({ added: 0, deleted: 0 });
    await expectTable('br0', expected);
  });

  it("reconciles thousands of flows (paced by the socket's flow control) and measures it", async () => {
    fm.registerOwner('bulk', 3);
    const N = 5000;
    const specs: FlowSpec[] = Array.from({ length: N }, (_, i) => ({
      tableId: 5,
      priority: 100,
      match: [
        { field: 'eth_type', value: 0x800 },
        { field: 'ipv4_src', value: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
      ],
      cookie: (3n << 48n) | BigInt(i),
      instructions: [apply(out(2))],
    }));
    fm.setFlows(DPID, 'bulk', specs);
    let t = Date.now();
    const install = await fm.reconcile(DPID);
    const installMs = Date.now() - t;
    expect(install).toMatchObject({ added: N, deleted: 0, failed: [] });
    expect((await dump('br0')).filter((f) => f.table === 5)).toHaveLength(N);
    t = Date.now();
    const again = await fm.reconcile(DPID);
    const checkMs = Date.now() - t;
    expect(again).toMatchObject({ added: 0, modified: 0, deleted: 0, unchanged: N + expected.length });
    fm.setFlows(DPID, 'bulk', []);
    t = Date.now();
    expect(await fm.reconcile(DPID)).toMatchObject({ deleted: N, added: 0 });
    const deleteMs = Date.now() - t;
    // An atomic group of thousands of flow-mods (one open bundle, its adds sent back to back).
    const M = 2500;
    t = Date.now();
    expect(await fm.apply(DPID, 'bulk', { add: specs.slice(0, M) })).toMatchObject({ path: 'bundle', added: M });
    const bundleMs = Date.now() - t;
    const table5 = async () =>
      (await dump('br0'))
        .filter((f) => f.table === 5)
        .map((f) => `${f.cookie} ${f.match} ${f.actions}`)
        .sort();
    const before = await table5();
    expect(before).toHaveLength(M);
    const e = await fm
      .apply(DPID, 'bulk', {
        add: [...specs.slice(M, 2 * M), { tableId: 5, priority: 1, match: [], instructions: [{ type: 'meter', meterId: 99 }] }],
        remove: specs.slice(0, M),
      })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AtomicGroupError);
    expect(await table5()).toEqual(before); // 2500 deletes and 2500 adds, none applied
    expect(fm.desiredFlows(DPID, 'bulk')).toHaveLength(M);
    expect(await fm.apply(DPID, 'bulk', { remove: specs.slice(0, M) })).toMatchObject({ path: 'bundle', deleted: M });
    console.log(
      `${N} flows against OVS: install ${installMs} ms, verify (all unchanged) ${checkMs} ms, delete ${deleteMs} ms; atomic group of ${M} adds ${bundleMs} ms`,
    );
    await expectTable('br0', expected);
  });
});

describe('FlowManager without bundles (barrier + rollback)', () => {
  let ctl: Controller;
  let fm: FlowManager;
  let expected: Expect[];

  beforeAll(async () => {
    ctl = new Controller({ port: 0, host: '127.0.0.1' });
    fm = newManager(ctl, { bundles: false });
    expected = declare(fm, DPID_FALLBACK);
    const { port } = await ctl.listen();
    const report = nextReport(fm, DPID_FALLBACK);
    await ovs.addBridge('br1', DPID_FALLBACK, { controller: `tcp:127.0.0.1:${port}`, ports: ['q1', 'q2', 'q3'] });
    expect(await report).toMatchObject({ added: ALL, failed: [] });
    await expectTable('br1', expected);
  });

  afterAll(async () => {
    fm?.close();
    await ctl?.close();
  });

  atomicSuite(() => ({ fm, bridge: 'br1', dpid: DPID_FALLBACK, expected, path: 'fallback' }));
});

/** The same atomic-group cases for both paths. */
function atomicSuite(ctx: () => { fm: FlowManager; bridge: string; dpid: bigint; expected: Expect[]; path: 'bundle' | 'fallback' }): void {
  const [[lease1], [lease2, lease2Text]] = leaseFlows();
  const newLease: FlowSpec = {
    tableId: 0,
    priority: 200,
    cookie: (2n << 48n) | 8n,
    match: [
      { field: 'eth_type', value: 0x800 },
      { field: 'ipv4_src', value: '192.0.2.11' },
    ],
    instructions: [apply(out(2))],
  };
  const lease1Changed: FlowSpec = { ...lease1, instructions: [apply(out(3))] };

  for (const [why, bad] of [
    ['refused when added (goto_table backwards)', { tableId: 4, priority: 1, match: [], instructions: [{ type: 'gotoTable', tableId: 2 }] }],
    [
      'refused when applied (unknown group)',
      { tableId: 0, priority: 201, match: [{ field: 'in_port', value: 2 }], instructions: [apply({ type: 'group', groupId: 77 })] },
    ],
  ] as [string, FlowSpec][]) {
    it(`a group with one flow-mod ${why} changes nothing`, async () => {
      const { fm, bridge, dpid, expected, path } = ctx();
      // A connection that has taken a bundle before: the OPEN, the adds and the barrier go out back to back
      // (applyInBundle's pipelined path), and the group must still fail whole.
      if (path === 'bundle') expect(fm.bundlesSupported(dpid)).toBe(true);
      const before = await dump(bridge);
      const desiredBefore = fm.desiredFlows(dpid, LEASE);
      const e = await fm.apply(dpid, LEASE, { add: [newLease, lease1Changed, bad], remove: [lease2] }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(AtomicGroupError);
      expect(e).toBeInstanceOf(SwitchError);
      const err = e as AtomicGroupError;
      expect(err.path).toBe(path);
      expect(err.request).toMatchObject({ type: 'flowMod', tableId: bad.tableId, priority: bad.priority });
      expect(err.rollbackFailures).toEqual([]);
      expect(err.message).toMatch(/refused flowMod/);
      const after = await expectTable(bridge, expected);
      expect(sorted(after).map(content)).toEqual(sorted(before).map(content));
      expect(fm.desiredFlows(dpid, LEASE)).toEqual(desiredBefore);
      expect(fm.bundlesSupported(dpid)).toBe(path === 'bundle');
    });
  }

  for (const [why, bad] of [
    ['refused when added (goto_table backwards)', { tableId: 4, priority: 1, match: [], instructions: [{ type: 'gotoTable', tableId: 2 }] }],
    [
      'refused when applied (unknown group)',
      { tableId: 0, priority: 201, match: [{ field: 'in_port', value: 2 }], instructions: [apply({ type: 'group', groupId: 77 })] },
    ],
    ['that is not valid (a priority over 65535)', { tableId: 0, priority: 70_000, match: [] }],
  ] as [string, FlowSpec][]) {
    // Adds only: on the bundle path each flow-mod goes into the bundle as soon as it is prepared.
    it(`a group of adds with one ${why}, after hundreds of good ones, changes nothing`, async () => {
      const { fm, bridge, dpid, expected, path } = ctx();
      if (path === 'bundle') expect(fm.bundlesSupported(dpid)).toBe(true); // FlowManager's streaming path
      const before = await dump(bridge);
      const desiredBefore = fm.desiredFlows(dpid, LEASE);
      const many: FlowSpec[] = Array.from({ length: 300 }, (_, i) => ({
        tableId: 3,
        priority: 300,
        cookie: (2n << 48n) | 9n,
        match: [
          { field: 'eth_type', value: 0x800 },
          { field: 'ipv4_dst', value: `198.51.100.${i % 250}` },
          { field: 'ip_proto', value: 6 + (i >= 250 ? 11 : 0) },
        ],
        instructions: [apply(out(2))],
      }));
      const e = await fm.apply(dpid, LEASE, { add: [...many, newLease, bad, lease1Changed] }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(Error);
      if (bad.priority !== 70_000) expect(e).toMatchObject({ name: 'AtomicGroupError', request: { tableId: bad.tableId, priority: bad.priority } });
      const after = await expectTable(bridge, expected);
      expect(sorted(after).map(content)).toEqual(sorted(before).map(content));
      expect(fm.desiredFlows(dpid, LEASE)).toEqual(desiredBefore);
    });
  }

  it('a group that succeeds is applied whole and recorded', async () => {
    const { fm, bridge, dpid, expected, path } = ctx();
    const r = await fm.apply(dpid, LEASE, { add: [newLease, lease1Changed], remove: [lease2] });
    expect(r).toEqual({ path, added: 1, modified: 1, deleted: 1, unchanged: 0 });
    const now = expected
      .filter((f) => id(f) !== id(lease2Text))
      .map((f) => (f.priority === 200 && f.match.includes('nw_src=192.0.2.10') ? { ...f, actions: 'output:3' } : f));
    now.push({ table: 0, priority: 200, cookie: cookieText(2, 8), match: 'ip,nw_src=192.0.2.11', actions: 'output:2' });
    await expectTable(bridge, now);
    expect((await fm.reconcile(dpid)).unchanged).toBe(ALL);
    // And back, so later tests see the declared state.
    const back = await fm.apply(dpid, LEASE, { add: [lease1, lease2], remove: [newLease] });
    expect(back).toEqual({ path, added: 1, modified: 1, deleted: 1, unchanged: 0 });
    await expectTable(bridge, expected);
  });
}
