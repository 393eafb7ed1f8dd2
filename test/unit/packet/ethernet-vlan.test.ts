import { describe, expect, it } from 'vitest';
import { ETHERTYPE, MAX_VLAN_TAGS, buildPacket, parsePacket } from '../../../controller/packet/index.js';
import { MAC_A, MAC_B, V4_A, V4_B, errorCode, hex, text } from './fixtures.js';

const eth = { src: MAC_A, dst: MAC_B };

describe('Ethernet', () => {
  it('round-trips an untagged frame with an unknown EtherType, payload untouched', () => {
    const f = buildPacket({ eth: { ...eth, etherType: 0x88b5 }, payload: text('local experimental') });
    expect(f.length).toBe(14 + 18);
    expect([...f.subarray(0, 14)]).toEqual([...hex('02000000000b 02000000000a 88b5')]);
    const p = parsePacket(f);
    expect(p.eth).toEqual({ dst: MAC_B, src: MAC_A, etherType: 0x88b5 });
    expect(p.vlans).toEqual([]);
    expect(Buffer.from(p.payload).toString()).toBe('local experimental');
    expect(p.payload.buffer).toBe(f.buffer); // a view, not a copy
  });

  it('pads to minLength with zeros', () => {
    const f = buildPacket({ eth: { ...eth, etherType: 0x88b5 }, payload: text('x'), minLength: 60 });
    expect(f.length).toBe(60);
    expect(f.subarray(15).every((b) => b === 0)).toBe(true);
  });

  it('treats a type below 0x0600 as an 802.3 length (payload left raw)', () => {
    const f = buildPacket({ eth: { ...eth, etherType: 3 }, payload: hex('424203') });
    const p = parsePacket(f);
    expect(p.eth.etherType).toBe(3);
    expect([...p.payload]).toEqual([0x42, 0x42, 0x03]);
    expect(p.ipv4).toBeUndefined();
  });

  it('needs 14 bytes', () => {
    for (let n = 0; n < 14; n++) expect(errorCode(() => parsePacket(new Uint8Array(n)))).toBe('TRUNCATED');
  });

  it('refuses inconsistent build specs', () => {
    expect(errorCode(() => buildPacket({ eth }))).toBe('BAD_VALUE');
    expect(errorCode(() => buildPacket({ eth: { src: 'nope', dst: MAC_B, etherType: 0x88b5 } }))).toBe('BAD_ADDRESS');
  });
});

describe('802.1Q VLAN tags', () => {
  const ip = { src: V4_A, dst: V4_B };
  it('single C-tag: TPID 0x8100 and TCI bits', () => {
    const f = buildPacket({ eth, vlans: [{ vid: 0xabc, pcp: 5, dei: true }], ipv4: ip, udp: { srcPort: 1, dstPort: 2 } });
    // TCI = 101 1 101010111100 = 0xbabc
    expect([...f.subarray(12, 18)]).toEqual([0x81, 0x00, 0xba, 0xbc, 0x08, 0x00]);
    const p = parsePacket(f);
    expect(p.vlans).toEqual([{ tpid: 0x8100, pcp: 5, dei: true, vid: 0xabc }]);
    expect(p.eth.etherType).toBe(ETHERTYPE.IPV4);
    expect(p.udp?.dstPort).toBe(2);
  });

  it('QinQ: outer S-tag 0x88a8, inner C-tag 0x8100 by default; explicit TPIDs kept', () => {
    const p = parsePacket(buildPacket({ eth, vlans: [{ vid: 10 }, { vid: 20, pcp: 1 }], ipv4: ip, udp: { srcPort: 1, dstPort: 2 } }));
    expect(p.vlans).toEqual([
      { tpid: 0x88a8, pcp: 0, dei: false, vid: 10 },
      { tpid: 0x8100, pcp: 1, dei: false, vid: 20 },
    ]);
    const q = parsePacket(
      buildPacket({ eth, vlans: [{ vid: 1, tpid: 0x9100 }, { vid: 2, tpid: 0x8100 }, { vid: 3 }], ipv4: ip, udp: { srcPort: 1, dstPort: 2 } }),
    );
    expect(q.vlans.map((v) => [v.tpid, v.vid])).toEqual([
      [0x9100, 1],
      [0x8100, 2],
      [0x8100, 3],
    ]);
    expect(q.ipv4?.dst).toBe(V4_B);
  });

  it(`refuses more than ${MAX_VLAN_TAGS} stacked tags, and out-of-range fields at build`, () => {
    const tags = Array.from({ length: MAX_VLAN_TAGS + 1 }, (_, i) => ({ vid: i + 1 }));
    const f = buildPacket({ eth, vlans: tags, ipv4: ip, udp: { srcPort: 1, dstPort: 2 } });
    expect(errorCode(() => parsePacket(f))).toBe('TOO_MANY_HEADERS');
    expect(parsePacket(buildPacket({ eth, vlans: tags.slice(1), ipv4: ip, udp: { srcPort: 1, dstPort: 2 } })).vlans).toHaveLength(MAX_VLAN_TAGS);
    expect(errorCode(() => buildPacket({ eth, vlans: [{ vid: 4096 }], ipv4: ip, udp: { srcPort: 1, dstPort: 2 } }))).toBe('BAD_VALUE');
    expect(errorCode(() => buildPacket({ eth, vlans: [{ vid: 1, pcp: 8 }], ipv4: ip, udp: { srcPort: 1, dstPort: 2 } }))).toBe('BAD_VALUE');
  });

  it('a tag cut in half is TRUNCATED', () => {
    const f = buildPacket({ eth, vlans: [{ vid: 7 }], ipv4: ip, udp: { srcPort: 1, dstPort: 2 } });
    for (const n of [14, 15, 16, 17]) expect(errorCode(() => parsePacket(f.subarray(0, n)))).toBe('TRUNCATED');
  });
});
