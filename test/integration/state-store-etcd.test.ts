// The StateStore contract (test/unit/api/state-store-contract.ts) against the etcd backend, on a private etcd
// (lab/private-etcd.ts); and what durability means there: an acknowledged commit survives the etcd member's
// kill -9 and restart. And the group commit: batches committed while a transaction is under way share the next.
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEtcdStore } from '../../api/state/etcd-store.js';
import type { LeaseRecord } from '../../apps/dmz/records.js';
import { PrivateEtcd } from '../../lab/private-etcd.js';
import { BACKENDS, ETCD_ENDPOINTS_ENV } from '../unit/api/state-backends.js';
import { stateStoreContract } from '../unit/api/state-store-contract.js';

const etcd = new PrivateEtcd({ members: 1 });
beforeAll(async () => {
  await etcd.start();
  process.env[ETCD_ENDPOINTS_ENV] = etcd.endpoints.join(','); // the kill -9 children inherit it
});
afterAll(async () => {
  delete process.env[ETCD_ENDPOINTS_ENV];
  await etcd.stop();
});

stateStoreContract(BACKENDS.etcd!);

const lease = (id: number, bytesIn: number): LeaseRecord => ({
  id,
  project: 'p',
  dtn: 'dtn1',
  remote: '192.0.2.0/24',
  protocol: 'tcp',
  localPorts: [{ lo: 1, hi: 2 }],
  remotePorts: [{ lo: 0, hi: 65535 }],
  path: 'routed',
  start: 1,
  end: 2,
  state: 'active',
  createdAt: 1,
  counters: { packetsIn: 0, bytesIn, packetsOut: 0, bytesOut: 0 },
});

/** `p`, or a failure naming `what` if it has not settled within 15 s. */
async function within<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not settled within 15 s`)), 15_000);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('etcd backend', () => {
  it('an acknowledged commit survives kill -9 of the etcd member and its restart', async () => {
    const prefix = '/dmzgate/kill9/';
    const store = await openEtcdStore({ hosts: etcd.endpoints, prefix });
    const acked: Promise<{ revision: number }>[] = [];
    for (let i = 1; i <= 20; i++) acked.push(store.commit([{ kind: 'lease.put', lease: lease(i, i) }]));
    const last = (await Promise.all(acked)).at(-1)!.revision;
    const pid = etcd.pid(0)!;
    await etcd.kill(0);
    expect(() => process.kill(pid, 0)).toThrow(); // gone
    await store.close().catch(() => undefined);
    await etcd.restart(0);
    const again = await openEtcdStore({ hosts: etcd.endpoints, prefix });
    const snap = await again.load();
    expect(snap.revision).toBe(last);
    expect(snap.leases.map((l) => l.counters.bytesIn)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await again.close();
  });

  it('two writers: each follows the other through its watch; of two commits on one revision, one is refused', async () => {
    const prefix = '/dmzgate/fence/';
    // Each step bounded: one full-suite run here hung in this test until its 60 s timeout, and did not say where.
    const a = await within('opening store a', openEtcdStore({ hosts: etcd.endpoints, prefix }));
    await within("a's first commit", a.commit([{ kind: 'lease.put', lease: lease(1, 1) }]));
    const b = await within('opening store b', openEtcdStore({ hosts: etcd.endpoints, prefix }));
    const seen: number[] = [];
    a.subscribe((await within("a's load", a.load())).revision, (batch) => seen.push(batch.revision));
    const { revision } = await within("b's commit", b.commit([{ kind: 'lease.put', lease: lease(2, 2) }]));
    await expect.poll(() => a.view.lease(2)?.counters.bytesIn).toBe(2); // a follows b's batch through its watch
    expect(seen).toEqual([revision]);
    // Both write at once on the same revision: etcd takes one transaction; the other compares stale and is refused.
    const outcomes = await within(
      'the two commits at once',
      Promise.allSettled([a.commit([{ kind: 'lease.put', lease: lease(3, 30) }]), b.commit([{ kind: 'lease.put', lease: lease(3, 31) }])]),
    );
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = outcomes.findIndex((o) => o.status === 'rejected');
    expect((outcomes[refused] as PromiseRejectedResult).reason.message).toMatch(/another writer committed/);
    const leases = (await within("b's load", b.load())).leases;
    expect(leases.find((l) => l.id === 3)!.counters.bytesIn).toBe(refused === 0 ? 31 : 30);
    await expect(within("the refused store's next commit", [a, b][refused]!.commit([{ kind: 'lease.put', lease: lease(4, 4) }]))).rejects.toThrow(
      /another writer/,
    ); // stale until reopened
    await within('closing a', a.close());
    await within('closing b', b.close());
  });

  it('retention: what the caps drop from the view is deleted from etcd in the same transaction', async () => {
    const prefix = '/dmzgate/retention/';
    const caps = { maxEvents: 8, maxAudit: 8, maxClosed: 4 };
    const store = await openEtcdStore({ hosts: etcd.endpoints, prefix, ...caps });
    const follower = await openEtcdStore({ hosts: etcd.endpoints, prefix, ...caps });
    let revision = 0;
    for (let i = 1; i <= 40; i++) {
      ({ revision } = await store.commit([
        { kind: 'lease.put', lease: { ...lease(i, i), state: 'released' } },
        { kind: 'audit.append', entry: { id: i, at: 1, actor: 'system', action: 'x', decision: 'done' } },
        { kind: 'event.append', event: { id: i, at: 1, type: 'switch.up', data: { i } } },
      ]));
    }
    const snap = await store.load();
    expect(snap).toEqual(store.view.snapshot(revision));
    expect(snap.events.length).toBeLessThanOrEqual(9); // the view drops in steps, an eighth over the cap
    expect(snap.audit.length).toBeLessThanOrEqual(9);
    expect(snap.leases.length).toBeLessThanOrEqual(5);
    expect(snap.events.at(-1)!.id).toBe(40);
    // A follower (another store on the prefix, fed by its watch) keeps the same caps.
    await expect.poll(() => follower.view.lastEventId).toBe(40);
    expect(follower.view.snapshot(revision)).toEqual(snap);
    await follower.close();
    await store.close();
    const again = await openEtcdStore({ hosts: etcd.endpoints, prefix, ...caps });
    expect(await again.load()).toEqual(snap);
    await again.close();
  });

  /** The cluster's etcd revision: it rises by one per transaction, so its rise counts the transactions sent. */
  const etcdRevision = async (): Promise<number> => {
    const client = new Etcd3({ hosts: etcd.endpoints });
    try {
      return Number((await client.get('/nothing').exec()).header.revision);
    } finally {
      client.close();
    }
  };

  it('batches committed while a transaction is under way go together in one, each with a revision of its own', async () => {
    const prefix = '/dmzgate/group/';
    const store = await openEtcdStore({ hosts: etcd.endpoints, prefix });
    const follower = await openEtcdStore({ hosts: etcd.endpoints, prefix });
    const followed: { revision: number; id: number }[] = [];
    follower.subscribe((await follower.load()).revision, (b) =>
      followed.push({ revision: b.revision, id: (b.records[0] as { lease: { id: number } }).lease.id }),
    );
    const before = await etcdRevision();
    const revisions = await Promise.all(Array.from({ length: 50 }, (_, i) => store.commit([{ kind: 'lease.put', lease: lease(i + 1, i) }])));
    const sent = (await etcdRevision()) - before;
    expect(sent).toBeLessThan(25); // one transaction each before groups: 50
    const revs = revisions.map((r) => r.revision);
    expect(revs).toEqual([...revs].sort((a, b) => a - b));
    expect(new Set(revs).size).toBe(50);
    // Another store sees every batch, in order, each at the revision its commit got.
    await expect.poll(() => followed.length).toBe(50);
    expect(followed).toEqual(revs.map((revision, i) => ({ revision, id: i + 1 })));
    const snap = await store.load();
    expect(snap.revision).toBe(revs.at(-1));
    expect(snap).toEqual(follower.view.snapshot(snap.revision));
    // Reopened, its next batch gets a revision above the last.
    await follower.close();
    await store.close();
    const again = await openEtcdStore({ hosts: etcd.endpoints, prefix });
    expect((await again.commit([{ kind: 'lease.put', lease: lease(51, 51) }])).revision).toBeGreaterThan(revs.at(-1)!);
    await again.close();
  });

  it('a group keeps within maxTxnOps: batches of 3 puts with 8 operations allowed go two to a transaction', async () => {
    const store = await openEtcdStore({ hosts: etcd.endpoints, prefix: '/dmzgate/group-ops/', maxTxnOps: 8 });
    const before = await etcdRevision();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        store.commit([
          { kind: 'lease.put', lease: lease(i + 1, i) },
          { kind: 'audit.append', entry: { id: i + 1, at: 1, actor: 'system', action: 'x', decision: 'done' } },
          { kind: 'event.append', event: { id: i + 1, at: 1, type: 'switch.up', data: {} } },
        ]),
      ),
    );
    const sent = (await etcdRevision()) - before;
    // 3 + 3 + meta + batch = 8: at most two a transaction (the first goes alone, as nothing was under way).
    expect(sent).toBeGreaterThanOrEqual(20);
    expect(sent).toBeLessThan(40);
    await store.close();
  });

  it('a group whose batches put one key twice, or put what a later batch prunes, is one valid transaction', async () => {
    const prefix = '/dmzgate/group-overlap/';
    const caps = { maxEvents: 4, maxAudit: 4, maxClosed: 2 };
    const store = await openEtcdStore({ hosts: etcd.endpoints, prefix, ...caps });
    const commits = [];
    for (let i = 1; i <= 60; i++) {
      commits.push(
        store.commit([
          { kind: 'lease.put', lease: lease(1, i) }, // the same key in every batch
          { kind: 'lease.put', lease: { ...lease(100 + i, i), state: 'released' } }, // ended: pruned by later batches
          { kind: 'audit.append', entry: { id: i, at: 1, actor: 'system', action: 'x', decision: 'done' } },
          { kind: 'event.append', event: { id: i, at: 1, type: 'switch.up', data: { i } } },
        ]),
      );
    }
    const last = (await Promise.all(commits)).at(-1)!.revision;
    const snap = await store.load();
    expect(snap).toEqual(store.view.snapshot(last));
    expect(snap.leases.find((l) => l.id === 1)!.counters.bytesIn).toBe(60);
    expect(snap.events.at(-1)!.id).toBe(60);
    await store.close();
  });

  it("a commit with maxDelayMs rides in the next commit's transaction, or goes alone once its delay is over", async () => {
    const store = await openEtcdStore({ hosts: etcd.endpoints, prefix: '/dmzgate/ride/' });
    await store.commit([{ kind: 'lease.put', lease: lease(1, 1) }]);
    const before = await etcdRevision();
    let rode = false;
    const ride = store.commit([{ kind: 'event.append', event: { id: 1, at: 1, type: 'switch.up', data: {} } }], { maxDelayMs: 10_000 });
    void ride.then(() => (rode = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(rode).toBe(false);
    const [a, b] = await Promise.all([ride, store.commit([{ kind: 'lease.put', lease: lease(2, 2) }])]);
    expect(b.revision).toBeGreaterThan(a.revision);
    expect((await etcdRevision()) - before).toBe(1); // one transaction for both
    const alone = await store.commit([{ kind: 'event.append', event: { id: 2, at: 1, type: 'switch.up', data: {} } }], { maxDelayMs: 30 });
    expect(alone.revision).toBeGreaterThan(b.revision);
    expect((await etcdRevision()) - before).toBe(2);
    await store.close();
  });
});
