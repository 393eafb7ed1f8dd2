// Text forms of the addresses OXM fields carry: MAC "aa:bb:cc:dd:ee:ff", IPv4 dotted quad, IPv6 in RFC 5952
// canonical form. Decoding uses lookup tables because packet-in matches are on the hot path.
import { OfpError, OFPET, OFPBMC } from './errors.js';

const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const DEC = Array.from({ length: 256 }, (_, i) => String(i));

function badValue(what: string, text: unknown): never {
  throw new OfpError(OFPET.BAD_MATCH, OFPBMC.BAD_VALUE, `invalid ${what}: ${JSON.stringify(text)}`);
}

export function macToString(b: Uint8Array, o: number): string {
  return `${HEX2[b[o]!]}:${HEX2[b[o + 1]!]}:${HEX2[b[o + 2]!]}:${HEX2[b[o + 3]!]}:${HEX2[b[o + 4]!]}:${HEX2[b[o + 5]!]}`;
}

const MAC_RE = /^([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})[:-]([0-9a-fA-F]{1,2})$/;

export function macToBytes(s: string, out: Uint8Array = new Uint8Array(6), o = 0): Uint8Array {
  const m = typeof s === 'string' ? MAC_RE.exec(s) : null;
  if (!m) badValue('MAC address', s);
  for (let i = 0; i < 6; i++) out[o + i] = parseInt(m[i + 1]!, 16);
  return out;
}

export function ipv4ToString(b: Uint8Array, o: number): string {
  return `${DEC[b[o]!]}.${DEC[b[o + 1]!]}.${DEC[b[o + 2]!]}.${DEC[b[o + 3]!]}`;
}

export function ipv4ToBytes(s: string, out: Uint8Array = new Uint8Array(4), o = 0): Uint8Array {
  const parts = typeof s === 'string' ? s.split('.') : [];
  if (parts.length !== 4) badValue('IPv4 address', s);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) badValue('IPv4 address', s);
    out[o + i] = Number(p);
  }
  return out;
}

/** RFC 5952: lowercase, no leading zeros, the longest run (>= 2) of zero groups compressed, leftmost on ties. */
export function ipv6ToString(b: Uint8Array, o: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[o + 2 * i]! << 8) | b[o + 2 * i + 1]!);
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
