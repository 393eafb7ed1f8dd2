/**
 * IPv6 extension headers (RFC 8200 §4): walking the Next Header chain to the
 * upper-layer protocol, and building Hop-by-Hop, Routing, Fragment and
 * Destination Options headers.
 */
import { checkUint, get16, get32, get8, put32 } from './bytes.js';
import { PacketError } from './errors.js';
import { IPPROTO } from './ip-proto.js';

/** A TLV option of a Hop-by-Hop or Destination Options header (RFC 8200 §4.2). */
export interface Ipv6Option {
  type: number;
  data: Uint8Array;
}

export interface Ipv6Fragment {
  kind: 'fragment';
  nextHeader: number;
  /** In 8-octet units. */
  offset: number;
  more: boolean;
  identification: number;
}

export type Ipv6Extension =
  /** Pad1/PadN padding options are consumed, not listed. */
  | { kind: 'hop-by-hop' | 'destination'; nextHeader: number; options: Ipv6Option[] }
  | { kind: 'routing'; nextHeader: number; routingType: number; segmentsLeft: number; data: Uint8Array }
  | Ipv6Fragment
  /** AH and the other RFC 8200 §4 / RFC 7045 headers we skip over without decoding. */
  | { kind: 'other'; protocol: number; nextHeader: number; data: Uint8Array };

export type Ipv6ExtensionSpec =
  | { kind: 'hop-by-hop' | 'destination'; options?: Ipv6Option[] }
  /** `data`: the type-specific bytes after the first 4; 4 + data.length must be a multiple of 8. */
  | { kind: 'routing'; routingType: number; segmentsLeft: number; data?: Uint8Array }
  | { kind: 'fragment'; offset?: number; more?: boolean; identification?: number };

/** Chains longer than this are refused; legitimate packets carry a handful. */
export const MAX_IPV6_EXTENSIONS = 16;

export interface Ipv6ExtWalk {
  extensions: Ipv6Extension[];
  /** Next Header value after the last extension header walked. */
  protocol: number;
  /** Offset (in the walked buffer) of the upper-layer header. */
  offset: number;
  fragment: Ipv6Fragment | undefined;
}

/** Headers using the generic "Next Header, Hdr Ext Len in 8-octet units" layout (RFC 8200 §4, RFC 7045). */
const GENERIC = new Set<number>([IPPROTO.HOPOPTS, IPPROTO.ROUTING, IPPROTO.DSTOPTS, 135, 139, 140, 253, 254]);

/**
 * Walks extension headers starting at `off` in `b`, which ends where the
 * IPv6 payload ends (or where the capture does, if `cut`). Terminates: every
 * header consumes at least 8 bytes and the count is capped. The walk stops at
 * a non-extension Next Header, at ESP (encrypted), at No Next Header, and
 * after a Fragment header with a non-zero offset (what follows is the middle
 * of a packet, not a header; RFC 8200 §4.5).
 */
export function walkIpv6Extensions(b: Uint8Array, off: number, first: number, cut: boolean): Ipv6ExtWalk {
  const extensions: Ipv6Extension[] = [];
  let next = first;
  let fragment: Ipv6Fragment | undefined;
  const fail = (what: string): PacketError =>
    cut
      ? new PacketError('TRUNCATED', 'ipv6', `${what} cut short by capture`)
      : new PacketError('BAD_LENGTH', 'ipv6', `${what} runs past the payload length`);
  while (GENERIC.has(next) || next === IPPROTO.FRAGMENT || next === IPPROTO.AH) {
    if (next === IPPROTO.HOPOPTS && extensions.length > 0) {
      // RFC 8200 §4.1: Hop-by-Hop "MUST immediately follow the IPv6 header"
      throw new PacketError('BAD_VALUE', 'ipv6', 'Hop-by-Hop Options header not first');
    }
    if (extensions.length === MAX_IPV6_EXTENSIONS) {
      throw new PacketError('TOO_MANY_HEADERS', 'ipv6', `more than ${MAX_IPV6_EXTENSIONS} extension headers`);
    }
    if (off + 2 > b.length) throw fail(`extension header ${next}`);
    const len = next === IPPROTO.FRAGMENT ? 8 : next === IPPROTO.AH ? (get8(b, off + 1) + 2) * 4 : (get8(b, off + 1) + 1) * 8; // AH: RFC 4302 §2.2
    if (off + len > b.length) throw fail(`extension header ${next}`);
    const nextHeader = get8(b, off);
    let ext: Ipv6Extension;
    if (next === IPPROTO.HOPOPTS || next === IPPROTO.DSTOPTS) {
      const kind = next === IPPROTO.HOPOPTS ? 'hop-by-hop' : 'destination';
      ext = { kind, nextHeader, options: parseOptions(b, off + 2, off + len) };
    } else if (next === IPPROTO.ROUTING) {
      ext = { kind: 'routing', nextHeader, routingType: get8(b, off + 2), segmentsLeft: get8(b, off + 3), data: b.subarray(off + 4, off + len) };
    } else if (next === IPPROTO.FRAGMENT) {
      const w = get16(b, off + 2);
      fragment = { kind: 'fragment', nextHeader, offset: w >>> 3, more: (w & 1) !== 0, identification: get32(b, off + 4) };
      ext = fragment;
    } else {
      ext = { kind: 'other', protocol: next, nextHeader, data: b.subarray(off + 2, off + len) };
    }
    extensions.push(ext);
    next = nextHeader;
    off += len;
    if (fragment !== undefined && fragment.offset !== 0) break;
  }
  return { extensions, protocol: next, offset: off, fragment };
}

/** RFC 8200 §4.2: Pad1 is one zero byte; every other option is type, length, data. */
function parseOptions(b: Uint8Array, i: number, end: number): Ipv6Option[] {
  const out: Ipv6Option[] = [];
  while (i < end) {
    const type = get8(b, i);
    if (type === 0) {
      i++;
      continue;
    } // Pad1
    if (i + 2 > end || i + 2 + get8(b, i + 1) > end) {
      throw new PacketError('BAD_LENGTH', 'ipv6', `option ${type} overruns its extension header`);
    }
    const dataEnd = i + 2 + get8(b, i + 1);
    if (type !== 1) out.push({ type, data: b.subarray(i + 2, dataEnd) }); // 1 = PadN
    i = dataEnd;
  }
  return out;
}

export function extensionProtocol(spec: Ipv6ExtensionSpec): number {
  switch (spec.kind) {
    case 'hop-by-hop':
      return IPPROTO.HOPOPTS;
    case 'destination':
      return IPPROTO.DSTOPTS;
    case 'routing':
      return IPPROTO.ROUTING;
    case 'fragment':
      return IPPROTO.FRAGMENT;
  }
}

export function extensionLength(spec: Ipv6ExtensionSpec): number {
  let len: number;
  if (spec.kind === 'fragment') return 8;
  if (spec.kind === 'routing') {
    len = 4 + (spec.data?.length ?? 4);
    if (len % 8 !== 0) throw new PacketError('BAD_LENGTH', 'ipv6', `routing header length ${len} not a multiple of 8`);
  } else {
    len = 2;
    for (const o of spec.options ?? []) len += 2 + o.data.length;
    len = Math.ceil(len / 8) * 8; // RFC 8200 §4.3: header is a multiple of 8 octets
  }
  if (len > 2048) throw new PacketError('BAD_LENGTH', 'ipv6', `extension header ${len} bytes > 2048`);
  return len;
}

/** Writes one extension header; returns the offset after it. */
export function writeExtension(out: Uint8Array, off: number, spec: Ipv6ExtensionSpec, nextHeader: number): number {
  const len = extensionLength(spec);
  out.fill(0, off, off + len);
  out[off] = nextHeader;
  if (spec.kind === 'fragment') {
    const fo = checkUint(spec.offset ?? 0, 0x1fff, 'ipv6', 'fragment offset');
    out[off + 2] = fo >>> 5;
    out[off + 3] = ((fo & 0x1f) << 3) | (spec.more ? 1 : 0);
    put32(out, off + 4, checkUint(spec.identification ?? 0, 0xffffffff, 'ipv6', 'fragment identification'));
    return off + 8;
  }
  out[off + 1] = len / 8 - 1;
  if (spec.kind === 'routing') {
    out[off + 2] = checkUint(spec.routingType, 255, 'ipv6', 'routingType');
    out[off + 3] = checkUint(spec.segmentsLeft, 255, 'ipv6', 'segmentsLeft');
    if (spec.data) out.set(spec.data, off + 4);
    return off + len;
  }
  let i = off + 2;
  for (const o of spec.options ?? []) {
    if (o.type === 0 || o.type === 1) throw new PacketError('BAD_VALUE', 'ipv6', 'padding options are added automatically');
    out[i] = checkUint(o.type, 255, 'ipv6', 'option type');
    out[i + 1] = checkUint(o.data.length, 255, 'ipv6', 'option length');
    out.set(o.data, i + 2);
    i += 2 + o.data.length;
  }
  // RFC 8200 §4.2: fill to the 8-octet boundary with Pad1 (one byte) or PadN
  const pad = off + len - i;
  if (pad >= 2) {
    out[i] = 1;
    out[i + 1] = pad - 2;
  } // PadN; the data bytes are already zero
  return off + len;
}
