// Where a fabric lease's traffic is counted (apps/dmz/counter-poll.ts, countedAs): each packet once, at its DTN's
// switch, in or out, whatever switches it crossed; a cluster's members each on their own flows. Followed hop by
// hop on the supercomputer fabric's simulators (border -> core -> leaf, the cluster dtns = dtn1 + dtn2 on leaf).
import { describe, it, expect } from 'vitest';
import { parseSiteConfig } from '../../../../apps/dmz/config.js';
import { parsePrefix } from '../../../../apps/dmz/addresses.js';
import { countedAs } from '../../../../apps/dmz/counter-poll.js';
import { ownerCookie } from '../../../../controller/cookie.js';
import { OWNER } from '../../../../apps/dmz/owners.js';
import type { Site } from '../../../../apps/dmz/site.js';
import { matches, type SimPacket } from '../../../helpers/flow-sim.js';
import { supercomputerYaml } from '../../../helpers/science-dmz-fabrics.js';
import { World } from './world.js';

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
const DTNS = [
  { name: 'dtn1', ip: '10.10.1.10', port: 1, mac: '02:00:00:00:03:01' },
  { name: 'dtn2', ip: '10.10.1.11', port: 2, mac: '02:00:00:00:03:02' },
];

const packet = (inPort: number, src: string, dst: string, sport: number, dport: number, ethDst: string): SimPacket => ({
  inPort,
  ethDst,
  ethType: 0x0800,
  ipSrc: src,
  ipDst: dst,
  ipProto: 6,
  srcPort: sport,
  dstPort: dport,
});

describe('counting a lease across the fabric', () => {
  it("counts each packet once, at its member's switch; the flows of border and core count nothing", () => {
    const site: Site = parseSiteConfig(supercomputerYaml());
    const w = new World(site, T0);
    for (const sw of site.switches) w.run({ type: 'switch-up', dpid: sw.dpid });
    w.run({
      type: 'request',
      by: { actor: 'token:1', project: 'climate' },
      lease: {
        project: 'climate',
        dtn: 'dtns',
        remote: parsePrefix('192.0.2.0/24'),
        protocol: 'tcp',
        localPorts: [{ lo: 50000, hi: 51000 }],
        remotePorts: [{ lo: 0, hi: 65535 }],
        path: 'routed',
        end: T0 + 600_000,
      },
    });
    expect(w.lastRefusal).toBeUndefined();
    const id = w.activeLeases()[0]!;
    const cookie = ownerCookie(OWNER.LEASES, id);
    const counted: Record<string, { in: number; out: number }> = {};
    const seenOn = new Set<string>();
    const follow = (sw: string, p: SimPacket, member: string): void => {
      const t = w.fabric().send(sw, p);
      for (const h of t.hops) {
        const dpid = site.switches.find((s) => s.name === h.switch)!.dpid;
        const flow = w.flows(dpid).find((f) => f.cookie === cookie && matches(f.match, { ...p, inPort: h.inPort }));
        expect(flow, `${member}: a lease flow on ${h.switch}:${h.inPort}`).toBeDefined();
        const as = countedAs(site, 'dtns', dpid, flow!.match);
        if (!as) continue;
        seenOn.add(h.switch);
        (counted[member] ??= { in: 0, out: 0 })[as]++;
      }
    };
    for (const d of DTNS) {
      for (let i = 0; i < 3; i++) follow('border', packet(1, '192.0.2.10', d.ip, 40000 + i, 50001, d.mac), d.name);
      for (let i = 0; i < 2; i++) follow('leaf', packet(d.port, d.ip, '192.0.2.10', 50001, 40000 + i, '02:00:00:00:00:fe'), d.name);
    }
    expect(counted).toEqual({ dtn1: { in: 3, out: 2 }, dtn2: { in: 3, out: 2 } });
    expect([...seenOn]).toEqual(['leaf']);
  });
});
