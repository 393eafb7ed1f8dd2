import { describe, it, expect } from 'vitest';
import { defaultSite, parseSiteConfig, SiteConfigError, parseDuration } from '../../../apps/dmz/config.js';
import { DEFAULT_SITE_YAML } from '../../../apps/dmz/default-site.js';

function problems(yaml: string): { line: number; path: string; message: string }[] {
  try {
    parseSiteConfig(yaml, 'site.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(SiteConfigError);
    return (e as SiteConfigError).problems;
  }
  throw new Error('expected the config to be refused');
}

/** The 1-based line of the first occurrence of `text` in the default site. */
const lineOf = (yaml: string, text: string) => yaml.slice(0, yaml.indexOf(text)).split('\n').length;

describe('site config', () => {
  it('the embedded default is the prototype site', () => {
    const site = defaultSite();
    expect(site.name).toBe('prototype');
    expect(site.switches[0]).toMatchObject({ name: 'dmz1', dpid: 1n });
    expect(site.switches[0]!.ports.map((p) => p.role)).toEqual(['wan-routed', 'wan-circuit', 'fw-outside', 'fw-inside', 'dtn', 'perfsonar', 'lan']);
    expect(site.dtns[0]).toMatchObject({ name: 'dtn1', port: 5, ipv4: ['10.10.1.10'], ipv6: ['fd00:10:10:1::10'] });
    expect(site.circuits[0]).toMatchObject({ name: 'esnet', vlan: 3001, trunkPort: 2 });
    expect(site.policy).toMatchObject({
      maxLeaseSeconds: 43200,
      protocols: ['tcp', 'udp'],
      ports: [
        { lo: 50000, hi: 51000 },
        { lo: 5201, hi: 5201 },
      ],
    });
  });

  it('names the line and field of shape errors, all at once', () => {
    const yaml = DEFAULT_SITE_YAML.replace('role: fw-inside', 'role: fw-insid').replace('vlan: 3001', 'vlan: 5000\n    colour: red');
    const p = problems(yaml);
    expect(p).toContainEqual(
      expect.objectContaining({
        path: 'switches[0].ports[3].role',
        line: lineOf(yaml, 'role: fw-insid'),
        message: expect.stringMatching(/allowed values/),
      }),
    );
    expect(p).toContainEqual(expect.objectContaining({ path: 'circuits[0].colour', line: lineOf(yaml, 'colour'), message: 'unknown field' }));
    expect(p).toContainEqual(expect.objectContaining({ path: 'circuits[0].vlan', line: lineOf(yaml, 'vlan: 5000') }));
  });

  it('checks references and consistency', () => {
    const wrongPort = DEFAULT_SITE_YAML.replace(/(dtns:\n {2}- name: dtn1\n {4}switch: dmz1\n {4}port:) 5/, '$1 7');
    expect(problems(wrongPort)).toContainEqual(expect.objectContaining({ path: 'dtns[0].port', message: 'port 7 of dmz1 has role lan, not dtn' }));
    const dupName = DEFAULT_SITE_YAML.replace('name: ps1', 'name: dtn1');
    expect(problems(dupName)).toContainEqual(expect.objectContaining({ path: 'perfsonar[0].name', message: expect.stringMatching(/already used/) }));
    const noFirewall = DEFAULT_SITE_YAML.replace('{ port: 3, role: fw-outside, name: firewall-outside }', '{ port: 3, role: lan, name: x }');
    expect(problems(noFirewall)).toContainEqual(
      expect.objectContaining({ path: 'switches[0].ports', message: 'needs exactly one port with role fw-outside, has 0' }),
    );
    const sameAddress = DEFAULT_SITE_YAML.replace('ipv4: [10.10.1.20]', 'ipv4: [10.10.1.10]');
    expect(problems(sameAddress)).toContainEqual(
      expect.objectContaining({ path: 'perfsonar[0].ipv4[0]', message: "address 10.10.1.10 is also dtn1's" }),
    );
    // An IPv4-mapped IPv6 address is an IPv4 host's (it sends IPv4): it belongs in ipv4, where the flows match it.
    const mapped = DEFAULT_SITE_YAML.replace('ipv6: ["fd00:10:10:1::20"]', 'ipv6: ["::ffff:10.10.1.21"]');
    expect(problems(mapped)).toContainEqual(
      expect.objectContaining({ path: 'perfsonar[0].ipv6[0]', message: 'address ::ffff:10.10.1.21 is IPv4-mapped: list 10.10.1.21 under ipv4' }),
    );
    // A zone id names an interface of one host: no address for a site's config (node:net's isIPv6 took it).
    const zoned = DEFAULT_SITE_YAML.replace('ipv6: ["fd00:10:10:1::20"]', 'ipv6: ["fe80::20%eth0"]');
    expect(problems(zoned)).toContainEqual(expect.objectContaining({ path: 'perfsonar[0].ipv6[0]', message: 'must match format "ipv6"' }));
    const badTrunk = DEFAULT_SITE_YAML.replace('trunk-port: 2', 'trunk-port: 1');
    expect(problems(badTrunk)).toContainEqual(
      expect.objectContaining({ path: 'circuits[0].trunk-port', message: 'port 1 of dmz1 is not a wan-circuit port' }),
    );
  });

  it('refuses a maximum lease the switch cannot enforce, and bad YAML', () => {
    expect(problems(DEFAULT_SITE_YAML.replace('max-lease: 12h', 'max-lease: 1d'))).toContainEqual(
      expect.objectContaining({ path: 'policy.max-lease', message: expect.stringMatching(/65535/) }),
    );
    expect(problems('site: x\nswitches: [\n')[0]).toMatchObject({ path: '(yaml)', line: expect.any(Number) });
  });

  it('parses durations', () => {
    expect([parseDuration('90'), parseDuration('30m'), parseDuration('12h'), parseDuration('1d'), parseDuration(5)]).toEqual([
      90, 1800, 43200, 86400, 5,
    ]);
    expect(() => parseDuration('2w')).toThrow();
  });
});
