// Which blocks are a site-wide decision: a drop on a default route or a very wide prefix blacks out much of the
// Internet for every DTN, and one covering the site's own inside hosts (DTNs, perfSONAR nodes, LAN hosts) cuts
// them off. The API lets only admin tokens make (or remove) such blocks.
import { parsePrefix, prefixWithin, type Prefix } from './addresses.js';
import { insideHosts, type Site } from './site.js';

/** The shortest prefix length a non-admin block may have, per family (a large organisation's allocation). */
export const NARROWEST_WIDE_BLOCK = { 4: 16, 6: 32 } as const;

const insideOf = new WeakMap<Site, { host: string; text: string; prefix: Prefix }[]>();

function insideAddresses(site: Site): { host: string; text: string; prefix: Prefix }[] {
  let list = insideOf.get(site);
  if (list === undefined) {
    list = insideHosts(site).flatMap((h) => [...h.ipv4, ...h.ipv6].map((a) => ({ host: h.name, text: a, prefix: parsePrefix(a) })));
    insideOf.set(site, list);
  }
  return list;
}

/** Why a block on `p` is a site-wide decision (the sentence a refusal gives), or undefined if it is not one. */
export function siteWideBlock(site: Site, p: Prefix): string | undefined {
  if (p.len === 0) return `${p.text} is a default route: blocking it drops all IPv${p.family} traffic of the site`;
  for (const a of insideAddresses(site)) {
    if (prefixWithin(a.prefix, p)) return `${p.text} covers ${a.host}'s address ${a.text}, one of the site's own inside hosts`;
  }
  const widest = NARROWEST_WIDE_BLOCK[p.family];
  if (p.len < widest) return `${p.text} is wider than /${widest}, the widest IPv${p.family} prefix a non-admin token may block`;
  return undefined;
}
