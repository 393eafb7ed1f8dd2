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
import * as text from '../openflow/addr.js';

// One implementation of address text for the whole controller: the codec's (controller/openflow/addr.ts, with
// its caches for the packet-in path). Here it is offered with the packet library's argument order and errors.

function bad(kind: string, value: string): PacketError {
  return new PacketError('BAD_ADDRESS', 'addr', `not a valid ${kind} address: ${JSON.stringify(value)}`);
}

function parse(kind: string, value: string, fn: () => void): void {
  try {
    fn();
  } catch {
    throw bad(kind, value);
  }
}

export function macToString(b: Uint8Array, off = 0): string {
  return text.macToString(b, off);
}

/** Writes the 6 bytes of `mac` ("aa:bb:..", also accepts '-' separators) at out[off]. */
export function writeMac(out: Uint8Array, off: number, mac: string): void {
  // Exactly two hex digits per byte here: frames are built from canonical text.
  if (!/^[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}$/i.test(mac)) throw bad('MAC', mac);
  parse('MAC', mac, () => text.macToBytes(mac, out, off));
}

export function macToBytes(mac: string): Uint8Array {
  const b = new Uint8Array(6);
  writeMac(b, 0, mac);
  return b;
}

export function ipv4ToString(b: Uint8Array, off = 0): string {
  return text.ipv4ToString(b, off);
}

/** Decimal octets 0..255 without leading zeros (see controller/openflow/addr.ts parseIpv4). */
export function writeIpv4(out: Uint8Array, off: number, ip: string): void {
  parse('IPv4', ip, () => text.ipv4ToBytes(ip, out, off));
}

export function ipv4ToBytes(ip: string): Uint8Array {
  const b = new Uint8Array(4);
  writeIpv4(b, 0, ip);
  return b;
}

/** RFC 5952 canonical text (see controller/openflow/addr.ts). */
export function ipv6ToString(b: Uint8Array, off = 0): string {
  return text.ipv6ToString(b, off);
}

/** Parses RFC 4291 §2.2 text forms (all three), without zone ids. */
export function writeIpv6(out: Uint8Array, off: number, ip: string): void {
  parse('IPv6', ip, () => text.ipv6ToBytes(ip, out, off));
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
