/**
 * The Internet checksum (RFC 1071) and the pseudo-headers it is taken over.
 *
 * The checksum is the 16-bit one's complement of the one's-complement sum of
 * the data taken as big-endian 16-bit words, an odd trailing byte padded with
 * a zero byte (RFC 791 §3.1 "Header Checksum", RFC 793 §3.1, RFC 768). We sum
 * into a plain JS number and fold the carries once at the end: even a 64 KiB
 * datagram sums to < 2^32, far below 2^53, so no precision is lost.
 *
 * To verify, sum the data *including* the transmitted checksum: a correct
 * packet folds to 0xffff (RFC 1071 §1 (2)).
 */
import { get16, get8 } from './bytes.js';

/** Unfolded one's-complement sum of b[start..end). */
export function onesSum(b: Uint8Array, start = 0, end = b.length, acc = 0): number {
  let i = start;
  const last = end - 1;
  for (; i < last; i += 2) acc += get16(b, i);
  if (i < end) acc += get8(b, i) << 8; // odd length: pad with a zero byte
  return acc;
}

/** Folds carries back into 16 bits (end-around carry). */
export function foldSum(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return acc;
}

/** The checksum field value for data whose checksum field currently holds zero. */
export function internetChecksum(b: Uint8Array, start = 0, end = b.length, acc = 0): number {
  return ~foldSum(onesSum(b, start, end, acc)) & 0xffff;
}

/**
 * Sum of the pseudo-header that TCP, UDP and ICMPv6 checksums cover.
 * IPv4 (RFC 793 §3.1, RFC 768): src, dst, zero, protocol, 16-bit length.
 * IPv6 (RFC 8200 §8.1): src, dst, 32-bit upper-layer length, 3 zero bytes,
 * next header. Both reduce to the same sum of 16-bit words, so one function
 * serves both; the address length (4 or 16) selects nothing but the loop.
 *
 * For IPv6 the upper-layer length excludes extension headers, and `dst` must
 * be the final destination (RFC 8200 §8.1): as received that is the header's
 * Destination Address; an originating node with a Routing header would have
 * to pass the last routing-header address instead.
 */
export function pseudoHeaderSum(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): number {
  return onesSum(src) + onesSum(dst) + protocol + Math.floor(length / 0x10000) + (length & 0xffff);
}

/** TCP / UDP / ICMPv6 checksum of `segment` (its checksum field must hold zero). */
export function transportChecksum(src: Uint8Array, dst: Uint8Array, protocol: number, segment: Uint8Array): number {
  return internetChecksum(segment, 0, segment.length, pseudoHeaderSum(src, dst, protocol, segment.length));
}

/** True when `segment` (TCP, UDP or ICMPv6 header + data, as received) carries a correct checksum. */
export function verifyTransportChecksum(src: Uint8Array, dst: Uint8Array, protocol: number, segment: Uint8Array): boolean {
  return foldSum(onesSum(segment, 0, segment.length, pseudoHeaderSum(src, dst, protocol, segment.length))) === 0xffff;
}

/** True when an IPv4 header (exactly IHL*4 bytes) carries a correct header checksum (RFC 791 §3.1). */
export function verifyIpv4Checksum(header: Uint8Array): boolean {
  return foldSum(onesSum(header)) === 0xffff;
}

/** True when an ICMP (v4) message carries a correct checksum: no pseudo-header (RFC 792). */
export function verifyIcmpChecksum(message: Uint8Array): boolean {
  return foldSum(onesSum(message)) === 0xffff;
}
