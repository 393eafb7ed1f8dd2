// Leader election on a private 3-member etcd (api/cluster/leader-election.ts): one leader among candidates, a
// generation id that rises with every term, a leader busy for longer than the TTL that keeps the lead, a leader
// cut off from etcd that steps down within its lease's TTL, and the fence: a deposed leader's store commit is
// refused by etcd, even when it does not know it was deposed.
import type { Worker } from 'node:worker_threads';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaderElection, NotLeaderError, type LeaderInfo } from '../../api/cluster/leader-election.js';
import { openEtcdStore } from '../../api/state/etcd-store.js';
import { PrivateEtcd } from '../../lab/private-etcd.js';

const etcd = new PrivateEtcd({ members: 3 });
beforeAll(() => etcd.start(), 60_000);
afterAll(() => etcd.stop());

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until `n` candidates have their key under `dir`. */
async function candidates(dir: string, client: Etcd3, n: number, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const have = (await client.getAll().prefix(dir).keys()).length;
    if (have === n) return;
    if (Date.now() > deadline) throw new Error(`${have} candidates under ${dir}, not ${n}, after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Candidate {
  name: string;
  client: Etcd3;
  election: LeaderElection;
  elected: LeaderInfo[];
  deposed: { at: number; why: string }[];
}

function candidate(name: string, dir: string, hosts: string[]): Candidate {
  const client = new Etcd3({ hosts, dialTimeout: 2000, grpcOptions: { 'grpc.use_local_subchannel_pool': 1 } });
  const election = new LeaderElection({ client, hosts, dir, name, url: `http://${name}.example:8443` });
  const c: Candidate = { name, client, election, elected: [], deposed: [] };
  election.on('elected', (t) => c.elected.push(t));
  election.on('deposed', (why) => c.deposed.push({ at: Date.now(), why }));
  return c;
}

async function closeAll(cs: Candidate[]): Promise<void> {
  for (const c of cs) {
    await c.election.close();
    c.client.close();
  }
}

describe('leader election on etcd', () => {
  it('one leader among three; all agree on it; the next term gets a higher generation id', async () => {
    const cs = ['a', 'b', 'c'].map((n) => candidate(n, '/dmzgate-leader/election-1/', etcd.endpoints));
    try {
      await Promise.all(cs.map((c) => c.election.start()));
      await until('a leader', () => cs.some((c) => c.election.isLeader));
      await until('everyone sees it', () => cs.every((c) => c.election.leader !== undefined));
      const leaders = cs.filter((c) => c.election.isLeader);
      expect(leaders).toHaveLength(1);
      const first = leaders[0]!;
      for (const c of cs) expect(c.election.leader).toMatchObject({ name: first.name, url: `http://${first.name}.example:8443` });
      const gen1 = first.election.fence().createRevision;
      expect(first.election.leader!.generation).toBe(gen1);
      for (const c of cs) if (c !== first) expect(() => c.election.fence()).toThrow(NotLeaderError);

      await first.election.close();
      const rest = cs.filter((c) => c !== first);
      await until('a new leader', () => rest.some((c) => c.election.isLeader), 5_000);
      const second = rest.find((c) => c.election.isLeader)!;
      expect(second.election.fence().createRevision).toBeGreaterThan(gen1);
      expect(rest.filter((c) => c.election.isLeader)).toHaveLength(1);
    } finally {
      await closeAll(cs);
    }
  }, 30_000);

  it('a leader whose main thread is busy for longer than its TTL keeps the lead: its lease is kept on another thread', async () => {
    const cs = ['a', 'b'].map((n) => candidate(n, '/dmzgate-leader/election-3/', etcd.endpoints));
    try {
      await cs[0]!.election.start();
      await until('a leads', () => cs[0]!.election.isLeader);
      await cs[1]!.election.start();
      await until('b sees a lead', () => cs[1]!.election.leader?.name === 'a');
      const term = cs[0]!.election.fence();
      // 3 s of synchronous work (a 2 s TTL): no timer, no socket of this thread runs meanwhile.
      const end = Date.now() + 3_000;
      while (Date.now() < end);
      expect(cs[0]!.election.isLeader).toBe(true);
      await new Promise((r) => setTimeout(r, 500));
      expect(cs[0]!.deposed).toEqual([]);
      expect(cs[0]!.election.fence()).toEqual(term);
      const keys = await cs[1]!.client.getAll().prefix('/dmzgate-leader/election-3/').sort('Create', 'Ascend').keys();
      expect(keys[0]).toBe(term.key);
      expect(cs[1]!.election.isLeader).toBe(false);
    } finally {
      await closeAll(cs);
    }
  }, 30_000);

  it('a leader whose lease thread dies steps down; it campaigns again on a new thread, and leads when the next one goes', async () => {
    const cs = ['a', 'b'].map((n) => candidate(n, '/dmzgate-leader/election-4/', etcd.endpoints));
    const [a, b] = cs as [Candidate, Candidate];
    try {
      await a.election.start();
      await until('a leads', () => a.election.isLeader);
      await b.election.start();
      await until('b sees a lead', () => b.election.leader?.name === 'a');
      // A crash of the thread: nothing public makes one.
      await (a.election as unknown as { keeper: { worker: Worker } }).keeper.worker.terminate();
      await until('a steps down', () => a.deposed.length > 0, 2_000);
      expect(a.deposed[0]!.why).toBe('the lease keeper stopped');
      expect(a.election.isLeader).toBe(false);
      // Its old key lapses with the lease (nothing keeps it alive), b leads, and a is a candidate again.
      await until('b leads', () => b.election.isLeader, 8_000);
      await candidates('/dmzgate-leader/election-4/', b.client, 2); // b's key and a's new one
      await b.election.close();
      await until('a leads again', () => a.election.isLeader, 8_000);
    } finally {
      await closeAll(cs);
    }
  }, 30_000);

  it('a leader cut off from etcd steps down within its TTL; its fenced commits are refused by etcd', async () => {
    // `a` reaches only member 0; `b` the other two. Member 0 is frozen while `a` leads.
    const prefix = '/dmzgate/election-2/';
    const a = candidate('a', '/dmzgate-leader/election-2/', [etcd.endpoints[0]!]);
    const b = candidate('b', '/dmzgate-leader/election-2/', etcd.endpoints.slice(1));
    const storeA = await openEtcdStore({ hosts: [etcd.endpoints[0]!], prefix, fence: () => a.election.fence(), retryMs: 1_000 });
    try {
      await a.election.start();
      await until('a leads', () => a.election.isLeader);
      await b.election.start();
      await until('b sees a lead', () => b.election.leader?.name === 'a');
      // b a candidate before the cut: a grant still in flight when etcd's leader freezes waits out its timeout.
      await candidates('/dmzgate-leader/election-2/', b.client, 2);
      const oldFence = a.election.fence();
      await storeA.commit([{ kind: 'event.append', event: { id: 1, at: 1, type: 'switch.up', data: {} } }]);

      const cut = Date.now();
      etcd.pause(0);
      await until('a steps down', () => a.deposed.length > 0, 5_000);
      const stepDownMs = a.deposed[0]!.at - cut;
      // It stops leading before etcd can have deleted its key (the lease's TTL, 2 s, counted from a keepalive sent earlier).
      expect(stepDownMs).toBeLessThanOrEqual(2_000);
      expect(a.election.isLeader).toBe(false);
      await expect(storeA.commit([{ kind: 'event.append', event: { id: 2, at: 2, type: 'switch.up', data: {} } }])).rejects.toThrow(NotLeaderError);
      await until('b leads', () => b.election.isLeader, 8_000);
      const electedMs = Date.now() - cut;
      console.log(`leader cut off from etcd: stepped down after ${stepDownMs} ms, new leader after ${electedMs} ms`);
      expect(b.election.fence().createRevision).toBeGreaterThan(oldFence.createRevision);

      // A paused leader that wakes believing it still leads: its store compares the old key, and etcd refuses.
      const stale = await openEtcdStore({ hosts: etcd.endpoints.slice(1), prefix, fence: () => oldFence, retryMs: 1_000 });
      await expect(stale.commit([{ kind: 'event.append', event: { id: 2, at: 2, type: 'switch.up', data: {} } }])).rejects.toThrow(
        /leader key .* is no longer this term's/,
      );
      await stale.close();
      // The new leader's fenced store writes.
      const storeB = await openEtcdStore({ hosts: etcd.endpoints.slice(1), prefix, fence: () => b.election.fence() });
      await storeB.commit([{ kind: 'event.append', event: { id: 2, at: 2, type: 'switch.up', data: {} } }]);
      expect((await storeB.load()).events.map((e) => e.id)).toEqual([1, 2]);
      await storeB.close();
    } finally {
      etcd.resume(0);
      await storeA.close().catch(() => undefined);
      await closeAll([a, b]);
    }
    // Thawed, `a` campaigns again behind `b` and rejoins as a candidate.
  }, 40_000);
});
