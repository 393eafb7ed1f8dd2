// A controller cluster of `dmzgate controller --cluster` processes on a private etcd, for tests, labs and the
// benchmark: start (or start again) a member, see who leads.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, type PrivateEtcd } from './private-etcd.js';
import type { PrivateOvs } from './private-ovs.js';
import { Running, until } from './dmzgate-process.js';

export interface Member {
  name: string;
  data: string;
  ofPort: number;
  api: string;
  proc: Running;
}

/** What the HTTP calls below need of a member: this harness's members and a Mininet lab's (lab/mininet-lab.ts). */
export type MemberApi = Pick<Member, 'name' | 'api'>;

export interface ClusterView {
  name: string;
  role: 'leader' | 'follower';
  leader: { name: string; url: string; generation: string } | null;
}

/** Starts (or starts again, on its data directory and OpenFlow port) the member `name`. */
export async function launchMember(work: string, etcd: PrivateEtcd, name: string, ofPort: number, extra: string[] = []): Promise<Member> {
  const data = join(work, name);
  const proc = new Running(
    ['--openflow-port', String(ofPort), '--api-port', '0', '--data', data, '--cluster', `etcd://${etcd.hosts}`, '--name', name, ...extra],
    work,
  );
  const api = (await proc.line((l) => l.msg === 'controller ready', `${name} ready`)).api as string;
  return { name, data, ofPort, api, proc };
}

/** Starts `names` as cluster members and points bridge br0 (the default site's ports) at all of them. */
export async function startMembers(
  work: string,
  etcd: PrivateEtcd,
  ovs: PrivateOvs,
  names = ['a', 'b', 'c'],
  extra: string[] = [],
): Promise<Member[]> {
  const members: Member[] = [];
  for (const name of names) members.push(await launchMember(work, etcd, name, await freePort(), extra));
  await ovs.addBridge('br0', 1n, { ports: ['wan', 'trunk', 'fwout', 'fwin', 'dtn1', 'ps1', 'lan1'] });
  await ovs.setControllers(
    'br0',
    members.map((m) => `tcp:127.0.0.1:${m.ofPort}`),
  );
  return members;
}

export async function clusterView(m: MemberApi): Promise<ClusterView | undefined> {
  try {
    const r = await fetch(`${m.api}/api/v1/cluster`, { signal: AbortSignal.timeout(1000) });
    return (await r.json()) as ClusterView;
  } catch {
    return undefined;
  }
}

/** The member that says it leads, once every member of `ms` names it. */
export async function leaderOf<M extends MemberApi>(ms: M[], timeoutMs = 20_000): Promise<M> {
  let found: M | undefined;
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

/** Resolves once the leader has written its data directory's admin token (after it started leading). */
export async function adminTokenWritten(leader: Pick<Member, 'name' | 'data'>, timeoutMs = 10_000): Promise<void> {
  await until(`${leader.name}'s admin token`, () => Promise.resolve(existsSync(join(leader.data, 'admin.token'))), timeoutMs);
}
