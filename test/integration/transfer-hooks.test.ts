/**
 * The transfer-tool hooks in examples/hooks/ against a running controller and a private Open vSwitch: the
 * pre-transfer hook gets a lease (its id on stdout and in the lease file, its flows on the switch), the
 * post-transfer hook releases it (flows gone, file removed), and each failure has its documented exit status:
 * 2 called wrongly, 3 refused by the API, 4 API unreachable or unable (switch down), 5 lease already ended.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivateOvs } from '../../lab/private-ovs.js';
import { CLI, ROOT, Running, checkBuild, until } from '../../lab/dmzgate-process.js';
import { climateTokenArgs } from '../helpers/cli-token-args.js';

const run = promisify(execFile);
const PRE = join(ROOT, 'examples', 'hooks', 'dmzgate-pre-transfer');
const POST = join(ROOT, 'examples', 'hooks', 'dmzgate-post-transfer');

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

interface Ran {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a hook script; resolves with its exit status and output, whatever the status. */
function hook(script: string, args: string[], env: Record<string, string | undefined>): Promise<Ran> {
  return new Promise((resolve) => {
    execFile('bash', [script, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ status, stdout, stderr });
    });
  });
}

describe('examples/hooks: pre- and post-transfer against the running API', () => {
  let ovs: PrivateOvs;
  let work: string;
  let controller: Running;
  let env: Record<string, string>;
  let ofPort: number;

  const leaseFlows = async (id: number) => {
    const cookie = `0xd1${id.toString(16).padStart(12, '0')}`;
    return (await ovs.ofctl('dump-flows', 'br0')).split('\n').filter((l) => l.includes(`cookie=${cookie},`));
  };

  beforeAll(async () => {
    checkBuild();
    work = mkdtempSync(join(tmpdir(), 'dmzgate-hooks-'));
    ovs = await new PrivateOvs().start();
    ofPort = await freePort();
    const data = join(work, 'data');
    controller = new Running(['--openflow-port', String(ofPort), '--api-port', '0', '--data', data], work);
    const api = (await controller.line((l) => l.msg === 'controller ready', 'controller ready')).api as string;
    await ovs.addBridge('br0', 1n, { controller: `tcp:127.0.0.1:${ofPort}`, ports: ['wan', 'trunk', 'fwout', 'fwin', 'dtn1', 'ps1', 'lan1'] });
    await controller.line((l) => l.msg === 'reconciled switch' && l.dpid === '0000000000000001', 'first reconcile');
    const { stdout } = await run(process.execPath, [CLI, ...climateTokenArgs(data)]);
    const token = (JSON.parse(stdout) as { token: string }).token;
    env = { DMZGATE_API: api, DMZGATE_TOKEN: token, DMZGATE_CLI: `${process.execPath} ${CLI}` };
  });

  afterAll(async () => {
    if (controller?.running) {
      controller.signal('SIGTERM');
      await controller.exited;
    }
    await ovs?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('pre gets a lease for the GridFTP data ports (id on stdout and in the lease file); post releases it', async () => {
    const leaseFile = join(work, 'lease.id');
    const pre = await hook(PRE, ['--dtn', 'dtn1', '--remote', '192.0.2.0/24', '--duration', '30m', '--lease-file', leaseFile], {
      ...env,
      GLOBUS_TCP_PORT_RANGE: '50000,50999',
    });
    expect(pre.stderr).toMatch(/lease \d+ for dtn1 <-> 192\.0\.2\.0\/24 ports 50000-50999, until /);
    expect(pre.status).toBe(0);
    expect(pre.stdout).toMatch(/^\d+\n$/);
    const id = Number(pre.stdout);
    expect(readFileSync(leaseFile, 'utf8')).toBe(`${id}\n`);
    expect((await leaseFlows(id)).length).toBeGreaterThanOrEqual(2);

    // The same ports again overlap the lease: refused by the API.
    const again = await hook(PRE, ['--dtn', 'dtn1', '--remote', '192.0.2.0/24', '--ports', '50100-50200'], env);
    expect(again.status).toBe(3);
    expect(again.stderr).toContain('DMZ_LEASE_OVERLAP');

    const post = await hook(POST, ['--lease-file', leaseFile], env);
    expect(post.status).toBe(0);
    expect(JSON.parse(post.stdout)).toMatchObject({ id, state: 'released' });
    expect(existsSync(leaseFile)).toBe(false);
    await until('the lease flows gone', async () => (await leaseFlows(id)).length === 0);

    // Released already: the post hook says the lease had ended.
    const twice = await hook(POST, [String(id)], env);
    expect(twice.status).toBe(5);
    expect(twice.stderr).toContain(`lease ${id} had already ended`);
  });

  it('exit 3: the API refuses (the token does not allow the remote; no such lease)', async () => {
    const denied = await hook(PRE, ['--dtn', 'dtn1', '--remote', '198.51.100.0/24', '--ports', '50000'], env);
    expect(denied.status).toBe(3);
    expect(denied.stderr).toContain('DMZ_REMOTE_DENIED');
    expect(denied.stdout).toBe('');
    const unknown = await hook(POST, ['424242'], env);
    expect(unknown.status).toBe(3);
    expect(unknown.stderr).toContain('DMZ_TRANSFER_NOT_FOUND');
  });

  it('exit 2: called wrongly', async () => {
    expect((await hook(PRE, ['--remote', '192.0.2.0/24', '--ports', '50000'], env)).status).toBe(2);
    expect((await hook(PRE, ['--dtn', 'dtn1', '--remote', '192.0.2.0/24'], env)).status).toBe(2); // no ports, no GLOBUS_TCP_PORT_RANGE
    expect((await hook(PRE, ['--dtn', 'dtn1', '--remote', '192.0.2.0/24', '--ports', '50000'], { ...env, DMZGATE_TOKEN: undefined })).status).toBe(2);
    expect((await hook(PRE, ['--dtn', 'dtn1', '--remote', '192.0.2.0/24', '--ports', '50000', '--duration', 'soon'], env)).status).toBe(2);
    expect((await hook(POST, [], env)).status).toBe(2);
    expect((await hook(POST, ['--lease-file', join(work, 'none.id')], env)).status).toBe(2);
  });

  it('exit 4: the API unreachable, or unable now (the switch is down)', async () => {
    const closed = await freePort();
    const unreachable = await hook(PRE, ['--dtn', 'dtn1', '--remote', '192.0.2.0/24', '--ports', '50000'], {
      ...env,
      DMZGATE_API: `http://127.0.0.1:${closed}`,
    });
    expect(unreachable.status).toBe(4);
    expect(unreachable.stderr).toContain('DMZ_CLI_UNREACHABLE');
    expect((await hook(POST, ['1'], { ...env, DMZGATE_API: `http://127.0.0.1:${closed}` })).status).toBe(4);

    await ovs.vsctl('del-br', 'br0');
    await until(
      'the API says the switch is down',
      async () => {
        const r = await hook(PRE, ['--dtn', 'dtn1', '--remote', '192.0.2.0/24', '--ports', '50000'], env);
        return r.status === 4 && r.stderr.includes('DMZ_SWITCH_DOWN');
      },
      20_000,
    );
  });
});
