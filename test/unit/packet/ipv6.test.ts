import { describe, expect, it } from 'vitest';
import {
  IPPROTO,
  MAX_IPV6_EXTENSIONS,
  buildPacket,
  parsePacket,
  verifyPacketChecksums,
  type Ipv6ExtensionSpec,
} from '../../../controller/packet/index.js';
import { MAC_A, MAC_B, V6_A, V6_B, errorCode, hex, text } from './fixtures.js';

const eth = { src: MAC_A, dst: MAC_B };
const v6 = { src: V6_A, dst: V6_B };

describe('IPv6 fixed header (RFC 8200 §3)', () => {
  it('round-trips traffic class, flow label, hop limit, addresses', () => {
    const f = buildPacket({
      eth,
      ipv6: { ...v6, trafficClass: 0xa5, flowLabel: 0xfedcb, hopLimit: 3 },
      udp: { srcPort: 1, dstPort: 2 },
      payload: text('z'),
    });
    expect([...f.subarray(14, 18)]).toEqual([0x6a, 0x5f, 0xed, 0xcb]);
    const ip = parsePacket(f).ipv6!;
    expect(ip).toMatchObject({
      version: 6,
      trafficClass: 0xa5,
      flowLabel: 0xfedcb,
      payloadLength: 9,
      nextHeader: IPPROTO.UDP,
      hopLimit: 3,
      src: V6_A,
      dst: V6_B,
      protocol: IPPROTO.UDP,
      extensions: [],
      fragment: undefined,
      truncated: false,
    });
  });

  it('rejects a wrong version and short headers; a cut payload is truncated', () => {
    const f = buildPacket({ eth, ipv6: v6, udp: { srcPort: 1, dstPort: 2 }, payload: new Uint8Array(20) });
    const g = f.slice();
    g[14] = 0x40;
    expect(errorCode(() => parsePacket(g))).toBe('BAD_VERSION');
    for (let n = 14; n < 54; n++) expect(errorCode(() => parsePacket(f.subarray(0, n)))).toBe('TRUNCATED');
    const p = parsePacket(f.subarray(0, 54 + 8 + 5));
    expect(p.truncated).toBe(true);
    expect(p.udp?.truncated).toBe(true);
    expect(verifyPacketChecksums(p).transport).toBe('unverifiable');
  });

  it('No Next Header by default when nothing is on top', () => {
    const p = parsePacket(buildPacket({ eth, ipv6: v6 }));
    expect(p.ipv6?.protocol).toBe(IPPROTO.NONE);
    expect(p.ipv6?.payloadLength).toBe(0);
  });
});

describe('IPv6 extension headers (RFC 8200 §4)', () => {
  it('chains Hop-by-Hop, Routing, Fragment, Destination Options to TCP and back', () => {
    const extensions: Ipv6ExtensionSpec[] = [
      { kind: 'hop-by-hop', options: [{ type: 5, data: hex('0000') }] }, // Router Alert (RFC 2711): 2+4 -> PadN 2
      { kind: 'routing', routingType: 4, segmentsLeft: 0, data: new Uint8Array(20) },
      { kind: 'fragment', offset: 0, more: false, identification: 0x01020304 },
      { kind: 'destination', options: [{ type: 0x1e, data: hex('01020304 05') }] }, // 2+7 = 9 -> 16, PadN 5
    ];
    const f = buildPacket({ eth, ipv6: { ...v6, extensions }, tcp: { srcPort: 9, dstPort: 10, flags: 2 }, payload: text('data') });
    const ip = parsePacket(f).ipv6!;
    expect(ip.nextHeader).toBe(IPPROTO.HOPOPTS);
    expect(ip.payloadLength).toBe(8 + 24 + 8 + 16 + 20 + 4);
    expect(ip.protocol).toBe(IPPROTO.TCP);
    expect(ip.extensions).toEqual([
      { kind: 'hop-by-hop', nextHeader: IPPROTO.ROUTING, options: [{ type: 5, data: hex('0000') }] },
      { kind: 'routing', nextHeader: IPPROTO.FRAGMENT, routingType: 4, segmentsLeft: 0, data: new Uint8Array(20) },
      { kind: 'fragment', nextHeader: IPPROTO.DSTOPTS, offset: 0, more: false, identification: 0x01020304 },
      { kind: 'destination', nextHeader: IPPROTO.TCP, options: [{ type: 0x1e, data: hex('0102030405') }] },
    ]);
    expect(ip.fragment?.identification).toBe(0x01020304);
    // padding bytes on the wire: HBH ends with PadN(0), dest opts with PadN(3 zero bytes)
    expect([...f.subarray(54, 62)]).toEqual([...hex('2b00 05020000 0100')]);
    const p = parsePacket(f);
    expect(Buffer.from(p.payload).toString()).toBe('data');
    expect(verifyPacketChecksums(p)).toEqual({ transport: 'ok' });
  });

  it('a packet still en route (Segments Left > 0) has an unverifiable transport checksum', () => {
    const routing = { kind: 'routing' as const, routingType: 4, segmentsLeft: 1, data: new Uint8Array(20) };
    const p = parsePacket(buildPacket({ eth, ipv6: { ...v6, extensions: [routing] }, udp: { srcPort: 1, dstPort: 2 } }));
    expect(p.ipv6?.extensions[0]).toMatchObject({ kind: 'routing', segmentsLeft: 1 });
    expect(verifyPacketChecksums(p)).toEqual({ transport: 'unverifiable' });
  });

  it('uses Pad1 when exactly one byte is left', () => {
    // 2 + (2+3) = 7 -> one Pad1
    const f = buildPacket({
      eth,
      ipv6: { ...v6, extensions: [{ kind: 'destination', options: [{ type: 0x1e, data: hex('aabbcc') }] }] },
      udp: { srcPort: 1, dstPort: 2 },
    });
    expect([...f.subarray(54, 62)]).toEqual([...hex('1100 1e03aabbcc 00')]);
    expect(parsePacket(f).ipv6?.extensions[0]).toEqual({ kind: 'destination', nextHeader: 17, options: [{ type: 0x1e, data: hex('aabbcc') }] });
  });

  it('stops at a non-first fragment: the rest is not an upper-layer header', () => {
    const p = parsePacket(
      buildPacket({
        eth,
        ipv6: { ...v6, nextHeader: IPPROTO.TCP, extensions: [{ kind: 'fragment', offset: 185, more: true, identification: 7 }] },
        payload: text('middle'),
      }),
    );
    expect(p.ipv6?.fragment).toEqual({ kind: 'fragment', nextHeader: IPPROTO.TCP, offset: 185, more: true, identification: 7 });
    expect(p.tcp).toBeUndefined();
    expect(Buffer.from(p.payload).toString()).toBe('middle');
  });

  it('walks AH (length in 4-octet units, RFC 4302) and stops at ESP', () => {
    // hand-built: IPv6 -> AH (payload len 4 => 24 bytes) -> UDP
    const f = buildPacket({ eth, ipv6: { ...v6, nextHeader: IPPROTO.AH }, payload: new Uint8Array(24 + 8) });
    f[54] = IPPROTO.UDP;
    f[55] = 4;
    f.set(hex('0007 0008 0008 0000'), 54 + 24);
    const p = parsePacket(f);
    expect(p.ipv6?.extensions).toEqual([{ kind: 'other', protocol: IPPROTO.AH, nextHeader: IPPROTO.UDP, data: new Uint8Array(22) }]);
    expect(p.udp?.dstPort).toBe(8);
    const esp = parsePacket(buildPacket({ eth, ipv6: { ...v6, nextHeader: IPPROTO.ESP }, payload: new Uint8Array(16) }));
    expect(esp.ipv6?.protocol).toBe(IPPROTO.ESP);
    expect(esp.payload.length).toBe(16);
  });

  it('rejects Hop-by-Hop anywhere but first', () => {
    const f = buildPacket({ eth, ipv6: { ...v6, extensions: [{ kind: 'destination' }, { kind: 'hop-by-hop' }] }, udp: { srcPort: 1, dstPort: 2 } });
    expect(errorCode(() => parsePacket(f))).toBe('BAD_VALUE');
  });

  it(`refuses more than ${MAX_IPV6_EXTENSIONS} extension headers`, () => {
    const many = (n: number): Uint8Array =>
      buildPacket({
        eth,
        ipv6: { ...v6, extensions: Array.from({ length: n }, () => ({ kind: 'destination' as const })) },
        udp: { srcPort: 1, dstPort: 2 },
      });
    expect(parsePacket(many(MAX_IPV6_EXTENSIONS)).ipv6?.extensions).toHaveLength(MAX_IPV6_EXTENSIONS);
    expect(errorCode(() => parsePacket(many(MAX_IPV6_EXTENSIONS + 1)))).toBe('TOO_MANY_HEADERS');
  });

  it('an extension header running past Payload Length is BAD_LENGTH; past the capture, TRUNCATED', () => {
    const f = buildPacket({
      eth,
      ipv6: { ...v6, extensions: [{ kind: 'destination', options: [{ type: 0x1e, data: new Uint8Array(20) }] }] },
      udp: { srcPort: 1, dstPort: 2 },
    });
    const lie = f.slice();
    lie[54 + 1] = 200; // Hdr Ext Len far beyond the payload
    lie[18] = 0;
    lie[19] = 24; // Payload Length 24 (< the 32 bytes present): the frame is not cut
    expect(errorCode(() => parsePacket(lie))).toBe('BAD_LENGTH');
    expect(errorCode(() => parsePacket(f.subarray(0, 54 + 10)))).toBe('TRUNCATED');
    const badOpt = f.slice();
    badOpt[54 + 3] = 30; // option length overruns its header
    expect(errorCode(() => parsePacket(badOpt))).toBe('BAD_LENGTH');
  });

  it('refuses malformed extension specs', () => {
    const bad = (e: Ipv6ExtensionSpec): string =>
      errorCode(() => buildPacket({ eth, ipv6: { ...v6, extensions: [e] }, udp: { srcPort: 1, dstPort: 2 } }));
    expect(bad({ kind: 'routing', routingType: 4, segmentsLeft: 0, data: new Uint8Array(5) })).toBe('BAD_LENGTH');
    expect(bad({ kind: 'hop-by-hop', options: [{ type: 1, data: new Uint8Array(2) }] })).toBe('BAD_VALUE');
    expect(bad({ kind: 'fragment', offset: 0x2000 })).toBe('BAD_VALUE');
  });
});
