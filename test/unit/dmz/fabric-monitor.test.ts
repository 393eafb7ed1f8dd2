// Configured links against what LLDP sees, on two emulated switches (dmz1 = dpid 1, core1 = dpid 2) cabled by
// the test: a configured link found is up; a cable on other ports, a link not cabled, and a cable the config does
// not name are alarms (events and states), and a link lost after 3 silent intervals is down. Each configured
// link becoming usable or not is a link-up / link-down notification naming its ends.
import { afterEach, describe, expect, it } from 'vitest';
import { parseSiteConfig } from '../../../apps/dmz/config.js';
import { FabricMonitor, type LinkChange, type LinkEvent } from '../../../apps/dmz/fabric-monitor.js';
import { silentLogger } from '../../../controller/log.js';
import type { Cable } from '../../../emulator/index.js';
import { emulatedFabric, until, type EmulatedFabric } from '../../helpers/emulated-fabric.js';
import { fabricSiteYaml } from '../../helpers/fabric-site.js';

describe('FabricMonitor', () => {
  let f: EmulatedFabric;
  let monitor: FabricMonitor;
  let events: LinkEvent[];
  let changes: string[];
  let site: ReturnType<typeof parseSiteConfig>;
  afterEach(async () => {
    monitor?.stop();
    await f?.close();
  });

  async function start(links?: string[], cables: [[number, number], [number, number]][] = []): Promise<Cable[]> {
    f = await emulatedFabric(2, 6);
    const made = cables.map(([a, b]) => f.cable(a, b));
    site = parseSiteConfig(fabricSiteYaml(links));
    monitor = new FabricMonitor({ site: () => site, controller: f.controller, discovery: f.discovery, logger: silentLogger() });
    events = [];
    changes = [];
    monitor.on('event', (e) => events.push(e));
    const change = (kind: string) => (c: LinkChange) =>
      changes.push(
        `${kind} ${c.link} ${c.a.switch}:${c.a.port}(${c.a.dpid}) ${c.b.switch}:${c.b.port}(${c.b.dpid})${c.reason ? ` ${c.reason}` : ''}`,
      );
    monitor.on('link-up', change('link-up'));
    monitor.on('link-down', change('link-down'));
    monitor.start();
    f.discovery.start();
    return made;
  }
  const state = (name: string) => monitor.links().find((l) => l.name === name);
  const types = () => events.map((e) => `${e.type} ${e.link.name}`);

  it('a configured link cabled as configured is up (seen both ways), with its capacity', async () => {
    await start(undefined, [
      [
        [1, 5],
        [2, 5],
      ],
    ]);
    await until(() => state('dmz1:5-core1:5')?.state === 'up');
    expect(state('dmz1:5-core1:5')).toMatchObject({
      configured: true,
      seen: true,
      up: true,
      capacityMbps: 10000,
      cost: 1,
      a: { switch: 'dmz1', dpid: 1n, port: 5 },
      b: { switch: 'core1', dpid: 2n, port: 5 },
    });
    expect(types()).toEqual(['link.up dmz1:5-core1:5']);
    expect(monitor.links()).toHaveLength(1);
  });

  it('a cable on other ports than configured: the configured link and the seen one are miscabled, neither up', async () => {
    await start(undefined, [
      [
        [1, 5],
        [2, 6],
      ],
    ]);
    await until(() => events.length >= 2);
    expect(state('dmz1:5-core1:5')).toMatchObject({
      state: 'miscabled',
      up: false,
      seen: false,
      seenInstead: [{ a: { switch: 'dmz1', port: 5 }, b: { switch: 'core1', port: 6 } }],
    });
    expect(state('seen:dmz1:5-core1:6')).toMatchObject({ state: 'miscabled', configured: false, seen: true, up: false });
    expect(types().sort()).toEqual(['link.miscabled dmz1:5-core1:5', 'link.miscabled seen:dmz1:5-core1:6']);
  });

  it('a configured link not cabled is pending, then missing once both switches have been up 3 intervals', async () => {
    await start();
    expect(state('dmz1:5-core1:5')).toMatchObject({ state: 'pending', up: false });
    f.clock.t += 2000;
    f.discovery.tick();
    expect(state('dmz1:5-core1:5')?.state).toBe('pending');
    f.clock.t += 1000;
    f.discovery.tick();
    expect(state('dmz1:5-core1:5')?.state).toBe('missing');
    expect(types()).toEqual(['link.missing dmz1:5-core1:5']);
  });

  it('a cable the config does not name is unexpected', async () => {
    await start(
      [],
      [
        [
          [1, 6],
          [2, 6],
        ],
      ],
    );
    await until(() => events.length === 1);
    expect(types()).toEqual(['link.unexpected seen:dmz1:6-core1:6']);
    expect(monitor.links()).toEqual([expect.objectContaining({ configured: false, seen: true, up: false, state: 'unexpected' })]);
  });

  it('a link silent for 3 intervals goes down (reason timeout); a pulled cable at once (port-down)', async () => {
    const [c] = await start(undefined, [
      [
        [1, 5],
        [2, 5],
      ],
    ]);
    await until(() => state('dmz1:5-core1:5')?.state === 'up');
    // Severed: the switches keep their ports up, so only the silence tells.
    c!.sever();
    for (let i = 0; i < 3; i++) {
      f.clock.t += 1000;
      f.discovery.tick();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(state('dmz1:5-core1:5')).toMatchObject({ state: 'down', up: false });
    expect(events.at(-1)).toMatchObject({ type: 'link.down', reason: 'timeout' });
    c!.mend();
    f.discovery.tick();
    await until(() => state('dmz1:5-core1:5')?.state === 'up');
    c!.unplug();
    await until(() => state('dmz1:5-core1:5')?.state === 'down');
    expect(events.at(-1)).toMatchObject({ type: 'link.down', reason: 'port-down' });
  });

  it('notifies link-up and link-down with the link and its ends: a pulled cable, plugged again', async () => {
    const [c] = await start(undefined, [
      [
        [1, 5],
        [2, 5],
      ],
    ]);
    await until(() => changes.length === 1);
    c!.unplug();
    await until(() => changes.length === 2);
    c!.plug();
    await until(() => changes.length === 3);
    expect(changes).toEqual([
      'link-up dmz1:5-core1:5 dmz1:5(1) core1:5(2)',
      'link-down dmz1:5-core1:5 dmz1:5(1) core1:5(2) port-down',
      'link-up dmz1:5-core1:5 dmz1:5(1) core1:5(2)',
    ]);
  });

  it('a switch disconnecting takes its links down at once (reason switch-down)', async () => {
    await start(undefined, [
      [
        [1, 5],
        [2, 5],
      ],
    ]);
    await until(() => state('dmz1:5-core1:5')?.state === 'up');
    await f.switches[1]!.close();
    await until(() => state('dmz1:5-core1:5')?.state === 'down');
    expect(events.at(-1)).toMatchObject({ type: 'link.down', reason: 'switch-down' });
    expect(changes.at(-1)).toBe('link-down dmz1:5-core1:5 dmz1:5(1) core1:5(2) switch-down');
  });

  it('a miscabled or unexpected link is never notified as up', async () => {
    await start(undefined, [
      [
        [1, 5],
        [2, 6],
      ],
      [
        [1, 6],
        [2, 5],
      ],
    ]);
    await until(() => events.length >= 3);
    f.clock.t += 1000;
    f.discovery.tick();
    await new Promise((r) => setTimeout(r, 30));
    expect(monitor.links().filter((l) => l.up)).toEqual([]);
    expect(changes).toEqual([]);
  });

  it('a reload that drops an up link from the config notifies link-down (unconfigured)', async () => {
    await start(undefined, [
      [
        [1, 5],
        [2, 5],
      ],
    ]);
    await until(() => changes.length === 1);
    site = parseSiteConfig(fabricSiteYaml([]));
    monitor.refresh();
    expect(changes.at(-1)).toBe('link-down dmz1:5-core1:5 dmz1:5(1) core1:5(2) unconfigured');
    expect(types().at(-1)).toBe('link.unexpected seen:dmz1:5-core1:5');
  });

  it('a burst of link changes within one turn is compared once, after it', async () => {
    await start();
    let compared = 0;
    const links = monitor.links.bind(monitor);
    monitor.links = () => {
      compared++;
      return links();
    };
    const seen = { src: { dpid: 1n, port: 5 }, dst: { dpid: 2n, port: 5 }, firstSeen: 0, lastSeen: 0 };
    for (let i = 0; i < 10; i++) f.discovery.emit('linkUp', seen);
    f.discovery.emit('linkDown', seen, 'timeout');
    expect(compared).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(compared).toBe(1);
  });
});
