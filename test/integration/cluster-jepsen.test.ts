/**
 * Jepsen-style: clients create, extend and release leases on all three instances of a controller cluster while
 * the leader is SIGKILLed and started again in a loop (bounded: 45 s of it). Every operation's outcome is kept:
 * acknowledged (201/200), refused (an answer that changed nothing: 409, 503 from an instance that passed nothing
 * on, a refused connection) or unknown (no answer, or the leader it was passed on to went away). At the end the
 * state the cluster holds is checked against that history with test/helpers/lease-history.ts: each key's
 * acknowledged operations (and, or not, its unknown last one) and never two active leases on one port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PrivateEtcd } from '../../lab/private-etcd.js';
import { PrivateOvs } from '../../lab/private-ovs.js';
import { checkBuild, until } from '../../lab/dmzgate-process.js';
import { climateToken, launchMember, leaderOf, listTransfers, startMembers, type Member } from '../helpers/cluster-members.js';
import { checkLeaseHistory, type FinalLease, type LeaseOp, type Outcome } from '../helpers/lease-history.js';

const CHAOS_MS = 45_000;
const WORKERS_PER_MEMBER = 2;
const PACE_MS = 150;

let ovs: PrivateOvs;
let work: string;
const etcd = new PrivateEtcd({ members: 3 });
let members: Member[] = [];

beforeAll(async () => {
  checkBuild();
  work = mkdtempSync(join(tmpdir(), 'dmzgate-cluster-jepsen-'));
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

interface Reply {
  outcome: Outcome;
  status: number;
  body: { id?: number; end?: string; code?: string; message?: string };
}

/** One call and what its outcome says about the state. */
async function call(m: Member, token: string, method: string, path: string, body?: unknown): Promise<Reply> {
  let r: Response;
  try {
    r = await fetch(`${m.api}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (e) {
    // Refused before anything was sent; any other failure may have reached a leader.
    const refused = (e as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
    return { outcome: refused ? 'fail' : 'unknown', status: 0, body: { message: (e as Error).message } };
  }
  const text = await r.text();
  const parsed = (text ? JSON.parse(text) : {}) as Reply['body'];
  if (r.status === 200 || r.status === 201) return { outcome: 'ok', status: r.status, body: parsed };
  // A 503 from an instance that passed nothing on (no leader, or the fence refused the commit) changed nothing; a
  // leader that went away after the request reached it may have applied it.
  const unknown = r.status >= 500 && !(r.status === 503 && !/could not be reached/.test(parsed.message ?? ''));
  return { outcome: unknown ? 'unknown' : 'fail', status: r.status, body: parsed };
}

it('concurrent creates, extends and releases on every instance while the leader is killed in a loop: a linearizable end', async () => {
  await leaderOf(members);
  const token = await climateToken(await leaderOf(members));
  const history: LeaseOp[] = [];
  const statuses = new Map<string, number>();
  let running = true;

  const worker = async (w: number): Promise<void> => {
    let key = 50_300 + w * 60;
    let held: { id: number } | undefined;
    while (running) {
      const m = members[w % members.length]!;
      let op: LeaseOp;
      let reply: Reply;
      if (!held) {
        reply = await call(m, token, 'POST', '/api/v1/transfers', {
          dtn: 'dtn1',
          remote: '192.0.2.0/24',
          protocol: 'tcp',
          local_ports: [String(key)],
          path: 'routed',
          duration: 3600,
        });
        op = { key, kind: 'create', outcome: reply.outcome, ...(reply.outcome === 'ok' ? { id: reply.body.id!, end: reply.body.end! } : {}) };
        if (reply.outcome === 'ok') held = { id: reply.body.id! };
      } else if (Math.random() < 0.6) {
        const end = new Date(Date.now() + 3_600_000 + Math.floor(Math.random() * 600) * 1000).toISOString();
        reply = await call(m, token, 'PATCH', `/api/v1/transfers/${held.id}`, { end });
        op = { key, kind: 'extend', id: held.id, end: reply.outcome === 'ok' ? reply.body.end! : end, outcome: reply.outcome };
      } else {
        reply = await call(m, token, 'DELETE', `/api/v1/transfers/${held.id}`);
        op = { key, kind: 'release', id: held.id, outcome: reply.outcome };
        if (reply.outcome === 'ok') held = undefined;
      }
      history.push(op);
      const label = `${op.kind} ${reply.status}${reply.body.code ? ` ${reply.body.code}` : ''}`;
      statuses.set(label, (statuses.get(label) ?? 0) + 1);
      if (op.outcome === 'unknown') {
        key++; // the next operations go to a fresh key: this one's state is no longer known to its client
        held = undefined;
      }
      await new Promise((r) => setTimeout(r, reply.status === 503 || reply.status === 0 ? 300 : PACE_MS));
    }
  };

  const workers = Array.from({ length: members.length * WORKERS_PER_MEMBER }, (_, w) => worker(w));
  const failovers: number[] = [];
  const chaosEnd = Date.now() + CHAOS_MS;
  while (Date.now() < chaosEnd) {
    await new Promise((r) => setTimeout(r, 3_000));
    const leader = await leaderOf(members, 20_000);
    const at = Date.now();
    leader.proc.signal('SIGKILL');
    await leader.proc.exited;
    const others = members.filter((m) => m !== leader);
    await leaderOf(others, 20_000);
    failovers.push(Date.now() - at);
    const i = members.indexOf(leader);
    members[i] = await launchMember(work, etcd, leader.name, leader.ofPort);
  }
  running = false;
  await Promise.all(workers);

  // The final state, from the leader once every instance has caught up.
  const leader = await leaderOf(members, 20_000);
  await until(
    'every instance holds the same leases',
    async () => {
      const seen = await Promise.all(members.map((m) => listTransfers(m, token)));
      const texts = seen.map((s) => JSON.stringify(s.transfers.map((t) => [t.id, t.state]).sort()));
      return seen.every((s) => s.status === 200) && texts.every((t) => t === texts[0]);
    },
    20_000,
  );
  const all = await fetch(`${leader.api}/api/v1/transfers?limit=1000`, { headers: { authorization: `Bearer ${token}` } });
  const listed = (await all.json()) as { total: number; transfers: { id: number; state: string; end: string; local_ports: string[] }[] };
  expect(listed.total).toBeLessThanOrEqual(1000); // every lease in one page: ended ones are kept up to 1000
  const final: FinalLease[] = listed.transfers.map((t) => ({ id: t.id, port: Number(t.local_ports[0]), state: t.state, end: t.end }));

  const sorted = [...failovers].sort((a, b) => a - b);
  console.log(
    `${history.length} operations (${history.filter((o) => o.outcome === 'ok').length} acknowledged, ${history.filter((o) => o.outcome === 'unknown').length} unknown), ${failovers.length} leader kills: failover median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms`,
  );
  console.log('answers:', Object.fromEntries([...statuses].sort()));
  expect(failovers.length).toBeGreaterThanOrEqual(5);
  expect(history.filter((o) => o.outcome === 'ok').length).toBeGreaterThan(100);
  expect(checkLeaseHistory(history, final)).toEqual([]);
}, 150_000);
