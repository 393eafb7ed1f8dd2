// Science DMZ fabric sites for the fabric benchmarks, as site configs for `dmzgate controller` and the emulated
// switches and cables that match them. Switch i is `swI` with datapath id i. The border (sw1) holds the WAN entry
// (port 1) and the firewall's legs (2, 3); a DTN sits on port 1 of its switch (port 4 of the border's) and is
// 02:00:00:00:II:01, 10.10.I.10.
import { Cable, EmulatedSwitch } from '../emulator/index.js';

export interface SiteLink {
  a: [number, number];
  b: [number, number];
  cost?: number;
}

export interface DmzFabric {
  yaml: string;
  /** Per switch: its port count (emulated switches have ports 1..n). */
  ports: number[];
  links: SiteLink[];
  /** The DTN names, by switch. */
  dtns: Map<number, string>;
}

const hex = (n: number) => n.toString(16).padStart(2, '0');
const dtnPort = (s: number) => (s === 1 ? 4 : 1);

function siteYaml(name: string, ports: number[], links: SiteLink[], dtnSwitches: number[], policy: string[]): string {
  const fabricPorts = new Map<number, number[]>();
  for (const l of links) for (const [s, p] of [l.a, l.b]) fabricPorts.set(s, [...(fabricPorts.get(s) ?? []), p]);
  const lines = [`site: ${name}`, 'switches:'];
  for (let s = 1; s <= ports.length; s++) {
    lines.push(`  - name: sw${s}`, `    dpid: "${s.toString(16).padStart(16, '0')}"`, '    ports:');
    if (s === 1) lines.push('      - { port: 1, role: wan-routed }', '      - { port: 2, role: fw-outside }', '      - { port: 3, role: fw-inside }');
    if (dtnSwitches.includes(s)) lines.push(`      - { port: ${dtnPort(s)}, role: dtn }`);
    for (const p of fabricPorts.get(s) ?? []) lines.push(`      - { port: ${p}, role: fabric }`);
  }
  lines.push('dtns:');
  for (const s of dtnSwitches)
    lines.push(`  - { name: dtn${s}, switch: sw${s}, port: ${dtnPort(s)}, mac: "02:00:00:00:${hex(s)}:01", ipv4: [10.10.${s}.10] }`);
  lines.push('links:');
  for (const l of links)
    lines.push(`  - { a: "sw${l.a[0]}:${l.a[1]}", b: "sw${l.b[0]}:${l.b[1]}", capacity-mbps: 10000${l.cost ? `, cost: ${l.cost}` : ''} }`);
  lines.push('policy:', '  ports: [50000-59999]', ...policy.map((p) => `  ${p}`));
  return `${lines.join('\n')}\n`;
}

/**
 * Two spines: the border (sw1) and every leaf (sw4..swN) are joined to spine A (sw2) at cost 1 and to spine B
 * (sw3) at cost 2, so every lease crosses spine A until its link to the border fails, then spine B. Leaf ports:
 * 1 the DTN, 10 spine A, 11 spine B; spine port 1 the border, 1 + k the k-th leaf; border ports 10 A, 11 B.
 */
export function twoSpines(switches = 20): DmzFabric {
  const leaves = Array.from({ length: switches - 3 }, (_, i) => i + 4);
  const links: SiteLink[] = [
    { a: [1, 10], b: [2, 1] },
    { a: [1, 11], b: [3, 1], cost: 2 },
    ...leaves.flatMap((s, k): SiteLink[] => [
      { a: [s, 10], b: [2, k + 2] },
      { a: [s, 11], b: [3, k + 2], cost: 2 },
    ]),
  ];
  const ports = [11, leaves.length + 1, leaves.length + 1, ...leaves.map(() => 11)];
  return { yaml: siteYaml('bench-two-spines', ports, links, leaves, []), ports, links, dtns: new Map(leaves.map((s) => [s, `dtn${s}`])) };
}

/** A chain sw1 - sw2 - ... - swN (port 10 toward the border, 11 away from it), a DTN on every switch. */
export function chain(switches: number): DmzFabric {
  const links: SiteLink[] = Array.from({ length: switches - 1 }, (_, i) => ({ a: [i + 1, 11], b: [i + 2, 10] }));
  const ports = Array.from({ length: switches }, () => 11);
  const dtnSwitches = Array.from({ length: switches }, (_, i) => i + 1);
  return { yaml: siteYaml('bench-chain', ports, links, dtnSwitches, []), ports, links, dtns: new Map(dtnSwitches.map((s) => [s, `dtn${s}`])) };
}

/** The fabric's emulated switches, pointed at a controller port, and its cables (in the order of `links`). */
export function emulate(f: DmzFabric, controllerPort: number): { switches: EmulatedSwitch[]; cables: Cable[] } {
  const switches = f.ports.map((ports, i) => new EmulatedSwitch({ dpid: BigInt(i + 1), ports, port: controllerPort }));
  const cables = f.links.map((l) => new Cable(switches[l.a[0] - 1]!, l.a[1], switches[l.b[0] - 1]!, l.b[1]));
  return { switches, cables };
}
