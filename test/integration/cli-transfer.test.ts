/**
 * Issue 5's proof through the command line, against a private Open vSwitch: a token made with `dmzgate token
 * create` (through the running controller's API), a transfer requested with `dmzgate transfer request`, its
 * flows in `ovs-ofctl dump-flows`; the controller killed with SIGKILL and restarted on the same state: the lease
 * and its flows are still there and their durations were not reset; `dmzgate transfer release` removes them.
 * And a kill -9 between a lease's write and the switch's answer (the switch hung): the restart installs it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivateOvs } from '../../lab/private-ovs.js';
import { CLI, Running, checkBuild, until } from '../../lab/dmzgate-process.js';
import { readState } from '../../api/index.js';
import { climateTokenArgs } from '../helpers/cli-token-args.js';

const run = promisify(execFile);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function cli(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, ...args], { timeout: 30_000 });
  return stdout;
}

/** The lease's flows on the switch: cookie and duration per flow. */
async function leaseFlows(ovs: PrivateOvs, id: number): Promise<{ duration: number; line: string }[]> {
  const cookie = `0xd1${id.toString(16).padStart(12, '0')}`;
  return (await ovs.ofctl('dump-flows', 'br0'))
    .split('\n')
    .filter((l) => l.includes(`cookie=${cookie},`))
    .map((line) => ({ line, duration: Number(/duration=([\d.]+)s/.exec(line)![1]) }));
}

describe('a transfer through the CLI survives a controller SIGKILL', () => {
  let ovs: PrivateOvs;
  let work: string;
  const started: Running[] = [];

  beforeAll(async () => {
    checkBuild();
    work = mkdtempSync(join(tmpdir(), 'dmzgate-cli-transfer-'));
    ovs = await new PrivateOvs().start();
  });

  afterAll(async () => {
    for (const p of started) if (p.running) p.signal('SIGKILL');
    await ovs?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /**
   * A controller on a new data directory, a fresh switch br0 connected to it and reconciled (the default site's:
   * dpid 1, ports 1-7 with the roles of the prototype DMZ), and a transfers token made with the CLI.
   */
  async function controllerOnFreshSwitch(dataName: string) {
    const ofPort = await freePort();
    const data = join(work, dataName);
    const args = ['--openflow-port', String(ofPort), '--api-port', '0', '--data', data];
    const first = new Running(args, work);
    started.push(first);
    const api = (await first.line((l) => l.msg === 'controller ready', 'controller ready')).api as string;
    await ovs.vsctl('--if-exists', 'del-br', 'br0'); // nothing of an earlier test
    await ovs.addBridge('br0', 1n, { controller: `tcp:127.0.0.1:${ofPort}`, ports: ['wan', 'trunk', 'fwout', 'fwin', 'dtn1', 'ps1', 'lan1'] });
    await first.line((l) => l.msg === 'reconciled switch' && l.dpid === '0000000000000001', 'first reconcile');
    const made = JSON.parse(await cli(...climateTokenArgs(data))) as { id: number; token: string };
    return { first, api, args, data, made };
  }

  it('token, request, kill -9, restart, still there with its durations counting, release', async () => {
    const { first, api, args, made } = await controllerOnFreshSwitch('data');
    expect(made.token).toMatch(/^dmzgate_\d+_/);
    // A dry run first: it lists the flows and leaves the switch as it was.
    const table = async () => (await ovs.ofctl('dump-flows', 'br0', '--no-stats')).split('\n').filter((l) => l.includes('cookie='));
    const untouched = await table();
    const request = [
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
    ];
    const plan = JSON.parse(await cli(...request, '--dry-run', '--json')) as { dry_run: boolean; flow_count: number; flows: string[] };
    expect(plan).toMatchObject({ dry_run: true });
    expect(plan.flows).toHaveLength(plan.flow_count);
    expect(await table()).toEqual(untouched);
    expect(await cli(...request, '--dry-run')).toMatch(new RegExp(`^would install ${plan.flow_count} flows on dmz1 `));

    const lease = JSON.parse(await cli(...request, '--json')) as { id: number; state: string; path: string };
    expect(lease).toMatchObject({ state: 'active', path: 'routed' });
    const before = await leaseFlows(ovs, lease.id);
    expect(before.length).toBeGreaterThanOrEqual(2); // both directions, the range as masked matches
    expect(before).toHaveLength(plan.flow_count);
    expect(before.every((f) => /hard_timeout=3[56]\d\d/.test(f.line) && /send_flow_rem/.test(f.line))).toBe(true);

    // A token beyond its limits is refused, with the constraint named.
    await expect(
      cli(
        'transfer',
        'request',
        '--api',
        api,
        '--token',
        made.token,
        '--dtn',
        'dtn1',
        '--remote',
        '198.51.100.0/24',
        '--ports',
        '50000',
        '--duration',
        '10m',
      ),
    ).rejects.toThrow(/DMZ_REMOTE_DENIED|remote/);

    first.signal('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    // Fail-secure: the switch keeps forwarding with what it holds while no controller is there.
    await new Promise((r) => setTimeout(r, 2000));
    expect((await leaseFlows(ovs, lease.id)).length).toBe(before.length);

    const second = new Running(args, work);
    started.push(second);
    const ready2 = await second.line((l) => l.msg === 'controller ready', 'controller ready (restart)');
    const rec = await second.line((l) => l.msg === 'reconciled switch' && l.dpid === '0000000000000001', 'reconcile after restart', 30_000);
    expect(rec.deleted).toBe(0);
    const after = await leaseFlows(ovs, lease.id);
    expect(after.length).toBe(before.length);
    // Not deleted and re-added: every lease flow is older now than it was before the kill, by the downtime.
    for (const f of after) expect(f.duration).toBeGreaterThanOrEqual(Math.min(...before.map((b) => b.duration)) + 2);

    const listed = JSON.parse(await cli('transfer', 'list', '--api', ready2.api as string, '--token', made.token, '--json')) as {
      id: number;
      state: string;
    }[];
    expect(listed).toContainEqual(expect.objectContaining({ id: lease.id, state: 'active' }));

    const released = JSON.parse(
      await cli('transfer', 'release', String(lease.id), '--api', ready2.api as string, '--token', made.token, '--json'),
    ) as { state: string };
    expect(released.state).toBe('released');
    await until('lease flows gone', async () => (await leaseFlows(ovs, lease.id)).length === 0);
    second.signal('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });

  it('a kill -9 after the lease was written and before the switch answered: the restart installs it', async () => {
    // The lease's record is written while the switch installs its flows; a crash between the two leaves a
    // recorded lease that was never acknowledged. Here the switch is hung (SIGSTOP) so the crash lands there.
    const { first, api, args, data, made } = await controllerOnFreshSwitch('data-crash');

    const vswitchd = ovs.vswitchdPid!;
    process.kill(vswitchd, 'SIGSTOP');
    let lease: { id: number; state: string } | undefined;
    try {
      const request = fetch(`${api}/api/v1/transfers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${made.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ dtn: 'dtn1', remote: '192.0.2.0/24', protocol: 'tcp', local_ports: ['50000-50100'], path: 'routed', duration: 3600 }),
      }).then(
        (r) => r.status,
        () => 'no answer',
      );
      await until('the lease in the state file', async () => {
        lease = Object.values((await readState(data)).leases).find((l) => l.state === 'active');
        return lease !== undefined;
      });
      first.signal('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');
      expect(await request).toBe('no answer'); // never acknowledged
    } finally {
      process.kill(vswitchd, 'SIGCONT');
    }
    expect(await leaseFlows(ovs, lease!.id)).toHaveLength(0); // the bundle never committed

    const second = new Running(args, work);
    started.push(second);
    const api2 = (await second.line((l) => l.msg === 'controller ready', 'controller ready (restart)')).api as string;
    await second.line((l) => l.msg === 'reconciled switch' && l.dpid === '0000000000000001', 'reconcile after restart', 30_000);
    expect((await leaseFlows(ovs, lease!.id)).length).toBeGreaterThanOrEqual(2);
    const listed = JSON.parse(await cli('transfer', 'list', '--api', api2, '--token', made.token, '--json')) as { id: number; state: string }[];
    expect(listed).toContainEqual(expect.objectContaining({ id: lease!.id, state: 'active' }));
    second.signal('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });
});
