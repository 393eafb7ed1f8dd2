// The datasite's two switches as Open vSwitch bridges (one private ovs-vswitchd), its two parallel links as patch
// ports 10 and 11, driven by a DmzApp on the site config given: resolves once both bridges are reconciled.
import { Controller } from '../../controller/controller.js';
import { FlowManager } from '../../controller/flow-manager.js';
import { silentLogger } from '../../controller/log.js';
import { DmzApp } from '../../apps/dmz/dmz-app.js';
import { parseSiteConfig } from '../../apps/dmz/config.js';
import { PrivateOvs } from '../../lab/private-ovs.js';

export const DATASITE_BRIDGES = { border: 1n, dmz: 2n } as const;

export interface DatasiteBridges {
  ovs: PrivateOvs;
  controller: Controller;
  flows: FlowManager;
  app: DmzApp;
  stop(): Promise<void>;
}

export async function startDatasiteBridges(siteYaml: string): Promise<DatasiteBridges> {
  const logger = silentLogger();
  const controller = new Controller({ port: 0, host: '127.0.0.1', logger });
  const flows = new FlowManager(controller, { logger });
  const app = new DmzApp({ site: parseSiteConfig(siteYaml), controller, flows, logger, pollIntervalMs: 0 });
  await app.start();
  const { port } = await controller.listen();
  const ovs = await new PrivateOvs().start();
  const stop = async (): Promise<void> => {
    app.stop();
    flows.close();
    await controller.close();
    await ovs.stop();
  };
  try {
    await ovs.addBridge('border', DATASITE_BRIDGES.border, { ports: ['bwan', 'bx2', 'bfwo', 'bfwi'] });
    await ovs.addBridge('dmz', DATASITE_BRIDGES.dmz, { ports: ['ddtn1'] });
    for (const p of [10, 11]) {
      for (const [me, peer] of [
        ['border', 'dmz'],
        ['dmz', 'border'],
      ] as const) {
        const port = `${me}-${p}`;
        await ovs.vsctl('add-port', me, port, '--', 'set', 'interface', port, 'type=patch', `options:peer=${peer}-${p}`, `ofport_request=${p}`);
      }
    }
    const pending = new Set<bigint>(Object.values(DATASITE_BRIDGES));
    const reconciled = new Promise<void>((resolve) =>
      flows.on('reconciled', (d) => {
        pending.delete(d);
        if (pending.size === 0) resolve();
      }),
    );
    for (const name of Object.keys(DATASITE_BRIDGES)) await ovs.setController(name, `tcp:127.0.0.1:${port}`);
    await reconciled;
  } catch (e) {
    await stop();
    throw e;
  }
  return { ovs, controller, flows, app, stop };
}
