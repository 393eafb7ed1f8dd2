/**
 * Ryu's packet-library JSON (`{"Packet": {"protocols": [{"ethernet": {...}}, {"ipv4": {...}}, ...]}}`, the form
 * Ryu's `Packet.to_jsondict()` writes and its packet-out `data` may take) to the frame's bytes, built with
 * `buildPacket`. As Ryu's serializers do, a length or checksum of 0 is computed; any other checksum is written as
 * given, and a length that disagrees with the frame is refused rather than written.
 */
import { PacketError } from './errors.js';
import { buildPacket, type PacketSpec } from './packet.js';
import { ETHERTYPE } from './ethernet.js';
import { IPPROTO } from './ip-proto.js';
import type { VlanSpec } from './vlan.js';

type Dict = Record<string, unknown>;

function fail(msg: string): never {
  throw new PacketError('BAD_VALUE', 'ryu-packet', msg);
}

function dict(v: unknown, what: string): Dict {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(`${what} is not an object`);
  return v as Dict;
}

function uint(d: Dict, key: string, max: number, what: string, dflt?: number): number {
  const v = d[key] ?? dflt;
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) fail(`${what}.${key} is not an integer in 0..${max}`);
  return n;
}

function text(d: Dict, key: string, what: string): string {
  const v = d[key];
  if (typeof v !== 'string') fail(`${what}.${key} is not text`);
  return v;
}

/** Ryu writes a checksum of 0 as "compute it". */
function checksum(d: Dict, key: string, what: string): number | undefined {
  const c = uint(d, key, 0xffff, what, 0);
  return c === 0 ? undefined : c;
}

function base64(d: Dict, key: string, what: string): Uint8Array {
  const v = d[key];
  if (v === undefined || v === null) return new Uint8Array(0);
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) fail(`${what}.${key} is not base64`);
  return Buffer.from(v, 'base64');
}

function none(d: Dict, key: string, what: string): void {
  const v = d[key];
  if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0)) fail(`${what}.${key} is not supported here (only null)`);
}

/** A length Ryu carries: 0 means computed; anything else must be what the frame has. */
function checkLength(given: number, actual: number, what: string): void {
  if (given !== 0 && given !== actual) fail(`${what} is ${given}, but the frame built from the protocols gives ${actual}`);
}

interface Lengths {
  ipv4Total?: number;
  ipv4HeaderWords?: number;
  ipv6Payload?: number;
  udpTotal?: number;
  tcpOffset?: number;
}

/** The frame of a Ryu `{"Packet": {"protocols": [...]}}` dict. */
export function packetFromRyuJson(obj: unknown): Uint8Array {
  const packet = dict(dict(obj, 'packet data').Packet, 'Packet');
  const protocols = packet.protocols;
  if (!Array.isArray(protocols) || protocols.length === 0) fail('Packet.protocols is not a non-empty list');
  const layers = protocols.map((p, i) => {
    const entries = Object.entries(dict(p, `Packet.protocols[${i}]`));
    if (entries.length !== 1) fail(`Packet.protocols[${i}] must hold one protocol`);
    return { name: entries[0]![0], d: dict(entries[0]![1], entries[0]![0]) };
  });

  const first = layers[0]!;
  if (first.name !== 'ethernet') fail(`the first protocol is ${first.name}, not ethernet`);
  const spec: PacketSpec = { eth: { dst: text(first.d, 'dst', 'ethernet'), src: text(first.d, 'src', 'ethernet') } };
  const lengths: Lengths = {};
  let etherType = uint(first.d, 'ethertype', 0xffff, 'ethernet');
  let ipProto: number | undefined;
  const vlans: VlanSpec[] = [];
  for (const { name, d } of layers.slice(1)) {
    switch (name) {
      case 'vlan':
      case 'svlan':
        vlans.push({ tpid: etherType, pcp: uint(d, 'pcp', 7, name, 0), dei: uint(d, 'cfi', 1, name, 0) === 1, vid: uint(d, 'vid', 0xfff, name) });
        etherType = uint(d, 'ethertype', 0xffff, name);
        break;
      case 'ipv4': {
        if (etherType !== ETHERTYPE.IPV4) fail(`ipv4 follows ethertype 0x${etherType.toString(16)}`);
        if (uint(d, 'version', 15, name, 4) !== 4) fail('ipv4.version is not 4');
        none(d, 'option', name);
        const tos = uint(d, 'tos', 0xff, name, 0);
        const flags = uint(d, 'flags', 7, name, 0);
        ipProto = uint(d, 'proto', 0xff, name);
        spec.ipv4 = {
          src: text(d, 'src', name),
          dst: text(d, 'dst', name),
          protocol: ipProto,
          ttl: uint(d, 'ttl', 0xff, name, 255),
          dscp: tos >>> 2,
          ecn: tos & 3,
          identification: uint(d, 'identification', 0xffff, name, 0),
          // Ryu's 3-bit flags field: 0b010 Don't Fragment, 0b001 More Fragments (RFC 791 §3.1)
          dontFragment: (flags & 2) !== 0,
          moreFragments: (flags & 1) !== 0,
          fragmentOffset: uint(d, 'offset', 0x1fff, name, 0),
          checksum: checksum(d, 'csum', name),
        };
        lengths.ipv4Total = uint(d, 'total_length', 0xffff, name, 0);
        lengths.ipv4HeaderWords = uint(d, 'header_length', 15, name, 0);
        break;
      }
      case 'ipv6':
        if (etherType !== ETHERTYPE.IPV6) fail(`ipv6 follows ethertype 0x${etherType.toString(16)}`);
        if (uint(d, 'version', 15, name, 6) !== 6) fail('ipv6.version is not 6');
        none(d, 'ext_hdrs', name);
        ipProto = uint(d, 'nxt', 0xff, name);
        spec.ipv6 = {
          src: text(d, 'src', name),
          dst: text(d, 'dst', name),
          trafficClass: uint(d, 'traffic_class', 0xff, name, 0),
          flowLabel: uint(d, 'flow_label', 0xfffff, name, 0),
          hopLimit: uint(d, 'hop_limit', 0xff, name, 255),
          nextHeader: ipProto,
        };
        lengths.ipv6Payload = uint(d, 'payload_length', 0xffff, name, 0);
        break;
      case 'arp':
        if (etherType !== ETHERTYPE.ARP) fail(`arp follows ethertype 0x${etherType.toString(16)}`);
        if (
          uint(d, 'hwtype', 0xffff, name, 1) !== 1 ||
          uint(d, 'proto', 0xffff, name, ETHERTYPE.IPV4) !== ETHERTYPE.IPV4 ||
          uint(d, 'hlen', 0xff, name, 6) !== 6 ||
          uint(d, 'plen', 0xff, name, 4) !== 4
        )
          fail('arp is not Ethernet/IPv4');
        spec.arp = {
          opcode: uint(d, 'opcode', 0xffff, name),
          senderMac: text(d, 'src_mac', name),
          senderIp: text(d, 'src_ip', name),
          targetMac: text(d, 'dst_mac', name),
          targetIp: text(d, 'dst_ip', name),
        };
        break;
      case 'icmp': {
        if (ipProto !== IPPROTO.ICMP || !spec.ipv4) fail('icmp needs ipv4 with proto 1 before it');
        const type = uint(d, 'type', 0xff, name);
        spec.icmp = { type, code: uint(d, 'code', 0xff, name, 0), checksum: checksum(d, 'csum', name) };
        const data = d.data === undefined || d.data === null ? undefined : dict(d.data, 'icmp.data');
        if (data) {
          const [kind, body] = Object.entries(data)[0] ?? ['(none)', undefined];
          if (kind !== 'echo') fail(`icmp.data.${kind} is not supported here (echo only)`);
          const echo = dict(body, 'icmp.data.echo');
          spec.icmp.identifier = uint(echo, 'id', 0xffff, 'echo');
          spec.icmp.sequence = uint(echo, 'seq', 0xffff, 'echo');
          spec.payload = base64(echo, 'data', 'echo');
        }
        break;
      }
      case 'tcp':
        if (ipProto !== IPPROTO.TCP) fail('tcp needs an IP header with protocol 6 before it');
        none(d, 'option', name);
        spec.tcp = {
          srcPort: uint(d, 'src_port', 0xffff, name),
          dstPort: uint(d, 'dst_port', 0xffff, name),
          seq: uint(d, 'seq', 0xffffffff, name, 0),
          ack: uint(d, 'ack', 0xffffffff, name, 0),
          flags: uint(d, 'bits', 0x1ff, name, 0),
          window: uint(d, 'window_size', 0xffff, name, 0),
          urgentPointer: uint(d, 'urgent', 0xffff, name, 0),
          checksum: checksum(d, 'csum', name),
        };
        lengths.tcpOffset = uint(d, 'offset', 15, name, 0);
        break;
      case 'udp':
        if (ipProto !== IPPROTO.UDP) fail('udp needs an IP header with protocol 17 before it');
        spec.udp = { srcPort: uint(d, 'src_port', 0xffff, name), dstPort: uint(d, 'dst_port', 0xffff, name), checksum: checksum(d, 'csum', name) };
        lengths.udpTotal = uint(d, 'total_length', 0xffff, name, 0);
        break;
      default:
        fail(`protocol ${name} is not supported in packet data (ethernet, vlan, svlan, arp, ipv4, ipv6, icmp, tcp, udp)`);
    }
  }
  if (vlans.length) spec.vlans = vlans;
  spec.eth.etherType = etherType;
  const frame = buildPacket(spec);
  checkLengths(frame, 14 + 4 * vlans.length, lengths, spec);
  return frame;
}

/** The lengths Ryu's JSON gave, against the frame built. */
function checkLengths(frame: Uint8Array, l3: number, lengths: Lengths, spec: PacketSpec): void {
  const u16 = (at: number) => (frame[at]! << 8) | frame[at + 1]!;
  let l4 = l3;
  if (spec.ipv4) {
    checkLength(lengths.ipv4Total!, u16(l3 + 2), 'ipv4.total_length');
    checkLength(lengths.ipv4HeaderWords!, frame[l3]! & 0x0f, 'ipv4.header_length');
    l4 = l3 + (frame[l3]! & 0x0f) * 4;
  } else if (spec.ipv6) {
    checkLength(lengths.ipv6Payload!, u16(l3 + 4), 'ipv6.payload_length');
    l4 = l3 + 40;
  }
  if (spec.udp) checkLength(lengths.udpTotal!, u16(l4 + 4), 'udp.total_length');
  if (spec.tcp) checkLength(lengths.tcpOffset!, frame[l4 + 12]! >>> 4, 'tcp.offset');
}
