/**
 * Issue 18, a link of a lease's path cut under a running transfer: the supercomputer lab (border1, core1, leaf1;
 * dtn1 on leaf1; the way around the core, border1:6-leaf1:2, cost 3) runs against the built `dmzgate controller`.
 * A routed lease of dtn1 takes leaf1 -> core1 -> border1; with a transfer paced at 200 Mbit/s running, both ends of
 * core1:2-leaf1:1 are set down (ovs-ofctl mod-port).
 *
 *   - policy.backup-paths true: the switches' fast-failover groups take the detour by themselves (the controller
 *     is stopped with SIGSTOP from just before the cut until 3 s after it): no 100 ms interval after the first
 *     second falls below half the pace, and the transfer completes
 *   - policy.backup-paths false (a second lab): the controller (port-status -> link-down -> decide()) moves the
 *     lease onto leaf1:2-border1:6 within 1 s of the cut, timed until both ends' lease flows use the new link and
 *     none the old (polling dump-flows), and the transfer completes
 *
 * 200 Mbit/s: what three userspace switches and the WAN delay line carry on this machine's two cores. About 45 s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBuild } from '../../lab/dmzgate-process.js';
import { DmzLab, parseFlows, sleep } from '../../lab/dmz-lab.js';
import type { IperfResult } from '../../lab/mininet-lab.js';
import { OWNER } from '../../apps/dmz/owners.js';
import { ownerCookie } from '../../controller/cookie.js';

/** Whether any of the flows comes in by or goes out of the port. */
const uses = (lines: string[], port: number): boolean => lines.some((l) => new RegExp(`(in_port=|output:)${port}\\b`).test(l));

describe('a link of a lease path cut, with backup paths: the switches take the detour', () => {
  let d: DmzLab;
  const figures: Record<string, unknown> = {};
  const ofctl = (sw: string, command: string, ...args: string[]) => d.lab.request<string>('ofctl', { command, args, switch: sw });

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the lab needs root (namespaces, veths, OVS)');
    checkBuild();
    d = await DmzLab.start({ topo: 'supercomputer', rtt: 20, loss: '0' });
  }, 150_000);
  afterAll(async () => {
    await d?.stop();
    console.log(`cut (backup paths) figures:\n${JSON.stringify(figures, null, 2)}`);
  }, 90_000);

  it('core1:2-leaf1:1 cut under a 200 Mbit/s transfer: no 100 ms interval below half the pace; the transfer completes', async () => {
    const r0 = await d.request<{ id: number }>('POST', '/api/v1/transfers', d.adminToken, {
      dtn: 'dtn1',
      remote: '192.0.2.10/32',
      protocol: 'tcp',
      local_ports: ['5201'],
      path: 'routed',
      duration: 900,
    });
    expect(r0.status, JSON.stringify(r0.body)).toBe(201);
    const running = d.lab.request<IperfResult>('iperf3', {
      src: 'rdtn',
      dst: 'dtn1',
      port: 5201,
      seconds: 8,
      cc: 'cubic',
      bitrate: '200M',
      extra: ['-i', '0.1'],
    });
    await sleep(2000);
    // The controller stopped (SIGSTOP) for the cut: only the switches' own groups can keep the transfer going.
    d.controller.signal('SIGSTOP');
    try {
      await Promise.all([ofctl('core1', 'mod-port', '2', 'down'), ofctl('leaf1', 'mod-port', '1', 'down')]);
      await sleep(3000);
    } finally {
      d.controller.signal('SIGCONT');
    }
    const r = await running;
    await d.drained('rdtn');
    await Promise.all([ofctl('core1', 'mod-port', '2', 'up'), ofctl('leaf1', 'mod-port', '1', 'up')]);
    const intervals = r.intervals_mbps ?? [];
    const after = intervals.slice(10, -1);
    figures.cut = { mbps: r.received_mbps, worst_100ms_mbps: Math.min(...after), intervals_100ms: intervals };
    expect(r.ok, r.error).toBe(true);
    expect(intervals.length).toBeGreaterThanOrEqual(70);
    expect(Math.min(...after)).toBeGreaterThanOrEqual(100);
  }, 60_000);
});

describe('a link of a lease path cut, no backup paths: the controller moves the lease', () => {
  let d: DmzLab;
  const figures: Record<string, unknown> = {};
  const ofctl = (sw: string, command: string, ...args: string[]) => d.lab.request<string>('ofctl', { command, args, switch: sw });

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the lab needs root (namespaces, veths, OVS)');
    checkBuild();
    d = await DmzLab.start({ topo: 'supercomputer', rtt: 20, loss: '0', editSite: (y) => y.replace('backup-paths: true', 'backup-paths: false') });
  }, 150_000);
  afterAll(async () => {
    await d?.stop();
    console.log(`cut (no backup paths) figures:\n${JSON.stringify(figures, null, 2)}`);
  }, 90_000);

  it('core1:2-leaf1:1 cut under a 200 Mbit/s transfer: the lease is on leaf1:2-border1:6 within 1 s; the transfer completes', async () => {
    const r0 = await d.request<{ id: number }>('POST', '/api/v1/transfers', d.adminToken, {
      dtn: 'dtn1',
      remote: '192.0.2.10/32',
      protocol: 'tcp',
      local_ports: ['5201'],
      path: 'routed',
      duration: 900,
    });
    expect(r0.status, JSON.stringify(r0.body)).toBe(201);
    const cookie = ownerCookie(OWNER.LEASES, r0.body.id);
    const leaseLines = async (sw: string) =>
      parseFlows(await d.lab.request<string>('dump_flows', { switch: sw }))
        .filter((f) => f.cookie === cookie)
        .map((f) => f.line);
    expect(uses(await leaseLines('leaf1'), 1)).toBe(true);
    expect(uses(await leaseLines('border1'), 5)).toBe(true);
    expect(uses(await leaseLines('leaf1'), 2)).toBe(false);

    const running = d.lab.request<IperfResult>('iperf3', {
      src: 'rdtn',
      dst: 'dtn1',
      port: 5201,
      seconds: 8,
      cc: 'cubic',
      bitrate: '200M',
      extra: ['-i', '0.1'],
    });
    await sleep(2000);
    const t0 = Date.now();
    await Promise.all([ofctl('core1', 'mod-port', '2', 'down'), ofctl('leaf1', 'mod-port', '1', 'down')]);
    let movedMs = NaN;
    while (Date.now() - t0 < 5000) {
      const [leaf, border] = await Promise.all([leaseLines('leaf1'), leaseLines('border1')]);
      if (uses(leaf, 2) && !uses(leaf, 1) && uses(border, 6) && !uses(border, 5)) {
        movedMs = Date.now() - t0;
        break;
      }
      await sleep(20);
    }
    const r = await running;
    await d.drained('rdtn');
    await Promise.all([ofctl('core1', 'mod-port', '2', 'up'), ofctl('leaf1', 'mod-port', '1', 'up')]);
    const intervals = r.intervals_mbps ?? [];
    figures.cut = { moved_ms: movedMs, mbps: r.received_mbps, worst_100ms_mbps: Math.min(...intervals.slice(10, -1)), intervals_100ms: intervals };
    expect(r.ok, r.error).toBe(true);
    expect(movedMs).toBeLessThan(1000);
  }, 60_000);
});
