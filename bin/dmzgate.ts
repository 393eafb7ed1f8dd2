// The dmzgate command line: `dmzgate controller [options]` runs the OpenFlow controller; the API clients (token,
// transfer, block); `dmzgate check-config FILE`; `dmzgate version`.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { runController } from './run-controller.js';
import { runClusterMember } from './run-cluster-member.js';
import { runClient } from './commands/common.js';
import { transferCommand } from './commands/transfer.js';
import { blockCommand } from './commands/block.js';
import { tokenCommand } from './commands/token.js';
import { checkConfigCommand } from './commands/check-config.js';
import { CONTROLLER_HELP, UsageError, parseControllerOptions } from './options.js';
import { printable } from './printable.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

const USAGE = `usage: dmzgate controller [options]   run the controller, the Science DMZ app and the REST API
       dmzgate token create|list|revoke   manage API tokens (dmzgate token --help)
       dmzgate transfer request|list|show|extend|release   a transfer's bypass, via the API
       dmzgate block add|list|remove   drop an address or prefix, via the API
       dmzgate check-config FILE       validate a site config: every problem with line:column, or a summary
       dmzgate version                 print the version
Each command has --help.`;

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
      if (opts.cluster) void runClusterMember({ ...opts, cluster: opts.cluster }, pkg.version);
      else void runController(opts, pkg.version);
      return;
    }
    case 'transfer':
      void runClient(() => transferCommand(rest));
      return;
    case 'block':
      void runClient(() => blockCommand(rest));
      return;
    case 'token':
      void runClient(() => tokenCommand(rest));
      return;
    case 'check-config':
      void runClient(async () => {
        process.exitCode = checkConfigCommand(rest);
      });
      return;
    default:
      console.error(command === undefined ? USAGE : `dmzgate: unknown command "${printable(command)}"\n${USAGE}`);
      process.exit(2);
  }
}

main(process.argv.slice(2));
