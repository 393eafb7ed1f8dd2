// Random command sequences applied to the core (through the switch simulator) and to a reference model of a few
// dozen lines: the same leases are active and packets get the same verdicts at every step. On one switch, and on a
// three-switch fabric (border, core, DMZ leaf; packets followed across the links) whose links go down and up.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { defaultSite, parseSiteConfig } from '../../../../apps/dmz/config.js';
import { parsePrefix } from '../../../../apps/dmz/addresses.js';
import type { Command } from '../../../../apps/dmz/core/commands.js';
import type { PortRange } from '../../../../apps/dmz/port-ranges.js';
import type { SimPacket } from '../../../helpers/flow-sim.js';
import type { Trace } from '../../../helpers/fabric-sim.js';
import { supercomputerYaml } from '../../../helpers/science-dmz-fabrics.js';
import { World, type Verdict } from './world.js';

const site = defaultSite();
const fabricSite = parseSiteConfig(supercomputerYaml());
/** The fabric's links that can fail: the leaf's two ways to the border (via the core, or direct). */
const LINKS = ['core:11-leaf:10', 'leaf:11-border:12'];
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const BY = { actor: 'token:1', project: 'p' };
const MAX_MS = site.policy.maxLeaseSeconds * 1000;

// ---- the reference model --------------------------------------------------------------------------------------

const ip = (a: string): number => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const range = (cidr: string): [number, number] => {
  const [a, len] = cidr.split('/') as [string, string];
  const size = 2 ** (32 - Number(len));
  const lo = Math.floor(ip(a) / size) * size;
  return [lo, lo + size - 1];
};
const meets = (a: [number, number], b: [number, number]): boolean => a[0] <= b[1] && b[0] <= a[1];
const portsMeet = (xs: PortRange[], ys: PortRange[]): boolean => xs.some((x) => ys.some((y) => x.lo <= y.hi && y.lo <= x.hi));
const inPorts = (p: number, xs: PortRange[]): boolean => xs.some((x) => x.lo <= p && p <= x.hi);

interface MLease {
  id: number;
  remote: string;
  protocol: 'tcp' | 'udp';
  local: PortRange[];
  remotePorts: PortRange[];
  end: number;
}
interface MBlock {
  id: number;
  prefix: string;
  end: number | undefined;
}

class Model {
  leases: MLease[] = [];
  blocks: MBlock[] = [];
  up = true;
  /** Links down (the fabric's): with both, the leaf has no path to the border. */
  cut = new Set<string>();
  now = T0;
  private nextLease = 1;
  private nextBlock = 1;

  advance(ms: number): void {
    this.now += ms;
    this.leases = this.leases.filter((l) => l.end > this.now);
    this.blocks = this.blocks.filter((b) => b.end === undefined || b.end > this.now);
  }

  apply(c: Op): void {
    switch (c.op) {
      case 'request': {
        const end = this.now + c.seconds * 1000;
        if (end - this.now > MAX_MS || !this.up || this.cut.size === LINKS.length) return;
        const clash = this.leases.some(
          (l) =>
            l.protocol === c.protocol &&
            meets(range(l.remote), range(c.remote)) &&
            portsMeet(l.local, c.local) &&
            portsMeet(l.remotePorts, c.remotePorts),
        );
        if (!clash)
          this.leases.push({ id: this.nextLease++, remote: c.remote, protocol: c.protocol, local: c.local, remotePorts: c.remotePorts, end });
        return;
      }
      case 'extend': {
        const l = this.leases.find((x) => x.id === c.id);
        if (l && this.up && c.seconds * 1000 <= MAX_MS) l.end = this.now + c.seconds * 1000;
        return;
      }
      case 'release':
        this.leases = this.leases.filter((l) => l.id !== c.id);
        return;
      case 'block':
        this.blocks.push({ id: this.nextBlock++, prefix: c.prefix, end: c.seconds === undefined ? undefined : this.now + c.seconds * 1000 });
        return;
      case 'unblock':
        this.blocks = this.blocks.filter((b) => b.id !== c.id);
        return;
      case 'down':
        this.up = false;
        return;
      case 'up':
        this.up = true;
        return;
      case 'link-down':
        this.cut.add(c.link);
        return;
      case 'link-up':
        this.cut.delete(c.link);
        return;
      case 'wait':
        this.advance(c.ms);
    }
  }

  verdict(p: Probe): Verdict {
    const src = ip(p.src);
    if (this.blocks.some((b) => meets(range(b.prefix), [src, src]))) return 'drop';
    const open = this.leases.some(
      (l) => l.protocol === p.protocol && meets(range(l.remote), [src, src]) && inPorts(p.dstPort, l.local) && inPorts(40000, l.remotePorts),
    );
    // A lease whose path is lost waits: the border still sends its packets toward the dead link.
    if (open && this.cut.size === LINKS.length) return 'drop';
    return open ? 'bypass' : 'firewall';
  }
}

// ---- the commands, both ways ----------------------------------------------------------------------------------

type Op =
  | { op: 'request'; remote: string; protocol: 'tcp' | 'udp'; local: PortRange[]; remotePorts: PortRange[]; seconds: number }
  | { op: 'extend'; id: number; seconds: number }
  | { op: 'release'; id: number }
  | { op: 'block'; prefix: string; seconds: number | undefined }
  | { op: 'unblock'; id: number }
  | { op: 'down' }
  | { op: 'up' }
  | { op: 'link-down' | 'link-up'; link: string }
  | { op: 'wait'; ms: number };

interface Probe {
  src: string;
  protocol: 'tcp' | 'udp';
  dstPort: number;
}

const REMOTES = ['192.0.2.0/24', '192.0.2.0/25', '192.0.2.128/25', '192.0.2.10/32', '198.51.100.0/24'];
const LOCALS: PortRange[][] = [[{ lo: 50000, hi: 51000 }], [{ lo: 50000, hi: 50099 }], [{ lo: 50500, hi: 50500 }], [{ lo: 5201, hi: 5201 }]];
const REMOTE_PORTS: PortRange[][] = [[{ lo: 0, hi: 65535 }], [{ lo: 40000, hi: 40000 }], [{ lo: 1, hi: 1023 }]];
const PROBES: Probe[] = ['192.0.2.10', '192.0.2.130', '192.0.2.1', '198.51.100.7', '203.0.113.5'].flatMap((src) =>
  [50000, 50050, 50500, 51000, 5201, 8080].flatMap((dstPort) => (['tcp', 'udp'] as const).map((protocol) => ({ src, protocol, dstPort }))),
);

const id = fc.integer({ min: 1, max: 12 });
const ops: fc.WeightedArbitrary<Op>[] = [
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('request' as const),
      remote: fc.constantFrom(...REMOTES),
      protocol: fc.constantFrom('tcp' as const, 'udp' as const),
      local: fc.constantFrom(...LOCALS),
      remotePorts: fc.constantFrom(...REMOTE_PORTS),
      seconds: fc.oneof(fc.integer({ min: 1, max: 600 }), fc.constant(13 * 3600)),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('extend' as const), id, seconds: fc.oneof(fc.integer({ min: 1, max: 1200 }), fc.constant(13 * 3600)) }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('release' as const), id }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('block' as const),
      prefix: fc.constantFrom(...REMOTES),
      seconds: fc.option(fc.integer({ min: 1, max: 600 }), { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unblock' as const), id: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'down' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'up' as const }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 400_000 }) }) },
];
const opArb: fc.Arbitrary<Op> = fc.oneof(...ops);
const fabricOpArb: fc.Arbitrary<Op> = fc.oneof(...ops, {
  weight: 2,
  arbitrary: fc.record({ op: fc.constantFrom('link-down' as const, 'link-up' as const), link: fc.constantFrom(...LINKS) }),
});

function commandOf(w: World, o: Op, DPID: bigint): Command | undefined {
  switch (o.op) {
    case 'request':
      return {
        type: 'request',
        by: BY,
        lease: {
          project: 'p',
          dtn: 'dtn1',
          remote: parsePrefix(o.remote),
          protocol: o.protocol,
          localPorts: o.local,
          remotePorts: o.remotePorts,
          path: 'routed',
          end: w.now + o.seconds * 1000,
        },
      };
    case 'extend':
      return { type: 'extend', by: BY, id: o.id, end: w.now + o.seconds * 1000 };
    case 'release':
      return { type: 'release', by: BY, id: o.id, state: 'released', reason: 'done' };
    case 'block':
      return {
        type: 'block',
        by: BY,
        block: { prefix: parsePrefix(o.prefix), reason: 'test', ...(o.seconds !== undefined ? { end: w.now + o.seconds * 1000 } : {}) },
      };
    case 'unblock':
      return { type: 'unblock', by: BY, id: o.id };
    case 'down':
      return { type: 'switch-down', dpid: DPID };
    case 'up':
      return { type: 'switch-up', dpid: DPID };
    case 'link-down':
    case 'link-up':
      return { type: o.op, link: o.link };
    case 'wait':
      w.advance(o.ms);
      return undefined;
  }
}

const packet = (p: Probe): SimPacket => ({
  inPort: 1,
  ethDst: '02:00:00:00:01:05',
  ethType: 0x0800,
  ipSrc: p.src,
  ipDst: '10.10.1.10',
  ipProto: p.protocol === 'tcp' ? 6 : 17,
  srcPort: 40000,
  dstPort: p.dstPort,
});

/** A setup: its site, the switch that goes down and up (the DTN's), its commands, and how a probe's verdict is read. */
interface Setup {
  name: string;
  site: typeof site;
  dpid: bigint;
  ops: fc.Arbitrary<Op>;
  runs: number;
  /** The verdicts of the world as it is now. */
  verdicts(w: World): (p: Probe) => Verdict;
}

function verdictOf(t: Trace): Verdict {
  const exits = t.exits.map((e) => `${e.switch}:${e.port}`);
  if (exits.length === 0) return 'drop';
  if (exits.length === 1 && exits[0] === 'leaf:1' && !t.hops.some((h) => h.switch === 'border' && h.inPort === 3)) return 'bypass';
  if (exits.length === 1 && exits[0] === 'border:2') return 'firewall';
  throw new Error(`unexpected exits ${exits.join(',')}`);
}

const fabricVerdicts = (w: World) => {
  const fabric = w.fabric();
  return (p: Probe) => verdictOf(fabric.send('border', { ...packet(p), ethDst: '02:00:00:00:03:01' }));
};

const SETUPS: Setup[] = [
  {
    name: 'one switch',
    site,
    dpid: site.switches[0]!.dpid,
    ops: opArb,
    runs: 100,
    verdicts: (w) => (p) => w.verdict(site.switches[0]!.dpid, packet(p), { dtn: 5, fw: 3 }),
  },
  {
    name: 'a three-switch fabric',
    site: fabricSite,
    dpid: 3n,
    ops: fabricOpArb,
    runs: 40,
    verdicts: fabricVerdicts,
  },
  {
    name: 'a three-switch fabric with backup paths',
    // Detours add flows on a switch: a larger per-request budget keeps the model's budget-free view true.
    site: parseSiteConfig(supercomputerYaml('  backup-paths: true\n  lease-flow-budget: 4096\n')),
    dpid: 3n,
    ops: fabricOpArb,
    runs: 20,
    verdicts: fabricVerdicts,
  },
];

describe.each(SETUPS)('decide against a reference model: $name', (setup) => {
  it('agrees on the active leases and on every packet, at every step', () => {
    fc.assert(
      fc.property(fc.array(setup.ops, { minLength: 1, maxLength: 40 }), (ops) => {
        const w = new World(setup.site, T0);
        for (const sw of setup.site.switches) w.run({ type: 'switch-up', dpid: sw.dpid });
        const m = new Model();
        for (const o of ops) {
          const cmd = commandOf(w, o, setup.dpid);
          if (cmd) w.run(cmd);
          m.apply(o);
          expect(w.activeLeases()).toEqual(m.leases.map((l) => l.id).sort((a, b) => a - b));
          // A switch that is down holds what it had; it is compared once it is back (its tables are then rebuilt).
          if (!m.up) continue;
          const verdict = setup.verdicts(w);
          for (const p of PROBES) expect(verdict(p), `${p.protocol} ${p.src} -> ${p.dstPort}`).toBe(m.verdict(p));
        }
      }),
      { numRuns: setup.runs },
    );
  });
});
