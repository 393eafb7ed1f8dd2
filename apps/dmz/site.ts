// The site model: what a network engineer describes in the site config (switches, port roles, DTNs, perfSONAR
// hosts, circuits, links between switches, policy defaults), after validation. Everything the DMZ app decides is computed from this.
import type { NxHashFields } from '../../controller/openflow/nx-actions.js';
import type { PortRange } from './port-ranges.js';

export const PORT_ROLES = ['wan-routed', 'wan-circuit', 'fw-outside', 'fw-inside', 'dtn', 'perfsonar', 'lan', 'fabric'] as const;
export type PortRole = (typeof PORT_ROLES)[number];

/** Roles of ports on the inside of the enterprise firewall: reached from fw-inside, never directly from the WAN. */
export const INSIDE_ROLES: readonly PortRole[] = ['dtn', 'perfsonar', 'lan'];

export const PROTOCOLS = ['tcp', 'udp'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export interface SitePort {
  portNo: number;
  role: PortRole;
  name: string;
  /** wan-routed: the border router's MAC there, which a lease leaving by the port addresses. */
  routerMac?: string;
}

export interface SiteSwitch {
  name: string;
  dpid: bigint;
  ports: SitePort[];
  /** The TLS certificate bound to this datapath id (switch-identity.ts). */
  certificate?: CertificateBinding;
  /** The fields it hashes to spread transfers over parallel links (an NX bundle action instead of a select group). */
  lagHash?: NxHashFields;
}

export interface CertificateBinding {
  /** Subject attributes the certificate must carry, with exactly these values. */
  subject?: Record<string, string>;
  /** SHA-1 or SHA-256 fingerprint: upper-case hex, no colons. */
  fingerprint?: string;
}

/** A host on a port: a DTN, a perfSONAR node or a LAN host. */
export interface SiteHost {
  name: string;
  switch: string;
  port: number;
  mac: string;
  ipv4: string[];
  ipv6: string[];
}

export type Dtn = SiteHost;

export interface Circuit {
  name: string;
  switch: string;
  trunkPort: number;
  vlan: number;
  farEndMac: string;
  /** 0: not given (no admission control on this circuit). */
  capacityMbps: number;
}

/** One end of a link between two site switches: a port with role `fabric`. */
export interface LinkEnd {
  switch: string;
  port: number;
}

/** A cable between two site switches, as the config declares it (LLDP checks that it is really there). */
export interface SiteLink {
  /** `SWITCH:PORT-SWITCH:PORT`, the ends in the order the config gives them. */
  name: string;
  a: LinkEnd;
  b: LinkEnd;
  capacityMbps: number;
  /** For path selection: lower is preferred (default 1). */
  cost: number;
}

/** Several DTNs under one name (a data site's transfer cluster): a lease naming it covers every member. */
export interface Cluster {
  name: string;
  /** DTN names. */
  members: string[];
}

export interface Policy {
  /** Longest lease a token may ask for, in seconds. */
  maxLeaseSeconds: number;
  /** Local (DTN-side) port ranges a lease may open, e.g. the Globus data ports 50000-51000. */
  ports: PortRange[];
  protocols: Protocol[];
  /** Most flows one request (a lease, or a block on each switch) may take. */
  leaseFlowBudget: number;
  /** Most lease and block flows one switch may hold, all requests together (the switch's table size caps it). */
  switchFlowBudget: number;
  /** The rate of a lease on a circuit with a capacity that asks for none; undefined: the circuit's capacity. */
  circuitDefaultRateMbps: number | undefined;
  /** Whether a lease gets precomputed fast-failover detours around the links of its path (policy.backup-paths). */
  backupPaths: boolean;
}

export interface Site {
  name: string;
  switches: SiteSwitch[];
  dtns: Dtn[];
  perfsonar: SiteHost[];
  lanHosts: SiteHost[];
  circuits: Circuit[];
  links: SiteLink[];
  clusters: Cluster[];
  policy: Policy;
}

export function portsWithRole(sw: SiteSwitch, role: PortRole): SitePort[] {
  return sw.ports.filter((p) => p.role === role);
}

/**
 * Whether every switch has its own wan-routed, fw-outside and fw-inside ports (each runs the one-switch pipeline;
 * links carry leases only), rather than one firewall for the whole fabric (config.ts checks it is one or the other).
 */
export function standaloneSwitches(site: Site): boolean {
  return site.switches.every((sw) => sw.ports.some((p) => p.role === 'fw-outside'));
}

/** The one port of a role a switch has (a standalone switch's wan-routed, fw-outside, fw-inside), validated at load. */
export function portWithRole(sw: SiteSwitch, role: PortRole): SitePort {
  const p = sw.ports.find((x) => x.role === role);
  if (!p) throw new Error(`switch ${sw.name} has no ${role} port`);
  return p;
}

export function switchByName(site: Site, name: string): SiteSwitch {
  const sw = site.switches.find((s) => s.name === name);
  if (!sw) throw new Error(`unknown switch ${name}`);
  return sw;
}

/** The switch a DTN (or a cluster's first member) is wired to (undefined: no such DTN, or its switch is not in the site). */
export function switchOfDtn(site: Site, dtn: string): SiteSwitch | undefined {
  const d = dtnsNamed(site, dtn)[0];
  return d && site.switches.find((s) => s.name === d.switch);
}

/** The DTNs a lease's `dtn` names: the DTN, or a cluster's members (empty: neither). */
export function dtnsNamed(site: Site, name: string): Dtn[] {
  const d = site.dtns.find((x) => x.name === name);
  if (d) return [d];
  const c = site.clusters.find((x) => x.name === name);
  return c ? c.members.map((m) => site.dtns.find((x) => x.name === m)!) : [];
}

export function insideHosts(site: Site): SiteHost[] {
  return [...site.dtns, ...site.perfsonar, ...site.lanHosts];
}
