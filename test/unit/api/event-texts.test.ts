// The store holds an event's data as JSON text and makes the journal's and the stream's texts from it: they must
// be exactly what JSON.stringify of the event (journal, document) and of its wire form (stream) give.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openJournalStore as openStore } from '../../../api/state/journal-store.js';
import { eventText } from '../../../api/state/state-view.js';
import type { StoredEvent } from '../../../api/state/types.js';
import { addEvent } from './state-shorthand.js';
import { wireText } from '../../../api/events.js';

const dir = mkdtempSync(join(tmpdir(), 'dmzgate-event-texts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cases: [StoredEvent['type'], Record<string, unknown>, string | undefined][] = [
  [
    'lease.created',
    { transfer: { id: 7, project: 'astro', local_ports: ['5000-5010'], counters: { bytes_in: 0 }, note: 'quote " and \u00e9 and \u2028' } },
    'astro',
  ],
  ['switch.up', { switch: { dpid: '0000000000000001', name: 'sw1' } }, undefined],
  ['switch.down', {}, undefined],
  ['block.created', { block: { id: 3 }, skipped: undefined }, undefined],
  ['lease.closed', { id: 99, type: 'shadowed', at: 'x', transfer: { id: 1 } }, 'p'], // keys of the frame's own
];

describe('event texts', () => {
  it('journal text and wire text are what JSON.stringify gives, for every shape of data', async () => {
    const s = await openStore(join(dir, 'a'), { fsync: false });
    for (const [type, data, project] of cases) {
      const ev = addEvent(s, type, data, project, 1_764_000_000_123);
      const held = s.view.heldEventsSince(ev.id - 1)[0]!;
      expect(held.id).toBe(ev.id);
      expect(eventText(held)).toBe(JSON.stringify(ev));
      expect(wireText(held)).toBe(JSON.stringify({ id: ev.id, at: new Date(ev.at).toISOString(), type, ...data }));
      expect(s.view.eventsSince(ev.id - 1)).toEqual([JSON.parse(JSON.stringify(ev))]);
    }
    await s.close();
    // Read back from the document: the same events.
    const t = await openStore(join(dir, 'a'), { fsync: false });
    expect(t.view.eventsSince(0).map((e) => JSON.stringify(e))).toEqual(s.view.eventsSince(0).map((e) => JSON.stringify(e)));
    await t.close();
  });
});
