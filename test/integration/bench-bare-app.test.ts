/**
 * bench/bare-rest-app.ts, the bare REST app bench:api measures beside dmzgate, as the bench runs it (the built
 * script in its own process, a private Open vSwitch bridge connecting to it): a transfer's two flows are on the
 * switch when it answers 201 and gone when its DELETE answers; a duplicate is a 409, a remote outside the range a
 * 403, a body the schema refuses a 400, a wrong token a 401. The bench's figures for it mean something only if it
 * does what the os-ken app does (bench/osken_rest_app.py), no less.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivateOvs } from '../../lab/private-ovs.js';
import { ROOT, until } from '../../lab/dmzgate-process.js';
import { freePort } from '../../bench/local-ports.js';
import { requestOnce } from '../../bench/http-conn.js';
import { ownerCookie } from '../../controller/cookie.js';
import { OWNER } from '../../apps/dmz/owners.js';

const BARE = join(ROOT, 'dist', 'bench', 'bare-rest-app.js');
const BRIDGE = 'br-bare';
const TOKEN = 'bare-test-token';

describe("the bench's bare REST app against Open vSwitch", () => {
  let ovs: PrivateOvs;
  let proc: ChildProcess | undefined;
  let out = '';
  let api = 0;

  const post = (body: Record<string, unknown>, token = TOKEN) =>
    requestOnce(api, `Bearer ${token}`, 'POST', '/api/v1/transfers', JSON.stringify(body));
  const transfer = (remote: string, over: Record<string, unknown> = {}) => ({
    dtn: 'dtn1',
    remote,
    protocol: 'tcp',
    local_ports: ['50000'],
    remote_ports: ['33000'],
    path: 'routed',
    duration: 600,
    ...over,
  });
  const leaseFlows = async () =>
    (await ovs.ofctl('dump-flows', BRIDGE, 'cookie=0x00d1000000000000/0xffff000000000000')).split('\n').filter((l) => l.includes('cookie='));

  beforeAll(async () => {
    if (!existsSync(BARE)) throw new Error(`${BARE} is missing: run \`npm run build\` (scripts/test.sh does) before this test`);
    ovs = await new PrivateOvs().start();
    const ofPort = await freePort();
    proc = spawn(process.execPath, [BARE, '--openflow-port', String(ofPort)], {
      env: { ...process.env, BARE_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
    });
    proc.stderr!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
    });
    await until("the bare app's API", async () => /"api":"[^"]*:(\d+)"/.test(out) || proc!.exitCode !== null);
    const listening = /"api":"[^"]*:(\d+)"/.exec(out);
    if (!listening) throw new Error(`the bare app exited: ${out}`);
    api = Number(listening[1]);
    await ovs.addBridge(BRIDGE, 1n, { controller: `tcp:127.0.0.1:${ofPort}`, ports: ['bw1', 'bw2', 'bw3', 'bw4', 'bw5', 'bw6', 'bw7'] });
    await until('the bridge connected to the bare app', async () => out.includes('"switch ready"'), 15_000);
  });

  afterAll(async () => {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc!.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    await ovs?.stop();
  });

  it('answers 201 once both flows of the transfer are on the switch, as the os-ken app installs them', async () => {
    const r = await post(transfer('198.18.0.7'));
    expect(r.status, r.body).toBe(201);
    const t = JSON.parse(r.body) as { id: number; state: string };
    expect(t.state).toBe('active');
    const flows = await leaseFlows();
    expect(flows).toHaveLength(2);
    const cookie = `0x${ownerCookie(OWNER.LEASES, t.id).toString(16)}`;
    for (const f of flows) expect(f).toMatch(new RegExp(`cookie=${cookie},.*hard_timeout=600, send_flow_rem priority=40000,tcp`));
    expect(flows.some((f) => /in_port=1,nw_src=198\.18\.0\.7,nw_dst=10\.10\.1\.10,tp_src=33000,tp_dst=50000 actions=output:5/.test(f))).toBe(true);
    expect(flows.some((f) => /in_port=5,nw_src=10\.10\.1\.10,nw_dst=198\.18\.0\.7,tp_src=50000,tp_dst=33000 actions=output:1/.test(f))).toBe(true);

    const dup = await post(transfer('198.18.0.7'));
    expect(dup.status).toBe(409);
    expect(JSON.parse(dup.body)).toMatchObject({ code: 'DMZ_OVERLAP' });

    const del = await requestOnce(api, `Bearer ${TOKEN}`, 'DELETE', `/api/v1/transfers/${t.id}`);
    expect(del.status, del.body).toBe(200);
    expect(await leaseFlows()).toHaveLength(0);
    expect((await requestOnce(api, `Bearer ${TOKEN}`, 'DELETE', `/api/v1/transfers/${t.id}`)).status).toBe(404);
  });

  it('refuses what the os-ken app refuses, and installs nothing for it', async () => {
    expect((await post(transfer('198.20.0.1'))).status).toBe(403); // outside 198.18.0.0/15
    expect((await post(transfer('198.18.0.8', { path: 'circuit:esnet' }))).status).toBe(422);
    expect((await post(transfer('198.18.0.8', { extra: 1 }))).status).toBe(400);
    expect((await post(transfer('198.18.0.8', { local_ports: ['50000', '50001'] }))).status).toBe(400);
    expect((await post(transfer('198.18.0.8'), 'wrong-token')).status).toBe(401);
    expect(await leaseFlows()).toHaveLength(0);
    const sw = await requestOnce(api, `Bearer ${TOKEN}`, 'GET', '/api/v1/switches');
    expect(JSON.parse(sw.body)).toEqual({ switches: [{ dpid: '0000000000000001', connected: true }] });
  });
});
