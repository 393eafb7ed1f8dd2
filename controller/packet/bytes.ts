/**
 * Big-endian (network byte order) field access on plain Uint8Arrays.
 *
 * We use byte arithmetic instead of DataView: no extra object per packet, and
 * callers check lengths up front with a layer-specific error. A read past the
 * end still throws TRUNCATED here rather than reading `undefined` as 0, so a
 * parser's missed bounds check cannot turn into a silently wrong field.
 */
import { PacketError } from './errors.js';

export function get8(b: Uint8Array, o: number): number {
  const v = b[o];
  if (v === undefined) throw new PacketError('TRUNCATED', 'bytes', `read at offset ${o} of a ${b.length}-byte buffer`);
  return v;
}

export function get16(b: Uint8Array, o: number): number {
  return (get8(b, o) << 8) | get8(b, o + 1);
}

export function get32(b: Uint8Array, o: number): number {
  return ((get8(b, o) << 24) | (get8(b, o + 1) << 16) | (get8(b, o + 2) << 8) | get8(b, o + 3)) >>> 0;
}

export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/** Rounds n up to a multiple of m (m a power of two). */
export function padTo(n: number, m: number): number {
  return (n + m - 1) & ~(m - 1);
}

/** Shared empty view, so "no options" / "no payload" costs no allocation. */
export const EMPTY: Uint8Array = new Uint8Array(0);

const utf8Decoder = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

export function decodeUtf8(b: Uint8Array): string {
  return utf8Decoder.decode(b);
}

export function encodeUtf8(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}

/** Throws if `v` is not an integer in [0, max]; used to validate build specs. */
export function checkUint(v: number, max: number, layer: string, field: string): number {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new PacketError('BAD_VALUE', layer, `${field} must be an integer in 0..${max}, got ${v}`);
  }
  return v;
}
