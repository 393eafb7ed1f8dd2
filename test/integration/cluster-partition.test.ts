/**
 * A controller cluster cut off in two ways (three `dmzgate controller --cluster` processes, a private 3-member
 * etcd, one private OVS bridge listing all three): a leader frozen with SIGSTOP is replaced; when it wakes it
 * steps down before writing, and a request it held while frozen is forwarded (201) or refused (503, nothing left
 * behind); it rejoins as a follower and the bridge keeps it slave. Then etcd: one member killed changes nothing;
 * two killed (no quorum) and writes answer 503 with Retry-After while reads and the installed flows go on; writes
 * resume when the quorum returns.
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
  clusterView,
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
let token = '';
const granted: number[] = [];

beforeAll(async () => {
  checkBuild();
  work = mkdtempSync(join(tmpdir(), 'dmzgate-cluster-cut-'));
  await etcd.start();
  ovs = await new PrivateOvs().start();
  members = await startMembers(work, etcd, ovs);
}, 90_000);

afterAll(async () => {
  for (const m of members) {
    if (!m.proc.running) continue;
    m.proc.signal('SIGCONT');
    m.proc.signal('SIGKILL');
  }
  await ovs?.stop();
  await etcd.stop();
  rmSync(work, { recursive: true, force: true });
});

it('a frozen leader is replaced; woken, it steps down, its held request is answered 201 or 503, and it follows', async () => {
  const old = await leaderOf(members);
  await old.proc.line((l) => l.msg === 'reconciled switch' && l.dpid === '0000000000000001', 'leader reconciles the bridge', 30_000);
  await rolesOnBridge(ovs, members, old);
  token = await climateToken(old);
  const before = await postTransfer(old, token, 50_901);
  expect(before.status).toBe(201);
  granted.push(before.body.id!);

  const frozenAt = Date.now();
  old.proc.signal('SIGSTOP');
  // Sent to the frozen leader: it waits in its socket until the process wakes.
  const held = postTransfer(old, token, 50_902, 60_000);
  const others = members.filter((m) => m !== old);
  const next = await leaderOf(others, 15_000);
  console.log(`leader ${old.name} frozen: ${next.name} leads after ${Date.now() - frozenAt} ms`);
  // The bridge demoted the frozen one when the new leader claimed master with its higher generation id.
  await rolesOnBridge(ovs, members, next);
  const during = await postTransfer(
    others.find((m) => m !== next)!,
    token,
    50_903,
  );
  expect(during.status).toBe(201);
  granted.push(during.body.id!);

  old.proc.signal('SIGCONT');
  const late: Answer = await held;
  await old.proc.line((l) => l.msg === 'cluster: no longer the leader', 'the woken leader steps down');
  console.log(`the request held by the frozen leader: ${late.status} ${JSON.stringify(late.body)}`);
  const refusals = old.proc.lines.filter((l) => /OFPBRC_IS_SLAVE|not the cluster leader|NotMaster|not sending/.test(JSON.stringify(l)));
  console.log(
    `the woken leader's refused writes: ${refusals.length}`,
    refusals.slice(0, 3).map((l) => l.msg),
  );
  if (late.status === 201) granted.push(late.body.id!);
  else {
    // Refused (its term had lapsed, or it still took itself for the leader it was): told to retry, and nothing left behind.
    expect(late.status).toBe(503);
    expect(late.retryAfter).toBe('1');
    const held51002 = (await listTransfers(next, token)).transfers.filter((t) => t.local_ports.includes('50902') && t.state === 'active');
    expect(held51002).toEqual([]);
  }
  await until(
    'the woken one follows',
    async () => (await clusterView(old))?.role === 'follower' && (await clusterView(old))?.leader?.name === next.name,
  );
  await rolesOnBridge(ovs, members, next);
  // What it holds (replica) and the bridge agree with the new leader.
  for (const m of members) {
    await until(`${m.name} sees all three leases`, async () => {
      const active = (await listTransfers(m, token)).transfers.filter((t) => t.state === 'active').map((t) => t.id);
      return granted.every((id) => active.includes(id));
    });
  }
  const dump = await ovs.ofctl('dump-flows', 'br0');
  for (const id of granted) expect(dump).toContain(leaseCookie(id));
  // A write to it is a follower's: forwarded, granted once.
  const after = await postTransfer(old, token, 50_904);
  expect(after.status).toBe(201);
  granted.push(after.body.id!);
  expect((await postTransfer(old, token, 50_904)).status).toBe(409);
}, 100_000);

it('one etcd member down changes nothing; without quorum writes answer 503 and reads go on; the quorum back, writes resume', async () => {
  const leader = await leaderOf(members);
  const follower = members.find((m) => m !== leader)!;
  await etcd.kill(2);
  const one = await postTransfer(follower, token, 50_951);
  expect(one.status).toBe(201);
  granted.push(one.body.id!);
  expect((await leaderOf(members)).name).toBe(leader.name);
  // Replicas follow the leader's commits through their watch (eventually, not at the 201): a watch that was on the
  // killed member reconnects to another. Every replica holds the lease before the quorum goes.
  const replicatedFrom = Date.now();
  for (const m of members) {
    await until(`${m.name} lists transfer ${one.body.id}`, async () => (await listTransfers(m, token)).transfers.some((t) => t.id === one.body.id));
  }
  console.log(`one etcd member down: every replica listed the new lease ${Date.now() - replicatedFrom} ms after its 201`);

  const cutAt = Date.now();
  await etcd.kill(1);
  // No quorum: the leader's keepalives go unanswered and it steps down; every write is then refused with Retry-After.
  await until('no instance leads', async () => (await Promise.all(members.map(clusterView))).every((v) => v?.role === 'follower'), 10_000);
  console.log(`etcd quorum lost: the leader stepped down after ${Date.now() - cutAt} ms`);
  for (const m of members) {
    const a = await postTransfer(m, token, 50_952);
    expect(a.status).toBe(503);
    expect(a.body.code).toBe('DMZ_NO_LEADER');
    expect(a.retryAfter).toBe('1');
    // Reads go on, from each instance's replica.
    const seen = await listTransfers(m, token);
    expect(seen.status).toBe(200);
    for (const id of granted) expect(seen.transfers.map((t) => t.id)).toContain(id);
  }
  // The switch keeps forwarding what was installed.
  const dump = await ovs.ofctl('dump-flows', 'br0');
  for (const id of granted) expect(dump).toContain(leaseCookie(id));

  const backAt = Date.now();
  await etcd.restart(1);
  await etcd.restart(2);
  let resumed: Answer | undefined;
  await until(
    'writes resume',
    async () => {
      resumed = await postTransfer(follower, token, 50_952).catch((): Answer => ({ status: 0, retryAfter: null, body: {} }));
      return resumed.status === 201;
    },
    30_000,
  );
  console.log(`etcd quorum back: writes resumed after ${Date.now() - backAt} ms`);
  const everyone = (await listTransfers(follower, token)).transfers.filter((t) => t.state === 'active');
  for (const id of [...granted, resumed!.body.id!]) expect(everyone.map((t) => t.id)).toContain(id);
}, 100_000);
