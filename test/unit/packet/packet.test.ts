import { describe, expect, it } from 'vitest';
import {
  buildPacket,
  parsePacket,
  verifyPacketChecksums,
  type Ipv6ExtensionSpec,
  type Packet,
  type PacketSpec,
} from '../../../controller/packet/index.js';
import { FIXTURES, MAC_A, MAC_B, V4_A, V4_B, V6_A, V6_B, errorCode } from './fixtures.js';

/** Turns a parsed packet back into a build spec, taking every value from the parse. */
function specFromPacket(p: Packet, frameLength: number): PacketSpec {
  const s: PacketSpec = {
    eth: { src: p.eth.src, dst: p.eth.dst, etherType: p.eth.etherType },
    vlans: p.vlans.map(({ vid, pcp, dei, tpid }) => ({ vid, pcp, dei, tpid })),
    payload: p.payload,
    minLength: frameLength,
  };
  if (p.arp) s.arp = p.arp;
  if (p.lldp) {
    const l = p.lldp;
    s.lldp = {
      chassisId: { subtype: l.chassisId.subtype, id: l.chassisId.id },
      portId: { subtype: l.portId.subtype, id: l.portId.id },
      ttl: l.ttl,
      portDescription: l.portDescription,
      systemName: l.systemName,
      systemDescription: l.systemDescription,
      tlvs: l.tlvs,
      end: l.hasEnd,
    };
  }
  if (p.ipv4) {
    const { src, dst, ttl, dscp, ecn, identification, dontFragment, moreFragments, fragmentOffset, options, protocol } = p.ipv4;
    s.ipv4 = { src, dst, ttl, dscp, ecn, identification, dontFragment, moreFragments, fragmentOffset, options, protocol };
  }
  if (p.ipv6) {
    const { src, dst, trafficClass, flowLabel, hopLimit, protocol } = p.ipv6;
    const extensions = p.ipv6.extensions.map((e): Ipv6ExtensionSpec => {
      if (e.kind === 'fragment') return { kind: e.kind, offset: e.offset, more: e.more, identification: e.identification };
      if (e.kind === 'routing') return { kind: e.kind, routingType: e.routingType, segmentsLeft: e.segmentsLeft, data: e.data };
      if (e.kind === 'other') throw new Error('not buildable');
      return { kind: e.kind, options: e.options };
    });
    s.ipv6 = { src, dst, trafficClass, flowLabel, hopLimit, extensions, nextHeader: protocol };
  }
  if (p.tcp) s.tcp = p.tcp;
  if (p.udp) s.udp = { srcPort: p.udp.srcPort, dstPort: p.udp.dstPort };
  if (p.icmp) s.icmp = p.icmp.kind === 'other' ? { type: p.icmp.type, code: p.icmp.code, rest: p.icmp.rest } : { ...p.icmp, checksum: undefined };
  if (p.icmpv6) {
    const m = p.icmpv6;
    if (m.kind === 'packet-too-big') s.icmpv6 = { kind: 'other', type: m.type, code: m.code, rest: m.mtu };
    else if (m.kind === 'other') s.icmpv6 = { kind: 'other', type: m.type, code: m.code, rest: m.rest };
    else s.icmpv6 = { ...m, checksum: undefined };
  }
  if (s.tcp) s.tcp = { ...s.tcp, checksum: undefined };
  return s;
}

describe('parsePacket / buildPacket on every fixture', () => {
  it.each(FIXTURES.map((f) => [f.name, f] as const))('%s: parses, checksums verify, rebuilds byte-identical', (_, fx) => {
    const frame = buildPacket(fx.spec);
    const p = parsePacket(frame);
    expect(p.truncated).toBe(false);
    const sums = verifyPacketChecksums(p);
    if (p.ipv4) expect(sums.ipv4).toBe('ok');
    if (p.tcp || p.udp || p.icmp || p.icmpv6) expect(sums.transport).toBe('ok');
    expect([...(fx.spec.payload ?? [])]).toEqual([...p.payload.subarray(0, fx.spec.payload?.length ?? 0)]);
    const again = buildPacket(specFromPacket(p, frame.length));
    expect(Buffer.from(again).toString('hex')).toBe(Buffer.from(frame).toString('hex'));
  });

  it('decodes the expected layers', () => {
    const layers = (name: string): string[] => {
      const p = parsePacket(buildPacket(FIXTURES.find((f) => f.name === name)!.spec));
      return (['arp', 'lldp', 'ipv4', 'ipv6', 'icmp', 'icmpv6', 'tcp', 'udp'] as const).filter((k) => p[k] !== undefined);
    };
    expect(layers('arp-request')).toEqual(['arp']);
    expect(layers('lldp')).toEqual(['lldp']);
    expect(layers('icmp-echo')).toEqual(['ipv4', 'icmp']);
    expect(layers('icmpv6-ns-sll')).toEqual(['ipv6', 'icmpv6']);
    expect(layers('tcp-syn-v6-hbh-frag')).toEqual(['ipv6', 'tcp']);
    expect(layers('vlan-tcp')).toEqual(['ipv4', 'tcp']);
    expect(layers('qinq-udp')).toEqual(['ipv4', 'udp']);
  });

  it('refuses inconsistent specs', () => {
    const eth = { src: MAC_A, dst: MAC_B };
    const v4 = { src: V4_A, dst: V4_B };
    const v6 = { src: V6_A, dst: V6_B };
    expect(errorCode(() => buildPacket({ eth, ipv4: v4, ipv6: v6, udp: { srcPort: 1, dstPort: 2 } }))).toBe('BAD_VALUE');
    expect(errorCode(() => buildPacket({ eth, ipv4: v4, tcp: { srcPort: 1, dstPort: 2 }, udp: { srcPort: 1, dstPort: 2 } }))).toBe('BAD_VALUE');
    expect(errorCode(() => buildPacket({ eth, tcp: { srcPort: 1, dstPort: 2 } }))).toBe('BAD_VALUE');
    expect(errorCode(() => buildPacket({ eth: { ...eth, etherType: 100 }, ipv4: v4, udp: { srcPort: 1, dstPort: 2 } }))).toBe('BAD_VALUE');
    expect(errorCode(() => buildPacket({ eth, ipv4: v4, udp: { srcPort: 1, dstPort: 2 }, payload: new Uint8Array(65536) }))).toBe('BAD_LENGTH');
    expect(errorCode(() => buildPacket({ eth, ipv4: { ...v4, ttl: 256 }, udp: { srcPort: 1, dstPort: 2 } }))).toBe('BAD_VALUE');
    expect(errorCode(() => buildPacket({ eth, ipv6: { ...v6, src: '1.2.3.4' }, udp: { srcPort: 1, dstPort: 2 } }))).toBe('BAD_ADDRESS');
  });
});
