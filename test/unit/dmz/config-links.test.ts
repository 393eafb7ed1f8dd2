// The links: section of the site config: each end a fabric port of a site switch, no port in two links, errors
// at the line and column of the end at fault.
import { describe, it, expect } from 'vitest';
import { parseSiteConfig, SiteConfigError } from '../../../apps/dmz/config.js';
import { fabricSiteYaml } from '../../helpers/fabric-site.js';

function problems(yaml: string): { line: number; column: number; path: string; message: string }[] {
  try {
    parseSiteConfig(yaml, 'site.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(SiteConfigError);
    return (e as SiteConfigError).problems;
  }
  throw new Error('expected the config to be refused');
}

const lineOf = (yaml: string, text: string) => yaml.slice(0, yaml.indexOf(text)).split('\n').length;

describe('site config links', () => {
  it('parses a link between fabric ports, with its capacity and a default cost of 1', () => {
    const site = parseSiteConfig(
      fabricSiteYaml(['  - { a: "dmz1:5", b: "core1:5", capacity-mbps: 10000 }', '  - { a: "dmz1:6", b: "core1:6", capacity-mbps: 40000, cost: 5 }']),
    );
    expect(site.links).toEqual([
      { name: 'dmz1:5-core1:5', a: { switch: 'dmz1', port: 5 }, b: { switch: 'core1', port: 5 }, capacityMbps: 10000, cost: 1 },
      { name: 'dmz1:6-core1:6', a: { switch: 'dmz1', port: 6 }, b: { switch: 'core1', port: 6 }, capacityMbps: 40000, cost: 5 },
    ]);
    expect(parseSiteConfig(fabricSiteYaml([])).links).toEqual([]);
  });

  it('refuses unknown switches and ports, non-fabric ports, a port in two links and a link within one switch', () => {
    const yaml = fabricSiteYaml([
      '  - { a: "dmz9:5", b: "core1:5", capacity-mbps: 1 }',
      '  - { a: "dmz1:9", b: "core1:4", capacity-mbps: 1 }',
      '  - { a: "dmz1:5", b: "core1:5", capacity-mbps: 1 }',
      '  - { a: "dmz1:6", b: "core1:5", capacity-mbps: 1 }',
      '  - { a: "dmz1:6", b: "dmz1:5", capacity-mbps: 1 }',
    ]);
    const p = problems(yaml);
    expect(p).toContainEqual(expect.objectContaining({ path: 'links[0].a', line: lineOf(yaml, '"dmz9:5"'), message: 'no switch named dmz9' }));
    expect(p).toContainEqual(expect.objectContaining({ path: 'links[1].a', message: 'switch dmz1 has no port 9' }));
    expect(p).toContainEqual(expect.objectContaining({ path: 'links[1].b', message: 'port 4 of core1 has role dtn, not fabric' }));
    expect(p).toContainEqual(expect.objectContaining({ path: 'links[3].b', message: 'core1:5 is already an end of links[2]' }));
    expect(p).toContainEqual(expect.objectContaining({ path: 'links[4].b', message: 'dmz1:5 is already an end of links[2]' }));
    expect(p.find((x) => x.path === 'links[0].a')!.column).toBeGreaterThan(1);
  });

  it('checks the shape: SWITCH:PORT ends, a capacity', () => {
    const yaml = fabricSiteYaml(['  - { a: "dmz1-5", b: "core1:5" }']);
    const p = problems(yaml);
    expect(p).toContainEqual(expect.objectContaining({ path: 'links[0].a', message: expect.stringMatching(/pattern/) }));
    expect(p).toContainEqual(expect.objectContaining({ path: 'links[0]', message: expect.stringMatching(/capacity-mbps/) }));
  });

  it('refuses a link whose both ends are on one switch', () => {
    const p = problems(fabricSiteYaml(['  - { a: "dmz1:5", b: "dmz1:6", capacity-mbps: 1 }']));
    expect(p).toContainEqual(expect.objectContaining({ path: 'links[0]', message: 'a link joins two switches; both ends are on dmz1' }));
  });
});
