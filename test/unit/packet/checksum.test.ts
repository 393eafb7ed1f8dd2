import { describe, expect, it } from 'vitest';
import {
  buildPacket,
  foldSum,
  internetChecksum,
  ipv4ToBytes,
  ipv6ToBytes,
  onesSum,
  parsePacket,
  transportChecksum,
  verifyIpv4Checksum,
  verifyPacketChecksums,
  verifyTransportChecksum,
} from '../../../controller/packet/index.js';
import { flipBits } from './fixtures.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('Internet checksum known answers', () => {
  it('RFC 1071 §3 numerical example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2', () => {
    const b = hex('0001 f203 f4f5 f6f7');
    expect(foldSum(onesSum(b))).toBe(0xddf2);
    expect(internetChecksum(b)).toBe(0x220d);
  });

  it('pads an odd trailing byte with zero', () => {
    expect(internetChecksum(hex('01'))).toBe(0xfeff);
    expect(internetChecksum(hex('0001 f2'))).toBe(~(0x0001 + 0xf200) & 0xffff);
  });

  it('IPv4 header 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7', () => {
    // By hand: 4500+0073+0000+4000+4011+c0a8+0001+c0a8+00c7 = 0x2479c -> fold 0x479e -> ~ = 0xb861
    const h = hex('4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7');
    expect(internetChecksum(h)).toBe(0xb861);
    h[10] = 0xb8;
    h[11] = 0x61;
    expect(verifyIpv4Checksum(h)).toBe(true);
    flipBits(h, 19, 0x01);
    expect(verifyIpv4Checksum(h)).toBe(false);
  });

  it('UDP/IPv4 pseudo-header, computed by hand: 10.0.0.1:1 -> 10.0.0.2:2, no data = 0xebd8', () => {
    // pseudo 0a00+0001+0a00+0002+0011+0008 = 0x141c; header 0001+0002+0008+0000 = 0x000b; ~0x1427 = 0xebd8
    const seg = hex('0001 0002 0008 0000');
    expect(transportChecksum(ipv4ToBytes('10.0.0.1'), ipv4ToBytes('10.0.0.2'), 17, seg)).toBe(0xebd8);
    const frame = buildPacket({
      eth: { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' },
      ipv4: { src: '10.0.0.1', dst: '10.0.0.2' },
      udp: { srcPort: 1, dstPort: 2 },
    });
    expect(parsePacket(frame).udp?.checksum).toBe(0xebd8);
  });

  it('ICMPv6/IPv6 pseudo-header, computed by hand: echo request ::1 -> ::1 = 0x7fbb', () => {
    // pseudo 0001+0001+0000+0008+003a = 0x44; message 8000+0000+0000+0000; ~0x8044 = 0x7fbb
    const msg = hex('8000 0000 0000 0000');
    const lo = ipv6ToBytes('::1');
    expect(transportChecksum(lo, lo, 58, msg)).toBe(0x7fbb);
    msg[2] = 0x7f;
    msg[3] = 0xbb;
    expect(verifyTransportChecksum(lo, lo, 58, msg)).toBe(true);
    expect(verifyTransportChecksum(lo, ipv6ToBytes('::2'), 58, msg)).toBe(false);
  });

  it('a UDP checksum that computes to zero is sent as 0xffff (RFC 768) and still verifies', () => {
    const base = {
      eth: { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' },
      ipv4: { src: '10.0.0.1', dst: '10.0.0.2' },
      udp: { srcPort: 1, dstPort: 2 },
    };
    // with a zero data word the checksum is c; a data word equal to c makes the sum 0xffff
    const c = parsePacket(buildPacket({ ...base, payload: new Uint8Array(2) })).udp!.checksum;
    const p = parsePacket(buildPacket({ ...base, payload: new Uint8Array([c >>> 8, c & 0xff]) }));
    expect(p.udp?.checksum).toBe(0xffff);
    expect(verifyPacketChecksums(p)).toEqual({ ipv4: 'ok', transport: 'ok' });
  });
});
