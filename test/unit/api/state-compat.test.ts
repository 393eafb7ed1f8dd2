// A data directory written before revisions existed (test/fixtures/state-before-revisions: a document and a
// journal from the old api/store.ts) loads whole, at the revision of its last record, and takes new commits.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openJournalStore, readState, STATE_FILE } from '../../../api/state/journal-store.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'state-before-revisions');
const dir = mkdtempSync(join(tmpdir(), 'dmzgate-state-compat-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a data directory from before revisions', () => {
  it('loads every record, the journal replayed over the document, at the revision of its last record', async () => {
    const d = join(dir, 'a');
    cpSync(FIXTURE, d, { recursive: true });
    const s = await openJournalStore(d, { fsync: false });
    const snap = await s.load();
    expect(snap.revision).toBe(3);
    expect(snap.nextIds).toEqual({ token: 3, event: 7, audit: 6 });
    expect(snap.tokens.map((t) => [t.id, t.project, t.revokedAt])).toEqual([
      [1, 'operators', undefined],
      [2, 'astro', 1_764_000_400_000],
    ]);
    expect(snap.leases.map((l) => [l.id, l.state, l.counters.bytesIn])).toEqual([
      [1, 'released', 123_000],
      [2, 'active', 55_000],
      [3, 'active', 0],
      [4, 'active', 0],
    ]);
    expect(snap.leases[1]).toMatchObject({ rateMbps: 100, meterId: 1, localPorts: [{ lo: 50000, hi: 50010 }] });
    expect(snap.blocks.map((b) => [b.id, b.state])).toEqual([
      [1, 'active'],
      [2, 'expired'],
    ]);
    expect(snap.blocks[1]).toMatchObject({ protocol: 'udp', ports: [{ lo: 53, hi: 53 }], end: 1_764_000_200_000 });
    expect(snap.audit.map((a) => [a.id, a.action])).toEqual([
      [1, 'transfer.create'],
      [2, 'transfer.create'],
      [3, 'transfer.create'],
      [4, 'transfer.create'],
      [5, 'transfer.release'],
    ]);
    expect(snap.events.map((e) => [e.id, e.type])).toEqual([
      [1, 'lease.created'],
      [2, 'lease.created'],
      [3, 'lease.created'],
      [4, 'lease.created'],
      [5, 'lease.closed'],
      [6, 'switch.down'],
    ]);
    expect(s.view.token(2)?.revokedAt).toBe(1_764_000_400_000);
    expect(s.view.eventsSince(4).map((e) => e.data)).toEqual([
      { transfer: { id: 1, state: 'released' } },
      { switch: { dpid: '0000000000000001', reason: 'echo timeout' } },
    ]);

    // New commits continue it: the next revision, the next ids; then a restart, and a fold at close.
    const entry = s.view.newAudit({ actor: 'system', action: 'probe', decision: 'done' });
    expect(entry.id).toBe(6);
    expect(
      await s.commit([
        { kind: 'lease.put', lease: { ...snap.leases[2]!, state: 'expired' } },
        { kind: 'audit.append', entry },
      ]),
    ).toEqual({ revision: 4 });
    const t = await openJournalStore(d, { fsync: false });
    expect((await t.load()).revision).toBe(4);
    expect(t.view.lease(3)?.state).toBe('expired');
    await t.close();
    expect(JSON.parse(readFileSync(join(d, STATE_FILE), 'utf8'))).toMatchObject({ version: 1, seq: 4, rev: 4 });
    const u = await openJournalStore(d, { fsync: false });
    const again = await u.load();
    expect(again.revision).toBe(4);
    expect(again.audit.map((a) => a.id)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await readState(d)).toMatchObject({ seq: 4, rev: 4, nextIds: { token: 3, event: 7, audit: 7 } });
    await u.close(); // (s is left as a crash would leave it)
  });
});
