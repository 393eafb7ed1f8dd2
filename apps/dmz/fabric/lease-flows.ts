// A lease's flows on every switch of its routes, both directions. A route on one switch, without a backup, gets the
// one-switch pipeline's lease flows unchanged (pipeline.ts). Across the fabric the packets travel untagged, matched
// exactly on every hop (in_port, vlan_vid OFPVID_NONE, the 5-tuple); the circuit VLAN is pushed at the exit and
// popped there; parallel links are a select group; a backup path parts from the primary at the DTN's switch (on the
// way out) and at the exit (on the way in) through a fast-failover group (OF1.3.5 §5.6.1), which takes the first
// bucket whose watched port is live.
import type { Action, Instruction, OxmTlv } from '../../../controller/openflow/index.js';
import { OFPFF, OFPVID_PRESENT } from '../../../controller/openflow/index.js';
import { ownerCookie } from '../../../controller/cookie.js';
import type { Prefix } from '../addresses.js';
import { prefixToOxm } from '../addresses.js';
import type { GroupSpec } from '../core/plan.js';
import type { Lease } from '../model.js';
import { OWNER } from '../owners.js';
import {
  ETH_IPV4,
  ETH_IPV6,
  L4_NAMES,
  PRIORITY,
  PROTO_FIELD,
  field,
  leaseChecks,
  leaseFlowsOf,
  leaseMatch,
  leaseMeter,
  output,
  portField,
  portMasks,
  type FlowSpec,
  type MeterSpec,
} from '../pipeline.js';
import { dtnsNamed, type Dtn, type Site } from '../site.js';
import { fabricGraph, portsOn } from './graph.js';
import { sendOver, watchPortOf } from './link-groups.js';
import type { FabricPath } from './paths.js';
import type { MemberRoute } from './routes.js';
import { FF_GROUP_BASE, FF_GROUPS_PER_LEASE } from './vlans.js';

export interface SwitchPart {
  flows: FlowSpec[];
  groups: GroupSpec[];
}

export interface LeaseTables {
  /** By switch name. */
  bySwitch: Map<string, SwitchPart>;
  meter?: MeterSpec;
}

/** Where a lease's packets enter a switch and what happens to them there, for one direction. */
interface Leg {
  inPorts: number[];
  /** vlan_vid to match: OFPVID_NONE on fabric ports, the circuit's VID on its trunk, none from a DTN or the WAN. */
  vlan: number | undefined;
  actions: Action[];
}

const OFPVID_NONE = 0;

export function ffGroupId(leaseId: number, member: number, direction: 'up' | 'down'): number {
  return FF_GROUP_BASE + leaseId * FF_GROUPS_PER_LEASE + member * 2 + (direction === 'up' ? 0 : 1);
}

/** The lease's flows and groups per switch, for its routes (one per DTN, in the order dtnsNamed gives them). */
export function leaseTables(site: Site, lease: Omit<Lease, 'remote'>, remote: Prefix, routes: readonly MemberRoute[], now: number): LeaseTables {
  const bySwitch = new Map<string, SwitchPart>();
  const part = (sw: string): SwitchPart => {
    let p = bySwitch.get(sw);
    if (!p) bySwitch.set(sw, (p = { flows: [], groups: [] }));
    return p;
  };
  const meter = lease.rateMbps && lease.meterId ? leaseMeter(lease.meterId, lease.rateMbps) : undefined;
  const dtns = dtnsNamed(site, lease.dtn);
  routes.forEach((r, member) => {
    const dtn = dtns.find((d) => d.name === r.dtn)!;
    if (r.path.switches.length === 1 && !r.backup) {
      part(r.exit.switch).flows.push(...leaseFlowsOf(site, { ...lease, dtn: dtn.name }, remote, now).flows);
      return;
    }
    memberFlows(site, lease, remote, dtn, r, member, now, meter, part);
  });
  return meter ? { bySwitch, meter } : { bySwitch };
}

function memberFlows(
  site: Site,
  lease: Omit<Lease, 'remote'>,
  remote: Prefix,
  dtn: Dtn,
  r: MemberRoute,
  member: number,
  now: number,
  meter: MeterSpec | undefined,
  part: (sw: string) => SwitchPart,
): void {
  const { localAddrs, seconds } = leaseChecks(site, dtn, lease, remote, now);
  const graph = fabricGraph(site);
  const circuit = r.exit.circuit ? site.circuits.find((c) => c.name === r.exit.circuit) : undefined;
  const exitUp: Action[] = circuit
    ? [
        { type: 'pushVlan', ethertype: 0x8100 },
        { type: 'setField', field: field('vlan_vid', OFPVID_PRESENT | circuit.vlan) },
        { type: 'setField', field: field('eth_dst', circuit.farEndMac) },
        output(r.exit.port),
      ]
    : [output(r.exit.port)];
  const exitDownPrefix: Action[] = circuit ? [{ type: 'popVlan' }, { type: 'setField', field: field('eth_dst', dtn.mac) }] : [];
  const exitIn: Leg['vlan'] = circuit ? OFPVID_PRESENT | circuit.vlan : undefined;
  const portsOfGroup = (key: string, sw: string) => portsOn(graph.groups.get(key)!, sw);

  /** The up and down legs on switch i of a path; the ends' outward actions may be replaced (fast-failover). */
  const legs = (p: FabricPath, i: number, upOut?: Action[], downOut?: Action[]): { up: Leg; down: Leg } => {
    const sw = p.switches[i]!;
    const n = p.switches.length - 1;
    const up: Leg = {
      inPorts: i === 0 ? [dtn.port] : portsOfGroup(p.groups[i - 1]!, sw),
      vlan: i === 0 ? undefined : OFPVID_NONE,
      actions: upOut ?? (i === n ? exitUp : [sendOver(site, p.groups[i]!, sw)]),
    };
    const down: Leg = {
      inPorts: i === n ? [r.exit.port] : portsOfGroup(p.groups[i]!, sw),
      vlan: i === n ? exitIn : OFPVID_NONE,
      actions: [...(i === n ? exitDownPrefix : []), ...(downOut ?? (i === 0 ? [output(dtn.port)] : [sendOver(site, p.groups[i - 1]!, sw)]))],
    };
    return { up, down };
  };

  const b = r.backup;
  const n = r.path.switches.length - 1;
  for (let i = 0; i <= n; i++) {
    const sw = r.path.switches[i]!;
    let upOut: Action[] | undefined;
    let downOut: Action[] | undefined;
    if (b && i === 0) {
      const id = ffGroupId(lease.id, member, 'up');
      part(sw).groups.push(failover(site, id, sw, r.path.groups[0]!, b.groups[0]!));
      upOut = [{ type: 'group', groupId: id }];
    }
    if (b && i === n) {
      const id = ffGroupId(lease.id, member, 'down');
      part(sw).groups.push(failover(site, id, sw, r.path.groups[n - 1]!, b.groups.at(-1)!));
      downOut = [{ type: 'group', groupId: id }];
    }
    const { up, down } = legs(r.path, i, upOut, downOut);
    part(sw).flows.push(
      ...legFlows(lease, remote, localAddrs, seconds, meter, up, 'up'),
      ...legFlows(lease, remote, localAddrs, seconds, meter, down, 'down'),
    );
  }
  if (b) {
    const m = b.switches.length - 1;
    for (let i = 0; i <= m; i++) {
      const { up, down } = legs(b, i);
      // The ends' outward legs are the fast-failover groups above: there, only what comes back over the backup.
      const mine: [Leg, 'up' | 'down'][] =
        i === 0
          ? [[down, 'down']]
          : i === m
            ? [[up, 'up']]
            : [
                [up, 'up'],
                [down, 'down'],
              ];
      const flows = mine.flatMap(([leg, dir]) => legFlows(lease, remote, localAddrs, seconds, meter, leg, dir));
      part(b.switches[i]!).flows.push(...flows);
    }
  }
}

function failover(site: Site, groupId: number, sw: string, primary: string, backup: string): GroupSpec {
  const bucket = (key: string) => ({
    watchPort: watchPortOf(site, key, sw),
    actions: [{ type: 'applyActions', actions: [sendOver(site, key, sw)] }] as Instruction[],
  });
  return { groupId, type: 'fast-failover', buckets: [bucket(primary), bucket(backup)] };
}

function legFlows(
  lease: Omit<Lease, 'remote'>,
  remote: Prefix,
  localAddrs: string[],
  seconds: number,
  meter: MeterSpec | undefined,
  leg: Leg,
  direction: 'up' | 'down',
): FlowSpec[] {
  const family = remote.family;
  const eth = field('eth_type', family === 4 ? ETH_IPV4 : ETH_IPV6);
  const vlan = leg.vlan === undefined ? undefined : field('vlan_vid', leg.vlan);
  const proto = PROTO_FIELD[lease.protocol];
  const [srcPortName, dstPortName] = L4_NAMES[lease.protocol];
  const [srcName, dstName] = family === 4 ? ['ipv4_src', 'ipv4_dst'] : ['ipv6_src', 'ipv6_dst'];
  const r = prefixToOxm(remote);
  const instructions: Instruction[] = [
    ...(meter ? [{ type: 'meter', meterId: meter.meterId } as Instruction] : []),
    { type: 'applyActions', actions: leg.actions },
  ];
  const out: FlowSpec[] = [];
  for (const inPort of leg.inPorts) {
    for (const a of localAddrs) {
      for (const lp of portMasks(lease.localPorts)) {
        for (const rp of portMasks(lease.remotePorts)) {
          const up = direction === 'up';
          const src: OxmTlv = up ? field(srcName, a) : field(srcName, r.value, r.mask);
          const dst: OxmTlv = up ? field(dstName, r.value, r.mask) : field(dstName, a);
          const match = leaseMatch(
            field('in_port', inPort),
            eth,
            vlan,
            proto,
            family,
            src,
            dst,
            portField(srcPortName, up ? lp : rp),
            portField(dstPortName, up ? rp : lp),
          );
          out.push({
            tableId: 0,
            priority: PRIORITY.LEASE,
            match,
            instructions,
            cookie: ownerCookie(OWNER.LEASES, lease.id),
            idleTimeout: 0,
            hardTimeout: seconds,
            flags: OFPFF.SEND_FLOW_REM,
          });
        }
      }
    }
  }
  return out;
}
