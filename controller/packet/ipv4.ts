/** IPv4 header (RFC 791 §3.1). */
import { ipv4ToString, writeIpv4 as writeIpv4Addr } from './addr.js';
import { EMPTY, checkUint, get16, get8, padTo, put16 } from './bytes.js';
import { internetChecksum } from './checksum.js';
import { PacketError, needBytes } from './errors.js';

export const IPV4_MIN_HEADER = 20;
export const IPV4_MAX_OPTIONS = 40; // IHL is 4 bits: at most 60 header bytes

export interface Ipv4 {
  version: 4;
  /** IHL * 4, including options. */
  headerLength: number;
  dscp: number;
  ecn: number;
  totalLength: number;
  identification: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** In 8-octet units, as on the wire. */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  checksum: number;
  src: string;
  dst: string;
  /** Raw option bytes (view), padding included; see parseIpv4Options. */
  options: Uint8Array;
  /** The whole header (view), for verifyIpv4Checksum and pseudo-header addresses. */
  header: Uint8Array;
  /** Bytes after the header up to Total Length, or to the end of the capture (view). */
  payload: Uint8Array;
  /** Total Length claims more bytes than were captured (e.g. packet-in max_len). */
  truncated: boolean;
}

export interface Ipv4Spec {
  src: string;
  dst: string;
  /** Default: derived from the layer built on top. */
  protocol?: number;
  ttl?: number;
  dscp?: number;
  ecn?: number;
  identification?: number;
  dontFragment?: boolean;
  moreFragments?: boolean;
  fragmentOffset?: number;
  /** Raw options; zero-padded (End of Option List) to a multiple of 4 bytes. */
  options?: Uint8Array;
  /** Write this instead of the computed header checksum (for negative tests). */
  checksum?: number;
}

/**
 * `mayBeCut`: the buffer may end early because of capture truncation, so a
 * Total Length beyond it is reported as `truncated` instead of BAD_LENGTH.
 * Bytes beyond Total Length (Ethernet padding) are excluded from `payload`.
 */
export function parseIpv4(b: Uint8Array, mayBeCut = true): Ipv4 {
  needBytes(b.length, IPV4_MIN_HEADER, 'ipv4');
  const versionIhl = get8(b, 0);
  if (versionIhl >>> 4 !== 4) throw new PacketError('BAD_VERSION', 'ipv4', `version ${versionIhl >>> 4}, expected 4`);
  const headerLength = (versionIhl & 0x0f) * 4;
  if (headerLength < IPV4_MIN_HEADER) throw new PacketError('BAD_LENGTH', 'ipv4', `IHL ${headerLength / 4} < 5`);
  needBytes(b.length, headerLength, 'ipv4', 'header with options');
  const totalLength = get16(b, 2);
  if (totalLength < headerLength) {
    throw new PacketError('BAD_LENGTH', 'ipv4', `total length ${totalLength} < header length ${headerLength}`);
  }
  let end = totalLength;
  let truncated = false;
  if (totalLength > b.length) {
    if (!mayBeCut) throw new PacketError('BAD_LENGTH', 'ipv4', `total length ${totalLength} exceeds ${b.length} bytes`);
    truncated = true;
    end = b.length;
  }
  const frag = get16(b, 6);
  return {
    version: 4,
    headerLength,
    dscp: get8(b, 1) >>> 2,
    ecn: get8(b, 1) & 3,
    totalLength,
    identification: get16(b, 4),
    // bit 0 of the flags is reserved (must be zero, RFC 791) and ignored here
    dontFragment: (frag & 0x4000) !== 0,
    moreFragments: (frag & 0x2000) !== 0,
    fragmentOffset: frag & 0x1fff,
    ttl: get8(b, 8),
    protocol: get8(b, 9),
    checksum: get16(b, 10),
    src: ipv4ToString(b, 12),
    dst: ipv4ToString(b, 16),
    options: headerLength > IPV4_MIN_HEADER ? b.subarray(IPV4_MIN_HEADER, headerLength) : EMPTY,
    header: b.subarray(0, headerLength),
    payload: b.subarray(headerLength, end),
    truncated,
  };
}

export function ipv4HeaderLength(spec: Ipv4Spec): number {
  const opt = spec.options?.length ?? 0;
  if (opt > IPV4_MAX_OPTIONS) throw new PacketError('BAD_LENGTH', 'ipv4', `options ${opt} bytes > ${IPV4_MAX_OPTIONS}`);
  return IPV4_MIN_HEADER + padTo(opt, 4);
}

/** Writes the header for `payloadLength` bytes of `protocol` data, checksum included. */
export function writeIpv4(out: Uint8Array, off: number, spec: Ipv4Spec, protocol: number, payloadLength: number): number {
  const hl = ipv4HeaderLength(spec);
  const total = hl + payloadLength;
  if (total > 0xffff) throw new PacketError('BAD_LENGTH', 'ipv4', `total length ${total} > 65535`);
  out.fill(0, off, off + hl); // option padding must be End of Option List (0)
  out[off] = 0x40 | (hl >>> 2);
  out[off + 1] = (checkUint(spec.dscp ?? 0, 63, 'ipv4', 'dscp') << 2) | checkUint(spec.ecn ?? 0, 3, 'ipv4', 'ecn');
  put16(out, off + 2, total);
  put16(out, off + 4, checkUint(spec.identification ?? 0, 0xffff, 'ipv4', 'identification'));
  const fo = checkUint(spec.fragmentOffset ?? 0, 0x1fff, 'ipv4', 'fragmentOffset');
  put16(out, off + 6, (spec.dontFragment ? 0x4000 : 0) | (spec.moreFragments ? 0x2000 : 0) | fo);
  out[off + 8] = checkUint(spec.ttl ?? 64, 255, 'ipv4', 'ttl');
  out[off + 9] = checkUint(spec.protocol ?? protocol, 255, 'ipv4', 'protocol');
  writeIpv4Addr(out, off + 12, spec.src);
  writeIpv4Addr(out, off + 16, spec.dst);
  if (spec.options) out.set(spec.options, off + IPV4_MIN_HEADER);
  // RFC 791 §3.1: checksum computed with the checksum field itself zero
  put16(out, off + 10, spec.checksum ?? internetChecksum(out, off, off + hl));
  return off + hl;
}

export interface Ipv4Option {
  type: number;
  data: Uint8Array;
}

/**
 * Splits option bytes into options (RFC 791 §3.1 "Options"): End of Option
 * List (0) stops the scan, No Operation (1) is a single byte, every other
 * option carries a length octet counting type and length (so >= 2; a smaller
 * value would loop forever and is refused). NOP/EOL are not returned.
 */
export function parseIpv4Options(opts: Uint8Array): Ipv4Option[] {
  const out: Ipv4Option[] = [];
  let i = 0;
  while (i < opts.length) {
    const type = get8(opts, i);
    if (type === 0) break;
    if (type === 1) {
      i++;
      continue;
    }
    if (i + 2 > opts.length) throw new PacketError('TRUNCATED', 'ipv4', `option ${type} has no length octet`);
    const len = get8(opts, i + 1);
    if (len < 2 || i + len > opts.length) throw new PacketError('BAD_LENGTH', 'ipv4', `option ${type} length ${len}`);
    out.push({ type, data: opts.subarray(i + 2, i + len) });
    i += len;
  }
  return out;
}
