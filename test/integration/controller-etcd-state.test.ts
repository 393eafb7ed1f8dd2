/**
 * `dmzgate controller --state etcd://...` end to end, against a private etcd and a private Open vSwitch: a token
 * made with the CLI and a transfer requested with it; the controller killed with SIGKILL and started again on an
 * empty data directory (so nothing can come from a local file): the token still works and the transfer is
 * still there, active, with its flows; and the lease is in etcd under the site's prefix.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PrivateEtcd, freePort } from '../../lab/private-etcd.js';
import { PrivateOvs } from '../../lab/private-ovs.js';
import { CLI, Running, checkBuild, until } from '../../lab/dmzgate-process.js';
import { climateTokenArgs } from '../helpers/cli-token-args.js';

const run = promisify(execFile);
const cli = async (...args: string[]): Promise<string> => (await run(process.execPath, [CLI, ...args], { timeout: 30_000 })).stdout;

let ovs: PrivateOvs;
let work: string;
const etcd = new PrivateEtcd({ members: 1 });
const started: Running[] = [];

beforeAll(async () => {
  checkBuild();
  work = mkdtempSync(join(tmpdir(), 'dmzgate-etcd-state-'));
  await etcd.start();
  ovs = await new PrivateOvs().start();
});

afterAll(async () => {
  for (const p of started) if (p.running) p.signal('SIGKILL');
  await ovs?.stop();
  await etcd.stop();
  rmSync(work, { recursive: true, force: true });
});

it('a token and a transfer kept in etcd survive a kill -9 and a restart on an empty data directory', async () => {
  const ofPort = await freePort();
  const controller = (data: string) => {
    const p = new Running(
      ['--openflow-port', String(ofPort), '--api-port', '0', '--data', join(work, data), '--state', `etcd://${etcd.hosts}`],
      work,
    );
    started.push(p);
    return p;
  };
  const first = controller('data1');
  const api = (await first.line((l) => l.msg === 'controller ready', 'controller ready')).api as string;
  await ovs.addBridge('br0', 1n, { controller: `tcp:127.0.0.1:${ofPort}`, ports: ['wan', 'trunk', 'fwout', 'fwin', 'dtn1', 'ps1', 'lan1'] });
  await first.line((l) => l.msg === 'reconciled switch' && l.dpid === '0000000000000001', 'first reconcile');
  const made = JSON.parse(await cli(...climateTokenArgs(join(work, 'data1')))) as { id: number; token: string };
  const lease = JSON.parse(
    await cli(
      'transfer',
      'request',
      '--api',
      api,
      '--token',
      made.token,
      '--dtn',
      'dtn1',
      '--remote',
      '192.0.2.0/24',
      '--ports',
      '50000-51000',
      '--duration',
      '1h',
      '--json',
    ),
  ) as { id: number; state: string };
  expect(lease.state).toBe('active');

  first.signal('SIGKILL');
  expect((await first.exited).signal).toBe('SIGKILL');
  const client = new Etcd3({ hosts: etcd.endpoints });
  try {
    const kept = await client.getAll().prefix('/dmzgate/').strings();
    const key = Object.keys(kept).find((k) => k.endsWith(`/leases/${String(lease.id).padStart(12, '0')}`));
    expect(key).toMatch(/^\/dmzgate\/[^/]+\/leases\//); // under the site's prefix
    expect((JSON.parse(kept[key!]!) as { state: string }).state).toBe('active');
  } finally {
    client.close();
  }

  const second = controller('data2');
  const api2 = (await second.line((l) => l.msg === 'controller ready', 'controller ready (restart)')).api as string;
  await second.line((l) => l.msg === 'reconciled switch' && l.dpid === '0000000000000001', 'reconcile after restart', 30_000);
  const listed = JSON.parse(await cli('transfer', 'list', '--api', api2, '--token', made.token, '--json')) as { id: number; state: string }[];
  expect(listed).toContainEqual(expect.objectContaining({ id: lease.id, state: 'active' }));
  const cookie = `cookie=0xd1${lease.id.toString(16).padStart(12, '0')},`;
  expect((await ovs.ofctl('dump-flows', 'br0')).split('\n').filter((l) => l.includes(cookie)).length).toBeGreaterThanOrEqual(2);

  const released = JSON.parse(await cli('transfer', 'release', String(lease.id), '--api', api2, '--token', made.token, '--json')) as {
    state: string;
  };
  expect(released.state).toBe('released');
  await until('lease flows gone', async () => !(await ovs.ofctl('dump-flows', 'br0')).includes(cookie));
  second.signal('SIGTERM');
  expect((await second.exited).code).toBe(0);
}, 120_000);
