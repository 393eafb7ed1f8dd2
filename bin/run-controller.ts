// `dmzgate controller`: the whole process. The OpenFlow controller, the flow manager that keeps each switch
// holding exactly what is desired, and the Science DMZ app on the site config (the embedded default without
// --config). SIGHUP reloads the site config, changing only the flows the change touches; SIGINT/SIGTERM stop.
import { Controller } from '../controller/controller.js';
import { FlowManager } from '../controller/flow-manager.js';
import { createLogger } from '../controller/log.js';
import { DmzApp } from '../apps/dmz/dmz-app.js';
import { defaultSite, loadSiteConfig, SiteConfigError } from '../apps/dmz/config.js';
import type { Site } from '../apps/dmz/site.js';
import type { ControllerCommandOptions } from './options.js';

/** How long a clean shutdown may take before the process gives up and exits with status 1. */
const SHUTDOWN_GRACE_MS = 10_000;

export function loadSite(configFile: string | undefined): Site {
  return configFile ? loadSiteConfig(configFile) : defaultSite();
}

export async function runController(opts: ControllerCommandOptions, version: string): Promise<void> {
  const log = createLogger({ level: opts.logLevel });
  process.on('uncaughtException', (e) => {
    log.fatal({ err: e }, 'uncaught exception; exiting');
    process.exit(1);
  });
  process.on('unhandledRejection', (e) => {
    log.fatal({ err: e }, 'unhandled promise rejection; exiting');
    process.exit(1);
  });

  let site: Site;
  try {
    site = loadSite(opts.configFile);
  } catch (e) {
    // The config's problems, each with its line and field, for the engineer; nothing has started yet.
    console.error(e instanceof SiteConfigError ? e.message : `cannot load the site config: ${(e as Error).message}`);
    process.exit(2);
  }
  log.info({ version, site: site.name, config: opts.configFile ?? '(embedded default)', switches: site.switches.length, dtns: site.dtns.length, dataDir: opts.dataDir }, 'dmzgate controller starting');

  const controller = new Controller({
    port: opts.openflowPort,
    logger: log,
    ...(opts.tls ? { tls: { port: opts.tls.port, key: opts.tls.key, cert: opts.tls.cert, ca: opts.tls.ca } } : {}),
  });
  const flows = new FlowManager(controller, { logger: log });
  const app = new DmzApp({ site, controller, flows, logger: log });

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
    flows.close();
    controller.close().then(() => {
      log.info('stopped');
      process.exit(0);
    }, (e: unknown) => {
      log.error({ err: e }, 'error while shutting down');
      process.exit(1);
    });
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
    await app.start();
    const bound = await controller.listen();
    log.info({ openflowPort: bound.port ?? null, tlsPort: bound.tlsPort ?? null }, 'controller ready');
  } catch (e) {
    log.fatal({ err: e }, `cannot start: ${(e as Error).message}`);
    await controller.close().catch(() => {});
    process.exit(1);
  }
}
