/**
 * Issue 18, the data site end to end: the datasite lab (border1 with the WAN and the firewall, dmz1 with the DTN
 * cluster dtc1 = dtn1..dtn4, two parallel links border1:5-dmz1:5 and border1:6-dmz1:6; routed WAN RTT 20 ms) runs
 * against the built `dmzgate controller`. The lab routes both ways through the border router brtr on border1
 * (rrtr's route to the inside, the inside hosts' default route), so the controller's site config here leaves out
 * the second WAN entry brtr2 (dmz1:1): every lease then leaves by border1:1, across the parallel links (both
 * entries: fabric-wan-entries.test.ts).
 *
 *   1. one lease's parallel iperf3 streams are spread over both parallel links (each carries at least 25 % of the
 *      bytes, read from the ports' counters), bypassing the firewall
 *   2. a cluster lease (dtn: dtc1) covers all 4 members: a transfer to each bypasses the firewall on its flows
 *   3. a link cut (both ends set down with ovs-ofctl mod-port) under a running transfer paced at 200 Mbit/s, with
 *      policy.backup-paths true: from a second before the cut on, no 100 ms interval falls below half the pace,
 *      and the transfer completes
 *
 * Paces: 32 streams of 8 Mbit/s (the switch hashes each stream's addresses and ports onto one link: 32 keep the
 * share of either link near half), and 200 Mbit/s for one stream: what two userspace switches and the WAN delay
 * line carry on this machine's two cores without the lab itself dropping. About 45 s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, sumFlows } from '../../lab/dmz-lab.js';
import { datasite, forwardedPackets, PARALLEL, received } from '../helpers/datasite-lab.js';

describe('the data site: parallel links, a DTN cluster, backup paths', () => {
  const s = datasite(true);
  const figures: Record<string, unknown> = {};
  beforeAll(() => s.start(), 150_000);
  afterAll(async () => {
    await s.lab?.stop();
    console.log(`datasite figures:\n${JSON.stringify(figures, null, 2)}`);
  }, 90_000);

  it("1. one lease's parallel streams are spread over both parallel links", async () => {
    const id = await s.lease({ dtn: 'dtn1', local_ports: ['5201'] });
    const fw0 = await s.lab.lab.fwCounters();
    const t0 = await s.tx('border1');
    const r = await s.iperf('dtn1', { port: 5201, seconds: 5, parallel: 32, bitrate: '8M' });
    const t1 = await s.tx('border1');
    const fw1 = await s.lab.lab.fwCounters();
    expect(r.ok, r.error).toBe(true);
    expect(forwardedPackets(fw0, fw1)).toBeLessThanOrEqual(10);
    const bytes = PARALLEL.map((p) => t1.get(p)! - t0.get(p)!);
    const total = bytes[0]! + bytes[1]!;
    expect(total).toBeGreaterThanOrEqual(received(r));
    for (const b of bytes) expect(b / total).toBeGreaterThanOrEqual(0.25);
    figures.parallel = { lease: id, mbps: r.received_mbps, received: received(r), tx_bytes: { 'border1:5': bytes[0], 'border1:6': bytes[1] } };
  }, 60_000);

  it('2. a cluster lease covers all 4 members: a transfer to each bypasses the firewall on its flows', async () => {
    const id = await s.lease({ dtn: 'dtc1', local_ports: ['50000-50100'] });
    const members = ['dtn1', 'dtn2', 'dtn3', 'dtn4'];
    const seen: Record<string, unknown> = {};
    for (const m of members) {
      const fw0 = await s.lab.lab.fwCounters();
      const c0 = sumFlows(await s.leaseFlows('dmz1', id));
      const r = await s.iperf(m, { port: 50001, seconds: 2, bitrate: '100M' });
      const fw1 = await s.lab.lab.fwCounters();
      await sleep(1500); // the userspace datapath pushes its statistics to the rules about every 0.5 s
      const c1 = sumFlows(await s.leaseFlows('dmz1', id));
      expect(r.ok, `${m}: ${r.error}`).toBe(true);
      expect(forwardedPackets(fw0, fw1), m).toBeLessThanOrEqual(10);
      expect(c1.bytes - c0.bytes, m).toBeGreaterThanOrEqual(received(r));
      seen[m] = { mbps: r.received_mbps, lease_bytes: c1.bytes - c0.bytes };
    }
    figures.cluster = { lease: id, members: seen };
  }, 60_000);

  it('3. a parallel link cut under a 200 Mbit/s transfer (backup-paths true): no 100 ms interval below half the pace', async () => {
    await s.lease({ dtn: 'dtn2', local_ports: ['5201'] });
    const t0 = Date.now();
    const running = s.iperf('dtn2', { port: 5201, seconds: 8, bitrate: '200M', extra: ['-i', '0.1'] });
    await sleep(2000);
    const port = await s.busiest();
    const cutAt = Date.now() - t0;
    await Promise.all(['border1', 'dmz1'].map((sw) => s.ofctl(sw, 'mod-port', String(port), 'down')));
    const r = await running;
    await Promise.all(['border1', 'dmz1'].map((sw) => s.ofctl(sw, 'mod-port', String(port), 'up')));
    const intervals = r.intervals_mbps ?? [];
    // From a second before the cut (iperf3's intervals start once its client runs, after the request: the cut's
    // interval is at most cutAt / 100), and never the first second (the ramp). A slow start is not the cut's.
    const from = Math.max(10, Math.floor(cutAt / 100) - 10);
    const after = intervals.slice(from, -1);
    figures.cut_backup = {
      port,
      cut_at_ms: cutAt,
      judged_from_interval: from,
      worst_100ms_mbps: Math.min(...after),
      worst_100ms_before_mbps: Math.min(...intervals.slice(10, from)),
      mbps: r.received_mbps,
      intervals_100ms: intervals,
    };
    expect(r.ok, r.error).toBe(true);
    expect(intervals.length).toBeGreaterThanOrEqual(70);
    expect(Math.min(...after)).toBeGreaterThanOrEqual(100);
  }, 60_000);
});
