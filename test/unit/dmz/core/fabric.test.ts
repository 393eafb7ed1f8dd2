// The fabric through the core: leases across several switches, asked by behaviour on the switches' simulators
// chained by the configured links (test/helpers/fabric-sim.ts): where a transfer's packets go, hop by hop.
import { describe, it, expect } from 'vitest';
import { parseSiteConfig } from '../../../../apps/dmz/config.js';
import { parsePrefix } from '../../../../apps/dmz/addresses.js';
import type { Command, LeaseSpec } from '../../../../apps/dmz/core/commands.js';
import { decide } from '../../../../apps/dmz/core/decide.js';
import { reservedByGroup, reservedByLink } from '../../../../apps/dmz/core/reservations.js';
import { Rules } from '../../../../apps/dmz/core/rules.js';
import type { LinkStatus } from '../../../../apps/dmz/link-states.js';
import { linkView } from '../../../../api/topology.js';
import type { Site } from '../../../../apps/dmz/site.js';
import type { SimPacket } from '../../../helpers/flow-sim.js';
import type { Trace } from '../../../helpers/fabric-sim.js';
import { datasiteYaml, supercomputerYaml } from '../../../helpers/science-dmz-fabrics.js';
import { World } from './world.js';
import { request as requestUntil, tcp, USER } from './traffic.js';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const ROUTER_MAC = '02:00:00:00:00:fe';
const DTN1 = { mac: '02:00:00:00:03:01', ip: '10.10.1.10', port: 1 };
const DTN2 = { mac: '02:00:00:00:03:02', ip: '10.10.1.11', port: 2 };
const CORE_LEAF = 'core:11-leaf:10';
const LEAF_BORDER = 'leaf:11-border:12';
const BORDER_CORE = 'border:10-core:10';

const request = (over: Partial<LeaseSpec> = {}): Command => requestUntil(T0 + 600_000, over);

/** From the WAN to a DTN, and from a DTN to the WAN. */
const inbound = (dtn = DTN1, sport = 40000, inPort = 1, vlan?: number) => tcp(inPort, '192.0.2.10', dtn.ip, sport, 50001, dtn.mac, vlan);
const outbound = (dtn = DTN1, sport = 50001) => tcp(dtn.port, dtn.ip, '192.0.2.10', sport, 40000, ROUTER_MAC);

const where = (t: Trace): string[] => t.exits.map((e) => `${e.switch}:${e.port}${e.vlan !== undefined ? `.${e.vlan}` : ''}`);
const switchesOf = (t: Trace): string[] => [...new Set(t.hops.map((h) => h.switch))];
const touchesFirewall = (t: Trace): boolean =>
  t.hops.some((h) => h.switch === 'border' && (h.inPort === 2 || h.inPort === 3)) ||
  t.exits.some((e) => e.switch === 'border' && (e.port === 2 || e.port === 3));

function world(yaml: string): World {
  const site: Site = parseSiteConfig(yaml);
  const w = new World(site, T0);
  for (const sw of site.switches) w.run({ type: 'switch-up', dpid: sw.dpid });
  return w;
}

describe('the supercomputer fabric: border, core and a DMZ leaf', () => {
  it('without a lease, default traffic crosses the fabric to the firewall and back', () => {
    const f = world(supercomputerYaml()).fabric();
    const cases: [string, string, SimPacket, string[]][] = [
      ['WAN -> DTN reaches fw-outside only', 'border', inbound(), ['border:2']],
      ['fw-outside -> WAN', 'border', { ...outbound(), inPort: 2 }, ['border:1']],
      ['fw-inside -> DTN, delivered by MAC to its port only', 'border', { ...inbound(), inPort: 3 }, ['leaf:1']],
      ['DTN -> WAN goes to fw-inside', 'leaf', outbound(), ['border:3']],
      ['a circuit trunk without a lease goes to fw-outside', 'border', inbound(DTN1, 40000, 4, 3001), ['border:2.3001']],
      [
        'fw-inside broadcast reaches every inside port',
        'border',
        { ...inbound(), inPort: 3, ethDst: 'ff:ff:ff:ff:ff:ff' },
        ['leaf:1', 'leaf:2', 'leaf:3'],
      ],
      ['a LAN host unicast goes to fw-inside', 'leaf', tcp(3, '10.10.1.30', '198.51.100.1', 1234, 80, ROUTER_MAC), ['border:3']],
      // No new opening: nothing untagged from a fabric port reaches a DTN without a lease.
      ['untagged from a fabric port is dropped', 'leaf', { ...inbound(), inPort: 10 }, []],
      ['tagged with a VLAN that is no fabric VLAN, dropped', 'leaf', { ...inbound(), inPort: 10, vlan: 100 }, []],
    ];
    for (const [name, sw, p, exits] of cases) expect(where(f.send(sw, p)).sort(), name).toEqual(exits);
  });

  it('with the firewall on the core, default traffic goes there and back; a lease passes it by', () => {
    const yaml = supercomputerYaml()
      .replace('      - { port: 2, role: fw-outside }\n      - { port: 3, role: fw-inside }\n', '')
      .replace(
        '  - name: core\n    dpid: "0000000000000002"\n    ports:\n',
        '  - name: core\n    dpid: "0000000000000002"\n    ports:\n      - { port: 2, role: fw-outside }\n      - { port: 3, role: fw-inside }\n',
      );
    const w = world(yaml);
    let f = w.fabric();
    const cases: [string, string, SimPacket, string[]][] = [
      ['WAN -> DTN reaches fw-outside on the core', 'border', inbound(), ['core:2']],
      ['fw-outside -> WAN', 'core', { ...outbound(), inPort: 2 }, ['border:1']],
      ['fw-inside -> DTN', 'core', { ...inbound(), inPort: 3 }, ['leaf:1']],
      ['DTN -> WAN goes to fw-inside', 'leaf', outbound(), ['core:3']],
    ];
    for (const [name, sw, p, exits] of cases) expect(where(f.send(sw, p)).sort(), name).toEqual(exits);
    w.run(request());
    f = w.fabric();
    const inb = f.send('border', inbound());
    expect(where(inb)).toEqual(['leaf:1']);
    expect(inb.hops.some((h) => h.switch === 'core' && (h.inPort === 2 || h.inPort === 3))).toBe(false);
    expect(where(f.send('leaf', outbound()))).toEqual(['border:1']);
  });

  it('a lease carries the transfer DTN -> leaf -> core -> border -> WAN and back, bypassing the firewall', () => {
    const w = world(supercomputerYaml());
    const plan = w.run(request());
    expect(w.lastRefusal).toBeUndefined();
    expect(plan.atomicity).toBe('across-switches');
    // Two stages: first every flow that takes packets from a fabric port, on all three; then the flows that take
    // them in, from the WAN (border) and from the DTN (leaf).
    expect(plan.steps.map((s) => s.map((c) => c.dpid))).toEqual([
      [1n, 2n, 3n],
      [1n, 3n],
    ]);
    const fabricPorts = (dpid: bigint) =>
      new Set(
        w.state.site.switches
          .find((x) => x.dpid === dpid)!
          .ports.filter((p) => p.role === 'fabric')
          .map((p) => p.portNo),
      );
    const inPorts = (c: { dpid: bigint; add?: { match: { field: string; value: unknown }[] }[] }) =>
      (c.add ?? []).map((f) => f.match.find((m) => m.field === 'in_port')!.value as number).map((p) => fabricPorts(c.dpid).has(p));
    for (const c of plan.steps[0]!) expect(inPorts(c).every(Boolean)).toBe(true);
    for (const c of plan.steps[1]!) expect(inPorts(c).some(Boolean)).toBe(false);
    const f = w.fabric();
    const inb = f.send('border', inbound());
    expect(where(inb)).toEqual(['leaf:1']);
    expect(switchesOf(inb)).toEqual(['border', 'core', 'leaf']);
    expect(touchesFirewall(inb)).toBe(false);
    const out = f.send('leaf', outbound());
    expect(where(out)).toEqual(['border:1']);
    expect(switchesOf(out)).toEqual(['leaf', 'core', 'border']);
    expect(touchesFirewall(out)).toBe(false);
    // Other remotes and ports still cross the firewall; an untagged packet the lease does not match is dropped.
    expect(where(f.send('border', { ...inbound(), ipSrc: '198.51.100.1' }))).toEqual(['border:2']);
    expect(where(f.send('leaf', { ...inbound(), inPort: 10, ipSrc: '198.51.100.1' }))).toEqual([]);
  });

  it('releasing the lease takes it off the DTN switch first, and traffic crosses the firewall again', () => {
    const w = world(supercomputerYaml());
    w.run(request());
    const plan = w.run({ type: 'release', by: USER, id: 1, state: 'released', reason: 'done' });
    // The flows that take packets in (WAN at the border, DTN at the leaf) first, then the rest.
    expect(plan.steps.map((s) => s.map((c) => c.dpid))).toEqual([
      [1n, 3n],
      [1n, 2n, 3n],
    ]);
    expect(where(w.fabric().send('border', inbound()))).toEqual(['border:2']);
    for (const sw of w.state.site.switches) expect(w.flows(sw.dpid).filter((f) => f.priority === 40000)).toEqual([]);
  });

  it("a lease restored without its routes (a record keeps none) gets its path's flows on every switch again", () => {
    const w = world(supercomputerYaml());
    w.run(request());
    const rule = w.state.rules.get('lease/1');
    if (rule?.kind !== 'lease') throw new Error('no lease 1');
    const restored = { ...rule, routes: undefined, hops: [{ dpid: 3n, switch: 'leaf' }] };
    w.state = { ...w.state, rules: Rules.empty().with(restored) };
    for (const sw of w.state.site.switches) w.tables.delete(sw.dpid);
    for (const sw of w.state.site.switches) w.run({ type: 'switch-up', dpid: sw.dpid });
    expect(where(w.fabric().send('border', inbound()))).toEqual(['leaf:1']);
    const plan = w.run({ type: 'release', by: USER, id: 1, state: 'released', reason: 'done' });
    expect(plan.steps.map((st) => st.map((c) => c.dpid))).toEqual([
      [1n, 3n],
      [1n, 2n, 3n],
    ]);
    expect(where(w.fabric().send('border', inbound()))).toEqual(['border:2']);
  });

  it('a block at the edge drops the transfer during its lease', () => {
    const w = world(supercomputerYaml());
    w.run(request());
    w.run({ type: 'block', by: USER, block: { prefix: parsePrefix('192.0.2.10/32'), reason: 'IDS' } });
    const f = w.fabric();
    expect(where(f.send('border', inbound()))).toEqual([]);
    expect(where(f.send('leaf', outbound()))).toEqual([]);
  });

  it('a circuit lease pushes the VLAN at the trunk on another switch and pops it there', () => {
    const w = world(supercomputerYaml());
    w.run(request({ path: 'circuit:esnet' }));
    expect(w.lastRefusal).toBeUndefined();
    const f = w.fabric();
    const out = f.send('leaf', outbound());
    expect(out.exits).toEqual([{ switch: 'border', port: 4, vlan: 3001, ethDst: '02:00:00:00:02:0a' }]);
    const inb = f.send('border', inbound(DTN1, 40000, 4, 3001));
    expect(inb.exits).toEqual([{ switch: 'leaf', port: 1, ethDst: DTN1.mac }]);
    expect(touchesFirewall(inb)).toBe(false);
  });

  it('a link that goes down moves the lease to the other path; with none left it waits, and comes back', () => {
    const w = world(supercomputerYaml());
    w.run(request());
    w.run({ type: 'link-down', link: CORE_LEAF });
    expect(w.events.at(-1)).toMatchObject({ type: 'lease.path-moved', lease: 1, link: CORE_LEAF, hops: ['border', 'leaf'] });
    let f = w.fabric();
    expect(switchesOf(f.send('border', inbound()))).toEqual(['border', 'leaf']);
    expect(where(f.send('border', inbound()))).toEqual(['leaf:1']);
    expect(where(f.send('leaf', outbound()))).toEqual(['border:1']);
    // The old path's flows are gone from the core.
    expect(w.flows(2n).filter((x) => x.priority === 40000)).toEqual([]);
    // Default traffic takes the way around too.
    expect(where(f.send('leaf', outbound(DTN2)))).toEqual(['border:3']);

    w.run({ type: 'link-down', link: LEAF_BORDER });
    expect(w.events.at(-1)).toMatchObject({ type: 'lease.path-lost', lease: 1, link: LEAF_BORDER });
    expect(w.activeLeases()).toEqual([1]);

    w.run({ type: 'link-up', link: CORE_LEAF });
    expect(w.events.at(-1)).toMatchObject({ type: 'lease.path-moved', lease: 1, hops: ['border', 'core', 'leaf'] });
    f = w.fabric();
    expect(where(f.send('border', inbound()))).toEqual(['leaf:1']);
    expect(touchesFirewall(f.send('border', inbound()))).toBe(false);
  });

  it("a link's loss moves its leases in one wave: each switch takes one change per stage for all of them", () => {
    const w = world(supercomputerYaml());
    w.run(request());
    w.run(request({ dtn: 'dtn2' }));
    const plan = w.run({ type: 'link-down', link: CORE_LEAF });
    expect(plan.moves).toEqual([{ leases: [1, 2], install: 2, remove: 1 }]);
    const name = (dpid: bigint) => w.state.site.switches.find((x) => x.dpid === dpid)!.name;
    const steps = plan.steps.slice(0, 3).map((st) => st.map((c) => name(c.dpid)));
    // Up: the new path's flows from fabric ports on both switches, then the ones that take packets in (their
    // matches are the old ones': replaced in place); down: what the old path took from fabric ports.
    expect(steps).toEqual([
      ['border', 'leaf'],
      ['border', 'leaf'],
      ['border', 'core', 'leaf'],
    ]);
    // One change per switch carries both leases' flows.
    expect(new Set(plan.steps[0]![0]!.add!.map((f) => f.cookie)).size).toBe(2);
    const f = w.fabric();
    for (const dtn of [DTN1, DTN2]) {
      expect(where(f.send('border', inbound(dtn)))).toEqual([`leaf:${dtn.port}`]);
      expect(where(f.send('leaf', outbound(dtn)))).toEqual(['border:1']);
    }
  });

  it('a wave of moves the switches refused leaves its leases on the path they had, waiting for a link', () => {
    const w = world(supercomputerYaml());
    w.run(request());
    w.run(request({ dtn: 'dtn2' }));
    const before = w.state;
    // The link-down decided, none of its install applied (the switches refused it), then told to the core.
    const down = decide(before, { type: 'link-down', link: CORE_LEAF }, w.now);
    w.state = down.state;
    w.run({ type: 'moves-failed', link: CORE_LEAF, leases: [1, 2], before });
    expect(w.events.slice(-2)).toMatchObject([
      { type: 'lease.path-lost', lease: 1, link: CORE_LEAF, hops: ['border', 'core', 'leaf'] },
      { type: 'lease.path-lost', lease: 2, link: CORE_LEAF, hops: ['border', 'core', 'leaf'] },
    ]);
    expect(w.activeLeases()).toEqual([1, 2]);
    expect(w.state.linksDown.has(CORE_LEAF)).toBe(true);
    // The link back: the leases are moved (their old path again), and carry the transfer past the firewall.
    w.run({ type: 'link-up', link: CORE_LEAF });
    expect(w.events.slice(-2)).toMatchObject([
      { type: 'lease.path-moved', lease: 1, hops: ['border', 'core', 'leaf'] },
      { type: 'lease.path-moved', lease: 2, hops: ['border', 'core', 'leaf'] },
    ]);
    const f = w.fabric();
    expect(where(f.send('border', inbound()))).toEqual(['leaf:1']);
    expect(touchesFirewall(f.send('border', inbound()))).toBe(false);
  });

  it('a request with no path up is refused naming it', () => {
    const w = world(supercomputerYaml());
    w.run({ type: 'link-down', link: CORE_LEAF });
    w.run({ type: 'link-down', link: LEAF_BORDER });
    w.run(request());
    expect(w.lastRefusal).toMatchObject({ reason: 'no-path' });
  });

  it('a rate is reserved on every link of the path; no room is refused naming the link', () => {
    const w = world(supercomputerYaml());
    w.run(request({ rateMbps: 6000 }));
    expect(reservedByGroup(w.state)).toEqual(
      new Map([
        ['border<->core', 6000],
        ['core<->leaf', 6000],
      ]),
    );
    w.run(request({ rateMbps: 5000, remote: parsePrefix('198.51.100.0/24') }));
    expect(w.lastRefusal).toMatchObject({ reason: 'path-capacity', limit: { link: CORE_LEAF, capacity_left_mbps: 4000, rate_mbps: 5000 } });
    expect(w.lastRefusal!.message).toContain(`link ${CORE_LEAF} has 4000 Mbit/s of its 10000 unreserved`);
  });

  it('a cluster lease covers every member, a path for each', () => {
    const w = world(supercomputerYaml());
    w.run(request({ dtn: 'dtns' }));
    expect(w.lastRefusal).toBeUndefined();
    const f = w.fabric();
    for (const dtn of [DTN1, DTN2]) {
      const inb = f.send('border', inbound(dtn));
      expect(where(inb)).toEqual([`leaf:${dtn.port}`]);
      expect(touchesFirewall(inb)).toBe(false);
      expect(where(f.send('leaf', outbound(dtn)))).toEqual(['border:1']);
    }
    // A member's own lease would program the same flows: it overlaps the cluster's.
    w.run(request({ dtn: 'dtn2' }));
    expect(w.lastRefusal).toMatchObject({ reason: 'overlap' });
  });

  it('with backup paths, the switches fail over by themselves before the controller hears of it', () => {
    const w = world(supercomputerYaml('  backup-paths: true\n'));
    w.run(request());
    expect(w.lastRefusal).toBeUndefined();
    // A link is cut in the data plane only (no link-down reaches the core): the switch where the paths part moves
    // the traffic itself, the DTN's leaf on the way out, the border on the way in.
    const out = w.fabric(new Set([CORE_LEAF])).send('leaf', outbound());
    expect(where(out)).toEqual(['border:1']);
    expect(switchesOf(out)).toEqual(['leaf', 'border']);
    const inb = w.fabric(new Set([BORDER_CORE])).send('border', inbound());
    expect(where(inb)).toEqual(['leaf:1']);
    expect(switchesOf(inb)).toEqual(['border', 'leaf']);
    expect(touchesFirewall(inb)).toBe(false);
    // A link further along: the core, next to it, turns the packets back to the border, which takes the other way.
    const deep = w.fabric(new Set([CORE_LEAF])).send('border', inbound());
    expect(where(deep)).toEqual(['leaf:1']);
    expect(switchesOf(deep)).toEqual(['border', 'core', 'leaf']);
    expect(deep.hops.map((h) => `${h.switch}:${h.inPort}`)).toEqual(['border:1', 'core:10', 'border:10', 'leaf:11']);
    const deepOut = w.fabric(new Set([BORDER_CORE])).send('leaf', outbound());
    expect(where(deepOut)).toEqual(['border:1']);
    expect(deepOut.hops.map((h) => `${h.switch}:${h.inPort}`)).toEqual(['leaf:1', 'core:11', 'leaf:10', 'border:12']);
    // With every link up, the primary path.
    expect(switchesOf(w.fabric().send('border', inbound()))).toEqual(['border', 'core', 'leaf']);
  });
});

describe('the data site: two parallel links between the DMZ switch and the border', () => {
  it('a lease hashes its flows over both links through a select group', () => {
    const w = world(datasiteYaml());
    const dtn = { mac: '02:00:00:00:02:01', ip: '10.10.1.10', port: 1 };
    w.run(request({ rateMbps: 1500 }));
    expect(w.lastRefusal).toBeUndefined();
    const select = [...(w.groupTables.get(2n)?.values() ?? [])].find((g) => g.type === 'select');
    expect(select?.buckets.map((b) => b.watchPort)).toEqual([10, 11]);
    const f = w.fabric();
    const links = new Set<number>();
    for (let sport = 50000; sport < 50040; sport++) {
      const t = f.send('dmz', outbound(dtn, sport));
      expect(where(t)).toEqual(['border:1']);
      links.add(t.hops.find((h) => h.switch === 'border')!.inPort);
      expect(where(f.send('border', { ...inbound(dtn, 40000 + sport), dstPort: sport }))).toEqual(['dmz:1']);
    }
    expect([...links].sort()).toEqual([10, 11]);
    // One link down: the lease stays on the group, the select group skips the dead link.
    w.run({ type: 'link-down', link: 'border:10-dmz:10' });
    expect(w.events.filter((e) => e.type === 'lease.path-moved' || e.type === 'lease.path-lost')).toEqual([]);
    for (let sport = 50000; sport < 50010; sport++) expect(where(w.fabric().send('dmz', outbound(dtn, sport)))).toEqual(['border:1']);
  });

  it("reserves a rate on the group, shared by its links for the topology's figure", () => {
    const w = world(datasiteYaml());
    w.run(request({ rateMbps: 1500 }));
    const reserved = reservedByLink(w.state);
    expect(reserved).toEqual(
      new Map([
        ['border:10-dmz:10', 750],
        ['border:11-dmz:11', 750],
      ]),
    );
    const status: LinkStatus = {
      name: 'border:10-dmz:10',
      a: { switch: 'border', dpid: 1n, port: 10 },
      b: { switch: 'dmz', dpid: 2n, port: 10 },
      configured: true,
      seen: true,
      up: true,
      state: 'up',
      capacityMbps: 1000,
      cost: 1,
    };
    expect(linkView(status, reserved)).toMatchObject({ capacity_mbps: 1000, reserved_mbps: 750 });
    expect(linkView(status)).toMatchObject({ reserved_mbps: 0 });
  });

  it('the rate counts against the sum of the parallel links', () => {
    const w = world(datasiteYaml());
    w.run(request({ rateMbps: 2500 }));
    expect(w.lastRefusal).toMatchObject({ reason: 'path-capacity', limit: { capacity_mbps: 2000 } });
  });
});
