// compareLinks, the pure comparison: states from the seen links, the switches' connection times and the links
// that have been up, without switches.
import { describe, expect, it } from 'vitest';
import { parseSiteConfig } from '../../../apps/dmz/config.js';
import { compareLinks, probesPort, type LinkContext } from '../../../apps/dmz/link-states.js';
import type { DiscoveredLink } from '../../../controller/lldp-discovery.js';
import { fabricSiteYaml } from '../../helpers/fabric-site.js';

const site = parseSiteConfig(fabricSiteYaml());
const NAME = 'dmz1:5-core1:5';
const seen = (a: [bigint, number], b: [bigint, number]): DiscoveredLink => ({
  src: { dpid: a[0], port: a[1] },
  dst: { dpid: b[0], port: b[1] },
  firstSeen: 0,
  lastSeen: 0,
});
const ctx = (over: Partial<LinkContext> = {}): LinkContext => ({
  connectedSince: new Map([
    [1n, 0],
    [2n, 0],
  ]),
  everUp: new Set(),
  now: 10_000,
  graceMs: 3000,
  ...over,
});
const stateOf = (links: DiscoveredLink[], c: LinkContext) => compareLinks(site, links, c).find((l) => l.name === NAME)!.state;

describe('compareLinks', () => {
  it('up needs both directions; one direction alone is not up', () => {
    expect(stateOf([seen([1n, 5], [2n, 5]), seen([2n, 5], [1n, 5])], ctx())).toBe('up');
    expect(stateOf([seen([1n, 5], [2n, 5])], ctx())).toBe('missing');
  });

  it('not seen: pending while a switch is not connected or within the grace time, then missing; down once it was up', () => {
    expect(stateOf([], ctx({ connectedSince: new Map([[1n, 0]]) }))).toBe('pending');
    expect(
      stateOf(
        [],
        ctx({
          connectedSince: new Map([
            [1n, 0],
            [2n, 8000],
          ]),
        }),
      ),
    ).toBe('pending');
    expect(
      stateOf(
        [],
        ctx({
          connectedSince: new Map([
            [1n, 0],
            [2n, 7000],
          ]),
        }),
      ),
    ).toBe('missing');
    expect(stateOf([], ctx({ everUp: new Set([NAME]) }))).toBe('down');
  });

  it('a frame from another port on a configured port is miscabled, even while the right one is half seen', () => {
    const links = [seen([1n, 5], [2n, 5]), seen([2n, 6], [1n, 5])];
    const out = compareLinks(site, links, ctx());
    expect(out.find((l) => l.name === NAME)).toMatchObject({
      state: 'miscabled',
      seenInstead: [{ a: { dpid: 1n, port: 5 }, b: { dpid: 2n, port: 6 } }],
    });
    expect(out.find((l) => !l.configured)).toMatchObject({ name: 'seen:dmz1:5-core1:6', state: 'miscabled' });
  });

  it('a link to a switch the site does not know is unexpected, named by its datapath id', () => {
    const out = compareLinks(site, [seen([1n, 6], [0xabn, 2])], ctx());
    expect(out.find((l) => !l.configured)).toMatchObject({ name: 'seen:dmz1:6-ab:2', state: 'unexpected', b: { dpid: 0xabn, port: 2 } });
    expect(out.find((l) => !l.configured)!.b.switch).toBeUndefined();
  });
});

describe('probesPort', () => {
  it('probes fabric ports and ports the config does not name; never the WAN, firewall or host ports', () => {
    expect([5, 6, 7].map((p) => probesPort(site, 1n, p))).toEqual([true, true, true]);
    expect([1, 2, 3, 4].map((p) => probesPort(site, 1n, p))).toEqual([false, false, false, false]);
    expect(probesPort(site, 99n, 5)).toBe(false);
  });
});
