// The benchmark fabric's shape: every port of every switch carries exactly one cable, leaves spread over spines.
import { describe, expect, it } from 'vitest';
import { leafSpine, planSiteYaml } from '../../../bench/fabric-plan.js';
import { parseSiteConfig } from '../../../apps/dmz/config.js';

describe('leafSpine', () => {
  it('100 switches, 192 cables, each port in exactly one cable and each leaf on distinct spines', () => {
    const p = leafSpine(4, 96, 2);
    expect(p.switches).toHaveLength(100);
    expect(p.cables).toHaveLength(192);
    const ends = p.cables.flatMap(([a, pa, b, pb]) => [`${a}:${pa}`, `${b}:${pb}`]);
    expect(new Set(ends).size).toBe(ends.length);
    const ports = p.switches.flatMap((s) => Array.from({ length: s.ports }, (_, i) => `${s.dpid}:${i + 1}`));
    expect(new Set(ends)).toEqual(new Set(ports));
    expect(p.switches.slice(0, 4).map((s) => s.ports)).toEqual([48, 48, 48, 48]);
    for (let leaf = 5n; leaf <= 100n; leaf++) {
      const spines = p.cables.filter(([a]) => a === leaf).map(([, , b]) => b);
      expect(new Set(spines).size).toBe(2);
    }
  });

  it('refuses more uplinks than spines', () => {
    expect(() => leafSpine(2, 4, 3)).toThrow(/uplinks <= spines/);
  });

  it('as a site config: every cable a configured link between fabric ports', () => {
    const site = parseSiteConfig(planSiteYaml(leafSpine(2, 3, 2)));
    expect(site.switches.map((s) => s.name)).toEqual(['sw1', 'sw2', 'sw3', 'sw4', 'sw5']);
    expect(site.links.map((l) => l.name)).toEqual(['sw3:1-sw1:1', 'sw3:2-sw2:1', 'sw4:1-sw1:2', 'sw4:2-sw2:2', 'sw5:1-sw1:3', 'sw5:2-sw2:3']);
  });
});
