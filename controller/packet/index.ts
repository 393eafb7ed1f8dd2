/**
 * Packet library: parse and build Ethernet, 802.1Q, ARP, IPv4, IPv6 (with
 * extension headers), ICMP, ICMPv6/ND, TCP, UDP and LLDP.
 *
 * Parsed byte arrays are views into the input buffer; copy them to keep them.
 */
export * from './errors.js';
export * from './addr.js';
export * from './checksum.js';
export { ETHERTYPE, ETHERNET_HEADER_LENGTH, MIN_ETHERTYPE, MIN_FRAME_LENGTH, type EthernetHeader, parseEthernet } from './ethernet.js';
export { type VlanTag, type VlanSpec, MAX_VLAN_TAGS, isVlanTpid, parseVlanTags } from './vlan.js';
export { type Arp, type ArpSpec, ARP_OP, ARP_LENGTH, parseArp } from './arp.js';
export { IPPROTO } from './ip-proto.js';
export { type Ipv4, type Ipv4Spec, type Ipv4Option, parseIpv4, parseIpv4Options } from './ipv4.js';
export { type Ipv6, type Ipv6Spec, IPV6_HEADER_LENGTH, parseIpv6 } from './ipv6.js';
export { type Ipv6Extension, type Ipv6ExtensionSpec, type Ipv6Fragment, type Ipv6Option, MAX_IPV6_EXTENSIONS } from './ipv6-ext.js';
export { type Icmp, type IcmpSpec, ICMP_TYPE, parseIcmp } from './icmp.js';
export { type Icmpv6, type Icmpv6Spec, ICMPV6_TYPE, parseIcmpv6 } from './icmpv6.js';
export { type NdpMessage, type NdpOption, type NdpSpec, NDP_TYPE } from './ndp.js';
export { type Tcp, type TcpSpec, type TcpOption, TCP_FLAG, parseTcp, parseTcpOptions, encodeTcpOptions } from './tcp.js';
export { type Udp, type UdpSpec, parseUdp } from './udp.js';
export {
  type Lldp,
  type LldpId,
  type LldpIdSpec,
  type LldpSpec,
  type LldpTlv,
  LLDP_MULTICAST,
  LLDP_TLV,
  CHASSIS_ID_SUBTYPE,
  PORT_ID_SUBTYPE,
  parseLldp,
  encodeLldp,
} from './lldp.js';
export { type Packet, type PacketSpec, parsePacket, buildPacket } from './packet.js';
export { type ChecksumStatus, type PacketChecksums, verifyPacketChecksums } from './verify.js';
