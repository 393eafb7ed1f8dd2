// LLDP link discovery against emulated switches joined by emulated cables: links seen from packet-outs that come
// back as packet-ins on the far switch, lost after 3 silent intervals or at once on a port going down, re-cabling,
// and frames not of ours ignored.
import { afterEach, describe, expect, it } from 'vitest';
import { buildPacket, LLDP_MULTICAST, CHASSIS_ID_SUBTYPE, PORT_ID_SUBTYPE } from '../../../controller/packet/index.js';
import { linkKey, lldpToControllerFlow, type DiscoveredLink, type LinkLossReason } from '../../../controller/lldp-discovery.js';
import { ethernetFields } from '../../../emulator/index.js';
import { emulatedFabric, until, type EmulatedFabric } from '../../helpers/emulated-fabric.js';

const keys = (links: DiscoveredLink[]) => links.map((l) => linkKey(l.src, l.dst)).sort();
/** `1:3`, `2:3` (dpid:port) as linkKey writes the link from the first to the second. */
const L = (a: string, b: string) => [a, b].map((e) => `${e.split(':')[0]!.padStart(16, '0')}:${e.split(':')[1]}`).join('>');

describe('LinkDiscovery', () => {
  let f: EmulatedFabric;
  let downs: [string, LinkLossReason][];
  afterEach(async () => f?.close());

  async function start(withLldpFlow = true): Promise<void> {
    f = await emulatedFabric(2, 4, withLldpFlow);
    downs = [];
    f.discovery.on('linkDown', (l, why) => downs.push([linkKey(l.src, l.dst), why]));
  }

  it('sees a cable in both directions from the first probe, and nothing where there is no cable', async () => {
    await start();
    f.cable([1, 3], [2, 3]);
    f.discovery.start();
    await until(() => f.discovery.links().length === 2);
    expect(keys(f.discovery.links())).toEqual([L('1:3', '2:3'), L('2:3', '1:3')]);
    expect(f.switches[0]!.counters.packetOutsReceived).toBe(4); // one frame per port
  });

  it('without the LLDP-to-controller flow on the switches, nothing is seen', async () => {
    await start(false);
    f.cable([1, 3], [2, 3]);
    f.discovery.start();
    await until(() => f.switches[1]!.counters.packetOutsReceived === 4);
    await new Promise((r) => setTimeout(r, 50));
    expect(f.discovery.links()).toEqual([]);
  });

  it('a severed cable (ports still up) is lost after 3 intervals without a frame, not before', async () => {
    await start();
    const cable = f.cable([1, 3], [2, 3]);
    f.discovery.start();
    await until(() => f.discovery.links().length === 2);
    cable.sever();
    for (let i = 1; i <= 2; i++) {
      f.clock.t += 1000;
      f.discovery.tick();
      await new Promise((r) => setTimeout(r, 30));
      expect(f.discovery.links()).toHaveLength(2);
    }
    f.clock.t += 1000;
    f.discovery.tick();
    expect(f.discovery.links()).toEqual([]);
    expect(downs.map(([, why]) => why)).toEqual(['timeout', 'timeout']);
  });

  it('a frame each interval keeps the link', async () => {
    await start();
    f.cable([1, 3], [2, 3]);
    f.discovery.start();
    await until(() => f.discovery.links().length === 2);
    for (let i = 0; i < 6; i++) {
      f.clock.t += 1000;
      f.discovery.tick();
      const sent = f.switches[0]!.counters.packetOutsReceived;
      await until(() => f.discovery.links().every((l) => l.lastSeen === f.clock.t) && f.switches[0]!.counters.packetOutsReceived >= sent);
    }
    expect(downs).toEqual([]);
  });

  it('a port going down loses its links at once', async () => {
    await start();
    const cable = f.cable([1, 3], [2, 3]);
    f.discovery.start();
    await until(() => f.discovery.links().length === 2);
    cable.unplug();
    await until(() => f.discovery.links().length === 0);
    expect(downs.map(([, why]) => why)).toEqual(['port-down', 'port-down']);
    cable.plug(); // the port coming up is probed at once
    await until(() => f.discovery.links().length === 2);
  });

  it('a cable moved to another port: the old link is replaced where the far end is the same port', async () => {
    await start();
    const cable = f.cable([1, 3], [2, 3]);
    f.discovery.start();
    await until(() => f.discovery.links().length === 2);
    cable.remove();
    f.cable([1, 4], [2, 3]);
    f.clock.t += 1000;
    f.discovery.tick();
    await until(() => keys(f.discovery.links()).includes(L('1:4', '2:3')) && keys(f.discovery.links()).includes(L('2:3', '1:4')));
    expect(downs).toContainEqual([L('1:3', '2:3'), 'recabled']);
    // 2:3 -> 1:3 was not replaced (1:3 hears nothing now): it times out.
    f.clock.t += 2000;
    f.discovery.tick();
    expect(keys(f.discovery.links())).toEqual([L('1:4', '2:3'), L('2:3', '1:4')]);
    expect(downs).toContainEqual([L('2:3', '1:3'), 'timeout']);
  });

  it('an LLDP frame not of this controller (a host forging a switch) names no link', async () => {
    await start();
    f.discovery.start();
    const port = Buffer.alloc(4);
    port.writeUInt32BE(3);
    const forged = Buffer.from(
      buildPacket({
        eth: { dst: LLDP_MULTICAST, src: '02:00:00:00:00:99' },
        lldp: {
          chassisId: { subtype: CHASSIS_ID_SUBTYPE.LOCAL, id: 'dpid:0000000000000001' },
          portId: { subtype: PORT_ID_SUBTYPE.PORT_COMPONENT, id: port },
          ttl: 3,
        },
      }),
    );
    f.switches[1]!.injectPacket(2, forged, ethernetFields(forged));
    await until(() => f.discovery.foreignFrames === 1);
    expect(f.discovery.links()).toEqual([]);
  });

  it('a switch disconnecting loses the links at both of its ends at once', async () => {
    await start();
    f.cable([1, 3], [2, 3]);
    f.discovery.start();
    await until(() => f.discovery.links().length === 2);
    await f.switches[1]!.close();
    await until(() => f.discovery.links().length === 0);
    expect(downs.map(([, why]) => why)).toEqual(['switch-down', 'switch-down']);
  });

  it('probeSoon: a round before the next interval finds a link whose first probe met a switch without the LLDP flow', async () => {
    await start(false);
    f.cable([1, 3], [2, 3]);
    f.discovery.start();
    await until(() => f.switches[1]!.counters.packetOutsReceived === 4);
    for (const s of f.switches) {
      f.flows.setFlows(s.dpid, 'lldp-test', [lldpToControllerFlow(65000, f.flows.cookie('lldp-test'))]);
      await f.flows.reconcile(s.dpid);
    }
    expect(f.discovery.links()).toEqual([]);
    f.discovery.probeSoon();
    f.discovery.probeSoon(); // one round for both requests
    await until(() => f.discovery.links().length === 2);
    expect(f.switches[0]!.counters.packetOutsReceived).toBe(8);
  });
});
