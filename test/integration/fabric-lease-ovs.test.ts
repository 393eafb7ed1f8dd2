/**
 * A lease across a fabric of three Open vSwitch bridges (one private ovs-vswitchd, lab/private-ovs.ts) joined by
 * patch ports as the supercomputer site config cables them (border - core - leaf, and leaf - border at a higher
 * cost), driven through the REST API as a client uses it. OVS is the judge: the lease's flows are on all three
 * bridges when the 201 arrives, ofproto/trace takes the transfer's packet from the DTN's port to the WAN without
 * meeting the firewall's legs (and the same packet without a lease to the firewall), a flow-mod the third bridge
 * refuses leaves nothing of the lease on the other two while the API answers DMZ_SWITCH_REFUSED, a release takes it
 * off everywhere, and a link of its path going down moves it to the other path (lease.path-moved on the stream).
 * With backup paths its fast-failover groups go with it, and a switch that lost them gets them back on reconnect.
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
import { parseSiteConfig } from '../../apps/dmz/config.js';
import { buildApi, openJournalStore, createToken, type JournalStateStore } from '../../api/index.js';
import { PrivateOvs } from '../../lab/private-ovs.js';
import { supercomputerYaml } from '../helpers/science-dmz-fabrics.js';
import { connectEvents } from '../unit/api/ws-client.js';

const BRIDGES = { border: 1n, core: 2n, leaf: 3n } as const;
type Bridge = keyof typeof BRIDGES;
/** Internal ports 1..n in this order (their ofport is their place), beside the site config's roles. */
const PORTS: Record<Bridge, string[]> = { border: ['bwan', 'bfwo', 'bfwi', 'bcir'], core: [], leaf: ['ldtn1', 'ldtn2', 'llan'] };
/** The config's links as patch ports: [bridge, ofport, peer bridge, peer ofport]. */
const PATCHES: [Bridge, number, Bridge, number][] = [
  ['border', 10, 'core', 10],
  ['core', 11, 'leaf', 10],
  ['leaf', 11, 'border', 12],
];

describe('a lease across three Open vSwitch bridges', () => {
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

  /** The lease's flows (cookie owner 0xd1, its id below) on a bridge, as OVS prints them. */
  const leaseFlows = async (bridge: Bridge, id: number): Promise<string[]> => {
    const cookie = `0xd1${id.toString(16).padStart(12, '0')}`;
    return (await ovs.ofctl('dump-flows', bridge)).split('\n').filter((l) => l.includes(`cookie=${cookie},`));
  };
  const counts = async (id: number): Promise<Record<Bridge, number>> => ({
    border: (await leaseFlows('border', id)).length,
    core: (await leaseFlows('core', id)).length,
    leaf: (await leaseFlows('leaf', id)).length,
  });

  /** The datapath port numbers of the interfaces (ofproto/trace prints datapath actions in them). */
  const dpPorts = async (): Promise<Map<string, number>> => {
    const out = new Map<string, number>();
    for (const m of (await ovs.appctl('dpif/show')).matchAll(/^\s+(\S+) \d+\/(\d+):/gm)) out.set(m[1]!, Number(m[2]));
    return out;
  };
  /**
   * The datapath ports a TCP packet from dtn1 to 192.0.2.5, sent into leaf's DTN port, leaves by (ofproto/trace
   * follows patch ports into the peer bridge; meters it passes are left out).
   */
  const trace = async (srcPort: number): Promise<string> => {
    const text = await ovs.appctl(
      'ofproto/trace',
      'leaf',
      `in_port=1,tcp,dl_src=02:00:00:00:03:01,dl_dst=02:00:00:00:00:fe,nw_src=10.10.1.10,nw_dst=192.0.2.5,tp_src=${srcPort},tp_dst=2811`,
    );
    const actions = /^Datapath actions: (.*)$/m.exec(text)?.[1];
    if (actions === undefined) throw new Error(`no datapath actions in the trace:\n${text}`);
    return actions
      .split(',')
      .filter((a) => !a.startsWith('meter('))
      .join(',');
  };

  /** Table 0 of the bridge refuses any flow beyond those it holds now (OFPFMFC_TABLE_FULL). */
  const freezeTable = async (bridge: Bridge): Promise<void> => {
    const held = (await ovs.ofctl('dump-flows', bridge, 'table=0')).split('\n').filter((l) => l.includes('cookie=')).length;
    await ovs.vsctl(
      '--',
      '--id=@t',
      'create',
      'flow_table',
      `flow_limit=${held}`,
      'overflow_policy=refuse',
      '--',
      'set',
      'bridge',
      bridge,
      'flow_tables:0=@t',
    );
  };

  const call = async (method: string, path: string, body?: object) => {
    const r = await fetch(`http://${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, json: (await r.json()) as Record<string, unknown> };
  };
  /** The transfer these tests ask for; `query`: `?dry_run=true` for a dry run. */
  const request = (query = '') =>
    call('POST', `/api/v1/transfers${query}`, {
      dtn: 'dtn1',
      remote: '192.0.2.0/24',
      protocol: 'tcp',
      local_ports: ['50000-50015'],
      path: 'routed',
      duration: 600,
      // (the leaf - border link that a move takes has 1000 Mbit/s: a lease reserving more has no other path)
      rate_mbps: 500,
    });

  beforeAll(async () => {
    const logger = silentLogger();
    dataDir = mkdtempSync(join(tmpdir(), 'dmzgate-fabric-ovs-'));
    store = await openJournalStore(dataDir);
    controller = new Controller({ port: 0, host: '127.0.0.1', logger });
    flows = new FlowManager(controller, { logger });
    app = new DmzApp({ site: parseSiteConfig(supercomputerYaml('  backup-paths: true\n')), controller, flows, logger, pollIntervalMs: 0 });
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
        paths: ['routed'],
        maxDurationSeconds: 3600,
        maxRateMbps: 2000,
        scopes: ['transfers:write'],
      })
    ).token;

    ovs = await new PrivateOvs().start();
    for (const [name, dpid] of Object.entries(BRIDGES)) await ovs.addBridge(name, dpid, { ports: PORTS[name as Bridge] });
    for (const [a, pa, b, pb] of PATCHES) {
      const [ia, ib] = [`${a}-${pa}`, `${b}-${pb}`];
      await ovs.vsctl('add-port', a, ia, '--', 'set', 'interface', ia, 'type=patch', `options:peer=${ib}`, `ofport_request=${pa}`);
      await ovs.vsctl('add-port', b, ib, '--', 'set', 'interface', ib, 'type=patch', `options:peer=${ia}`, `ofport_request=${pb}`);
    }
    const pending = new Set<bigint>(Object.values(BRIDGES));
    const reconciled = new Promise<void>((resolve) =>
      flows.on('reconciled', (d) => {
        pending.delete(d);
        if (pending.size === 0) resolve();
      }),
    );
    for (const name of Object.keys(BRIDGES)) await ovs.setController(name, `tcp:127.0.0.1:${port}`);
    await reconciled;
  }, 150_000);

  afterAll(async () => {
    app?.stop();
    await api?.close();
    flows?.close();
    await controller?.close();
    await ovs?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('installs on all three bridges; the packet goes DTN -> WAN past the firewall; a release takes it off everywhere', async () => {
    const ports = await dpPorts();
    // Without a lease the transfer's packet goes to the firewall's inside leg (border port 3).
    expect(await trace(50001)).toBe(String(ports.get('bfwi')));

    const created = await request();
    expect(created.status).toBe(201);
    const id = created.json.id as number;
    const on = await counts(id);
    expect(on.border).toBeGreaterThan(0);
    expect(on.core).toBeGreaterThan(0);
    expect(on.leaf).toBeGreaterThan(0);
    // The leased ports go out of the WAN port (border port 1) and nowhere else; another port still meets the firewall.
    expect(await trace(50001)).toBe(String(ports.get('bwan')));
    expect(await trace(40000)).toBe(String(ports.get('bfwi')));

    const released = await call('DELETE', `/api/v1/transfers/${id}`);
    expect(released.status).toBe(200);
    expect(await counts(id)).toEqual({ border: 0, core: 0, leaf: 0 });
    expect(await trace(50001)).toBe(String(ports.get('bfwi')));
  });

  it('a dry run answers what each switch of the path would install, exit first; the real request installs just that', async () => {
    const dry = await request('?dry_run=true');
    expect(dry.status).toBe(200);
    const path = dry.json.path as { switch: string; flow_count: number; flows: string[]; flow_budget: { switch: number; switch_in_use: number } }[];
    expect(path.map((h) => h.switch)).toEqual(['border', 'core', 'leaf']);
    // The fields outside `path` are the DTN's switch's.
    expect(dry.json).toMatchObject({ switch: 'leaf', flow_count: path[2]!.flow_count });
    for (const h of path) expect(h.flow_count).toBe(h.flows.length);
    const created = await request();
    expect(created.status).toBe(201);
    const id = created.json.id as number;
    const on = await counts(id);
    expect(path.map((h) => h.flow_count)).toEqual([on.border, on.core, on.leaf]);
    expect((await call('DELETE', `/api/v1/transfers/${id}`)).status).toBe(200);
  });

  it('a flow-mod the third bridge refuses leaves nothing on the other two, and the API answers DMZ_SWITCH_REFUSED', async () => {
    // The leaf (the entry: committed last) holds no more flows in table 0 than it has now.
    await freezeTable('leaf');
    try {
      const refused = await request();
      expect(refused.status).toBe(502);
      expect(refused.json).toMatchObject({ code: 'DMZ_SWITCH_REFUSED', switch_error: { type: 'OFPET_FLOW_MOD_FAILED', code: 'OFPFMFC_TABLE_FULL' } });
      const id = (await call('GET', '/api/v1/transfers')).json;
      expect(JSON.stringify(id)).not.toMatch(/"state":"active"/);
      for (const bridge of Object.keys(BRIDGES) as Bridge[]) {
        const lines = (await ovs.ofctl('dump-flows', bridge)).split('\n').filter((l) => l.includes('cookie=0xd1'));
        expect(lines, bridge).toEqual([]);
      }
    } finally {
      await ovs.vsctl('clear', 'bridge', 'leaf', 'flow_tables');
    }
  });

  it('a link of its path going down moves the lease to the other path, all of it, with lease.path-moved', async () => {
    const ws = await connectEvents(`ws://${base}/api/v1/events`, { headers: { authorization: `Bearer ${token}` } });
    const created = await request();
    expect(created.status).toBe(201);
    const id = created.json.id as number;
    expect((await counts(id)).core).toBeGreaterThan(0);

    await app.linkChanged('core:11-leaf:10', false);
    const moved = await counts(id);
    expect(moved.core).toBe(0);
    expect(moved.leaf).toBeGreaterThan(0);
    expect(moved.border).toBeGreaterThan(0);
    const ports = await dpPorts();
    expect(await trace(50001)).toBe(String(ports.get('bwan')));
    await ws.until((c) => c.events.some((m) => m.type === 'lease.path-moved'), 5000, 'lease.path-moved');
    expect(ws.events.find((m) => m.type === 'lease.path-moved')).toMatchObject({
      type: 'lease.path-moved',
      transfer: { id },
      route: { link: 'core:11-leaf:10', hops: ['border', 'leaf'] },
    });
    await ws.close();

    await app.linkChanged('core:11-leaf:10', true);
    expect((await call('DELETE', `/api/v1/transfers/${id}`)).status).toBe(200);
    expect(await counts(id)).toEqual({ border: 0, core: 0, leaf: 0 });
  });

  it('a move the border refuses leaves the lease on the path it had (lease.path-lost); the link back, it moves', async () => {
    // Without backup paths, so that the move adds flows (with them, the detours' flows are there already).
    await app.reloadSite(parseSiteConfig(supercomputerYaml()));
    const ws = await connectEvents(`ws://${base}/api/v1/events`, { headers: { authorization: `Bearer ${token}` } });
    try {
      const created = await request();
      expect(created.status).toBe(201);
      const id = created.json.id as number;
      const on = await counts(id);
      // The border (the exit: committed first) takes no flow more: the new path's flows there are refused.
      await freezeTable('border');
      try {
        await app.linkChanged('core:11-leaf:10', false);
        // Nothing of the move is anywhere: the old path's flows are all still there.
        expect(await counts(id)).toEqual(on);
        await ws.until((c) => c.events.some((m) => m.type === 'lease.path-lost'), 5000, 'lease.path-lost');
        expect(ws.events.some((m) => m.type === 'lease.path-moved')).toBe(false);
        expect(ws.events.find((m) => m.type === 'lease.path-lost')).toMatchObject({
          transfer: { id },
          route: { link: 'core:11-leaf:10', hops: ['border', 'core', 'leaf'] },
        });
      } finally {
        await ovs.vsctl('clear', 'bridge', 'border', 'flow_tables');
      }
      // The link back: the lease moves onto its path again; released, nothing of it is left on any bridge.
      await app.linkChanged('core:11-leaf:10', true);
      await ws.until((c) => c.events.some((m) => m.type === 'lease.path-moved'), 5000, 'lease.path-moved');
      const ports = await dpPorts();
      expect(await trace(50001)).toBe(String(ports.get('bwan')));
      expect((await call('DELETE', `/api/v1/transfers/${id}`)).status).toBe(200);
      expect(await counts(id)).toEqual({ border: 0, core: 0, leaf: 0 });
    } finally {
      await ws.close();
      await app.reloadSite(parseSiteConfig(supercomputerYaml('  backup-paths: true\n')));
    }
  });

  it('its fast-failover groups are on the switches, back after a switch lost them while away, gone at release', async () => {
    const ffGroups = async (bridge: Bridge) => (await ovs.ofctl('dump-groups', bridge)).split('\n').filter((l) => l.includes('type=ff'));
    const created = await request();
    expect(created.status).toBe(201);
    const id = created.json.id as number;
    const held = new Map<Bridge, string[]>();
    for (const b of Object.keys(BRIDGES) as Bridge[]) held.set(b, await ffGroups(b));
    const [bridge, groups] = [...held].sort((x, y) => y[1].length - x[1].length)[0]!;
    expect(groups.length).toBeGreaterThan(0);
    const flowsThere = (await leaseFlows(bridge, id)).length;

    // Away from the controller, the switch loses its groups (and the flows that use them, OF1.3.5 §6.5); the
    // reconcile as it reconnects puts both back.
    await ovs.vsctl('del-controller', bridge);
    await ovs.ofctl('del-groups', bridge);
    expect(await ffGroups(bridge)).toEqual([]);
    const back = new Promise<void>((resolve) => flows.on('reconciled', (d) => d === BRIDGES[bridge] && resolve()));
    await ovs.setController(bridge, `tcp:127.0.0.1:${ofPort}`);
    await back;
    expect((await ffGroups(bridge)).length).toBe(groups.length);
    expect((await leaseFlows(bridge, id)).length).toBe(flowsThere);

    expect((await call('DELETE', `/api/v1/transfers/${id}`)).status).toBe(200);
    for (const b of Object.keys(BRIDGES) as Bridge[]) expect(await ffGroups(b), b).toEqual([]);
    expect(await counts(id)).toEqual({ border: 0, core: 0, leaf: 0 });
  });
});
