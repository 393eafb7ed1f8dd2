// parsePrefix's IPv4 scan (the usual spelling) gives what the general parser gives, and refuses (by handing over
// to it) exactly what it refuses, with its messages.
import { describe, expect, it } from 'vitest';
import { parsePrefix, prefixToOxm, specialUse } from '../../../apps/dmz/addresses.js';

/** A parse's fields (or its error's message), for comparisons. */
const fields = (text: string) => {
  try {
    const p = parsePrefix(text);
    return { family: p.family, bits: p.bits, len: p.len, text: p.text };
  } catch (e) {
    return { error: (e as Error).message };
  }
};

describe('parsePrefix (IPv4)', () => {
  it('parses hosts and prefixes, clearing host bits', () => {
    expect(fields('198.18.0.5')).toEqual({ family: 4, bits: 0xc6120005n, len: 32, text: '198.18.0.5/32' });
    expect(fields('198.18.0.5/32')).toEqual({ family: 4, bits: 0xc6120005n, len: 32, text: '198.18.0.5/32' });
    expect(fields('198.19.255.255/15')).toEqual({ family: 4, bits: 0xc6120000n, len: 15, text: '198.18.0.0/15' });
    expect(fields('255.255.255.255/1')).toEqual({ family: 4, bits: 0x80000000n, len: 1, text: '128.0.0.0/1' });
    expect(fields('10.1.2.3/0')).toEqual({ family: 4, bits: 0n, len: 0, text: '0.0.0.0/0' });
    expect(fields('0.0.0.0')).toEqual({ family: 4, bits: 0n, len: 32, text: '0.0.0.0/32' });
    expect(prefixToOxm(parsePrefix('192.0.2.0/24'))).toEqual({ value: '192.0.2.0', mask: '255.255.255.0' });
    expect(prefixToOxm(parsePrefix('192.0.2.9'))).toEqual({ value: '192.0.2.9' });
  });

  it('refuses what is not an IPv4 address or prefix, with the general messages', () => {
    expect(fields('256.1.1.1')).toEqual({ error: 'invalid address "256.1.1.1"' });
    expect(fields('01.2.3.4')).toEqual({ error: 'invalid address "01.2.3.4"' });
    expect(fields('1.2.3')).toEqual({ error: 'invalid address "1.2.3"' });
    expect(fields('1.2.3.4.5')).toEqual({ error: 'invalid address "1.2.3.4.5"' });
    expect(fields('1.2.3.4/33')).toEqual({ error: 'invalid prefix length in "1.2.3.4/33"' });
    expect(fields('1.2.3.4/')).toEqual({ error: 'invalid prefix length in "1.2.3.4/"' });
    expect(fields('1.2.3.4/1/2')).toEqual({ error: 'invalid prefix "1.2.3.4/1/2"' });
    expect(fields('1.2.3.4 ')).toEqual({ error: 'invalid address "1.2.3.4 "' });
  });

  it('takes the lengths the general parser takes in other spellings (leading zeros)', () => {
    expect(fields('10.0.0.0/08')).toEqual({ family: 4, bits: 0x0a000000n, len: 8, text: '10.0.0.0/8' });
    expect(fields('10.0.0.1/032')).toEqual({ family: 4, bits: 0x0a000001n, len: 32, text: '10.0.0.1/32' });
  });

  it('agrees with itself on random addresses and lengths (scan vs cached general parse of the same prefix)', () => {
    let s = 99;
    const rnd = (n: number) => (s = (s * 1103515245 + 12345) % 2 ** 31) % n;
    for (let k = 0; k < 2000; k++) {
      const a = [rnd(256), rnd(256), rnd(256), rnd(256)];
      const len = rnd(33);
      const p = parsePrefix(`${a.join('.')}/${len}`);
      const full = a.reduce((acc, o) => acc * 256 + o, 0);
      const net = len === 0 ? 0 : full - (full % 2 ** (32 - len));
      expect(p.bits).toBe(BigInt(net));
      expect(p.len).toBe(len);
      expect(p.text).toBe(`${[24, 16, 8, 0].map((sh) => Math.floor(net / 2 ** sh) % 256).join('.')}/${len}`);
    }
  });
});

describe('parsePrefix (IPv4-mapped IPv6)', () => {
  it('reads ::ffff:a.b.c.d/N (N >= 96) as the IPv4 a.b.c.d/(N-96), in any spelling', () => {
    const v4 = { family: 4, bits: 0xc6336407n, len: 32, text: '198.51.100.7/32' };
    expect(fields('::ffff:198.51.100.7')).toEqual(v4);
    expect(fields('::FFFF:198.51.100.7/128')).toEqual(v4);
    expect(fields('::ffff:c633:6407')).toEqual(v4);
    expect(fields('0:0:0:0:0:ffff:c633:6407')).toEqual(v4);
    expect(fields('::ffff:198.51.100.0/120')).toEqual({ family: 4, bits: 0xc6336400n, len: 24, text: '198.51.100.0/24' });
    // Every mapped address: the whole IPv4 space.
    expect(fields('::ffff:0.0.0.0/96')).toEqual({ family: 4, bits: 0n, len: 0, text: '0.0.0.0/0' });
    expect(prefixToOxm(parsePrefix('::ffff:198.51.100.7'))).toEqual({ value: '198.51.100.7' });
  });

  it('leaves IPv6 prefixes wider than the mapped block, and other IPv6 addresses, IPv6', () => {
    expect(fields('::ffff:0:0/95')).toMatchObject({ family: 6, len: 95, text: '::fffe:0:0/95' });
    expect(fields('::ffff:0:0/80')).toMatchObject({ family: 6, len: 80, text: '::/80' });
    expect(fields('::fffe:c633:6407')).toMatchObject({ family: 6, len: 128 });
    expect(fields('2001:db8::ffff:c633:6407')).toMatchObject({ family: 6, len: 128 });
  });
});

describe('parsePrefix (IPv6)', () => {
  it('writes the RFC 5952 text and refuses what the codec refuses, with the same message', () => {
    expect(fields('2001:0DB8:0:0::1/64')).toEqual({ family: 6, bits: 0x20010db8n << 96n, len: 64, text: '2001:db8::/64' });
    expect(fields('2001:db8:0:1:1:1:1:1')).toMatchObject({ text: '2001:db8:0:1:1:1:1:1/128' });
    for (const bad of ['fe80::1%eth0', '1::2::3', '12345::1', '2001:db8::/129', 'g::1', '::1.2.3']) {
      expect(fields(bad).error, bad).toMatch(/^invalid (address|prefix length in) /);
    }
    expect(fields('fe80::1%eth0')).toEqual({ error: 'invalid address "fe80::1%eth0"' });
  });
});

describe('specialUse', () => {
  it('names the special-purpose range a prefix lies in or covers', () => {
    const name = (t: string) => specialUse(parsePrefix(t))?.text;
    expect(name('127.0.0.1')).toBe('127.0.0.0/8');
    expect(name('224.0.0.5')).toBe('224.0.0.0/4');
    expect(name('239.255.255.250/32')).toBe('224.0.0.0/4');
    expect(name('169.254.1.1')).toBe('169.254.0.0/16');
    expect(name('fe80::1')).toBe('fe80::/10');
    expect(name('ff02::1')).toBe('ff00::/8');
    expect(name('::1')).toBe('::1/128');
    expect(name('::ffff:127.0.0.1')).toBe('127.0.0.0/8');
    expect(name('0.0.0.0/1')).toBe('0.0.0.0/8'); // covers this-network and loopback
    expect(name('192.0.2.0/24')).toBeUndefined();
    expect(name('198.51.100.7')).toBeUndefined();
    expect(name('2001:db8::/32')).toBeUndefined();
    expect(name('126.255.255.255')).toBeUndefined();
  });
});
