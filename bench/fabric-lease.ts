// bench:fabric-lease (issue 18, a): the time from POST /api/v1/transfers to its 201 for a lease across 1, 3 and 6
// switches. `dmzgate controller` runs in its own process on a chain of 6 emulated switches (this process; bench/
// dmz-fabric-sites.ts chain: the border sw1, then sw2..sw6, a DTN on each), so a lease of dtn1 holds flows on 1
// switch, of dtn3 on 3, of dtn6 on 6. Each repetition asks for (timed) and releases (untimed) one lease of each size
// back to back. Beside it, the floor: the very flows the lease left on each switch (read off the emulated tables),
// written by a bare OpenFlow server (bench/bare-openflow.ts) to fresh emulated switches one after another, each
// switch's flow-mods followed by a barrier whose reply is awaited before the next switch: what a controller that
// just sends the flows, switch by switch, takes (the emulated counterpart of `ovs-ofctl --bundle add-flows` to
// each switch in turn, the floor bench:fabric-atomic measures on Open vSwitch).
//
//   npm run bench:fabric-lease [-- --reps 30]
import { parseArgs } from 'node:util';
import { connectAll } from './fabric-plan.js';
import { chain, emulate } from './dmz-fabric-sites.js';
import { DmzgateUnderTest } from './dmzgate-under-test.js';
import { BareOpenflow, addOf, deleteCookie } from './bare-openflow.js';
import { leaseFlows, leaseOf } from './lease-flows-seen.js';
import { printRatios, type Ratio } from './ratios.js';
import { EmulatedSwitch } from '../emulator/index.js';
import type { FlowEntry } from '../emulator/flow-table.js';

const SIZES = [1, 3, 6];
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

/** Per size: POST -> 201 (ms) per repetition, and the flows a lease of that size held per switch (switch order: sw1 first). */
async function dmzgateRuns(reps: number): Promise<{ times: Map<number, number[]>; flows: Map<number, FlowEntry[][]> }> {
  const fabric = chain(Math.max(...SIZES));
  const ctl = await DmzgateUnderTest.start(fabric.yaml);
  const { switches } = emulate(fabric, ctl.openflowPort);
  const times = new Map(SIZES.map((n) => [n, [] as number[]]));
  const flows = new Map<number, FlowEntry[][]>();
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
    );
    for (let r = -WARMUP; r < reps; r++) {
      for (const n of SIZES) {
        const t0 = performance.now();
        const res = await ctl.request('POST', '/api/v1/transfers', {
          dtn: fabric.dtns.get(n),
          remote: '192.0.2.10',
          protocol: 'tcp',
          local_ports: ['50000-50010'],
          path: 'routed',
          duration: 600,
        });
        const ms = performance.now() - t0;
        if (res.status !== 201) throw new Error(`POST for dtn${n}: ${res.status} ${JSON.stringify(res.body)}`);
        const id = res.body.id as number;
        const held = switches.map((s) => leaseFlows(s).filter((e) => leaseOf(e) === id));
        const on = held.filter((f) => f.length > 0).length;
        if (on !== n) throw new Error(`the lease of dtn${n} (${n} switches) has flows on ${on} switch(es) at its 201: not installed across its path`);
        if (!flows.has(n)) flows.set(n, held.slice(0, n));
        const del = await ctl.request('DELETE', `/api/v1/transfers/${id}`);
        if (del.status !== 200) throw new Error(`DELETE ${id}: ${del.status} ${JSON.stringify(del.body)}`);
        if (r >= 0) times.get(n)!.push(ms);
      }
    }
    return { times, flows };
  } finally {
    await Promise.all(switches.map((s) => s.close()));
    await ctl.stop();
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

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { reps: { type: 'string', default: '30' } } });
  const reps = Number(values.reps);
  console.log(
    `bench:fabric-lease: POST -> 201 for a lease across 1, 3 and 6 emulated switches (a chain); dmzgate controller in its own process; ${reps} repetitions\n`,
  );
  const { times, flows } = await dmzgateRuns(reps);
  const floor = await floorRuns(reps, flows);
  const ratios: Ratio[] = SIZES.map((n) => ({
    measure: `POST -> 201, ${n} switch${n === 1 ? '' : 'es'} (ms)`,
    versus: 'floor: its flows, bare server, in turn',
    dmzgate: median(times.get(n)!),
    other: median(floor.get(n)!),
    better: 'lower' as const,
    byRep: times.get(n)!.map((t, i) => t / floor.get(n)![i]!),
  }));
  printRatios(ratios);
  console.log(`(ms; median, [min-max] of ${reps})`);
  for (const n of SIZES) {
    const t = times.get(n)!;
    const f = floor.get(n)!;
    const flowCount = flows.get(n)!.map((fs) => fs.length);
    console.log(
      `  ${n} switch${n === 1 ? ' ' : 'es'}: dmzgate ${median(t).toFixed(2)} [${Math.min(...t).toFixed(2)}-${Math.max(...t).toFixed(2)}]   ` +
        `floor ${median(f).toFixed(2)} [${Math.min(...f).toFixed(2)}-${Math.max(...f).toFixed(2)}]   flows per switch ${flowCount.join('+')}`,
    );
  }
  const one = median(times.get(1)!);
  console.log(`3 switches / 1 switch: ${(median(times.get(3)!) / one).toFixed(2)}x; 6 / 1: ${(median(times.get(6)!) / one).toFixed(2)}x`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
