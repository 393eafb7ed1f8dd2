import { describe, expect, it } from 'vitest';
import {
  PacketError,
  canonicalIpv6,
  ipv4ToBytes,
  ipv4ToString,
  ipv6ToBytes,
  ipv6ToString,
  macToBytes,
  macToString,
} from '../../../controller/packet/index.js';
import { prng } from './fixtures.js';

function badAddress(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PacketError);
    expect((e as PacketError).code).toBe('BAD_ADDRESS');
    return;
  }
  throw new Error('expected BAD_ADDRESS');
}

describe('MAC', () => {
  it('round-trips and normalises case and separators', () => {
    expect([...macToBytes('02:00:5e:10:ab:CD')]).toEqual([0x02, 0x00, 0x5e, 0x10, 0xab, 0xcd]);
    expect(macToString(macToBytes('02-00-5E-10-AB-CD'))).toBe('02:00:5e:10:ab:cd');
    expect(macToString(new Uint8Array([9, 9, 0xff, 0, 1, 2, 3, 4, 5, 6]), 4)).toBe('01:02:03:04:05:06');
  });
  it('rejects malformed text', () => {
    for (const s of ['', '02:00:5e:10:ab', '02:00:5e:10:ab:cd:ef', '02:00-5e:10:ab:cd', '0g:00:00:00:00:00', '2:0:0:0:0:0']) {
      badAddress(() => macToBytes(s));
    }
  });
});

describe('IPv4', () => {
  it('round-trips', () => {
    expect([...ipv4ToBytes('198.18.255.0')]).toEqual([198, 18, 255, 0]);
    expect(ipv4ToString(new Uint8Array([10, 0, 0, 254]))).toBe('10.0.0.254');
  });
  it('rejects malformed text (including leading zeros, which some parsers read as octal)', () => {
    for (const s of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-4', '1..2.3', ' 1.2.3.4', '1.2.3.4 ']) {
      badAddress(() => ipv4ToBytes(s));
    }
  });
});

describe('IPv6 (RFC 5952 canonical text)', () => {
  const cases: [string, string][] = [
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'], // §4.1 leading zeros, §4.2.1 longest run
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // §4.2.3 first of equal runs
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // §4.2.3 longest run wins
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // §4.2.2 a single 0 is not compressed
    ['2001:DB8::ABCD', '2001:db8::abcd'], // §4.3 lower case
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['fe80:0:0:0:0:0:0:1', 'fe80::1'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'], // §5 IPv4-mapped keeps the dotted quad
    ['0:0:0:0:0:ffff:c000:0201', '::ffff:192.0.2.1'],
    ['::1.2.3.4', '::102:304'], // deprecated IPv4-compatible: plain hex
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
  ];
  it.each(cases)('%s -> %s', (input, canonical) => {
    expect(canonicalIpv6(input)).toBe(canonical);
    expect(canonicalIpv6(canonical)).toBe(canonical);
  });
  it('rejects malformed text', () => {
    for (const s of [
      '',
      ':',
      ':::',
      '1::2::3',
      '12345::',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      'g::',
      '1::2:3:4:5:6:7:8',
      '::1.2.3',
      '1.2.3.4::',
      'fe80::1%eth0',
      ':1::',
      '1::2:',
      '::ffff:256.0.0.1',
    ]) {
      badAddress(() => ipv6ToBytes(s));
    }
  });
  it('agrees with the WHATWG URL parser (same compression rules) on 20k random addresses', () => {
    const rnd = prng(6);
    const b = new Uint8Array(16);
    for (let n = 0; n < 20_000; n++) {
      // mostly-zero groups so that runs of every length and position occur
      for (let i = 0; i < 8; i++) {
        const v = rnd() < 0.55 ? 0 : Math.floor(rnd() * 0x10000);
        b[2 * i] = v >>> 8;
        b[2 * i + 1] = v & 0xff;
      }
      const ours = ipv6ToString(b);
      expect([...ipv6ToBytes(ours)]).toEqual([...b]);
      const mapped = ours.startsWith('::ffff:') && ours.includes('.');
      if (!mapped) expect(ours).toBe(new URL(`http://[${ours}]/`).hostname.slice(1, -1));
    }
  });
});
