/**
 * The pipeline's select groups on Open vSwitch: the datasite config joins its DMZ switch to the border by two
 * parallel links, which the pipeline sends over through one select group per switch (fabric/link-groups.ts). As
 * the switches connect, the app declares those groups with the pipeline's flows, and the reconcile puts both on
 * the bridges (one private ovs-vswitchd, lab/private-ovs.ts, the links as patch ports): without the groups, OVS
 * would refuse every flow that sends to them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasiteYaml } from '../helpers/science-dmz-fabrics.js';
import { DATASITE_BRIDGES, startDatasiteBridges, type DatasiteBridges } from '../helpers/datasite-bridges.js';

describe('select groups over parallel links, on Open vSwitch', () => {
  let b: DatasiteBridges;
  beforeAll(async () => {
    b = await startDatasiteBridges(datasiteYaml());
  }, 150_000);
  afterAll(async () => b?.stop());

  it('each switch holds its select group over both links, and the pipeline flows that send to it', async () => {
    for (const bridge of Object.keys(DATASITE_BRIDGES)) {
      const groups = (await b.ovs.ofctl('dump-groups', bridge)).split('\n').filter((l) => l.includes('type=select'));
      expect(groups, bridge).toHaveLength(1);
      expect(groups[0]).toMatch(/bucket=.*watch_port:10.*actions=output:10,bucket=.*watch_port:11.*actions=output:11/);
      const groupId = /group_id=(\d+)/.exec(groups[0]!)![1];
      const users = (await b.ovs.ofctl('dump-flows', bridge)).split('\n').filter((l) => l.includes(`group:${groupId}`));
      expect(users.length, bridge).toBeGreaterThan(0);
    }
  });
});
