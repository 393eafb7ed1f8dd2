// bench:fabric-failover (issue 18, b): the time to move 1,000 leases off a failed link in a 20-switch emulated
// fabric. `dmzgate controller` runs in its own process (the controller, the fabric monitor, the DMZ app and its
// core, the API, as the command wires them); the switches are emulated in this one (bench/dmz-fabric-sites.ts
// twoSpines: the border, spines A and B, 17 leaves with a DTN each; every lease crosses spine A). The leases are
// asked for through the API, then the border-spine A cable is pulled (both ports report their link down,
// OFPT_PORT_STATUS). Timed from the pull until every lease's new path is installed: each lease has a flow on spine
// B, and on the border and its leaf a flow by their spine B port; then until the old path is gone (no lease flow
// by a spine A port anywhere). Goal: under 1 s. Beside it, the floor: as many flow-mods per switch as the switch's
// tables changed in that time (flows added, removed or given new instructions), written by a bare OpenFlow server
// (bench/bare-openflow.ts) to fresh emulated switches with a barrier each, until every barrier is answered.
//
//   npm run bench:fabric-failover [-- --leases 1000 --switches 20 --reps 3]
import { parseArgs } from 'node:util';
import { connectAll } from './fabric-plan.js';
import { emulate, twoSpines } from './dmz-fabric-sites.js';
import { DmzgateUnderTest } from './dmzgate-under-test.js';
import { BareOpenflow } from './bare-openflow.js';
import { leasesOn, leasesThrough } from './lease-flows-seen.js';
import { printRatios, type Ratio } from './ratios.js';
import { EmulatedSwitch } from '../emulator/index.js';
import { OFPFC, OFPG, OFPP, OFP_NO_BUFFER, type MessageOf } from '../controller/openflow/index.js';

type FlowModMsg = MessageOf<'flowMod'>;

const SPINE_A = 2;
const SPINE_B = 3;
const BORDER = 1;
const LEAF_A_PORT = 10;
const LEAF_B_PORT = 11;

interface Run {
  leases: number;
  askMs: number;
  /** From the pull until some lease has a flow on spine B. */
  firstMs: number;
  newPathMs: number;
  oldGoneMs: number;
  /** Per switch: flows added, changed or removed from the pull until the new paths were in. */
  flowMods: Map<bigint, number>;
  flowModsUntilOldGone: number;
  /** OpenFlow messages the switches received meanwhile (bundle controls, barriers, flow-mods in bundles, ...). */
  messages: number;
}

/** Each flow of the switch as text (table, priority, match, cookie, instructions): what a flow-mod changes. */
function tableText(sw: EmulatedSwitch): Set<string> {
  const big = (_: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);
  return new Set([...sw.pipeline.allFlows()].map((e) => `${e.tableId}|${e.priority}|${e.key}|${e.cookie}|${JSON.stringify(e.instructions, big)}`));
}

function changes(before: Set<string>, after: Set<string>): number {
  let n = 0;
  for (const x of after) if (!before.has(x)) n++;
  for (const x of before) if (!after.has(x)) n++;
  return n;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(pred: () => boolean | Promise<boolean>, what: string, ms: number, every = 20): Promise<void> {
  const end = performance.now() + ms;
  while (!(await pred())) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

async function dmzgateRun(switchCount: number, leaseCount: number): Promise<Run> {
  const fabric = twoSpines(switchCount);
  const ctl = await DmzgateUnderTest.start(fabric.yaml, { lldpIntervalMs: 1000 });
  const { switches, cables } = emulate(fabric, ctl.openflowPort);
  const sw = (n: number) => switches[n - 1]!;
  const leaves = [...fabric.dtns.keys()];
  try {
    await connectAll(switches);
    await waitFor(
      async () => {
        const r = await ctl.request('GET', '/api/v1/topology');
        const links = (r.body.links ?? []) as { configured: boolean; state: string }[];
        return links.filter((l) => l.configured && l.state === 'up').length === fabric.links.length;
      },
      'every configured link up',
      30_000,
      100,
    );
    const t0 = performance.now();
    const ids: number[] = [];
    let next = 0;
    const ask = async () => {
      for (let i = next++; i < leaseCount; i = next++) {
        const leaf = leaves[i % leaves.length]!;
        const r = await ctl.request('POST', '/api/v1/transfers', {
          dtn: fabric.dtns.get(leaf),
          remote: '192.0.2.10',
          protocol: 'tcp',
          local_ports: [String(50000 + Math.floor(i / leaves.length))],
          path: 'routed',
          duration: 3600,
        });
        if (r.status !== 201) throw new Error(`lease ${i}: ${r.status} ${JSON.stringify(r.body)}`);
        ids.push(r.body.id as number);
      }
    };
    await Promise.all(Array.from({ length: 8 }, ask));
    const askMs = performance.now() - t0;
    const onA = leasesOn(sw(SPINE_A)).size;
    if (onA !== leaseCount)
      throw new Error(
        `${onA} of ${leaseCount} leases have flows on spine A after their 201: the lease is not installed on every switch of its path ` +
          `(leases with flows: border ${leasesOn(sw(BORDER)).size}, leaves ${leaves.reduce((n, l) => n + leasesOn(sw(l)).size, 0)})`,
      );
    await sleep(500);

    const before = new Map(switches.map((s) => [s.dpid, tableText(s)]));
    const messagesBefore = switches.reduce((n, s) => n + s.counters.messagesIn, 0);
    const newPathIn = () =>
      leasesOn(sw(SPINE_B)).size === leaseCount &&
      leasesThrough(sw(BORDER), 11).size === leaseCount &&
      leaves.every((l) => leasesThrough(sw(l), LEAF_B_PORT).size === leasesOn(sw(l)).size && leasesOn(sw(l)).size > 0);
    const oldGone = () =>
      leasesOn(sw(SPINE_A)).size === 0 &&
      leasesThrough(sw(BORDER), 10).size === 0 &&
      leaves.every((l) => leasesThrough(sw(l), LEAF_A_PORT).size === 0);
    const t1 = performance.now();
    cables[0]!.unplug(); // sw1:10 - sw2:1
    await waitFor(() => leasesOn(sw(SPINE_B)).size > 0, 'a first lease on spine B', 30_000, 2);
    const firstMs = performance.now() - t1;
    await waitFor(newPathIn, 'every lease on its new path', 60_000, 2);
    const newPathMs = performance.now() - t1;
    const flowMods = new Map(switches.map((s) => [s.dpid, changes(before.get(s.dpid)!, tableText(s))]));
    await waitFor(oldGone, 'the old path gone', 60_000, 2);
    const oldGoneMs = performance.now() - t1;
    const flowModsUntilOldGone = switches.reduce((n, s) => n + changes(before.get(s.dpid)!, tableText(s)), 0);
    const messages = switches.reduce((n, s) => n + s.counters.messagesIn, 0) - messagesBefore;
    return { leases: ids.length, askMs, firstMs, newPathMs, oldGoneMs, flowMods, flowModsUntilOldGone, messages };
  } finally {
    await Promise.all(switches.map((s) => s.close()));
    await ctl.stop();
  }
}

/** A lease-like add (distinct per i) for the floor. */
function floorFlow(i: number): FlowModMsg {
  return {
    type: 'flowMod',
    xid: 0,
    command: OFPFC.ADD,
    cookie: BigInt(i),
    cookieMask: 0n,
    tableId: 0,
    priority: 3000,
    idleTimeout: 0,
    hardTimeout: 0,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: 0,
    match: [
      { field: 'in_port', value: 11 },
      { field: 'eth_type', value: 0x0800 },
      { field: 'ip_proto', value: 6 },
      { field: 'ipv4_src', value: `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}` },
      { field: 'ipv4_dst', value: '192.0.2.10' },
      { field: 'tcp_dst', value: 50000 + (i % 10000) },
    ],
    instructions: [{ type: 'applyActions', actions: [{ type: 'output', port: 1, maxLen: 0 }] }],
  };
}

/** The same count of flow-mods per switch, written at once by a bare server; ms until every barrier is answered. */
async function floorRun(switchCount: number, flowMods: Map<bigint, number>): Promise<number> {
  const fabric = twoSpines(switchCount);
  const bare = await BareOpenflow.listen();
  const switches = fabric.ports.map((ports, i) => new EmulatedSwitch({ dpid: BigInt(i + 1), ports, port: bare.port }));
  try {
    await connectAll(switches);
    await bare.whenConnected(switches.map((s) => s.dpid));
    let n = 0;
    const batches = [...flowMods].map(([dpid, count]) => ({ dpid, batch: bare.batch(Array.from({ length: count }, () => floorFlow(n++))) }));
    const t0 = performance.now();
    await Promise.all(batches.map((b) => bare.send(b.dpid, b.batch)));
    return performance.now() - t0;
  } finally {
    await Promise.all(switches.map((s) => s.close()));
    await bare.close();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      leases: { type: 'string', default: '1000' },
      switches: { type: 'string', default: '20' },
      reps: { type: 'string', default: '3' },
    },
  });
  const leases = Number(values.leases);
  const switchCount = Number(values.switches);
  const reps = Number(values.reps);
  console.log(
    `bench:fabric-failover: ${leases} leases across ${switchCount} emulated switches (border, 2 spines, ${switchCount - 3} leaves), ` +
      `the border-spine A cable pulled; dmzgate controller in its own process; ${reps} repetitions\n`,
  );
  const runs: Run[] = [];
  const floors: number[] = [];
  for (let r = 0; r < reps; r++) {
    const run = await dmzgateRun(switchCount, leases);
    const floor = await floorRun(switchCount, run.flowMods);
    runs.push(run);
    floors.push(floor);
    const sent = [...run.flowMods.values()].reduce((a, b) => a + b, 0);
    console.log(
      `  rep ${r + 1}: ${run.leases} leases asked in ${run.askMs.toFixed(0)} ms; pull -> first lease on spine B ${run.firstMs.toFixed(0)} ms, ` +
        `every new path installed ${run.newPathMs.toFixed(0)} ms (${sent} flow changes on ${[...run.flowMods.values()].filter((n) => n > 0).length} switches), ` +
        `old path gone ${run.oldGoneMs.toFixed(0)} ms (${run.flowModsUntilOldGone} flow changes, ${run.messages} OpenFlow messages in all); ` +
        `floor: ${sent} flow-mods from a bare server ${floor.toFixed(0)} ms`,
    );
  }
  console.log('');
  const ratios: Ratio[] = [
    {
      measure: `pull -> ${leases} leases on their new path (ms)`,
      versus: 'floor: as many flow-mods, bare server',
      dmzgate: median(runs.map((r) => r.newPathMs)),
      other: median(floors),
      better: 'lower',
      byRep: runs.map((r, i) => r.newPathMs / floors[i]!),
    },
  ];
  printRatios(ratios);
  const m = median(runs.map((r) => r.newPathMs));
  console.log(`pull -> every lease's new path installed: median ${m.toFixed(0)} ms (goal < 1000 ms: ${m < 1000 ? 'yes' : 'NO'})`);
  console.log(`pull -> old path gone: median ${median(runs.map((r) => r.oldGoneMs)).toFixed(0)} ms`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
