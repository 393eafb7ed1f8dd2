/**
 * A controller cluster serving its API over HTTPS (every member given --api-tls-key/--api-tls-cert, one self-signed
 * certificate for 127.0.0.1 they share): a transfer asked of a follower is passed on to the leader over HTTPS and
 * granted; plain HTTP gets no API answer; a member told to trust another issuer (--api-tls-ca) does not pass a
 * request, and its token, to a leader whose certificate it cannot check: 503 DMZ_NO_LEADER.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PrivateEtcd, freePort } from '../../lab/private-etcd.js';
import { PrivateOvs } from '../../lab/private-ovs.js';
import { CLI, checkBuild, until } from '../../lab/dmzgate-process.js';
import { adminTokenWritten, launchMember, startMembers, type ClusterView, type Member } from '../../lab/dmzgate-cluster.js';
import { climateTokenArgs } from '../helpers/cli-token-args.js';
import { selfSigned } from '../helpers/self-signed.js';

const run = promisify(execFile);
let ovs: PrivateOvs;
let work: string;
let tls: ReturnType<typeof selfSigned>;
const etcd = new PrivateEtcd({ members: 3 });
let members: Member[] = [];

beforeAll(async () => {
  checkBuild();
  work = mkdtempSync(join(tmpdir(), 'dmzgate-cluster-https-'));
  tls = selfSigned(work);
  await etcd.start();
  ovs = await new PrivateOvs().start();
  members = await startMembers(work, etcd, ovs, undefined, ['--api-tls-key', tls.keyFile, '--api-tls-cert', tls.certFile]);
}, 90_000);

afterAll(async () => {
  for (const m of members) if (m.proc.running) m.proc.signal('SIGKILL');
  await ovs?.stop();
  await etcd.stop();
  rmSync(work, { recursive: true, force: true });
});

/** An HTTPS call that trusts the members' certificate. */
function call(url: string, method: string, token?: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: tls.cert,
        timeout: 20_000,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer`)));
    req.on('error', reject);
    req.end(body !== undefined ? JSON.stringify(body) : undefined);
  });
}

const view = async (m: Member): Promise<ClusterView | undefined> =>
  (await call(`${m.api}/api/v1/cluster`, 'GET').catch(() => undefined))?.body as ClusterView | undefined;

async function leader(ms: Member[]): Promise<Member> {
  let found: Member | undefined;
  await until(
    'one leader every member names',
    async () => {
      const views = await Promise.all(ms.map(view));
      found = ms.find((m) => views.find((v) => v?.name === m.name)?.role === 'leader');
      return found !== undefined && views.every((v) => v?.leader?.name === found!.name);
    },
    20_000,
  );
  return found!;
}

const transfer = (port: number) => ({
  dtn: 'dtn1',
  remote: '192.0.2.0/24',
  protocol: 'tcp',
  local_ports: [String(port)],
  path: 'routed',
  duration: 600,
});

let token = '';

it('a follower passes a transfer on to the leader over HTTPS, checking its certificate; plain HTTP gets no API', async () => {
  for (const m of members) expect(m.api).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  const lead = await leader(members);
  await adminTokenWritten(lead);
  // The CLI talks to the leader's API over HTTPS too: it is told to trust the certificate.
  const { stdout } = await run(process.execPath, [CLI, ...climateTokenArgs(lead.data)], {
    timeout: 30_000,
    env: { ...process.env, NODE_EXTRA_CA_CERTS: tls.certFile },
  });
  token = (JSON.parse(stdout) as { token: string }).token;
  const follower = members.find((m) => m !== lead)!;
  const asked = await call(`${follower.api}/api/v1/transfers`, 'POST', token, transfer(50_401));
  expect(asked.status).toBe(201);
  const listed = await call(`${follower.api}/api/v1/transfers`, 'GET', token);
  expect((listed.body.transfers as { id: number }[]).map((t) => t.id)).toContain(asked.body.id);
  // The same port over plain HTTP: the TLS server drops it.
  const plain = await fetch(`${follower.api.replace('https:', 'http:')}/api/v1/cluster`, { signal: AbortSignal.timeout(3000) }).then(
    (r) => r.status,
    () => 'refused',
  );
  expect(plain).toBe('refused');
});

it("a member that cannot check the leader's certificate does not pass the request on: 503 DMZ_NO_LEADER", async () => {
  const otherDir = join(work, 'other-issuer');
  mkdirSync(otherDir);
  const other = selfSigned(otherDir);
  const d = await launchMember(work, etcd, 'd', await freePort(), [
    '--api-tls-key',
    tls.keyFile,
    '--api-tls-cert',
    tls.certFile,
    '--api-tls-ca',
    other.certFile,
  ]);
  members.push(d);
  const lead = await leader(members);
  expect(lead).not.toBe(d);
  const asked = await call(`${d.api}/api/v1/transfers`, 'POST', token, transfer(50_402));
  expect(asked.status).toBe(503);
  expect(asked.body.code).toBe('DMZ_NO_LEADER');
  expect(String(asked.body.message)).toMatch(/certificate/);
  // Nothing reached the leader: no transfer on that port.
  const all = await call(`${lead.api}/api/v1/transfers`, 'GET', token);
  expect((all.body.transfers as { local_ports: string[] }[]).some((t) => t.local_ports.includes('50402'))).toBe(false);
});
