/** UDP (RFC 768). */
import { checkUint, get16, put16 } from './bytes.js';
import { transportChecksum } from './checksum.js';
import { PacketError, needBytes } from './errors.js';
import { IPPROTO } from './ip-proto.js';

export const UDP_HEADER_LENGTH = 8;

export interface Udp {
  srcPort: number;
  dstPort: number;
  /** Header + data, from the Length field. */
  length: number;
  /** 0 over IPv4 means "no checksum" (RFC 768); over IPv6 it is invalid (RFC 8200 §8.1). */
  checksum: number;
  /** Data up to Length, or to the end of the capture (view). */
  payload: Uint8Array;
  truncated: boolean;
}

export interface UdpSpec {
  srcPort: number;
  dstPort: number;
  /** Write this instead of the computed checksum (0 = none, IPv4 only). */
  checksum?: number;
}

/**
 * `b` is the IP payload; `mayBeCut` tells whether it may have been cut by
 * capture (then a Length beyond it is `truncated`, else BAD_LENGTH).
 */
export function parseUdp(b: Uint8Array, mayBeCut = true): Udp {
  needBytes(b.length, UDP_HEADER_LENGTH, 'udp');
  const length = get16(b, 4);
  if (length < UDP_HEADER_LENGTH) throw new PacketError('BAD_LENGTH', 'udp', `length ${length} < 8`);
  let end = length;
  let truncated = false;
  if (length > b.length) {
    if (!mayBeCut) throw new PacketError('BAD_LENGTH', 'udp', `length ${length} exceeds IP payload ${b.length}`);
    truncated = true;
    end = b.length;
  }
  return {
    srcPort: get16(b, 0),
    dstPort: get16(b, 2),
    length,
    checksum: get16(b, 6),
    payload: b.subarray(UDP_HEADER_LENGTH, end),
    truncated,
  };
}

/** Writes the header with a zero checksum; the length covers `payloadLength` data bytes. */
export function writeUdp(out: Uint8Array, off: number, spec: UdpSpec, payloadLength: number): number {
  const length = UDP_HEADER_LENGTH + payloadLength;
  if (length > 0xffff) throw new PacketError('BAD_LENGTH', 'udp', `length ${length} > 65535`);
  put16(out, off, checkUint(spec.srcPort, 0xffff, 'udp', 'srcPort'));
  put16(out, off + 2, checkUint(spec.dstPort, 0xffff, 'udp', 'dstPort'));
  put16(out, off + 4, length);
  put16(out, off + 6, 0);
  return off + UDP_HEADER_LENGTH;
}

/**
 * Fills in the checksum of the datagram out[off..end). A computed zero is
 * sent as 0xffff, because zero means "no checksum" (RFC 768; RFC 8200 §8.1).
 */
export function finishUdp(out: Uint8Array, off: number, end: number, spec: UdpSpec, src: Uint8Array, dst: Uint8Array): void {
  const c = spec.checksum ?? (transportChecksum(src, dst, IPPROTO.UDP, out.subarray(off, end)) || 0xffff);
  put16(out, off + 6, c);
}
