import { describe, expect, it } from 'vitest';
import {
  IPPROTO,
  buildPacket,
  parseIpv4,
  parseIpv4Options,
  parsePacket,
  verifyIpv4Checksum,
  verifyPacketChecksums,
} from '../../../controller/packet/index.js';
import { MAC_A, MAC_B, V4_A, V4_B, errorCode, hex, text } from './fixtures.js';

const eth = { src: MAC_A, dst: MAC_B };

describe('IPv4 (RFC 791)', () => {
  it('round-trips every header field', () => {
    const f = buildPacket({
      eth,
      ipv4: {
        src: V4_A,
        dst: V4_B,
        ttl: 17,
        dscp: 46,
        ecn: 2,
        identification: 0xbeef,
        dontFragment: true,
        moreFragments: false,
        fragmentOffset: 0,
      },
      udp: { srcPort: 1000, dstPort: 2000 },
      payload: text('abc'),
    });
    const ip = parsePacket(f).ipv4!;
    expect(ip).toMatchObject({
      version: 4,
      headerLength: 20,
      dscp: 46,
      ecn: 2,
      totalLength: 20 + 8 + 3,
      identification: 0xbeef,
      dontFragment: true,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 17,
      protocol: IPPROTO.UDP,
      src: V4_A,
      dst: V4_B,
      truncated: false,
    });
    expect(ip.options.length).toBe(0);
    expect(ip.header.length).toBe(20);
    expect(verifyIpv4Checksum(ip.header)).toBe(true);
    expect(ip.checksum).toBe(Buffer.from(ip.header).readUInt16BE(10));
  });

  it('pads options to 4 bytes with End of Option List and splits them back', () => {
    // Router Alert (RFC 2113) + NOP + a 4-byte experimental option = 9 bytes => padded to 12
    const options = hex('94040000 01 9e040506');
    const f = buildPacket({ eth, ipv4: { src: V4_A, dst: V4_B, options }, icmp: { type: 8 } });
    const ip = parsePacket(f).ipv4!;
    expect(ip.headerLength).toBe(32);
    expect([...ip.options]).toEqual([...options, 0, 0, 0]);
    expect(parseIpv4Options(ip.options)).toEqual([
      { type: 0x94, data: hex('0000') },
      { type: 0x9e, data: hex('0506') },
    ]);
    expect(verifyPacketChecksums(parsePacket(f))).toEqual({ ipv4: 'ok', transport: 'ok' });
    expect(errorCode(() => parseIpv4Options(hex('9401')))).toBe('BAD_LENGTH');
    expect(errorCode(() => parseIpv4Options(hex('94')))).toBe('TRUNCATED');
    expect(errorCode(() => buildPacket({ eth, ipv4: { src: V4_A, dst: V4_B, options: new Uint8Array(41) }, icmp: { type: 8 } }))).toBe('BAD_LENGTH');
  });

  it('excludes Ethernet padding beyond Total Length from the payload', () => {
    const f = buildPacket({ eth, ipv4: { src: V4_A, dst: V4_B }, udp: { srcPort: 1, dstPort: 2 }, payload: text('hi'), minLength: 60 });
    expect(f.length).toBe(60);
    const p = parsePacket(f);
    expect(p.ipv4!.payload.length).toBe(10);
    expect(Buffer.from(p.payload).toString()).toBe('hi');
    expect(verifyPacketChecksums(p)).toEqual({ ipv4: 'ok', transport: 'ok' });
  });

  it('reports a capture cut as truncated (transport checksum unverifiable)', () => {
    const f = buildPacket({ eth, ipv4: { src: V4_A, dst: V4_B }, tcp: { srcPort: 1, dstPort: 2 }, payload: new Uint8Array(100) });
    const p = parsePacket(f.subarray(0, 14 + 20 + 20 + 30));
    expect(p.truncated).toBe(true);
    expect(p.ipv4!.truncated).toBe(true);
    expect(p.payload.length).toBe(30);
    expect(verifyPacketChecksums(p)).toEqual({ ipv4: 'ok', transport: 'unverifiable' });
    // a standalone parse that says the buffer is complete calls the same thing a bad length
    expect(errorCode(() => parseIpv4(f.subarray(14, 14 + 60), false))).toBe('BAD_LENGTH');
  });

  it('decodes fragments: the first carries the transport header, later ones do not', () => {
    const first = parsePacket(
      buildPacket({
        eth,
        ipv4: { src: V4_A, dst: V4_B, moreFragments: true, identification: 9 },
        udp: { srcPort: 7, dstPort: 8 },
        payload: new Uint8Array(16),
      }),
    );
    expect(first.udp?.srcPort).toBe(7);
    expect(verifyPacketChecksums(first).transport).toBe('unverifiable');
    const later = parsePacket(
      buildPacket({ eth, ipv4: { src: V4_A, dst: V4_B, protocol: IPPROTO.UDP, fragmentOffset: 3 }, payload: text('tail of datagram') }),
    );
    expect(later.ipv4?.fragmentOffset).toBe(3);
    expect(later.udp).toBeUndefined();
    expect(Buffer.from(later.payload).toString()).toBe('tail of datagram');
  });

  it('rejects a wrong version, IHL < 5, Total Length < IHL*4, and short headers', () => {
    const f = buildPacket({ eth, ipv4: { src: V4_A, dst: V4_B }, udp: { srcPort: 1, dstPort: 2 } });
    const mut = (i: number, v: number): Uint8Array => {
      const g = f.slice();
      g[i] = v;
      return g;
    };
    expect(errorCode(() => parsePacket(mut(14, 0x65)))).toBe('BAD_VERSION');
    expect(errorCode(() => parsePacket(mut(14, 0x44)))).toBe('BAD_LENGTH');
    expect(errorCode(() => parsePacket(mut(14, 0x4f)))).toBe('TRUNCATED'); // IHL 15 = 60 bytes, frame has 28
    expect(errorCode(() => parsePacket(mut(17, 19)))).toBe('BAD_LENGTH');
    for (let n = 14; n < 34; n++) expect(errorCode(() => parsePacket(f.subarray(0, n)))).toBe('TRUNCATED');
  });

  it('needs an explicit protocol when nothing is built on top', () => {
    expect(errorCode(() => buildPacket({ eth, ipv4: { src: V4_A, dst: V4_B } }))).toBe('BAD_VALUE');
    const p = parsePacket(buildPacket({ eth, ipv4: { src: V4_A, dst: V4_B, protocol: 253 }, payload: text('exp') }));
    expect(p.ipv4?.protocol).toBe(253);
    expect(Buffer.from(p.payload).toString()).toBe('exp');
  });
});
