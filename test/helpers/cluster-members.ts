// The calls the cluster's integration tests make (the processes: lab/dmzgate-cluster.ts, re-exported here).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { PrivateOvs } from '../../lab/private-ovs.js';
import { CLI, until } from '../../lab/dmzgate-process.js';
import { adminTokenWritten, type Member, type MemberApi } from '../../lab/dmzgate-cluster.js';
import { climateTokenArgs } from './cli-token-args.js';

export { launchMember, startMembers, clusterView, leaderOf, type Member, type MemberApi, type ClusterView } from '../../lab/dmzgate-cluster.js';

const run = promisify(execFile);

export interface Answer {
  status: number;
  retryAfter: string | null;
  body: { id?: number; code?: string };
}

export interface TransferSeen {
  id: number;
  state: string;
  local_ports: string[];
  counters: { bytes_in: number; bytes_out: number; packets_in: number; packets_out: number };
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
export async function climateToken(leader: Pick<Member, 'name' | 'data'>): Promise<string> {
  await adminTokenWritten(leader);
  const { stdout } = await run(process.execPath, [CLI, ...climateTokenArgs(leader.data)], { timeout: 30_000 });
  return (JSON.parse(stdout) as { token: string }).token;
}

export async function postTransfer(m: MemberApi, token: string, port: number, timeoutMs = 20_000, durationSeconds = 3600): Promise<Answer> {
  const r = await fetch(`${m.api}/api/v1/transfers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      dtn: 'dtn1',
      remote: '192.0.2.0/24',
      protocol: 'tcp',
      local_ports: [String(port)],
      path: 'routed',
      duration: durationSeconds,
    }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: r.status, retryAfter: r.headers.get('retry-after'), body: (await r.json()) as Answer['body'] };
}

export async function listTransfers(m: MemberApi, token: string): Promise<{ status: number; transfers: TransferSeen[] }> {
  const r = await fetch(`${m.api}/api/v1/transfers?limit=1000`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
  const body = (await r.json()) as { transfers?: TransferSeen[] };
  return { status: r.status, transfers: body.transfers ?? [] };
}

/** The cookie text ovs-ofctl prints for a lease's flows. */
export const leaseCookie = (id: number): string => `cookie=0xd1${id.toString(16).padStart(12, '0')},`;
