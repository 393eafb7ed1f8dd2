// bench:codec's floor reads, from the bytes alone, the same fields that the codec's decode hands the benchmark.
import { describe, expect, it } from 'vitest';
import { decode, encode, type MessageOf } from '../../../controller/openflow/index.js';
import { floorFlowMods, floorFlowStats, floorPacketIns } from '../../../bench/codec-floor.js';

const packetIn = (inPort: number, mac: string, ip: string, frameLen: number) =>
  encode({
    type: 'packetIn',
    xid: 7,
    bufferId: 0xffffffff,
    totalLen: frameLen + 10,
    reason: 0,
    tableId: 0,
    cookie: 1n,
    match: [
      { field: 'in_port', value: inPort },
      { field: 'eth_dst', value: mac },
      { field: 'ipv4_src', value: ip },
    ],
    data: Buffer.alloc(frameLen, 0xab),
  });

const entry = (priority: number, port: number, src: string) => ({
  tableId: 0,
  durationSec: 1,
  durationNsec: 2,
  priority,
  idleTimeout: 0,
  hardTimeout: 0,
  flags: 0,
  cookie: 3n,
  packetCount: 4n,
  byteCount: 5n,
  match: [
    { field: 'eth_type' as const, value: 0x0800 },
    { field: 'ipv4_src' as const, value: src },
  ],
  instructions: [{ type: 'applyActions' as const, actions: [{ type: 'output' as const, port, maxLen: 0 }] }],
});

describe('codec floor', () => {
  it('folds a packet-in as the codec bench does from the decoded message', () => {
    const set = [packetIn(5, '02:00:5e:00:01:01', '10.0.1.37', 64), packetIn(48, '02:a0:01:00:00:fe', '172.16.1.250', 60)];
    const fromDecode = set.reduce((s, b) => {
      const m = decode(b) as MessageOf<'packetIn'>;
      const ip = m.match[2]!.value as string;
      return s + m.totalLen + m.data.length + (m.match[0]!.value as number) + (m.match[1]!.value as string).length + ip.charCodeAt(ip.length - 1);
    }, 0);
    expect(floorPacketIns(set)(2)).toBe(fromDecode);
  });

  it("folds a flow-stats reply's priorities and output ports", () => {
    const reply = encode({ type: 'flowStatsReply', xid: 1, flags: 0, body: [entry(1000, 3, '10.0.0.1'), entry(7, 65000, '10.0.0.2')] });
    expect(floorFlowStats([reply])(1)).toBe(1000 + 3 + 7 + 65000);
  });

  it('folds a flow-mod as its length plus its last byte, walking the set', () => {
    const a = Buffer.from([4, 14, 0, 8, 0, 0, 0, 9]);
    const b = Buffer.from([4, 14, 0, 9, 0, 0, 0, 1, 200]);
    expect(floorFlowMods([a, b])(3)).toBe(8 + 9 + 9 + 200 + 8 + 9);
  });
});
