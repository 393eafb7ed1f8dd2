/**
 * The REST API as a client uses it, over real HTTP and WebSocket, with the DMZ app driving a private Open vSwitch
 * (lab/private-ovs.ts) through the controller. OVS is the judge: a granted transfer's flows are in
 * `ovs-ofctl dump-flows` when the 201 arrives, and gone when the DELETE answers; the event stream delivers the
 * lease's events in order, across a reconnect with `since=`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../controller/controller.js';
import { FlowManager } from '../../controller/flow-manager.js';
import { silentLogger } from '../../controller/log.js';
import { DmzApp } from '../../apps/dmz/dmz-app.js';
import { defaultSite } from '../../apps/dmz/config.js';
import { buildApi, openJournalStore, createToken, type JournalStateStore } from '../../api/index.js';
import { PrivateOvs } from '../../lab/private-ovs.js';
import { RawSwitch } from '../helpers/raw-switch.js';
import { connectEvents } from '../unit/api/ws-client.js';

const BRIDGE = 'br-api';

/** Lease flows (cookie owner 0xd1) as OVS prints them. */
async function leaseFlows(ovs: PrivateOvs, id: number): Promise<string[]> {
  const cookie = `0xd1${id.toString(16).padStart(12, '0')}`;
  return (await ovs.ofctl('dump-flows', BRIDGE)).split('\n').filter((l) => l.includes(`cookie=${cookie},`));
}

describe('REST API against Open vSwitch', () => {
  let ovs: PrivateOvs;
  let controller: Controller;
  let flows: FlowManager;
  let app: DmzApp;
  let store: JournalStateStore;
  let api: FastifyInstance;
  let dataDir: string;
  let base: string;
  let token: string;
  let ofPort: number;

  beforeAll(async () => {
    const logger = silentLogger();
    dataDir = mkdtempSync(join(tmpdir(), 'dmzgate-api-ovs-'));
    // Wired as bin/dmzgate.ts wires it: state first, API (following the app's events), app start, listeners.
    store = await openJournalStore(dataDir);
    controller = new Controller({ port: 0, host: '127.0.0.1', logger });
    flows = new FlowManager(controller, { logger });
    app = new DmzApp({ site: defaultSite(), controller, flows, logger, pollIntervalMs: 0 });
    api = buildApi({ app, controller, flows, store, logger });
    await app.start(await store.load());
    const { port } = await controller.listen();
    ofPort = port!;
    await api.listen({ port: 0, host: '127.0.0.1' });
    base = `127.0.0.1:${(api.server.address() as { port: number }).port}`;
    token = (
      await createToken(store, {
        project: 'astro',
        dtns: ['dtn1'],
        remotes: ['192.0.2.0/24'],
        ports: ['50000-51000'],
        paths: ['routed', 'circuit:esnet'],
        maxDurationSeconds: 3600,
        maxRateMbps: 2000,
        scopes: ['transfers:write'],
      })
    ).token;

    ovs = await new PrivateOvs().start();
    const reconciled = new Promise<void>((resolve) => flows.once('reconciled', () => resolve()));
    await ovs.addBridge(BRIDGE, 1n, { controller: `tcp:127.0.0.1:${port}`, ports: ['ap1', 'ap2', 'ap3', 'ap4', 'ap5', 'ap6', 'ap7'] });
    await reconciled;
  });

  afterAll(async () => {
    app?.stop();
    await api?.close();
    flows?.close();
    await controller?.close();
    await ovs?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const call = async (method: string, path: string, body?: object) => {
    const r = await fetch(`http://${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, json: (await r.json()) as Record<string, unknown> };
  };

  it('is ready once the switch is connected', async () => {
    const r = await fetch(`http://${base}/readyz`);
    expect(r.status).toBe(200);
    const sw = await call('GET', '/api/v1/switches');
    expect((sw.json.switches as { connected: boolean; flows: { on_switch: number; desired: number } }[])[0]).toMatchObject({ connected: true });
  });

  it('a granted transfer is in dump-flows when the 201 arrives; events arrive in order across a reconnect with since=', async () => {
    const ws1 = await connectEvents(`ws://${base}/api/v1/events`, { headers: { authorization: `Bearer ${token}` } });

    const created = await call('POST', '/api/v1/transfers', {
      dtn: 'dtn1',
      remote: '192.0.2.0/24',
      protocol: 'tcp',
      local_ports: ['50000-50015'],
      path: 'routed',
      duration: 600,
      rate_mbps: 500,
    });
    expect(created.status).toBe(201);
    const id = created.json.id as number;
    // No waiting: OVS holds the flows now. 50000-50015 is 50000/0xfff0: one masked match per direction.
    const lines = await leaseFlows(ovs, id);
    expect(lines).toHaveLength(2);
    const inbound = lines.find((l) => l.includes('in_port=1'))!;
    expect(inbound).toMatch(
      /priority=40000,tcp,in_port=1,nw_src=192\.0\.2\.0\/24,nw_dst=10\.10\.1\.10,tp_dst=0xc350\/0xfff0 actions=meter:\d+,output:5/,
    );
    expect(inbound).toMatch(/hard_timeout=600/);
    expect(inbound).toContain('send_flow_rem');
    expect(lines.find((l) => l.includes('in_port=5'))).toMatch(
      /nw_src=10\.10\.1\.10,nw_dst=192\.0\.2\.0\/24,tp_src=0xc350\/0xfff0 actions=meter:\d+,output:1/,
    );
    expect(await ovs.ofctl('dump-meters', BRIDGE)).toMatch(/rate=500000/);

    // The API's own view of the switch reads the same table.
    const view = await call('GET', '/api/v1/switches');
    const dump = (await ovs.ofctl('dump-flows', BRIDGE)).split('\n').filter((l) => l.includes('cookie=')).length;
    expect((view.json.switches as { flows: { on_switch: number } }[])[0]!.flows.on_switch).toBe(dump);

    await ws1.until((c) => c.events.length === 1);
    expect(ws1.events[0]).toMatchObject({ type: 'lease.created', transfer: { id } });
    const seen = ws1.events[0]!.id!;
    await ws1.close();

    // While the client is away: the transfer is extended, then released.
    const extended = await call('PATCH', `/api/v1/transfers/${id}`, { duration: 1200 });
    expect(extended.status).toBe(200);
    expect((await leaseFlows(ovs, id)).every((l) => /hard_timeout=1200/.test(l))).toBe(true);
    const released = await call('DELETE', `/api/v1/transfers/${id}`);
    expect(released.status).toBe(200);
    expect(released.json.state).toBe('released');
    expect(await leaseFlows(ovs, id)).toEqual([]); // gone when the DELETE answered

    const ws2 = await connectEvents(`ws://${base}/api/v1/events?since=${seen}`, { headers: { authorization: `Bearer ${token}` } });
    await ws2.until((c) => c.events.length === 2);
    expect(ws2.events.map((e) => [e.id, e.type])).toEqual([
      [seen + 1, 'lease.extended'],
      [seen + 2, 'lease.closed'],
    ]);
    expect(ws2.events[1]!.transfer).toMatchObject({ id, state: 'released' });

    // And live again after the replay.
    const next = await call('POST', '/api/v1/transfers', {
      dtn: 'dtn1',
      remote: '192.0.2.9',
      protocol: 'udp',
      local_ports: ['50100'],
      path: 'routed',
      duration: 60,
    });
    expect(next.status).toBe(201);
    await ws2.until((c) => c.events.length === 3);
    expect(ws2.events[2]).toMatchObject({ id: seen + 3, type: 'lease.created', transfer: { id: next.json.id } });
    expect(await leaseFlows(ovs, next.json.id as number)).toHaveLength(2);
    await ws2.close();
  });

  it('a block on ::ffff:198.51.100.7 installs IPv4 drop flows, and OVS drops the IPv4 host', async () => {
    const ids = (
      await createToken(store, {
        project: 'ids',
        dtns: [],
        remotes: ['0.0.0.0/0', '::/0'],
        ports: [],
        paths: [],
        maxDurationSeconds: 60,
        scopes: ['blocks:write'],
      })
    ).token;
    const trace = () => ovs.appctl('ofproto/trace', BRIDGE, 'in_port=1,tcp,nw_src=198.51.100.7,nw_dst=10.10.1.10,tcp_src=40000,tcp_dst=50000');
    expect(await trace()).not.toMatch(/priority 60000/);
    const r = await fetch(`http://${base}/api/v1/blocks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ids}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prefix: '::ffff:198.51.100.7', reason: 'mapped spelling' }),
    });
    expect(r.status).toBe(201);
    const block = (await r.json()) as { id: number; prefix: string };
    expect(block.prefix).toBe('198.51.100.7/32');
    const cookie = `0xd2${block.id.toString(16).padStart(12, '0')}`;
    const drops = (await ovs.ofctl('dump-flows', BRIDGE)).split('\n').filter((l) => l.includes(`cookie=${cookie},`));
    expect(drops).toHaveLength(2);
    expect(drops.some((l) => /priority=60000,ip,nw_src=198\.51\.100\.7 actions=drop/.test(l))).toBe(true);
    expect(drops.some((l) => /priority=60000,ip,nw_dst=198\.51\.100\.7 actions=drop/.test(l))).toBe(true);
    expect(drops.join('\n')).not.toMatch(/ipv6/);
    const traced = await trace();
    expect(traced).toMatch(new RegExp(`^ 0\\. .*priority 60000, cookie ${cookie}$`, 'm'));
    expect(traced).toMatch(/^Datapath actions: drop$/m);
  });

  it("a rogue client claiming the bridge's datapath id is refused: the bridge keeps its flows, and the next lease lands on it", async () => {
    const before = (await ovs.ofctl('dump-flows', BRIDGE)).split('\n').filter((l) => l.includes('cookie=')).length;
    const real = controller.get(1n)!;
    const rogue = await RawSwitch.connect(ofPort, { dpid: 1n, nPorts: 7 });
    await rogue.closed;
    expect(controller.get(1n)).toBe(real);
    const created = await call('POST', '/api/v1/transfers', {
      dtn: 'dtn1',
      remote: '192.0.2.77',
      protocol: 'tcp',
      local_ports: ['50200'],
      path: 'routed',
      duration: 60,
    });
    expect(created.status).toBe(201);
    // On the real switch when the 201 arrives, beside everything it held before; the rogue got no flow-mod.
    expect(await leaseFlows(ovs, created.json.id as number)).toHaveLength(2);
    expect((await ovs.ofctl('dump-flows', BRIDGE)).split('\n').filter((l) => l.includes('cookie=')).length).toBe(before + 2);
    expect(rogue.received.filter((m) => m.type === 'flowMod')).toEqual([]);
    const metrics = await (await fetch(`http://${base}/metrics`)).text();
    expect(metrics).toMatch(/dmzgate_openflow_refused_total\{reason="datapath-in-use"\} 1\n/);
    expect((await call('DELETE', `/api/v1/transfers/${created.json.id as number}`)).status).toBe(200);
  });

  it('a refusal by the token never reaches the switch', async () => {
    const before = await ovs.ofctl('dump-flows', BRIDGE);
    const r = await call('POST', '/api/v1/transfers', {
      dtn: 'dtn1',
      remote: '198.51.100.0/24',
      protocol: 'tcp',
      local_ports: ['50000'],
      path: 'routed',
      duration: 60,
    });
    expect(r.status).toBe(403);
    expect(r.json).toMatchObject({ code: 'DMZ_REMOTE_DENIED', constraint: 'remote' });
    const after = await ovs.ofctl('dump-flows', BRIDGE);
    const cookies = (t: string) =>
      t
        .split('\n')
        .map((l) => /cookie=(0x[0-9a-f]+)/.exec(l)?.[1])
        .filter(Boolean)
        .sort();
    expect(cookies(after)).toEqual(cookies(before));
  });
});
