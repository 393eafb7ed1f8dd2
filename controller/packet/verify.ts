/** Checksum verification of a parsed packet, using the layer views parsePacket returns. */
import { verifyIcmpChecksum, verifyIpv4Checksum, verifyTransportChecksum } from './checksum.js';
import { IPPROTO } from './ip-proto.js';
import type { Packet } from './packet.js';

/**
 * 'absent': UDP over IPv4 with checksum 0 (RFC 768). 'unverifiable': the
 * checksum covers bytes we do not have (capture cut, or a fragment of a
 * larger datagram), or an address we do not decode (Routing header with
 * Segments Left > 0).
 */
export type ChecksumStatus = 'ok' | 'bad' | 'absent' | 'unverifiable';

export interface PacketChecksums {
  /** IPv4 header checksum; undefined for non-IPv4 frames. */
  ipv4?: ChecksumStatus;
  /** TCP / UDP / ICMP / ICMPv6 checksum; undefined without one of those. */
  transport?: ChecksumStatus;
}

export function verifyPacketChecksums(p: Packet): PacketChecksums {
  const r: PacketChecksums = {};
  const ip = p.ipv4 ?? p.ipv6;
  if (p.ipv4) r.ipv4 = verifyIpv4Checksum(p.ipv4.header) ? 'ok' : 'bad';
  if (!ip || !(p.tcp || p.udp || p.icmp || p.icmpv6)) return r;
  const fragmented = p.ipv4
    ? p.ipv4.moreFragments || p.ipv4.fragmentOffset !== 0
    : p.ipv6?.fragment !== undefined && (p.ipv6.fragment.more || p.ipv6.fragment.offset !== 0);
  // RFC 8200 §8.1: with Segments Left > 0 the pseudo-header uses a final
  // destination held inside the type-specific Routing header; we do not decode those.
  const enRoute = p.ipv6?.extensions.some((e) => e.kind === 'routing' && e.segmentsLeft > 0) === true;
  let segment = ip.payload;
  if (p.udp) {
    if (p.udp.truncated || fragmented || p.truncated || enRoute) return { ...r, transport: 'unverifiable' };
    // RFC 768: zero means the sender computed none; RFC 8200 §8.1 makes it mandatory over IPv6
    if (p.udp.checksum === 0) return { ...r, transport: p.ipv4 ? 'absent' : 'bad' };
    segment = segment.subarray(0, p.udp.length);
  }
  if (p.truncated || fragmented || enRoute) return { ...r, transport: 'unverifiable' };
  if (p.icmp) return { ...r, transport: verifyIcmpChecksum(segment) ? 'ok' : 'bad' };
  const h = ip.header;
  const [src, dst] = p.ipv4 ? [h.subarray(12, 16), h.subarray(16, 20)] : [h.subarray(8, 24), h.subarray(24, 40)];
  const proto = p.tcp ? IPPROTO.TCP : p.udp ? IPPROTO.UDP : IPPROTO.ICMPV6;
  return { ...r, transport: verifyTransportChecksum(src, dst, proto, segment) ? 'ok' : 'bad' };
}
