/**
 * Issue 18, the distributed Science DMZ end to end: the distributed lab (dmz1 as the prototype's DMZ switch, the
 * building's switch bldg1 behind the dark fibre dmz1:8-bldg1:1, a delay line of 10 ms RTT; routed WAN RTT 20 ms)
 * runs against the built `dmzgate controller` on the lab's site config.
 *
 *   1. without a lease, the remote DTN's transfer to the building's DTN (dtn2) crosses the firewall; with a lease
 *      (POST /api/v1/transfers) it bypasses it: the lease's flows on both switches carry it over the dark fibre
 *   2. the controller killed (SIGKILL) during that transfer: it goes on, and the restarted controller changes
 *      nothing on either switch (dump-flows without counters identical before the kill and after the reconcile,
 *      each flow's duration counting on)
 *
 * Paced at 200 Mbit/s (the kill's transfer at 100 Mbit/s): the lab's delay lines (WAN and fibre, real-time
 * priority) and two userspace switches share the machine's two cores; at 200 Mbit/s the restarted controller got
 * no CPU until the transfer ended. About 60 s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBuild, until } from '../../lab/dmzgate-process.js';
import { DmzLab, parseFlows, sleep, sumFlows, type DumpedFlow } from '../../lab/dmz-lab.js';
import type { FwCounters, IperfResult } from '../../lab/mininet-lab.js';
import { OWNER } from '../../apps/dmz/owners.js';
import { ownerCookie } from '../../controller/cookie.js';

const REMOTE = 'rdtn';
const DTN = 'dtn2';
const SWITCHES = ['dmz1', 'bldg1'];
const PACE = '200M';
/** The kill's transfer: at 200 Mbit/s the two delay lines (real-time priority) leave the restarted controller no CPU. */
const KILL_PACE = '100M';

interface Iperf extends IperfResult {
  raw?: { sum_received?: { bytes: number } };
}

const received = (r: Iperf): number => r.raw?.sum_received?.bytes ?? 0;
const forwarded = (a: FwCounters, b: FwCounters) => ({
  packets: b.forwarded.packets - a.forwarded.packets,
  inBytes: b.forwarded.in.bytes - a.forwarded.in.bytes,
});
/** A flow without its counters, duration and ages: what a restart must leave as it was. */
const bare = (f: DumpedFlow): string => f.line.replace(/\b(duration|n_packets|n_bytes|idle_age|hard_age)=[^,\s]+,?\s*/g, '').trim();

describe('the distributed Science DMZ: a building behind a dark fibre', () => {
  let d: DmzLab;
  let lease: number;
  const figures: Record<string, unknown> = {};

  const dump = async (sw: string): Promise<DumpedFlow[]> => parseFlows(await d.lab.request<string>('dump_flows', { switch: sw }));
  const leaseFlows = async (sw: string): Promise<DumpedFlow[]> => (await dump(sw)).filter((f) => f.cookie === ownerCookie(OWNER.LEASES, lease));
  const iperf = async (seconds: number, bitrate = PACE): Promise<Iperf> => {
    const r = await d.lab.request<Iperf>('iperf3', { src: REMOTE, dst: DTN, port: 5201, seconds, cc: 'cubic', bitrate });
    await d.drained(REMOTE);
    return r;
  };

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the lab needs root (namespaces, veths, OVS)');
    checkBuild();
    d = await DmzLab.start({ topo: 'distributed', rtt: 20, fibreRtt: 10, loss: '0' });
  }, 150_000);
  afterAll(async () => {
    await d?.stop();
    console.log(`distributed figures:\n${JSON.stringify(figures, null, 2)}`);
  }, 90_000);

  it("1. the building DTN's transfer crosses the firewall without a lease, and bypasses it over the dark fibre with one", async () => {
    const fw0 = await d.lab.fwCounters();
    const before = await iperf(3);
    const fw1 = await d.lab.fwCounters();
    expect(before.ok, before.error).toBe(true);
    expect(forwarded(fw0, fw1).inBytes).toBeGreaterThanOrEqual(received(before));

    const r = await d.request<{ id: number; state: string }>('POST', '/api/v1/transfers', d.adminToken, {
      dtn: DTN,
      remote: '192.0.2.10/32',
      protocol: 'tcp',
      local_ports: ['5201'],
      path: 'routed',
      duration: 900,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    lease = r.body.id;
    for (const sw of SWITCHES) expect((await leaseFlows(sw)).length, `the lease's flows on ${sw}`).toBeGreaterThanOrEqual(2);

    const fw2 = await d.lab.fwCounters();
    const c0 = await Promise.all(SWITCHES.map(async (sw) => sumFlows(await leaseFlows(sw))));
    const t = await iperf(5);
    const fw3 = await d.lab.fwCounters();
    await sleep(1500); // the userspace datapath pushes its statistics to the rules about every 0.5 s
    const c1 = await Promise.all(SWITCHES.map(async (sw) => sumFlows(await leaseFlows(sw))));
    expect(t.ok, t.error).toBe(true);
    expect(forwarded(fw2, fw3).packets).toBeLessThanOrEqual(10);
    // Every byte the DTN received crossed both switches on the lease's flows (with their headers, both directions).
    for (const i of SWITCHES.keys()) expect(c1[i]!.bytes - c0[i]!.bytes, `bytes on ${SWITCHES[i]}`).toBeGreaterThanOrEqual(received(t));
    figures.bypass = {
      lease,
      without_lease: { mbps: before.received_mbps, fw_in_bytes: forwarded(fw0, fw1).inBytes, received: received(before) },
      with_lease: {
        mbps: t.received_mbps,
        received: received(t),
        fw_forwarded_packets: forwarded(fw2, fw3).packets,
        lease_bytes: Object.fromEntries(SWITCHES.map((sw, i) => [sw, c1[i]!.bytes - c0[i]!.bytes])),
      },
    };
  }, 60_000);

  it('2. the controller killed during the transfer: it goes on, and the restart changes no flow on either switch', async () => {
    // Long enough for the restart and its reconciles to happen while it runs.
    const seconds = 25;
    const fw0 = await d.lab.fwCounters();
    const pre = sumFlows(await leaseFlows('bldg1'));
    const t0 = Date.now();
    const running = iperf(seconds, KILL_PACE);
    await until('the transfer to start', async () => sumFlows(await leaseFlows('bldg1')).packets > pre.packets + 2000, 8000);
    const before = await Promise.all(SWITCHES.map(dump));
    const tBefore = Date.now();
    await d.killController();
    const killedAt = (Date.now() - t0) / 1000;
    await sleep(1000);
    const second = await d.restartController();
    const readyAt = (Date.now() - t0) / 1000;
    const reconciled = await Promise.all(
      d.lab.info.switches.map((sw) =>
        second.line((l) => l.msg === 'reconciled switch' && l.dpid === sw.dpid, `${sw.name} reconciled after the restart`, 20_000),
      ),
    );
    const reconciledAt = (Date.now() - t0) / 1000;
    const after = await Promise.all(SWITCHES.map(dump));
    const elapsed = (Date.now() - tBefore) / 1000;
    for (const rec of reconciled)
      expect({ added: rec.added, deleted: rec.deleted, modified: rec.modified }).toEqual({ added: 0, deleted: 0, modified: 0 });
    for (const i of SWITCHES.keys()) {
      expect(after[i]!.map(bare).sort(), `flows on ${SWITCHES[i]}`).toEqual(before[i]!.map(bare).sort());
      // Not deleted and added again: every flow's duration went on counting.
      for (const f of after[i]!) {
        const was = before[i]!.find((b) => bare(b) === bare(f))!;
        expect(f.duration - was.duration).toBeGreaterThan(elapsed - 1);
      }
    }
    const r = await running;
    const fw1 = await d.lab.fwCounters();
    expect(r.ok, r.error).toBe(true);
    const intervals = r.intervals_mbps ?? [];
    expect(intervals.length).toBeGreaterThanOrEqual(seconds - 1);
    // Not collapsed around the kill or the restart: every second after the first carries at least half the pace.
    expect(Math.min(...intervals.slice(1))).toBeGreaterThan(50);
    expect(forwarded(fw0, fw1).packets).toBeLessThanOrEqual(10);
    figures.controller_kill = {
      flows: Object.fromEntries(SWITCHES.map((sw, i) => [sw, after[i]!.length])),
      reconcile: reconciled.map((x) => ({ dpid: x.dpid, added: x.added, modified: x.modified, deleted: x.deleted, unchanged: x.unchanged })),
      intervals_mbps: intervals,
      transfer_s: seconds,
      killed_at_s: killedAt,
      restarted_ready_at_s: readyAt,
      reconciled_at_s: reconciledAt,
      wall_elapsed_s: elapsed,
      fw_forwarded_packets: forwarded(fw0, fw1).packets,
    };
  }, 90_000);
});
