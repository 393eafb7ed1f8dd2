// The dmzgate command line. Until the controller exists (issue 3), it reports its version.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

const [command] = process.argv.slice(2);
switch (command) {
  case '--version':
  case 'version':
  case 'controller':
    console.log(`dmzgate ${pkg.version} (OpenFlow 1.3 codec only: the controller itself is not built yet)`);
    break;
  default:
    console.error('usage: dmzgate controller | version');
    process.exit(2);
}
