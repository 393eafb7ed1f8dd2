// Text forms of the addresses OXM fields carry: MAC "aa:bb:cc:dd:ee:ff", IPv4 dotted quad, IPv6 in RFC 5952
// canonical form. Decoding uses lookup tables because packet-in matches are on the hot path.
import { OfpError, OFPET, OFPBMC } from './errors.js';

const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const DEC = Array.from({ length: 256 }, (_, i) => String(i));

function badValue(what: string, text: unknown): never {
  throw new OfpError(OFPET.BAD_MATCH, OFPBMC.BAD_VALUE, `invalid ${what}: ${JSON.stringify(text)}`);
}

// Direct-mapped caches of recently formatted addresses. Packet-ins and flow stats repeat the same few hosts, and a
// hit (a compare and an array read) costs a tenth of building the string.
const CACHE_SLOTS = 1024;
const macKeyHi = new Int32Array(CACHE_SLOTS).fill(-1);
const macKeyLo = new Int32Array(CACHE_SLOTS);
const macText: string[] = new Array<string>(CACHE_SLOTS).fill('');
const v4Key = new Int32Array(CACHE_SLOTS);
const v4Valid = new Uint8Array(CACHE_SLOTS);
const v4Text: string[] = new Array<string>(CACHE_SLOTS).fill('');

export function macToString(b: Uint8Array, o: number): string {
  const hi = (b[o]! << 8) | b[o + 1]!;
  const lo = (b[o + 2]! << 24) | (b[o + 3]! << 16) | (b[o + 4]! << 8) | b[o + 5]!;
  const slot = (lo ^ (lo >>> 10) ^ (hi << 3)) & (CACHE_SLOTS - 1);
  if (macKeyHi[slot] === hi && macKeyLo[slot] === lo) return macText[slot]!;
  const text = `${HEX2[b[o]!]}:${HEX2[b[o + 1]!]}:${HEX2[b[o + 2]!]}:${HEX2[b[o + 3]!]}:${HEX2[b[o + 4]!]}:${HEX2[b[o + 5]!]}`;
  macKeyHi[slot] = hi;
  macKeyLo[slot] = lo;
  macText[slot] = text;
  return text;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

/** Parses "aa:bb:cc:dd:ee:ff" (or with '-') into `out` at `o`; hand-written because flow-mod encoding is hot. */
export function macToBytes(s: string, out: Uint8Array = new Uint8Array(6), o = 0): Uint8Array {
  if (typeof s !== 'string') badValue('MAC address', s);
  let i = 0;
  for (let k = 0; k < 6; k++) {
    let v = -1;
    let digits = 0;
    while (i < s.length && digits < 2) {
      const d = hexDigit(s.charCodeAt(i));
      if (d < 0) break;
      v = digits === 0 ? d : (v << 4) | d;
      digits++;
      i++;
    }
    if (digits === 0) badValue('MAC address', s);
    out[o + k] = v;
    if (k < 5) {
      const c = s.charCodeAt(i++);
      if (c !== 58 && c !== 45) badValue('MAC address', s);
    }
  }
  if (i !== s.length) badValue('MAC address', s);
  return out;
}

export function ipv4ToString(b: Uint8Array, o: number): string {
  const key = (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
  const slot = (key ^ (key >>> 10) ^ (key >>> 20)) & (CACHE_SLOTS - 1);
  if (v4Valid[slot] === 1 && v4Key[slot] === key) return v4Text[slot]!;
  const text = `${DEC[b[o]!]}.${DEC[b[o + 1]!]}.${DEC[b[o + 2]!]}.${DEC[b[o + 3]!]}`;
  v4Key[slot] = key;
  v4Valid[slot] = 1;
  v4Text[slot] = text;
  return text;
}

export function ipv4ToBytes(s: string, out: Uint8Array = new Uint8Array(4), o = 0): Uint8Array {
  if (typeof s !== 'string') badValue('IPv4 address', s);
  let i = 0;
  for (let k = 0; k < 4; k++) {
    let v = 0;
    let digits = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      v = v * 10 + c;
      if (++digits > 3) badValue('IPv4 address', s);
    }
    if (digits === 0 || v > 255) badValue('IPv4 address', s);
    out[o + k] = v;
    if (k < 3 && s.charCodeAt(i++) !== 46) badValue('IPv4 address', s);
  }
  if (i !== s.length) badValue('IPv4 address', s);
  return out;
}

/**
 * RFC 5952: lowercase, no leading zeros (§4.1), the longest run (>= 2) of zero groups compressed, leftmost on
 * ties (§4.2), and IPv4-mapped addresses with a dotted quad (§5), as inet_ntop (and so Ryu) writes them.
 */
export function ipv6ToString(b: Uint8Array, o: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[o + 2 * i]! << 8) | b[o + 2 * i + 1]!);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${DEC[b[o + 12]!]}.${DEC[b[o + 13]!]}.${DEC[b[o + 14]!]}.${DEC[b[o + 15]!]}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (x: number) => x.toString(16);
  if (bestStart < 0) return g.map(hex).join(':');
  const head = g.slice(0, bestStart).map(hex).join(':');
  const tail = g.slice(bestStart + bestLen).map(hex).join(':');
  return `${head}::${tail}`;
}

export function ipv6ToBytes(s: string, out: Uint8Array = new Uint8Array(16), o = 0): Uint8Array {
  if (typeof s !== 'string' || s.length > 45) badValue('IPv6 address', s);
  let text = s;
  const groups: number[] = [];
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes the last two groups.
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) >= 0) {
    const v4 = ipv4ToBytes(text.slice(lastColon + 1));
    text = `${text.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) badValue('IPv6 address', s);
  const parse = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((h) => {
      if (!/^[0-9a-fA-F]{1,4}$/.test(h)) badValue('IPv6 address', s);
      return parseInt(h, 16);
    });
  const head = parse(halves[0]!);
  if (halves.length === 2) {
    const tail = parse(halves[1]!);
    if (head.length + tail.length > 7) badValue('IPv6 address', s);
    groups.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail);
  } else {
    if (head.length !== 8) badValue('IPv6 address', s);
    groups.push(...head);
  }
  for (let i = 0; i < 8; i++) {
    out[o + 2 * i] = groups[i]! >>> 8;
    out[o + 2 * i + 1] = groups[i]! & 0xff;
  }
  return out;
}
