/**
 * The pipeline's select groups on Open vSwitch: the datasite config joins its DMZ switch to the border by two
 * parallel links, which the pipeline sends over through one select group per switch (fabric/link-groups.ts). As
 * the switches connect, the app declares those groups with the pipeline's flows, and the reconcile puts both on
 * the bridges (one private ovs-vswitchd, lab/private-ovs.ts, the links as patch ports): without the groups, OVS
 * would refuse every flow that sends to them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller } from '../../controller/controller.js';
import { FlowManager } from '../../controller/flow-manager.js';
import { silentLogger } from '../../controller/log.js';
import { DmzApp } from '../../apps/dmz/dmz-app.js';
import { parseSiteConfig } from '../../apps/dmz/config.js';
import { PrivateOvs } from '../../lab/private-ovs.js';
import { datasiteYaml } from '../helpers/science-dmz-fabrics.js';

const BRIDGES = { border: 1n, dmz: 2n } as const;

describe('select groups over parallel links, on Open vSwitch', () => {
  let ovs: PrivateOvs;
  let controller: Controller;
  let flows: FlowManager;
  let app: DmzApp;

  beforeAll(async () => {
    const logger = silentLogger();
    controller = new Controller({ port: 0, host: '127.0.0.1', logger });
    flows = new FlowManager(controller, { logger });
    app = new DmzApp({ site: parseSiteConfig(datasiteYaml()), controller, flows, logger, pollIntervalMs: 0 });
    await app.start();
    const { port } = await controller.listen();
    ovs = await new PrivateOvs().start();
    await ovs.addBridge('border', BRIDGES.border, { ports: ['bwan', 'bx2', 'bfwo', 'bfwi'] });
    await ovs.addBridge('dmz', BRIDGES.dmz, { ports: ['ddtn1'] });
    for (const p of [10, 11]) {
      await ovs.vsctl(
        'add-port',
        'border',
        `border-${p}`,
        '--',
        'set',
        'interface',
        `border-${p}`,
        'type=patch',
        `options:peer=dmz-${p}`,
        `ofport_request=${p}`,
      );
      await ovs.vsctl(
        'add-port',
        'dmz',
        `dmz-${p}`,
        '--',
        'set',
        'interface',
        `dmz-${p}`,
        'type=patch',
        `options:peer=border-${p}`,
        `ofport_request=${p}`,
      );
    }
    const pending = new Set<bigint>(Object.values(BRIDGES));
    const reconciled = new Promise<void>((resolve) =>
      flows.on('reconciled', (d) => {
        pending.delete(d);
        if (pending.size === 0) resolve();
      }),
    );
    for (const name of Object.keys(BRIDGES)) await ovs.setController(name, `tcp:127.0.0.1:${port}`);
    await reconciled;
  }, 150_000);

  afterAll(async () => {
    app?.stop();
    flows?.close();
    await controller?.close();
    await ovs?.stop();
  });

  it('each switch holds its select group over both links, and the pipeline flows that send to it', async () => {
    for (const bridge of Object.keys(BRIDGES)) {
      const groups = (await ovs.ofctl('dump-groups', bridge)).split('\n').filter((l) => l.includes('type=select'));
      expect(groups, bridge).toHaveLength(1);
      expect(groups[0]).toMatch(/bucket=.*watch_port:10.*actions=output:10,bucket=.*watch_port:11.*actions=output:11/);
      const groupId = /group_id=(\d+)/.exec(groups[0]!)![1];
      const users = (await ovs.ofctl('dump-flows', bridge)).split('\n').filter((l) => l.includes(`group:${groupId}`));
      expect(users.length, bridge).toBeGreaterThan(0);
    }
  });
});
