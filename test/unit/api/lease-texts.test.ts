// The state view holds a lease as its JSON text, less the counters member it can spell again from the counters
// it keeps: the text it gives back must be exactly what JSON.stringify of the record gives, whatever its shape.
import { describe, expect, it } from 'vitest';
import { HeldLease } from '../../../api/state/state-view.js';
import type { LeaseRecord } from '../../../apps/dmz/records.js';

const base: LeaseRecord = {
  id: 7,
  project: 'astro "quoted" \u00e9',
  dtn: 'dtn1',
  remote: '198.51.100.0/24',
  protocol: 'tcp',
  localPorts: [{ lo: 50000, hi: 50010 }],
  remotePorts: [{ lo: 0, hi: 65535 }],
  path: 'routed',
  start: 1_700_000_000_000,
  end: 1_700_003_600_000,
  state: 'active',
  createdAt: 1_700_000_000_000,
  counters: { packetsIn: 3, bytesIn: 4500, packetsOut: 2, bytesOut: 9_007_199_254_740_000 },
};

const { counters: baseCounters, ...beforeCounters } = base;

const shapes: [string, LeaseRecord][] = [
  ['counters last', base],
  ['counters not last', { ...base, closedAt: 5, closeReason: 'released' }],
  ['counters last after an undefined member', { ...beforeCounters, closeReason: undefined, counters: baseCounters }],
  ['counters before an undefined member', { ...base, closeReason: undefined }],
  ['counters in another order', { ...base, counters: { bytesIn: 1, packetsIn: 2, packetsOut: 0, bytesOut: 0 } }],
  ['a counter missing', { ...base, counters: { packetsIn: 1, bytesIn: 2, packetsOut: 3 } as LeaseRecord['counters'] }],
  ['a counter extra', { ...base, counters: { ...base.counters, drops: 1 } as LeaseRecord['counters'] }],
  ['a counter not a number', { ...base, counters: { ...base.counters, bytesOut: '5' } as unknown as LeaseRecord['counters'] }],
  ['no counters', { ...base, counters: undefined } as unknown as LeaseRecord],
];

describe('held lease texts', () => {
  it.each(shapes)('%s: the text is what JSON.stringify gives', (_, l) => {
    expect(new HeldLease(l).text).toBe(JSON.stringify(l));
  });

  it('two holds of a record have the same text; a moved counter or a changed member does not', () => {
    for (const [, l] of shapes) expect(new HeldLease(l).sameText(new HeldLease(structuredClone(l)))).toBe(true);
    const held = new HeldLease(base);
    expect(held.sameText(new HeldLease({ ...base, counters: { ...base.counters, bytesIn: 4501 } }))).toBe(false);
    expect(held.sameText(new HeldLease({ ...base, state: 'released' }))).toBe(false);
    expect(held.sameText(new HeldLease({ ...base, closedAt: 5 }))).toBe(false);
    expect(held.sameText(new HeldLease({ ...beforeCounters, closedAt: 5, counters: baseCounters }))).toBe(false);
  });
});
