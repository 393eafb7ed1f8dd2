/**
 * Shared test material for the packet library: one build spec per frame kind,
 * a seeded PRNG, and a minimal pcap writer (for tshark).
 */
import { writeFileSync } from 'node:fs';
import {
  CHASSIS_ID_SUBTYPE,
  LLDP_MULTICAST,
  PORT_ID_SUBTYPE,
  TCP_FLAG,
  encodeTcpOptions,
  PacketError,
  type PacketSpec,
} from '../../../controller/packet/index.js';

export const MAC_A = '02:00:00:00:00:0a';
export const MAC_B = '02:00:00:00:00:0b';
export const V4_A = '198.18.0.10';
export const V4_B = '198.18.0.11';
export const V6_A = 'fd00:dead:beef::a';
export const V6_B = 'fd00:dead:beef::b';

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A SYN's usual options: MSS 1460, SACK permitted, timestamps, NOP, window scale 7 (20 bytes). */
export const SYN_OPTIONS = encodeTcpOptions([
  { kind: 2, data: new Uint8Array([0x05, 0xb4]) },
  { kind: 4, data: new Uint8Array(0) },
  { kind: 8, data: new Uint8Array([0, 0, 0x30, 0x39, 0, 0, 0, 0]) },
  { kind: 1, data: new Uint8Array(0) },
  { kind: 3, data: new Uint8Array([7]) },
]);

const v4 = { src: V4_A, dst: V4_B };
const v6 = { src: V6_A, dst: V6_B };
const eth = { src: MAC_A, dst: MAC_B };

export interface Fixture {
  name: string;
  spec: PacketSpec;
  /** tshark's "[Protocols in frame: ...]" for this frame. */
  protocols: string;
}

export const FIXTURES: Fixture[] = [
  {
    name: 'arp-request',
    spec: { eth: { src: MAC_A, dst: 'ff:ff:ff:ff:ff:ff' }, arp: { opcode: 1, senderMac: MAC_A, senderIp: V4_A, targetIp: V4_B }, minLength: 60 },
    protocols: 'eth:ethertype:arp',
  },
  {
    name: 'icmp-echo',
    spec: {
      eth,
      ipv4: { ...v4, identification: 0x1c46, dontFragment: true },
      icmp: { type: 8, identifier: 0x1234, sequence: 7 },
      payload: text('dmzgate echo payload 0123456789'),
    },
    protocols: 'eth:ethertype:ip:icmp:data',
  },
  {
    name: 'icmp-ipv4-options',
    spec: {
      eth,
      ipv4: { ...v4, ttl: 2, options: new Uint8Array([0x94, 0x04, 0x00, 0x00]) },
      icmp: { type: 8, identifier: 1, sequence: 2 },
      payload: text('odd'),
    },
    protocols: 'eth:ethertype:ip:icmp:data',
  },
  {
    name: 'icmpv6-ns-sll',
    spec: {
      eth: { src: MAC_A, dst: '33:33:ff:00:00:0b' },
      ipv6: { src: V6_A, dst: 'ff02::1:ff00:b', hopLimit: 255 },
      icmpv6: { kind: 'neighbor-solicitation', target: V6_B, options: [{ kind: 'source-link-layer', mac: MAC_A }] },
    },
    protocols: 'eth:ethertype:ipv6:icmpv6',
  },
  {
    name: 'icmpv6-na-tll',
    spec: {
      eth,
      ipv6: { ...v6, hopLimit: 255 },
      icmpv6: { kind: 'neighbor-advertisement', target: V6_A, solicited: true, override: true, options: [{ kind: 'target-link-layer', mac: MAC_A }] },
    },
    protocols: 'eth:ethertype:ipv6:icmpv6',
  },
  {
    name: 'icmpv6-rs',
    spec: {
      eth: { src: MAC_A, dst: '33:33:00:00:00:02' },
      ipv6: { src: 'fe80::a', dst: 'ff02::2', hopLimit: 255 },
      icmpv6: { kind: 'router-solicitation', options: [{ kind: 'source-link-layer', mac: MAC_A }] },
    },
    protocols: 'eth:ethertype:ipv6:icmpv6',
  },
  {
    name: 'icmpv6-ra',
    spec: {
      eth: { src: MAC_B, dst: '33:33:00:00:00:01' },
      ipv6: { src: 'fe80::b', dst: 'ff02::1', hopLimit: 255 },
      icmpv6: {
        kind: 'router-advertisement',
        curHopLimit: 64,
        other: true,
        routerLifetime: 1800,
        reachableTime: 30000,
        retransTimer: 1000,
        options: [
          { kind: 'source-link-layer', mac: MAC_B },
          { kind: 'mtu', mtu: 9000 },
          {
            kind: 'prefix-information',
            prefixLength: 64,
            onLink: true,
            autonomous: true,
            validLifetime: 86400,
            preferredLifetime: 14400,
            prefix: 'fd00:dead:beef::',
          },
        ],
      },
    },
    protocols: 'eth:ethertype:ipv6:icmpv6',
  },
  {
    name: 'icmpv6-echo',
    spec: {
      eth,
      ipv6: { ...v6, flowLabel: 0x12345, trafficClass: 0xb8 },
      icmpv6: { kind: 'echo-request', identifier: 0xbeef, sequence: 3 },
      payload: text('ping6 payload'),
    },
    protocols: 'eth:ethertype:ipv6:icmpv6:data',
  },
  {
    name: 'tcp-syn-v4',
    spec: {
      eth,
      ipv4: { ...v4, dontFragment: true, identification: 4242 },
      tcp: { srcPort: 43210, dstPort: 22, seq: 0x01020304, flags: TCP_FLAG.SYN, window: 64240, options: SYN_OPTIONS },
    },
    protocols: 'eth:ethertype:ip:tcp',
  },
  {
    name: 'tcp-syn-v6-hbh-frag',
    spec: {
      eth,
      ipv6: { ...v6, extensions: [{ kind: 'hop-by-hop' }, { kind: 'fragment', offset: 0, more: false, identification: 0xdeadbeef }] },
      tcp: { srcPort: 43211, dstPort: 80, seq: 0xfffffff0, flags: TCP_FLAG.SYN, window: 64800, options: SYN_OPTIONS },
    },
    protocols: 'eth:ethertype:ipv6:ipv6.hopopts:ipv6.fraghdr:tcp',
  },
  {
    name: 'udp-v6-routing-dstopts',
    spec: {
      eth,
      ipv6: {
        ...v6,
        extensions: [
          // Segment Routing header (type 4) with Segments Left 0: the header's
          // Destination Address is the final one, as the pseudo-header needs.
          { kind: 'routing', routingType: 4, segmentsLeft: 0, data: new Uint8Array([0, 0, 0, 0, ...Array(15).fill(0), 0x0b]) },
          { kind: 'destination', options: [{ type: 4, data: new Uint8Array([4]) }] },
        ],
      },
      udp: { srcPort: 40001, dstPort: 9999 },
      payload: text('hello over v6'),
    },
    protocols: 'eth:ethertype:ipv6:ipv6.routing:ipv6.dstopts:udp:data',
  },
  {
    name: 'udp-v4',
    spec: { eth, ipv4: v4, udp: { srcPort: 40000, dstPort: 9999 }, payload: text('hello over udp!') },
    protocols: 'eth:ethertype:ip:udp:data',
  },
  {
    name: 'lldp',
    spec: {
      eth: { src: MAC_A, dst: LLDP_MULTICAST },
      lldp: {
        chassisId: { subtype: CHASSIS_ID_SUBTYPE.MAC, id: MAC_A },
        portId: { subtype: PORT_ID_SUBTYPE.INTERFACE_NAME, id: 'eth7' },
        ttl: 120,
        portDescription: 'uplink to border',
        systemName: 'dmzgate-sw1',
      },
      minLength: 60,
    },
    protocols: 'eth:ethertype:lldp',
  },
  {
    name: 'vlan-tcp',
    spec: {
      eth,
      vlans: [{ vid: 100, pcp: 5 }],
      ipv4: v4,
      tcp: { srcPort: 5001, dstPort: 43210, seq: 1000, ack: 2000, flags: TCP_FLAG.ACK | TCP_FLAG.PSH, window: 501 },
      payload: text('not http, just bytes'),
    },
    protocols: 'eth:ethertype:vlan:ethertype:ip:tcp:data',
  },
  {
    name: 'qinq-udp',
    spec: {
      eth,
      vlans: [
        { vid: 20, dei: true },
        { vid: 4000, pcp: 7 },
      ],
      ipv4: v4,
      udp: { srcPort: 1, dstPort: 9999 },
      payload: text('x'),
    },
    protocols: 'eth:ethertype:ieee8021ad:ethertype:vlan:ethertype:ip:udp:data',
  },
];

/** mulberry32-style 32-bit PRNG: deterministic, so a failing seed reproduces. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x100000000;
  };
}

/** Classic libpcap file (magic a1b2c3d4, v2.4), link type 1 = Ethernet. */
export function writePcap(path: string, frames: Uint8Array[]): void {
  const parts: Buffer[] = [];
  const g = Buffer.alloc(24);
  g.writeUInt32LE(0xa1b2c3d4, 0);
  g.writeUInt16LE(2, 4);
  g.writeUInt16LE(4, 6);
  g.writeInt32LE(0, 8); // thiszone
  g.writeUInt32LE(0, 12); // sigfigs
  g.writeUInt32LE(65535, 16); // snaplen
  g.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  parts.push(g);
  frames.forEach((f, i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_700_000_000 + i, 0);
    r.writeUInt32LE(0, 4);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    parts.push(r, Buffer.from(f.buffer, f.byteOffset, f.length));
  });
  writeFileSync(path, Buffer.concat(parts));
}

/** Runs fn, asserting it throws a PacketError; returns the error's code. */
export function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof PacketError)) throw new Error(`expected PacketError, got ${String(e)}`, { cause: e });
    return e.code;
  }
  throw new Error('expected a PacketError, nothing was thrown');
}

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

/** XORs `mask` into byte `at` (to corrupt a copy for a negative test); throws past the end. */
export function flipBits(b: Uint8Array, at: number, mask: number): void {
  const v = b[at];
  if (v === undefined) throw new RangeError(`byte ${at} outside a ${b.length}-byte buffer`);
  b[at] = v ^ mask;
}
