// The dmzgate command line: `dmzgate controller [options]` runs the OpenFlow controller; `dmzgate version`.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { Controller } from '../controller/controller.js';
import { createLogger } from '../controller/log.js';
import { CONTROLLER_HELP, UsageError, parseControllerOptions, type ControllerCommandOptions } from './options.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

const USAGE = `usage: dmzgate controller [options]   run the OpenFlow 1.3 controller (dmzgate controller --help)
       dmzgate version                 print the version`;

/** How long a clean shutdown may take before the process gives up and exits with status 1. */
const SHUTDOWN_GRACE_MS = 10_000;

async function runController(opts: ControllerCommandOptions): Promise<void> {
  const log = createLogger({ level: opts.logLevel });
  process.on('uncaughtException', (e) => {
    log.fatal({ err: e }, 'uncaught exception; exiting');
    process.exit(1);
  });
  process.on('unhandledRejection', (e) => {
    log.fatal({ err: e }, 'unhandled promise rejection; exiting');
    process.exit(1);
  });

  log.info({ version: pkg.version, dataDir: opts.dataDir, apiPort: opts.apiPort, tlsFiles: opts.tls?.files }, 'dmzgate controller starting');
  if (opts.configFile) log.warn({ config: opts.configFile }, 'site config is readable but not used yet: the DMZ application does not exist yet');
  log.info({ apiPort: opts.apiPort }, 'REST API not served yet: it does not exist yet');

  const controller = new Controller({
    port: opts.openflowPort,
    logger: log,
    ...(opts.tls ? { tls: { port: opts.tls.port, key: opts.tls.key, cert: opts.tls.cert, ca: opts.tls.ca } } : {}),
  });
  // Each connection logs its own arrival ('switch connected') and end ('switch connection closed', with why).

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, switches: controller.switches().length }, 'shutting down');
    setTimeout(() => {
      log.error({ ms: SHUTDOWN_GRACE_MS }, 'shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
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

  try {
    const bound = await controller.listen();
    log.info({ openflowPort: bound.port ?? null, tlsPort: bound.tlsPort ?? null }, 'controller ready');
  } catch (e) {
    log.fatal({ err: e }, `cannot listen: ${(e as Error).message}`);
    await controller.close().catch(() => {});
    process.exit(1);
  }
}

function main(argv: string[]): void {
  const [command, ...rest] = argv;
  switch (command) {
    case 'version':
    case '--version':
      console.log(`dmzgate ${pkg.version}`);
      return;
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return;
    case 'controller': {
      let opts;
      try {
        opts = parseControllerOptions(rest);
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        console.error(`dmzgate controller: ${e.message}\n(dmzgate controller --help lists the options)`);
        process.exit(2);
      }
      if (opts === 'help') {
        console.log(CONTROLLER_HELP);
        return;
      }
      void runController(opts);
      return;
    }
    default:
      console.error(command === undefined ? USAGE : `dmzgate: unknown command "${command}"\n${USAGE}`);
      process.exit(2);
  }
}

main(process.argv.slice(2));
