/**
 * ICMP for IPv4 (RFC 792): type, code, checksum, four type-specific bytes,
 * then data. The checksum covers the whole message and, unlike ICMPv6, no
 * pseudo-header.
 */
import { checkUint, get16, get32, get8, put16, put32 } from './bytes.js';
import { internetChecksum } from './checksum.js';
import { needBytes } from './errors.js';

export const ICMP_TYPE = {
  ECHO_REPLY: 0,
  DEST_UNREACHABLE: 3,
  REDIRECT: 5,
  ECHO_REQUEST: 8,
  TIME_EXCEEDED: 11,
  PARAMETER_PROBLEM: 12,
} as const;

export const ICMP_HEADER_LENGTH = 8;

interface IcmpBase {
  type: number;
  code: number;
  checksum: number;
  /** Bytes after the 8-byte header (view): echo data, or the invoking datagram of an error. */
  data: Uint8Array;
}

export type Icmp =
  | (IcmpBase & { kind: 'echo-request' | 'echo-reply'; identifier: number; sequence: number })
  /** Any other type; `rest` is bytes 4..7 (e.g. the next-hop MTU of type 3 code 4, RFC 1191). */
  | (IcmpBase & { kind: 'other'; rest: number });

export interface IcmpSpec {
  type: number;
  code?: number;
  /** Echo identifier/sequence (types 0 and 8). */
  identifier?: number;
  sequence?: number;
  /** Bytes 4..7 for other types (ignored when identifier/sequence apply). */
  rest?: number;
  /** Write this instead of the computed checksum (for negative tests). */
  checksum?: number;
}

export function parseIcmp(b: Uint8Array): Icmp {
  needBytes(b.length, ICMP_HEADER_LENGTH, 'icmp');
  const type = get8(b, 0);
  const code = get8(b, 1);
  const checksum = get16(b, 2);
  const data = b.subarray(ICMP_HEADER_LENGTH);
  if (type === ICMP_TYPE.ECHO_REQUEST || type === ICMP_TYPE.ECHO_REPLY) {
    const kind = type === ICMP_TYPE.ECHO_REQUEST ? 'echo-request' : 'echo-reply';
    return { kind, type, code, checksum, identifier: get16(b, 4), sequence: get16(b, 6), data };
  }
  return { kind: 'other', type, code, checksum, rest: get32(b, 4), data };
}

/** Writes the 8-byte header with a zero checksum; call finishIcmp once the data is in place. */
export function writeIcmp(out: Uint8Array, off: number, spec: IcmpSpec): number {
  const type = checkUint(spec.type, 255, 'icmp', 'type');
  out[off] = type;
  out[off + 1] = checkUint(spec.code ?? 0, 255, 'icmp', 'code');
  put16(out, off + 2, 0);
  if (type === ICMP_TYPE.ECHO_REQUEST || type === ICMP_TYPE.ECHO_REPLY) {
    put16(out, off + 4, checkUint(spec.identifier ?? 0, 0xffff, 'icmp', 'identifier'));
    put16(out, off + 6, checkUint(spec.sequence ?? 0, 0xffff, 'icmp', 'sequence'));
  } else {
    put32(out, off + 4, checkUint(spec.rest ?? 0, 0xffffffff, 'icmp', 'rest'));
  }
  return off + ICMP_HEADER_LENGTH;
}

/** Fills in the checksum over out[off..end). */
export function finishIcmp(out: Uint8Array, off: number, end: number, spec: IcmpSpec): void {
  put16(out, off + 2, spec.checksum ?? internetChecksum(out, off, end));
}
