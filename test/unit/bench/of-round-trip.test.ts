// The C round-trip client of bench:controller against real servers over loopback: the floor's fixed-reply server
// and dmzgate's own Controller (whose handshake the client must complete before any packet-in is answered).
import { afterEach, describe, expect, it } from 'vitest';
import { Controller } from '../../../controller/controller.js';
import { silentLogger } from '../../../controller/log.js';
import { buildPacket, parseEthernet } from '../../../controller/packet/index.js';
import { encode, OFP_NO_BUFFER } from '../../../controller/openflow/index.js';
import { answerFlowMod } from '../../../bench/controller-flows.js';
import { parsePhase, runClient, startFixedReply } from '../../../bench/of-round-trip.js';

const FRAME = Buffer.from(
  buildPacket({
    eth: { dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01' },
    ipv4: { src: '192.0.2.10', dst: '198.51.100.20' },
    tcp: { srcPort: 49152, dstPort: 443, flags: 0x02, window: 64240 },
    minLength: 64,
  }),
);
const PACKET_IN = encode({
  type: 'packetIn',
  xid: 0,
  bufferId: OFP_NO_BUFFER,
  totalLen: FRAME.length,
  reason: 0,
  tableId: 0,
  cookie: (1n << 64n) - 1n,
  match: [{ field: 'in_port', value: 3 }],
  data: FRAME,
});
const ANSWER = encode({ ...answerFlowMod(3, '02:00:00:00:00:02', '02:00:00:00:00:01'), xid: 0 });
const SMALL = { warmMs: 50, b2b: 200, paced: 20, gapUs: 200, core: '0' };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('of-latency-client', () => {
  it('times every round trip against the fixed-reply server and finds each answer as expected', async () => {
    const srv = await startFixedReply(ANSWER, '0');
    cleanups.push(srv.stop);
    const r = await runClient({ ...SMALL, port: srv.port, packetIn: PACKET_IN, expect: ANSWER, serverPid: srv.pid });
    for (const phase of [r.b2b, r.paced!]) {
      expect(phase.mismatched).toBe(0);
      expect(phase.errors).toBe(0);
      expect(phase.min).toBeGreaterThan(0);
      expect(phase.min).toBeLessThanOrEqual(phase.p50);
      expect(phase.p50).toBeLessThanOrEqual(phase.p99);
      expect(phase.p99).toBeLessThanOrEqual(phase.max);
      expect(phase.serverCpuS).toBeGreaterThanOrEqual(0);
    }
    expect(r.b2b.n).toBe(200);
    expect(r.paced!.n).toBe(20);
    // Paced: at least the gap between round trips, so the phase lasts at least n gaps.
    expect(r.paced!.wallS).toBeGreaterThanOrEqual(20 * 200e-6);
  });

  it('counts answers that differ from the expected bytes', async () => {
    const other = Buffer.from(ANSWER);
    other.writeUInt8(other.readUInt8(other.length - 1) ^ 1, other.length - 1);
    const srv = await startFixedReply(other, '0');
    cleanups.push(srv.stop);
    const r = await runClient({ ...SMALL, paced: 0, port: srv.port, packetIn: PACKET_IN, expect: ANSWER, serverPid: srv.pid });
    expect(r.b2b.mismatched).toBe(200);
    expect(r.paced).toBeUndefined();
  });

  it("completes dmzgate's handshake and gets dmzgate's answer to each packet-in", async () => {
    const controller = new Controller({ port: 0, host: '127.0.0.1', logger: silentLogger() });
    controller.on('packetIn', (pi) => {
      const eth = parseEthernet(pi.msg.data);
      pi.conn.send(answerFlowMod(pi.inPort ?? 0, eth.dst, eth.src));
    });
    const { port } = await controller.listen();
    cleanups.push(() => controller.close());
    if (port === undefined) throw new Error('the controller listens on no TCP port');
    const r = await runClient({ ...SMALL, port, packetIn: PACKET_IN, expect: ANSWER, serverPid: process.pid });
    expect(r.b2b.n).toBe(200);
    expect(r.b2b.mismatched).toBe(0);
    expect(r.paced!.mismatched).toBe(0);
    expect(r.paced!.errors).toBe(0);
  });
});

describe('parsePhase', () => {
  it('reads a line of the client and refuses one without a figure', () => {
    const line =
      '{"phase":"b2b","n":3,"min":1,"p50":2,"p90":2.5,"p99":3,"max":4,"mismatched":0,"errors":0,"wall_s":0.1,' +
      '"self_cpu_s":0.05,"server_cpu_s":0.01,"core_busy_s":[0.1,0.2]}';
    expect(parsePhase(line)).toEqual({
      phase: 'b2b',
      trips: {
        n: 3,
        min: 1,
        p50: 2,
        p90: 2.5,
        p99: 3,
        max: 4,
        mismatched: 0,
        errors: 0,
        wallS: 0.1,
        clientCpuS: 0.05,
        serverCpuS: 0.01,
        coreBusyS: [0.1, 0.2],
      },
    });
    expect(() => parsePhase(line.replace('"p99":3,', ''))).toThrow(/p99/);
  });
});
