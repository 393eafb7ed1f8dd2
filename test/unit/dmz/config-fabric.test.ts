// The site config of a fabric: the WAN and firewall ports on any switch of the site (not on every switch), DTN
// clusters, policy.backup-paths, and a fabric whose switches all reach each other; standalone switches as before.
import { describe, it, expect } from 'vitest';
import { parseSiteConfig, SiteConfigError, defaultSite } from '../../../apps/dmz/config.js';
import { baseFlows } from '../../../apps/dmz/pipeline.js';
import { standaloneSwitches } from '../../../apps/dmz/site.js';
import { fabricSiteYaml } from '../../helpers/fabric-site.js';
import { datasiteYaml, supercomputerYaml, twoEntriesYaml } from '../../helpers/science-dmz-fabrics.js';

function problems(yaml: string): { path: string; message: string }[] {
  try {
    parseSiteConfig(yaml, 'site.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(SiteConfigError);
    return (e as SiteConfigError).problems;
  }
  throw new Error('expected the config to be refused');
}

describe('site config of a fabric', () => {
  it('takes one firewall and the WAN on the border only, clusters and backup-paths', () => {
    const site = parseSiteConfig(supercomputerYaml('  backup-paths: true\n'));
    expect(standaloneSwitches(site)).toBe(false);
    expect(site.clusters).toEqual([{ name: 'dtns', members: ['dtn1', 'dtn2'] }]);
    expect(site.policy.backupPaths).toBe(true);
    expect(parseSiteConfig(supercomputerYaml()).policy.backupPaths).toBe(false);
  });

  it('keeps configs where every switch has its own WAN and firewall ports as they were', () => {
    expect(standaloneSwitches(defaultSite())).toBe(true);
    const two = parseSiteConfig(fabricSiteYaml());
    expect(standaloneSwitches(two)).toBe(true);
    expect(two.clusters).toEqual([]);
    // No fabric VLAN in a standalone switch's flows: the one-switch pipeline.
    expect(JSON.stringify(baseFlows(two, two.switches[1]!), (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).not.toContain('vlan_vid');
  });

  it('refuses a second firewall leg, a site without one, a fabric in pieces, and a cluster of unknown DTNs', () => {
    const twoFirewalls = supercomputerYaml().replace(
      '      - { port: 10, role: fabric }\n      - { port: 11, role: fabric }\n  - name: leaf',
      '      - { port: 10, role: fabric }\n      - { port: 11, role: fabric }\n      - { port: 12, role: fw-outside }\n  - name: leaf',
    );
    expect(problems(twoFirewalls)).toContainEqual(
      expect.objectContaining({ path: 'switches', message: expect.stringMatching(/^the site needs exactly one port with role fw-outside, has 2/) }),
    );
    const noWan = supercomputerYaml().replace('{ port: 1, role: wan-routed }', '{ port: 1, role: fabric }');
    expect(problems(noWan)).toContainEqual(
      expect.objectContaining({ path: 'switches', message: expect.stringMatching(/^the site needs at least one port with role wan-routed, has 0/) }),
    );
    const cut = supercomputerYaml()
      .replace('  - { a: "core:11", b: "leaf:10", capacity-mbps: 10000 }\n', '')
      .replace('  - { a: "leaf:11", b: "border:12", capacity-mbps: 1000, cost: 5 }\n', '');
    expect(problems(cut)).toContainEqual({
      line: expect.any(Number),
      column: expect.any(Number),
      path: 'links',
      message: 'the fabric is not connected: no path of links from border to leaf',
    });
    const badCluster = supercomputerYaml().replace('members: [dtn1, dtn2]', 'members: [dtn1, dtn9]');
    expect(problems(badCluster)).toContainEqual(expect.objectContaining({ path: 'clusters[0].members[1]', message: 'no DTN named dtn9' }));
    const clash = supercomputerYaml().replace('{ name: dtns, members', '{ name: dtn2, members');
    expect(problems(clash)).toContainEqual(expect.objectContaining({ path: 'clusters[0].name', message: expect.stringMatching(/already used/) }));
  });

  it("takes a wan-routed port's router-mac (lower-cased) and refuses it on any other role", () => {
    const site = parseSiteConfig(
      twoEntriesYaml().replace('{ port: 1, role: wan-routed }', '{ port: 1, role: wan-routed, router-mac: "02:00:00:00:01:AB" }'),
    );
    expect(site.switches[0]!.ports[0]).toMatchObject({ portNo: 1, role: 'wan-routed', routerMac: '02:00:00:00:01:ab' });
    expect(site.switches[1]!.ports[0]!.routerMac).toBeUndefined();
    expect(
      problems(twoEntriesYaml().replace('{ port: 2, role: fw-outside }', '{ port: 2, role: fw-outside, router-mac: "02:00:00:00:01:02" }')),
    ).toMatchObject([{ path: 'switches[0].ports[1].router-mac', message: 'router-mac is for wan-routed ports, not fw-outside' }]);
    expect(problems(twoEntriesYaml().replace('{ port: 1, role: wan-routed }', '{ port: 1, role: wan-routed, router-mac: "zz" }'))[0]!.path).toBe(
      'switches[0].ports[0].router-mac',
    );
  });

  it("takes a switch's lag-hash (the fields its parallel links hash) and refuses fields Open vSwitch does not hash", () => {
    const yaml = datasiteYaml().replace('  - name: border\n', '  - name: border\n    lag-hash: symmetric_l3l4+udp\n');
    const site = parseSiteConfig(yaml);
    expect(site.switches.map((s) => s.lagHash)).toEqual(['symmetric_l3l4+udp', undefined]);
    const bad = problems(datasiteYaml().replace('  - name: border\n', '  - name: border\n    lag-hash: tcp_flags\n'));
    expect(bad).toContainEqual(expect.objectContaining({ path: 'switches[0].lag-hash' }));
  });
});
