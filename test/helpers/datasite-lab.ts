// The datasite lab for the fabric e2e tests (test/e2e/fabric-datasite.test.ts, fabric-wan-entries.test.ts): the
// built controller on the lab's site config, with both WAN entries (brtr on border1:1, brtr2 on dmz1:1) or without
// brtr2, so that every lease leaves by border1:1 across the parallel links; and what the tests ask of it.
import { expect } from 'vitest';
import { checkBuild } from '../../lab/dmzgate-process.js';
import { DmzLab, parseFlows, sleep, type DumpedFlow } from '../../lab/dmz-lab.js';
import type { FwCounters, IperfResult } from '../../lab/mininet-lab.js';
import { OWNER } from '../../apps/dmz/owners.js';
import { ownerCookie } from '../../controller/cookie.js';

const REMOTE = 'rdtn';
export const PARALLEL = [5, 6];
const NO_BRTR2 = (yaml: string): string => yaml.replace(/^ {6}- \{ port: 1, role: wan-routed, name: brtr2[^}]*\}\n/m, '');

export interface Iperf extends IperfResult {
  raw?: { sum_received?: { bytes: number } };
}

export const received = (r: Iperf): number => r.raw?.sum_received?.bytes ?? 0;
export const forwardedPackets = (a: FwCounters, b: FwCounters): number => b.forwarded.packets - a.forwarded.packets;

/** rx and tx bytes per port of `ovs-ofctl dump-ports`. */
function portBytes(text: string, dir: 'rx' | 'tx'): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of text.matchAll(/port\s+(\d+): rx pkts=\d+, bytes=(\d+)[^\n]*\n\s+tx pkts=\d+, bytes=(\d+)/g))
    out.set(Number(m[1]), Number(dir === 'rx' ? m[2] : m[3]));
  return out;
}

/** The site's lab with the controller on its config (brtr2 left out unless `bothEntries`), and what the tests ask of it. */
export function datasite(backupPaths: boolean, bothEntries = false) {
  let d!: DmzLab;
  const ofctl = (sw: string, command: string, ...args: string[]) => d.lab.request<string>('ofctl', { command, args, switch: sw });
  const api = {
    get lab() {
      return d;
    },
    ofctl,
    tx: async (sw: string) => portBytes(await ofctl(sw, 'dump-ports'), 'tx'),
    rx: async (sw: string) => portBytes(await ofctl(sw, 'dump-ports'), 'rx'),
    leaseFlows: async (sw: string, id: number): Promise<DumpedFlow[]> =>
      parseFlows(await d.lab.request<string>('dump_flows', { switch: sw })).filter((f) => f.cookie === ownerCookie(OWNER.LEASES, id)),
    lease: async (body: Record<string, unknown>): Promise<number> => {
      const r = await d.request<{ id: number }>('POST', '/api/v1/transfers', d.adminToken, {
        remote: '192.0.2.10/32',
        protocol: 'tcp',
        path: 'routed',
        duration: 900,
        ...body,
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body.id;
    },
    iperf: async (dst: string, opts: Record<string, unknown>): Promise<Iperf> => {
      const r = await d.lab.request<Iperf>('iperf3', { src: REMOTE, dst, cc: 'cubic', ...opts });
      await d.drained(REMOTE);
      return r;
    },
    /** The parallel link that carries more of border1's transmissions over the next second. */
    busiest: async (): Promise<number> => {
      const a = await api.tx('border1');
      await sleep(1000);
      const b = await api.tx('border1');
      const [p5, p6] = PARALLEL.map((p) => b.get(p)! - a.get(p)!);
      return p5! >= p6! ? 5 : 6;
    },
    start: async () => {
      if (process.getuid?.() !== 0) throw new Error('the lab needs root (namespaces, veths, OVS)');
      checkBuild();
      d = await DmzLab.start({
        topo: 'datasite',
        rtt: 20,
        loss: '0',
        editSite: (y) => {
          const site = backupPaths ? y : y.replace('backup-paths: true', 'backup-paths: false');
          if (bothEntries) return site;
          const without = NO_BRTR2(site);
          if (without === site) throw new Error('the datasite config has no brtr2 entry to leave out');
          return without;
        },
      });
    },
  };
  return api;
}
