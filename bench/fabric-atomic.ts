// Cross-switch atomic changes (FlowManager.applyAcross): the time for one lease-sized change (8 flow-mods per switch)
// across 1, 3 and 6 switches, prepared on all at once and committed one after another, on emulated switches (in
// this process) and on the bridges of a private Open vSwitch (lab/private-ovs.ts, userspace datapath), beside the
// floor: the same flow-mods sent with `ovs-ofctl --bundle add-flows` to each bridge in turn. Two commit orders:
// one switch after another (the exit first), and the entry alone after all the others at once (SwitchChange.stage).
// Each repetition times every size and order back to back, so that the ratios are taken from adjacent rounds;
// the median is printed with the range. Goal (issue 18): 3 switches within 1.2x of one switch's time. Here every
// switch lives in one process (the emulated ones in this one, the bridges in one ovs-vswitchd), so the switches'
// own work is done one switch at a time whatever the controller sends in parallel.
//
// Usage: npm run bench:fabric-atomic [-- --reps=N] [--only=emulated|ovs]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller } from '../controller/controller.js';
import { FlowManager } from '../controller/flow-manager.js';
import { silentLogger } from '../controller/log.js';
import { ownerCookie } from '../controller/cookie.js';
import type { CrossSwitchResult, SwitchChange } from '../controller/cross-switch.js';
import type { FlowSpec } from '../controller/flow-entry.js';
import { EmulatedSwitch } from '../emulator/index.js';
import { PrivateOvs } from '../lab/private-ovs.js';
import { printRatios, type Ratio } from './ratios.js';

const SIZES = [1, 3, 6];
const FLOWS = 8;
const OWNER = 'lease';
const OWNER_ID = 0x42;
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const REPS = Number(arg('reps') ?? 30);
const WARMUP = 5;
const only = arg('only');

const leaseFlows = (lease: number): FlowSpec[] =>
  Array.from({ length: FLOWS }, (_, i) => ({
    priority: 3000,
    cookie: ownerCookie(OWNER_ID, lease),
    match: [
      { field: 'in_port', value: 1 },
      { field: 'eth_type', value: 0x0800 },
      { field: 'ipv4_src', value: `10.${lease >> 8}.${lease & 0xff}.${i + 1}` },
      { field: 'ipv4_dst', value: '192.0.2.10' },
    ],
    instructions: [{ type: 'applyActions', actions: [{ type: 'output', port: 2, maxLen: 0 }] }],
  }));

/** The same flows as ovs-ofctl text. */
const flowLines = (lease: number): string =>
  Array.from(
    { length: FLOWS },
    (_, i) =>
      `cookie=0x${ownerCookie(OWNER_ID, lease).toString(16)},priority=3000,ip,in_port=1,nw_src=10.${lease >> 8}.${lease & 0xff}.${i + 1},nw_dst=192.0.2.10,actions=output:2`,
  ).join('\n') + '\n';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Times per size (ms), one entry per repetition. */
type Times = Map<number, number[]>;

/** applyAcross's own split of each timed change: prepare (all switches at once), then the commits in turn. */
const split = { prepare: new Map<string, number[]>(), commit: new Map<string, number[]>() };
const note = (m: Map<string, number[]>, k: string, v: number) => (m.get(k) ?? m.set(k, []).get(k)!).push(v);

interface Rig {
  dpids: bigint[];
  flows: FlowManager;
  close(): Promise<void>;
}

async function controllerRig(): Promise<{ controller: Controller; flows: FlowManager; port: number }> {
  const logger = silentLogger();
  const controller = new Controller({ port: 0, host: '127.0.0.1', logger });
  const flows = new FlowManager(controller, { logger });
  flows.registerOwner(OWNER, OWNER_ID);
  const { port } = await controller.listen();
  return { controller, flows, port: port! };
}

function whenReconciled(flows: FlowManager, dpids: bigint[]): Promise<void> {
  const pending = new Set(dpids);
  return new Promise((resolve) => {
    const on = (d: bigint) => {
      pending.delete(d);
      if (pending.size === 0) {
        flows.off('reconciled', on);
        resolve();
      }
    };
    flows.on('reconciled', on);
  });
}

async function emulatedRig(): Promise<Rig> {
  const { controller, flows, port } = await controllerRig();
  const n = Math.max(...SIZES);
  const switches = Array.from({ length: n }, (_, i) => new EmulatedSwitch({ dpid: BigInt(i + 1), ports: 4, port }));
  const dpids = switches.map((s) => s.dpid);
  for (const d of dpids) flows.setFlows(d, OWNER, []);
  const up = whenReconciled(flows, dpids);
  for (const s of switches) await s.connect();
  await up;
  return {
    dpids,
    flows,
    close: async () => {
      flows.close();
      await Promise.all(switches.map((s) => s.close()));
      await controller.close();
    },
  };
}

async function ovsRig(ovs: PrivateOvs): Promise<Rig & { bridges: string[] }> {
  const { controller, flows, port } = await controllerRig();
  const n = Math.max(...SIZES);
  const bridges = Array.from({ length: n }, (_, i) => `fa${i + 1}`);
  const dpids = bridges.map((_, i) => 0xfa0001n + BigInt(i));
  for (const d of dpids) flows.setFlows(d, OWNER, []);
  const up = whenReconciled(flows, dpids);
  for (const [i, br] of bridges.entries()) {
    await ovs.addBridge(br, dpids[i]!, { controller: `tcp:127.0.0.1:${port}`, ports: [`${br}p1`, `${br}p2`] });
  }
  await up;
  return {
    dpids,
    bridges,
    flows,
    close: async () => {
      flows.close();
      await controller.close();
    },
  };
}

/**
 * How the commits are ordered: one switch after another (the exit first), or the entry alone after the rest at
 * once; and, as a peer, no cross-switch atomicity: FlowManager.apply() (atomic per switch) to one switch after another.
 */
const MODES = ['in order', 'entry last', 'apply() in turn'] as const;
type Mode = (typeof MODES)[number];
type ModeTimes = Record<Mode, Times>;

/** One round: per size and mode, the lease comes up (timed), then goes down (the entry first; untimed). */
async function crossRound(rig: Rig, lease: number, record?: ModeTimes, label = ''): Promise<void> {
  for (const n of SIZES) {
    for (const mode of MODES) {
      const dpids = rig.dpids.slice(0, n);
      const entry = n - 1; // dpids[0] is the exit, the last the entry
      const upChange: SwitchChange[] = dpids.map((dpid, i) => ({
        dpid,
        owner: OWNER,
        add: leaseFlows(lease),
        stage: mode === 'in order' ? i : i === entry ? 1 : 0,
      }));
      const t0 = performance.now();
      let r: CrossSwitchResult | undefined;
      if (mode === 'apply() in turn') for (const c of upChange) await rig.flows.apply(c.dpid, OWNER, { add: c.add });
      else r = await rig.flows.applyAcross(upChange);
      const ms = performance.now() - t0;
      await rig.flows.applyAcross(dpids.map((dpid) => ({ dpid, owner: OWNER, remove: leaseFlows(lease) })).reverse());
      if (!record) continue;
      record[mode].get(n)!.push(ms);
      if (!r) continue;
      note(split.prepare, `${label}, ${mode}, ${n}`, r.prepareMs);
      note(split.commit, `${label}, ${mode}, ${n}`, r.commitMs);
    }
  }
}

async function measureCross(rig: Rig, label: string): Promise<ModeTimes> {
  const times = Object.fromEntries(MODES.map((m) => [m, new Map(SIZES.map((n) => [n, [] as number[]]))])) as ModeTimes;
  for (let i = 0; i < WARMUP; i++) await crossRound(rig, 1 + i);
  for (let r = 0; r < REPS; r++) await crossRound(rig, 100 + r, times, label);
  return times;
}

/** The floor: `ovs-ofctl --bundle add-flows` of the same flows to each bridge in turn (then removed, untimed). */
function measureOfctl(ovs: PrivateOvs, bridges: string[]): Times {
  const dir = mkdtempSync(join(tmpdir(), 'fabric-atomic-'));
  const times: Times = new Map(SIZES.map((n) => [n, []]));
  const ofctl = (...args: string[]) => {
    const r = spawnSync('ovs-ofctl', ['-O', 'OpenFlow13', ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ovs-ofctl ${args.join(' ')}: ${r.stderr}`);
  };
  const mgmt = (br: string) => `unix:${join(ovs.dir, `${br}.mgmt`)}`;
  try {
    for (let r = -WARMUP; r < REPS; r++) {
      for (const n of SIZES) {
        const lease = 1000 + r + WARMUP;
        const file = join(dir, `lease-${lease}.txt`);
        writeFileSync(file, flowLines(lease));
        const t0 = performance.now();
        for (const br of bridges.slice(0, n)) ofctl('--bundle', 'add-flows', mgmt(br), file);
        const ms = performance.now() - t0;
        const cookie = `cookie=0x${ownerCookie(OWNER_ID, lease).toString(16)}/-1`;
        for (const br of bridges.slice(0, n)) ofctl('del-flows', mgmt(br), cookie);
        if (r >= 0) times.get(n)!.push(ms);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return times;
}

/** Per repetition: a / b for the same repetition. */
const perRep = (a: number[], b: number[]) => a.map((x, i) => x / b[i]!);

function sizeRatios(what: string, times: Times): Ratio[] {
  const one = times.get(1)!;
  return SIZES.filter((n) => n > 1).map((n) => ({
    measure: `${what}, ${n} switches`,
    versus: `the same, 1 switch`,
    dmzgate: median(times.get(n)!),
    other: median(one),
    better: 'lower' as const,
    goal: n === 3 ? 1.2 : undefined,
    byRep: perRep(times.get(n)!, one),
  }));
}

function figures(title: string, rows: [string, Times][]): void {
  console.log(`${title} (ms per change of ${FLOWS} flow-mods per switch; median, [min-max] of ${REPS})`);
  for (const [who, t] of rows) {
    const cells = SIZES.map((n) => {
      const xs = t.get(n)!;
      return `${n} sw ${median(xs).toFixed(2)} [${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}]`;
    });
    console.log(`  ${who.padEnd(38)} ${cells.join('   ')}`);
  }
  console.log('');
}

async function main(): Promise<void> {
  const ratios: Ratio[] = [];
  const blocks: [string, [string, Times][]][] = [];
  const rows = (t: ModeTimes): [string, Times][] => MODES.map((m) => [m.startsWith('apply()') ? `dmzgate ${m}` : `dmzgate applyAcross, ${m}`, t[m]]);
  const ATOMIC = MODES.filter((m) => !m.startsWith('apply()'));
  /** applyAcross beside apply() to each switch in turn (what atomicity across switches costs, or saves). */
  const versusApply = (where: string, t: ModeTimes): Ratio[] =>
    SIZES.filter((n) => n > 1).map((n) => ({
      measure: `${where}, in order, ${n} switches`,
      versus: 'apply() to each in turn',
      dmzgate: median(t['in order'].get(n)!),
      other: median(t['apply() in turn'].get(n)!),
      better: 'lower' as const,
      byRep: perRep(t['in order'].get(n)!, t['apply() in turn'].get(n)!),
    }));
  if (only !== 'ovs') {
    const rig = await emulatedRig();
    try {
      const t = await measureCross(rig, 'emulated');
      for (const m of ATOMIC) ratios.push(...sizeRatios(`emulated, ${m}`, t[m]));
      ratios.push(...versusApply('emulated', t));
      blocks.push(['emulated switches (in this process)', rows(t)]);
    } finally {
      await rig.close();
    }
  }
  if (only !== 'emulated') {
    const ovs = await new PrivateOvs().start();
    try {
      const rig = await ovsRig(ovs);
      try {
        const t = await measureCross(rig, 'OVS');
        const floor = measureOfctl(ovs, rig.bridges);
        for (const m of ATOMIC) ratios.push(...sizeRatios(`OVS, ${m}`, t[m]));
        ratios.push(...versusApply('OVS', t));
        for (const m of ATOMIC) {
          for (const n of SIZES) {
            ratios.push({
              measure: `OVS, ${m}, ${n} switch${n === 1 ? '' : 'es'}`,
              versus: `ovs-ofctl --bundle, each in turn`,
              dmzgate: median(t[m].get(n)!),
              other: median(floor.get(n)!),
              better: 'lower',
              byRep: perRep(t[m].get(n)!, floor.get(n)!),
            });
          }
        }
        const version = spawnSync('ovs-vswitchd', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
        blocks.push([
          `Open vSwitch bridges (${version}, userspace datapath, one ovs-vswitchd)`,
          [...rows(t), ['ovs-ofctl --bundle add-flows, in turn', floor]],
        ]);
      } finally {
        await rig.close();
      }
    } finally {
      await ovs.stop();
    }
  }
  printRatios(ratios);
  for (const [title, r] of blocks) figures(title, r);
  console.log('applyAcross split (ms, medians): prepare on all switches at once / commits');
  for (const [k, xs] of split.prepare)
    console.log(`  ${k.padEnd(30)} switches  ${median(xs).toFixed(2)} / ${median(split.commit.get(k)!).toFixed(2)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
