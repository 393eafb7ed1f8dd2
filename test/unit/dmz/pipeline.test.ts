// Behavioural tests of the DMZ pipeline: flows applied to a table simulator, asked where packets go.
import { describe, it, expect } from 'vitest';
import { defaultSite } from '../../../apps/dmz/config.js';
import { baseFlows, leaseFlows, blockFlows, LeaseRefused, PRIORITY } from '../../../apps/dmz/pipeline.js';
import { OWNER } from '../../../apps/dmz/owners.js';
import { ownerCookie } from '../../../controller/cookie.js';
import type { Lease, Block } from '../../../apps/dmz/model.js';
import { FlowSim, type SimPacket } from '../../helpers/flow-sim.js';
import { oxmDef } from '../../../controller/openflow/oxm.js';
import { normaliseMatch } from '../../../controller/flow-entry.js';

const site = defaultSite();
const sw = site.switches[0]!;
// The embedded default site's ports.
const WAN = 1,
  TRUNK = 2,
  FW_OUT = 3,
  FW_IN = 4,
  DTN = 5,
  LAN = 7;
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const REMOTE = '192.0.2.10';

function lease(over: Partial<Lease> = {}): Lease {
  return {
    id: 7,
    project: 'climate',
    dtn: 'dtn1',
    remote: '192.0.2.0/24',
    protocol: 'tcp',
    localPorts: [{ lo: 50000, hi: 51000 }],
    remotePorts: [{ lo: 0, hi: 65535 }],
    path: 'routed',
    start: NOW,
    end: NOW + 3600_000,
    ...over,
  };
}

const fromWan = (dstPort: number, over: Partial<SimPacket> = {}): SimPacket => ({
  inPort: WAN,
  ethDst: '02:00:00:00:01:05',
  ethType: 0x0800,
  ipSrc: REMOTE,
  ipDst: '10.10.1.10',
  ipProto: 6,
  srcPort: 40000,
  dstPort,
  ...over,
});
const fromDtn = (srcPort: number, over: Partial<SimPacket> = {}): SimPacket => ({
  inPort: DTN,
  ethDst: '02:00:00:00:09:01',
  ethType: 0x0800,
  ipSrc: '10.10.1.10',
  ipDst: REMOTE,
  ipProto: 6,
  srcPort,
  dstPort: 40000,
  ...over,
});

function table(): FlowSim {
  return new FlowSim().install(baseFlows(site, sw));
}

describe('enterprise path (no lease)', () => {
  it('sends WAN traffic to the firewall outside leg and back', () => {
    const t = table();
    expect(t.ports(fromWan(50123))).toEqual([FW_OUT]);
    expect(t.ports({ ...fromWan(50123), inPort: FW_OUT })).toEqual([WAN]);
  });

  it('sends inside hosts through the firewall inside leg, and delivers from it by MAC', () => {
    const t = table();
    expect(t.ports(fromDtn(50123))).toEqual([FW_IN]);
    expect(t.ports({ ...fromWan(50123), inPort: FW_IN })).toEqual([DTN]);
    expect(t.ports({ inPort: LAN, ethDst: '02:00:00:00:09:01', ethType: 0x0800, ipSrc: '10.10.1.30', ipDst: REMOTE })).toEqual([FW_IN]);
  });

  it('floods broadcasts (ARP) among the inside ports and the firewall, never straight to the WAN', () => {
    const t = table();
    const arp = { inPort: DTN, ethDst: 'ff:ff:ff:ff:ff:ff', ethType: 0x0806 };
    expect(t.ports(arp).sort()).toEqual([FW_IN, 6, LAN].sort());
    expect(t.ports({ ...arp, inPort: FW_IN }).sort()).toEqual([DTN, 6, LAN].sort());
  });

  it('drops what no rule covers (circuit traffic goes to the firewall; unknown ports drop)', () => {
    const t = table();
    expect(t.ports({ ...fromWan(50123), inPort: TRUNK, vlan: 3001 })).toEqual([FW_OUT]);
    expect(t.lookup({ ...fromWan(1), inPort: 42 })).toMatchObject({ priority: PRIORITY.MISS, outputs: [] });
  });
});

describe('LLDP', () => {
  it('goes to the controller only, from every port, whatever leases and blocks say (never forwarded)', () => {
    const t = table();
    t.install(leaseFlows(site, lease(), NOW).flows);
    t.install(blockFlows({ id: 1, prefix: '0.0.0.0/0', start: NOW, reason: 'all' }, NOW));
    for (const inPort of [WAN, TRUNK, FW_OUT, FW_IN, DTN, 6, LAN, 42]) {
      const v = t.lookup({ inPort, ethDst: '01:80:c2:00:00:0e', ethType: 0x88cc });
      expect(v).toMatchObject({ priority: PRIORITY.LLDP, outputs: [{ port: 0xfffffffd }] });
    }
  });
});

describe('routed lease', () => {
  it('leaves addressed to the border router when the config names its MAC (router-mac), as the DTN sent it otherwise', () => {
    const mac = '02:00:00:00:01:fe';
    const named = { ...site, switches: [{ ...sw, ports: sw.ports.map((p) => (p.role === 'wan-routed' ? { ...p, routerMac: mac } : p)) }] };
    const out = (s: typeof site) => new FlowSim().install(leaseFlows(s, lease(), NOW).flows).lookup(fromDtn(50123)).outputs;
    expect(out(named)).toEqual([{ port: WAN, ethDst: mac }]);
    expect(out(site)).toEqual([{ port: WAN, ethDst: fromDtn(50123).ethDst }]);
  });

  it('bypasses the firewall during the lease only, for the leased ports only', () => {
    const t = table();
    expect(t.ports(fromWan(50123))).toEqual([FW_OUT]); // before
    const { flows } = leaseFlows(site, lease(), NOW);
    t.install(flows);
    expect(t.ports(fromWan(50123))).toEqual([DTN]); // during
    expect(t.ports(fromDtn(50123))).toEqual([WAN]);
    expect(t.ports(fromWan(22))).toEqual([FW_OUT]); // other port, same remote host
    expect(t.ports(fromWan(50123, { ipSrc: '198.51.100.1' }))).toEqual([FW_OUT]); // other remote
    expect(t.ports(fromWan(50123, { ipProto: 17 }))).toEqual([FW_OUT]); // other protocol
    expect(
      t.ports({
        inPort: LAN,
        ethDst: '02:00:00:00:09:01',
        ethType: 0x0800,
        ipSrc: '10.10.1.30',
        ipDst: REMOTE,
        ipProto: 6,
        srcPort: 50123,
        dstPort: 40000,
      }),
    ).toEqual([FW_IN]);
    t.removeCookie(ownerCookie(OWNER.LEASES, 7));
    expect(t.ports(fromWan(50123))).toEqual([FW_OUT]); // after
  });

  it("leases on the same ports share their port fields' objects (frozen), as they share their path's", () => {
    const a = leaseFlows(site, lease(), NOW).flows;
    const b = leaseFlows(site, lease({ id: 8, remote: '198.51.100.0/24' }), NOW).flows;
    const ports = (flows: typeof a) => flows.flatMap((f) => f.match.filter((m) => m.field === 'tcp_src' || m.field === 'tcp_dst'));
    expect(ports(a).length).toBeGreaterThan(0);
    ports(a).forEach((f, i) => expect(ports(b)[i]).toBe(f));
    expect(ports(a).every((f) => Object.isFrozen(f))).toBe(true);
  });

  it('sets a hard timeout at the lease end, asks for flow-removed, carries the lease cookie and meter', () => {
    const { flows, meter } = leaseFlows(site, lease({ rateMbps: 500, meterId: 3 }), NOW + 600_000);
    expect(flows.length).toBeGreaterThan(0);
    for (const f of flows) {
      expect(f.hardTimeout).toBe(3000);
      expect(f.flags & 1).toBe(1);
      expect(f.cookie).toBe(ownerCookie(OWNER.LEASES, 7));
      expect(f.instructions[0]).toEqual({ type: 'meter', meterId: 3 });
    }
    expect(meter).toMatchObject({ meterId: 3, bands: [{ type: 'drop', rate: 500_000 }] });
    expect(new FlowSim().install(flows).lookup(fromWan(50500)).meter).toBe(3);
  });

  it('works for IPv6', () => {
    const t = table().install(leaseFlows(site, lease({ remote: '2001:db8::/32' }), NOW).flows);
    const v6 = fromWan(50123, { ethType: 0x86dd, ipSrc: '2001:db8::5', ipDst: 'fd00:10:10:1::10' });
    expect(t.ports(v6)).toEqual([DTN]);
    expect(t.ports(fromWan(50123))).toEqual([FW_OUT]); // the IPv4 remote is not leased
  });
});

describe('circuit lease', () => {
  it('leaves on the trunk with the circuit VLAN and far-end MAC; returns untagged to the DTN', () => {
    const t = table().install(leaseFlows(site, lease({ path: 'circuit:esnet' }), NOW).flows);
    expect(t.lookup(fromDtn(50123)).outputs).toEqual([{ port: TRUNK, vlan: 3001, ethDst: '02:00:00:00:02:0a' }]);
    expect(t.lookup(fromWan(50123, { inPort: TRUNK, vlan: 3001 })).outputs).toEqual([{ port: DTN, ethDst: '02:00:00:00:01:05' }]);
    expect(t.ports(fromWan(50123, { inPort: TRUNK, vlan: 3002 }))).toEqual([FW_OUT]); // another VLAN: not this circuit
    expect(t.ports(fromWan(50123))).toEqual([FW_OUT]); // the routed uplink is not leased
  });
});

describe('blocks', () => {
  const block: Block = { id: 1, prefix: '192.0.2.0/28', start: NOW, reason: 'IDS: scanning' };

  it('drop even during a lease, in both directions', () => {
    const t = table()
      .install(leaseFlows(site, lease(), NOW).flows)
      .install(blockFlows(block, NOW));
    expect(t.lookup(fromWan(50123))).toMatchObject({ priority: PRIORITY.BLOCK, outputs: [] });
    expect(t.lookup(fromDtn(50123))).toMatchObject({ priority: PRIORITY.BLOCK, outputs: [] });
    expect(t.ports(fromWan(50123, { ipSrc: '192.0.2.200' }))).toEqual([DTN]); // outside the /28
  });

  it('can be limited to a protocol and ports, and expire', () => {
    const ssh: Block = { ...block, protocol: 'tcp', ports: [{ lo: 22, hi: 22 }], end: NOW + 60_000 };
    const flows = blockFlows(ssh, NOW);
    expect(flows.every((f) => f.hardTimeout === 60)).toBe(true);
    const t = table().install(flows);
    expect(t.ports(fromWan(22))).toEqual([]);
    expect(t.ports(fromWan(23))).toEqual([FW_OUT]);
    expect(blockFlows(ssh, NOW + 61_000)).toEqual([]);
  });
});

describe('safety rules', () => {
  const refusal = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(LeaseRefused);
      return (e as LeaseRefused).reason;
    }
    throw new Error('expected a refusal');
  };

  it('refuses a lease for anything on our side that is not a configured DTN', () => {
    expect(refusal(() => leaseFlows(site, lease({ dtn: 'lan1' }), NOW))).toBe('unknown-dtn');
    expect(refusal(() => leaseFlows(site, lease({ dtn: 'ps1' }), NOW))).toBe('unknown-dtn');
  });

  it('refuses a remote prefix that covers our own hosts', () => {
    expect(refusal(() => leaseFlows(site, lease({ remote: '10.10.0.0/16' }), NOW))).toBe('remote-is-local');
    expect(refusal(() => leaseFlows(site, lease({ remote: '0.0.0.0/0' }), NOW))).toBe('remote-is-local');
  });

  it('refuses expired, over-long, unknown-path and wrong-family leases', () => {
    expect(refusal(() => leaseFlows(site, lease({ end: NOW - 1 }), NOW))).toBe('expired');
    expect(refusal(() => leaseFlows(site, lease({ end: NOW + 70_000_000 }), NOW))).toBe('too-long');
    expect(refusal(() => leaseFlows(site, lease({ path: 'circuit:nope' }), NOW))).toBe('unknown-path');
    const v4only = { ...site, dtns: site.dtns.map((d) => ({ ...d, ipv6: [] })) };
    expect(refusal(() => leaseFlows(v4only, lease({ remote: '2001:db8::/32' }), NOW))).toBe('family-mismatch');
  });

  it('opens nothing past the firewall without a lease: every base flow from a WAN port goes to fw-outside', () => {
    for (const f of baseFlows(site, sw)) {
      const inPort = f.match.find((m) => m.field === 'in_port')?.value;
      if (inPort === WAN || inPort === TRUNK) {
        const outs = f.instructions.flatMap((i) => (i.type === 'applyActions' ? i.actions : []));
        expect(outs).toEqual([{ type: 'output', port: FW_OUT, maxLen: 0 }]);
      }
    }
  });
});

describe('match field order', () => {
  // The flow manager keeps a match given in OXM field-number order as it is (a copy) and re-encodes and sorts any
  // other per flow: lease and block matches are built in that order (OF1.3.5 §7.2.3.7 field numbers).
  const fieldNo = (name: string) => oxmDef(name)!.field;
  const inOrder = (flows: { match: { field: string }[] }[]) =>
    flows.every((f) => f.match.every((t, i, m) => i === 0 || fieldNo(m[i - 1]!.field) < fieldNo(t.field)));
  const cases: [string, Partial<Lease>][] = [
    ['routed IPv4 host, one port', { remote: '192.0.2.9', localPorts: [{ lo: 50000, hi: 50000 }], remotePorts: [{ lo: 33000, hi: 33000 }] }],
    ['routed IPv4 prefix, port ranges (masked)', {}],
    ['routed IPv6, udp, both sides ranged', { remote: '2001:db8::/32', protocol: 'udp', remotePorts: [{ lo: 1000, hi: 1100 }] }],
    ['circuit IPv4, metered', { path: 'circuit:esnet', rateMbps: 100, meterId: 3 }],
    ['circuit IPv6', { path: 'circuit:esnet', remote: '2001:db8::5', remotePorts: [{ lo: 5000, hi: 5000 }] }],
  ];
  for (const [what, over] of cases) {
    it(`lease: ${what}`, () => {
      const { flows } = leaseFlows(site, lease(over), NOW);
      expect(flows.length).toBeGreaterThan(0);
      expect(inOrder(flows)).toBe(true);
      // ... so normalising leaves each as it is.
      for (const f of flows) expect(normaliseMatch(f.match)).toEqual(f.match);
    });
  }
  it('blocks, with and without protocol and ports, IPv4 and IPv6', () => {
    for (const b of [
      { id: 1, prefix: '192.0.2.0/28', start: NOW, reason: 'x' },
      { id: 2, prefix: '2001:db8::/48', start: NOW, reason: 'x', protocol: 'tcp' as const, ports: [{ lo: 20, hi: 23 }] },
      { id: 3, prefix: '192.0.2.1', start: NOW, reason: 'x', protocol: 'udp' as const },
    ]) {
      const flows = blockFlows(b, NOW);
      expect(flows.length).toBeGreaterThan(0);
      expect(inOrder(flows)).toBe(true);
    }
  });
  it('leases of one DTN share their constant fields and actions, never their own', () => {
    const a = leaseFlows(site, lease({ id: 1, remote: '192.0.2.1' }), NOW).flows;
    const b = leaseFlows(site, lease({ id: 2, remote: '192.0.2.2' }), NOW).flows;
    expect(a[0]!.match[0]).toBe(b[0]!.match[0]); // in_port
    expect(a[0]!.instructions[0]).toBe(b[0]!.instructions[0]);
    expect(a[0]!.match).not.toBe(b[0]!.match);
    expect(a[0]!.match.find((t) => t.field === 'ipv4_src')).toEqual({ field: 'ipv4_src', value: '192.0.2.1' });
    expect(b[0]!.match.find((t) => t.field === 'ipv4_src')).toEqual({ field: 'ipv4_src', value: '192.0.2.2' });
  });
});
