// A packet-out whose `data` is in Ryu's packet-library form (`{"Packet": {"protocols": [...]}}`), as Ryu's
// golden files also carry it: fromRyuJson builds the frame from the protocols.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'lossless-json';
import { encode, fromRyuJson, decode, OfpError, OFPET } from '../../../controller/openflow/index.js';
import type { PacketOutMsg } from '../../../controller/openflow/packet-out.js';
import { buildPacket, parsePacket } from '../../../controller/packet/packet.js';
import { RYU_GOLDENS } from '../../helpers/ryu-goldens.js';

const GOLDEN = '4-1-ofp_packet_out.packet';
const bytes = readFileSync(new URL(`packets/${GOLDEN}`, RYU_GOLDENS));
const golden = parse(readFileSync(new URL(`json/${GOLDEN}.json`, RYU_GOLDENS), 'utf8'), undefined, Number) as {
  OFPPacketOut: Record<string, unknown>;
};
const xid = bytes.readUInt32BE(4);

/** The golden's ICMP echo request frame (10.0.0.1 -> 10.0.0.2), protocol by protocol as Ryu's packet library writes it. */
const echoProtocols = (over: { ipv4?: object; icmp?: object } = {}) => [
  { ethernet: { dst: 'f2:0b:a4:d0:3f:70', src: 'f2:0b:a4:7d:f8:ea', ethertype: 0x0800 } },
  {
    ipv4: {
      version: 4,
      header_length: 5,
      tos: 0,
      total_length: 84,
      identification: 0xf81a,
      flags: 0,
      offset: 0,
      ttl: 255,
      proto: 1,
      csum: 0xaf8b,
      src: '10.0.0.1',
      dst: '10.0.0.2',
      option: null,
      ...over.ipv4,
    },
  },
  {
    icmp: {
      type: 8,
      code: 0,
      csum: 0x0208,
      ...over.icmp,
      data: { echo: { id: 0xf760, seq: 0, data: Buffer.from(bytes.subarray(24 + 16 + 14 + 20 + 8)).toString('base64') } },
    },
  },
];

const withData = (data: unknown) => ({ OFPPacketOut: { ...golden.OFPPacketOut, data } });
const build = (protocols: unknown[]) => encode(fromRyuJson(withData({ Packet: { protocols } }), xid));

function refused(protocols: unknown[], text: RegExp): void {
  let err: unknown;
  try {
    build(protocols);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(OfpError);
  expect((err as OfpError).errType).toBe(OFPET.BAD_REQUEST);
  expect((err as OfpError).message).toMatch(text);
}

describe('packet-out data in Ryu packet-library form', () => {
  it(`${GOLDEN}: the frame built from the protocols is the golden's, byte for byte`, () => {
    expect(build(echoProtocols()).equals(bytes)).toBe(true);
  });

  it('computes lengths and checksums Ryu leaves at 0', () => {
    expect(build(echoProtocols({ ipv4: { total_length: 0, header_length: 0, csum: 0 }, icmp: { csum: 0 } })).equals(bytes)).toBe(true);
  });

  it('writes a checksum as given, as Ryu does', () => {
    const out = decode(build(echoProtocols({ ipv4: { csum: 0x1234 } }))) as PacketOutMsg;
    expect(out.data.readUInt16BE(14 + 10)).toBe(0x1234);
  });

  it('builds tagged UDP and TCP frames and ARP', () => {
    const udp = [
      { ethernet: { dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ethertype: 0x8100 } },
      { vlan: { pcp: 5, cfi: 0, vid: 3001, ethertype: 0x0800 } },
      { ipv4: { tos: 0, total_length: 0, identification: 7, flags: 2, offset: 0, ttl: 64, proto: 17, csum: 0, src: '192.0.2.7', dst: '10.10.1.10' } },
      { udp: { src_port: 33333, dst_port: 5201, total_length: 0, csum: 0 } },
    ];
    const expected = buildPacket({
      eth: { dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01' },
      vlans: [{ vid: 3001, pcp: 5 }],
      ipv4: { src: '192.0.2.7', dst: '10.10.1.10', ttl: 64, identification: 7, dontFragment: true },
      udp: { srcPort: 33333, dstPort: 5201 },
    });
    expect((decode(build(udp)) as PacketOutMsg).data).toStrictEqual(Buffer.from(expected));

    const tcp = [
      { ethernet: { dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ethertype: 0x86dd } },
      {
        ipv6: {
          version: 6,
          traffic_class: 0,
          flow_label: 0,
          payload_length: 0,
          nxt: 6,
          hop_limit: 64,
          src: '2001:db8::7',
          dst: 'fd00::10',
          ext_hdrs: [],
        },
      },
      { tcp: { src_port: 50000, dst_port: 443, seq: 1, ack: 0, offset: 5, bits: 0x002, window_size: 65535, csum: 0, urgent: 0, option: null } },
    ];
    const p = parsePacket((decode(build(tcp)) as PacketOutMsg).data);
    expect(p.ipv6).toMatchObject({ src: '2001:db8::7', dst: 'fd00::10', payloadLength: 20 });
    expect(p.tcp).toMatchObject({ srcPort: 50000, dstPort: 443, flags: 0x002 });

    const arp = [
      { ethernet: { dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:01', ethertype: 0x0806 } },
      {
        arp: {
          hwtype: 1,
          proto: 0x0800,
          hlen: 6,
          plen: 4,
          opcode: 1,
          src_mac: '02:00:00:00:00:01',
          src_ip: '10.0.0.1',
          dst_mac: '00:00:00:00:00:00',
          dst_ip: '10.0.0.2',
        },
      },
    ];
    expect(parsePacket((decode(build(arp)) as PacketOutMsg).data).arp).toMatchObject({ opcode: 1, senderIp: '10.0.0.1', targetIp: '10.0.0.2' });
  });

  it('refuses what it cannot build exactly, with the reason', () => {
    refused(echoProtocols({ ipv4: { total_length: 80 } }), /ipv4\.total_length is 80, but the frame built from the protocols gives 84/);
    refused([echoProtocols()[0], echoProtocols()[1], { sctp: { src_port: 1, dst_port: 2 } }], /protocol sctp is not supported/);
    refused([echoProtocols()[1]], /first protocol is ipv4/);
    refused(echoProtocols({ ipv4: { proto: 6 } }), /icmp needs ipv4 with proto 1/);
    refused([], /protocols is not a non-empty list/);
  });
});
