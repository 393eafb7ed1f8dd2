// The lease book's indexes against the definitions they replace: the overlap check (a trie per DTN, protocol and
// family) refuses exactly what comparing the new lease with every active and pending lease refuses, naming the
// lowest id; meter ids are the lowest free; closed leases are forgotten oldest first beyond the 1000 kept.
import { describe, expect, it } from 'vitest';
import { LeaseBook, leasesOverlap, type LeaseRequest } from '../../../apps/dmz/lease-book.js';
import { LeaseRefused } from '../../../apps/dmz/pipeline.js';
import { MinHeap } from '../../../apps/dmz/min-heap.js';
import type { Lease } from '../../../apps/dmz/model.js';

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

const req = (over: Partial<LeaseRequest> = {}): LeaseRequest => ({
  project: 'p',
  dtn: 'dtn1',
  remote: '192.0.2.0/24',
  protocol: 'tcp',
  localPorts: [{ lo: 50000, hi: 50000 }],
  remotePorts: [{ lo: 0, hi: 65535 }],
  path: 'routed',
  durationSeconds: 60,
  ...over,
});

/** A random request from a small space, so that overlaps (and misses) are frequent: nested v4 and v6 prefixes. */
function randomRequest(rnd: () => number): LeaseRequest {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const v4 = () => {
    const len = pick([0, 8, 16, 23, 24, 25, 30, 32, 32, 32]);
    const addr = `10.${Math.floor(rnd() * 2)}.${Math.floor(rnd() * 4)}.${Math.floor(rnd() * 8) * 32 + Math.floor(rnd() * 4)}`;
    return `${addr}/${len}`;
  };
  const v6 = () => `2001:db8:${Math.floor(rnd() * 2).toString(16)}::${Math.floor(rnd() * 4).toString(16)}/${pick([0, 32, 48, 64, 127, 128, 128])}`;
  const range = (span: number) => {
    const lo = 50000 + Math.floor(rnd() * 40);
    return { lo, hi: lo + Math.floor(rnd() * span) };
  };
  return req({
    dtn: pick(['dtn1', 'dtn2']),
    protocol: pick(['tcp', 'udp'] as const),
    remote: rnd() < 0.75 ? v4() : v6(),
    localPorts: rnd() < 0.8 ? [range(5)] : [range(3), range(20)],
    remotePorts: rnd() < 0.5 ? [{ lo: 0, hi: 65535 }] : [{ lo: 33000 + Math.floor(rnd() * 10), hi: 33000 + Math.floor(rnd() * 10) + 5 }],
    ...(rnd() < 0.3 ? { rateMbps: 100 } : {}),
  });
}

describe('lease book', () => {
  it('refuses exactly the overlaps a comparison with every active and pending lease finds, naming the lowest id', () => {
    const rnd = seeded(7);
    const book = new LeaseBook();
    const live = new Map<number, Lease>(); // active or pending: the old definition's candidates
    const pending: Lease[] = [];
    let refused = 0;
    let granted = 0;
    for (let i = 0; i < 4000; i++) {
      const r = randomRequest(rnd);
      const now = 1000 + i;
      let lease: Lease | undefined;
      let err: unknown;
      try {
        lease = book.draft(r, now);
      } catch (e) {
        err = e;
      }
      const probe: Lease = { ...r, id: -1, remote: r.remote, start: now, end: now + 60_000 };
      const clashes = [...live.values()].filter((l) => leasesOverlap(l, { ...probe, remote: lease?.remote ?? probe.remote }));
      if (clashes.length) {
        expect(err, `request ${i}`).toBeInstanceOf(LeaseRefused);
        expect((err as LeaseRefused).reason).toBe('overlap');
        const lowest = Math.min(...clashes.map((l) => l.id));
        expect((err as Error).message).toMatch(new RegExp(`^overlaps lease ${lowest} `));
        refused++;
      } else {
        expect(err, `request ${i}`).toBeUndefined();
        live.set(lease!.id, lease!);
        pending.push(lease!);
        granted++;
      }
      // Drafts settle in random order: installed, abandoned, and active leases close.
      const roll = rnd();
      if (pending.length && roll < 0.5) {
        const d = pending.splice(Math.floor(rnd() * pending.length), 1)[0]!;
        if (rnd() < 0.85) {
          live.set(d.id, book.add(d, now));
        } else {
          book.abandon(d);
          live.delete(d.id);
        }
      } else if (roll < 0.75) {
        const active = book.active();
        if (active.length) {
          const a = active[Math.floor(rnd() * active.length)]!;
          book.close(a.id, 'released', 'test', now);
          live.delete(a.id);
        }
      }
    }
    expect(refused).toBeGreaterThan(500);
    expect(granted).toBeGreaterThan(500);
    expect(new Set(book.active().map((l) => l.id))).toEqual(new Set([...live.values()].filter((l) => !pending.includes(l)).map((l) => l.id)));
  });

  it('gives each metered lease the lowest free meter id, reusing those of closed and abandoned leases', () => {
    const book = new LeaseBook();
    const remote = (k: number) => `198.51.100.${k}/32`;
    const drafts = [1, 2, 3, 4].map((k) => book.draft(req({ remote: remote(k), rateMbps: 10 }), 0));
    expect(drafts.map((d) => d.meterId)).toEqual([1, 2, 3, 4]);
    expect(book.draft(req({ remote: remote(9) }), 0).meterId).toBeUndefined();
    const recs = drafts.map((d) => book.add(d, 0));
    book.close(recs[2]!.id, 'released', 'x', 1);
    book.close(recs[0]!.id, 'released', 'x', 1);
    expect(book.metered().map((l) => l.meterId)).toEqual([2, 4]);
    const a = book.draft(req({ remote: remote(10), rateMbps: 10 }), 2);
    expect(a.meterId).toBe(1);
    book.abandon(a);
    expect(book.draft(req({ remote: remote(11), rateMbps: 10 }), 2).meterId).toBe(1);
    expect(book.draft(req({ remote: remote(12), rateMbps: 10 }), 2).meterId).toBe(3);
    expect(book.draft(req({ remote: remote(13), rateMbps: 10 }), 2).meterId).toBe(5);
    // After a restart: ids continue, the free ones below the highest are found again.
    const again = new LeaseBook();
    again.restore([{ ...recs[1]! }, { ...recs[3]! }], []);
    expect([1, 2].map((k) => again.draft(req({ remote: remote(20 + k), rateMbps: 10 }), 3).meterId)).toEqual([1, 3]);
    expect(again.draft(req({ remote: remote(30) }), 3).id).toBe(7); // ids continue after the highest restored (4)
  });

  it('keeps the 1000 most recently closed leases, every active one, and an overlap check free of closed ones', () => {
    const book = new LeaseBook();
    const recs = Array.from({ length: 1500 }, (_, i) => book.add(book.draft(req({ remote: `10.0.${i >> 8}.${i & 255}/32` }), 0), 0));
    for (const r of recs.slice(0, 1200)) book.close(r.id, 'expired', 'x', 1);
    expect(book.active()).toHaveLength(300);
    expect(book.leases.size).toBe(1300);
    expect(book.leases.has(recs[199]!.id)).toBe(false);
    expect(book.leases.has(recs[200]!.id)).toBe(true);
    // A closed lease's remote is free again; an active one's is not.
    expect(() => book.draft(req({ remote: '10.0.0.5/32' }), 2)).not.toThrow();
    expect(() => book.draft(req({ remote: '10.0.5.0/24' }), 2)).toThrow(/overlaps lease 1281 /);
  });
});

describe('min-heap', () => {
  it('pops in ascending order whatever the pushes', () => {
    const rnd = seeded(3);
    const h = new MinHeap();
    const ref: number[] = [];
    for (let i = 0; i < 5000; i++) {
      if (rnd() < 0.6 || ref.length === 0) {
        const v = Math.floor(rnd() * 300);
        h.push(v);
        ref.push(v);
      } else {
        ref.sort((a, b) => a - b);
        expect(h.pop()).toBe(ref.shift());
      }
      expect(h.size).toBe(ref.length);
    }
  });
});
