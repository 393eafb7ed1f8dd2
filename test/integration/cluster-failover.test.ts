/**
 * A controller cluster end to end (bin/run-cluster-member.ts): a private 3-member etcd, three `dmzgate controller
 * --cluster` processes and one private Open vSwitch bridge that lists all three. The leader is master on the
 * bridge (OVSDB says so), a transfer asked of a follower is installed by the leader and visible on every
 * instance; the leader SIGKILLed: a survivor leads (the time is measured and logged), requests to the survivors
 * meanwhile are answered 201 or 503 with Retry-After, and afterwards every acknowledged lease is there and
 * nothing was granted twice.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PrivateEtcd, freePort } from '../../lab/private-etcd.js';
import { PrivateOvs } from '../../lab/private-ovs.js';
import { CLI, Running, checkBuild, until } from '../../lab/dmzgate-process.js';
import { climateTokenArgs } from '../helpers/cli-token-args.js';

const run = promisify(execFile);
const cli = async (...args: string[]): Promise<string> => (await run(process.execPath, [CLI, ...args], { timeout: 30_000 })).stdout;

interface Member {
  name: string;
  data: string;
  ofPort: number;
  api: string;
  proc: Running;
}

interface ClusterView {
  name: string;
  role: 'leader' | 'follower';
  leader: { name: string; url: string; generation: string } | null;
}

let ovs: PrivateOvs;
let work: string;
const etcd = new PrivateEtcd({ members: 3 });
const members: Member[] = [];

async function cluster(m: Member): Promise<ClusterView | undefined> {
  try {
    const r = await fetch(`${m.api}/api/v1/cluster`, { signal: AbortSignal.timeout(1000) });
    return (await r.json()) as ClusterView;
  } catch {
    return undefined;
  }
}

/** The member that says it leads, once every running member names it. */
async function leaderOf(ms: Member[], timeoutMs = 20_000): Promise<Member> {
  let found: Member | undefined;
  await until(
    'one leader every member names',
    async () => {
      const views = await Promise.all(ms.map(cluster));
      const leaders = views.filter((v) => v?.role === 'leader');
      if (leaders.length !== 1) return false;
      found = ms.find((m) => m.name === leaders[0]!.name);
      return views.every((v) => v?.leader?.name === found?.name);
    },
    timeoutMs,
  );
  return found!;
}

function transferBody(port: number): string {
  return JSON.stringify({ dtn: 'dtn1', remote: '192.0.2.0/24', protocol: 'tcp', local_ports: [String(port)], path: 'routed', duration: 3600 });
}

async function post(
  m: Member,
  token: string,
  port: number,
): Promise<{ status: number; retryAfter: string | null; body: { id?: number; code?: string } }> {
  const r = await fetch(`${m.api}/api/v1/transfers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: transferBody(port),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: r.status, retryAfter: r.headers.get('retry-after'), body: (await r.json()) as { id?: number; code?: string } };
}

async function transfers(m: Member, token: string): Promise<{ id: number; state: string; local_ports: string[] }[]> {
  const r = await fetch(`${m.api}/api/v1/transfers?limit=1000`, { headers: { authorization: `Bearer ${token}` } });
  expect(r.status).toBe(200);
  return ((await r.json()) as { transfers: { id: number; state: string; local_ports: string[] }[] }).transfers;
}

beforeAll(async () => {
  checkBuild();
  work = mkdtempSync(join(tmpdir(), 'dmzgate-cluster-'));
  await etcd.start();
  ovs = await new PrivateOvs().start();
  for (const name of ['a', 'b', 'c']) {
    const ofPort = await freePort();
    const data = join(work, name);
    const proc = new Running(
      [
        '--openflow-port',
        String(ofPort),
        '--api-port',
        '0',
        '--data',
        data,
        '--cluster',
        `etcd://${etcd.hosts}`,
        '--name',
        name,
        '--lldp-interval',
        '1000',
      ],
      work,
    );
    const api = (await proc.line((l) => l.msg === 'controller ready', `${name} ready`)).api as string;
    members.push({ name, data, ofPort, api, proc });
  }
  await ovs.addBridge('br0', 1n, { ports: ['wan', 'trunk', 'fwout', 'fwin', 'dtn1', 'ps1', 'lan1'] });
  await ovs.setControllers(
    'br0',
    members.map((m) => `tcp:127.0.0.1:${m.ofPort}`),
  );
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
  const roles = async (): Promise<string> => ovs.vsctl('--format=csv', '--data=bare', '--no-headings', '--columns=target,role', 'list', 'controller');
  await until(
    'OVSDB: the leader master, the others slave',
    async () => {
      const rows = (await roles()).split('\n').filter(Boolean);
      return members.every((m) => rows.includes(`tcp:127.0.0.1:${m.ofPort},${m === leader ? 'master' : 'slave'}`));
    },
    15_000,
  );
  const made = JSON.parse(await cli(...climateTokenArgs(leader.data))) as { token: string };
  const token = made.token;
  const followers = members.filter((m) => m !== leader);

  // Asked of a follower: forwarded, installed by the leader (its flows on the bridge), visible everywhere.
  const first = await post(followers[0]!, token, 50_001);
  expect(first.status).toBe(201);
  const id = first.body.id!;
  const cookie = `cookie=0xd1${id.toString(16).padStart(12, '0')},`;
  expect((await ovs.ofctl('dump-flows', 'br0')).split('\n').filter((l) => l.includes(cookie)).length).toBeGreaterThanOrEqual(2);
  for (const m of members) {
    await until(`transfer ${id} visible on ${m.name}`, async () => (await transfers(m, token)).some((t) => t.id === id && t.state === 'active'));
  }
  // The same ports again, on the other follower: refused as overlapping (one decision point, linearizable).
  expect((await post(followers[1]!, token, 50_001)).status).toBe(409);

  // The leader SIGKILLed while the survivors are asked for transfers.
  const acked = new Map<number, number>([[id, 50_001]]);
  const answers: { status: number; retryAfter: string | null; code?: string }[] = [];
  let port = 50_100;
  let asking = true;
  const askers = followers.map(async (m) => {
    while (asking) {
      const p = port++;
      type Answer = Awaited<ReturnType<typeof post>>;
      const a: Answer = await post(m, token, p).catch((e: Error): Answer => ({ status: 0, retryAfter: null, body: { code: e.message } }));
      answers.push({ status: a.status, retryAfter: a.retryAfter, ...(a.body.code ? { code: a.body.code } : {}) });
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
  const leadingMs = (await next.proc.line((l) => l.msg === 'cluster: leading', 'new leader leading')).ms as number;
  console.log(`leader ${leader.name} SIGKILLed: ${next.name} leads and answers after ${failoverMs} ms (its stack started in ${leadingMs} ms)`);
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
    const listed = await transfers(m, token);
    const active = listed.filter((t) => t.state === 'active');
    for (const [leaseId] of acked) expect(active.map((t) => t.id)).toContain(leaseId);
    const ports = active.map((t) => t.local_ports.join(','));
    expect(new Set(ports).size).toBe(ports.length);
  }
  // The new leader keeps every acknowledged lease's flows on the bridge.
  const dump = await ovs.ofctl('dump-flows', 'br0');
  for (const [leaseId] of acked) expect(dump).toContain(`cookie=0xd1${leaseId.toString(16).padStart(12, '0')},`);
}, 120_000);
