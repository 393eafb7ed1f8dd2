// Random command sequences applied to the core (through the switch simulator) and to a reference model of a few
// dozen lines: the same leases are active and packets get the same verdicts at every step.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { defaultSite } from '../../../../apps/dmz/config.js';
import { parsePrefix } from '../../../../apps/dmz/addresses.js';
import type { Command } from '../../../../apps/dmz/core/commands.js';
import type { PortRange } from '../../../../apps/dmz/port-ranges.js';
import type { SimPacket } from '../../../helpers/flow-sim.js';
import { World, type Verdict } from './world.js';

const site = defaultSite();
const DPID = site.switches[0]!.dpid;
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
        if (end - this.now > MAX_MS || !this.up) return;
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
const opArb: fc.Arbitrary<Op> = fc.oneof(
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
);

function commandOf(w: World, o: Op): Command | undefined {
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

describe('decide against a reference model', () => {
  it('agrees on the active leases and on every packet, at every step', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => {
        const w = new World(site, T0);
        w.run({ type: 'switch-up', dpid: DPID });
        const m = new Model();
        for (const o of ops) {
          const cmd = commandOf(w, o);
          if (cmd) w.run(cmd);
          m.apply(o);
          expect(w.activeLeases()).toEqual(m.leases.map((l) => l.id).sort((a, b) => a - b));
          // A switch that is down holds what it had; it is compared once it is back (its tables are then rebuilt).
          if (!m.up) continue;
          for (const p of PROBES) expect(w.verdict(DPID, packet(p), { dtn: 5, fw: 3 }), `${p.protocol} ${p.src} -> ${p.dstPort}`).toBe(m.verdict(p));
        }
      }),
      { numRuns: 100 },
    );
  });
});
