/**
 * The one error type the packet library throws.
 *
 * Parsers run on untrusted bytes from the wire (OpenFlow packet-in data), so
 * every failure must be a typed, catchable PacketError with a machine-readable
 * code: never a RangeError from a DataView, never an `undefined` read turned
 * into NaN, never a loop that fails to terminate.
 */
export type PacketErrorCode =
  /** The buffer ends before a header (or a TLV inside one) is complete. */
  | 'TRUNCATED'
  /** A length field is impossible (below the minimum, or beyond its enclosing layer). */
  | 'BAD_LENGTH'
  /** An IP version nibble does not match the EtherType that led to it. */
  | 'BAD_VERSION'
  /** A field holds a value the format forbids, or a build spec is inconsistent. */
  | 'BAD_VALUE'
  /** A MAC / IPv4 / IPv6 address in text form does not parse. */
  | 'BAD_ADDRESS'
  /** More stacked headers (VLAN tags, IPv6 extension headers) than we are willing to walk. */
  | 'TOO_MANY_HEADERS';

export class PacketError extends Error {
  override readonly name = 'PacketError';
  readonly code: PacketErrorCode;
  /** The layer being parsed or built, e.g. 'ipv6', 'lldp', 'build'. */
  readonly layer: string;

  constructor(code: PacketErrorCode, layer: string, message: string) {
    super(`${layer}: ${message}`);
    this.code = code;
    this.layer = layer;
  }
}

/** Throws TRUNCATED unless `have >= need`. */
export function needBytes(have: number, need: number, layer: string, what = 'header'): void {
  if (have < need) {
    throw new PacketError('TRUNCATED', layer, `${what} needs ${need} bytes, only ${have} present`);
  }
}
