// The DMZ pipeline as flow entries: a pure function of (site, leases, blocks, now). One table:
//
//   priority 65000  LLDP (eth_type 0x88cc) from any port: to the controller only, for link discovery. Above
//                   everything, so that no path (enterprise or bypass) ever forwards it; with no controller
//                   (fail_mode=secure) the packet-in goes nowhere and the frame is dropped.
//   priority 60000  blocks: drop, counted (they win over everything)
//   priority 40000  lease bypass flows: WAN <-> DTN directly (routed), or over a circuit VLAN
//   priority 20010  inside delivery: from fw-inside (or another inside port) to a known inside host by MAC
//   priority 20000  the enterprise path: WAN <-> fw-outside, inside ports <-> fw-inside, flooding inside
//   priority 0      table miss: drop (fail-secure: nothing unknown is forwarded, nothing goes to the controller)
//
// The only openings past the firewall legs are lease flows, and a lease can only name a configured DTN: a config
// cannot open more than the enterprise firewall does, by construction.
import { OFPFF, OFPMF, OFPVID_PRESENT, type Match, type Instruction, type Action, type OxmTlv } from '../../controller/openflow/index.js';
import { compilePortRange, type MaskedPort, type PortRange } from './port-ranges.js';
import type { FlowEntry, MeterEntry } from '../../controller/flow-entry.js';
import { parsePrefix, prefixToOxm, prefixWithin, type Prefix } from './addresses.js';
import {
  INSIDE_ROLES,
  dtnsNamed,
  insideHosts,
  portWithRole,
  portsWithRole,
  standaloneSwitches,
  switchByName,
  type Site,
  type SiteSwitch,
  type Dtn,
} from './site.js';
import { fabricBaseFlows } from './fabric/base-flows.js';
import type { Lease, Block } from './model.js';
import { OWNER } from './owners.js';
import { ownerCookie } from '../../controller/cookie.js';
import { lldpToControllerFlow } from '../../controller/lldp-discovery.js';

export const PRIORITY = { LLDP: 65000, BLOCK: 60000, LEASE: 40000, INSIDE_DELIVERY: 20010, ENTERPRISE: 20000, MISS: 0 } as const;

/** A flow as the controller's flow manager takes it (every field given: the pipeline is explicit). */
export type FlowSpec = FlowEntry;
export type MeterSpec = MeterEntry & { bands: { type: 'drop'; rate: number; burstSize: number }[] };

export const ETH_IPV4 = 0x0800;
export const ETH_IPV6 = 0x86dd;
const IPPROTO = { tcp: 6, udp: 17 } as const;

export const output = (port: number): Action => ({ type: 'output', port, maxLen: 0 });
export const apply = (...actions: Action[]): Instruction[] => [{ type: 'applyActions', actions }];
export const field = (name: string, value: OxmTlv['value'], mask?: OxmTlv['value']): OxmTlv =>
  mask === undefined ? { field: name, value } : { field: name, value, mask };

export function flow(priority: number, cookie: bigint, match: Match, instructions: Instruction[], extra: Partial<FlowSpec> = {}): FlowSpec {
  return { tableId: 0, priority, match, instructions, cookie, idleTimeout: 0, hardTimeout: 0, flags: 0, ...extra };
}

// --- the enterprise path -----------------------------------------------------------------------------------------

/**
 * The flows every DMZ switch holds whatever leases and blocks exist: a standalone switch's own enterprise path, or
 * in a fabric with one firewall, its part of the fabric pipeline (fabric/base-flows.ts) with the links `down` left out.
 */
export function baseFlows(site: Site, sw: SiteSwitch, down?: ReadonlySet<string>): FlowSpec[] {
  return standaloneSwitches(site) ? standaloneBaseFlows(site, sw) : fabricBaseFlows(site, sw, down);
}

function standaloneBaseFlows(site: Site, sw: SiteSwitch): FlowSpec[] {
  const c = ownerCookie(OWNER.PIPELINE, 0);
  const wan = portWithRole(sw, 'wan-routed').portNo;
  const fwOut = portWithRole(sw, 'fw-outside').portNo;
  const fwIn = portWithRole(sw, 'fw-inside').portNo;
  const inside = sw.ports.filter((p) => INSIDE_ROLES.includes(p.role)).map((p) => p.portNo);
  const flows: FlowSpec[] = [
    lldpToControllerFlow(PRIORITY.LLDP, c),
    flow(PRIORITY.ENTERPRISE, c, [field('in_port', wan)], apply(output(fwOut))),
    flow(PRIORITY.ENTERPRISE, c, [field('in_port', fwOut)], apply(output(wan))),
    // Without a lease, circuit traffic is treated like any WAN traffic: through the firewall.
    ...portsWithRole(sw, 'wan-circuit').map((p) => flow(PRIORITY.ENTERPRISE, c, [field('in_port', p.portNo)], apply(output(fwOut)))),
    // From the firewall's inside leg: broadcast, multicast and unknown destinations go to every inside port.
    flow(PRIORITY.ENTERPRISE, c, [field('in_port', fwIn)], apply(...inside.map(output))),
  ];
  for (const p of inside) {
    // From an inside host: to the firewall, and (for broadcasts such as ARP) to the other inside hosts.
    flows.push(flow(PRIORITY.ENTERPRISE, c, [field('in_port', p)], apply(output(fwIn), ...inside.filter((q) => q !== p).map(output))));
  }
  // Known inside hosts by MAC: delivered only to their own port, from the firewall or from another inside host.
  for (const h of insideHosts(site).filter((x) => x.switch === sw.name)) {
    for (const from of [fwIn, ...inside.filter((q) => q !== h.port)]) {
      flows.push(flow(PRIORITY.INSIDE_DELIVERY, c, [field('in_port', from), field('eth_dst', h.mac)], apply(output(h.port))));
    }
  }
  // Unicast from an inside host to anything else goes to the firewall only (not flooded to other inside hosts).
  for (const p of inside) {
    flows.push(
      flow(PRIORITY.INSIDE_DELIVERY - 5, c, [field('in_port', p), field('eth_dst', '00:00:00:00:00:00', '01:00:00:00:00:00')], apply(output(fwIn))),
    );
  }
  flows.push(flow(PRIORITY.MISS, c, [], [])); // explicit drop: fail-secure
  return flows;
}

// --- leases ------------------------------------------------------------------------------------------------------

/** The numbers behind a refusal for a limit (a flow budget, a circuit's capacity), for the client to read. */
export type RefusalLimit = Record<string, number | string>;

export class LeaseRefused extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly limit?: RefusalLimit,
  ) {
    super(message);
    this.name = 'LeaseRefused';
  }
}

/**
 * A block's match in OXM field-number order (OF1.3.5 §7.2.3.7: eth_type 5, ip_proto 10, ipv4_src/dst 11-12,
 * tcp/udp ports 13-16, ipv6_src/dst 26-27), the order the flow manager normalises a match into (every
 * prerequisite first): a match given in it is taken as it is, not re-encoded and sorted per flow.
 */
function blockMatch(eth: OxmTlv, proto: OxmTlv | undefined, family: 4 | 6, addr: OxmTlv | undefined, l4: OxmTlv[]): Match {
  const m: Match = proto ? [eth, proto] : [eth];
  if (family === 4 && addr) m.push(addr);
  m.push(...l4);
  if (family === 6 && addr) m.push(addr);
  return m;
}

/** A lease's rate as an OpenFlow meter: a drop band at the rate, in kbit/s. */
export function leaseMeter(meterId: number, rateMbps: number): MeterSpec {
  return { meterId, flags: OFPMF.KBPS | OFPMF.STATS, bands: [{ type: 'drop', rate: Math.round(rateMbps * 1000), burstSize: 0 }] };
}

/** The DTN a lease names (a cluster's first member), or a refusal: only configured DTNs can be on our side of a lease. */
export function leaseDtn(site: Site, lease: Pick<Lease, 'dtn'>): Dtn {
  const dtn = dtnsNamed(site, lease.dtn)[0];
  if (!dtn) throw new LeaseRefused('unknown-dtn', `${lease.dtn} is not a configured DTN`);
  return dtn;
}

/** Every inside host's addresses, parsed, in host order (hosts' IPv4 then IPv6): per site, made once. */
const insideAddressesOf = new WeakMap<Site, { host: string; text: string; prefix: Prefix }[]>();

function insideAddresses(site: Site): { host: string; text: string; prefix: Prefix }[] {
  let list = insideAddressesOf.get(site);
  if (list === undefined) {
    list = insideHosts(site).flatMap((h) => [...h.ipv4, ...h.ipv6].map((a) => ({ host: h.name, text: a, prefix: parsePrefix(a) })));
    insideAddressesOf.set(site, list);
  }
  return list;
}

/**
 * What every lease of one DTN over one path and address family has in common: its match fields other than the
 * remote address and ports, and its actions. Made once per site (sites are not changed in place: a reload is a
 * new Site) and shared by those leases' flow specs, so that a lease's desired flows hold only what is its own
 * (the TLV, action and instruction objects are plain values nothing changes; the match and instruction arrays are
 * frozen, which the flow manager keeps as they are instead of copying).
 */
interface LeasePath {
  /** WAN -> DTN: in_port (and the circuit's vlan_vid). */
  inPort: OxmTlv;
  inVlan: OxmTlv | undefined;
  /** DTN -> WAN: in_port. */
  outPort: OxmTlv;
  eth: OxmTlv;
  /** The DTN's addresses of the family, as a source and as a destination field. */
  locals: { src: OxmTlv; dst: OxmTlv }[];
  inApply: Instruction;
  outApply: Instruction;
  /** [inApply], [outApply]: the instructions of an unmetered lease (frozen: kept, not copied, by the flow manager). */
  inInstructions: Instruction[];
  outInstructions: Instruction[];
}

const leasePathsOf = new WeakMap<Site, Map<string, LeasePath>>();

function leasePath(site: Site, sw: SiteSwitch, dtn: Dtn, path: Lease['path'], family: 4 | 6, locals: string[]): LeasePath {
  let paths = leasePathsOf.get(site);
  if (paths === undefined) leasePathsOf.set(site, (paths = new Map<string, LeasePath>()));
  const key = `${dtn.name}\n${path}\n${family}`;
  let lp = paths.get(key);
  if (lp !== undefined) return lp;
  let inPort: OxmTlv;
  let inVlan: OxmTlv | undefined;
  let outActions: Action[];
  let inActions: Action[];
  if (path === 'routed') {
    const wan = portWithRole(sw, 'wan-routed');
    inPort = field('in_port', wan.portNo);
    // Addressed to that port's border router when the config names it (the DTN's gateway may be another's).
    outActions = wan.routerMac ? [{ type: 'setField', field: field('eth_dst', wan.routerMac) }, output(wan.portNo)] : [output(wan.portNo)];
    inActions = [output(dtn.port)];
  } else {
    const name = path.slice('circuit:'.length);
    const circuit = site.circuits.find((c) => c.name === name);
    if (!circuit) throw new LeaseRefused('unknown-path', `no circuit named ${name}`);
    if (circuit.switch !== sw.name) throw new LeaseRefused('unknown-path', `circuit ${name} is not on ${dtn.name}'s switch`);
    const vid = OFPVID_PRESENT | circuit.vlan;
    inPort = field('in_port', circuit.trunkPort);
    inVlan = field('vlan_vid', vid);
    // Out: tag with the circuit's VLAN and address the circuit's far end; in: untag and deliver to the DTN.
    outActions = [
      { type: 'pushVlan', ethertype: 0x8100 },
      { type: 'setField', field: field('vlan_vid', vid) },
      { type: 'setField', field: field('eth_dst', circuit.farEndMac) },
      output(circuit.trunkPort),
    ];
    inActions = [{ type: 'popVlan' }, { type: 'setField', field: field('eth_dst', dtn.mac) }, output(dtn.port)];
  }
  const [srcName, dstName] = family === 4 ? ['ipv4_src', 'ipv4_dst'] : ['ipv6_src', 'ipv6_dst'];
  const inApply = apply(...inActions)[0]!;
  const outApply = apply(...outActions)[0]!;
  lp = {
    inPort,
    inVlan,
    outPort: field('in_port', dtn.port),
    eth: field('eth_type', family === 4 ? ETH_IPV4 : ETH_IPV6),
    locals: locals.map((a) => ({ src: field(srcName, a), dst: field(dstName, a) })),
    inApply,
    outApply,
    inInstructions: Object.freeze([inApply]) as Instruction[],
    outInstructions: Object.freeze([outApply]) as Instruction[],
  };
  paths.set(key, lp);
  return lp;
}

export const PROTO_FIELD = { tcp: field('ip_proto', IPPROTO.tcp), udp: field('ip_proto', IPPROTO.udp) } as const;
export const L4_NAMES = { tcp: ['tcp_src', 'tcp_dst'], udp: ['udp_src', 'udp_dst'] } as const;

/**
 * The port fields made so far, by field name and (mask << 16 | value): leases on the same ports share one TLV
 * object (a plain value nothing changes), as they share their path's, instead of each flow holding its own.
 * Bounded: past PORT_FIELDS_KEPT fields of a name, new ones are made and not kept.
 */
const portFields = new Map<string, Map<number, OxmTlv>>();
const PORT_FIELDS_KEPT = 4096;

/** A port as a match field (undefined for the whole 0-65535 range: no field). */
export function portField(name: string, p: MaskedPort): OxmTlv | undefined {
  if (p.mask === 0) return undefined;
  let made = portFields.get(name);
  if (made === undefined) portFields.set(name, (made = new Map<number, OxmTlv>()));
  const key = p.mask * 0x10000 + p.value;
  let f = made.get(key);
  if (f === undefined) {
    f = Object.freeze(p.mask === 0xffff ? field(name, p.value) : field(name, p.value, p.mask));
    if (made.size < PORT_FIELDS_KEPT) made.set(key, f);
  }
  return f;
}

/** The ports of a lease side as (value, mask) blocks. */
export function portMasks(ranges: PortRange[]): MaskedPort[] {
  return ranges.length === 1 ? compilePortRange(ranges[0]!) : ranges.flatMap(compilePortRange);
}

/**
 * A lease flow's match in OXM field-number order (see blockMatch): in_port, eth_type, [vlan_vid], ip_proto, then
 * for IPv4 the addresses and the ports, for IPv6 the ports and the addresses.
 */
export function leaseMatch(
  inPort: OxmTlv,
  eth: OxmTlv,
  vlan: OxmTlv | undefined,
  proto: OxmTlv,
  family: 4 | 6,
  src: OxmTlv,
  dst: OxmTlv,
  srcPort: OxmTlv | undefined,
  dstPort: OxmTlv | undefined,
): Match {
  // Sized exactly (the desired state keeps this array: pushing into a literal would leave spare capacity).
  const m = new Array<OxmTlv>(5 + (vlan ? 1 : 0) + (srcPort ? 1 : 0) + (dstPort ? 1 : 0));
  let i = 0;
  m[i++] = inPort;
  m[i++] = eth;
  if (vlan) m[i++] = vlan;
  m[i++] = proto;
  if (family === 4) {
    m[i++] = src;
    m[i++] = dst;
  }
  if (srcPort) m[i++] = srcPort;
  if (dstPort) m[i++] = dstPort;
  if (family === 6) {
    m[i++] = src;
    m[i++] = dst;
  }
  if (i !== m.length) throw new Error(`lease match sized ${m.length}, filled ${i}`);
  // Frozen: nothing can change it, so the flow manager keeps it as the desired entry's match (no copy per flow).
  return Object.freeze(m) as Match;
}

/** Flows (both directions) and meter for a lease, or a LeaseRefused naming the rule it breaks. */
export function leaseFlows(site: Site, lease: Lease, now: number): { flows: FlowSpec[]; meter?: MeterSpec } {
  let remote: Prefix;
  try {
    remote = parsePrefix(lease.remote);
  } catch (e) {
    throw new LeaseRefused('bad-remote', (e as Error).message);
  }
  return leaseFlowsOf(site, lease, remote, now);
}

/** A lease's checks against one of its DTNs: its DTN's addresses of the remote's family, and its hard timeout. */
export function leaseChecks(
  site: Site,
  dtn: Dtn,
  lease: Pick<Lease, 'id' | 'end'>,
  remote: Prefix,
  now: number,
): { localAddrs: string[]; seconds: number } {
  // The remote side must really be remote: never one of our inside hosts.
  for (const a of insideAddresses(site)) {
    if (prefixWithin(a.prefix, remote)) {
      throw new LeaseRefused('remote-is-local', `remote ${remote.text} covers ${a.host}'s address ${a.text}`);
    }
  }
  const localAddrs = remote.family === 4 ? dtn.ipv4 : dtn.ipv6;
  if (localAddrs.length === 0) throw new LeaseRefused('family-mismatch', `${dtn.name} has no IPv${remote.family} address for remote ${remote.text}`);
  const seconds = Math.ceil((lease.end - now) / 1000);
  if (seconds <= 0) throw new LeaseRefused('expired', `lease ${lease.id} ended at ${new Date(lease.end).toISOString()}`);
  if (seconds > 65535) throw new LeaseRefused('too-long', 'a lease may last at most 65535 s (the switch-side hard timeout is 16 bits)');
  return { localAddrs, seconds };
}

/** leaseFlows for a lease whose remote prefix is parsed already (the core's: its values travel parsed). */
export function leaseFlowsOf(site: Site, lease: Omit<Lease, 'remote'>, remote: Prefix, now: number): { flows: FlowSpec[]; meter?: MeterSpec } {
  const dtn = leaseDtn(site, lease);
  const sw = switchByName(site, dtn.switch);
  const { localAddrs, seconds } = leaseChecks(site, dtn, lease, remote, now);

  const cookie = ownerCookie(OWNER.LEASES, lease.id);
  const meter = lease.rateMbps && lease.meterId ? leaseMeter(lease.meterId, lease.rateMbps) : undefined;
  const path = leasePath(site, sw, dtn, lease.path, remote.family, localAddrs);
  let inInstructions = path.inInstructions;
  let outInstructions = path.outInstructions;
  if (meter) {
    const m: Instruction = { type: 'meter', meterId: meter.meterId };
    inInstructions = Object.freeze([m, path.inApply]) as Instruction[];
    outInstructions = Object.freeze([m, path.outApply]) as Instruction[];
  }
  const proto = PROTO_FIELD[lease.protocol];
  const [srcPortName, dstPortName] = L4_NAMES[lease.protocol];
  const [srcName, dstName] = remote.family === 4 ? ['ipv4_src', 'ipv4_dst'] : ['ipv6_src', 'ipv6_dst'];
  const remoteOxm = prefixToOxm(remote);
  const remoteSrc = field(srcName, remoteOxm.value, remoteOxm.mask);
  const remoteDst = field(dstName, remoteOxm.value, remoteOxm.mask);
  const localMasks = portMasks(lease.localPorts);
  const remoteMasks = portMasks(lease.remotePorts);

  const flows: FlowSpec[] = [];
  const leaseFlow = (match: Match, instructions: Instruction[]): FlowSpec => ({
    tableId: 0,
    priority: PRIORITY.LEASE,
    match,
    instructions,
    cookie,
    idleTimeout: 0,
    hardTimeout: seconds,
    flags: OFPFF.SEND_FLOW_REM,
  });
  for (const local of path.locals) {
    for (const lp of localMasks) {
      for (const rp of remoteMasks) {
        // WAN -> DTN
        flows.push(
          leaseFlow(
            leaseMatch(
              path.inPort,
              path.eth,
              path.inVlan,
              proto,
              remote.family,
              remoteSrc,
              local.dst,
              portField(srcPortName, rp),
              portField(dstPortName, lp),
            ),
            inInstructions,
          ),
        );
        // DTN -> WAN
        flows.push(
          leaseFlow(
            leaseMatch(
              path.outPort,
              path.eth,
              undefined,
              proto,
              remote.family,
              local.src,
              remoteDst,
              portField(srcPortName, lp),
              portField(dstPortName, rp),
            ),
            outInstructions,
          ),
        );
      }
    }
  }
  return meter ? { flows, meter } : { flows };
}

// --- blocks ------------------------------------------------------------------------------------------------------

/** Drop flows for a block, as source and as destination, on every switch (they are installed everywhere). */
export function blockFlows(block: Block, now: number): FlowSpec[] {
  return blockFlowsOf(block, parsePrefix(block.prefix), now);
}

/** blockFlows for a block whose prefix is parsed already. */
export function blockFlowsOf(block: Omit<Block, 'prefix'>, p: Prefix, now: number): FlowSpec[] {
  const oxm = prefixToOxm(p);
  const eth = field('eth_type', p.family === 4 ? ETH_IPV4 : ETH_IPV6);
  const [srcName, dstName] = p.family === 4 ? ['ipv4_src', 'ipv4_dst'] : ['ipv6_src', 'ipv6_dst'];
  const cookie = ownerCookie(OWNER.BLOCKS, block.id);
  let hardTimeout = 0;
  if (block.end !== undefined) {
    hardTimeout = Math.ceil((block.end - now) / 1000);
    if (hardTimeout <= 0) return [];
    if (hardTimeout > 65535) hardTimeout = 0; // longer than the switch can count: the controller removes it
  }
  const extra = { hardTimeout, flags: OFPFF.SEND_FLOW_REM };
  const protos = block.protocol ? [block.protocol] : [];
  const flows: FlowSpec[] = [];
  // A /0 has an all-zero mask, a wildcard (OF1.3.5 §7.2.3.5): its source and destination flows would be one flow,
  // so it gets one set, without an address field.
  for (const name of p.len === 0 ? [undefined] : [srcName, dstName]) {
    const addr = name === undefined ? undefined : field(name, oxm.value, oxm.mask);
    if (protos.length === 0) {
      flows.push(flow(PRIORITY.BLOCK, cookie, blockMatch(eth, undefined, p.family, addr, []), [], extra));
      continue;
    }
    const proto = protos[0]!;
    for (const pm of portMasks(block.ports ?? [{ lo: 0, hi: 65535 }])) {
      // The blocked port on either end of the connection (one flow when it is every port: no port field).
      for (const name of L4_NAMES[proto]) {
        const port = portField(name, pm);
        flows.push(flow(PRIORITY.BLOCK, cookie, blockMatch(eth, PROTO_FIELD[proto], p.family, addr, port ? [port] : []), [], extra));
        if (!port) break;
      }
    }
  }
  return flows;
}
