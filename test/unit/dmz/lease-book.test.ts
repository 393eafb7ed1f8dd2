// The lease book keeps records as the core's plans say: the 1000 most recently closed leases beside every active
// one. Meter ids are the core's: the lowest free, those of closed and refused leases given out again. And the
// min-heap the state view orders closed records with.
import { describe, expect, it } from 'vitest';
import { LeaseBook, zeroCounters } from '../../../apps/dmz/lease-book.js';
import { MinHeap } from '../../../apps/dmz/min-heap.js';
import type { LeaseRecord } from '../../../apps/dmz/records.js';
import { defaultSite } from '../../../apps/dmz/config.js';
import { parsePrefix } from '../../../apps/dmz/addresses.js';
import { decide } from '../../../apps/dmz/core/decide.js';
import { SYSTEM } from '../../../apps/dmz/core/commands.js';
import { initialState, leaseOf, type State } from '../../../apps/dmz/core/state.js';

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

const record = (id: number): LeaseRecord => ({
  id,
  project: 'p',
  dtn: 'dtn1',
  remote: `10.0.${id >> 8}.${id & 255}/32`,
  protocol: 'tcp',
  localPorts: [{ lo: 50000, hi: 50000 }],
  remotePorts: [{ lo: 0, hi: 65535 }],
  path: 'routed',
  start: 0,
  end: 60_000,
  rateMbps: undefined,
  meterId: undefined,
  state: 'active',
  createdAt: 0,
  closedAt: undefined,
  closeReason: undefined,
  counters: zeroCounters(),
});

describe('lease book', () => {
  it('keeps the 1000 most recently closed leases; active ones are read from where they live, not held', () => {
    const live = new Map<number, LeaseRecord>();
    const book = new LeaseBook({ record: (id) => live.get(id), records: () => [...live.values()], summaries: () => live.values() });
    for (let id = 1; id <= 1500; id++) live.set(id, record(id));
    for (let id = 1; id <= 1200; id++) {
      live.delete(id);
      book.closed({ ...record(id), state: 'expired', closedAt: 1, closeReason: 'x' });
    }
    expect(book.active()).toHaveLength(300);
    expect(book.leases()).toHaveLength(1300);
    expect(book.lease(200)).toBeUndefined();
    expect(book.lease(201)).toMatchObject({ state: 'expired', closedAt: 1, closeReason: 'x' });
    expect(book.lease(1201)).toBe(live.get(1201));
    expect(book.internalSizes()).toEqual({ blocks: 0, closedLeases: 1000 });
    // A list's page: highest ids first, of the state asked for, the total of all that match.
    const page = book.page(undefined, undefined, 299, 3);
    expect(page.total).toBe(1300);
    expect(page.leases.map((l) => l.id)).toEqual([1201, 1200, 1199]);
    expect(book.page('p', 'expired', 0, 2)).toMatchObject({ total: 1000, leases: [{ id: 1200 }, { id: 1199 }] });
    expect(book.page('p', 'active', 0, 1)).toMatchObject({ total: 300, leases: [{ id: 1500 }] });
    expect(book.page('other', undefined, 0, 10)).toEqual({ leases: [], total: 0 });
  });
});

describe('meter ids (the core)', () => {
  it('gives each metered lease the lowest free meter id, reusing those of closed and refused leases', () => {
    const site = defaultSite();
    let s: State = { ...initialState(site), up: new Set([site.switches[0]!.dpid]) };
    const ask = (k: number, rateMbps?: number): number | undefined => {
      const id = s.nextId.lease;
      const lease = {
        project: 'p',
        dtn: 'dtn1',
        remote: parsePrefix(`198.51.100.${k}/32`),
        protocol: 'tcp' as const,
        localPorts: [{ lo: 50000, hi: 50000 }],
        remotePorts: [{ lo: 0, hi: 65535 }],
        path: 'routed' as const,
        end: 60_000,
        ...(rateMbps !== undefined ? { rateMbps } : {}),
      };
      s = decide(s, { type: 'request', by: SYSTEM, lease }, 0).state;
      s = decide(s, { type: 'installed', id }, 0).state;
      return leaseOf(s, id)?.meterId;
    };
    expect([1, 2, 3, 4].map((k) => ask(k, 10))).toEqual([1, 2, 3, 4]);
    expect(ask(9)).toBeUndefined();
    for (const id of [3, 1]) s = decide(s, { type: 'release', by: SYSTEM, id, state: 'released', reason: 'x' }, 1).state;
    const id = s.nextId.lease;
    s = decide(s, { type: 'request', by: SYSTEM, lease: { ...leaseOf(s, 2)!, remote: parsePrefix('198.51.100.10/32'), rateMbps: 10 } }, 2).state;
    expect(leaseOf(s, id)?.meterId).toBe(1);
    s = decide(s, { type: 'install-failed', id, reason: 'refused' }, 2).state;
    expect([11, 12, 13].map((k) => ask(k, 10))).toEqual([1, 3, 5]);
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
