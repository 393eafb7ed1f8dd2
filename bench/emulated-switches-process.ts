// Emulated switches in a process of their own, for a floor that must cross processes as dmzgate does (the
// controller in one process, its switches in another). Starts `--switches N` switches with `--ports P` ports each
// (datapath ids 1..N) pointed at the controller on 127.0.0.1:`--port`, prints "ready" once every handshake is done,
// and closes them when stdin ends (its parent went) or on SIGTERM.
//
//   node dist/bench/emulated-switches-process.js --switches 6 --ports 11 --port 6653
import { parseArgs } from 'node:util';
import { EmulatedSwitch } from '../emulator/index.js';
import { connectAll } from './fabric-plan.js';

const { values } = parseArgs({ options: { switches: { type: 'string' }, ports: { type: 'string' }, port: { type: 'string' } } });
const count = Number(values.switches);
const ports = Number(values.ports);
const port = Number(values.port);
if (!(count > 0 && ports > 0 && port > 0)) throw new Error('usage: --switches N --ports P --port CONTROLLER_PORT');

const switches = Array.from({ length: count }, (_, i) => new EmulatedSwitch({ dpid: BigInt(i + 1), ports, port }));
const stop = (): void => {
  void Promise.all(switches.map((s) => s.close())).then(() => process.exit(0));
};
process.stdin.on('end', stop).resume();
process.on('SIGTERM', stop);
await connectAll(switches);
process.stdout.write('ready\n');
