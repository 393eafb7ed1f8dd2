// IPv4/IPv6 prefixes as the DMZ app uses them: parse "10.2.0.0/16" or "fd00::/48", test containment and
// overlap, and turn a prefix into an OXM value/mask pair. Every address the API or the config accepts goes through
// parsePrefix, so an IPv4-mapped IPv6 spelling (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) is read as the IPv4 it names
// once, here: on the wire an IPv4 host sends IPv4 packets, which IPv6 flows never match. The address text itself
// is read and written by the codec's parser and printer (controller/openflow/addr.ts), the project's only ones.
import { parseIpv4, ipv4ToString, ipv6ToBytes, ipv6ToString } from '../../controller/openflow/addr.js';

export interface Prefix {
  family: 4 | 6;
  /** Network address bits as a bigint (32 or 128 bits wide), host bits cleared. */
  bits: bigint;
  len: number;
  text: string;
}

/** Scratch bytes of the address being read or written (16: room for IPv6). */
const addrBytes = new Uint8Array(16);

/** Reads `addr` of `family` into addrBytes; false if it is not one. */
function readAddress(addr: string, family: 4 | 6): boolean {
  if (family === 4) return parseIpv4(addr, 0, addr.length, addrBytes, 0);
  try {
    ipv6ToBytes(addr, addrBytes, 0);
    return true;
  } catch {
    return false;
  }
}

/** The address `addr` of `family` as a bigint (32 or 128 bits). */
function toBigInt(addr: string, family: 4 | 6): bigint {
  if (!readAddress(addr, family)) throw new Error(`invalid address ${JSON.stringify(addr)}`);
  let v = 0n;
  for (let i = 0; i < (family === 4 ? 4 : 16); i++) v = (v << 8n) | BigInt(addrBytes[i]!);
  return v;
}

function fromBigInt(v: bigint, family: 4 | 6): string {
  const n = family === 4 ? 4 : 16;
  for (let i = n - 1; i >= 0; i--, v >>= 8n) addrBytes[i] = Number(v & 0xffn);
  return family === 4 ? ipv4ToString(addrBytes, 0) : ipv6ToString(addrBytes, 0);
}

/** Whether `text` is one address of `family` (no prefix length, no zone id). */
export function isAddress(text: string, family: 4 | 6): boolean {
  return typeof text === 'string' && readAddress(text, family);
}

/**
 * Parsed prefixes by their text: each lease request parses the same texts several times (its remote for the
 * token check, the overlap check and its flows; the token's prefixes; the site's inside addresses). The parsed
 * objects are shared: treat them as read-only. Bounded: cleared when full.
 */
const parsed = new Map<string, Prefix>();
const PARSED_MAX = 10_000;

/** Parses an address or prefix; a bare address is a host prefix (/32 or /128). Throws on anything else. */
export function parsePrefix(text: string): Prefix {
  let p = parsed.get(text);
  if (p === undefined) {
    // IPv4 in its usual spelling is parsed by a scan of its characters (the general way splits, tests a regex
    // and builds strings and bigints, ~3 KB of garbage). An IPv4 host address is not cached: it is most often
    // a lease's remote, a new one per lease, which would hold a cache entry long after its request (and be
    // copied by every scavenge meanwhile), while parsing it again costs about what the entry would.
    const v4 = typeof text === 'string' ? parseIpv4Prefix(text) : undefined;
    if (v4 !== undefined && v4.len === 32) return v4;
    p = v4 ?? Object.freeze(parsePrefixNow(text));
    if (parsed.size >= PARSED_MAX) parsed.clear();
    parsed.set(text, p);
  }
  return p;
}

/**
 * `a.b.c.d` or `a.b.c.d/len` with decimal octets 0-255 without leading zeros and a length 0-32 of one or two
 * digits without a leading zero, as a Prefix equal to what parsePrefixNow makes of it; undefined for anything
 * else (which parsePrefixNow then accepts or refuses with its own message).
 */
function parseIpv4Prefix(text: string): Prefix | undefined {
  const n = text.length;
  const slashAt = text.indexOf('/');
  let i = slashAt < 0 ? n : slashAt;
  if (!parseIpv4(text, 0, i, addrBytes, 0)) return undefined;
  const addr = addrBytes[0]! * 0x1000000 + ((addrBytes[1]! << 16) | (addrBytes[2]! << 8) | addrBytes[3]!);
  let len = 32;
  const slash = i < n;
  if (slash) {
    const start = ++i;
    len = 0;
    while (i < n && i - start < 2) {
      const c = text.charCodeAt(i) - 0x30;
      if (c < 0 || c > 9) return undefined;
      len = len * 10 + c;
      i++;
    }
    const digits = i - start;
    if (i < n || digits === 0 || (digits > 1 && text.charCodeAt(start) === 0x30) || len > 32) return undefined;
  }
  // The network address: host bits cleared (in doubles, exactly: addr < 2 ** 32).
  const net = len === 0 ? 0 : addr - (addr % 2 ** (32 - len));
  // The canonical text is the input's (with /32 added to a bare address) unless host bits were set.
  let out: string;
  if (net === addr) out = slash ? text : `${text}/32`;
  else out = `${fromBigInt(BigInt(net), 4)}/${len}`;
  return Object.freeze({ family: 4, bits: BigInt(net), len, text: out });
}

function parsePrefixNow(text: string): Prefix {
  const [addr, lenText, extra] = String(text).split('/');
  if (extra !== undefined || !addr) throw new Error(`invalid prefix ${JSON.stringify(text)}`);
  const family = addr.includes(':') ? 6 : 4;
  const full = toBigInt(addr, family);
  const width = family === 4 ? 32 : 128;
  const len = lenText === undefined ? width : /^\d{1,3}$/.test(lenText) ? Number(lenText) : NaN;
  if (!(len >= 0 && len <= width)) throw new Error(`invalid prefix length in ${JSON.stringify(text)}`);
  const mask = len === 0 ? 0n : ((1n << BigInt(len)) - 1n) << BigInt(width - len);
  const bits = full & mask;
  if (family === 6 && len >= 96 && bits >> 32n === 0xffffn) {
    const v4 = bits & 0xffffffffn;
    return { family: 4, bits: v4, len: len - 96, text: `${fromBigInt(v4, 4)}/${len - 96}` };
  }
  return { family, bits, len, text: `${fromBigInt(bits, family)}/${len}` };
}

function maskBits(p: Prefix): bigint {
  const width = p.family === 4 ? 32 : 128;
  return p.len === 0 ? 0n : ((1n << BigInt(p.len)) - 1n) << BigInt(width - p.len);
}

/** True when `inner` lies wholly inside `outer`. */
export function prefixWithin(inner: Prefix, outer: Prefix): boolean {
  return inner.family === outer.family && inner.len >= outer.len && (inner.bits & maskBits(outer)) === outer.bits;
}

export function prefixesOverlap(a: Prefix, b: Prefix): boolean {
  return prefixWithin(a, b) || prefixWithin(b, a);
}

export function addressIn(addr: string, p: Prefix): boolean {
  try {
    return prefixWithin(parsePrefix(addr), p);
  } catch {
    return false;
  }
}

/** The prefix as an OXM value and mask (no mask for a host prefix). */
export function prefixToOxm(p: Prefix): { value: string; mask?: string } {
  const width = p.family === 4 ? 32 : 128;
  const value = fromBigInt(p.bits, p.family);
  if (p.len === width) return { value };
  return { value, mask: fromBigInt(maskBits(p), p.family) };
}

/**
 * Special-purpose ranges (RFC 6890) that are never a transfer's remote end: this-network, loopback, link-local,
 * multicast and the reserved block (with the limited broadcast), and their IPv6 counterparts.
 */
const SPECIAL_USE: readonly { prefix: Prefix; name: string }[] = [
  ['0.0.0.0/8', 'this network'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fe80::/10', 'link-local'],
  ['ff00::/8', 'multicast'],
].map(([text, name]) => ({ prefix: parsePrefixNow(text!), name: name! }));

/** The first special-purpose range `p` lies in or covers (with its name), or undefined. */
export function specialUse(p: Prefix): { text: string; name: string } | undefined {
  const hit = SPECIAL_USE.find((s) => prefixesOverlap(p, s.prefix));
  return hit && { text: hit.prefix.text, name: hit.name };
}
