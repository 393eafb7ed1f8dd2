// The API wired as the CLI wires it, against the switch emulator (a faithful OF1.3 switch on our codec): a real
// Controller, FlowManager and DmzApp, a store in a temp dir, and tokens. Two site switches: dmz1 (an emulated
// switch, connected) and dmz2 (never connected: its DTN's requests get 503).
import type { Clock } from '../../../controller/clock.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Controller } from '../../../controller/controller.js';
import { FlowManager } from '../../../controller/flow-manager.js';
import { silentLogger, type Logger } from '../../../controller/log.js';
import { DmzApp } from '../../../apps/dmz/dmz-app.js';
import { parseSiteConfig } from '../../../apps/dmz/config.js';
import { EmulatedSwitch } from '../../../emulator/index.js';
import {
  buildApi,
  openJournalStore,
  createToken,
  type JournalStateStore,
  type JournalStoreOptions,
  type TokenSpec,
  type ApiOptions,
} from '../../../api/index.js';

export const SITE_YAML = `site: test
switches:
  - name: dmz1
    dpid: "0000000000000001"
    ports:
      - { port: 1, role: wan-routed }
      - { port: 2, role: wan-circuit }
      - { port: 3, role: fw-outside }
      - { port: 4, role: fw-inside }
      - { port: 5, role: dtn }
      - { port: 6, role: dtn }
  - name: dmz2
    dpid: "0000000000000002"
    ports:
      - { port: 1, role: wan-routed }
      - { port: 3, role: fw-outside }
      - { port: 4, role: fw-inside }
      - { port: 5, role: dtn }
dtns:
  - { name: dtn1, switch: dmz1, port: 5, mac: "02:00:00:00:01:05", ipv4: [10.10.1.10], ipv6: ["fd00:10:10:1::10"] }
  - { name: dtn6, switch: dmz1, port: 6, mac: "02:00:00:00:01:06", ipv4: [10.10.1.11] }
  - { name: dtn2, switch: dmz2, port: 5, mac: "02:00:00:00:02:05", ipv4: [10.10.2.10] }
circuits:
  - { name: esnet, switch: dmz1, trunk-port: 2, vlan: 3001, far-end-mac: "02:00:00:00:02:0a", capacity-mbps: 500 }
policy:
  max-lease: 4h
  ports: [50000-51000, 5201]
  protocols: [tcp, udp]
`;

/** A token allowing everything the test site has (tests narrow it). */
export const WIDE: TokenSpec = {
  project: 'astro',
  dtns: ['dtn1', 'dtn2', 'dtn6'],
  remotes: ['192.0.2.0/24', '198.51.100.0/24', '2001:db8::/32'],
  ports: ['50000-51000', '5201'],
  paths: ['routed', 'circuit:esnet'],
  maxDurationSeconds: 3600,
  maxRateMbps: 1000,
  scopes: ['transfers:write'],
};

export interface Harness {
  api: FastifyInstance;
  app: DmzApp;
  controller: Controller;
  flows: FlowManager;
  store: JournalStateStore;
  sw: EmulatedSwitch;
  /** The controller's OpenFlow (TCP) port. */
  controllerPort: number;
  dataDir: string;
  token(spec?: Partial<TokenSpec>): Promise<string>;
  auth(token: string): { authorization: string };
  close(): Promise<void>;
}

export interface HarnessOptions {
  api?: Partial<ApiOptions>;
  maxFlowsPerTable?: number;
  /** The table size the emulated switch reports (OFPMP_TABLE_FEATURES); default: it reports none. */
  reportTableSize?: number;
  dataDir?: string;
  store?: JournalStoreOptions;
  siteYaml?: string;
  requestTimeoutMs?: number;
  /** Where every component logs (default: nowhere). */
  logger?: Logger;
  /** The DMZ app's clock (default: the system's). */
  clock?: Clock;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const logger = opts.logger ?? silentLogger();
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'dmzgate-api-'));
  const store = await openJournalStore(dataDir, { fsync: false, ...opts.store });
  const controller = new Controller({
    port: 0,
    host: '127.0.0.1',
    logger,
    ...(opts.requestTimeoutMs ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
  });
  const flows = new FlowManager(controller, { logger });
  const site = parseSiteConfig(opts.siteYaml ?? SITE_YAML, 'test site');
  const app = new DmzApp({ site, controller, flows, logger, pollIntervalMs: 0, ...(opts.clock ? { clock: opts.clock } : {}) });
  const api = buildApi({ app, controller, flows, store, logger, ...opts.api });
  await app.start(await store.load());
  const { port } = await controller.listen();
  const sw = new EmulatedSwitch({
    dpid: 1n,
    ports: 6,
    port,
    ...(opts.maxFlowsPerTable ? { maxFlowsPerTable: opts.maxFlowsPerTable } : {}),
    ...(opts.reportTableSize ? { reportTableSize: opts.reportTableSize } : {}),
  });
  const reconciled = new Promise<void>((resolve) => flows.once('reconciled', () => resolve()));
  await sw.connect();
  await reconciled;
  await api.ready();
  return {
    api,
    app,
    controller,
    flows,
    store,
    sw,
    controllerPort: port!,
    dataDir,
    async token(spec = {}) {
      return (await createToken(store, { ...WIDE, ...spec })).token;
    },
    auth: (token) => ({ authorization: `Bearer ${token}` }),
    async close() {
      app.stop();
      await api.close();
      await sw.close();
      flows.close();
      await controller.close();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A transfer request body (tests override fields). */
export function transferBody(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { dtn: 'dtn1', remote: '192.0.2.0/24', protocol: 'tcp', local_ports: ['50000-50100'], path: 'routed', duration: 600, ...over };
}
