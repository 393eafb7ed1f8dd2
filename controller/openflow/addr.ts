// Text forms of the addresses OXM fields carry: MAC "aa:bb:cc:dd:ee:ff", IPv4 dotted quad, IPv6 in RFC 5952
// canonical form. Both directions are hand-written over char codes because packet-in decoding (text from bytes) and
// flow-mod encoding (bytes from text) are the controller's hot paths.
import { OfpError, OFPET, OFPBMC } from './errors.js';

// Formatting builds each string with one String.fromCharCode call over character codes from lookup tables:
// measured on Node 20 three to four times faster than joining or concatenating per-byte strings (which also leaves
// a chain of intermediate strings for the first reader to flatten), and faster than caching recent results, which
// a stream of packet-ins from many hosts would mostly miss anyway.

/** The two lowercase hex digits of a byte, as char codes: high digit in bits 0-7, low digit in bits 8-15. */
const HEX_CODES = new Uint16Array(256);
/** The decimal digits of a byte, as char codes in bits 0-7, 8-15, 16-23 (unused: 0), and their count in bits 24-31. */
const DEC_CODES = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  const h = i.toString(16).padStart(2, '0');
  HEX_CODES[i] = h.charCodeAt(0) | (h.charCodeAt(1) << 8);
  const d = String(i);
  let codes = d.length << 24;
  for (let k = 0; k < d.length; k++) codes |= d.charCodeAt(k) << (8 * k);
  DEC_CODES[i] = codes;
}
const fromCodes = String.fromCharCode;
const COLON = 58;
const DOT = 46;

function badValue(what: string, text: unknown): never {
  throw new OfpError(OFPET.BAD_MATCH, OFPBMC.BAD_VALUE, `invalid ${what}: ${JSON.stringify(text)}`);
}

export function macToString(b: Uint8Array, o: number): string {
  const c0 = HEX_CODES[b[o]!]!,
    c1 = HEX_CODES[b[o + 1]!]!,
    c2 = HEX_CODES[b[o + 2]!]!;
  const c3 = HEX_CODES[b[o + 3]!]!,
    c4 = HEX_CODES[b[o + 4]!]!,
    c5 = HEX_CODES[b[o + 5]!]!;
  return fromCodes(
    c0 & 0xff,
    c0 >>> 8,
    COLON,
    c1 & 0xff,
    c1 >>> 8,
    COLON,
    c2 & 0xff,
    c2 >>> 8,
    COLON,
    c3 & 0xff,
    c3 >>> 8,
    COLON,
    c4 & 0xff,
    c4 >>> 8,
    COLON,
    c5 & 0xff,
    c5 >>> 8,
  );
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

/** Value of a hex digit by char code (below 128), -1 for anything else. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE[i.toString(16).charCodeAt(0)] = i;
  HEX_VALUE[i.toString(16).toUpperCase().charCodeAt(0)] = i;
}

/**
 * Parses "aa:bb:cc:dd:ee:ff" (or with '-', or with one-digit groups) into `out` at `o`. The canonical 17-character
 * form, which is what flow-mod encoding (a hot path) sees, is read with table lookups; anything else goes the
 * general way.
 */
export function macToBytes(s: string, out: Uint8Array = new Uint8Array(6), o = 0): Uint8Array {
  if (typeof s !== 'string') badValue('MAC address', s);
  if (s.length === 17) {
    let codes = 0; // the OR of all char codes: >= 128 means a non-ASCII character, which the general path rejects
    let digits = 0; // the OR of all digit values: negative if one was not a hex digit
    let seps = 0;
    for (let k = 0; k < 6; k++) {
      const hi = s.charCodeAt(3 * k);
      const lo = s.charCodeAt(3 * k + 1);
      codes |= hi | lo;
      const h = HEX_VALUE[hi & 0x7f]!;
      const l = HEX_VALUE[lo & 0x7f]!;
      digits |= h | l;
      out[o + k] = (h << 4) | l;
      if (k < 5) {
        const c = s.charCodeAt(3 * k + 2);
        seps |= c === 58 || c === 45 ? 0 : 1;
      }
    }
    if (codes < 128 && digits >= 0 && seps === 0) return out;
  }
  return macToBytesSlow(s, out, o);
}

function macToBytesSlow(s: string, out: Uint8Array, o: number): Uint8Array {
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

/** Char codes of the dotted quad being formatted (up to 15); module scope, so formatting allocates only the string. */
const quad = new Uint8Array(16);

/** Appends the decimal digits of byte `v` to `quad` at `k`; returns the next free index. */
function putDecimal(v: number, k: number): number {
  const d = DEC_CODES[v]!;
  quad[k] = d;
  quad[k + 1] = d >>> 8;
  quad[k + 2] = d >>> 16;
  return k + (d >>> 24);
}

export function ipv4ToString(b: Uint8Array, o: number): string {
  let k = putDecimal(b[o]!, 0);
  quad[k++] = DOT;
  k = putDecimal(b[o + 1]!, k);
  quad[k++] = DOT;
  k = putDecimal(b[o + 2]!, k);
  quad[k++] = DOT;
  k = putDecimal(b[o + 3]!, k);
  const q = quad;
  // One call per length (7 to 15 characters): fromCharCode with a fixed argument count is what V8 compiles well.
  switch (k) {
    case 7:
      return fromCodes(q[0]!, q[1]!, q[2]!, q[3]!, q[4]!, q[5]!, q[6]!);
    case 8:
      return fromCodes(q[0]!, q[1]!, q[2]!, q[3]!, q[4]!, q[5]!, q[6]!, q[7]!);
    case 9:
      return fromCodes(q[0]!, q[1]!, q[2]!, q[3]!, q[4]!, q[5]!, q[6]!, q[7]!, q[8]!);
    case 10:
      return fromCodes(q[0]!, q[1]!, q[2]!, q[3]!, q[4]!, q[5]!, q[6]!, q[7]!, q[8]!, q[9]!);
    case 11:
      return fromCodes(q[0]!, q[1]!, q[2]!, q[3]!, q[4]!, q[5]!, q[6]!, q[7]!, q[8]!, q[9]!, q[10]!);
    case 12:
      return fromCodes(q[0]!, q[1]!, q[2]!, q[3]!, q[4]!, q[5]!, q[6]!, q[7]!, q[8]!, q[9]!, q[10]!, q[11]!);
    case 13:
      return fromCodes(q[0]!, q[1]!, q[2]!, q[3]!, q[4]!, q[5]!, q[6]!, q[7]!, q[8]!, q[9]!, q[10]!, q[11]!, q[12]!);
    case 14:
      return fromCodes(q[0]!, q[1]!, q[2]!, q[3]!, q[4]!, q[5]!, q[6]!, q[7]!, q[8]!, q[9]!, q[10]!, q[11]!, q[12]!, q[13]!);
    default:
      return fromCodes(q[0]!, q[1]!, q[2]!, q[3]!, q[4]!, q[5]!, q[6]!, q[7]!, q[8]!, q[9]!, q[10]!, q[11]!, q[12]!, q[13]!, q[14]!);
  }
}

/**
 * Reads the dotted quad s[start..end) into `out` at `o`: four decimal octets 0-255 without leading zeros (a
 * leading zero is octal to some parsers; inet_pton refuses it). False if it is not one. The project's one IPv4
 * text parser: prefixes, config and packet building all call it.
 */
export function parseIpv4(s: string, start: number, end: number, out: Uint8Array, o: number): boolean {
  let i = start;
  for (let k = 0; k < 4; k++) {
    if (k > 0) {
      if (i >= end || s.charCodeAt(i) !== DOT) return false;
      i++;
    }
    const first = i;
    let v = 0;
    while (i < end && i - first < 3) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      v = v * 10 + c;
      i++;
    }
    const digits = i - first;
    if (digits === 0 || v > 255 || (digits > 1 && s.charCodeAt(first) === 48)) return false;
    out[o + k] = v;
  }
  return i === end;
}

export function ipv4ToBytes(s: string, out: Uint8Array = new Uint8Array(4), o = 0): Uint8Array {
  if (typeof s !== 'string' || !parseIpv4(s, 0, s.length, out, o)) badValue('IPv4 address', s);
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
    return `::ffff:${ipv4ToString(b, o + 12)}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (x: number) => x.toString(16);
  if (bestStart < 0) return g.map(hex).join(':');
  const head = g.slice(0, bestStart).map(hex).join(':');
  const tail = g
    .slice(bestStart + bestLen)
    .map(hex)
    .join(':');
  return `${head}::${tail}`;
}

/** RFC 4291 §2.2's three text forms, without a zone id. The project's one IPv6 text parser. */
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
    part === ''
      ? []
      : part.split(':').map((h) => {
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
