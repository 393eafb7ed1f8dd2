/**
 * Flow-removed reports for flows that should still exist, against a private Open vSwitch (test/helpers/ovs.ts):
 * forged ones (injected into the real switch connection, as a rogue or broken switch would send them) and real
 * ones (`ovs-ofctl del-flows` behind the controller's back: OVS reports the delete). The drops and the bypass stay
 * on the switch through a full reconcile, and the API says what the switch holds; the real ends (OVS's own hard
 * timeouts at a block's and a lease's end) are still taken as ends, without an alarm.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../controller/controller.js';
import { FlowManager } from '../../controller/flow-manager.js';
import { silentLogger } from '../../controller/log.js';
import { OFPRR, encode } from '../../controller/openflow/index.js';
import { DmzApp } from '../../apps/dmz/dmz-app.js';
import type { DmzEvent } from '../../apps/dmz/dmz-app-shapes.js';
import { defaultSite } from '../../apps/dmz/config.js';
import { OWNER } from '../../apps/dmz/owners.js';
import { cookieId, ownerCookie, ownerIdOf } from '../../controller/cookie.js';
import { buildApi, openJournalStore, createToken, type JournalStateStore } from '../../api/index.js';
import { PrivateOvs } from '../../lab/private-ovs.js';

const BRIDGE = 'br-lost';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('flow-removed for flows that should still exist, on Open vSwitch', () => {
  let ovs: PrivateOvs;
  let controller: Controller;
  let flows: FlowManager;
  let app: DmzApp;
  let store: JournalStateStore;
  let api: FastifyInstance;
  let dataDir: string;
  let admin: string;
  let user: string;
  const lost: DmzEvent[] = [];

  beforeAll(async () => {
    const logger = silentLogger();
    dataDir = mkdtempSync(join(tmpdir(), 'dmzgate-flow-lost-'));
    store = await openJournalStore(dataDir);
    controller = new Controller({ port: 0, host: '127.0.0.1', logger });
    flows = new FlowManager(controller, { logger });
    app = new DmzApp({ site: defaultSite(), controller, flows, logger, pollIntervalMs: 0 });
    api = buildApi({ app, controller, flows, store, logger });
    app.on('event', (e) => {
      if (e.type === 'flow.lost') lost.push(e);
    });
    await app.start(await store.load());
    const { port } = await controller.listen();
    await api.ready();
    admin = (
      await createToken(store, {
        project: 'ops',
        dtns: [],
        remotes: ['0.0.0.0/0', '::/0'],
        ports: [],
        paths: [],
        maxDurationSeconds: 3600,
        scopes: ['admin'],
      })
    ).token;
    user = (
      await createToken(store, {
        project: 'astro',
        dtns: ['dtn1'],
        remotes: ['192.0.2.0/24'],
        ports: ['50000-51000'],
        paths: ['routed'],
        maxDurationSeconds: 3600,
        scopes: ['transfers:write'],
      })
    ).token;
    ovs = await new PrivateOvs().start();
    const reconciled = new Promise<void>((resolve) => flows.once('reconciled', () => resolve()));
    await ovs.addBridge(BRIDGE, 1n, { controller: `tcp:127.0.0.1:${port}`, ports: ['flp1', 'flp2', 'flp3', 'flp4', 'flp5', 'flp6', 'flp7'] });
    await reconciled;
  }, 60_000);

  afterAll(async () => {
    app?.stop();
    await api?.close();
    flows?.close();
    await controller?.close();
    await ovs?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const call = async (method: string, url: string, token: string, payload?: object) => {
    const r = await api.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });
    return { status: r.statusCode, json: r.json<Record<string, unknown>>() };
  };
  /** The flows OVS holds with this owner and id in their cookie (dump-flows lines). */
  const onSwitch = async (owner: number, id: number): Promise<string[]> => {
    const cookie = `0x${((BigInt(owner) << 48n) | BigInt(id)).toString(16)}`;
    return (await ovs.ofctl('dump-flows', BRIDGE)).split('\n').filter((l) => l.includes(`cookie=${cookie},`));
  };
  const desired = (owner: number, id: number) => flows.desiredFlows(1n).filter((f) => ownerIdOf(f.cookie) === owner && cookieId(f.cookie) === id);
  /**
   * A flow-removed for each of the desired flows, as bytes arriving on the switch's real connection (its socket's
   * 'data': framing, decoding and dispatch as for what OVS sends).
   */
  const forge = (owner: number, id: number, reason: number) => {
    const socket = (controller.get(1n) as unknown as { socket: Socket }).socket;
    for (const f of desired(owner, id)) {
      socket.emit(
        'data',
        encode({
          type: 'flowRemoved',
          xid: 0,
          cookie: f.cookie,
          priority: f.priority,
          reason,
          tableId: f.tableId,
          durationSec: 3,
          durationNsec: 0,
          idleTimeout: 0,
          hardTimeout: f.hardTimeout,
          packetCount: 0n,
          byteCount: 0n,
          match: [...f.match],
        }),
      );
    }
  };
  const activeBlocks = async () => ((await call('GET', '/api/v1/blocks?state=active', admin)).json.blocks as { id: number }[]).map((x) => x.id);
  const until = async (what: string, ok: () => Promise<boolean>, ms = 5000) => {
    const end = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(50);
    }
  };

  it('forged hard timeouts and deletes of a due block and an active lease: still on OVS after a reconcile', async () => {
    const block = await call('POST', '/api/v1/blocks', admin, { prefix: '203.0.113.9', duration: 600, reason: 'scan' });
    expect(block.status).toBe(201);
    const b = block.json.id as number;
    const xfer = await call('POST', '/api/v1/transfers', user, {
      dtn: 'dtn1',
      remote: '192.0.2.0/24',
      protocol: 'tcp',
      local_ports: ['50000-50015'],
      path: 'routed',
      duration: 600,
    });
    expect(xfer.status).toBe(201);
    const x = xfer.json.id as number;
    const blockLines = (await onSwitch(OWNER.BLOCKS, b)).length;
    const leaseLines = (await onSwitch(OWNER.LEASES, x)).length;
    expect(blockLines).toBe(2);
    expect(leaseLines).toBe(2);

    forge(OWNER.BLOCKS, b, OFPRR.HARD_TIMEOUT);
    forge(OWNER.LEASES, x, OFPRR.HARD_TIMEOUT);
    forge(OWNER.BLOCKS, b, OFPRR.DELETE);
    await sleep(300);
    // A full reconcile after the reports (as at a reconnect or a reload): nothing the API calls active goes.
    await flows.reconcile(1n);
    expect(await onSwitch(OWNER.BLOCKS, b)).toHaveLength(blockLines);
    expect(await onSwitch(OWNER.LEASES, x)).toHaveLength(leaseLines);
    expect(await activeBlocks()).toContain(b);
    expect((await call('GET', `/api/v1/transfers/${x}`, user)).json).toMatchObject({ state: 'active' });
    expect(await flows.reconcile(1n)).toMatchObject({ added: 0, deleted: 0, expired: 0, failed: [] });
    expect(lost.map((e) => e.type === 'flow.lost' && (e.block ?? e.lease))).toEqual([b, b, x, x, b, b]);
    const metrics = (await api.inject({ url: '/metrics', headers: { authorization: `Bearer ${admin}` } })).body;
    expect(metrics).toMatch(/dmzgate_flows_lost_total\{dpid="0000000000000001",owner="dmz-blocks"\} 4/);
    expect(metrics).toMatch(/dmzgate_flows_lost_total\{dpid="0000000000000001",owner="dmz-leases"\} 2/);
    lost.length = 0;

    // Extending the lease replaces its flows (OFPFC_ADD): OVS reports nothing, and nothing is taken as lost.
    expect((await call('PATCH', `/api/v1/transfers/${x}`, user, { duration: 900 })).status).toBe(200);
    await sleep(300);
    expect(lost).toEqual([]);
    expect(await call('DELETE', `/api/v1/transfers/${x}`, user)).toMatchObject({ status: 200 });
    expect(await onSwitch(OWNER.LEASES, x)).toHaveLength(0);
    expect((await call('DELETE', `/api/v1/blocks/${b}`, admin)).status).toBe(200);
    expect(await onSwitch(OWNER.BLOCKS, b)).toHaveLength(0);
    await sleep(300);
    expect(lost).toEqual([]); // (the flow-removed of our own deletes)
  });

  it("a block deleted behind the controller's back (ovs-ofctl del-flows) is back on OVS at once", async () => {
    const b = (await call('POST', '/api/v1/blocks', admin, { prefix: '203.0.113.10', reason: 'scan' })).json.id as number;
    expect(await onSwitch(OWNER.BLOCKS, b)).toHaveLength(2);
    await ovs.ofctl('del-flows', BRIDGE, `cookie=0x${ownerCookie(OWNER.BLOCKS, b).toString(16)}/-1`);
    await until('the block re-installed', async () => (await onSwitch(OWNER.BLOCKS, b)).length === 2);
    expect(lost.map((e) => e.type === 'flow.lost' && [e.block, e.reason])).toEqual([
      [b, 'deleted, but not by us'],
      [b, 'deleted, but not by us'],
    ]);
    expect(await activeBlocks()).toContain(b);
    expect(await flows.reconcile(1n)).toMatchObject({ added: 0, deleted: 0 });
    lost.length = 0;
  });

  it("real ends are still ends: OVS's hard timeouts at a block's and a lease's end raise no alarm", async () => {
    const b = (await call('POST', '/api/v1/blocks', admin, { prefix: '203.0.113.11', duration: 2, reason: 'short' })).json.id as number;
    const x = (
      await call('POST', '/api/v1/transfers', user, {
        dtn: 'dtn1',
        remote: '192.0.2.0/24',
        protocol: 'tcp',
        local_ports: ['50100'],
        path: 'routed',
        duration: 2,
      })
    ).json.id as number;
    expect(await onSwitch(OWNER.BLOCKS, b)).toHaveLength(2);
    await until('the ends', async () => app.book.blocks.get(b)?.state === 'expired' && app.lease(x)?.state === 'expired', 8000);
    await sleep(1500); // OVS's own hard timeouts (it checks about once a second) come in too
    expect(await onSwitch(OWNER.BLOCKS, b)).toHaveLength(0);
    expect(await onSwitch(OWNER.LEASES, x)).toHaveLength(0);
    expect(lost).toEqual([]);
    expect(desired(OWNER.BLOCKS, b)).toEqual([]);
  });
});
