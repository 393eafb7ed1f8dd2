// Three `dmzgate controller --cluster` processes on a private etcd and one private Open vSwitch bridge that
// lists them all, for the cluster's integration tests; and the HTTP calls those tests make.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, type PrivateEtcd } from '../../lab/private-etcd.js';
import type { PrivateOvs } from '../../lab/private-ovs.js';
import { CLI, Running, until } from '../../lab/dmzgate-process.js';
import { climateTokenArgs } from './cli-token-args.js';

const run = promisify(execFile);

export interface Member {
  name: string;
  data: string;
  ofPort: number;
  api: string;
  proc: Running;
}

export interface ClusterView {
  name: string;
  role: 'leader' | 'follower';
  leader: { name: string; url: string; generation: string } | null;
}

export interface Answer {
  status: number;
  retryAfter: string | null;
  body: { id?: number; code?: string };
}

export interface TransferSeen {
  id: number;
  state: string;
  local_ports: string[];
}

/** Starts (or starts again, on its data directory and OpenFlow port) the member `name`. */
export async function launchMember(work: string, etcd: PrivateEtcd, name: string, ofPort: number): Promise<Member> {
  const data = join(work, name);
  const proc = new Running(
    ['--openflow-port', String(ofPort), '--api-port', '0', '--data', data, '--cluster', `etcd://${etcd.hosts}`, '--name', name],
    work,
  );
  const api = (await proc.line((l) => l.msg === 'controller ready', `${name} ready`)).api as string;
  return { name, data, ofPort, api, proc };
}

/** Starts `names` as cluster members and points bridge br0 (the default site's ports) at all of them. */
export async function startMembers(work: string, etcd: PrivateEtcd, ovs: PrivateOvs, names = ['a', 'b', 'c']): Promise<Member[]> {
  const members: Member[] = [];
  for (const name of names) members.push(await launchMember(work, etcd, name, await freePort()));
  await ovs.addBridge('br0', 1n, { ports: ['wan', 'trunk', 'fwout', 'fwin', 'dtn1', 'ps1', 'lan1'] });
  await ovs.setControllers(
    'br0',
    members.map((m) => `tcp:127.0.0.1:${m.ofPort}`),
  );
  return members;
}

export async function clusterView(m: Member): Promise<ClusterView | undefined> {
  try {
    const r = await fetch(`${m.api}/api/v1/cluster`, { signal: AbortSignal.timeout(1000) });
    return (await r.json()) as ClusterView;
  } catch {
    return undefined;
  }
}

/** The member that says it leads, once every member of `ms` names it. */
export async function leaderOf(ms: Member[], timeoutMs = 20_000): Promise<Member> {
  let found: Member | undefined;
  await until(
    'one leader every member names',
    async () => {
      const views = await Promise.all(ms.map(clusterView));
      const leaders = views.filter((v) => v?.role === 'leader');
      if (leaders.length !== 1) return false;
      found = ms.find((m) => m.name === leaders[0]!.name);
      return views.every((v) => v?.leader?.name === found?.name);
    },
    timeoutMs,
  );
  return found!;
}

/** Each controller's role on br0 as OVS reports it: `tcp:127.0.0.1:PORT,ROLE` lines. */
export async function ovsRoles(ovs: PrivateOvs): Promise<string[]> {
  return (await ovs.vsctl('--format=csv', '--data=bare', '--no-headings', '--columns=target,role', 'list', 'controller')).split('\n').filter(Boolean);
}

/** Waits until OVS reports `leader` master and every other member of `members` slave. */
export async function rolesOnBridge(ovs: PrivateOvs, members: Member[], leader: Member, timeoutMs = 15_000): Promise<void> {
  await until(
    `OVSDB: ${leader.name} master, the others slave`,
    async () => {
      const rows = await ovsRoles(ovs);
      return members.every((m) => rows.includes(`tcp:127.0.0.1:${m.ofPort},${m === leader ? 'master' : 'slave'}`));
    },
    timeoutMs,
  );
}

/** A transfer token (the climate project's), made with the CLI through the leader's data directory. */
export async function climateToken(leader: Member): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, ...climateTokenArgs(leader.data)], { timeout: 30_000 });
  return (JSON.parse(stdout) as { token: string }).token;
}

export async function postTransfer(m: Member, token: string, port: number, timeoutMs = 20_000): Promise<Answer> {
  const r = await fetch(`${m.api}/api/v1/transfers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ dtn: 'dtn1', remote: '192.0.2.0/24', protocol: 'tcp', local_ports: [String(port)], path: 'routed', duration: 3600 }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: r.status, retryAfter: r.headers.get('retry-after'), body: (await r.json()) as Answer['body'] };
}

export async function listTransfers(m: Member, token: string): Promise<{ status: number; transfers: TransferSeen[] }> {
  const r = await fetch(`${m.api}/api/v1/transfers?limit=1000`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
  const body = (await r.json()) as { transfers?: TransferSeen[] };
  return { status: r.status, transfers: body.transfers ?? [] };
}

/** The cookie text ovs-ofctl prints for a lease's flows. */
export const leaseCookie = (id: number): string => `cookie=0xd1${id.toString(16).padStart(12, '0')},`;
