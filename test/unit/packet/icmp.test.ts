import { describe, expect, it } from 'vitest';
import {
  buildPacket,
  parseIcmp,
  parseIcmpv6,
  parsePacket,
  verifyPacketChecksums,
  type Icmpv6Spec,
  type NdpOption,
} from '../../../controller/packet/index.js';
import { MAC_A, MAC_B, V4_A, V4_B, V6_A, V6_B, errorCode, hex, text } from './fixtures.js';

const eth = { src: MAC_A, dst: MAC_B };

describe('ICMP (RFC 792)', () => {
  it('round-trips an echo request with data, checksum over the whole message', () => {
    const f = buildPacket({ eth, ipv4: { src: V4_A, dst: V4_B }, icmp: { type: 8, identifier: 0x4d2, sequence: 9 }, payload: text('abcdefgh') });
    const p = parsePacket(f);
    expect(p.icmp).toMatchObject({ kind: 'echo-request', type: 8, code: 0, identifier: 0x4d2, sequence: 9 });
    expect(Buffer.from(p.payload).toString()).toBe('abcdefgh');
    expect(verifyPacketChecksums(p)).toEqual({ ipv4: 'ok', transport: 'ok' });
  });

  it('round-trips other types through `rest` (e.g. fragmentation needed, next-hop MTU 1400)', () => {
    const p = parsePacket(buildPacket({ eth, ipv4: { src: V4_A, dst: V4_B }, icmp: { type: 3, code: 4, rest: 1400 }, payload: new Uint8Array(28) }));
    expect(p.icmp).toMatchObject({ kind: 'other', type: 3, code: 4, rest: 1400 });
    expect(p.icmp?.data.length).toBe(28);
    expect(verifyPacketChecksums(p).transport).toBe('ok');
  });

  it('an explicit wrong checksum is detected', () => {
    const p = parsePacket(buildPacket({ eth, ipv4: { src: V4_A, dst: V4_B }, icmp: { type: 8, checksum: 0x1234 } }));
    expect(p.icmp?.checksum).toBe(0x1234);
    expect(verifyPacketChecksums(p).transport).toBe('bad');
  });

  it('needs 8 bytes', () => {
    expect(parseIcmp(hex('0000 ffff 0001 0002')).kind).toBe('echo-reply');
    for (let n = 0; n < 8; n++) expect(errorCode(() => parseIcmp(new Uint8Array(n)))).toBe('TRUNCATED');
  });
});

describe('ICMPv6 (RFC 4443) and Neighbor Discovery (RFC 4861)', () => {
  const build = (icmpv6: Icmpv6Spec, payload?: Uint8Array, hopLimit = 255): ReturnType<typeof parsePacket> => {
    const p = parsePacket(buildPacket({ eth, ipv6: { src: V6_A, dst: V6_B, hopLimit }, icmpv6, payload }));
    expect(verifyPacketChecksums(p)).toEqual({ transport: 'ok' });
    return p;
  };
  const sll: NdpOption = { kind: 'source-link-layer', mac: MAC_A };

  it('echo request / reply', () => {
    expect(build({ kind: 'echo-request', identifier: 1, sequence: 2 }, text('hi')).icmpv6).toMatchObject({
      kind: 'echo-request',
      type: 128,
      identifier: 1,
      sequence: 2,
      data: text('hi'),
    });
    expect(build({ kind: 'echo-reply', identifier: 3, sequence: 4 }).icmpv6).toMatchObject({
      kind: 'echo-reply',
      type: 129,
      identifier: 3,
      sequence: 4,
    });
  });

  it('packet too big and other messages', () => {
    expect(build({ kind: 'other', type: 2, rest: 1280 }, new Uint8Array(48)).icmpv6).toMatchObject({ kind: 'packet-too-big', mtu: 1280 });
    expect(build({ kind: 'other', type: 4, code: 1, rest: 40 }, new Uint8Array(48)).icmpv6).toMatchObject({
      kind: 'other',
      type: 4,
      code: 1,
      rest: 40,
    });
  });

  it('neighbor solicitation with source link-layer address, byte for byte', () => {
    const p = build({ kind: 'neighbor-solicitation', target: V6_B, options: [sll] });
    expect(p.icmpv6).toEqual({ kind: 'neighbor-solicitation', type: 135, code: 0, checksum: p.icmpv6!.checksum, target: V6_B, options: [sll] });
    // type 135, code 0, checksum, reserved, target, option 1 len 1 + MAC
    const m = p.ipv6!.payload;
    expect([...m.subarray(4, 8)]).toEqual([0, 0, 0, 0]);
    expect([...m.subarray(24)]).toEqual([...hex('0101 02000000000a')]);
    expect(p.payload.length).toBe(0);
  });

  it('neighbor advertisement flags and target link-layer address', () => {
    const tll: NdpOption = { kind: 'target-link-layer', mac: MAC_B };
    const p = build({ kind: 'neighbor-advertisement', target: V6_B, router: true, solicited: false, override: true, options: [tll] });
    expect(p.icmpv6).toMatchObject({
      kind: 'neighbor-advertisement',
      type: 136,
      router: true,
      solicited: false,
      override: true,
      target: V6_B,
      options: [tll],
    });
    expect(p.ipv6!.payload[4]).toBe(0xa0);
  });

  it('router solicitation and advertisement with prefix, MTU and unknown options', () => {
    expect(build({ kind: 'router-solicitation', options: [sll] }).icmpv6).toMatchObject({ kind: 'router-solicitation', type: 133, options: [sll] });
    const options: NdpOption[] = [
      sll,
      { kind: 'mtu', mtu: 1500 },
      {
        kind: 'prefix-information',
        prefixLength: 64,
        onLink: true,
        autonomous: false,
        validLifetime: 0xffffffff,
        preferredLifetime: 600,
        prefix: '2001:db8:1::',
      },
      { kind: 'unknown', type: 25, data: hex('0000 00000e10 20010db8000000000000000000000053') }, // RDNSS (RFC 8106), 24 bytes
    ];
    const p = build({
      kind: 'router-advertisement',
      curHopLimit: 64,
      managed: true,
      other: false,
      routerLifetime: 0,
      reachableTime: 1,
      retransTimer: 2,
      options,
    });
    expect(p.icmpv6).toMatchObject({
      kind: 'router-advertisement',
      type: 134,
      curHopLimit: 64,
      managed: true,
      other: false,
      routerLifetime: 0,
      reachableTime: 1,
      retransTimer: 2,
      options,
    });
  });

  it('redirect', () => {
    const p = build({ kind: 'redirect', target: 'fe80::1', destination: '2001:db8::99', options: [{ kind: 'target-link-layer', mac: MAC_B }] });
    expect(p.icmpv6).toMatchObject({ kind: 'redirect', type: 137, target: 'fe80::1', destination: '2001:db8::99' });
  });

  it('option length 0 is BAD_LENGTH (RFC 4861 §4.6), an overrun too; a cut message keeps complete options', () => {
    const f = buildPacket({
      eth,
      ipv6: { src: V6_A, dst: V6_B, hopLimit: 255 },
      icmpv6: { kind: 'neighbor-solicitation', target: V6_B, options: [sll, { kind: 'mtu', mtu: 9000 }] },
    });
    const msg = parsePacket(f).ipv6!.payload;
    const zero = msg.slice();
    zero[25] = 0;
    expect(errorCode(() => parseIcmpv6(zero))).toBe('BAD_LENGTH');
    const over = msg.slice();
    over[33] = 2;
    expect(errorCode(() => parseIcmpv6(over))).toBe('BAD_LENGTH');
    const cut = parsePacket(f.subarray(0, f.length - 3));
    expect(cut.truncated).toBe(true);
    expect(cut.icmpv6).toMatchObject({ kind: 'neighbor-solicitation', options: [sll] });
    expect(errorCode(() => parseIcmpv6(msg.subarray(0, 20)))).toBe('TRUNCATED');
  });

  it('an explicit wrong checksum is detected', () => {
    const p = parsePacket(buildPacket({ eth, ipv6: { src: V6_A, dst: V6_B }, icmpv6: { kind: 'echo-request', checksum: 0 } }));
    expect(verifyPacketChecksums(p).transport).toBe('bad');
  });

  it('refuses a payload after an ND message and ICMPv6 without IPv6', () => {
    expect(errorCode(() => buildPacket({ eth, ipv6: { src: V6_A, dst: V6_B }, icmpv6: { kind: 'router-solicitation' }, payload: text('x') }))).toBe(
      'BAD_VALUE',
    );
    expect(errorCode(() => buildPacket({ eth, ipv4: { src: V4_A, dst: V4_B }, icmpv6: { kind: 'echo-request' } }))).toBe('BAD_VALUE');
    expect(errorCode(() => buildPacket({ eth, ipv6: { src: V6_A, dst: V6_B }, icmp: { type: 8 } }))).toBe('BAD_VALUE');
  });
});
