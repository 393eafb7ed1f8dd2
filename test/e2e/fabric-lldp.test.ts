/**
 * Issue 18, LLDP on a fabric, end to end: the supercomputer lab (border1, core1, leaf1 on a private Open vSwitch;
 * links border1:5-core1:1, core1:2-leaf1:1 and border1:6-leaf1:2) runs against the built `dmzgate controller`,
 * whose LLDP discovery must find every configured link: GET /api/v1/topology shows each seen and up. Then the
 * cable on core1:1 is re-plugged on core1:11: that link is flagged miscabled (and the cable as it is, a seen link
 * the config does not have), never up; plugged back, it is up again.
 *
 * Also: the three fabric topologies' site configs (mininet/sitegen.py) carry links, clusters and
 * policy.backup-paths as the fabric schema names them, and are valid as generated. About 20 s.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseSiteConfig } from '../../apps/dmz/config.js';
import { checkBuild, ROOT, until } from '../../lab/dmzgate-process.js';
import { DmzLab } from '../../lab/dmz-lab.js';

const sitegen = (...args: string[]): string => execFileSync('/usr/bin/python3', [join(ROOT, 'mininet', 'sitegen.py'), ...args], { encoding: 'utf8' });

describe('fabric lab site configs (mininet/sitegen.py)', () => {
  const topologies = {
    supercomputer: { links: ['border1:5-core1:1', 'core1:2-leaf1:1', 'border1:6-leaf1:2'], clusters: undefined, backup: true },
    datasite: {
      links: ['border1:5-dmz1:5', 'border1:6-dmz1:6'],
      clusters: [{ name: 'dtc1', members: ['dtn1', 'dtn2', 'dtn3', 'dtn4'] }],
      backup: true,
    },
    distributed: { links: ['dmz1:8-bldg1:1'], clusters: undefined, backup: false },
  };
  for (const [topo, want] of Object.entries(topologies))
    it(`${topo}: links, clusters and policy.backup-paths; the config is valid`, () => {
      const text = sitegen('--topo', topo);
      const raw = parse(text) as { links: { a: string; b: string }[]; clusters?: unknown; policy: Record<string, unknown> };
      expect(raw.links.map((l) => `${l.a}-${l.b}`)).toEqual(want.links);
      expect(raw.clusters).toEqual(want.clusters);
      expect(raw.policy['backup-paths']).toBe(want.backup);
      const site = parseSiteConfig(text, topo);
      expect(site.links.map((l) => l.name)).toEqual(want.links);
      expect(site.clusters.map((c) => c.name)).toEqual((want.clusters ?? []).map((c) => c.name));
      expect(site.policy.backupPaths).toBe(want.backup);
    });
});

interface TopologyLink {
  name: string;
  configured: boolean;
  seen: boolean;
  up: boolean;
  state: string;
  seen_instead?: { a: { switch?: string; port: number }; b: { switch?: string; port: number } }[];
}

const LINKS = ['border1:5-core1:1', 'core1:2-leaf1:1', 'border1:6-leaf1:2'];

describe('LLDP on the supercomputer fabric lab', () => {
  let d: DmzLab;
  const links = async (): Promise<TopologyLink[]> => {
    const r = await d.request<{ links: TopologyLink[] }>('GET', '/api/v1/topology', d.adminToken);
    expect(r.status).toBe(200);
    return r.body.links;
  };
  const stateOf = async (name: string) => (await links()).find((l) => l.name === name)?.state;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the lab needs root (namespaces, veths, OVS)');
    checkBuild();
    d = await DmzLab.start({ topo: 'supercomputer', rtt: 10, loss: '0' });
  }, 150_000);
  afterAll(async () => {
    await d?.stop();
  }, 90_000);

  it('finds every configured link, each seen both ways and up; no link the config does not have', async () => {
    expect(d.lab.info.links).toEqual(LINKS);
    await until('every configured link up', async () => (await links()).filter((l) => l.up).length === LINKS.length, 15_000);
    const all = await links();
    expect(all.map((l) => [l.name, l.state, l.seen])).toEqual(LINKS.map((n) => [n, 'up', true]));
  }, 30_000);

  it('flags a cable moved to another port as miscabled, never up; back in place, the link is up again', async () => {
    await d.lab.recable('core1', 1, 11);
    await until('border1:5-core1:1 miscabled', async () => (await stateOf('border1:5-core1:1')) === 'miscabled', 15_000);
    const all = await links();
    expect(all.find((l) => l.name === 'border1:5-core1:1')).toMatchObject({
      up: false,
      seen: false,
      seen_instead: [{ a: { switch: 'border1', port: 5 }, b: { switch: 'core1', port: 11 } }],
    });
    expect(all.find((l) => l.name === 'seen:border1:5-core1:11')).toMatchObject({ configured: false, up: false, state: 'miscabled' });
    expect(all.filter((l) => l.up).map((l) => l.name)).toEqual(LINKS.slice(1));
    const log = d.logLines.filter((l) => String(l.msg).startsWith('miscabled link'));
    expect(log.map((l) => l.link).sort()).toEqual(['border1:5-core1:1', 'seen:border1:5-core1:11']);

    await d.lab.recable('core1', 11, 1);
    await until('border1:5-core1:1 up again', async () => (await stateOf('border1:5-core1:1')) === 'up', 15_000);
    expect((await links()).map((l) => [l.name, l.state])).toEqual(LINKS.map((n) => [n, 'up']));
  }, 45_000);
});
