// An emulated fabric's shape for benchmarks: a leaf/spine of emulated switches and the cables between them. Leaves
// have only their uplink ports and spines only their downlinks, so every port carries a cable and every LLDP
// probe names a link.
import { Cable, EmulatedSwitch } from '../emulator/index.js';

export interface FabricPlan {
  /** Datapath id and port count of each switch: spines first (dpids 1..spines), then leaves. */
  switches: { dpid: bigint; ports: number }[];
  /** [dpid, port, dpid, port]: leaf uplink u goes to spine (leaf * uplinks + u) mod spines. */
  cables: [bigint, number, bigint, number][];
}

export function leafSpine(spines: number, leaves: number, uplinks: number): FabricPlan {
  if (spines < 1 || leaves < 1 || uplinks < 1 || uplinks > spines) throw new Error('leafSpine: need 1 <= uplinks <= spines, leaves >= 1');
  const used = new Array<number>(spines).fill(0);
  const cables: FabricPlan['cables'] = [];
  for (let l = 0; l < leaves; l++)
    for (let u = 0; u < uplinks; u++) {
      const s = (l * uplinks + u) % spines;
      cables.push([BigInt(spines + 1 + l), u + 1, BigInt(s + 1), ++used[s]!]);
    }
  const switches = [
    ...used.map((n, s) => ({ dpid: BigInt(s + 1), ports: n })),
    ...Array.from({ length: leaves }, (_, l) => ({ dpid: BigInt(spines + 1 + l), ports: uplinks })),
  ];
  return { switches, cables };
}

/** The plan's switches (not connected) pointed at a controller port, cabled as planned. */
export function buildFabric(plan: FabricPlan, controllerPort: number): { switches: EmulatedSwitch[]; cables: Cable[] } {
  const switches = plan.switches.map((s) => new EmulatedSwitch({ dpid: s.dpid, ports: s.ports, port: controllerPort }));
  const by = new Map(switches.map((s) => [s.dpid, s]));
  const cables = plan.cables.map(([da, pa, db, pb]) => new Cable(by.get(da)!, pa, by.get(db)!, pb));
  return { switches, cables };
}

/** Connects every switch (through the handshake), `concurrency` at a time as a fleet does. */
export async function connectAll(switches: EmulatedSwitch[], concurrency = 32): Promise<void> {
  const queue = [...switches];
  const worker = async () => {
    for (let s = queue.shift(); s; s = queue.shift()) await s.connect({ waitFor: 'handshake' });
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
}

/**
 * The plan as a site config (switches sw<dpid>): its fabric ports and links, and the one-switch roles today's
 * config rules want on every switch, on ports 61-63 that no emulated switch has.
 */
export function planSiteYaml(plan: FabricPlan): string {
  const name = (dpid: bigint) => `sw${dpid}`;
  const lines = ['site: bench-fabric', 'switches:'];
  for (const s of plan.switches) {
    lines.push(`  - name: ${name(s.dpid)}`, `    dpid: "${s.dpid.toString(16).padStart(16, '0')}"`, '    ports:');
    for (let p = 1; p <= s.ports; p++) lines.push(`      - { port: ${p}, role: fabric }`);
    lines.push('      - { port: 61, role: wan-routed }', '      - { port: 62, role: fw-outside }', '      - { port: 63, role: fw-inside }');
  }
  lines.push('links:');
  for (const [da, pa, db, pb] of plan.cables) lines.push(`  - { a: "${name(da)}:${pa}", b: "${name(db)}:${pb}", capacity-mbps: 10000 }`);
  return `${lines.join('\n')}\n`;
}
