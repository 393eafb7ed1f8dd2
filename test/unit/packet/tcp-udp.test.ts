import { describe, expect, it } from 'vitest';
import {
  TCP_FLAG,
  buildPacket,
  encodeTcpOptions,
  parsePacket,
  parseTcp,
  parseTcpOptions,
  parseUdp,
  verifyPacketChecksums,
} from '../../../controller/packet/index.js';
import { MAC_A, MAC_B, SYN_OPTIONS, V4_A, V4_B, V6_A, V6_B, errorCode, flipBits, hex, text } from './fixtures.js';

const eth = { src: MAC_A, dst: MAC_B };
const nets = { ipv4: { ipv4: { src: V4_A, dst: V4_B } }, ipv6: { ipv6: { src: V6_A, dst: V6_B } } };

describe.each(Object.entries(nets))('TCP over %s (RFC 9293 §3.1)', (_, net) => {
  it('round-trips every field, options padded, checksum right', () => {
    const flags = TCP_FLAG.SYN | TCP_FLAG.ACK | TCP_FLAG.ECE | TCP_FLAG.CWR | TCP_FLAG.AE;
    const f = buildPacket({
      eth,
      ...net,
      tcp: { srcPort: 65535, dstPort: 1, seq: 0xfedcba98, ack: 0x01234567, flags, window: 4096, urgentPointer: 77, options: hex('020405b4 0103') },
      payload: text('segment'),
    });
    const p = parsePacket(f);
    expect(p.tcp).toMatchObject({
      srcPort: 65535,
      dstPort: 1,
      seq: 0xfedcba98,
      ack: 0x01234567,
      headerLength: 28,
      flags,
      window: 4096,
      urgentPointer: 77,
    });
    expect([...p.tcp!.options]).toEqual([...hex('020405b4 0103 0000')]);
    expect(Buffer.from(p.payload).toString()).toBe('segment');
    expect(verifyPacketChecksums(p).transport).toBe('ok');
    const bad = f.slice();
    flipBits(bad, bad.length - 1, 0x20); // one data bit
    expect(verifyPacketChecksums(parsePacket(bad)).transport).toBe('bad');
  });

  it('UDP round-trips, length and checksum computed', () => {
    const p = parsePacket(buildPacket({ eth, ...net, udp: { srcPort: 53, dstPort: 33333 }, payload: text('answer') }));
    expect(p.udp).toMatchObject({ srcPort: 53, dstPort: 33333, length: 14, truncated: false });
    expect(Buffer.from(p.payload).toString()).toBe('answer');
    expect(verifyPacketChecksums(p).transport).toBe('ok');
  });
});

describe('TCP details', () => {
  it('options split and re-encode', () => {
    expect(parseTcpOptions(SYN_OPTIONS).map((o) => [o.kind, [...o.data]])).toEqual([
      [2, [0x05, 0xb4]],
      [4, []],
      [8, [0, 0, 0x30, 0x39, 0, 0, 0, 0]],
      [3, [7]],
    ]);
    expect(SYN_OPTIONS.length).toBe(20);
    expect(parseTcpOptions(hex('0000 0204'))).toEqual([]); // stops at End of Option List
    expect(errorCode(() => parseTcpOptions(hex('0201')))).toBe('BAD_LENGTH');
    expect(errorCode(() => parseTcpOptions(hex('02')))).toBe('TRUNCATED');
    expect([
      ...encodeTcpOptions([
        { kind: 1, data: new Uint8Array(0) },
        { kind: 3, data: hex('0e') },
      ]),
    ]).toEqual([1, 3, 3, 0x0e]);
  });

  it('data offset below 5 is BAD_LENGTH; beyond the segment TRUNCATED', () => {
    const seg = new Uint8Array(20);
    seg[12] = 0x40;
    expect(errorCode(() => parseTcp(seg))).toBe('BAD_LENGTH');
    seg[12] = 0x60;
    expect(errorCode(() => parseTcp(seg))).toBe('TRUNCATED');
    expect(errorCode(() => buildPacket({ eth, ...nets.ipv4, tcp: { srcPort: 1, dstPort: 2, options: new Uint8Array(41) } }))).toBe('BAD_LENGTH');
    expect(errorCode(() => buildPacket({ eth, ...nets.ipv4, tcp: { srcPort: 70000, dstPort: 2 } }))).toBe('BAD_VALUE');
  });
});

describe('UDP details (RFC 768)', () => {
  it('checksum 0 means "none" over IPv4 but is invalid over IPv6 (RFC 8200 §8.1)', () => {
    const v4 = parsePacket(buildPacket({ eth, ...nets.ipv4, udp: { srcPort: 1, dstPort: 2, checksum: 0 } }));
    expect(verifyPacketChecksums(v4)).toEqual({ ipv4: 'ok', transport: 'absent' });
    const v6 = parsePacket(buildPacket({ eth, ...nets.ipv6, udp: { srcPort: 1, dstPort: 2, checksum: 0 } }));
    expect(verifyPacketChecksums(v6)).toEqual({ transport: 'bad' });
  });

  it('length below 8 or beyond a complete IP payload is BAD_LENGTH; the data stops at Length', () => {
    const dgram = hex('0001 0002 0007 0000');
    expect(errorCode(() => parseUdp(dgram))).toBe('BAD_LENGTH');
    expect(errorCode(() => parseUdp(hex('0001 0002 0010 0000 ff'), false))).toBe('BAD_LENGTH');
    expect(parseUdp(hex('0001 0002 0010 0000 ff'), true).truncated).toBe(true);
    const short = parseUdp(hex('0001 0002 0009 0000 aabb'), false);
    expect([...short.payload]).toEqual([0xaa]);
    // in a frame: IP says complete, UDP claims more
    const f = buildPacket({ eth, ...nets.ipv4, udp: { srcPort: 1, dstPort: 2 }, payload: text('abc') });
    f[14 + 20 + 5] = 12;
    expect(errorCode(() => parsePacket(f))).toBe('BAD_LENGTH');
  });
});
