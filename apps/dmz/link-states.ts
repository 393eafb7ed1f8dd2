// The site's links as configured beside the links LLDP sees: a pure comparison. A configured link is `up` only
// when frames cross it both ways between exactly its two ports; every difference is an alarm state, and a link
// seen but not configured is listed (never used):
//
//   up          configured, seen both ways as configured
//   pending     configured, not seen yet, its switches not both connected for the grace time (no alarm: a
//               switch that is not connected is its own alarm, switch.down)
//   down        configured, was up, lost since (LLDP silent, a port down, a switch gone)
//   missing     configured, not seen though both its switches have been connected for the grace time
//   miscabled   a configured link's port hears another port than its configured peer, or is heard by one (both
//               the configured link and the seen link carry this state)
//   unexpected  seen, touching no configured link's port
import type { DiscoveredLink, LinkEndpoint } from '../../controller/lldp-discovery.js';
import type { Site, SiteLink } from './site.js';

export type LinkState = 'up' | 'pending' | 'down' | 'missing' | 'miscabled' | 'unexpected';

/**
 * Whether a port gets LLDP probes: a fabric port, or one the site config does not name (where an unplanned cable
 * would show). Never a port facing the WAN, a circuit, the firewall or a host: our frames stay inside the site.
 */
export function probesPort(site: Site, dpid: bigint, portNo: number): boolean {
  const sw = site.switches.find((s) => s.dpid === dpid);
  const role = sw?.ports.find((p) => p.portNo === portNo)?.role;
  return sw !== undefined && (role === undefined || role === 'fabric');
}
export const LINK_STATES: readonly LinkState[] = ['up', 'pending', 'down', 'missing', 'miscabled', 'unexpected'];

export interface LinkEndView {
  /** The switch's name in the site config, if it is a site switch. */
  switch?: string;
  dpid: bigint;
  port: number;
}

export interface LinkStatus {
  /** The configured link's name (`SWITCH:PORT-SWITCH:PORT`), or `seen:` and the seen ends for one not configured. */
  name: string;
  a: LinkEndView;
  b: LinkEndView;
  configured: boolean;
  /** LLDP frames cross it (both ways as configured for a configured link; either way for another). */
  seen: boolean;
  /** Usable: configured and seen. */
  up: boolean;
  state: LinkState;
  /** For a miscabled configured link: the ports its ends hear, or are heard by, instead of each other. */
  seenInstead?: { a: LinkEndView; b: LinkEndView }[];
  capacityMbps?: number;
  cost?: number;
}

export interface LinkContext {
  /** Datapaths connected now, with the time each connected (ms). */
  connectedSince: Map<bigint, number>;
  /** Configured links that have been up since the controller started (by name): unseen, they are `down`. */
  everUp: Set<string>;
  now: number;
  /** How long both switches of a configured link are connected before its absence is an alarm. */
  graceMs: number;
}

const endKey = (e: { dpid: bigint; port: number }): string => `${e.dpid}:${e.port}`;

/** Compares the configured links of a site with the directed links LLDP sees now. */
export function compareLinks(site: Site, seen: readonly DiscoveredLink[], ctx: LinkContext): LinkStatus[] {
  const dpidOf = new Map(site.switches.map((s) => [s.name, s.dpid]));
  const nameOf = new Map(site.switches.map((s) => [s.dpid, s.name]));
  const view = (e: LinkEndpoint): LinkEndView => {
    const name = nameOf.get(e.dpid);
    return name === undefined ? { dpid: e.dpid, port: e.port } : { switch: name, dpid: e.dpid, port: e.port };
  };
  const configuredEnd = (l: SiteLink, side: 'a' | 'b'): LinkEndpoint => ({ dpid: dpidOf.get(l[side].switch)!, port: l[side].port });

  // Each seen link indexed by its directed key and by both of its ends: one pass, so that a fabric of hundreds
  // of links compares in time linear in the links, not their product.
  const seenBy = new Map<string, DiscoveredLink>();
  const touching = new Map<string, DiscoveredLink[]>();
  const order = new Map(seen.map((s, i) => [s, i]));
  for (const s of seen) {
    const src = endKey(s.src);
    const dst = endKey(s.dst);
    seenBy.set(`${src}>${dst}`, s);
    for (const k of src === dst ? [src] : [src, dst]) {
      const at = touching.get(k);
      if (at) at.push(s);
      else touching.set(k, [s]);
    }
  }
  const configuredEnds = new Map<string, SiteLink>();
  for (const l of site.links) for (const side of ['a', 'b'] as const) configuredEnds.set(endKey(configuredEnd(l, side)), l);

  const out: LinkStatus[] = [];
  const matched = new Set<DiscoveredLink>();
  for (const l of site.links) {
    const a = configuredEnd(l, 'a');
    const b = configuredEnd(l, 'b');
    const ab = seenBy.get(`${endKey(a)}>${endKey(b)}`);
    const ba = seenBy.get(`${endKey(b)}>${endKey(a)}`);
    if (ab) matched.add(ab);
    if (ba) matched.add(ba);
    // Seen links with one end on this link's ports and the other end elsewhere, in the order they were seen.
    const near = new Set([...(touching.get(endKey(a)) ?? []), ...(touching.get(endKey(b)) ?? [])]);
    near.delete(ab!);
    near.delete(ba!);
    const instead = [...near].sort((x, y) => order.get(x)! - order.get(y)!);
    let state: LinkState;
    if (ab && ba) state = 'up';
    else if (instead.length) state = 'miscabled';
    else if (ctx.everUp.has(l.name)) state = 'down';
    else {
      const since = Math.max(ctx.connectedSince.get(a.dpid) ?? Infinity, ctx.connectedSince.get(b.dpid) ?? Infinity);
      state = ctx.now - since >= ctx.graceMs ? 'missing' : 'pending';
    }
    out.push({
      name: l.name,
      a: view(a),
      b: view(b),
      configured: true,
      seen: !!(ab && ba),
      up: state === 'up',
      state,
      ...(state === 'miscabled' ? { seenInstead: undirected(instead).map(([x, y]) => ({ a: view(x), b: view(y) })) } : {}),
      capacityMbps: l.capacityMbps,
      cost: l.cost,
    });
  }
  for (const [p, q] of undirected(seen.filter((s) => !matched.has(s)))) {
    const touches = configuredEnds.has(endKey(p)) || configuredEnds.has(endKey(q));
    out.push({
      name: `seen:${nameOf.get(p.dpid) ?? p.dpid.toString(16)}:${p.port}-${nameOf.get(q.dpid) ?? q.dpid.toString(16)}:${q.port}`,
      a: view(p),
      b: view(q),
      configured: false,
      seen: true,
      up: false,
      state: touches ? 'miscabled' : 'unexpected',
    });
  }
  return out;
}

/** Directed links folded into pairs of ends, lower datapath (then port) first: a cable seen both ways is one pair. */
function undirected(links: readonly DiscoveredLink[]): [LinkEndpoint, LinkEndpoint][] {
  const pairs = new Map<string, [LinkEndpoint, LinkEndpoint]>();
  for (const l of links) {
    const pair: [LinkEndpoint, LinkEndpoint] = before(l.src, l.dst) ? [l.src, l.dst] : [l.dst, l.src];
    pairs.set(`${endKey(pair[0])}|${endKey(pair[1])}`, pair);
  }
  return [...pairs.values()];
}

const before = (x: LinkEndpoint, y: LinkEndpoint): boolean => x.dpid < y.dpid || (x.dpid === y.dpid && x.port < y.port);
