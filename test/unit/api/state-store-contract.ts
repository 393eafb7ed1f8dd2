// What every StateStore backend must do, as one suite run against each (state-store.test.ts): batches round
// trip through load(), each a revision above the last, resolving in the order they were made; subscribers get
// every batch after the revision they name, in order, then follow; a batch that cannot be applied changes
// nothing; and a batch is all there or not at all after a kill -9 mid-commit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommittedBatch, StateRecord, StateStore } from '../../../api/state/state-store.js';
import { StateView } from '../../../api/state/state-view.js';
import type { AuditEntry, StoredEvent, TokenRecord } from '../../../api/state/types.js';
import type { BlockRecord } from '../../../apps/dmz/records.js';
import { lease } from './state-shorthand.js';
import type { BackendUnderTest } from './state-backends.js';
import { compileChildren, runAndKill } from './kill-child.js';

/** As in fixtures/state-batch-hammer.ts. */
const WRITERS = 8;
const LEASES_PER_BATCH = 5;

const block = (id: number): BlockRecord => ({ id, prefix: '198.51.100.7/32', start: 1, reason: 'scan', state: 'active', project: 'ids' });
const token = (id: number): TokenRecord => ({
  id,
  hash: 'ab'.repeat(32),
  project: 'p',
  dtns: ['*'],
  remotes: ['0.0.0.0/0'],
  ports: ['1-2'],
  paths: ['*'],
  maxDurationSeconds: 60,
  scopes: ['admin'],
  createdAt: 1,
});
const audit = (id: number, action = 'x'): AuditEntry => ({ id, at: 1, actor: 'system', action, decision: 'done' });
const event = (id: number, data: Record<string, unknown> = {}): StoredEvent => ({ id, at: 1, type: 'switch.up', data });
const revisionOf = async (s: StateStore) => (await s.load()).revision;

export function stateStoreContract(backend: BackendUnderTest): void {
  describe(`StateStore contract: ${backend.name}`, () => {
    let root: string;
    let n = 0;
    const open: StateStore[] = [];
    const fresh = async (): Promise<{ dir: string; store: StateStore }> => {
      const dir = join(root, `s${++n}`);
      const store = await backend.open(dir);
      open.push(store);
      return { dir, store };
    };
    /** Closes `store` and opens what it left, as the next start would. */
    const reopen = async (store: StateStore, dir: string): Promise<StateStore> => {
      await store.close();
      const again = await backend.open(dir);
      open.push(again);
      return again;
    };
    beforeAll(() => {
      root = mkdtempSync(join(tmpdir(), `dmzgate-contract-${backend.name}-`));
    });
    afterAll(async () => {
      for (const s of open) await s.close().catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    });

    it('a batch of every kind of record round-trips through load(), at its revision, before and after a restart', async () => {
      const { dir, store } = await fresh();
      expect(await store.load()).toEqual({
        revision: 0,
        nextIds: { token: 1, event: 1, audit: 1 },
        tokens: [],
        leases: [],
        blocks: [],
        audit: [],
        events: [],
      });
      const { revision } = await store.commit([
        { kind: 'token.put', token: token(1) },
        { kind: 'token.put', token: token(2) },
        { kind: 'lease.put', lease: lease(7) },
        { kind: 'block.put', block: block(3) },
        { kind: 'audit.append', entry: audit(1) },
        { kind: 'event.append', event: event(1, { switch: { dpid: '1' } }) },
      ]);
      expect(revision).toBeGreaterThan(0);
      const more = await store.commit([
        { kind: 'token.revoke', id: 2, at: 5 },
        { kind: 'lease.put', lease: lease(7, 'released', 100) },
      ]);
      const expected = {
        revision: more.revision,
        nextIds: { token: 3, event: 2, audit: 2 },
        tokens: [token(1), { ...token(2), revokedAt: 5 }],
        leases: [lease(7, 'released', 100)],
        blocks: [block(3)],
        audit: [audit(1)],
        events: [event(1, { switch: { dpid: '1' } })],
      };
      expect(await store.load()).toEqual(expected);
      expect(await (await reopen(store, dir)).load()).toEqual(expected);
    });

    it('keeps its own copies: a record changed after its commit, or a snapshot changed after load(), changes nothing stored', async () => {
      const { store } = await fresh();
      const rec = lease(1);
      await store.commit([{ kind: 'lease.put', lease: rec }]);
      rec.counters.bytesIn = 99;
      (await store.load()).leases[0]!.state = 'expired';
      expect((await store.load()).leases).toEqual([lease(1)]);
    });

    it('each batch is a revision above the last; one that changes nothing gets none, and waits for those before it; none after close', async () => {
      const { dir, store } = await fresh();
      const revs: number[] = [];
      for (let i = 1; i <= 3; i++) revs.push((await store.commit([{ kind: 'lease.put', lease: lease(i) }])).revision);
      expect(revs[1]).toBeGreaterThan(revs[0]!);
      expect(revs[2]).toBeGreaterThan(revs[1]!);
      expect(await store.commit([])).toEqual({ revision: revs[2] });
      expect(await store.commit([{ kind: 'lease.put', lease: lease(3) }])).toEqual({ revision: revs[2] }); // as stored already
      const pending = store.commit([{ kind: 'lease.put', lease: lease(4) }]);
      const flushed = await store.commit([]);
      expect(flushed.revision).toBe((await pending).revision);
      const again = await reopen(store, dir);
      await expect(store.commit([{ kind: 'lease.put', lease: lease(6) }])).rejects.toThrow(); // closed
      expect(await revisionOf(again)).toBe(flushed.revision);
      expect((await again.commit([{ kind: 'lease.put', lease: lease(5) }])).revision).toBeGreaterThan(flushed.revision);
    });

    it('concurrent commits resolve in the order they were made, with increasing revisions, and load in that order', async () => {
      const { store } = await fresh();
      const made: Promise<{ revision: number }>[] = [];
      const resolved: number[] = [];
      for (let i = 1; i <= 60; i++) {
        const p = store.commit([
          { kind: 'audit.append', entry: audit(i, `a${i}`) },
          { kind: 'lease.put', lease: lease((i % 7) + 1, 'active', i) },
        ]);
        void p.then(() => resolved.push(i));
        made.push(p);
        if (i % 9 === 0) await new Promise((r) => setImmediate(r)); // some in later turns, while writes are under way
      }
      const revs = (await Promise.all(made)).map((r) => r.revision);
      await new Promise((r) => setImmediate(r));
      expect(resolved).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      for (let i = 1; i < revs.length; i++) expect(revs[i], `commit ${i + 1}`).toBeGreaterThan(revs[i - 1]!);
      const snap = await store.load();
      expect(snap.revision).toBe(revs.at(-1));
      expect(snap.audit.map((a) => a.action)).toEqual(Array.from({ length: 60 }, (_, i) => `a${i + 1}`));
      expect(snap.leases.find((l) => l.id === (60 % 7) + 1)!.counters.bytesIn).toBe(60); // the last put of that lease
    });

    it('subscribe replays the batches after a revision, in order, then follows new ones; unsubscribed, it stops', async () => {
      const { store } = await fresh();
      const batches: StateRecord[][] = [1, 2, 3].map((i) => [
        { kind: 'lease.put', lease: lease(i) },
        { kind: 'event.append', event: event(i, { n: i }) },
      ]);
      const revs: number[] = [];
      for (const b of batches) revs.push((await store.commit(b)).revision);
      const got: CommittedBatch[] = [];
      const stop = store.subscribe(revs[0]!, (b) => got.push(b));
      await new Promise((r) => setImmediate(r));
      expect(got.map((b) => b.revision)).toEqual(revs.slice(1));
      expect(got.map((b) => b.records)).toEqual(batches.slice(1));
      const next: StateRecord[] = [
        { kind: 'audit.append', entry: audit(1) },
        { kind: 'block.put', block: block(1) },
      ];
      const seenBeforeResolve = store.commit(next).then(({ revision }) => got.some((b) => b.revision === revision));
      expect(await seenBeforeResolve).toBe(true); // a subscriber hears of a batch no later than its committer
      expect(got.at(-1)!.records).toEqual(next);
      const fromNow: number[] = [];
      const stopNow = store.subscribe(await revisionOf(store), (b) => fromNow.push(b.revision));
      stop();
      const last = await store.commit([{ kind: 'lease.put', lease: lease(9) }]);
      expect(fromNow).toEqual([last.revision]);
      expect(got.map((b) => b.revision)).not.toContain(last.revision);
      stopNow();
      const all = got.map((b) => b.revision);
      for (let i = 1; i < all.length; i++) expect(all[i]).toBeGreaterThan(all[i - 1]!);
    });

    it('a StateView made from load() and fed by subscribe holds what load() says (a replica following the store)', async () => {
      const { store } = await fresh();
      await store.commit([
        { kind: 'token.put', token: token(1) },
        { kind: 'audit.append', entry: audit(1) },
      ]);
      const snap = await store.load();
      const replica = new StateView(snap);
      let revision = snap.revision;
      store.subscribe(snap.revision, (b) => {
        replica.applyBatch(b.records);
        revision = b.revision;
      });
      await store.commit([
        { kind: 'lease.put', lease: lease(1) },
        { kind: 'event.append', event: event(1) },
      ]);
      await store.commit([
        { kind: 'token.revoke', id: 1, at: 9 },
        { kind: 'block.put', block: block(2) },
        { kind: 'audit.append', entry: audit(2) },
      ]);
      await store.commit([{ kind: 'lease.put', lease: lease(1, 'released', 50) }]);
      expect(replica.snapshot(revision)).toEqual(await store.load());
    });

    it('after a restart, subscribing from an older revision replays every batch since, or throws: never a silent gap', async () => {
      const { dir, store } = await fresh();
      for (let i = 1; i <= 3; i++) await store.commit([{ kind: 'lease.put', lease: lease(i) }]);
      const again = await reopen(store, dir);
      const seen: number[] = [];
      let threw = false;
      try {
        again.subscribe(0, (b) => seen.push(b.revision));
      } catch {
        threw = true;
      }
      await new Promise((r) => setImmediate(r));
      if (!threw) expect(seen).toHaveLength(3);
    });

    it('a batch that cannot be applied (appends out of id order) is refused whole and changes nothing', async () => {
      const { store } = await fresh();
      await store.commit([
        { kind: 'audit.append', entry: audit(5) },
        { kind: 'event.append', event: event(5) },
      ]);
      const before = await store.load();
      await expect(
        store.commit([
          { kind: 'lease.put', lease: lease(1) },
          { kind: 'audit.append', entry: audit(5) },
        ]),
      ).rejects.toThrow(/audit entry 5/);
      await expect(
        store.commit([
          { kind: 'event.append', event: event(7) },
          { kind: 'event.append', event: event(6) },
        ]),
      ).rejects.toThrow(/event 6/);
      expect(await store.load()).toEqual(before);
    });

    describe('under kill -9', () => {
      let children: ReturnType<typeof compileChildren>;
      beforeAll(() => {
        children = compileChildren('contract', ['test/unit/api/fixtures/state-batch-hammer.ts']);
      });
      afterAll(() => children.remove());

      /** Starts the hammer on `dir`, kills it at a random instant once it writes; the newest version each writer acknowledged. */
      async function hammerAndKill(dir: string, round: number): Promise<Map<number, number>> {
        const lines = await runAndKill(join(children.build, 'test/unit/api/fixtures/state-batch-hammer.js'), [backend.name, dir, String(round)], 250);
        const acked = new Map<number, number>();
        for (const l of lines) {
          const [, w, v] = l.split(' ');
          acked.set(Number(w), Math.max(acked.get(Number(w)) ?? -1, Number(v)));
        }
        return acked;
      }

      it('every batch is all there or not at all after a restart, and every acknowledged one is there', async () => {
        const dir = join(root, 'killed');
        let acks = 0;
        for (let round = 0; round < 8; round++) {
          const acked = await hammerAndKill(dir, round);
          acks += [...acked.values()].reduce((sum, v) => sum + (v % 1_000_000) + 1, 0);
          const store = await backend.open(dir);
          const snap = await store.load();
          for (let w = 0; w < WRITERS; w++) {
            // The batch's five leases at one version, and the audit entry and the event of that version the newest of this writer's.
            const versions = new Set(snap.leases.filter((l) => l.id > w * 10 && l.id <= w * 10 + LEASES_PER_BATCH).map((l) => l.counters.bytesIn));
            const lastAudit = snap.audit.filter((a) => a.actor === `w${w}`).at(-1)?.details?.v;
            const lastEvent = snap.events.filter((e) => e.data.w === w).at(-1)?.data.v;
            if (lastAudit === undefined) {
              expect(versions.size, `round ${round} writer ${w}: leases without their batch's audit entry`).toBe(0);
              continue;
            }
            expect([...versions], `round ${round} writer ${w}: a batch split`).toEqual([lastAudit]);
            expect(lastEvent, `round ${round} writer ${w}: a batch split`).toBe(lastAudit);
            if (acked.has(w))
              expect(lastAudit as number, `round ${round} writer ${w}: acknowledged, not there`).toBeGreaterThanOrEqual(acked.get(w)!);
          }
          await store.close();
        }
        // (runAndKill kills each child after its first acknowledged batch: every round has one at least)
        console.log(`${backend.name}: ${acks} batches acknowledged over 8 kills; every batch whole or absent`);
      }, 60_000);
    });
  });
}
