// GET /api/v1/topology, link.* events and dmzgate_links, wired as bin/run-controller wires them, against two
// emulated switches cabled together: the DMZ pipeline's LLDP flow brings discovery's frames back, one configured
// link is cabled as configured (up), the other to a DTN port (miscabled, both the configured and the seen link).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../../controller/controller.js';
import { FlowManager } from '../../../controller/flow-manager.js';
import { silentLogger } from '../../../controller/log.js';
import { LinkDiscovery } from '../../../controller/lldp-discovery.js';
import { DmzApp } from '../../../apps/dmz/dmz-app.js';
import { FabricMonitor } from '../../../apps/dmz/fabric-monitor.js';
import { parseSiteConfig } from '../../../apps/dmz/config.js';
import { EmulatedSwitch, Cable } from '../../../emulator/index.js';
import { buildApi, openJournalStore, createToken, type JournalStateStore } from '../../../api/index.js';
import { FakeClock, until } from '../../helpers/emulated-fabric.js';
import { fabricSiteYaml } from '../../helpers/fabric-site.js';
import { WIDE } from './harness.js';

describe('GET /api/v1/topology', () => {
  const logger = silentLogger();
  const dataDir = mkdtempSync(join(tmpdir(), 'dmzgate-topology-'));
  let store: JournalStateStore;
  let controller: Controller;
  let flows: FlowManager;
  let app: DmzApp;
  let api: FastifyInstance;
  let discovery: LinkDiscovery;
  let monitor: FabricMonitor;
  let switches: EmulatedSwitch[];
  const clock = new FakeClock();

  beforeAll(async () => {
    store = await openJournalStore(dataDir, { fsync: false });
    controller = new Controller({ port: 0, host: '127.0.0.1', logger });
    flows = new FlowManager(controller, { logger });
    const site = parseSiteConfig(
      fabricSiteYaml(['  - { a: "dmz1:5", b: "core1:5", capacity-mbps: 10000, cost: 2 }', '  - { a: "dmz1:6", b: "core1:6", capacity-mbps: 40000 }']),
    );
    app = new DmzApp({ site, controller, flows, logger, pollIntervalMs: 0 });
    discovery = new LinkDiscovery({ controller, logger, clock });
    monitor = new FabricMonitor({ site: () => app.site, controller, discovery, logger });
    api = buildApi({ app, controller, flows, store, logger, fabric: { discovery, monitor } });
    await app.start(await store.load());
    monitor.start();
    const { port } = await controller.listen();
    switches = [1n, 2n].map((dpid) => new EmulatedSwitch({ dpid, ports: 6, port }));
    new Cable(switches[0]!, 5, switches[1]!, 5);
    new Cable(switches[0]!, 6, switches[1]!, 4);
    let reconciled = 0;
    const both = new Promise<void>((resolve) =>
      flows.on('reconciled', () => {
        if (++reconciled === 2) resolve();
      }),
    );
    for (const s of switches) await s.connect();
    await both;
    discovery.start();
    await until(() => monitor.links().filter((l) => l.state !== 'pending').length === 3);
    await api.ready();
  });
  afterAll(async () => {
    discovery.stop();
    monitor.stop();
    app.stop();
    await api.close();
    await Promise.all(switches.map((s) => s.close()));
    flows.close();
    await controller.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const get = async (scopes: string[], url = '/api/v1/topology') => {
    const { token } = await createToken(store, { ...WIDE, scopes: scopes as typeof WIDE.scopes });
    return api.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
  };

  it("lists the switches with their ports' roles, and every link with its state, capacity and reservation", async () => {
    const r = await get(['transfers:read']);
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.discovery).toEqual({ interval_ms: 1000, loss_intervals: 3 });
    expect(body.switches.map((s: { name: string; connected: boolean }) => [s.name, s.connected])).toEqual([
      ['dmz1', true],
      ['core1', true],
    ]);
    expect(body.switches[0].ports).toContainEqual({ port_no: 5, name: 'fabric-5', role: 'fabric', link_up: true });
    const byName = Object.fromEntries(body.links.map((l: { name: string }) => [l.name, l]));
    expect(byName['dmz1:5-core1:5']).toEqual({
      name: 'dmz1:5-core1:5',
      a: { switch: 'dmz1', dpid: '0000000000000001', port: 5 },
      b: { switch: 'core1', dpid: '0000000000000002', port: 5 },
      configured: true,
      seen: true,
      up: true,
      state: 'up',
      capacity_mbps: 10000,
      cost: 2,
      reserved_mbps: 0,
    });
    expect(byName['dmz1:6-core1:6']).toMatchObject({
      configured: true,
      seen: false,
      up: false,
      state: 'miscabled',
      reserved_mbps: 0,
      seen_instead: [{ a: { switch: 'dmz1', port: 6 }, b: { switch: 'core1', port: 4 } }],
    });
    expect(byName['seen:dmz1:6-core1:4']).toEqual({
      name: 'seen:dmz1:6-core1:4',
      a: { switch: 'dmz1', dpid: '0000000000000001', port: 6 },
      b: { switch: 'core1', dpid: '0000000000000002', port: 4 },
      configured: false,
      seen: true,
      up: false,
      state: 'miscabled',
    });
  });

  it('needs transfers:read (or admin)', async () => {
    expect((await get(['blocks:write'])).json()).toMatchObject({ code: 'DMZ_SCOPE_DENIED' });
    expect((await get(['admin'])).statusCode).toBe(200);
  });

  it('raises link.* events on the stream and counts links by state in dmzgate_links', async () => {
    await until(() => store.view.heldEventsSince(0).filter((e) => e.type.startsWith('link.')).length === 3);
    const events = store.view
      .heldEventsSince(0)
      .filter((e) => e.type.startsWith('link.'))
      .map((e) => `${e.type} ${(JSON.parse(e.data) as { link: { name: string } }).link.name}`)
      .sort();
    expect(events).toEqual(['link.miscabled dmz1:6-core1:6', 'link.miscabled seen:dmz1:6-core1:4', 'link.up dmz1:5-core1:5']);
    const metrics = (await api.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('dmzgate_links{state="up"} 1');
    expect(metrics).toContain('dmzgate_links{state="miscabled"} 2');
    expect(metrics).toContain('dmzgate_links{state="missing"} 0');
  });

  it('a link that goes silent for 3 intervals is down, with a link.down event naming why', async () => {
    switches[0]!.setCable(5, undefined);
    switches[1]!.setCable(5, undefined);
    for (let i = 0; i < 3; i++) {
      clock.t += 1000;
      discovery.tick();
      await new Promise((r) => setTimeout(r, 20));
    }
    const r = (await get(['transfers:read'])).json();
    expect(r.links.find((l: { name: string }) => l.name === 'dmz1:5-core1:5')).toMatchObject({ state: 'down', up: false, seen: false });
    await until(() => store.view.heldEventsSince(0).some((e) => e.type === 'link.down'));
    const down = store.view.heldEventsSince(0).find((e) => e.type === 'link.down')!;
    expect(JSON.parse(down.data)).toMatchObject({ reason: 'timeout', link: { name: 'dmz1:5-core1:5', state: 'down' } });
  });
});
