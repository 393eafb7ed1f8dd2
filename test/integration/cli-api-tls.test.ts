/**
 * The built `dmzgate controller` with its REST API over HTTPS and /metrics behind a token (no switch needed):
 * the command's own clients (`dmzgate token create` through the running controller, `dmzgate transfer list`)
 * speak to it when told to trust the certificate's issuer (NODE_EXTRA_CA_CERTS), and say why they cannot when
 * not; a real HTTPS client reads /metrics only with a token of scope metrics; the data directory and the files
 * in it are the owner's only.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, Running, checkBuild } from '../../lab/dmzgate-process.js';
import { selfSigned } from '../helpers/self-signed.js';

const run = promisify(execFile);

function get(url: string, ca: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers, timeout: 5000 }, (res) => {
      let body = '';
      res
        .setEncoding('utf8')
        .on('data', (s: string) => {
          body += s;
        })
        .on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('dmzgate controller --api-tls-key/--api-tls-cert --metrics-auth', () => {
  let work = '';
  let pki: ReturnType<typeof selfSigned>;
  let proc: Running;
  let api = '';
  const data = () => join(work, 'data');
  const cli = (env: Record<string, string>, ...args: string[]) =>
    run(process.execPath, [CLI, ...args], { timeout: 30_000, env: { ...process.env, DMZGATE_API: '', DMZGATE_TOKEN: '', ...env } });

  beforeAll(async () => {
    checkBuild();
    work = mkdtempSync(join(tmpdir(), 'dmzgate-cli-tls-'));
    pki = selfSigned(work);
    proc = new Running(
      ['--openflow-port', '0', '--api-port', '0', '--data', data(), '--api-tls-key', pki.keyFile, '--api-tls-cert', pki.certFile, '--metrics-auth'],
      work,
    );
    api = (await proc.line((l) => l.msg === 'controller ready', 'controller ready')).api as string;
  });

  afterAll(async () => {
    if (proc?.running) {
      proc.signal('SIGTERM');
      await proc.exited;
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('announces an https URL; the data directory is 0700 and its files 0600', () => {
    expect(api).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(statSync(data()).mode & 0o777).toBe(0o700);
    for (const f of ['controller.pid', 'admin.token', 'dmzgate-state.journal']) expect(statSync(join(data(), f)).mode & 0o777, f).toBe(0o600);
  });

  it("the command's clients speak HTTPS when they trust the issuer, and say why not when they do not", async () => {
    const trust = { NODE_EXTRA_CA_CERTS: pki.certFile };
    const created = await cli(trust, 'token', 'create', '--data', data(), '--project', 'prometheus', '--scope', 'metrics');
    const metricsToken = /dmzgate_\d+_\S+/.exec(created.stdout)![0];
    const admin = readFileSync(join(data(), 'admin.token'), 'utf8').trim();
    const listed = await cli({ ...trust, DMZGATE_TOKEN: admin }, 'transfer', 'list', '--api', api, '--json');
    expect(JSON.parse(listed.stdout)).toEqual([]);
    const refused = await cli({ DMZGATE_TOKEN: admin }, 'transfer', 'list', '--api', api).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toMatch(/DMZ_CLI_UNREACHABLE.*self-signed certificate.*NODE_EXTRA_CA_CERTS/);

    expect((await get(`${api}/metrics`, pki.cert)).status).toBe(401);
    const m = await get(`${api}/metrics`, pki.cert, { authorization: `Bearer ${metricsToken}` });
    expect(m.status).toBe(200);
    expect(m.body).toContain('dmzgate_api_auth_failures_total');
    expect((await get(`${api}/openapi.json`, pki.cert)).status).toBe(200);
  });
});
