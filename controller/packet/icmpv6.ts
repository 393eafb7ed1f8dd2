/**
 * ICMPv6 (RFC 4443), with Neighbor Discovery messages decoded by ndp.ts.
 * The checksum covers the IPv6 pseudo-header (RFC 4443 §2.3, RFC 8200 §8.1).
 */
import { checkUint, get16, get32, get8, put16, put32 } from './bytes.js';
import { transportChecksum } from './checksum.js';
import { needBytes } from './errors.js';
import { IPPROTO } from './ip-proto.js';
import { type NdpMessage, type NdpSpec, NDP_TYPE, isNdpType, ndpLength, parseNdp, writeNdp } from './ndp.js';

export const ICMPV6_TYPE = {
  DEST_UNREACHABLE: 1,
  PACKET_TOO_BIG: 2,
  TIME_EXCEEDED: 3,
  PARAMETER_PROBLEM: 4,
  ECHO_REQUEST: 128,
  ECHO_REPLY: 129,
  ...NDP_TYPE,
} as const;

export const ICMPV6_HEADER_LENGTH = 8;

interface Base {
  type: number;
  code: number;
  checksum: number;
  /** Bytes after the 8-byte header (view). */
  data: Uint8Array;
}

export type Icmpv6 =
  | (Base & { kind: 'echo-request' | 'echo-reply'; identifier: number; sequence: number })
  | (Base & { kind: 'packet-too-big'; mtu: number })
  /** Errors (data = invoking packet) and unknown types; `rest` is bytes 4..7 (the pointer for type 4). */
  | (Base & { kind: 'other'; rest: number })
  | NdpMessage;

export type Icmpv6Spec = (
  | { kind: 'echo-request'; identifier?: number; sequence?: number }
  | { kind: 'echo-reply'; identifier?: number; sequence?: number }
  | { kind: 'other'; type: number; rest?: number }
  | NdpSpec
) & {
  code?: number;
  /** Write this instead of the computed checksum (for negative tests). */
  checksum?: number;
};

/** `cut`: the message may have been cut by capture (relaxes ND option parsing). */
export function parseIcmpv6(b: Uint8Array, cut = false): Icmpv6 {
  needBytes(b.length, ICMPV6_HEADER_LENGTH, 'icmpv6');
  const type = get8(b, 0);
  if (isNdpType(type)) return parseNdp(b, cut);
  const code = get8(b, 1);
  const checksum = get16(b, 2);
  const data = b.subarray(ICMPV6_HEADER_LENGTH);
  if (type === ICMPV6_TYPE.ECHO_REQUEST || type === ICMPV6_TYPE.ECHO_REPLY) {
    const kind = type === ICMPV6_TYPE.ECHO_REQUEST ? 'echo-request' : 'echo-reply';
    return { kind, type, code, checksum, identifier: get16(b, 4), sequence: get16(b, 6), data };
  }
  if (type === ICMPV6_TYPE.PACKET_TOO_BIG) return { kind: 'packet-too-big', type, code, checksum, mtu: get32(b, 4), data };
  return { kind: 'other', type, code, checksum, rest: get32(b, 4), data };
}

/** Bytes the message itself occupies before any caller payload (ND messages take none). */
export function icmpv6HeaderLength(spec: Icmpv6Spec): number {
  return spec.kind === 'echo-request' || spec.kind === 'echo-reply' || spec.kind === 'other' ? ICMPV6_HEADER_LENGTH : ndpLength(spec);
}

/** Writes the message with a zero checksum; call finishIcmpv6 once any payload is in place. */
export function writeIcmpv6(out: Uint8Array, off: number, spec: Icmpv6Spec): number {
  const code = checkUint(spec.code ?? 0, 255, 'icmpv6', 'code');
  if (spec.kind === 'echo-request' || spec.kind === 'echo-reply') {
    out[off] = spec.kind === 'echo-request' ? ICMPV6_TYPE.ECHO_REQUEST : ICMPV6_TYPE.ECHO_REPLY;
    out[off + 1] = code;
    put16(out, off + 2, 0);
    put16(out, off + 4, checkUint(spec.identifier ?? 0, 0xffff, 'icmpv6', 'identifier'));
    put16(out, off + 6, checkUint(spec.sequence ?? 0, 0xffff, 'icmpv6', 'sequence'));
    return off + ICMPV6_HEADER_LENGTH;
  }
  if (spec.kind === 'other') {
    out[off] = checkUint(spec.type, 255, 'icmpv6', 'type');
    out[off + 1] = code;
    put16(out, off + 2, 0);
    put32(out, off + 4, checkUint(spec.rest ?? 0, 0xffffffff, 'icmpv6', 'rest'));
    return off + ICMPV6_HEADER_LENGTH;
  }
  return writeNdp(out, off, spec, code);
}

export function finishIcmpv6(out: Uint8Array, off: number, end: number, spec: Icmpv6Spec, src: Uint8Array, dst: Uint8Array): void {
  put16(out, off + 2, spec.checksum ?? transportChecksum(src, dst, IPPROTO.ICMPV6, out.subarray(off, end)));
}
