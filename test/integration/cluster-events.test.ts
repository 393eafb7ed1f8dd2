/**
 * The event stream on every instance of a controller cluster (bin/run-cluster-member.ts): each serves it from its
 * replica of the state, so a client on a follower sees the lease.created of a transfer asked of another instance.
 * The leader SIGKILLed: the follower's client goes on with the next leader's events, ids consecutive (no gap, no
 * duplicate), and a client that was on the killed leader resumes on a survivor with its last id and gets the rest.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PrivateEtcd } from '../../lab/private-etcd.js';
import { PrivateOvs } from '../../lab/private-ovs.js';
import { checkBuild, until } from '../../lab/dmzgate-process.js';
import { adminTokenWritten } from '../../lab/dmzgate-cluster.js';
import { climateToken, leaderOf, postTransfer, startMembers, type Answer, type Member } from '../helpers/cluster-members.js';
import { connectEvents, type EventClient } from '../unit/api/ws-client.js';

let ovs: PrivateOvs;
let work: string;
const etcd = new PrivateEtcd({ members: 3 });
let members: Member[] = [];

beforeAll(async () => {
  checkBuild();
  work = mkdtempSync(join(tmpdir(), 'dmzgate-cluster-events-'));
  await etcd.start();
  ovs = await new PrivateOvs().start();
  // Each trusts the others (all on 127.0.0.1) to name the client in X-Forwarded-For.
  members = await startMembers(work, etcd, ovs, undefined, ['--trusted-proxy', '127.0.0.1']);
}, 90_000);

afterAll(async () => {
  for (const m of members) if (m.proc.running) m.proc.signal('SIGKILL');
  await ovs?.stop();
  await etcd.stop();
  rmSync(work, { recursive: true, force: true });
});

const eventsUrl = (m: Member): string => `${m.api.replace(/^http/, 'ws')}/api/v1/events`;
const created = (c: EventClient, id: number | undefined): boolean => c.events.some((e) => e.type === 'lease.created' && e.transfer?.id === id);
const consecutive = (ids: number[]): boolean => ids.every((id, i) => i === 0 || id === ids[i - 1]! + 1);

it('a follower streams the events of transfers asked elsewhere, and its clients go on across a leader kill', async () => {
  const leader = await leaderOf(members);
  await leader.proc.line((l) => l.msg === 'reconciled switch' && l.dpid === '0000000000000001', 'leader reconciles the bridge', 30_000);
  await adminTokenWritten(leader);
  // The admin token sees every event (the climate token only its project's lease events): ids must then be consecutive.
  const headers = { authorization: `Bearer ${readFileSync(join(leader.data, 'admin.token'), 'utf8').trim()}` };
  const token = await climateToken(leader);
  const [f1, f2] = members.filter((m) => m !== leader) as [Member, Member];

  const onFollower = await connectEvents(eventsUrl(f1), { headers });
  const onLeader = await connectEvents(eventsUrl(leader), { headers });
  const first = await postTransfer(f2, token, 50_001);
  expect(first.status).toBe(201);
  await onFollower.until((c) => created(c, first.body.id), 10_000, `lease.created ${first.body.id} on follower ${f1.name}`);
  await onLeader.until((c) => created(c, first.body.id), 10_000, `lease.created ${first.body.id} on the leader`);

  const lastOnLeader = onLeader.events.at(-1)!.id!;
  leader.proc.signal('SIGKILL');
  await leader.proc.exited;
  await leaderOf([f1, f2], 15_000);
  let second: Answer | undefined;
  await until(
    'a transfer granted by the next leader',
    async () => {
      second = await postTransfer(f2, token, 50_002).catch(() => undefined);
      return second?.status === 201;
    },
    20_000,
  );
  const secondId = second!.body.id;
  await onFollower.until((c) => created(c, secondId), 10_000, `lease.created ${secondId} on follower ${f1.name}`);
  expect(onFollower.closed).toBeUndefined(); // one connection throughout

  // The client of the killed leader, resumed on a survivor from its last id.
  const resumed = await connectEvents(`${eventsUrl(f2)}?since=${lastOnLeader}`, { headers });
  await resumed.until((c) => created(c, secondId), 10_000, `lease.created ${secondId} after resuming`);

  const followerIds = onFollower.events.map((e) => e.id!);
  const resumedIds = resumed.events.map((e) => e.id!);
  expect(consecutive(followerIds)).toBe(true);
  expect(resumedIds[0]).toBe(lastOnLeader + 1);
  expect(consecutive(resumedIds)).toBe(true);
  // Both saw the same events, the same texts, from the killed leader's last one on.
  const last = Math.min(followerIds.at(-1)!, resumedIds.at(-1)!);
  const span = (c: EventClient) => c.events.filter((e) => e.id! > lastOnLeader && e.id! <= last);
  expect(span(resumed)).toEqual(span(onFollower));
  await onFollower.close();
  await resumed.close();
}, 120_000);

/** A POST of a transfer sent from a local address of our choosing (any 127/8 address is this host's). */
function postFrom(localAddress: string, m: Member, token: string, port: number): Promise<{ status: number; body: { id?: number } }> {
  const body = JSON.stringify({ dtn: 'dtn1', remote: '192.0.2.0/24', protocol: 'tcp', local_ports: [String(port)], path: 'routed', duration: 600 });
  return new Promise((resolve, reject) => {
    const req = request(
      `${m.api}/api/v1/transfers`,
      { method: 'POST', localAddress, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { id?: number } }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

it("a transfer asked of a follower: the leader's audit trail names the client's address, not the follower's", async () => {
  const alive = members.filter((m) => m.proc.running);
  const leader = await leaderOf(alive);
  const follower = alive.find((m) => m !== leader)!;
  const token = await climateToken(leader);
  const asked = await postFrom('127.0.0.2', follower, token, 50_301);
  expect(asked.status).toBe(201);
  await adminTokenWritten(leader);
  const admin = readFileSync(join(leader.data, 'admin.token'), 'utf8').trim();
  const r = await fetch(`${leader.api}/api/v1/audit?decision=granted&limit=1000`, { headers: { authorization: `Bearer ${admin}` } });
  const entries = ((await r.json()) as { entries: { transfer?: number; client?: string }[] }).entries;
  expect(entries.find((e) => e.transfer === asked.body.id)?.client).toBe('127.0.0.2');
});
