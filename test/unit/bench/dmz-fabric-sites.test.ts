// The fabric benchmarks' sites: valid site configs whose every configured port exists on its emulated switch, and
// whose leases take the paths the benchmarks time (the core decides them, as dmzgate would).
import { describe, expect, it } from 'vitest';
import { chain, twoSpines, type DmzFabric } from '../../../bench/dmz-fabric-sites.js';
import { parseSiteConfig } from '../../../apps/dmz/config.js';
import { parsePrefix } from '../../../apps/dmz/addresses.js';
import { decide } from '../../../apps/dmz/core/decide.js';
import { initialState } from '../../../apps/dmz/core/state.js';

/** The switches (by dpid) a lease of the DTN holds flows on. */
function leaseSwitches(f: DmzFabric, dtn: string): bigint[] {
  const site = parseSiteConfig(f.yaml);
  let st = initialState(site);
  for (const sw of site.switches) st = decide(st, { type: 'switch-up', dpid: sw.dpid }, 0).state;
  const d = decide(
    st,
    {
      type: 'request',
      by: { actor: 'system' },
      lease: {
        project: 'p',
        dtn,
        remote: parsePrefix('192.0.2.10/32'),
        protocol: 'tcp',
        localPorts: [{ lo: 50000, hi: 50000 }],
        remotePorts: [{ lo: 0, hi: 65535 }],
        path: 'routed',
        end: 600_000,
      },
    },
    0,
  );
  expect(d.plan.refused).toBeUndefined();
  // Each switch once, as the plan first names it (a switch may have a change in two steps).
  return [...new Set(d.plan.steps.flatMap((s) => s.map((c) => c.dpid)))];
}

function portsExist(f: DmzFabric): void {
  const site = parseSiteConfig(f.yaml);
  expect(site.switches).toHaveLength(f.ports.length);
  for (const sw of site.switches) for (const p of sw.ports) expect(p.portNo).toBeLessThanOrEqual(f.ports[Number(sw.dpid) - 1]!);
}

describe('the fabric benchmarks sites', () => {
  it('twoSpines: 20 switches, 36 links; a leaf DTN lease crosses spine A, then spine B once spine A is cut off', () => {
    const f = twoSpines(20);
    portsExist(f);
    expect(f.links).toHaveLength(36);
    expect(leaseSwitches(f, 'dtn4')).toEqual([1n, 2n, 4n]);
    const cut = { ...f, yaml: f.yaml.replace(/^ {2}- \{ a: "sw1:10", b: "sw2:1".*\n/m, '') };
    expect(cut.yaml).not.toBe(f.yaml);
    expect(leaseSwitches(cut, 'dtn4')).toEqual([1n, 3n, 4n]);
  });

  it('chain: a lease of dtnN holds flows on N switches, the border first', () => {
    const f = chain(6);
    portsExist(f);
    expect(leaseSwitches(f, 'dtn1')).toEqual([1n]);
    expect(leaseSwitches(f, 'dtn3')).toEqual([1n, 2n, 3n]);
    expect(leaseSwitches(f, 'dtn6')).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
  });
});
