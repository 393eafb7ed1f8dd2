// `dmzgate check-config FILE`: validates a site config as the controller would load it, and compiles it to the
// flows every switch gets, without a switch or a running controller. Like Faucet's check_faucet_config: every
// problem with its line and column, or a summary of what the config describes.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseSiteConfig, SiteConfigError, type Site } from '../../apps/dmz/config.js';
import { baseFlows } from '../../apps/dmz/pipeline.js';
import { PORT_ROLES } from '../../apps/dmz/site.js';
import { formatPortRange } from '../../apps/dmz/port-ranges.js';
import { UsageError } from '../options.js';

export const CHECK_CONFIG_HELP = `usage: dmzgate check-config FILE [--json]

Validates a site config (YAML) as \`dmzgate controller --config FILE\` and SIGHUP would load it, and compiles it
to each switch's base flows. Needs no switch, token or running controller.

Exit 0: the config is valid; prints what it describes (switches, ports by role, DTNs, perfSONAR and LAN hosts,
        circuits, policy, base flows per switch).
Exit 1: prints every problem as FILE:LINE:COLUMN FIELD: MESSAGE on standard error: every YAML or shape
        problem at once (unknown fields, wrong types, values out of range) or, once the shape is right, every
        reference and consistency problem (unknown switches and ports, roles, duplicates, policy limits).
Exit 2: a usage mistake.

  --json                print the summary as JSON
  -h, --help            this text`;

interface Summary {
  site: string;
  switches: { name: string; dpid: string; ports: Record<string, number[]>; baseFlows: number }[];
  dtns: { name: string; switch: string; port: number; addresses: string[] }[];
  perfsonar: string[];
  lan: string[];
  circuits: { name: string; switch: string; trunkPort: number; vlan: number; farEndMac: string; capacityMbps: number }[];
  links: { a: string; b: string; capacityMbps: number; cost: number }[];
  clusters: { name: string; members: string[] }[];
  policy: { maxLeaseSeconds: number; ports: string[]; protocols: string[]; backupPaths: boolean };
}

function summarize(site: Site): Summary {
  return {
    site: site.name,
    switches: site.switches.map((sw) => ({
      name: sw.name,
      dpid: sw.dpid.toString(16).padStart(16, '0'),
      ports: Object.fromEntries(
        PORT_ROLES.map((r) => [r, sw.ports.filter((p) => p.role === r).map((p) => p.portNo)] as const).filter(([, ps]) => ps.length > 0),
      ),
      baseFlows: baseFlows(site, sw).length,
    })),
    dtns: site.dtns.map((d) => ({ name: d.name, switch: d.switch, port: d.port, addresses: [...d.ipv4, ...d.ipv6] })),
    perfsonar: site.perfsonar.map((h) => h.name),
    lan: site.lanHosts.map((h) => h.name),
    circuits: site.circuits.map((c) => ({
      name: c.name,
      switch: c.switch,
      trunkPort: c.trunkPort,
      vlan: c.vlan,
      farEndMac: c.farEndMac,
      capacityMbps: c.capacityMbps,
    })),
    links: site.links.map((l) => ({ a: `${l.a.switch}:${l.a.port}`, b: `${l.b.switch}:${l.b.port}`, capacityMbps: l.capacityMbps, cost: l.cost })),
    clusters: site.clusters.map((c) => ({ name: c.name, members: [...c.members] })),
    policy: {
      maxLeaseSeconds: site.policy.maxLeaseSeconds,
      ports: site.policy.ports.map(formatPortRange),
      protocols: site.policy.protocols,
      backupPaths: site.policy.backupPaths,
    },
  };
}

function summaryText(file: string, s: Summary): string {
  const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
  const lines = [
    `${file}: valid site config "${s.site}": ${count(s.switches.length, 'switch', 'switches')}, ${count(s.dtns.length, 'DTN')}, ` +
      `${s.perfsonar.length} perfSONAR, ${count(s.lan.length, 'LAN host')}, ${count(s.circuits.length, 'circuit')}, ${count(s.links.length, 'link')}`,
  ];
  for (const sw of s.switches) {
    lines.push(`switch ${sw.name} (dpid ${sw.dpid}): ${count(sw.baseFlows, 'base flow')}`);
    for (const [role, ports] of Object.entries(sw.ports)) lines.push(`  ${role.padEnd(12)} ${ports.join(', ')}`);
  }
  for (const d of s.dtns) lines.push(`DTN ${d.name} on ${d.switch} port ${d.port}: ${d.addresses.join(', ')}`);
  if (s.perfsonar.length) lines.push(`perfSONAR: ${s.perfsonar.join(', ')}`);
  if (s.lan.length) lines.push(`LAN hosts: ${s.lan.join(', ')}`);
  for (const c of s.circuits) {
    lines.push(
      `circuit ${c.name} on ${c.switch} trunk port ${c.trunkPort}, VLAN ${c.vlan}, far end ${c.farEndMac}` +
        (c.capacityMbps ? `, ${c.capacityMbps} Mbit/s` : ''),
    );
  }
  for (const l of s.links) lines.push(`link ${l.a} <-> ${l.b}, ${l.capacityMbps} Mbit/s, cost ${l.cost}`);
  for (const c of s.clusters) lines.push(`cluster ${c.name}: ${c.members.join(', ')}`);
  lines.push(
    `policy: leases up to ${s.policy.maxLeaseSeconds} s, local ports ${s.policy.ports.join(', ')}, ${s.policy.protocols.join(', ')}` +
      (s.policy.backupPaths ? ', backup paths' : ''),
  );
  return lines.join('\n');
}

/** Returns the exit status: 0 valid, 1 problems. */
export function checkConfigCommand(args: string[]): number {
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) {
    console.log(CHECK_CONFIG_HELP);
    return 0;
  }
  const file = positionals[0];
  if (file === undefined) throw new UsageError(`check-config needs a FILE\n${CHECK_CONFIG_HELP}`);
  if (positionals.length > 1) throw new UsageError(`check-config takes one FILE, got ${positionals.length}`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    console.error(`${file}: cannot read: ${(e as Error).message}`);
    return 1;
  }
  let site: Site;
  try {
    site = parseSiteConfig(text, file);
  } catch (e) {
    if (!(e instanceof SiteConfigError)) throw e;
    for (const p of e.problems) console.error(`${file}:${p.line}:${p.column} ${p.path}: ${p.message}`);
    console.error(`${file}: ${e.problems.length} problem${e.problems.length === 1 ? '' : 's'}`);
    return 1;
  }
  const summary = summarize(site);
  console.log(values.json ? JSON.stringify(summary, null, 2) : summaryText(file, summary));
  return 0;
}
