// The counter poll's id blocks: every lease in exactly one block, each block's cookie and mask match exactly the
// lease ids of its range (as a switch applies them: cookie & mask == flow cookie & mask), at most 32 blocks.
import { describe, expect, it } from 'vitest';
import { idBlocks } from '../../../apps/dmz/counter-poll.js';
import { OWNER } from '../../../apps/dmz/owners.js';
import { ownerCookie } from '../../../controller/cookie.js';

const owner = ownerCookie(OWNER.LEASES);

describe('counter poll blocks', () => {
  for (const [name, ids] of [
    ['one lease', [77]],
    ['dense ids', Array.from({ length: 5000 }, (_, i) => 1 + i)],
    ['spread ids', Array.from({ length: 3000 }, (_, i) => 1 + i * 977)],
    ['huge ids', [1, 2 ** 40, 2 ** 47 + 5, 123456789]],
  ] as [string, number[]][]) {
    it(name, () => {
      const blocks = idBlocks(ids.map((id) => ({ id })));
      expect(blocks.length).toBeLessThanOrEqual(32);
      expect(blocks.flatMap((b) => b.leases.map((l) => l.id)).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
      for (const b of blocks) {
        const cookie = owner | b.low;
        const matches = (id: number) => (ownerCookie(OWNER.LEASES, id) & b.mask) === (cookie & b.mask);
        for (const l of b.leases) expect(matches(l.id)).toBe(true);
        // ... and no lease of another block, nor a flow of another owner.
        for (const o of blocks) if (o !== b) for (const l of o.leases) expect(matches(l.id)).toBe(false);
        expect((ownerCookie(OWNER.BLOCKS, b.leases[0]!.id) & b.mask) === (cookie & b.mask)).toBe(false);
      }
    });
  }
});
