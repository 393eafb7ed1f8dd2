// The model checker the cluster's Jepsen-style test relies on (test/helpers/lease-history.ts): it must accept
// what a linearizable store may end in, and name each way a store can break it.
import { describe, expect, it } from 'vitest';
import { checkLeaseHistory, type FinalLease, type LeaseOp } from '../helpers/lease-history.js';

const E1 = '2026-12-07T07:00:00.000Z';
const E2 = '2026-12-07T07:30:00.000Z';
const lease = (id: number, port: number, state: string, end = E1): FinalLease => ({ id, port, state, end });

describe('checkLeaseHistory', () => {
  const history: LeaseOp[] = [
    { key: 1, kind: 'create', id: 10, end: E1, outcome: 'ok' },
    { key: 1, kind: 'extend', id: 10, end: E2, outcome: 'ok' },
    { key: 2, kind: 'create', id: 11, end: E1, outcome: 'ok' },
    { key: 2, kind: 'release', id: 11, outcome: 'ok' },
    { key: 2, kind: 'create', outcome: 'fail' },
    { key: 3, kind: 'create', id: 12, end: E1, outcome: 'ok' },
    { key: 3, kind: 'release', id: 12, outcome: 'unknown' },
    { key: 4, kind: 'create', outcome: 'unknown' },
  ];
  const good = [lease(10, 1, 'active', E2), lease(11, 2, 'released'), lease(12, 3, 'active')];

  it("accepts the states the acknowledged operations (and each key's unknown last one, or not) lead to", () => {
    expect(checkLeaseHistory(history, good)).toEqual([]);
    expect(checkLeaseHistory(history, [...good.slice(0, 2), lease(12, 3, 'released'), lease(13, 4, 'active')])).toEqual([]);
  });

  it('names a lost acknowledgement, an extension lost, a lease granted twice, and a lease from nowhere', () => {
    expect(checkLeaseHistory(history, good.slice(1)).join('\n')).toMatch(/acknowledged lease 10 is gone/);
    expect(checkLeaseHistory(history, [lease(10, 1, 'active', E1), ...good.slice(1)]).join('\n')).toMatch(/key 1: final/);
    expect(checkLeaseHistory(history, [...good, lease(14, 1, 'active')]).join('\n')).toMatch(/port 1: 2 active leases .* granted twice/);
    expect(checkLeaseHistory(history, [...good, lease(15, 2, 'active')]).join('\n')).toMatch(/key 2: leases 15 no acknowledged create/);
    expect(checkLeaseHistory(history, [...good.slice(0, 1), lease(11, 2, 'active'), good[2]!]).join('\n')).toMatch(/key 2: final/);
  });
});
