/**
 * The byte readers refuse to read past the end: an out-of-range index on a
 * Uint8Array reads `undefined`, which bit arithmetic would turn into 0.
 */
import { describe, expect, it } from 'vitest';
import { get16, get32, get8 } from '../../../controller/packet/bytes.js';
import { internetChecksum } from '../../../controller/packet/index.js';
import { parseNdp } from '../../../controller/packet/ndp.js';
import { errorCode, hex } from './fixtures.js';

describe('byte readers', () => {
  it('read big-endian fields inside the buffer', () => {
    const b = hex('0102 0304 05');
    expect([get8(b, 4), get16(b, 1), get32(b, 1)]).toEqual([0x05, 0x0203, 0x02030405]);
    expect(get32(hex('ffff ffff'), 0)).toBe(0xffffffff);
  });

  it('throw TRUNCATED for any byte past the end', () => {
    const b = hex('0102 0304');
    expect(errorCode(() => get8(b, 4))).toBe('TRUNCATED');
    expect(errorCode(() => get16(b, 3))).toBe('TRUNCATED');
    expect(errorCode(() => get32(b, 1))).toBe('TRUNCATED');
    expect(errorCode(() => get8(b, -1))).toBe('TRUNCATED');
  });

  it('a checksum over a range beyond the buffer is refused, not padded with zeros', () => {
    expect(errorCode(() => internetChecksum(hex('0102'), 0, 4))).toBe('TRUNCATED');
  });

  it('parseNdp refuses an ICMPv6 type that is not Neighbor Discovery', () => {
    expect(errorCode(() => parseNdp(hex('8000 0000 0000 0000'), false))).toBe('BAD_VALUE');
  });
});
