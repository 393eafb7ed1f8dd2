import { describe, it, expect } from 'vitest';
import { compilePortRange, parsePortRange } from '../../../apps/dmz/port-ranges.js';

// An independent count of the fewest prefix blocks covering [lo, hi]: walk the binary trie of 16-bit ports.
function minimumCover(lo: number, hi: number, base = 0, size = 0x10000): number {
  const end = base + size - 1;
  if (end < lo || base > hi) return 0;
  if (base >= lo && end <= hi) return 1;
  return minimumCover(lo, hi, base, size / 2) + minimumCover(lo, hi, base + size / 2, size / 2);
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

describe('port ranges as masked matches', () => {
  it('covers exactly the range, with the minimum number of blocks, for many random ranges', () => {
    const rnd = seeded(42);
    const covered = new Uint8Array(0x10000);
    for (let i = 0; i < 300; i++) {
      const a = Math.floor(rnd() * 0x10000);
      const b = i % 3 === 0 ? Math.min(0xffff, a + Math.floor(rnd() * 2000)) : Math.floor(rnd() * 0x10000);
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      const blocks = compilePortRange({ lo, hi });
      covered.fill(0);
      for (const { value, mask } of blocks) {
        expect(value & ~mask & 0xffff).toBe(0); // aligned: no value bits outside the mask
        const low = ~mask & 0xffff;
        expect(low & (low + 1)).toBe(0); // a prefix mask: ones then zeros
        // Walk only the block's own ports: value | every combination of the unmasked low bits.
        const size = (~mask & 0xffff) + 1;
        for (let k = 0; k < size; k++) covered[value | k]! += 1;
      }
      // Every port in the range exactly once (blocks are disjoint), nothing outside it.
      const wrong: number[] = [];
      for (let p = 0; p < 0x10000; p++) if (covered[p] !== (p >= lo && p <= hi ? 1 : 0)) wrong.push(p);
      expect(wrong, `ports covered wrongly for ${lo}-${hi}`).toEqual([]);
      expect(blocks.length).toBe(minimumCover(lo, hi));
    }
  });

  it('handles the edges: one port, the whole space, the Globus data ports', () => {
    expect(compilePortRange({ lo: 5201, hi: 5201 })).toEqual([{ value: 5201, mask: 0xffff }]);
    expect(compilePortRange({ lo: 0, hi: 65535 })).toEqual([{ value: 0, mask: 0 }]);
    expect(compilePortRange({ lo: 50000, hi: 51000 }).length).toBe(minimumCover(50000, 51000));
    expect(compilePortRange({ lo: 1, hi: 65534 }).length).toBe(30); // the worst case for 16 bits
  });

  it('parses and rejects range text', () => {
    expect(parsePortRange('50000-51000')).toEqual({ lo: 50000, hi: 51000 });
    expect(parsePortRange('22')).toEqual({ lo: 22, hi: 22 });
    expect(() => parsePortRange('51000-50000')).toThrow(/>/);
    expect(() => parsePortRange('70000')).toThrow(/0-65535/);
    expect(() => parsePortRange('1-2-3')).toThrow(/expected/);
  });
});
