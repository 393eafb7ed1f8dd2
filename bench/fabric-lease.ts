// bench:fabric-lease (issue 18, a): the time from POST /api/v1/transfers to its 201 for a lease across 1, 3 and 6
// switches. `dmzgate controller` runs in its own process on a chain of 6 switches (bench/dmz-fabric-sites.ts chain:
// the border sw1, then sw2..sw6, a DTN on each), so a lease of dtn1 holds flows on 1 switch, of dtn3 on 3, of dtn6
// on 6. Each repetition asks for (timed) and releases (untimed) one lease of each size back to back. Twice:
//   - emulated switches (in this process), beside the floor: the very flows the lease left on each switch (read off
//     the emulated tables) written by a bare OpenFlow server (bench/bare-openflow.ts) to fresh emulated switches one
//     after another, each switch's flow-mods followed by a barrier whose reply is awaited before the next switch;
//   - Open vSwitch bridges (a private OVS, userspace datapath, patch ports between them), beside the floor
//     bench:fabric-atomic measures: the same flows (as dump-flows printed them) with `ovs-ofctl --bundle
//     add-flows` to each bridge in turn.
// And beside both, the protocol's own floor: the same flows sent by the bare server the way dmzgate sends them
// (one switch: an atomic bundle prepared, then committed; several: every bundle prepared at once, then committed
// in two stages, the flows that take packets from a fabric port first), to emulated switches in a process of
// their own (as dmzgate's are to it) and to the OVS bridges. Its 3-to-1 ratio is the round trips' share of
// dmzgate's: three awaited round trips for a path, two for one switch.
// dmzgate's state is on tmpfs (/dev/shm): a 201 waits for the longer of the state's write and the install, and
// an fsync to this VM's disk (up to 190 ms) would be what is timed rather than the install across switches.
//
//   npm run bench:fabric-lease [-- --reps 30] [--only emulated|ovs]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connectAll } from './fabric-plan.js';
import { chain, emulate, type DmzFabric } from './dmz-fabric-sites.js';
import { DmzgateUnderTest } from './dmzgate-under-test.js';
import { BareOpenflow, addOf, deleteCookie } from './bare-openflow.js';
import { leaseFlows, leaseOf } from './lease-flows-seen.js';
import { printRatios, type Ratio } from './ratios.js';
import { EmulatedSwitch } from '../emulator/index.js';
import type { FlowEntry } from '../emulator/flow-table.js';
import { PrivateOvs } from '../lab/private-ovs.js';
import { ownerCookie } from '../controller/cookie.js';
import { OWNER } from '../apps/dmz/owners.js';

const SIZES = [1, 3, 6];
const STATE_ON_TMPFS = '/dev/shm';
const TWO_PHASE = 'floor: its flows, bare server, two phases';
const WARMUP = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function waitFor(pred: () => Promise<boolean>, what: string, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!(await pred())) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Where the leases are installed: emulated switches or OVS bridges, and how to read a lease's flows off each switch. */
interface Rig<F> {
  /** The lease's flows per switch, sw1 first. */
  flowsOf(id: number): Promise<F[][]>;
  close(): Promise<void>;
}

const postLease = (ctl: DmzgateUnderTest, dtn: string) =>
  ctl.request('POST', '/api/v1/transfers', {
    dtn,
    remote: '192.0.2.10',
    protocol: 'tcp',
    local_ports: ['50000-50010'],
    path: 'routed',
    duration: 600,
  });

/** Per size: POST -> 201 (ms) per repetition, and the flows a lease of that size held per switch (sw1 first). */
async function dmzgateRuns<F>(
  reps: number,
  ctl: DmzgateUnderTest,
  rig: Rig<F>,
  links: number,
): Promise<{ times: Map<number, number[]>; flows: Map<number, F[][]> }> {
  const times = new Map(SIZES.map((n) => [n, [] as number[]]));
  const flows = new Map<number, F[][]>();
  await waitFor(
    async () => {
      const r = await ctl.request('GET', '/api/v1/topology');
      const seen = (r.body.links ?? []) as { configured: boolean; state: string }[];
      return seen.filter((l) => l.configured && l.state === 'up').length === links;
    },
    'every configured link up',
    30_000,
  );
  for (let r = -WARMUP; r < reps; r++) {
    for (const n of SIZES) {
      const t0 = performance.now();
      const res = await postLease(ctl, `dtn${n}`);
      const ms = performance.now() - t0;
      if (res.status !== 201) throw new Error(`POST for dtn${n}: ${res.status} ${JSON.stringify(res.body)}`);
      const id = res.body.id as number;
      if (!flows.has(n)) {
        const held = await rig.flowsOf(id);
        const on = held.filter((f) => f.length > 0).length;
        if (on !== n) throw new Error(`the lease of dtn${n} (${n} switches) has flows on ${on} switch(es) at its 201: not installed across its path`);
        flows.set(n, held.slice(0, n));
      }
      const del = await ctl.request('DELETE', `/api/v1/transfers/${id}`);
      if (del.status !== 200) throw new Error(`DELETE ${id}: ${del.status} ${JSON.stringify(del.body)}`);
      if (r >= 0) times.get(n)!.push(ms);
    }
  }
  return { times, flows };
}

async function emulatedRuns(reps: number): Promise<{ times: Map<number, number[]>; flows: Map<number, FlowEntry[][]> }> {
  const fabric = chain(Math.max(...SIZES));
  const ctl = await DmzgateUnderTest.start(fabric.yaml, { under: STATE_ON_TMPFS });
  const { switches } = emulate(fabric, ctl.openflowPort);
  const rig: Rig<FlowEntry> = {
    flowsOf: async (id) => switches.map((s) => leaseFlows(s).filter((e) => leaseOf(e) === id)),
    close: async () => {
      await Promise.all(switches.map((s) => s.close()));
    },
  };
  try {
    await connectAll(switches);
    return await dmzgateRuns(reps, ctl, rig, fabric.links.length);
  } finally {
    await rig.close();
    await ctl.stop();
  }
}

/**
 * The chain on a private Open vSwitch (userspace datapath, one ovs-vswitchd): bridge flI is swI, its DTN and WAN
 * ports internal ones, its ports 10 and 11 patch ports to its neighbours. The floor: each switch's lease flows as
 * dump-flows printed them, `ovs-ofctl --bundle add-flows` to each bridge in turn.
 */
async function ovsRuns(
  reps: number,
  twoPhaseFlows: Map<number, FlowEntry[][]> | undefined,
): Promise<{ times: Map<number, number[]>; floor: Map<number, number[]>; twoPhase?: Map<number, number[]>; counts: number[][] }> {
  const n = Math.max(...SIZES);
  const fabric = chain(n);
  const ovs = await new PrivateOvs().start();
  const dir = mkdtempSync(join(tmpdir(), 'fabric-lease-'));
  let ctl: DmzgateUnderTest | undefined;
  try {
    ctl = await DmzgateUnderTest.start(fabric.yaml, { under: STATE_ON_TMPFS });
    const br = (i: number) => `fl${i}`;
    for (let i = 1; i <= n; i++) {
      const ports = i === 1 ? ['1', '2', '3', '4'].map((p) => `${br(i)}p${p}`) : [`${br(i)}p1`];
      await ovs.addBridge(br(i), BigInt(i), { ports });
    }
    for (let i = 1; i < n; i++) {
      const [down, up] = [`${br(i)}-down`, `${br(i + 1)}-up`];
      await ovs.vsctl('add-port', br(i), down, '--', 'set', 'interface', down, 'type=patch', `options:peer=${up}`, 'ofport_request=11');
      await ovs.vsctl('add-port', br(i + 1), up, '--', 'set', 'interface', up, 'type=patch', `options:peer=${down}`, 'ofport_request=10');
    }
    for (let i = 1; i <= n; i++) await ovs.setController(br(i), `tcp:127.0.0.1:${ctl.openflowPort}`);
    const cookieText = (id: number) => `cookie=0x${ownerCookie(OWNER.LEASES, id).toString(16)}`;
    const rig: Rig<string> = {
      flowsOf: async (id) =>
        Promise.all(
          Array.from({ length: n }, async (_, i) =>
            (await ovs.ofctl('dump-flows', br(i + 1), '--no-stats'))
              .split('\n')
              .filter((l) => l.includes(`${cookieText(id)},`))
              .map((l) => l.trim()),
          ),
        ),
      close: async () => undefined,
    };
    const { times, flows } = await dmzgateRuns(reps, ctl, rig, fabric.links.length);
    const floor = new Map(SIZES.map((k) => [k, [] as number[]]));
    for (let r = -WARMUP; r < reps; r++) {
      for (const k of SIZES) {
        const files = flows.get(k)!.map((lines, i) => {
          const f = join(dir, `sw${i + 1}-${k}.txt`);
          writeFileSync(f, `${lines.join('\n')}\n`);
          return f;
        });
        const t0 = performance.now();
        for (const [i, f] of files.entries()) await ovs.ofctl('add-flows', br(i + 1), '--bundle', f);
        const ms = performance.now() - t0;
        const cookies = [
          ...new Set(
            flows
              .get(k)!
              .flat()
              .map((l) => /cookie=(0x[0-9a-f]+)/.exec(l)![1]!),
          ),
        ];
        for (let i = 1; i <= k; i++) for (const c of cookies) await ovs.ofctl('del-flows', br(i), `cookie=${c}/-1`);
        if (r >= 0) floor.get(k)!.push(ms);
      }
    }
    const counts = SIZES.map((k) => flows.get(k)!.map((f) => f.length));
    if (!twoPhaseFlows) return { times, floor, counts };
    // The protocol's floor: the bridges handed from dmzgate to the bare server.
    await ctl.stop();
    ctl = undefined;
    const bare = await BareOpenflow.listen();
    try {
      for (let i = 1; i <= n; i++) await ovs.setController(br(i), `tcp:127.0.0.1:${bare.port}`);
      await bare.whenConnected(Array.from({ length: n }, (_, i) => BigInt(i + 1)));
      return { times, floor, twoPhase: await twoPhaseRuns(reps, fabric, bare, twoPhaseFlows), counts };
    } finally {
      await bare.close();
    }
  } finally {
    await ctl?.stop();
    await ovs.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The same flows per switch, one switch after another (the DTN's last, as the exit goes first), barrier-confirmed. */
async function floorRuns(reps: number, flows: Map<number, FlowEntry[][]>): Promise<Map<number, number[]>> {
  const fabric = chain(Math.max(...SIZES));
  const bare = await BareOpenflow.listen();
  const switches = fabric.ports.map((ports, i) => new EmulatedSwitch({ dpid: BigInt(i + 1), ports, port: bare.port }));
  const times = new Map(SIZES.map((n) => [n, [] as number[]]));
  try {
    await connectAll(switches);
    await bare.whenConnected(switches.map((s) => s.dpid));
    for (let r = -WARMUP; r < reps; r++) {
      for (const n of SIZES) {
        const perSwitch = flows.get(n)!;
        const adds = perSwitch.map((fs, i) => ({ dpid: BigInt(i + 1), batch: bare.batch(fs.map(addOf)) }));
        const cookies = [...new Set(perSwitch.flat().map((e) => e.cookie))];
        const dels = perSwitch.map((_, i) => ({ dpid: BigInt(i + 1), batch: bare.batch(cookies.map(deleteCookie)) }));
        const t0 = performance.now();
        for (const a of adds) await bare.send(a.dpid, a.batch);
        const ms = performance.now() - t0;
        await Promise.all(dels.map((d) => bare.send(d.dpid, d.batch)));
        if (r >= 0) times.get(n)!.push(ms);
      }
    }
    return times;
  } finally {
    await Promise.all(switches.map((s) => s.close()));
    await bare.close();
  }
}

/**
 * The protocol alone, once per repetition and size, on switches already connected to `bare`: the lease's flows
 * of each switch in atomic bundles (on a path, the flows that take packets from a fabric port apart from the
 * others), all prepared at once, then committed stage after stage, as dmzgate's FlowManager.applyAcross does.
 */
async function twoPhaseRuns(reps: number, fabric: DmzFabric, bare: BareOpenflow, flows: Map<number, FlowEntry[][]>): Promise<Map<number, number[]>> {
  const fabricPorts = (sw: number): Set<number> => new Set(fabric.links.flatMap((l) => [l.a, l.b]).flatMap(([s, p]) => (s === sw ? [p] : [])));
  const times = new Map(SIZES.map((n) => [n, [] as number[]]));
  for (let r = -WARMUP; r < reps; r++) {
    for (const n of SIZES) {
      const perSwitch = flows.get(n)!;
      const parts = perSwitch.flatMap((fs, i) => {
        const dpid = BigInt(i + 1);
        if (n === 1) return [{ dpid, stage: 0, b: bare.bundle(fs.map(addOf)) }];
        const fromFabric = fabricPorts(i + 1);
        const inner = fs.filter((e) => fromFabric.has(e.match.find((m) => m.field === 'in_port')?.value as number));
        const intake = fs.filter((e) => !inner.includes(e));
        return [
          ...(inner.length ? [{ dpid, stage: 0, b: bare.bundle(inner.map(addOf)) }] : []),
          ...(intake.length ? [{ dpid, stage: 1, b: bare.bundle(intake.map(addOf)) }] : []),
        ];
      });
      const cookies = [...new Set(perSwitch.flat().map((e) => e.cookie))];
      const dels = perSwitch.map((_, i) => ({ dpid: BigInt(i + 1), batch: bare.batch(cookies.map(deleteCookie)) }));
      const t0 = performance.now();
      await Promise.all(parts.map((p) => bare.send(p.dpid, p.b.prepare)));
      for (const stage of [0, 1]) await Promise.all(parts.filter((p) => p.stage === stage).map((p) => bare.send(p.dpid, p.b.commit)));
      const ms = performance.now() - t0;
      if (bare.errors > 0) throw new Error(`the switches refused ${bare.errors} of the two-phase floor's messages`);
      await Promise.all(dels.map((d) => bare.send(d.dpid, d.batch)));
      if (r >= 0) times.get(n)!.push(ms);
    }
  }
  return times;
}

/** The protocol's floor on emulated switches in a process of their own (bench/emulated-switches-process.ts). */
async function emulatedTwoPhaseRuns(reps: number, flows: Map<number, FlowEntry[][]>): Promise<Map<number, number[]>> {
  const fabric = chain(Math.max(...SIZES));
  const bare = await BareOpenflow.listen();
  const script = join(dirname(fileURLToPath(import.meta.url)), 'emulated-switches-process.js');
  const ports = String(Math.max(...fabric.ports));
  const child = spawn(process.execPath, [script, '--switches', String(fabric.ports.length), '--ports', ports, '--port', String(bare.port)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    child.stdout.setEncoding('utf8');
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (s: string) => s.includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`the emulated switches' process exited (${code}) before it was ready`)));
    });
    await ready;
    await bare.whenConnected(fabric.ports.map((_, i) => BigInt(i + 1)));
    return await twoPhaseRuns(reps, fabric, bare, flows);
  } finally {
    const exited = child.exitCode === null ? once(child, 'exit') : Promise.resolve();
    child.stdin.end();
    await exited;
    await bare.close();
  }
}

function ratiosOf(where: string, versus: string, times: Map<number, number[]>, floor: Map<number, number[]>): Ratio[] {
  return SIZES.map((n) => ({
    measure: `${where}, POST -> 201, ${n} switch${n === 1 ? '' : 'es'} (ms)`,
    versus,
    dmzgate: median(times.get(n)!),
    other: median(floor.get(n)!),
    better: 'lower' as const,
    byRep: times.get(n)!.map((t, i) => t / floor.get(n)![i]!),
  }));
}

/**
 * The goal, (a): 3 switches within 1.2x of 1 switch, per repetition (the two sizes are asked back to back), for
 * dmzgate and for the protocol alone (the two-phase floor). And what the protocol leaves of that goal: a path's
 * round trips and switch work cost the floor's added time (its 3-switch median less its 1-switch one) whoever
 * sends them, so dmzgate's 3-switch time is set beside its 1-switch time plus that: the ratio to the floor.
 */
function goalRatios(where: string, times: Map<number, number[]>, twoPhase: Map<number, number[]> | undefined): Ratio[] {
  const row = (who: string, t: Map<number, number[]>, goal?: number): Ratio => ({
    measure: `${where}, ${who}, 3 switches (ms)`,
    versus: `the same, 1 switch`,
    dmzgate: median(t.get(3)!),
    other: median(t.get(1)!),
    better: 'lower',
    ...(goal ? { goal } : {}),
    byRep: t.get(3)!.map((x, i) => x / t.get(1)![i]!),
  });
  if (!twoPhase) return [row('POST -> 201', times, 1.2)];
  const added = median(twoPhase.get(3)!) - median(twoPhase.get(1)!);
  const one = times.get(1)!;
  return [
    row('POST -> 201', times, 1.2),
    row('protocol alone (two-phase floor)', twoPhase),
    {
      measure: `${where}, POST -> 201, 3 switches (ms)`,
      versus: `1 switch + the protocol's added ${added.toFixed(2)} ms`,
      dmzgate: median(times.get(3)!),
      other: median(one) + added,
      better: 'lower',
      byRep: times.get(3)!.map((x, i) => x / (one[i]! + added)),
    },
  ];
}

/** How near to 1x the protocol lets a 3-switch POST come: dmzgate's 1-switch time plus the floor's added time. */
function reach(where: string, times: Map<number, number[]>, twoPhase: Map<number, number[]>): void {
  const one = median(times.get(1)!);
  const added = median(twoPhase.get(3)!) - median(twoPhase.get(1)!);
  console.log(`${where}: with nothing of dmzgate's own added, a 3-switch POST would be ${((one + added) / one).toFixed(2)}x a 1-switch one\n`);
}

function table(title: string, reps: number, rows: [string, Map<number, number[]>][], flowCounts: number[][]): void {
  console.log(
    `${title} (ms; median, [min-max] of ${reps}; lease flows per switch: ${SIZES.map((n, i) => `${n} sw ${flowCounts[i]!.join('+')}`).join(', ')})`,
  );
  for (const [who, t] of rows) {
    const cells = SIZES.map((n) => {
      const xs = t.get(n)!;
      return `${n} sw ${median(xs).toFixed(2)} [${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}]`;
    });
    console.log(`  ${who.padEnd(40)} ${cells.join('   ')}`);
  }
  for (const [who, t] of rows) {
    const one = median(t.get(1)!);
    console.log(`  ${who}: 3 switches / 1 switch ${(median(t.get(3)!) / one).toFixed(2)}x; 6 / 1 ${(median(t.get(6)!) / one).toFixed(2)}x`);
  }
  console.log('');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { reps: { type: 'string', default: '30' }, only: { type: 'string' } } });
  const reps = Number(values.reps);
  console.log(
    `bench:fabric-lease: POST -> 201 for a lease across 1, 3 and 6 switches (a chain), emulated and on OVS bridges; ` +
      `dmzgate controller in its own process; ${reps} repetitions\n`,
  );
  // Each part prints as soon as it is done (the OVS part waits for the host-wide private-OVS turn). The OVS part's
  // protocol floor sends the emulated run's flows (the same config, so the same flows): not with --only ovs.
  let emulatedFlows: Map<number, FlowEntry[][]> | undefined;
  if (values.only !== 'ovs') {
    const { times, flows } = await emulatedRuns(reps);
    emulatedFlows = flows;
    const floor = await floorRuns(reps, flows);
    const twoPhase = await emulatedTwoPhaseRuns(reps, flows);
    printRatios([
      ...ratiosOf('emulated', 'floor: its flows, bare server, in turn', times, floor),
      ...ratiosOf('emulated', TWO_PHASE, times, twoPhase),
      ...goalRatios('emulated', times, twoPhase),
    ]);
    reach('emulated', times, twoPhase);
    const counts = SIZES.map((n) => flows.get(n)!.map((f) => f.length));
    table(
      'emulated switches',
      reps,
      [
        ['dmzgate', times],
        ['bare server, each switch in turn', floor],
        ['bare server, two phases, switches apart', twoPhase],
      ],
      counts,
    );
  }
  if (values.only !== 'emulated') {
    const { times, floor, twoPhase, counts } = await ovsRuns(reps, emulatedFlows);
    printRatios([
      ...ratiosOf('OVS', 'ovs-ofctl --bundle, each in turn', times, floor),
      ...(twoPhase ? ratiosOf('OVS', TWO_PHASE, times, twoPhase) : []),
      ...goalRatios('OVS', times, twoPhase),
    ]);
    if (twoPhase) reach('OVS', times, twoPhase);
    table(
      'Open vSwitch bridges (userspace datapath, one ovs-vswitchd)',
      reps,
      [
        ['dmzgate', times],
        ['ovs-ofctl --bundle add-flows, in turn', floor],
        ...(twoPhase ? [['bare server, two phases', twoPhase] as [string, Map<number, number[]>]] : []),
      ],
      counts,
    );
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
