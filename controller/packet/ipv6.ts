/** IPv6 fixed header (RFC 8200 §3) plus its extension-header chain (§4). */
import { ipv6ToString, writeIpv6 as writeIpv6Addr } from './addr.js';
import { checkUint, get16, get8, put16 } from './bytes.js';
import { PacketError, needBytes } from './errors.js';
import {
  type Ipv6Extension,
  type Ipv6ExtensionSpec,
  type Ipv6Fragment,
  extensionLength,
  extensionProtocol,
  walkIpv6Extensions,
  writeExtension,
} from './ipv6-ext.js';

export const IPV6_HEADER_LENGTH = 40;

export interface Ipv6 {
  version: 6;
  trafficClass: number;
  flowLabel: number;
  /** Bytes after the fixed header, extension headers included. */
  payloadLength: number;
  /** Next Header of the fixed header (first extension header or upper layer). */
  nextHeader: number;
  hopLimit: number;
  src: string;
  dst: string;
  extensions: Ipv6Extension[];
  /** Upper-layer protocol reached by walking the extension headers. */
  protocol: number;
  /** The Fragment header, if any. Offset != 0 means `payload` is not an upper-layer header. */
  fragment: Ipv6Fragment | undefined;
  /** The 40-byte fixed header (view): addresses for pseudo-header checksums. */
  header: Uint8Array;
  /** Upper-layer bytes after all extension headers (view). */
  payload: Uint8Array;
  /** Payload Length claims more bytes than were captured. */
  truncated: boolean;
}

export interface Ipv6Spec {
  src: string;
  dst: string;
  trafficClass?: number;
  flowLabel?: number;
  hopLimit?: number;
  /** Upper-layer protocol; default derived from the layer built on top. */
  nextHeader?: number;
  /** Written in order; Next Header values are chained automatically. */
  extensions?: Ipv6ExtensionSpec[];
}

/**
 * Jumbograms (Payload Length 0 with a Jumbo Payload option, RFC 2675) are
 * not supported: Payload Length 0 means an empty payload.
 */
export function parseIpv6(b: Uint8Array, mayBeCut = true): Ipv6 {
  needBytes(b.length, IPV6_HEADER_LENGTH, 'ipv6');
  const version = get8(b, 0) >>> 4;
  if (version !== 6) throw new PacketError('BAD_VERSION', 'ipv6', `version ${version}, expected 6`);
  const payloadLength = get16(b, 4);
  let end = IPV6_HEADER_LENGTH + payloadLength;
  let truncated = false;
  if (end > b.length) {
    if (!mayBeCut) throw new PacketError('BAD_LENGTH', 'ipv6', `payload length ${payloadLength} exceeds buffer`);
    truncated = true;
    end = b.length;
  }
  const nextHeader = get8(b, 6);
  const walk = walkIpv6Extensions(b.subarray(0, end), IPV6_HEADER_LENGTH, nextHeader, truncated);
  return {
    version: 6,
    trafficClass: ((get8(b, 0) & 0x0f) << 4) | (get8(b, 1) >>> 4),
    flowLabel: ((get8(b, 1) & 0x0f) << 16) | get16(b, 2),
    payloadLength,
    nextHeader,
    hopLimit: get8(b, 7),
    src: ipv6ToString(b, 8),
    dst: ipv6ToString(b, 24),
    extensions: walk.extensions,
    protocol: walk.protocol,
    fragment: walk.fragment,
    header: b.subarray(0, IPV6_HEADER_LENGTH),
    payload: b.subarray(walk.offset, end),
    truncated,
  };
}

/** Fixed header plus extension headers. */
export function ipv6HeadersLength(spec: Ipv6Spec): number {
  let n = IPV6_HEADER_LENGTH;
  for (const e of spec.extensions ?? []) n += extensionLength(e);
  return n;
}

/** Writes the fixed and extension headers in front of `upperLength` bytes of `protocol`; returns the upper-layer offset. */
export function writeIpv6(out: Uint8Array, off: number, spec: Ipv6Spec, protocol: number, upperLength: number): number {
  const exts = spec.extensions ?? [];
  const payloadLength = ipv6HeadersLength(spec) - IPV6_HEADER_LENGTH + upperLength;
  if (payloadLength > 0xffff) throw new PacketError('BAD_LENGTH', 'ipv6', `payload length ${payloadLength} > 65535 (no jumbograms)`);
  const upper = checkUint(spec.nextHeader ?? protocol, 255, 'ipv6', 'nextHeader');
  const tc = checkUint(spec.trafficClass ?? 0, 255, 'ipv6', 'trafficClass');
  const fl = checkUint(spec.flowLabel ?? 0, 0xfffff, 'ipv6', 'flowLabel');
  out[off] = 0x60 | (tc >>> 4);
  out[off + 1] = ((tc & 0x0f) << 4) | (fl >>> 16);
  put16(out, off + 2, fl & 0xffff);
  put16(out, off + 4, payloadLength);
  const [first] = exts;
  out[off + 6] = first !== undefined ? extensionProtocol(first) : upper;
  out[off + 7] = checkUint(spec.hopLimit ?? 64, 255, 'ipv6', 'hopLimit');
  writeIpv6Addr(out, off + 8, spec.src);
  writeIpv6Addr(out, off + 24, spec.dst);
  let o = off + IPV6_HEADER_LENGTH;
  for (const [i, ext] of exts.entries()) {
    const following = exts[i + 1];
    o = writeExtension(out, o, ext, following !== undefined ? extensionProtocol(following) : upper);
  }
  return o;
}
