// The state's persistent rule store and its indexes against plain scans: random edits, every version checked
// (an old version must read as it did before the edits that followed it).
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { parsePrefix, prefixesOverlap, type Prefix } from '../../../../apps/dmz/addresses.js';
import { IdMap } from '../../../../apps/dmz/core/id-map.js';
import { trieAdd, trieDelete, trieOverlapping, type PrefixTrie } from '../../../../apps/dmz/core/prefix-trie.js';
import { defaultSite } from '../../../../apps/dmz/config.js';
import { decide } from '../../../../apps/dmz/core/decide.js';
import { flowsInUse } from '../../../../apps/dmz/core/budgets.js';
import { initialState, rulesOf, type State } from '../../../../apps/dmz/core/state.js';

const lowestFree = (m: Map<number, unknown>): number => {
  let k = 0;
  while (m.has(k)) k++;
  return k;
};

describe('IdMap', () => {
  it('reads as a Map after any edits, and every older version as it was', () => {
    const op = fc.record({ del: fc.boolean(), key: fc.oneof(fc.nat(40), fc.nat(3000), fc.nat(70_000)) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        let m = IdMap.empty<number>();
        const ref = new Map<number, number>();
        const versions: [IdMap<number>, Map<number, number>][] = [];
        ops.forEach(({ del, key }, i) => {
          if (del) {
            m = m.delete(key);
            ref.delete(key);
          } else {
            m = m.set(key, i);
            ref.set(key, i);
          }
          versions.push([m, new Map(ref)]);
        });
        for (const [v, r] of versions) {
          expect(v.size).toBe(r.size);
          expect([...v.entries()]).toEqual([...r].sort((a, b) => a[0] - b[0]));
          expect(v.lowestFree()).toBe(lowestFree(r));
          for (const k of r.keys()) expect(v.get(k)).toBe(r.get(k));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('finds the lowest free key past full subtrees', () => {
    let m = IdMap.empty<true>();
    for (let k = 0; k < 2000; k++) m = m.set(k, true);
    expect(m.lowestFree()).toBe(2000);
    expect(m.delete(1057).lowestFree()).toBe(1057);
    expect(m.lowestFree()).toBe(2000);
  });
});

describe('prefix trie', () => {
  // Prefixes crowded into a few addresses, so that they contain one another often.
  const v4 = fc.tuple(fc.nat(255), fc.integer({ min: 20, max: 32 })).map(([host, len]) => parsePrefix(`10.0.${host >> 4}.${host}/${len}`));
  const v6 = fc.tuple(fc.nat(255), fc.integer({ min: 116, max: 128 })).map(([host, len]) => parsePrefix(`2001:db8::${host.toString(16)}/${len}`));
  const prefix = fc.oneof(v4, v4, v6);

  it('gives the ids of exactly the prefixes that overlap, after adds and deletes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(prefix, fc.boolean()), { maxLength: 120 }), fc.array(prefix, { maxLength: 20 }), (ops, queries) => {
        const tries = new Map<number, PrefixTrie>();
        const live = new Map<number, Prefix>();
        const versions: [Map<number, PrefixTrie>, Map<number, Prefix>][] = [];
        ops.forEach(([p, del], id) => {
          const victim = del ? [...live.keys()][id % Math.max(1, live.size)] : undefined;
          if (victim !== undefined) {
            const q = live.get(victim)!;
            tries.set(q.family, trieDelete(tries.get(q.family), q, victim));
            live.delete(victim);
          } else {
            tries.set(p.family, trieAdd(tries.get(p.family), p, id));
            live.set(id, p);
          }
          versions.push([new Map(tries), new Map(live)]);
        });
        for (const [t, l] of versions) {
          for (const q of queries) {
            const want = [...l].filter(([, p]) => prefixesOverlap(p, q)).map(([id]) => id);
            expect(trieOverlapping(t.get(q.family), q).sort((a, b) => a - b)).toEqual(want.sort((a, b) => a - b));
          }
        }
      }),
      { numRuns: 80 },
    );
  });
});

describe('the rules indexes', () => {
  it('agree with a scan of the rules through requests and releases', () => {
    const site = defaultSite();
    const dpid = site.switches[0]!.dpid;
    const now = Date.UTC(2026, 0, 1);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(30), fc.boolean(), fc.boolean()), { maxLength: 60 }), (ops) => {
        let s: State = decide(initialState(site), { type: 'switch-up', dpid }, now).state;
        for (const [n, release, rated] of ops) {
          const live = [...rulesOf(s, 'lease')];
          if (release && live.length) {
            const id = live[n % live.length]!.id;
            s = decide(s, { type: 'release', by: { actor: 'token:1' }, id, state: 'released', reason: 'test' }, now).state;
            continue;
          }
          const lease = {
            project: 'p',
            dtn: 'dtn1',
            remote: parsePrefix(`198.18.0.${n}`),
            protocol: 'tcp' as const,
            localPorts: [{ lo: 50000, hi: 50000 }],
            remotePorts: [{ lo: 0, hi: 65535 }],
            path: 'routed' as const,
            end: now + 60_000,
            ...(rated ? { rateMbps: 10 } : {}),
          };
          const d = decide(s, { type: 'request', by: { actor: 'token:1' }, lease }, now);
          s = d.plan.refused ? d.state : decide(d.state, { type: 'installed', id: s.nextId.lease }, now).state;
        }
        const leases = [...rulesOf(s, 'lease')];
        expect(flowsInUse(s, dpid)).toBe(leases.reduce((sum, l) => sum + l.flows, 0));
        expect(s.rules.rateOnPath('routed')).toBeCloseTo(leases.reduce((sum, l) => sum + (l.rateMbps ?? 0), 0));
        const meters = new Set(leases.map((l) => l.meterId));
        let free = 1;
        while (meters.has(free)) free++;
        expect(s.rules.freeMeterId()).toBe(free);
      }),
      { numRuns: 40 },
    );
  });
});
