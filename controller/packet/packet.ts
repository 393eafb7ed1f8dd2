/**
 * Whole frames: `parsePacket` decodes Ethernet through the transport layer
 * into one layered object; `buildPacket` does the reverse, computing every
 * length and checksum.
 *
 * Parsing is meant for the packet-in hot path: every byte array in the
 * result (payloads, options, header views) is a *view* into the caller's
 * buffer, not a copy. A caller that keeps any of them after the buffer may be
 * reused (e.g. past the packet-in callback) must copy them (`.slice()`).
 */
import { type Arp, type ArpSpec, ARP_LENGTH, parseArp, writeArp } from './arp.js';
import { EMPTY } from './bytes.js';
import { PacketError } from './errors.js';
import {
  type EthernetHeader,
  ETHERNET_HEADER_LENGTH,
  ETHERTYPE,
  MIN_ETHERTYPE,
  parseEthernet,
  writeEtherType,
  writeEthernetAddrs,
} from './ethernet.js';
import { type Icmp, type IcmpSpec, ICMP_HEADER_LENGTH, finishIcmp, parseIcmp, writeIcmp } from './icmp.js';
import { type Icmpv6, type Icmpv6Spec, finishIcmpv6, icmpv6HeaderLength, parseIcmpv6, writeIcmpv6 } from './icmpv6.js';
import { IPPROTO } from './ip-proto.js';
import { type Ipv4, type Ipv4Spec, ipv4HeaderLength, parseIpv4, writeIpv4 } from './ipv4.js';
import { type Ipv6, type Ipv6Spec, ipv6HeadersLength, parseIpv6, writeIpv6 } from './ipv6.js';
import { type Lldp, type LldpSpec, encodeLldp, parseLldp } from './lldp.js';
import { type Tcp, type TcpSpec, finishTcp, parseTcp, tcpHeaderLength, writeTcp } from './tcp.js';
import { type Udp, type UdpSpec, UDP_HEADER_LENGTH, finishUdp, parseUdp, writeUdp } from './udp.js';
import { type VlanSpec, type VlanTag, isVlanTpid, parseVlanTags, writeVlanTag } from './vlan.js';

export interface Packet {
  /** `eth.etherType` is the type after any VLAN tags. */
  eth: EthernetHeader;
  /** Outermost first; empty when untagged. */
  vlans: VlanTag[];
  arp?: Arp;
  ipv4?: Ipv4;
  ipv6?: Ipv6;
  icmp?: Icmp;
  icmpv6?: Icmpv6;
  tcp?: Tcp;
  udp?: Udp;
  lldp?: Lldp;
  /**
   * Bytes after the innermost decoded header (view): TCP/UDP data, ICMP echo
   * data, the IP payload of unknown protocols or non-first fragments, or the
   * rest of the frame (often padding) after ARP/LLDP/unknown EtherTypes.
   * Never includes Ethernet padding beyond an IP length.
   */
  payload: Uint8Array;
  /** The frame is shorter than its IP header says (capture cut, e.g. packet-in max_len). */
  truncated: boolean;
}

/** Throws PacketError only; see the module comment about views. */
export function parsePacket(buf: Uint8Array): Packet {
  const eth = parseEthernet(buf);
  let type = eth.etherType;
  let off = ETHERNET_HEADER_LENGTH;
  let vlans: VlanTag[] = [];
  if (isVlanTpid(type)) {
    const v = parseVlanTags(buf, off, type);
    vlans = v.tags;
    type = v.etherType;
    off = v.offset;
  }
  eth.etherType = type;
  // Every key present from the start keeps one object shape for the JIT.
  const p: Packet = {
    eth,
    vlans,
    arp: undefined,
    ipv4: undefined,
    ipv6: undefined,
    icmp: undefined,
    icmpv6: undefined,
    tcp: undefined,
    udp: undefined,
    lldp: undefined,
    payload: EMPTY,
    truncated: false,
  };
  const l3 = buf.subarray(off);
  if (type === ETHERTYPE.IPV4) {
    const ip = parseIpv4(l3);
    p.ipv4 = ip;
    p.truncated = ip.truncated;
    // Only the first fragment (offset 0) starts with the transport header (RFC 791 §2.3).
    if (ip.fragmentOffset === 0) parseUpper(p, ip.protocol, ip.payload, ip.truncated || ip.moreFragments, 4);
    else p.payload = ip.payload;
  } else if (type === ETHERTYPE.IPV6) {
    const ip = parseIpv6(l3);
    p.ipv6 = ip;
    p.truncated = ip.truncated;
    const frag = ip.fragment;
    if (frag === undefined || frag.offset === 0) parseUpper(p, ip.protocol, ip.payload, ip.truncated || frag?.more === true, 6);
    else p.payload = ip.payload;
  } else if (type === ETHERTYPE.ARP) {
    p.arp = parseArp(l3);
    p.payload = l3.subarray(ARP_LENGTH);
  } else if (type === ETHERTYPE.LLDP) {
    const lldp = parseLldp(l3);
    p.lldp = lldp;
    p.payload = l3.subarray(lldp.length);
  } else {
    p.payload = l3; // unknown EtherType, or an 802.3 length (< MIN_ETHERTYPE) followed by LLC
  }
  return p;
}

/** `cut`: the IP payload may be incomplete (capture cut, or a first fragment). */
function parseUpper(p: Packet, protocol: number, b: Uint8Array, cut: boolean, version: 4 | 6): void {
  if (protocol === IPPROTO.TCP) {
    p.tcp = parseTcp(b);
    p.payload = p.tcp.payload;
  } else if (protocol === IPPROTO.UDP) {
    p.udp = parseUdp(b, cut);
    p.payload = p.udp.payload;
  } else if (protocol === IPPROTO.ICMP && version === 4) {
    p.icmp = parseIcmp(b);
    p.payload = p.icmp.data;
  } else if (protocol === IPPROTO.ICMPV6 && version === 6) {
    const m = parseIcmpv6(b, cut);
    p.icmpv6 = m;
    p.payload = 'data' in m ? m.data : b.subarray(b.length);
  } else {
    p.payload = b;
  }
}

export interface PacketSpec {
  eth: {
    dst: string;
    src: string;
    /** Needed only when no network layer is given; otherwise derived. */
    etherType?: number;
  };
  /** Outermost first. */
  vlans?: VlanSpec[];
  /** At most one of arp / lldp / ipv4 / ipv6. */
  arp?: ArpSpec;
  lldp?: LldpSpec;
  ipv4?: Ipv4Spec;
  ipv6?: Ipv6Spec;
  /** At most one transport; icmp needs ipv4, icmpv6 needs ipv6. */
  icmp?: IcmpSpec;
  icmpv6?: Icmpv6Spec;
  tcp?: TcpSpec;
  udp?: UdpSpec;
  /** Data after the innermost header. */
  payload?: Uint8Array;
  /** Zero-pad the frame to at least this many bytes (60 = Ethernet minimum without FCS). Default: no padding. */
  minLength?: number;
}

function specError(msg: string): PacketError {
  return new PacketError('BAD_VALUE', 'build', msg);
}

/**
 * Builds a whole frame. IP lengths, UDP length, Next Header chains and every
 * checksum (IPv4 header, TCP/UDP/ICMPv6 with the IPv4 or IPv6 pseudo-header,
 * ICMP) are computed unless a spec supplies `checksum` explicitly. With an
 * IPv6 Routing header the pseudo-header uses the header's Destination Address,
 * i.e. the packet as the final destination will see it (RFC 8200 §8.1).
 */
export function buildPacket(spec: PacketSpec): Uint8Array {
  const { arp, lldp, ipv4, ipv6, icmp, icmpv6, tcp, udp } = spec;
  if ([arp, lldp, ipv4, ipv6].filter((x) => x !== undefined).length > 1) throw specError('more than one network layer');
  if ([icmp, icmpv6, tcp, udp].filter((x) => x !== undefined).length > 1) throw specError('more than one transport layer');
  if ((tcp || udp) && !ipv4 && !ipv6) throw specError('tcp/udp need ipv4 or ipv6');
  if (icmp && !ipv4) throw specError('icmp needs ipv4');
  if (icmpv6 && !ipv6) throw specError('icmpv6 needs ipv6');
  const payload = spec.payload ?? EMPTY;
  const isNdp = icmpv6 !== undefined && !['echo-request', 'echo-reply', 'other'].includes(icmpv6.kind);
  if (isNdp && payload.length > 0) throw specError('ND messages take options, not a payload');

  let protocol: number;
  let l4Len: number;
  if (tcp) [protocol, l4Len] = [IPPROTO.TCP, tcpHeaderLength(tcp)];
  else if (udp) [protocol, l4Len] = [IPPROTO.UDP, UDP_HEADER_LENGTH];
  else if (icmp) [protocol, l4Len] = [IPPROTO.ICMP, ICMP_HEADER_LENGTH];
  else if (icmpv6) [protocol, l4Len] = [IPPROTO.ICMPV6, icmpv6HeaderLength(icmpv6)];
  else {
    l4Len = 0;
    if (ipv4 && ipv4.protocol === undefined) throw specError('ipv4.protocol is required without a transport layer');
    protocol = ipv4?.protocol ?? ipv6?.nextHeader ?? IPPROTO.NONE;
  }
  const upperLen = l4Len + payload.length;
  const lldpBytes = lldp ? encodeLldp(lldp) : EMPTY;
  const l3Len = arp ? ARP_LENGTH : lldp ? lldpBytes.length : ipv4 ? ipv4HeaderLength(ipv4) : ipv6 ? ipv6HeadersLength(ipv6) : 0;
  const vlans = spec.vlans ?? [];
  const total = ETHERNET_HEADER_LENGTH + 4 * vlans.length + l3Len + upperLen;
  const out = new Uint8Array(Math.max(total, spec.minLength ?? 0));

  const etherType = spec.eth.etherType ?? (arp ? ETHERTYPE.ARP : lldp ? ETHERTYPE.LLDP : ipv4 ? ETHERTYPE.IPV4 : ipv6 ? ETHERTYPE.IPV6 : undefined);
  if (etherType === undefined) throw specError('eth.etherType is required without a network layer');
  if (etherType > 0xffff || etherType < 0) throw specError(`bad etherType ${etherType}`);
  if (etherType < MIN_ETHERTYPE && (arp || lldp || ipv4 || ipv6)) throw specError('etherType is an 802.3 length');
  let off = writeEthernetAddrs(out, 0, spec.eth.dst, spec.eth.src);
  for (const [i, vlan] of vlans.entries()) off = writeVlanTag(out, off, vlan, i === vlans.length - 1);
  off = writeEtherType(out, off, etherType);

  const l3 = off;
  if (arp) off = writeArp(out, off, arp);
  else if (lldp) {
    out.set(lldpBytes, off);
    off += lldpBytes.length;
  } else if (ipv4) off = writeIpv4(out, off, ipv4, protocol, upperLen);
  else if (ipv6) off = writeIpv6(out, off, ipv6, protocol, upperLen);

  const l4 = off;
  if (tcp) off = writeTcp(out, off, tcp);
  else if (udp) off = writeUdp(out, off, udp, payload.length);
  else if (icmp) off = writeIcmp(out, off, icmp);
  else if (icmpv6) off = writeIcmpv6(out, off, icmpv6);
  out.set(payload, off);
  const end = off + payload.length;

  // Transport checksums last: they cover the payload just written.
  if (icmp) finishIcmp(out, l4, end, icmp);
  if (tcp || udp || icmpv6) {
    const [src, dst] = ipv4
      ? [out.subarray(l3 + 12, l3 + 16), out.subarray(l3 + 16, l3 + 20)]
      : [out.subarray(l3 + 8, l3 + 24), out.subarray(l3 + 24, l3 + 40)];
    if (tcp) finishTcp(out, l4, end, tcp, src, dst);
    else if (udp) finishUdp(out, l4, end, udp, src, dst);
    else if (icmpv6) finishIcmpv6(out, l4, end, icmpv6, src, dst);
  }
  return out;
}
