// A lease's flows on every switch of its routes, both directions. A route on one switch, without detours, gets the
// one-switch pipeline's lease flows unchanged (pipeline.ts). Across the fabric the packets travel untagged, matched
// exactly on every hop (in_port, vlan_vid OFPVID_NONE, the 5-tuple); the circuit VLAN is pushed at the exit and
// popped there; parallel links are a select group; with detours (policy.backup-paths), a switch sends through a
// fast-failover group (OF1.3.5 §5.6.1: the first bucket whose watched port is live) over its next link group and
// the detour around it.
import type { Action, Instruction, OxmTlv } from '../../../controller/openflow/index.js';
import { OFPFF, OFPP, OFPVID_PRESENT } from '../../../controller/openflow/index.js';
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

/** A lease's fast-failover group at step `at` of a member's route in one direction (undefined: past the id range). */
export function ffGroupId(leaseId: number, member: number, direction: 'up' | 'down', at: number): number | undefined {
  if (member >= 8 || at >= 16) return undefined;
  return FF_GROUP_BASE + leaseId * FF_GROUPS_PER_LEASE + member * 32 + (direction === 'up' ? 0 : 16) + at;
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
    if (r.path.switches.length === 1 && !r.detours && !r.entries) {
      part(r.exit.switch).flows.push(...leaseFlowsOf(site, { ...lease, dtn: dtn.name }, remote, now).flows);
      return;
    }
    memberFlows(site, lease, remote, dtn, r, member, now, meter, part);
  });
  return meter ? { bySwitch, meter } : { bySwitch };
}

/** One switch's leg of a direction: where the packets come in, and what is done with them. */
interface SwitchLeg extends Leg {
  sw: string;
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
  const portsOfGroup = (key: string, sw: string) => portsOn(graph.groups.get(key)!, sw);
  const ends = {
    up: {
      path: r.path,
      entry: { ports: [dtn.port], vlan: undefined as number | undefined, prefix: [] as Action[] },
      final: circuit
        ? ([
            { type: 'pushVlan', ethertype: 0x8100 },
            { type: 'setField', field: field('vlan_vid', OFPVID_PRESENT | circuit.vlan) },
            { type: 'setField', field: field('eth_dst', circuit.farEndMac) },
            output(r.exit.port),
          ] as Action[])
        : r.exit.routerMac
          ? [{ type: 'setField', field: field('eth_dst', r.exit.routerMac) } as Action, output(r.exit.port)]
          : [output(r.exit.port)],
    },
    down: {
      path: { switches: [...r.path.switches].reverse(), groups: [...r.path.groups].reverse() },
      entry: {
        ports: [r.exit.port],
        vlan: circuit ? OFPVID_PRESENT | circuit.vlan : undefined,
        prefix: circuit ? ([{ type: 'popVlan' }, { type: 'setField', field: field('eth_dst', dtn.mac) }] as Action[]) : [],
      },
      final: [output(dtn.port)],
    },
  };
  for (const dir of ['up', 'down'] as const) {
    const { path, entry, final } = ends[dir];
    const n = path.switches.length - 1;
    // The primary path's legs (step k: its switch), then a detour per step where one fits.
    const onward = (k: number): Action[] => (k === n ? final : [sendOver(site, path.groups[k]!, path.switches[k]!)]);
    const legs: SwitchLeg[] = path.switches.map((sw, k) => ({
      sw,
      inPorts: k === 0 ? entry.ports : portsOfGroup(path.groups[k - 1]!, sw),
      vlan: k === 0 ? entry.vlan : OFPVID_NONE,
      actions: [...(k === 0 ? entry.prefix : []), ...onward(k)],
    }));
    const taken = new Map<string, string>();
    const claim = (l: SwitchLeg) => l.inPorts.map((p) => [`${l.sw}|${p}`, JSON.stringify(l.actions)] as const);
    for (const l of legs) for (const [k, v] of claim(l)) taken.set(k, v);
    for (const d of (r.detours ?? []).filter((x) => x.direction === dir)) {
      const id = ffGroupId(lease.id, member, dir, d.at);
      if (id === undefined) continue;
      const m = d.path.switches.length - 1;
      const land = path.switches.indexOf(d.path.switches[m]!);
      const extra: SwitchLeg[] = d.path.switches.slice(1).map((sw, t) => ({
        sw,
        inPorts: portsOfGroup(d.path.groups[t]!, sw),
        vlan: OFPVID_NONE,
        actions: t + 1 === m ? onward(land) : [sendOver(site, d.path.groups[t + 1]!, sw)],
      }));
      // A detour that would enter a switch by a port the lease already uses there with other actions is left out.
      const claims = extra.flatMap(claim);
      if (claims.some(([k, v]) => taken.has(k) && taken.get(k) !== v)) continue;
      for (const [k, v] of claims) taken.set(k, v);
      legs.push(...extra.filter((l) => !l.inPorts.every((p) => legs.some((x) => x.sw === l.sw && x.inPorts.includes(p)))));
      const at = legs[d.at]!;
      part(at.sw).groups.push(failover(site, id, at.sw, path.groups[d.at]!, d.path.groups[0]!, at.inPorts));
      at.actions = [...(d.at === 0 ? entry.prefix : []), { type: 'group', groupId: id }];
    }
    // Inbound from the site's other WAN entries: from each, its way onto the path, where the path's legs go on
    // (whatever they became above, a fast-failover group included). One that would enter a switch by a port the
    // lease uses there with other actions is left out.
    if (dir === 'down') {
      for (const e of r.entries ?? []) {
        const m = e.path.switches.length - 1;
        const land = legs[path.switches.indexOf(e.path.switches[m]!)]!;
        const extra: SwitchLeg[] = e.path.switches.map((sw, t) => ({
          sw,
          inPorts: t === 0 ? [e.entry.port] : portsOfGroup(e.path.groups[t - 1]!, sw),
          vlan: t === 0 ? undefined : OFPVID_NONE,
          actions: t === m ? land.actions : [sendOver(site, e.path.groups[t]!, sw)],
        }));
        const claims = extra.flatMap(claim);
        if (claims.some(([k, v]) => taken.has(k) && taken.get(k) !== v)) continue;
        for (const [k, v] of claims) taken.set(k, v);
        legs.push(...extra.filter((l) => !l.inPorts.every((p) => legs.some((x) => x.sw === l.sw && x.inPorts.includes(p)))));
      }
    }
    for (const l of legs) part(l.sw).flows.push(...legFlows(lease, remote, localAddrs, seconds, meter, l, dir));
  }
}

function failover(site: Site, groupId: number, sw: string, primary: string, backup: string, inPorts: number[]): GroupSpec {
  const bucket = (key: string) => {
    const send = sendOver(site, key, sw);
    // A detour that turns back over the link the packet came in by must name IN_PORT: an output to the ingress
    // port itself sends nothing (OF1.3.5 §4.5). Only where the leg has that one ingress port (the group is the leg's).
    const back = send.type === 'output' && inPorts.length === 1 && inPorts[0] === send.port;
    return {
      watchPort: watchPortOf(site, key, sw),
      actions: [{ type: 'applyActions', actions: [back ? { ...send, port: OFPP.IN_PORT } : send] }] as Instruction[],
    };
  };
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
