/**
 * A controller cluster end to end (bin/run-cluster-member.ts): a private 3-member etcd, three `dmzgate controller
 * --cluster` processes and one private Open vSwitch bridge that lists all three. The leader is master on the
 * bridge (OVSDB says so), a transfer asked of a follower is installed by the leader and visible on every
 * instance; the leader SIGKILLed: a survivor leads (the time is measured and logged), requests to the survivors
 * meanwhile are answered 201 or 503 with Retry-After, and afterwards every acknowledged lease is there and
 * nothing was granted twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PrivateEtcd } from '../../lab/private-etcd.js';
import { PrivateOvs } from '../../lab/private-ovs.js';
import { checkBuild, until } from '../../lab/dmzgate-process.js';
import {
  climateToken,
  leaderOf,
  leaseCookie,
  listTransfers,
  postTransfer,
  rolesOnBridge,
  startMembers,
  type Answer,
  type Member,
} from '../helpers/cluster-members.js';

let ovs: PrivateOvs;
let work: string;
const etcd = new PrivateEtcd({ members: 3 });
let members: Member[] = [];

beforeAll(async () => {
  checkBuild();
  work = mkdtempSync(join(tmpdir(), 'dmzgate-cluster-'));
  await etcd.start();
  ovs = await new PrivateOvs().start();
  members = await startMembers(work, etcd, ovs);
}, 90_000);

afterAll(async () => {
  for (const m of members) if (m.proc.running) m.proc.signal('SIGKILL');
  await ovs?.stop();
  await etcd.stop();
  rmSync(work, { recursive: true, force: true });
});

it('a follower passes a transfer on to the leader; it is installed and visible on all three; a killed leader is replaced', async () => {
  const leader = await leaderOf(members);
  await leader.proc.line((l) => l.msg === 'reconciled switch' && l.dpid === '0000000000000001', 'leader reconciles the bridge', 30_000);
  await rolesOnBridge(ovs, members, leader);
  const token = await climateToken(leader);
  const followers = members.filter((m) => m !== leader);

  // Asked of a follower: forwarded, installed by the leader (its flows on the bridge), visible everywhere.
  const first = await postTransfer(followers[0]!, token, 50_001);
  expect(first.status).toBe(201);
  const id = first.body.id!;
  expect((await ovs.ofctl('dump-flows', 'br0')).split('\n').filter((l) => l.includes(leaseCookie(id))).length).toBeGreaterThanOrEqual(2);
  // Read your own write: the follower held the 201 until its replica had the lease.
  expect((await listTransfers(followers[0]!, token)).transfers.map((t) => t.id)).toContain(id);
  for (const m of members) {
    await until(`transfer ${id} visible on ${m.name}`, async () =>
      (await listTransfers(m, token)).transfers.some((t) => t.id === id && t.state === 'active'),
    );
  }
  // The same ports again, on the other follower: refused as overlapping (one decision point, linearizable).
  expect((await postTransfer(followers[1]!, token, 50_001)).status).toBe(409);

  // A lease that ends soon after the failover: the next leader must end it (its deadline re-armed from etcd).
  const short = await postTransfer(followers[0]!, token, 50_002, 20_000, 6);
  expect(short.status).toBe(201);

  // The leader SIGKILLed while the survivors are asked for transfers.
  const acked = new Map<number, number>([[id, 50_001]]);
  const answers: Answer[] = [];
  let port = 50_100;
  let asking = true;
  const askers = followers.map(async (m) => {
    while (asking) {
      const p = port++;
      const a = await postTransfer(m, token, p).catch((e: Error): Answer => ({ status: 0, retryAfter: null, body: { code: e.message } }));
      answers.push(a);
      if (a.status === 201 && a.body.id !== undefined) acked.set(a.body.id, p);
      if (a.status === 503) await new Promise((r) => setTimeout(r, 100));
    }
  });
  await new Promise((r) => setTimeout(r, 500));
  const killedAt = Date.now();
  leader.proc.signal('SIGKILL');
  await leader.proc.exited;
  const next = await leaderOf(followers, 15_000);
  const failoverMs = Date.now() - killedAt;
  const leading = await next.proc.line((l) => l.msg === 'cluster: leading', 'new leader leading');
  const steps = ['roleMs', 'storeMs', 'apiMs', 'appMs'].map((k) => `${k} ${String(leading[k])}`).join(', ');
  console.log(
    `leader ${leader.name} SIGKILLed: ${next.name} leads and answers after ${failoverMs} ms (its stack started in ${String(leading.ms)} ms: ${steps})`,
  );
  await new Promise((r) => setTimeout(r, 1000));
  asking = false;
  await Promise.all(askers);

  // Every answer was an acknowledgement or a clean refusal to retry.
  for (const a of answers) {
    expect([201, 503]).toContain(a.status);
    if (a.status === 503) expect(a.retryAfter).toBe('1');
  }
  const granted = answers.filter((a) => a.status === 201).length;
  console.log(`during the failover: ${granted} answered 201, ${answers.length - granted} answered 503 with Retry-After`);
  expect(granted).toBeGreaterThan(0);
  // Every acknowledged lease is there, active, on both survivors; no port was granted twice.
  for (const m of followers) {
    const active = (await listTransfers(m, token)).transfers.filter((t) => t.state === 'active');
    for (const [leaseId] of acked) expect(active.map((t) => t.id)).toContain(leaseId);
    const ports = active.map((t) => t.local_ports.join(','));
    expect(new Set(ports).size).toBe(ports.length);
  }
  // The new leader keeps every acknowledged lease's flows on the bridge.
  const dump = await ovs.ofctl('dump-flows', 'br0');
  for (const [leaseId] of acked) expect(dump).toContain(leaseCookie(leaseId));
  // The bridge agrees: the new leader master, the other survivor slave.
  await rolesOnBridge(ovs, followers, next);
  // The short lease was ended by the new leader's timer, on time, with its flows removed.
  await until(
    'the short lease expired',
    async () => (await listTransfers(next, token)).transfers.some((t) => t.id === short.body.id && t.state === 'expired'),
    10_000,
  );
  expect(await ovs.ofctl('dump-flows', 'br0')).not.toContain(leaseCookie(short.body.id!));
}, 120_000);
