/**
 * Issue 18, several WAN entries end to end: the datasite lab with both entries in the controller's site config, brtr
 * on border1:1 and brtr2 on dmz1:1, each naming its router's MAC (router-mac). The far end's network (rrtr) sends to
 * the inside through brtr; a routed lease of a DTN on dmz1 leaves by the nearest entry, brtr2 (addressed to it), and
 * the far end's packets come in by border1:1 and cross the parallel links on that entry's way onto the lease's path.
 * iperf3's data comes in by border1:1 and its ACKs leave by dmz1:1, neither through the firewall, and the API's
 * counters of the lease count the transfer once (bytes in against iperf3). About 30 s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasite, forwardedPackets, received } from '../helpers/datasite-lab.js';

/** Per frame of a data segment, beyond iperf3's payload: Ethernet 14 + IPv4 20 + TCP 20 + timestamps option 12. */
const HEADER_BYTES = 66;

describe('the data site with both WAN entries', () => {
  const s = datasite(true, true);
  const figures: Record<string, unknown> = {};
  beforeAll(() => s.start(), 150_000);
  afterAll(async () => {
    await s.lab?.stop();
    console.log(`wan entries figures:\n${JSON.stringify(figures, null, 2)}`);
  }, 90_000);

  it('in by brtr (border1:1), out by brtr2 (dmz1:1), off the firewall both ways; the API counts the transfer once', async () => {
    const id = await s.lease({ dtn: 'dtn3', local_ports: ['5201'] });
    const c0 = await s.lab.settledTransfer(id, s.lab.adminToken);
    const [fw0, in0, out0] = await Promise.all([s.lab.lab.fwCounters(), s.rx('border1'), s.tx('dmz1')]);
    const r = await s.iperf('dtn3', { port: 5201, seconds: 3, bitrate: '100M' });
    const [fw1, in1, out1] = await Promise.all([s.lab.lab.fwCounters(), s.rx('border1'), s.tx('dmz1')]);
    const c1 = await s.lab.settledTransfer(id, s.lab.adminToken);
    expect(r.ok, r.error).toBe(true);
    expect(forwardedPackets(fw0, fw1)).toBeLessThanOrEqual(10);
    const cameIn = in1.get(1)! - in0.get(1)!;
    const wentOut = out1.get(1)! - out0.get(1)!;
    expect(cameIn).toBeGreaterThanOrEqual(received(r));
    expect(wentOut).toBeGreaterThan(0);
    // Counted once, at dtn3's switch: the frames' payload (66 bytes of headers each) against what iperf3 received.
    const packetsIn = c1.counters.packets_in - c0.counters.packets_in;
    const payload = c1.counters.bytes_in - c0.counters.bytes_in - HEADER_BYTES * packetsIn;
    const ratio = payload / received(r);
    figures.entries = { lease: id, mbps: r.received_mbps, in_border1_1: cameIn, out_dmz1_1: wentOut, api_bytes_ratio: ratio };
    expect(ratio).toBeGreaterThan(0.95);
    expect(ratio).toBeLessThan(1.05);
    expect(c1.counters.packets_out - c0.counters.packets_out).toBeGreaterThan(0);
  }, 60_000);
});
