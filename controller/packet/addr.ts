/**
 * Address text <-> bytes helpers.
 *
 * Text forms: MAC "aa:bb:cc:dd:ee:ff" (lower case), IPv4 dotted quad, IPv6 in
 * the RFC 5952 canonical form. Formatting runs on the packet-in hot path, so it
 * uses a precomputed hex table and string concatenation rather than
 * Array.map/join. Parsing (config, build specs) favours strictness: anything
 * ambiguous is a PacketError('BAD_ADDRESS').
 */
import { PacketError } from './errors.js';

const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function bad(kind: string, text: string): PacketError {
  return new PacketError('BAD_ADDRESS', 'addr', `not a valid ${kind} address: ${JSON.stringify(text)}`);
}

// ---------------------------------------------------------------- MAC (EUI-48)

export function macToString(b: Uint8Array, off = 0): string {
  return (
    HEX2[b[off]] + ':' + HEX2[b[off + 1]] + ':' + HEX2[b[off + 2]] + ':' +
    HEX2[b[off + 3]] + ':' + HEX2[b[off + 4]] + ':' + HEX2[b[off + 5]]
  );
}

const MAC_RE = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}$/i;

/** Writes the 6 bytes of `mac` ("aa:bb:..", also accepts '-' separators) at out[off]. */
export function writeMac(out: Uint8Array, off: number, mac: string): void {
  if (!MAC_RE.test(mac)) throw bad('MAC', mac);
  for (let i = 0; i < 6; i++) out[off + i] = parseInt(mac.slice(i * 3, i * 3 + 2), 16);
}

export function macToBytes(mac: string): Uint8Array {
  const b = new Uint8Array(6);
  writeMac(b, 0, mac);
  return b;
}

// ---------------------------------------------------------------- IPv4

export function ipv4ToString(b: Uint8Array, off = 0): string {
  return b[off] + '.' + b[off + 1] + '.' + b[off + 2] + '.' + b[off + 3];
}

/** Decimal octets 0..255 without leading zeros (a leading zero is octal to some parsers). */
const OCTET_RE = /^(?:0|[1-9][0-9]{0,2})$/;

export function writeIpv4(out: Uint8Array, off: number, ip: string): void {
  const parts = ip.split('.');
  if (parts.length !== 4) throw bad('IPv4', ip);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    const v = OCTET_RE.test(p) ? Number(p) : 256;
    if (v > 255) throw bad('IPv4', ip);
    out[off + i] = v;
  }
}

export function ipv4ToBytes(ip: string): Uint8Array {
  const b = new Uint8Array(4);
  writeIpv4(b, 0, ip);
  return b;
}

// ---------------------------------------------------------------- IPv6

/**
 * RFC 5952 canonical text: lower-case hex without leading zeros (§4.1, §4.3),
 * the longest run of two or more zero groups replaced by "::" (§4.2.1-4.2.3,
 * first run wins a tie, a single zero group is never compressed), and
 * IPv4-mapped addresses written with a dotted quad (§5).
 */
export function ipv6ToString(b: Uint8Array, off = 0): string {
  const g = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 8; i++) g[i] = (b[off + 2 * i] << 8) | b[off + 2 * i + 1];
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return '::ffff:' + ipv4ToString(b, off + 12);
  }
  let bestStart = -1;
  let bestLen = 1; // runs must be >= 2 groups to be compressed
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += '::';
      i += bestLen - 1;
      continue;
    }
    if (s.length > 0 && !s.endsWith(':')) s += ':';
    s += g[i].toString(16);
  }
  return s;
}

const GROUP_RE = /^[0-9a-f]{1,4}$/i;

/** Parses RFC 4291 §2.2 text forms (all three), without zone ids. */
export function writeIpv6(out: Uint8Array, off: number, ip: string): void {
  const dbl = ip.indexOf('::');
  if (dbl !== ip.lastIndexOf('::')) throw bad('IPv6', ip); // at most one "::" (also rejects ":::")
  const head = dbl < 0 ? ip : ip.slice(0, dbl);
  const tail = dbl < 0 ? '' : ip.slice(dbl + 2);
  const hp = head === '' ? [] : head.split(':');
  const tp = tail === '' ? [] : tail.split(':');
  const words: number[] = [];
  const tailWords: number[] = [];
  const all = [hp, tp];
  for (let k = 0; k < 2; k++) {
    const parts = all[k];
    const dst = k === 0 ? words : tailWords;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      const last = i === parts.length - 1 && (k === 1 || dbl < 0);
      if (last && p.includes('.')) {
        const v4 = new Uint8Array(4);
        try { writeIpv4(v4, 0, p); } catch { throw bad('IPv6', ip); }
        dst.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (GROUP_RE.test(p)) {
        dst.push(parseInt(p, 16));
      } else {
        throw bad('IPv6', ip);
      }
    }
  }
  const n = words.length + tailWords.length;
  if (dbl < 0 ? n !== 8 : n > 7) throw bad('IPv6', ip);
  const zeros = 8 - n;
  const groups = words.concat(new Array<number>(dbl < 0 ? 0 : zeros).fill(0), tailWords);
  for (let i = 0; i < 8; i++) {
    out[off + 2 * i] = groups[i] >>> 8;
    out[off + 2 * i + 1] = groups[i] & 0xff;
  }
}

export function ipv6ToBytes(ip: string): Uint8Array {
  const b = new Uint8Array(16);
  writeIpv6(b, 0, ip);
  return b;
}

/** Canonicalises any accepted IPv6 text form (e.g. for map keys / comparisons). */
export function canonicalIpv6(ip: string): string {
  return ipv6ToString(ipv6ToBytes(ip));
}
