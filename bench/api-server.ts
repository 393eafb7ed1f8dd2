// `dmzgate controller` for bench/api.ts's reference run without state writes: the command itself, started as
// bin/dmzgate.ts starts it (parseControllerOptions, runController), but with the state's file writes replaced by
// nothing: no journal append, no fdatasync, no fold (document write or journal replacement). Every commit() then
// resolves once its journal record is built (the record's text is still made: that is in-memory work of the
// request path, not a write), so the run shows what dmzgate does when its state writes cost nothing (the API,
// the app, the switch). Never a way to run a controller: the state it acknowledges is not kept.
import { DurableJsonFile } from '../api/state/durable-json-file.js';
import { Journal } from '../api/state/journal-file.js';
import { runController } from '../bin/run-controller.js';
import { parseControllerOptions } from '../bin/options.js';

Journal.prototype.append = async function append(): Promise<void> {};
Journal.prototype.rewrite = async function rewrite(): Promise<void> {};
DurableJsonFile.prototype.write = async function write(): Promise<void> {};

const opts = parseControllerOptions(process.argv.slice(2));
if (opts === 'help') throw new Error('bench/api-server.ts takes the options of dmzgate controller');
void runController(opts, 'bench');
