/**
 * LLDP link discovery on real Open vSwitch: a private OVS (userspace datapath) with two bridges, dmz1 (datapath 1)
 * and core1 (datapath 2), each with internal ports 1..4 for the one-switch roles and patch ports as fabric ports.
 * Patch pair A joins dmz1:5 and core1:5, as the site config says; pair B joins dmz1:6 to core1:7, where the config
 * says dmz1:6-core1:6. The DMZ app installs its pipeline (whose LLDP flow brings the probes back as packet-ins);
 * discovery runs at its default 1 s interval. Then pair A is taken apart: its link goes down at once.
 *
 * Needs Open vSwitch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller } from '../../controller/controller.js';
import { FlowManager } from '../../controller/flow-manager.js';
import { silentLogger } from '../../controller/log.js';
import { LinkDiscovery } from '../../controller/lldp-discovery.js';
import { DmzApp } from '../../apps/dmz/dmz-app.js';
import { FabricMonitor, type LinkEvent } from '../../apps/dmz/fabric-monitor.js';
import { parseSiteConfig } from '../../apps/dmz/config.js';
import { PrivateOvs } from '../../lab/private-ovs.js';

const SITE = `site: fabric
switches:
  - name: dmz1
    dpid: "0000000000000001"
    ports:
      - { port: 1, role: wan-routed }
      - { port: 2, role: fw-outside }
      - { port: 3, role: fw-inside }
      - { port: 4, role: dtn }
      - { port: 5, role: fabric }
      - { port: 6, role: fabric }
  - name: core1
    dpid: "0000000000000002"
    ports:
      - { port: 1, role: wan-routed }
      - { port: 2, role: fw-outside }
      - { port: 3, role: fw-inside }
      - { port: 4, role: dtn }
      - { port: 5, role: fabric }
      - { port: 6, role: fabric }
      - { port: 7, role: fabric }
dtns:
  - { name: dtn1, switch: dmz1, port: 4, mac: "02:00:00:00:01:04", ipv4: [10.10.1.10] }
links:
  - { a: "dmz1:5", b: "core1:5", capacity-mbps: 10000 }
  - { a: "dmz1:6", b: "core1:6", capacity-mbps: 10000 }
`;

async function until(pred: () => boolean, ms: number, what: string): Promise<number> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return Date.now() - start;
}

describe('LLDP discovery on Open vSwitch (two bridges, patch ports)', () => {
  const logger = silentLogger();
  let ovs: PrivateOvs;
  let controller: Controller;
  let flows: FlowManager;
  let app: DmzApp;
  let discovery: LinkDiscovery;
  let monitor: FabricMonitor;
  const events: LinkEvent[] = [];
  let connectedAt = 0;

  beforeAll(async () => {
    ovs = await new PrivateOvs().start();
    controller = new Controller({ port: 0, host: '127.0.0.1', logger });
    flows = new FlowManager(controller, { logger });
    const site = parseSiteConfig(SITE);
    app = new DmzApp({ site, controller, flows, logger, pollIntervalMs: 0 });
    discovery = new LinkDiscovery({ controller, logger });
    monitor = new FabricMonitor({ site: () => app.site, controller, discovery, logger });
    monitor.on('event', (e) => events.push(e));
    await app.start();
    monitor.start();
    discovery.start();
    const { port } = await controller.listen();
    await ovs.addBridge('lldpbr1', 1n, { ports: ['lldpa1', 'lldpa2', 'lldpa3', 'lldpa4'] });
    await ovs.addBridge('lldpbr2', 2n, { ports: ['lldpb1', 'lldpb2', 'lldpb3', 'lldpb4'] });
    const patch = (br: string, name: string, peer: string, ofport: number) => [
      '--',
      'add-port',
      br,
      name,
      '--',
      'set',
      'interface',
      name,
      'type=patch',
      `options:peer=${peer}`,
      `ofport_request=${ofport}`,
    ];
    await ovs.vsctl(
      ...patch('lldpbr1', 'lldpa5', 'lldpb5', 5).slice(1),
      ...patch('lldpbr2', 'lldpb5', 'lldpa5', 5),
      ...patch('lldpbr1', 'lldpa6', 'lldpb7', 6),
      ...patch('lldpbr2', 'lldpb7', 'lldpa6', 7),
    );
    let reconciled = 0;
    const both = new Promise<void>((resolve) =>
      flows.on('reconciled', () => {
        if (++reconciled === 2) resolve();
      }),
    );
    await ovs.setController('lldpbr1', `tcp:127.0.0.1:${port}`);
    await ovs.setController('lldpbr2', `tcp:127.0.0.1:${port}`);
    await both;
    connectedAt = Date.now();
  }, 60_000);

  afterAll(async () => {
    discovery?.stop();
    monitor?.stop();
    app?.stop();
    flows?.close();
    await controller?.close();
    await ovs?.stop();
  });

  const link = (name: string) => monitor.links().find((l) => l.name === name);

  it('finds the link cabled as configured within a few seconds, and it is up', async () => {
    const ms = await until(() => link('dmz1:5-core1:5')?.state === 'up', 5000, 'dmz1:5-core1:5 up');
    expect(link('dmz1:5-core1:5')).toMatchObject({ configured: true, seen: true, up: true });
    expect(events).toContainEqual(expect.objectContaining({ type: 'link.up', link: expect.objectContaining({ name: 'dmz1:5-core1:5' }) }));
    console.log(`dmz1:5-core1:5 up ${ms} ms after the test began waiting (${Date.now() - connectedAt} ms after both bridges were reconciled)`);
  });

  it('flags the link cabled to other ports than configured, and never calls it up', async () => {
    await until(() => link('dmz1:6-core1:6')?.state === 'miscabled', 5000, 'dmz1:6-core1:6 miscabled');
    expect(link('dmz1:6-core1:6')).toMatchObject({
      up: false,
      seenInstead: [{ a: { switch: 'dmz1', port: 6 }, b: { switch: 'core1', port: 7 } }],
    });
    expect(link('seen:dmz1:6-core1:7')).toMatchObject({ configured: false, seen: true, up: false, state: 'miscabled' });
    const alarms = events
      .filter((e) => e.type === 'link.miscabled')
      .map((e) => e.link.name)
      .sort();
    expect(alarms).toEqual(['dmz1:6-core1:6', 'seen:dmz1:6-core1:7']);
  });

  it('the LLDP frames went to the controller only: the pipeline flow counted them, nothing forwarded them', async () => {
    const dump = await ovs.ofctl('dump-flows', 'lldpbr1', 'dl_type=0x88cc');
    const packets = Number(/n_packets=(\d+)/.exec(dump)?.[1]);
    expect(dump).toContain('actions=CONTROLLER:65535');
    expect(packets).toBeGreaterThan(0);
  });

  it('a patch pair taken apart: its link is down at once (port-down), not after 3 intervals', async () => {
    const before = events.length;
    const at = Date.now();
    await ovs.vsctl('del-port', 'lldpbr2', 'lldpb5');
    await until(() => link('dmz1:5-core1:5')?.state === 'down', 2500, 'dmz1:5-core1:5 down');
    const down = events.slice(before).find((e) => e.type === 'link.down');
    expect(down).toMatchObject({ link: { name: 'dmz1:5-core1:5' } });
    expect(down!.reason).toBe('port-down');
    console.log(`dmz1:5-core1:5 down ${Date.now() - at} ms after del-port, reason ${down!.reason}`);
  });
});
