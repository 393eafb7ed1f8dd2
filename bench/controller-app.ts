// The dmzgate side of the controller benchmark (bench/controller.ts starts it under `taskset -c 1`, with an IPC
// channel). A plain Controller, nothing else in the process:
//
//   packet-in mode: every packet-in is answered with answerFlowMod(in_port, eth_dst, eth_src), the Ethernet
//                   header read with our packet library, sent with SwitchConnection.send();
//   flows mode:     on {cmd:'install'} installs the first n 5-tuple flows into the one connected switch, timed from
//                   the call to the switch's confirmation, by one of three paths:
//                     bundle  FlowManager.apply() (atomic: an ONF bundle, committed when the switch has it all)
//                     apply   FlowManager.apply({atomic:false}) (flow-mods, a barrier every 1000)
//                     raw     SwitchConnection.send() of each flow-mod, then one barrier
//
// Messages to the parent: {ready, port}, {up, dpid}, {installed, n, mode, ms, path}, {error}.
import { Controller, type PacketIn } from '../controller/controller.js';
import { FlowManager } from '../controller/flow-manager.js';
import { silentLogger } from '../controller/log.js';
import { parseEthernet } from '../controller/packet/index.js';
import type { FlowSpec } from '../controller/flow-entry.js';
import type { OfpMessage } from '../controller/openflow/index.js';
import { answerFlowMod, fiveTuple, flowSpec, flowAdd } from './controller-flows.js';

type Command = { cmd: 'install'; n: number; mode: 'bundle' | 'apply' | 'raw' } | { cmd: 'exit' };

const mode = process.argv[2] ?? 'packet-in';
const send = (m: object): void => void process.send!(m);

if (!process.send) {
  console.error('controller-app: run by bench/controller.ts (needs an IPC channel)');
  process.exit(2);
}

const controller = new Controller({ port: 0, host: '127.0.0.1', logger: silentLogger() });

if (mode === 'packet-in') {
  controller.on('packetIn', (pi: PacketIn) => {
    const eth = parseEthernet(pi.msg.data);
    pi.conn.send(answerFlowMod(pi.inPort ?? 0, eth.dst, eth.src));
  });
}

controller.on('switchUp', (conn) => send({ up: conn.dpid!.toString() }));

let owners = 0;

function cpuMs(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
}

async function install(n: number, how: 'bundle' | 'apply' | 'raw'): Promise<{ ms: number; cpu: number; path: string }> {
  const conn = controller.switches()[0];
  if (!conn) throw new Error('no switch connected');
  const dpid = conn.dpid!;
  // A fresh manager per run: its desired state starts empty, as the bench empties the switch between runs.
  const fm = new FlowManager(controller, { reconcileOnConnect: false });
  const owner = `bench${++owners}`;
  fm.registerOwner(owner, 1);
  const tuples = Array.from({ length: n }, (_, i) => fiveTuple(i));
  try {
    if (how === 'raw') {
      const cookie = fm.cookie(owner);
      const msgs: OfpMessage[] = tuples.map((t) => flowAdd(t, cookie));
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      for (const m of msgs) conn.send(m);
      await conn.barrier(120_000);
      return { ms: performance.now() - t0, cpu: cpuMs(c0), path: 'raw' };
    }
    const specs: FlowSpec[] = tuples.map(flowSpec);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const r = await fm.apply(dpid, owner, { add: specs }, { atomic: how === 'bundle' });
    const ms = performance.now() - t0;
    const cpu = cpuMs(c0);
    if (r.added !== n) throw new Error(`apply added ${r.added} of ${n}`);
    return { ms, cpu, path: r.path };
  } finally {
    fm.close();
  }
}

process.on('message', (m: Command) => {
  if (m.cmd === 'exit') {
    void controller.close().then(() => process.exit(0));
    return;
  }
  if (m.cmd === 'install') {
    install(m.n, m.mode).then(
      (r) => send({ installed: true, n: m.n, mode: m.mode, ...r }),
      (e: Error) => send({ error: `${m.mode} ${m.n}: ${e.message}` }),
    );
  }
});
process.on('disconnect', () => process.exit(0)); // the bench went away

const { port } = await controller.listen();
send({ ready: true, port, pid: process.pid });
