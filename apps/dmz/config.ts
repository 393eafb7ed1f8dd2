// Loads and validates the site config (YAML). Every problem is reported with the line, column and field path it
// concerns, all at once, so an engineer fixes a config in one pass. Shapes are checked by the JSON schema
// (config-schema.ts), references and consistency here.
import type { NxHashFields } from '../../controller/openflow/nx-actions.js';
import { readFileSync } from 'node:fs';
import { parseDocument, LineCounter, isNode, type Document } from 'yaml';
import { Ajv } from 'ajv';
import { SITE_SCHEMA } from './config-schema.js';
import { parsePortRange, type PortRange } from './port-ranges.js';
import { isAddress, parsePrefix } from './addresses.js';
import { canonicalIpv6 } from '../../controller/packet/index.js';
import { DEFAULT_SITE_YAML } from './default-site.js';
import {
  INSIDE_ROLES,
  type LinkEnd,
  type SiteLink,
  type Site,
  type SiteHost,
  type SiteSwitch,
  type Circuit,
  type Cluster,
  type PortRole,
  type Protocol,
  type CertificateBinding,
} from './site.js';

export interface ConfigProblem {
  line: number;
  column: number;
  /** Field path, e.g. `dtns[0].port`. */
  path: string;
  message: string;
}

export class SiteConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: ConfigProblem[],
  ) {
    super(`${source}: invalid site config:\n${problems.map((p) => `  ${source}:${p.line}:${p.column} ${p.path}: ${p.message}`).join('\n')}`);
    this.name = 'SiteConfigError';
  }
}

const ajv = new Ajv({ allErrors: true, strict: true });
ajv.addFormat('ipv4', (s: string) => isAddress(s, 4));
ajv.addFormat('ipv6', (s: string) => isAddress(s, 6));
const validateShape = ajv.compile(SITE_SCHEMA);

type Path = (string | number)[];

function pathText(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || '(top)';
}

class Problems {
  readonly list: ConfigProblem[] = [];
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  add(path: Path, message: string): void {
    // Point at the deepest node of the path that exists (a missing key points at its parent).
    let node: unknown;
    for (let n = path.length; n >= 0 && !isNode(node); n--) node = n === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, n), true);
    const offset = isNode(node) && node.range ? node.range[0] : 0;
    const pos = this.lines.linePos(offset);
    this.list.push({ line: pos.line, column: pos.col, path: pathText(path), message });
  }
}

/** A lease is locals x local port masks x remote port masks x 2 flows: this keeps one request from filling a switch. */
export const DEFAULT_LEASE_FLOW_BUDGET = 256;
/**
 * Open vSwitch reports about a million entries per table, so the configured number is what bounds a software
 * switch; a hardware switch's smaller table (as it reports it) bounds it below that.
 */
export const DEFAULT_SWITCH_FLOW_BUDGET = 65536;

export function parseDuration(v: number | string): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+)(s|m|h|d)?$/.exec(v);
  if (!m) throw new Error(`invalid duration ${v}`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
}

function parseDpid(v: number | string): bigint {
  if (typeof v === 'number') return BigInt(v);
  return BigInt(`0x${v.replace(/^0x/, '').replace(/:/g, '')}`);
}

/** Parses and validates a site config; throws SiteConfigError listing every problem. */
export function parseSiteConfig(text: string, source = 'site config'): Site {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new SiteConfigError(
      source,
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { line: pos.line, column: pos.col, path: '(yaml)', message: e.message.split('\n')[0]! };
      }),
    );
  }
  const problems = new Problems(doc, lines);
  const raw = doc.toJS() as Record<string, unknown>;
  if (!validateShape(raw)) {
    for (const e of validateShape.errors ?? []) {
      const path: Path = e.instancePath
        .split('/')
        .slice(1)
        .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
      if (e.keyword === 'additionalProperties') path.push((e.params as { additionalProperty: string }).additionalProperty);
      const message =
        e.keyword === 'additionalProperties'
          ? 'unknown field'
          : e.keyword === 'enum'
            ? `${e.message}: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`
            : (e.message ?? 'invalid');
      problems.add(path, message);
    }
    throw new SiteConfigError(source, problems.list);
  }
  const site = buildSite(raw, problems);
  if (problems.list.length > 0) throw new SiteConfigError(source, problems.list);
  return site;
}

export function loadSiteConfig(file: string): Site {
  return parseSiteConfig(readFileSync(file, 'utf8'), file);
}

export function defaultSite(): Site {
  return parseSiteConfig(DEFAULT_SITE_YAML, '(embedded default site)');
}

// --- the validated-shape input and its consistency checks ----------------------------------------------------------

interface RawHost {
  name: string;
  switch: string;
  port: number;
  mac: string;
  ipv4?: string[];
  ipv6?: string[];
}
interface RawSite {
  site: string;
  switches: {
    name: string;
    dpid: number | string;
    ports: { port: number; role: PortRole; name?: string; 'router-mac'?: string }[];
    certificate?: { subject?: string; fingerprint?: string };
    'lag-hash'?: NxHashFields;
  }[];
  dtns?: RawHost[];
  perfsonar?: RawHost[];
  lan?: RawHost[];
  circuits?: { name: string; switch: string; 'trunk-port': number; vlan: number; 'far-end-mac': string; 'capacity-mbps'?: number }[];
  links?: { a: string; b: string; 'capacity-mbps': number; cost?: number }[];
  policy?: {
    'max-lease'?: number | string;
    ports?: (number | string)[];
    protocols?: Protocol[];
    'lease-flow-budget'?: number;
    'switch-flow-budget'?: number;
    'circuit-default-rate-mbps'?: number;
    'backup-paths'?: boolean;
  };
  clusters?: { name: string; members: string[] }[];
}

/** "CN=sw1, O=Example" or "/CN=sw1/O=Example" (the schema checked the form) as its attributes. */
function certificateBinding(c: { subject?: string; fingerprint?: string }): CertificateBinding {
  const out: CertificateBinding = {};
  if (c.subject !== undefined) {
    out.subject = Object.fromEntries(
      c.subject
        .replace(/^\//, '')
        .split(/[,/]/)
        .map((kv) => {
          const at = kv.indexOf('=');
          return [kv.slice(0, at).trim(), kv.slice(at + 1).trim()];
        }),
    );
  }
  if (c.fingerprint !== undefined) out.fingerprint = c.fingerprint.replace(/:/g, '').toUpperCase();
  return out;
}

function buildSite(raw: RawSite, problems: Problems): Site {
  const switches: SiteSwitch[] = [];
  const dpids = new Map<bigint, number>();
  const bindings = new Map<string, number>();
  const names = new Map<string, string>();
  const claimName = (name: string, path: Path) => {
    const prev = names.get(name);
    if (prev) problems.add([...path, 'name'], `name ${name} is already used by ${prev}`);
    else names.set(name, pathText(path));
  };

  raw.switches.forEach((s, i) => {
    claimName(s.name, ['switches', i]);
    const dpid = parseDpid(s.dpid);
    if (dpid >= 1n << 64n) problems.add(['switches', i, 'dpid'], 'datapath id exceeds 64 bits');
    if (dpids.has(dpid)) problems.add(['switches', i, 'dpid'], `datapath id also used by switches[${dpids.get(dpid)}]`);
    dpids.set(dpid, i);
    const seen = new Set<number>();
    s.ports.forEach((p, j) => {
      if (seen.has(p.port)) problems.add(['switches', i, 'ports', j, 'port'], `port ${p.port} listed twice`);
      seen.add(p.port);
      if (p['router-mac'] !== undefined && p.role !== 'wan-routed')
        problems.add(['switches', i, 'ports', j, 'router-mac'], `router-mac is for wan-routed ports, not ${p.role}`);
    });
    const ports = s.ports.map((p) => ({
      portNo: p.port,
      role: p.role,
      name: p.name ?? `${p.role}-${p.port}`,
      ...(p['router-mac'] ? { routerMac: p['router-mac'].toLowerCase() } : {}),
    }));
    for (const role of ['wan-routed', 'fw-outside', 'fw-inside'] as const) {
      const n = ports.filter((p) => p.role === role).length;
      if (n > 1) problems.add(['switches', i, 'ports'], `needs at most one port with role ${role}, has ${n}`);
    }
    const certificate = s.certificate ? certificateBinding(s.certificate) : undefined;
    if (certificate) {
      const text = JSON.stringify(certificate);
      const other = bindings.get(text);
      if (other !== undefined) problems.add(['switches', i, 'certificate'], `the same certificate is bound to switches[${other}]`);
      bindings.set(text, i);
    }
    switches.push({ name: s.name, dpid, ports, ...(certificate ? { certificate } : {}), ...(s['lag-hash'] ? { lagHash: s['lag-hash'] } : {}) });
  });
  checkEdgeRoles(switches, problems);

  const addresses = new Map<string, string>();
  const hosts = (list: RawHost[] | undefined, key: string, role: PortRole): SiteHost[] =>
    (list ?? []).map((h, i) => {
      const path: Path = [key, i];
      claimName(h.name, path);
      const sw = switches.find((s) => s.name === h.switch);
      if (!sw) problems.add([...path, 'switch'], `no switch named ${h.switch}`);
      else {
        const port = sw.ports.find((p) => p.portNo === h.port);
        if (!port) problems.add([...path, 'port'], `switch ${sw.name} has no port ${h.port}`);
        else if (port.role !== role) problems.add([...path, 'port'], `port ${h.port} of ${sw.name} has role ${port.role}, not ${role}`);
      }
      for (const [fam, addrs] of [
        ['ipv4', h.ipv4 ?? []],
        ['ipv6', h.ipv6 ?? []],
      ] as const) {
        addrs.forEach((a, j) => {
          const canon = fam === 'ipv6' ? canonicalIpv6(a) : a;
          const mapped = fam === 'ipv6' ? parsePrefix(a) : undefined;
          if (mapped?.family === 4) problems.add([...path, fam, j], `address ${a} is IPv4-mapped: list ${mapped.text.slice(0, -3)} under ipv4`);
          const prev = addresses.get(canon);
          if (prev) problems.add([...path, fam, j], `address ${a} is also ${prev}'s`);
          addresses.set(canon, h.name);
        });
      }
      const ipv6 = (h.ipv6 ?? []).map(canonicalIpv6);
      return { name: h.name, switch: h.switch, port: h.port, mac: h.mac.toLowerCase(), ipv4: h.ipv4 ?? [], ipv6 };
    });

  const dtns = hosts(raw.dtns, 'dtns', 'dtn');
  const perfsonar = hosts(raw.perfsonar, 'perfsonar', 'perfsonar');
  const lanHosts = hosts(raw.lan, 'lan', 'lan');
  const macs = new Map<string, string>();
  for (const h of [...dtns, ...perfsonar, ...lanHosts]) {
    if (macs.has(h.mac)) problems.add([], `MAC ${h.mac} is used by both ${macs.get(h.mac)} and ${h.name}`);
    macs.set(h.mac, h.name);
  }
  dtns.forEach((d, i) => {
    if (d.ipv4.length + d.ipv6.length === 0) problems.add(['dtns', i], 'a DTN needs at least one IPv4 or IPv6 address');
  });

  const circuits: Circuit[] = (raw.circuits ?? []).map((c, i) => {
    claimName(c.name, ['circuits', i]);
    const sw = switches.find((s) => s.name === c.switch);
    if (!sw) problems.add(['circuits', i, 'switch'], `no switch named ${c.switch}`);
    else {
      const port = sw.ports.find((p) => p.portNo === c['trunk-port']);
      if (port?.role !== 'wan-circuit')
        problems.add(['circuits', i, 'trunk-port'], `port ${c['trunk-port']} of ${sw.name} is not a wan-circuit port`);
    }
    return {
      name: c.name,
      switch: c.switch,
      trunkPort: c['trunk-port'],
      vlan: c.vlan,
      farEndMac: c['far-end-mac'].toLowerCase(),
      capacityMbps: c['capacity-mbps'] ?? 0,
    };
  });
  const vlans = new Map<string, string>();
  for (const c of circuits) {
    const key = `${c.switch}/${c.trunkPort}/${c.vlan}`;
    if (vlans.has(key)) problems.add(['circuits'], `circuits ${vlans.get(key)} and ${c.name} share VLAN ${c.vlan} on the same trunk`);
    vlans.set(key, c.name);
  }

  const links = buildLinks(raw.links ?? [], switches, problems);
  const standalone = switches.every((sw) => sw.ports.some((p) => p.role === 'fw-outside'));
  if (!standalone) checkConnected(switches, links, problems);

  // Inside hosts must sit behind the firewall: on a standalone switch, a port with an inside role on a switch with
  // the firewall's legs (in a fabric, the fabric pipeline carries them to the one firewall's inside leg).
  for (const sw of standalone ? switches : []) {
    for (const p of sw.ports) {
      if (INSIDE_ROLES.includes(p.role) && !sw.ports.some((q) => q.role === 'fw-inside')) {
        problems.add(['switches'], `switch ${sw.name} has inside port ${p.portNo} but no fw-inside port`);
      }
    }
  }
  const clusters = buildClusters(raw.clusters ?? [], dtns, claimName, problems);

  const policyRaw = raw.policy ?? {};
  let maxLeaseSeconds = 12 * 3600;
  if (policyRaw['max-lease'] !== undefined) maxLeaseSeconds = parseDuration(policyRaw['max-lease']);
  // A lease's end is enforced on the switch by a hard timeout, a 16-bit count of seconds (OF1.3.5 §7.3.4.1).
  if (maxLeaseSeconds > 65535) problems.add(['policy', 'max-lease'], 'must be at most 65535 s (18h12m): the switch-side hard timeout is 16 bits');
  const ports: PortRange[] = [];
  (policyRaw.ports ?? ['50000-51000']).forEach((p, i) => {
    try {
      ports.push(parsePortRange(String(p)));
    } catch (e) {
      problems.add(['policy', 'ports', i], (e as Error).message);
    }
  });

  return {
    name: raw.site,
    switches,
    dtns,
    perfsonar,
    lanHosts,
    circuits,
    links,
    clusters,
    policy: {
      maxLeaseSeconds,
      ports,
      protocols: policyRaw.protocols ?? ['tcp', 'udp'],
      leaseFlowBudget: policyRaw['lease-flow-budget'] ?? DEFAULT_LEASE_FLOW_BUDGET,
      switchFlowBudget: policyRaw['switch-flow-budget'] ?? DEFAULT_SWITCH_FLOW_BUDGET,
      circuitDefaultRateMbps: policyRaw['circuit-default-rate-mbps'],
      backupPaths: policyRaw['backup-paths'] ?? false,
    },
  };
}

/**
 * The edge roles: either every switch has its own wan-routed, fw-outside and fw-inside ports (standalone switches,
 * the one-switch pipeline on each), or the site has one firewall (one fw-outside and one fw-inside port, on any
 * switches) and at least one wan-routed port, which the fabric pipeline reaches across the links.
 */
function checkEdgeRoles(switches: SiteSwitch[], problems: Problems): void {
  const count = (role: PortRole) => switches.reduce((n, sw) => n + sw.ports.filter((p) => p.role === role).length, 0);
  const own = (sw: SiteSwitch) => ['wan-routed', 'fw-outside', 'fw-inside'].every((r) => sw.ports.some((p) => p.role === r));
  if (switches.length > 1 && switches.every(own)) return;
  for (const role of ['wan-routed', 'fw-outside', 'fw-inside'] as const) {
    const n = count(role);
    if (switches.length === 1) {
      // The default path needs exactly one of each: the enterprise firewall's legs and the routed uplink.
      if (n !== 1) problems.add(['switches', 0, 'ports'], `needs exactly one port with role ${role}, has ${n}`);
    } else if (role === 'wan-routed' ? n === 0 : n !== 1) {
      problems.add(
        ['switches'],
        `the site needs ${role === 'wan-routed' ? 'at least' : 'exactly'} one port with role ${role}, has ${n} ` +
          '(or every switch has its own wan-routed, fw-outside and fw-inside ports)',
      );
    }
  }
}

/** A fabric's switches must all reach each other over its links: default traffic crosses them to the firewall. */
function checkConnected(switches: SiteSwitch[], links: SiteLink[], problems: Problems): void {
  if (switches.length === 0) return;
  const seen = new Set([switches[0]!.name]);
  for (let grew = true; grew;) {
    grew = false;
    for (const l of links) {
      if (seen.has(l.a.switch) !== seen.has(l.b.switch)) {
        seen.add(l.a.switch).add(l.b.switch);
        grew = true;
      }
    }
  }
  const cut = switches.filter((sw) => !seen.has(sw.name)).map((sw) => sw.name);
  if (cut.length > 0) problems.add(['links'], `the fabric is not connected: no path of links from ${switches[0]!.name} to ${cut.join(', ')}`);
}

function buildClusters(
  raw: NonNullable<RawSite['clusters']>,
  dtns: SiteHost[],
  claimName: (name: string, path: Path) => void,
  problems: Problems,
): Cluster[] {
  return raw.map((c, i) => {
    claimName(c.name, ['clusters', i]);
    c.members.forEach((m, j) => {
      if (!dtns.some((d) => d.name === m)) problems.add(['clusters', i, 'members', j], `no DTN named ${m}`);
    });
    return { name: c.name, members: [...c.members] };
  });
}

/** Links between site switches: each end a fabric port of a site switch, no port in two links. */
function buildLinks(raw: NonNullable<RawSite['links']>, switches: SiteSwitch[], problems: Problems): SiteLink[] {
  const used = new Map<string, number>();
  const links: SiteLink[] = [];
  raw.forEach((l, i) => {
    let ok = true;
    const ends = (['a', 'b'] as const).map((side) => {
      const text = l[side];
      const at = text.lastIndexOf(':');
      const end: LinkEnd = { switch: text.slice(0, at), port: Number(text.slice(at + 1)) };
      const sw = switches.find((s) => s.name === end.switch);
      const port = sw?.ports.find((p) => p.portNo === end.port);
      const fail = (message: string) => {
        problems.add(['links', i, side], message);
        ok = false;
      };
      if (!sw) fail(`no switch named ${end.switch}`);
      else if (!port) fail(`switch ${sw.name} has no port ${end.port}`);
      else if (port.role !== 'fabric') fail(`port ${end.port} of ${sw.name} has role ${port.role}, not fabric`);
      else {
        const prev = used.get(text);
        if (prev !== undefined) fail(`${text} is already an end of links[${prev}]`);
        used.set(text, i);
      }
      return end;
    });
    const [a, b] = ends as [LinkEnd, LinkEnd];
    if (ok && a.switch === b.switch) {
      problems.add(['links', i], `a link joins two switches; both ends are on ${a.switch}`);
      ok = false;
    }
    if (ok) links.push({ name: `${l.a}-${l.b}`, a, b, capacityMbps: l['capacity-mbps'], cost: l.cost ?? 1 });
  });
  return links;
}

export type { Site };
export { type SiteHost };
