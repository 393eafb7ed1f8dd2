/**
 * A transfer's dry run against a private Open vSwitch: OVS's tables and meters are exactly as they were after it,
 * and the real request then installs exactly the flows the dry run listed (`ovs-ofctl --no-stats dump-flows`
 * prints them as the dry run did). And the switch budget's ceiling is the table size OVS reports.
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
import { DEFAULT_SITE_YAML } from '../../apps/dmz/default-site.js';
import { baseFlows } from '../../apps/dmz/pipeline.js';
import { buildApi, openJournalStore, createToken, type JournalStateStore } from '../../api/index.js';
import { PrivateOvs } from '../../lab/private-ovs.js';

const BRIDGE = 'br-dry';
/** Larger than any table OVS reports, so that the budget is OVS's table size less the pipeline. */
const SITE = DEFAULT_SITE_YAML.replace('  protocols: [tcp, udp]\n', '  protocols: [tcp, udp]\n  switch-flow-budget: 100000000\n');

describe('transfer dry run against Open vSwitch', () => {
  let ovs: PrivateOvs;
  let controller: Controller;
  let flows: FlowManager;
  let app: DmzApp;
  let store: JournalStateStore;
  let api: FastifyInstance;
  let dataDir: string;
  let token: string;

  beforeAll(async () => {
    const logger = silentLogger();
    dataDir = mkdtempSync(join(tmpdir(), 'dmzgate-dry-ovs-'));
    store = await openJournalStore(dataDir);
    controller = new Controller({ port: 0, host: '127.0.0.1', logger });
    flows = new FlowManager(controller, { logger });
    app = new DmzApp({ site: parseSiteConfig(SITE), controller, flows, logger, pollIntervalMs: 0 });
    api = buildApi({ app, controller, flows, store, logger });
    await app.start(await store.load());
    const { port } = await controller.listen();
    token = (
      await createToken(store, {
        project: 'astro',
        dtns: ['dtn1'],
        remotes: ['192.0.2.0/24'],
        ports: ['50000-51000'],
        paths: ['routed'],
        maxDurationSeconds: 3600,
        maxRateMbps: 500,
        scopes: ['transfers:write'],
      })
    ).token;
    ovs = await new PrivateOvs().start();
    const reconciled = new Promise<void>((resolve) => flows.once('reconciled', () => resolve()));
    await ovs.addBridge(BRIDGE, 1n, { controller: `tcp:127.0.0.1:${port}`, ports: ['dp1', 'dp2', 'dp3', 'dp4', 'dp5', 'dp6', 'dp7'] });
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

  const post = (query: string) =>
    api.inject({
      method: 'POST',
      url: `/api/v1/transfers${query}`,
      headers: { authorization: `Bearer ${token}` },
      payload: {
        dtn: 'dtn1',
        remote: '192.0.2.0/24',
        protocol: 'tcp',
        local_ports: ['50000-50015'],
        remote_ports: ['1000', '2000', '3000'],
        path: 'routed',
        duration: 600,
      },
    });
  const table = async () =>
    (await ovs.ofctl('dump-flows', BRIDGE, '--no-stats'))
      .split('\n')
      .filter((l) => l.includes('cookie='))
      .map((l) => l.trim());

  it('leaves the switch as it was; the real request installs exactly the flows it listed', async () => {
    const before = await table();
    const meters = await ovs.ofctl('dump-meters', BRIDGE);
    const dry = await post('?dry_run=true');
    expect(dry.statusCode).toBe(200);
    const plan = dry.json<{ flow_count: number; flows: string[] }>();
    expect(plan.flow_count).toBe(6); // one address, one local mask, three remote ports, both directions
    expect(await table()).toEqual(before);
    expect(await ovs.ofctl('dump-meters', BRIDGE)).toBe(meters);
    expect(app.book.active()).toEqual([]);

    const real = await post('');
    expect(real.statusCode).toBe(201);
    const cookie = `cookie=0xd1${real.json<{ id: number }>().id.toString(16).padStart(12, '0')},`;
    const installed = (await table()).filter((l) => l.startsWith(cookie));
    expect(installed).toHaveLength(plan.flow_count);
    expect(installed.sort()).toEqual([...plan.flows].sort());
  });

  it('caps the switch budget at the table size OVS reports, less the pipeline flows', async () => {
    const features = await ovs.ofctl('dump-table-features', BRIDGE);
    const maxEntries = Number(/table 0:[\s\S]*?max_entries=(\d+)/.exec(features)?.[1]);
    expect(maxEntries).toBeGreaterThan(0);
    const site = app.site;
    expect(app.switchBudget(1n).budget).toBe(maxEntries - baseFlows(site, site.switches[0]!).length);
  });
});
