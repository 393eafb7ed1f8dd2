// Where a fabric lease's traffic is counted (apps/dmz/counter-poll.ts, countedAs): each packet once, at its DTN's
// switch, in or out, whatever switches it crossed; a cluster's members each on their own flows. Followed hop by
// hop on the supercomputer fabric's simulators (border -> core -> leaf, the cluster dtns = dtn1 + dtn2 on leaf).
import { describe, it, expect } from 'vitest';
import { parseSiteConfig } from '../../../../apps/dmz/config.js';
import type { Site } from '../../../../apps/dmz/site.js';
import { supercomputerYaml } from '../../../helpers/science-dmz-fabrics.js';
import { countAlong, request, tcp } from './traffic.js';
import { World } from './world.js';

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
const DTNS = [
  { name: 'dtn1', ip: '10.10.1.10', port: 1, mac: '02:00:00:00:03:01' },
  { name: 'dtn2', ip: '10.10.1.11', port: 2, mac: '02:00:00:00:03:02' },
];

describe('counting a lease across the fabric', () => {
  it("counts each packet once, at its member's switch; the flows of border and core count nothing", () => {
    const site: Site = parseSiteConfig(supercomputerYaml());
    const w = new World(site, T0);
    for (const sw of site.switches) w.run({ type: 'switch-up', dpid: sw.dpid });
    w.run(request(T0 + 600_000, { dtn: 'dtns' }));
    expect(w.lastRefusal).toBeUndefined();
    const id = w.activeLeases()[0]!;
    const counted: Record<string, { in: number; out: number }> = {};
    const seenOn = new Set<string>();
    for (const d of DTNS) {
      const count = (counted[d.name] = { in: 0, out: 0 });
      const along = (sw: string, p: ReturnType<typeof tcp>) => countAlong(w, id, 'dtns', sw, p, count).forEach((x) => seenOn.add(x));
      for (let i = 0; i < 3; i++) along('border', tcp(1, '192.0.2.10', d.ip, 40000 + i, 50001, d.mac));
      for (let i = 0; i < 2; i++) along('leaf', tcp(d.port, d.ip, '192.0.2.10', 50001, 40000 + i, '02:00:00:00:00:fe'));
    }
    expect(counted).toEqual({ dtn1: { in: 3, out: 2 }, dtn2: { in: 3, out: 2 } });
    expect([...seenOn]).toEqual(['leaf']);
  });
});
