// bench:fabric-discovery: LLDP discovery of a 100-switch emulated fabric (a leaf/spine: 4 spines, 96 leaves with
// 2 uplinks each, 192 cables) by the controller's own parts as `dmzgate controller` wires them: Controller,
// FlowManager installing the LLDP-to-controller flow, LinkDiscovery on its timer, a probe round soon after each
// switch is reconciled (probeSoon), and the FabricMonitor comparing what is seen with the site config's links.
// Emulator and controller share this process (so does the floor). Per repetition it prints:
//   - discovery: from every switch connected (handshake done, LLDP flow confirmed) until the monitor has called
//     every configured link up (seen both ways); the goal is under 3 s. Beside it, the same without the early round (--no-early-round's
//     figure): probes sent while a neighbour had no LLDP flow yet are lost, and only the next interval finds
//     those links.
//   - probe round: one tick() (a packet-out per port) until every link's packet-in is back, beside the floor
//     (fabric-discovery-floor.ts: the same packet-outs and packet-ins with nothing of ours in the way).
//   - a severed cable (ports stay up) noticed after 3 silent intervals, and a pulled one (port-status) at once.
//
//   npm run bench:fabric-discovery [-- --spines 4 --leaves 96 --uplinks 2 --interval 1000 --reps 3]
import { parseArgs } from 'node:util';
import { Controller } from '../controller/controller.js';
import { FlowManager } from '../controller/flow-manager.js';
import { silentLogger } from '../controller/log.js';
import { LinkDiscovery, lldpToControllerFlow, type DiscoveredLink } from '../controller/lldp-discovery.js';
import { FabricMonitor } from '../apps/dmz/fabric-monitor.js';
import { parseSiteConfig } from '../apps/dmz/config.js';
import { buildFabric, connectAll, leafSpine, planSiteYaml, type FabricPlan } from './fabric-plan.js';
import { floorRound } from './fabric-discovery-floor.js';
import { printRatios, type Ratio } from './ratios.js';

interface Discovery {
  connectMs: number;
  discoverMs: number;
}

interface Run extends Discovery {
  roundMs: number;
  severMs: number;
  unplugMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(pred: () => boolean, what: string, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!pred()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(1);
  }
}

async function dmzgateRun(plan: FabricPlan, intervalMs: number): Promise<Run>;
async function dmzgateRun(plan: FabricPlan, intervalMs: number, opts: { noEarlyRound: true }): Promise<Discovery>;
async function dmzgateRun(plan: FabricPlan, intervalMs: number, opts: { noEarlyRound?: boolean } = {}): Promise<Run | Discovery> {
  const logger = silentLogger();
  const controller = new Controller({ port: 0, host: '127.0.0.1', logger });
  const flows = new FlowManager(controller, { logger });
  flows.registerOwner('lldp', 0x77);
  for (const s of plan.switches) flows.setFlows(s.dpid, 'lldp', [lldpToControllerFlow(65000, flows.cookie('lldp'))]);
  const { port } = await controller.listen();
  const discovery = new LinkDiscovery({ controller, logger, intervalMs });
  const site = parseSiteConfig(planSiteYaml(plan));
  const monitor = new FabricMonitor({ site: () => site, controller, discovery, logger });
  const up = new Set<string>();
  monitor.on('link-up', (c) => up.add(c.link));
  monitor.on('link-down', (c) => up.delete(c.link));
  const expected = plan.cables.length * 2;
  const reconciled = new Set<bigint>();
  flows.on('reconciled', (dpid) => reconciled.add(dpid));
  if (!opts.noEarlyRound) flows.on('reconciled', () => discovery.probeSoon());
  let lldpIns = 0;
  controller.on('packetIn', (pi) => void (pi.packet?.lldp && lldpIns++));
  const downs: [DiscoveredLink, string][] = [];
  discovery.on('linkDown', (l, why) => downs.push([l, why]));
  monitor.start();
  discovery.start();
  const { switches, cables } = buildFabric(plan, port!);
  try {
    const t0 = performance.now();
    await connectAll(switches);
    await waitFor(() => reconciled.size === switches.length, 'every switch reconciled', 30_000);
    const t1 = performance.now();
    await waitFor(() => up.size === plan.cables.length, 'every configured link up', 30_000);
    const t2 = performance.now();
    if (opts.noEarlyRound) return { connectMs: t1 - t0, discoverMs: t2 - t1 };

    // One probe round on demand, between two timer ticks.
    await sleep(intervalMs / 4);
    const before = lldpIns;
    const t3 = performance.now();
    discovery.tick();
    await waitFor(() => lldpIns - before >= expected, 'a probe round', 10_000);
    const roundMs = performance.now() - t3;

    const sever = cables[0]!;
    const t4 = performance.now();
    sever.sever();
    await waitFor(() => downs.filter(([, why]) => why === 'timeout').length === 2, 'the severed link lost', 10 * intervalMs);
    const severMs = performance.now() - t4;
    const unplug = cables[1]!;
    const t5 = performance.now();
    unplug.unplug();
    await waitFor(() => downs.filter(([, why]) => why === 'port-down').length === 2, 'the pulled link lost', 5000);
    const unplugMs = performance.now() - t5;
    return { connectMs: t1 - t0, discoverMs: t2 - t1, roundMs, severMs, unplugMs };
  } finally {
    monitor.stop();
    discovery.stop();
    flows.close();
    await Promise.all(switches.map((s) => s.close()));
    await controller.close();
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
      spines: { type: 'string', default: '4' },
      leaves: { type: 'string', default: '96' },
      uplinks: { type: 'string', default: '2' },
      interval: { type: 'string', default: '1000' },
      reps: { type: 'string', default: '3' },
    },
  });
  const plan = leafSpine(Number(values.spines), Number(values.leaves), Number(values.uplinks));
  const intervalMs = Number(values.interval);
  const reps = Number(values.reps);
  console.log(
    `bench:fabric-discovery: ${plan.switches.length} emulated switches (${values.spines} spines, ${values.leaves} leaves x ${values.uplinks} uplinks), ` +
      `${plan.cables.length} cables (${plan.cables.length * 2} directed links), LLDP interval ${intervalMs} ms, ${reps} repetitions\n`,
  );
  const runs: Run[] = [];
  const late: Discovery[] = [];
  const floors: number[] = [];
  for (let i = 0; i < reps; i++) {
    const floor = await floorRound(plan);
    const run = await dmzgateRun(plan, intervalMs);
    const noEarly = await dmzgateRun(plan, intervalMs, { noEarlyRound: true });
    floors.push(floor.roundMs);
    runs.push(run);
    late.push(noEarly);
    console.log(
      `  rep ${i + 1}: connect ${run.connectMs.toFixed(0)} ms; discovery ${run.discoverMs.toFixed(0)} ms ` +
        `(without the early round ${noEarly.discoverMs.toFixed(0)} ms); probe round ${run.roundMs.toFixed(1)} ms ` +
        `(floor ${floor.roundMs.toFixed(1)} ms, floor connect ${floor.connectMs.toFixed(0)} ms); severed noticed ${run.severMs.toFixed(0)} ms; ` +
        `pulled noticed ${run.unplugMs.toFixed(1)} ms`,
    );
  }
  console.log('');
  const ratios: Ratio[] = [
    {
      measure: 'all connected -> every link seen (ms)',
      versus: 'floor: one probe round',
      dmzgate: median(runs.map((r) => r.discoverMs)),
      other: median(floors),
      better: 'lower',
      byRep: runs.map((r, i) => r.discoverMs / floors[i]!),
    },
    {
      measure: `probe round, ${plan.cables.length * 2} links (ms)`,
      versus: 'floor (emulator + bare server)',
      dmzgate: median(runs.map((r) => r.roundMs)),
      other: median(floors),
      better: 'lower',
      byRep: runs.map((r, i) => r.roundMs / floors[i]!),
    },
  ];
  printRatios(ratios);
  const disc = median(runs.map((r) => r.discoverMs));
  console.log(
    `discovery, all connected -> every link seen: median ${disc.toFixed(0)} ms (goal < 3000 ms: ${disc < 3000 ? 'yes' : 'NO'}); ` +
      `without the early round: median ${median(late.map((r) => r.discoverMs)).toFixed(0)} ms`,
  );
  console.log(
    `severed cable noticed (${3} silent intervals of ${intervalMs} ms): median ${median(runs.map((r) => r.severMs)).toFixed(0)} ms; ` +
      `pulled cable (port-status): median ${median(runs.map((r) => r.unplugMs)).toFixed(1)} ms`,
  );
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
