/**
 * Per-switch hash fields for parallel links (site config `lag-hash`): the datasite's border hashes the L3 and L4
 * fields over its two links to the DMZ switch with Open vSwitch's bundle action, the DMZ switch keeps its select
 * group. On real bridges (one private ovs-vswitchd, the links as patch ports): the border holds no select group
 * and its flows carry the bundle action, which OVS reads back as we wrote it (a reconcile changes nothing), and
 * the firewall's inside leg's traffic to the DTN spreads over both links by its ports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasiteYaml } from '../helpers/science-dmz-fabrics.js';
import { DATASITE_BRIDGES, startDatasiteBridges, type DatasiteBridges } from '../helpers/datasite-bridges.js';

const LAG_HASH_SITE = datasiteYaml().replace('  - name: border\n', '  - name: border\n    lag-hash: symmetric_l3l4+udp\n');
const BUNDLE = 'bundle(symmetric_l3l4+udp,0,hrw,ofport,members:10,11)';

describe('a switch given lag-hash sends over parallel links with the bundle action, on Open vSwitch', () => {
  let b: DatasiteBridges;
  beforeAll(async () => {
    b = await startDatasiteBridges(LAG_HASH_SITE);
  }, 150_000);
  afterAll(async () => b?.stop());

  it('the border holds no select group and sends over both links with the bundle; the DMZ switch keeps its group', async () => {
    expect((await b.ovs.ofctl('dump-groups', 'border')).split('\n').filter((l) => l.includes('type=select'))).toEqual([]);
    expect((await b.ovs.ofctl('dump-groups', 'dmz')).split('\n').filter((l) => l.includes('type=select'))).toHaveLength(1);
    const users = (await b.ovs.ofctl('dump-flows', 'border')).split('\n').filter((l) => l.includes(BUNDLE));
    expect(users.length).toBeGreaterThan(0);
  });

  it('OVS gives the bundle back byte for byte: a reconcile of the border changes nothing', async () => {
    const report = await b.flows.reconcile(DATASITE_BRIDGES.border);
    expect(report).toMatchObject({ added: 0, modified: 0, deleted: 0, replaced: 0 });
    expect(report.unchanged).toBeGreaterThan(0);
  });

  it("the firewall's inside leg's traffic to the DTN takes both links, by its ports", async () => {
    const used = new Set<string>();
    for (let sport = 40000; sport < 40032; sport++) {
      const text = await b.ovs.appctl(
        'ofproto/trace',
        'border',
        `in_port=3,tcp,dl_src=02:00:00:00:00:fe,dl_dst=02:00:00:00:02:01,nw_src=192.0.2.10,nw_dst=10.10.1.10,tp_src=${sport},tp_dst=50000`,
      );
      // The trace goes on into the DMZ bridge through the patch port the bundle chose: its in_port is the member.
      const member = /bridge\("dmz"\)[\s\S]*?in_port=(\d+)/.exec(text)?.[1];
      if (member === undefined) throw new Error(`no bundle member in the trace:\n${text}`);
      used.add(member);
    }
    expect([...used].sort()).toEqual(['10', '11']);
  });
});
