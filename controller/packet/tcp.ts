/** TCP header (RFC 9293 §3.1, formerly RFC 793 §3.1). Options are kept as raw bytes. */
import { EMPTY, checkUint, get16, get32, get8, padTo, put16, put32 } from './bytes.js';
import { transportChecksum } from './checksum.js';
import { PacketError, needBytes } from './errors.js';
import { IPPROTO } from './ip-proto.js';

export const TCP_MIN_HEADER = 20;
export const TCP_MAX_OPTIONS = 40; // Data Offset is 4 bits: at most 60 header bytes

/** Control bits; AE (formerly NS, RFC 3540) is the low bit of byte 12. */
export const TCP_FLAG = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
  AE: 0x100,
} as const;

export interface Tcp {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** Data Offset * 4. */
  headerLength: number;
  /** TCP_FLAG bits. */
  flags: number;
  window: number;
  checksum: number;
  urgentPointer: number;
  /** Raw option bytes, padding included (view). */
  options: Uint8Array;
  /** Segment data (view). */
  payload: Uint8Array;
}

export interface TcpSpec {
  srcPort: number;
  dstPort: number;
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  urgentPointer?: number;
  /** Raw options; zero-padded (End of Option List) to a multiple of 4 bytes. */
  options?: Uint8Array;
  /** Write this instead of the computed checksum (for negative tests). */
  checksum?: number;
}

/** `b` is the whole segment (IP payload); TCP has no length of its own. */
export function parseTcp(b: Uint8Array): Tcp {
  needBytes(b.length, TCP_MIN_HEADER, 'tcp');
  const headerLength = (get8(b, 12) >>> 4) * 4;
  if (headerLength < TCP_MIN_HEADER) throw new PacketError('BAD_LENGTH', 'tcp', `data offset ${headerLength / 4} < 5`);
  needBytes(b.length, headerLength, 'tcp', 'header with options');
  return {
    srcPort: get16(b, 0),
    dstPort: get16(b, 2),
    seq: get32(b, 4),
    ack: get32(b, 8),
    headerLength,
    flags: get16(b, 12) & 0x1ff,
    window: get16(b, 14),
    checksum: get16(b, 16),
    urgentPointer: get16(b, 18),
    options: headerLength > TCP_MIN_HEADER ? b.subarray(TCP_MIN_HEADER, headerLength) : EMPTY,
    payload: b.subarray(headerLength),
  };
}

export function tcpHeaderLength(spec: TcpSpec): number {
  const opt = spec.options?.length ?? 0;
  if (opt > TCP_MAX_OPTIONS) throw new PacketError('BAD_LENGTH', 'tcp', `options ${opt} bytes > ${TCP_MAX_OPTIONS}`);
  return TCP_MIN_HEADER + padTo(opt, 4);
}

/** Writes the header with a zero checksum; call finishTcp once the data is in place. */
export function writeTcp(out: Uint8Array, off: number, spec: TcpSpec): number {
  const hl = tcpHeaderLength(spec);
  out.fill(0, off, off + hl); // RFC 9293 §3.1: padding after the options is zero
  put16(out, off, checkUint(spec.srcPort, 0xffff, 'tcp', 'srcPort'));
  put16(out, off + 2, checkUint(spec.dstPort, 0xffff, 'tcp', 'dstPort'));
  put32(out, off + 4, checkUint(spec.seq ?? 0, 0xffffffff, 'tcp', 'seq'));
  put32(out, off + 8, checkUint(spec.ack ?? 0, 0xffffffff, 'tcp', 'ack'));
  const flags = checkUint(spec.flags ?? 0, 0x1ff, 'tcp', 'flags');
  out[off + 12] = ((hl >>> 2) << 4) | (flags >>> 8);
  out[off + 13] = flags & 0xff;
  put16(out, off + 14, checkUint(spec.window ?? 65535, 0xffff, 'tcp', 'window'));
  put16(out, off + 18, checkUint(spec.urgentPointer ?? 0, 0xffff, 'tcp', 'urgentPointer'));
  if (spec.options) out.set(spec.options, off + TCP_MIN_HEADER);
  return off + hl;
}

/** Fills in the checksum of the segment out[off..end) (RFC 9293 §3.1 pseudo-header). */
export function finishTcp(out: Uint8Array, off: number, end: number, spec: TcpSpec, src: Uint8Array, dst: Uint8Array): void {
  put16(out, off + 16, spec.checksum ?? transportChecksum(src, dst, IPPROTO.TCP, out.subarray(off, end)));
}

export interface TcpOption {
  kind: number;
  data: Uint8Array;
}

/**
 * Splits option bytes (RFC 9293 §3.1): End of Option List (0) stops, NOP (1)
 * is one byte, every other option has a length >= 2 counting kind and length.
 */
export function parseTcpOptions(opts: Uint8Array): TcpOption[] {
  const out: TcpOption[] = [];
  let i = 0;
  while (i < opts.length) {
    const kind = get8(opts, i);
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    if (i + 2 > opts.length) throw new PacketError('TRUNCATED', 'tcp', `option ${kind} has no length octet`);
    const len = get8(opts, i + 1);
    if (len < 2 || i + len > opts.length) throw new PacketError('BAD_LENGTH', 'tcp', `option ${kind} length ${len}`);
    out.push({ kind, data: opts.subarray(i + 2, i + len) });
    i += len;
  }
  return out;
}

/** Encodes options back to back (add NOPs yourself for alignment); padding is added by writeTcp. */
export function encodeTcpOptions(opts: TcpOption[]): Uint8Array {
  let n = 0;
  for (const o of opts) n += o.kind <= 1 ? 1 : 2 + o.data.length;
  const b = new Uint8Array(n);
  let i = 0;
  for (const o of opts) {
    b[i++] = checkUint(o.kind, 255, 'tcp', 'option kind');
    if (o.kind <= 1) continue;
    b[i++] = checkUint(2 + o.data.length, 255, 'tcp', 'option length');
    b.set(o.data, i);
    i += o.data.length;
  }
  return b;
}
