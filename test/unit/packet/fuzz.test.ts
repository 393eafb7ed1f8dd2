/**
 * Seeded random input: parsePacket must throw nothing but PacketError, never
 * hang, and everything it returns must be usable (views inside the buffer,
 * checksum verification callable).
 */
import { describe, expect, it } from 'vitest';
import { PacketError, buildPacket, parsePacket, verifyPacketChecksums, type Packet } from '../../../controller/packet/index.js';
import { FIXTURES, prng } from './fixtures.js';

const TYPES = [0x0800, 0x86dd, 0x0806, 0x88cc, 0x8100, 0x88a8, 0x9100];

function nth<T>(xs: readonly T[], i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`index ${i} outside a list of ${xs.length}`);
  return x;
}

function run(buf: Uint8Array, codes: Map<string, number>): Packet | undefined {
  try {
    const p = parsePacket(buf);
    verifyPacketChecksums(p);
    expect(p.payload.buffer).toBe(buf.buffer);
    expect(p.payload.byteOffset + p.payload.length).toBeLessThanOrEqual(buf.byteOffset + buf.length);
    codes.set('ok', (codes.get('ok') ?? 0) + 1);
    return p;
  } catch (e) {
    if (!(e instanceof PacketError)) {
      throw new Error(`non-PacketError on ${Buffer.from(buf).toString('hex')}: ${String(e)}`, { cause: e });
    }
    codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
    return undefined;
  }
}

describe('fuzz', () => {
  it('50k random buffers steered at known EtherTypes', () => {
    const rnd = prng(0xd3a2);
    const codes = new Map<string, number>();
    for (let n = 0; n < 50_000; n++) {
      const b = new Uint8Array(Math.floor(rnd() * 160));
      for (let i = 0; i < b.length; i++) b[i] = Math.floor(rnd() * 256);
      if (b.length >= 14 && rnd() < 0.8) {
        const t = nth(TYPES, Math.floor(rnd() * TYPES.length));
        b[12] = t >>> 8;
        b[13] = t & 0xff;
        // give IP a plausible version nibble most of the time, so deeper layers get exercised
        if (t === 0x0800 && b.length > 14 && rnd() < 0.8) b[14] = 0x45 + Math.floor(rnd() * 4);
        if (t === 0x86dd && b.length > 14 && rnd() < 0.8) b[14] = 0x60;
      }
      run(b, codes);
    }
    expect(codes.get('TRUNCATED')).toBeGreaterThan(1000);
    expect(codes.get('BAD_VERSION')).toBeGreaterThan(100);
  });

  it('50k mutations of valid frames (byte flips, length changes)', () => {
    const rnd = prng(0x5eed);
    const frames = FIXTURES.map((f) => buildPacket(f.spec));
    const codes = new Map<string, number>();
    const layersSeen = new Set<string>();
    for (let n = 0; n < 50_000; n++) {
      const src = nth(frames, n % frames.length);
      const len = rnd() < 0.3 ? Math.floor(rnd() * (src.length + 16)) : src.length;
      const b = new Uint8Array(len);
      b.set(src.subarray(0, len));
      const flips = 1 + Math.floor(rnd() * 4);
      for (let i = 0; i < flips && len > 0; i++) {
        const at = rnd() < 0.7 ? 12 + Math.floor(rnd() * Math.min(len, 80)) : Math.floor(rnd() * len);
        if (at < len) b[at] = rnd() < 0.5 ? b[at]! ^ (1 << Math.floor(rnd() * 8)) : Math.floor(rnd() * 256);
      }
      const p = run(b, codes);
      if (p) for (const k of ['arp', 'lldp', 'ipv4', 'ipv6', 'icmp', 'icmpv6', 'tcp', 'udp'] as const) if (p[k]) layersSeen.add(k);
    }
    expect(codes.get('ok')).toBeGreaterThan(10_000);
    for (const c of ['TRUNCATED', 'BAD_LENGTH', 'BAD_VALUE', 'BAD_VERSION']) expect(codes.get(c) ?? 0, c).toBeGreaterThan(10);
    expect([...layersSeen].sort()).toEqual(['arp', 'icmp', 'icmpv6', 'ipv4', 'ipv6', 'lldp', 'tcp', 'udp']);
  });
});
