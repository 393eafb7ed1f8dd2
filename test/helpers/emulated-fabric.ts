// Emulated switches cabled together under a real Controller, with LLDP discovery on a clock the test moves:
// every switch gets the LLDP-to-controller flow through a FlowManager, as a pipeline would give it.
import { Controller } from '../../controller/controller.js';
import { FlowManager } from '../../controller/flow-manager.js';
import { silentLogger } from '../../controller/log.js';
import { LinkDiscovery, lldpToControllerFlow, type DiscoveryClock } from '../../controller/lldp-discovery.js';
import { EmulatedSwitch, Cable } from '../../emulator/index.js';

export class FakeClock implements DiscoveryClock {
  t = 1_000_000;
  now(): number {
    return this.t;
  }
  setInterval(): unknown {
    return 0; // the test calls tick() itself
  }
  clearInterval(): void {}
}

export async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface EmulatedFabric {
  controller: Controller;
  flows: FlowManager;
  switches: EmulatedSwitch[];
  discovery: LinkDiscovery;
  clock: FakeClock;
  cable(a: [number, number], b: [number, number]): Cable;
  close(): Promise<void>;
}

/** `n` switches (dpids 1..n, ports 1..ports); discovery is not started (the caller attaches listeners first). */
export async function emulatedFabric(n = 2, ports = 4, withLldpFlow = true): Promise<EmulatedFabric> {
  const logger = silentLogger();
  const controller = new Controller({ port: 0, host: '127.0.0.1', logger });
  const flows = new FlowManager(controller, { logger });
  flows.registerOwner('lldp-test', 0x77);
  const { port } = await controller.listen();
  const up = new Promise<void>((resolve) => {
    let reconciled = 0;
    flows.on('reconciled', () => {
      if (++reconciled === n) resolve();
    });
  });
  const switches = Array.from({ length: n }, (_, i) => new EmulatedSwitch({ dpid: BigInt(i + 1), ports, port }));
  for (const s of switches) {
    if (withLldpFlow) flows.setFlows(s.dpid, 'lldp-test', [lldpToControllerFlow(65000, flows.cookie('lldp-test'))]);
    else flows.setFlows(s.dpid, 'lldp-test', []);
  }
  for (const s of switches) await s.connect();
  await up;
  const clock = new FakeClock();
  const discovery = new LinkDiscovery({ controller, logger, clock, intervalMs: 1000 });
  const bySwitch = (d: number) => switches[d - 1]!;
  return {
    controller,
    flows,
    switches,
    discovery,
    clock,
    cable: ([da, pa], [db, pb]) => new Cable(bySwitch(da), pa, bySwitch(db), pb),
    close: async () => {
      discovery.stop();
      flows.close();
      await Promise.all(switches.map((s) => s.close()));
      await controller.close();
    },
  };
}
