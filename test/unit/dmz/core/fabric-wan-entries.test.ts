// A fabric with two WAN entries (test/helpers/science-dmz-fabrics.ts, twoEntriesYaml): a routed lease leaves by
// its nearest exit, and the far end's packets reach the DTN off the firewall whichever entry they come in by; a
// link of an entry's way lost, the lease moves; an entry cut off and back, the lease regains it. And the counts:
// every packet of the transfer is counted once, at the DTN's switch, whatever way it took.
import { describe, it, expect } from 'vitest';
import { parseSiteConfig } from '../../../../apps/dmz/config.js';
import { leaseOf } from '../../../../apps/dmz/core/state.js';
import { reservedByGroup } from '../../../../apps/dmz/core/reservations.js';
import { parsePrefix } from '../../../../apps/dmz/addresses.js';
import type { Site } from '../../../../apps/dmz/site.js';
import type { Trace } from '../../../helpers/fabric-sim.js';
import { twoEntriesYaml } from '../../../helpers/science-dmz-fabrics.js';
import { countAlong, request as requestUntil, tcp, USER } from './traffic.js';
import { World } from './world.js';

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
const DTN = { mac: '02:00:00:00:03:01', ip: '10.10.1.10', port: 1 };
const ENTRY2_LEAF = 'border2:10-leaf:11';
const BORDERS = 'border1:11-border2:11';

const request = requestUntil(T0 + 600_000);
/** From the far end into WAN entry port 1 of a border switch; from the DTN out. */
const inbound = (sport = 40000) => tcp(1, '192.0.2.10', DTN.ip, sport, 50001, DTN.mac);
const outbound = (sport = 40000) => tcp(DTN.port, DTN.ip, '192.0.2.10', 50001, sport, DTN.mac);

const where = (t: Trace): string[] => t.exits.map((e) => `${e.switch}:${e.port}`);
const firewalled = (t: Trace): boolean =>
  [...t.hops.map((h) => ({ switch: h.switch, port: h.inPort })), ...t.exits].some((x) => x.switch === 'border1' && (x.port === 2 || x.port === 3));

function world(): World {
  const site: Site = parseSiteConfig(twoEntriesYaml());
  const w = new World(site, T0);
  for (const sw of site.switches) w.run({ type: 'switch-up', dpid: sw.dpid });
  return w;
}

function leased(): { w: World; id: number } {
  const w = world();
  w.run(request);
  expect(w.lastRefusal).toBeUndefined();
  return { w, id: w.activeLeases()[0]! };
}

describe('a fabric with two WAN entries', () => {
  it('without a lease, what comes in by either entry crosses the firewall', () => {
    const f = world().fabric();
    for (const entry of ['border1', 'border2']) {
      const t = f.send(entry, inbound());
      expect(firewalled(t), entry).toBe(true);
      expect(where(t), entry).toEqual(['border1:2']);
    }
  });

  it('a routed lease leaves by the nearest exit; the far end reaches the DTN off the firewall by either entry', () => {
    const { w, id } = leased();
    const f = w.fabric();
    expect(where(f.send('leaf', outbound()))).toEqual(['border1:1']);
    for (const entry of ['border1', 'border2']) {
      const t = f.send(entry, inbound());
      expect(where(t), entry).toEqual(['leaf:1']);
      expect(firewalled(t), entry).toBe(false);
    }
    // border2's way is its own link to the leaf (the most room), and it is one of the lease's switches.
    expect(f.send('border2', inbound()).hops.map((h) => h.switch)).toEqual(['border2', 'leaf']);
    expect(leaseOf(w.state, id)!.hops.map((h) => h.switch)).toEqual(['border1', 'border2', 'leaf']);
    // Nothing else the lease's flows let in: another port, or another address, still meets the firewall.
    expect(firewalled(f.send('border2', { ...inbound(), dstPort: 52000 }))).toBe(true);
  });

  it("a lease leaving by an entry that names its router's MAC addresses that router there", () => {
    const mac = '02:00:00:00:01:02';
    const site: Site = parseSiteConfig(
      twoEntriesYaml().replace('{ port: 1, role: wan-routed }', `{ port: 1, role: wan-routed, router-mac: "${mac}" }`),
    );
    const w = new World(site, T0);
    for (const sw of site.switches) w.run({ type: 'switch-up', dpid: sw.dpid });
    w.run(request);
    const t = w.fabric().send('leaf', outbound());
    expect(t.exits).toEqual([{ switch: 'border1', port: 1, ethDst: mac }]);
    // Without one, the frame leaves addressed as the DTN sent it (its gateway's MAC).
    expect(leased().w.fabric().send('leaf', outbound()).exits).toEqual([{ switch: 'border1', port: 1, ethDst: DTN.mac }]);
  });

  it('released, both entries lead to the firewall again', () => {
    const { w, id } = leased();
    w.run({ type: 'release', id, by: USER, state: 'released', reason: 'done' });
    const f = w.fabric();
    for (const entry of ['border1', 'border2']) expect(firewalled(f.send(entry, inbound())), entry).toBe(true);
  });

  it("the entry's link lost, the lease moves: border2's packets come over border1; cut off and back, it regains the entry", () => {
    const { w } = leased();
    w.run({ type: 'link-down', link: ENTRY2_LEAF });
    expect(w.events.filter((e) => e.type === 'lease.path-moved')).toHaveLength(1);
    let t = w.fabric().send('border2', inbound());
    expect(where(t)).toEqual(['leaf:1']);
    expect(t.hops.map((h) => h.switch)).toEqual(['border2', 'border1', 'leaf']);
    expect(firewalled(t)).toBe(false);

    // border2 cut off from the lease's path altogether: the lease keeps its path (the exit is on border1).
    w.run({ type: 'link-down', link: BORDERS });
    expect(w.events.filter((e) => e.type === 'lease.path-lost')).toEqual([]);
    expect(where(w.fabric().send('border1', inbound()))).toEqual(['leaf:1']);
    expect(where(w.fabric().send('leaf', outbound()))).toEqual(['border1:1']);

    w.run({ type: 'link-up', link: ENTRY2_LEAF });
    t = w.fabric().send('border2', inbound());
    expect(where(t)).toEqual(['leaf:1']);
    expect(firewalled(t)).toBe(false);
  });

  it('a lease granted while another entry is cut off gains it when a link comes back (its routes are not kept as they were)', () => {
    // dtn2 on border2, whose own WAN port is its exit: its path is that one switch, border1 the other entry.
    const yaml = twoEntriesYaml()
      .replace(
        '      - { port: 1, role: wan-routed }\n      - { port: 10, role: fabric }\n      - { port: 11, role: fabric }\n  - name: leaf',
        '      - { port: 1, role: wan-routed }\n      - { port: 2, role: dtn }\n      - { port: 10, role: fabric }\n      - { port: 11, role: fabric }\n  - name: leaf',
      )
      .replace('dtns:\n', 'dtns:\n  - { name: dtn2, switch: border2, port: 2, mac: "02:00:00:00:03:02", ipv4: [10.10.1.11] }\n');
    const site: Site = parseSiteConfig(yaml);
    const w = new World(site, T0);
    for (const sw of site.switches) w.run({ type: 'switch-up', dpid: sw.dpid });
    w.run({ type: 'link-down', link: ENTRY2_LEAF });
    w.run({ type: 'link-down', link: BORDERS });
    const toDtn2 = tcp(1, '192.0.2.10', '10.10.1.11', 40000, 50001, '02:00:00:00:03:02');
    for (const asked of [1, 2]) {
      w.run(requestUntil(T0 + 600_000, { dtn: 'dtn2', localPorts: [{ lo: 50000 + asked, hi: 50000 + asked }] }));
      expect(w.lastRefusal).toBeUndefined();
    }
    expect(firewalled(w.fabric().send('border1', { ...toDtn2, dstPort: 50001 }))).toBe(true); // border1 cut off: no way
    w.run({ type: 'link-up', link: BORDERS });
    for (const port of [50001, 50002]) {
      const t = w.fabric().send('border1', { ...toDtn2, dstPort: port });
      expect(where(t), String(port)).toEqual(['border2:2']);
      expect(firewalled(t)).toBe(false);
    }
  });

  it("a rate is reserved on the other entry's way in too; no room there is refused naming the link", () => {
    const w = world();
    w.run(requestUntil(T0 + 600_000, { rateMbps: 600 }));
    expect(w.lastRefusal).toBeUndefined();
    expect(reservedByGroup(w.state)).toEqual(
      new Map([
        ['border1<->leaf', 600],
        ['border2<->leaf', 600],
      ]),
    );
    // border2's own link lost: its way in is over the 1000 Mbit/s link between the borders, which the lease
    // (moved) now holds 600 of.
    w.run({ type: 'link-down', link: ENTRY2_LEAF });
    expect(reservedByGroup(w.state).get('border1<->border2')).toBe(600);
    w.run(requestUntil(T0 + 600_000, { rateMbps: 500, remote: parsePrefix('198.51.100.0/24') }));
    expect(w.lastRefusal).toMatchObject({ reason: 'path-capacity', limit: { link: BORDERS, capacity_left_mbps: 400, rate_mbps: 500 } });
    w.run(requestUntil(T0 + 600_000, { rateMbps: 400, remote: parsePrefix('198.51.100.0/24') }));
    expect(w.lastRefusal).toBeUndefined();
  });

  it('each packet of the transfer is counted once, at the DTN switch, whichever entry it came by', () => {
    const { w, id } = leased();
    const count = { in: 0, out: 0 };
    for (let i = 0; i < 3; i++) countAlong(w, id, 'dtn1', 'border1', inbound(40000 + i), count);
    for (let i = 0; i < 4; i++) countAlong(w, id, 'dtn1', 'border2', inbound(41000 + i), count);
    for (let i = 0; i < 5; i++) countAlong(w, id, 'dtn1', 'leaf', outbound(42000 + i), count);
    expect(count).toEqual({ in: 7, out: 5 });
  });
});
