/**
 * Issue 18, a lease across the fabric, end to end: the supercomputer lab (border1, core1, leaf1; dtn1 on leaf1,
 * the WAN and the firewall's legs on border1) runs against the built `dmzgate controller` on the lab's full fabric
 * site config. A routed lease for dtn1 holds flows on all three switches; an iperf3 transfer from the remote DTN
 * on the leased ports crosses none of the firewall's legs (its forwarded counters and border1's firewall ports see
 * nothing of it), and on every hop the lease's remote->DTN flows count what iperf3 received, within 5%. The same
 * transfer on a port the lease does not hold crosses the firewall; a block of the remote at the edge drops the
 * leased transfer; a link of its path going down moves it off that path, and it still bypasses the firewall.
 * About 60 s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBuild, until } from '../../lab/dmzgate-process.js';
import { DmzLab, parseFlows, sumFlows, type TransferView } from '../../lab/dmz-lab.js';
import type { FwCounters, IperfResult } from '../../lab/mininet-lab.js';
import { OWNER } from '../../apps/dmz/owners.js';
import { ownerCookie } from '../../controller/cookie.js';

const REMOTE = 'rdtn';
const REMOTE_IP = '192.0.2.10';
const DTN = 'dtn1';
const DTN_IP = '10.10.1.10';
const SWITCHES = ['border1', 'core1', 'leaf1'] as const;
/** border1's ports to the firewall's outside and inside legs (mininet/topos/supercomputer.py). */
const FIREWALL_PORTS = [3, 4];
/** Per frame of a data segment, beyond iperf3's payload: Ethernet 14 + IPv4 20 + TCP 20 + timestamps option 12. */
const HEADER_BYTES = 66;

interface Iperf extends IperfResult {
  raw?: { sum_sent?: { bytes: number }; sum_received?: { bytes: number } };
}

const received = (r: Iperf): number => r.raw?.sum_received?.bytes ?? 0;
const forwarded = (a: FwCounters, b: FwCounters): number => b.forwarded.packets - a.forwarded.packets;
const figures: Record<string, unknown> = {};

describe('a lease across the supercomputer fabric lab', () => {
  let d: DmzLab;
  let token: string;

  const iperf = async (port: number, seconds: number): Promise<Iperf> => {
    const r = await d.lab.request<Iperf>('iperf3', { src: REMOTE, dst: DTN, port, seconds, cc: 'cubic' });
    await d.drained(REMOTE);
    return r;
  };
  /** The lease's flows toward the DTN on a switch (remote -> DTN), as dump-flows counts them. */
  const inbound = async (sw: string, id: number) =>
    parseFlows(await d.lab.dumpFlows(sw)).filter((f) => f.cookie === ownerCookie(OWNER.LEASES, id) && f.line.includes(`nw_dst=${DTN_IP}`));
  const leaseFlowCount = async (sw: string, id: number) =>
    parseFlows(await d.lab.dumpFlows(sw)).filter((f) => f.cookie === ownerCookie(OWNER.LEASES, id)).length;
  /** Packets border1 sent out of the firewall's legs. */
  const toFirewall = async (): Promise<number> => {
    let n = 0;
    for (const p of FIREWALL_PORTS) {
      const text = await d.lab.request<string>('ofctl', { command: 'dump-ports', args: [String(p)], switch: 'border1' });
      n += Number(/tx pkts=(\d+)/.exec(text)?.[1] ?? NaN);
    }
    return n;
  };

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the lab needs root (namespaces, veths, OVS)');
    checkBuild();
    d = await DmzLab.start({ topo: 'supercomputer', rtt: 10, loss: '0' });
    ({ token } = await d.createToken(
      '--project',
      'climate',
      '--dtn',
      DTN,
      '--remote',
      '192.0.2.0/24',
      '--ports',
      '50000-51000',
      '--paths',
      'routed',
      '--max-duration',
      '1h',
      '--scope',
      'transfers',
    ));
  }, 150_000);
  afterAll(async () => {
    console.log(`fabric bypass figures:\n${JSON.stringify(figures, null, 2)}`);
    await d?.stop();
  }, 90_000);

  it('without a lease the transfer crosses the firewall', async () => {
    const fw0 = await d.lab.fwCounters();
    const r = await iperf(50123, 2);
    const fw1 = await d.lab.fwCounters();
    expect(r.ok, r.error).toBe(true);
    // Every data segment iperf3 received went through the firewall's forward chain.
    expect(forwarded(fw0, fw1)).toBeGreaterThan(received(r) / 1448);
    figures.without_lease = { iperf_mbps: r.received_mbps, firewall_forwarded_packets: forwarded(fw0, fw1) };
  }, 30_000);

  it('with a lease over the three switches the transfer bypasses the firewall; every hop counts its bytes', async () => {
    const created = await d.request<TransferView>('POST', '/api/v1/transfers', token, {
      dtn: DTN,
      remote: `${REMOTE_IP}/32`,
      protocol: 'tcp',
      local_ports: ['50000-51000'],
      path: 'routed',
      duration: 600,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id;
    for (const sw of SWITCHES) expect(await leaseFlowCount(sw, id), sw).toBeGreaterThan(0);

    const before = await Promise.all(SWITCHES.map(async (sw) => sumFlows(await inbound(sw, id))));
    const fw0 = await d.lab.fwCounters();
    const legs0 = await toFirewall();
    const r = await iperf(50123, 5);
    const fw1 = await d.lab.fwCounters();
    const legs1 = await toFirewall();
    const after = await Promise.all(SWITCHES.map(async (sw) => sumFlows(await inbound(sw, id))));
    expect(r.ok, r.error).toBe(true);
    figures.with_lease = { firewall_forwarded_packets: forwarded(fw0, fw1), firewall_leg_tx_packets: legs1 - legs0 };
    // No packet of it through the firewall; its legs saw at most a few strays (ARP, IPv6 neighbour discovery:
    // the transfer itself is thousands of packets).
    expect(forwarded(fw0, fw1)).toBe(0);
    expect(legs1 - legs0).toBeLessThanOrEqual(10);
    // Each hop's remote->DTN flows: whole frames of iperf3's two connections; their payload against what it received.
    const hops = SWITCHES.map((sw, i) => {
      const packets = after[i]!.packets - before[i]!.packets;
      const bytes = after[i]!.bytes - before[i]!.bytes;
      return { switch: sw, packets, bytes, ratio: (bytes - HEADER_BYTES * packets) / received(r) };
    });
    for (const h of hops) {
      expect(h.ratio, h.switch).toBeGreaterThan(0.95);
      expect(h.ratio, h.switch).toBeLessThan(1.05);
    }
    figures.with_lease = {
      ...(figures.with_lease as object),
      lease: id,
      iperf_mbps: r.received_mbps,
      iperf_received_bytes: received(r),
      iperf_sent_bytes: r.raw?.sum_sent?.bytes,
      hops,
    };

    // A block of the remote, at the edge: the leased transfer is dropped there.
    const b = await d.request<{ id: number }>('POST', '/api/v1/blocks', d.adminToken, {
      prefix: `${REMOTE_IP}/32`,
      reason: 'e2e: IDS alert on rdtn',
    });
    expect(b.status, JSON.stringify(b.body)).toBe(201);
    const leaf0 = sumFlows(await inbound('leaf1', id));
    const blocked = await iperf(50124, 2);
    const leaf1 = sumFlows(await inbound('leaf1', id));
    const drops = sumFlows(parseFlows(await d.lab.dumpFlows('border1')).filter((f) => f.cookie === ownerCookie(OWNER.BLOCKS, b.body.id)));
    expect(blocked.ok).toBe(false);
    expect(leaf1.packets - leaf0.packets).toBe(0);
    expect(drops.packets).toBeGreaterThan(0);
    figures.block = { iperf_error: blocked.error, border_block_packets: drops.packets };
    expect((await d.request('DELETE', `/api/v1/blocks/${b.body.id}`, d.adminToken)).status).toBe(200);

    // core1's port to leaf1 goes down (a port status): the lease moves to border1:6-leaf1:2, off core1, and the
    // transfer still bypasses the firewall.
    const t0 = Date.now();
    await d.lab.request('ofctl', { command: 'mod-port', args: ['2', 'down'], switch: 'core1' });
    await until('the lease off core1', async () => (await leaseFlowCount('core1', id)) === 0, 5000);
    const movedMs = Date.now() - t0;
    expect(await leaseFlowCount('leaf1', id)).toBeGreaterThan(0);
    const fw2 = await d.lab.fwCounters();
    const after2 = await iperf(50125, 2);
    const fw3 = await d.lab.fwCounters();
    expect(after2.ok, after2.error).toBe(true);
    expect(forwarded(fw2, fw3)).toBe(0);
    const log = d.logLines.find((l) => l.msg === 'link down: leases follow');
    expect(log).toMatchObject({ link: 'core1:2-leaf1:1' });
    figures.link_down = { moved_off_core1_ms: movedMs, iperf_mbps_after: after2.received_mbps };
    await d.lab.request('ofctl', { command: 'mod-port', args: ['2', 'up'], switch: 'core1' });

    expect((await d.request('DELETE', `/api/v1/transfers/${id}`, token)).status).toBe(200);
    for (const sw of SWITCHES) expect(await leaseFlowCount(sw, id), sw).toBe(0);
  }, 60_000);
});
