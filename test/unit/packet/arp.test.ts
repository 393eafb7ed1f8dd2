import { describe, expect, it } from 'vitest';
import { ARP_OP, buildPacket, parseArp, parsePacket } from '../../../controller/packet/index.js';
import { MAC_A, MAC_B, V4_A, V4_B, errorCode, hex } from './fixtures.js';

describe('ARP (RFC 826)', () => {
  it('builds a request byte for byte and parses it back', () => {
    const f = buildPacket({
      eth: { src: MAC_A, dst: 'ff:ff:ff:ff:ff:ff' },
      arp: { opcode: ARP_OP.REQUEST, senderMac: MAC_A, senderIp: V4_A, targetIp: V4_B },
    });
    expect([...f]).toEqual([...hex('ffffffffffff 02000000000a 0806'), ...hex('0001 0800 06 04 0001 02000000000a c612000a 000000000000 c612000b')]);
    const p = parsePacket(f);
    expect(p.arp).toEqual({
      hardwareType: 1,
      protocolType: 0x0800,
      opcode: 1,
      senderMac: MAC_A,
      senderIp: V4_A,
      targetMac: '00:00:00:00:00:00',
      targetIp: V4_B,
    });
    expect(p.payload.length).toBe(0);
  });

  it('round-trips a reply, with Ethernet padding left in payload', () => {
    const spec = { opcode: ARP_OP.REPLY, senderMac: MAC_B, senderIp: V4_B, targetMac: MAC_A, targetIp: V4_A };
    const p = parsePacket(buildPacket({ eth: { src: MAC_B, dst: MAC_A }, arp: spec, minLength: 60 }));
    expect(p.arp).toEqual({ hardwareType: 1, protocolType: 0x0800, ...spec });
    expect(p.payload.length).toBe(18);
  });

  it('refuses non Ethernet/IPv4 ARP and short bodies', () => {
    const body = hex('0001 0800 06 04 0001 02000000000a c612000a 000000000000 c612000b');
    expect(parseArp(body).targetIp).toBe(V4_B);
    const ieee1394 = body.slice();
    ieee1394[1] = 24;
    expect(errorCode(() => parseArp(ieee1394))).toBe('BAD_VALUE');
    const hlen8 = body.slice();
    hlen8[4] = 8;
    expect(errorCode(() => parseArp(hlen8))).toBe('BAD_VALUE');
    for (let n = 0; n < 28; n++) expect(errorCode(() => parseArp(body.subarray(0, n)))).toBe('TRUNCATED');
  });
});
