// The fabric pipeline's base flows: default traffic crosses the fabric to the one firewall and back exactly as on
// one switch (WAN -> fw-outside, fw-outside -> WAN, inside hosts <-> fw-inside), carried between switches on the
// fabric VLANs (vlans.ts) along shortest-path trees. Nothing untagged is forwarded from a fabric port here: only
// lease flows take untagged packets off a link, so a packet with no lease reaches a DTN only from fw-inside.
import type { Action, OxmTlv } from '../../../controller/openflow/index.js';
import { OFPVID_PRESENT } from '../../../controller/openflow/index.js';
import { ownerCookie } from '../../../controller/cookie.js';
import { lldpToControllerFlow } from '../../../controller/lldp-discovery.js';
import { OWNER } from '../owners.js';
import { PRIORITY, apply, field, flow, output, type FlowSpec } from '../pipeline.js';
import { INSIDE_ROLES, insideHosts, type Site, type SiteSwitch } from '../site.js';
import { fabricGraph, fabricPortsOf } from './graph.js';
import { sendOver } from './link-groups.js';
import { shortestPath, treeToward } from './paths.js';
import { FABRIC_VLAN } from './vlans.js';

const tag = (vid: number): Action[] => [
  { type: 'pushVlan', ethertype: 0x8100 },
  { type: 'setField', field: field('vlan_vid', OFPVID_PRESENT | vid) },
];
const vlan = (vid: number): OxmTlv => field('vlan_vid', OFPVID_PRESENT | vid);

/** Where the fabric's edge roles are: the firewall's legs, and the WAN exit fw-outside's traffic takes. */
export interface FabricRoles {
  fwOutside: { switch: string; port: number };
  fwInside: { switch: string; port: number };
  wanExit: { switch: string; port: number };
}

function portOfRole(site: Site, role: 'fw-outside' | 'fw-inside'): { switch: string; port: number } {
  for (const sw of site.switches) for (const p of sw.ports) if (p.role === role) return { switch: sw.name, port: p.portNo };
  throw new Error(`the site has no ${role} port`);
}

export function fabricRoles(site: Site, down?: ReadonlySet<string>): FabricRoles {
  const fwOutside = portOfRole(site, 'fw-outside');
  const wanSwitches = new Set(site.switches.filter((sw) => sw.ports.some((p) => p.role === 'wan-routed')).map((sw) => sw.name));
  const path = shortestPath(fabricGraph(site, down), fwOutside.switch, wanSwitches, () => Infinity);
  const exitName = path ? path.switches.at(-1)! : [...wanSwitches].sort()[0]!;
  const exitSw = site.switches.find((sw) => sw.name === exitName)!;
  const wanExit = { switch: exitName, port: exitSw.ports.find((p) => p.role === 'wan-routed')!.portNo };
  return { fwOutside, fwInside: portOfRole(site, 'fw-inside'), wanExit };
}

export function fabricBaseFlows(site: Site, sw: SiteSwitch, down?: ReadonlySet<string>): FlowSpec[] {
  const c = ownerCookie(OWNER.PIPELINE, 0);
  const graph = fabricGraph(site, down);
  const roles = fabricRoles(site, down);
  const me = sw.name;
  const fabricPorts = fabricPortsOf(site, me);
  const inside = sw.ports.filter((p) => INSIDE_ROLES.includes(p.role)).map((p) => p.portNo);
  const flows: FlowSpec[] = [lldpToControllerFlow(PRIORITY.LLDP, c)];
  const enterprise = (match: OxmTlv[], actions: Action[], priority: number = PRIORITY.ENTERPRISE) =>
    flows.push(flow(priority, c, match, apply(...actions)));
  /** Actions that carry a packet (untagged, or already tagged when `tagged`) toward `target` on VLAN `vid`. */
  const toward = (target: string, vid: number, tagged: boolean): Action[] => {
    const hop = treeToward(graph, target).get(me);
    if (!hop) return []; // (unreachable while links are down: dropped)
    return [...(tagged ? [] : tag(vid)), sendOver(site, hop.group, me)];
  };
  const fromFabric = (vid: number, actions: Action[], extra: OxmTlv[] = [], priority?: number) => {
    for (const p of fabricPorts) enterprise([field('in_port', p), vlan(vid), ...extra], actions, priority);
  };

  // Outside: WAN entries and circuit trunks (without a lease) to fw-outside; fw-outside to the WAN exit.
  const { fwOutside, fwInside, wanExit } = roles;
  const toFwOut = (tagged: boolean): Action[] =>
    me === fwOutside.switch
      ? [...(tagged ? [{ type: 'popVlan' } as Action] : []), output(fwOutside.port)]
      : toward(fwOutside.switch, FABRIC_VLAN.outsideUp, tagged);
  for (const p of sw.ports.filter((x) => x.role === 'wan-routed' || x.role === 'wan-circuit'))
    enterprise([field('in_port', p.portNo)], toFwOut(false));
  fromFabric(FABRIC_VLAN.outsideUp, toFwOut(true));
  const toWan = (tagged: boolean): Action[] =>
    me === wanExit.switch
      ? [...(tagged ? [{ type: 'popVlan' } as Action] : []), output(wanExit.port)]
      : toward(wanExit.switch, FABRIC_VLAN.outsideDown, tagged);
  if (me === fwOutside.switch) enterprise([field('in_port', fwOutside.port)], toWan(false));
  fromFabric(FABRIC_VLAN.outsideDown, toWan(true));

  // Inside, up: from an inside host to fw-inside (and, for broadcasts such as ARP, to this switch's other inside hosts).
  const toFwIn = (tagged: boolean): Action[] =>
    me === fwInside.switch
      ? [...(tagged ? [{ type: 'popVlan' } as Action] : []), output(fwInside.port)]
      : toward(fwInside.switch, FABRIC_VLAN.insideUp, tagged);
  for (const p of inside) {
    enterprise([field('in_port', p)], [...inside.filter((q) => q !== p).map(output), ...toFwIn(false)]);
    // Unicast from an inside host to anything else goes to the firewall only (not flooded to other inside hosts).
    enterprise([field('in_port', p), field('eth_dst', '00:00:00:00:00:00', '01:00:00:00:00:00')], toFwIn(false), PRIORITY.INSIDE_DELIVERY - 5);
  }
  fromFabric(FABRIC_VLAN.insideUp, toFwIn(true));

  // Inside, down: from fw-inside to a known host's port only, else to every inside port of the fabric (a tree rooted
  // at fw-inside's switch: each switch sends on to its children, tagged, and delivers to its own inside ports).
  const tree = treeToward(graph, fwInside.switch);
  const children = [...tree].filter(([, hop]) => hop.to === me).map(([child, hop]) => ({ child, group: hop.group }));
  const flood = (tagged: boolean): Action[] => [
    ...(children.length && !tagged ? tag(FABRIC_VLAN.insideDown) : []),
    ...children.map((ch) => sendOver(site, ch.group, me)),
    ...(tagged && inside.length ? [{ type: 'popVlan' } as Action] : []),
    ...inside.map(output),
  ];
  if (me === fwInside.switch) enterprise([field('in_port', fwInside.port)], flood(false));
  fromFabric(FABRIC_VLAN.insideDown, flood(true));
  for (const h of insideHosts(site)) {
    const local = h.switch === me;
    const deliver = (tagged: boolean): Action[] =>
      local ? [...(tagged ? [{ type: 'popVlan' } as Action] : []), output(h.port)] : toward(h.switch, FABRIC_VLAN.insideDown, tagged);
    if (me === fwInside.switch) enterprise([field('in_port', fwInside.port), field('eth_dst', h.mac)], deliver(false), PRIORITY.INSIDE_DELIVERY);
    fromFabric(FABRIC_VLAN.insideDown, deliver(true), [field('eth_dst', h.mac)], PRIORITY.INSIDE_DELIVERY);
    // Between inside hosts of one switch, by MAC, as on a standalone switch.
    if (local)
      for (const from of inside.filter((q) => q !== h.port))
        enterprise([field('in_port', from), field('eth_dst', h.mac)], [output(h.port)], PRIORITY.INSIDE_DELIVERY);
  }
  flows.push(flow(PRIORITY.MISS, c, [], [])); // explicit drop: fail-secure
  return flows;
}
