// `dmzgate controller`: the whole process. The OpenFlow controller, the flow manager that keeps each switch
// holding exactly what is desired, and the Science DMZ app on the site config (the embedded default without
// --config). SIGHUP reloads the site config, changing only the flows the change touches; SIGINT/SIGTERM stop.
import { Controller } from '../controller/controller.js';
import { FlowManager } from '../controller/flow-manager.js';
import { createLogger } from '../controller/log.js';
import { DmzApp } from '../apps/dmz/dmz-app.js';
import { FabricMonitor } from '../apps/dmz/fabric-monitor.js';
import { probesPort } from '../apps/dmz/link-states.js';
import { LinkDiscovery } from '../controller/lldp-discovery.js';
import { refuseClaim } from '../apps/dmz/switch-identity.js';
import { loadSiteConfig } from '../apps/dmz/config.js';
import type { Site } from '../apps/dmz/site.js';
import { openEtcdStore, openJournalStore, buildApi, createToken, type StateBackend } from '../api/index.js';
import { verifyToken } from '../api/tokens.js';
import type { ControllerCommandOptions } from './options.js';
import { exitOnCrash, siteOrExit } from './start-up.js';
import { claimDataDir, announceApi, writeAdminToken, dataDirModeProblem, ADMIN_TOKEN_FILE } from './data-dir.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The admin token local commands use (`dmzgate token create` while the controller runs): kept in the data
 * directory, readable by its owner only; made anew if missing or no longer valid.
 */
export async function ensureAdminToken(store: StateBackend, dataDir: string): Promise<void> {
  try {
    const text = readFileSync(join(dataDir, ADMIN_TOKEN_FILE), 'utf8').trim();
    const rec = verifyToken(store.view, text);
    if (!(rec instanceof Error) && rec.scopes.includes('admin')) return;
  } catch {
    // missing or unreadable: make one
  }
  const { token } = await createToken(store, {
    project: 'operators',
    dtns: ['*'],
    remotes: ['0.0.0.0/0', '::/0'],
    ports: ['0-65535'],
    paths: ['*'],
    maxDurationSeconds: 65535,
    scopes: ['admin'],
    description: 'local administration (dmzgate token ...)',
  });
  writeAdminToken(dataDir, token);
}

/** How long a clean shutdown may take before the process gives up and exits with status 1. */
const SHUTDOWN_GRACE_MS = 10_000;

export async function runController(opts: ControllerCommandOptions, version: string): Promise<void> {
  const log = createLogger({ level: opts.logLevel });
  exitOnCrash(log);

  const site = siteOrExit(opts.configFile);
  log.info(
    {
      version,
      site: site.name,
      config: opts.configFile ?? '(embedded default)',
      switches: site.switches.length,
      dtns: site.dtns.length,
      dataDir: opts.dataDir,
    },
    'dmzgate controller starting',
  );

  const controller = new Controller({
    port: opts.openflowPort,
    ...(opts.openflowHost !== undefined ? { host: opts.openflowHost } : {}),
    maxPending: opts.maxPending,
    maxPendingPerSource: opts.maxPendingPerSource,
    logger: log,
    ...(opts.tls ? { tls: { port: opts.tls.port, key: opts.tls.key, cert: opts.tls.cert, ca: opts.tls.ca } } : {}),
    // The running site's bindings (SIGHUP may change them); no switch connects before the app has started.
    authorize: (claim) => refuseClaim(app.site, claim),
  });
  const flows = new FlowManager(controller, { logger: log });
  let release: () => void;
  let store: StateBackend;
  try {
    const problem = dataDirModeProblem(opts.dataDir);
    if (problem) log.warn({ dataDir: opts.dataDir }, problem);
    release = claimDataDir(opts.dataDir);
    const storeLog = log.child({ component: 'store' });
    store = opts.etcd
      ? await openEtcdStore({ hosts: opts.etcd, prefix: `/dmzgate/${encodeURIComponent(site.name)}/`, logger: storeLog })
      : await openJournalStore(opts.dataDir, { logger: storeLog });
    await ensureAdminToken(store, opts.dataDir);
  } catch (e) {
    log.fatal(
      { err: (e as Error).message, dataDir: opts.dataDir, ...(opts.etcd ? { etcd: opts.etcd } : {}) },
      opts.etcd ? 'cannot use the etcd state or the data directory' : 'cannot use the data directory',
    );
    process.exit(1);
  }
  const app: DmzApp = new DmzApp({ site, controller, flows, logger: log });
  const discovery = new LinkDiscovery({
    controller,
    logger: log,
    intervalMs: opts.lldpIntervalMs,
    probes: (dpid, port) => probesPort(app.site, dpid, port),
  });
  // A switch whose flows are in now answers LLDP: its neighbours probe toward it without waiting an interval.
  flows.on('reconciled', () => discovery.probeSoon());
  const monitor = new FabricMonitor({ site: () => app.site, controller, discovery, logger: log });
  // Leases follow the links: a configured link going down moves the leases whose path crossed it.
  monitor.on('link-down', (c) => void app.linkChanged(c.link, false).catch(() => undefined));
  monitor.on('link-up', (c) => void app.linkChanged(c.link, true).catch(() => undefined));
  const fabric = { discovery, monitor, reserved: () => app.reservedByLink() };
  const unbound = site.switches.filter((s) => !s.certificate).map((s) => s.name);
  if (opts.tls && unbound.length)
    log.warn(
      { switches: unbound },
      'switches without a certificate binding: any certificate our CA signed may claim their datapath ids (site config: certificate under each switch)',
    );
  // Built before the app starts, so that leases closed at start (ended while we were down) are recorded.
  const api = buildApi({
    app,
    controller,
    flows,
    store,
    fabric,
    logger: log,
    requestLimit: opts.requestLimit ?? false,
    trustedProxies: opts.trustedProxies,
    metricsAuth: opts.metricsAuth,
    ...(opts.apiTls ? { tls: opts.apiTls } : {}),
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, switches: controller.switches().length }, 'shutting down');
    setTimeout(() => {
      log.error({ ms: SHUTDOWN_GRACE_MS }, 'shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    app.stop();
    discovery.stop();
    fabric.monitor.stop();
    flows.close();
    Promise.all([api.close(), controller.close()]).then(
      async () => {
        // Commits what the switches' departure changed and folds the state journal into the document.
        await store.close().catch(() => undefined);
        release();
        log.info('stopped');
        process.exit(0);
      },
      (e: unknown) => {
        log.error({ err: e }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', () => {
    if (!opts.configFile) {
      log.info('SIGHUP: running on the embedded default site; nothing to reload');
      return;
    }
    let next: Site;
    try {
      next = loadSiteConfig(opts.configFile);
    } catch (e) {
      // A broken edit must not disturb a running site: keep the old config and say exactly what is wrong.
      log.error({ err: (e as Error).message }, 'SIGHUP: site config invalid; keeping the running config');
      return;
    }
    app.reloadSite(next).then(
      (r) => log.info({ site: next.name, revoked: r.revoked }, 'SIGHUP: site config reloaded'),
      (e: Error) => log.error({ err: e.message }, 'SIGHUP: reload failed'),
    );
  });

  try {
    await app.start(await store.load());
    fabric.monitor.start();
    discovery.start();
    const bound = await controller.listen();
    const apiAddress = await api.listen({ port: opts.apiPort, host: opts.apiHost });
    announceApi(opts.dataDir, apiAddress);
    log.info({ openflowPort: bound.port ?? null, tlsPort: bound.tlsPort ?? null, api: apiAddress }, 'controller ready');
  } catch (e) {
    log.fatal({ err: e }, `cannot start: ${(e as Error).message}`);
    await Promise.all([controller.close().catch(() => {}), api.close().catch(() => {})]);
    release();
    process.exit(1);
  }
}
