// `dmzgate controller` for bench/api.ts's reference run without state writes: the command itself, started as
// bin/dmzgate.ts starts it (parseControllerOptions, runController), but with the state file's writes replaced by
// nothing: no JSON.stringify of the document, no file I/O, no fsync. Every commit() then resolves on the next
// turn, so the run shows what dmzgate does when its state writes cost nothing (the API, the app, the switch).
// Never a way to run a controller: the state it acknowledges is not kept.
import { DurableJsonFile } from '../api/store.js';
import { runController } from '../bin/run-controller.js';
import { parseControllerOptions } from '../bin/options.js';

DurableJsonFile.prototype.write = async function write(): Promise<void> {
  this.lastBytes = 0;
};

const opts = parseControllerOptions(process.argv.slice(2));
if (opts === 'help') throw new Error('bench/api-server.ts takes the options of dmzgate controller');
void runController(opts, 'bench');
