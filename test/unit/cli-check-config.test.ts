// `dmzgate check-config FILE` as a user runs it: the built command on config files, no switch, no controller.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, checkBuild } from '../../lab/dmzgate-process.js';
import { DEFAULT_SITE_YAML } from '../../apps/dmz/default-site.js';
import { defaultSite, parseSiteConfig } from '../../apps/dmz/config.js';
import { supercomputerYaml } from '../helpers/science-dmz-fabrics.js';
import { baseFlows } from '../../apps/dmz/pipeline.js';

const dir = mkdtempSync(join(tmpdir(), 'dmzgate-check-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'check-config', ...args], { cwd: dir, encoding: 'utf8', timeout: 20_000 });

/** The 1-based line and column where `needle` starts in `text`. */
function where(text: string, needle: string): string {
  const at = text.indexOf(needle);
  if (at < 0) throw new Error(`${needle} not in the text`);
  const before = text.slice(0, at).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

describe('dmzgate check-config', () => {
  beforeAll(() => checkBuild());

  it('a valid config: exit 0 and a summary of what it describes, base flows as the pipeline compiles them', () => {
    const f = file('site.yaml', DEFAULT_SITE_YAML);
    const r = run(f);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const flows = baseFlows(defaultSite(), defaultSite().switches[0]!).length;
    expect(r.stdout).toContain(`${f}: valid site config "prototype": 1 switch, 1 DTN, 1 perfSONAR, 1 LAN host, 1 circuit, 0 links`);
    expect(r.stdout).toContain(`switch dmz1 (dpid 0000000000000001): ${flows} base flows`);
    expect(r.stdout).toMatch(/ {2}wan-routed +1\n {2}wan-circuit +2\n {2}fw-outside +3\n {2}fw-inside +4\n {2}dtn +5\n {2}perfsonar +6\n {2}lan +7/);
    expect(r.stdout).toContain('DTN dtn1 on dmz1 port 5: 10.10.1.10, fd00:10:10:1::10');
    expect(r.stdout).toContain('circuit esnet on dmz1 trunk port 2, VLAN 3001, far end 02:00:00:00:02:0a, 500 Mbit/s');
    expect(r.stdout).toContain('policy: leases up to 43200 s, local ports 50000-51000, 5201, tcp, udp');

    const j = run(f, '--json');
    expect(j.status).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({
      site: 'prototype',
      switches: [{ name: 'dmz1', dpid: '0000000000000001', baseFlows: flows, ports: { 'wan-routed': [1], dtn: [5], lan: [7] } }],
      dtns: [{ name: 'dtn1', switch: 'dmz1', port: 5 }],
      circuits: [{ name: 'esnet', vlan: 3001 }],
    });
  });

  it('a fabric: the base flows of each switch, its clusters and backup paths', () => {
    const f = file('fabric.yaml', supercomputerYaml('  backup-paths: true\n'));
    const r = run(f);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const site = parseSiteConfig(supercomputerYaml());
    for (const sw of site.switches)
      expect(r.stdout).toContain(`switch ${sw.name} (dpid ${sw.dpid.toString(16).padStart(16, '0')}): ${baseFlows(site, sw).length} base flows`);
    expect(r.stdout).toContain('": 3 switches, ');
    expect(r.stdout).toContain('cluster dtns: dtn1, dtn2');
    expect(r.stdout).toContain('policy: leases up to 43200 s, local ports 50000-51000, 5201, tcp, udp, backup paths');
  });

  it('an invalid config: exit 1 and every problem with its line and column', () => {
    const text = DEFAULT_SITE_YAML.replace('role: fw-inside', 'role: fw-insde').replace('vlan: 3001', 'vlan: 5000');
    const f = file('broken.yaml', text);
    const r = run(f);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toContain(
      `${f}:${where(text, 'fw-insde')} switches[0].ports[3].role: must be equal to one of the allowed values: wan-routed, wan-circuit, fw-outside, fw-inside, dtn, perfsonar, lan, fabric`,
    );
    expect(lines).toContain(`${f}:${where(text, '5000')} circuits[0].vlan: must be <= 4094`);
    expect(lines.at(-1)).toBe(`${f}: 2 problems`);
  });

  it('consistency problems too (a DTN on a port that does not exist, a lease longer than the switch can time)', () => {
    const text = DEFAULT_SITE_YAML.replace('    port: 5\n', '    port: 9\n').replace('max-lease: 12h', 'max-lease: 1d');
    const f = file('inconsistent.yaml', text);
    const r = run(f);
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toContain(`${f}:${where(text, '9\n')} dtns[0].port: switch dmz1 has no port 9`);
    expect(lines).toContain(`${f}:${where(text, '1d')} policy.max-lease: must be at most 65535 s (18h12m): the switch-side hard timeout is 16 bits`);
    expect(lines.at(-1)).toBe(`${f}: 2 problems`);
  });

  it('a YAML syntax error: exit 1 with its line and column', () => {
    const text = 'site: x\nswitches:\n  - name: [unclosed\n';
    const r = run(file('syntax.yaml', text));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/syntax\.yaml:\d+:\d+ \(yaml\): /);
  });

  it('a file it cannot read is exit 1; no FILE or an unknown option is a usage error (exit 2)', () => {
    const missing = run(join(dir, 'nope.yaml'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/nope\.yaml: cannot read: .*ENOENT/);
    expect(run().status).toBe(2);
    expect(run().stderr).toContain('check-config needs a FILE');
    expect(run('--bogus', 'x').status).toBe(2);
  });

  it("the ./dmzgate wrapper reads a relative FILE from the caller's directory, not the repository's", () => {
    file('relative.yaml', 'site: x\n');
    const r = spawnSync('bash', [join(ROOT, 'dmzgate'), 'check-config', 'relative.yaml'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toContain("relative.yaml:1:1 (top): must have required property 'switches'");
    expect(r.status).toBe(1);
  });
});
