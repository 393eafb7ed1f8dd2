// The codec's hot paths (packet-in decode, flow-mod encode) take shortcuts for the common cases and hand everything
// else to the general code. These tests pin the shortcuts to the general behaviour: address text against plain
// reference implementations for every byte value, the packet-in match reader against the general match reader for
// lists of every length and kind, the OXM name table against the field table, and the reused Reader after a failure.
import { describe, it, expect } from 'vitest';
import {
  decode,
  encode,
  encodeInto,
  Writer,
  OfpError,
  OFPET,
  OFPBMC,
  OXM_FIELDS,
  oxmDef,
  readMatch,
  writeMatch,
  Reader,
} from '../../../controller/openflow/index.js';
import type { MessageOf, OxmTlv } from '../../../controller/openflow/index.js';
import { macToString, macToBytes, ipv4ToString, ipv4ToBytes, ipv6ToString } from '../../../controller/openflow/addr.js';
import { NameTable } from '../../../controller/openflow/name-table.js';
import { decode as registryDecode } from '../../../controller/openflow/registry.js';
import { basicFieldOf, basicByTypeByte, basicLenByTypeByte } from '../../../controller/openflow/oxm.js';
import { readPlainPacketIn } from '../../../controller/openflow/packet-in.js';

const refMac = (b: number[]) => b.map((x) => x.toString(16).padStart(2, '0')).join(':');
const refIpv4 = (b: number[]) => b.join('.');

describe('address text', () => {
  it('formats every byte value in every position of a MAC and an IPv4 address', () => {
    for (let v = 0; v < 256; v++) {
      for (let pos = 0; pos < 6; pos++) {
        const mac = [0x02, 0x10, 0xa0, 0xff, 0x00, 0x7e];
        mac[pos] = v;
        // At an offset inside a larger buffer, as in a packet-in.
        expect(macToString(Buffer.from([9, 9, 9, ...mac, 9]), 3)).toBe(refMac(mac));
      }
      for (let pos = 0; pos < 4; pos++) {
        const ip = [10, 200, 3, 99];
        ip[pos] = v;
        expect(ipv4ToString(Buffer.from([7, ...ip, 7]), 1)).toBe(refIpv4(ip));
      }
    }
    // Every length a dotted quad can have, 7 to 15 characters.
    for (const ip of [
      [0, 0, 0, 0],
      [1, 22, 3, 4],
      [10, 20, 30, 40],
      [100, 20, 30, 40],
      [100, 200, 30, 40],
      [100, 200, 250, 40],
      [255, 255, 255, 255],
    ]) {
      expect(ipv4ToString(Uint8Array.from(ip), 0)).toBe(refIpv4(ip));
    }
    expect(ipv6ToString(Buffer.from('00000000000000000000ffffc0000201', 'hex'), 0)).toBe('::ffff:192.0.2.1');
  });

  it('parses MAC text the same on the 17-character fast path as on the general path', () => {
    const out = new Uint8Array(8);
    for (let v = 0; v < 256; v++) {
      const bytes = [v, 0xab, 0x00, v ^ 0x5a, 0x10, 0xff];
      const text = refMac(bytes);
      for (const form of [text, text.toUpperCase(), text.replace(/:/g, '-'), text.replace(':', '-')]) {
        expect([...macToBytes(form, out, 1).subarray(1, 7)]).toEqual(bytes);
      }
    }
    // One-digit groups take the general path.
    expect([...macToBytes('2:0:5e:0:0:1')]).toEqual([2, 0, 0x5e, 0, 0, 1]);
    // Bad text of the canonical length, including characters whose low 7 bits are a hex digit or a colon.
    const bad = [
      'aa:bb:cc:dd:ee:fg',
      'aa:bb:cc:dd:ee:f\u0130',
      'aa:bb:cc:dd:ee\u013aff',
      'aa:bb:cc:dd:ee:f\u00e1',
      'aa:bb:cc:dd:ee.ff',
      'aa:bb:cc:dd:ee: f',
      ' a:bb:cc:dd:ee:ff',
      'aabb:cc:dd:ee:ff:',
      'aa:bb:cc:dd:ee:ff:',
      '',
    ];
    for (const s of bad) {
      expect(() => macToBytes(s), JSON.stringify(s)).toThrow(OfpError);
    }
  });

  it('parses IPv4 text, refusing what is not a dotted quad of bytes', () => {
    expect([...ipv4ToBytes('192.0.2.255')]).toEqual([192, 0, 2, 255]);
    // A leading zero is octal to some parsers (inet_aton), refused by inet_pton: refused here too.
    for (const s of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.4 ', '1..2.3', 'a.b.c.d', '1.2.3.1000', '', '01.2.3.4', '1.2.3.00']) {
      expect(() => ipv4ToBytes(s), s).toThrow(OfpError);
    }
  });
});

describe('OXM name table', () => {
  it('finds every field of the table by its name, and nothing else', () => {
    for (const d of OXM_FIELDS) expect(oxmDef(d.name)).toBe(d);
    // A name with the same length and last character as a real one, a name built at run time, non-strings.
    expect(oxmDef('ipv4_sra')).toBeUndefined();
    expect(oxmDef(['ipv4', 'src'].join('_'))?.name).toBe('ipv4_src');
    expect(oxmDef('')).toBeUndefined();
    expect(oxmDef(undefined as unknown as string)).toBeUndefined();
    expect(oxmDef('x'.repeat(200))).toBeUndefined();
  });

  it('refuses a name added twice', () => {
    const t = new NameTable<number>([
      ['a', 1],
      ['b', 2],
    ]);
    expect(t.get('b')).toBe(2);
    expect(() => t.add('a', 3)).toThrow(/duplicate/);
  });
});

type PacketIn = MessageOf<'packetIn'>;

const packetIn = (match: OxmTlv[]): PacketIn => ({
  type: 'packetIn',
  xid: 7,
  bufferId: 0xffffffff,
  totalLen: 60,
  reason: 0,
  tableId: 0,
  cookie: 0x0123456789abcdefn,
  match,
  data: Buffer.from('0123456789', 'hex'),
});

/** TLVs of every kind the match readers handle: fast-path fields, masked ones, 64-bit, Nicira, unknown. */
const TLVS: OxmTlv[] = [
  { field: 'in_port', value: 3 },
  { field: 'eth_dst', value: '02:00:5e:00:53:01' },
  { field: 'ipv4_src', value: '10.1.2.3', mask: '255.255.0.0' },
  { field: 'metadata', value: 0xfedcba9876543210n },
  { field: 'tcp_dst', value: 443 },
  { field: 'ipv6_src', value: '2001:db8::1' },
  { field: 'reg3', value: 0xdeadbeef },
  { field: 'field_649', value: Buffer.from([1, 2, 3]) },
  { field: 'vlan_vid', value: 0x1064, mask: 0x1fff },
];

describe('packet-in match', () => {
  it('decodes matches of 0 to 9 TLVs of every kind exactly as the general match reader does', () => {
    for (let n = 0; n <= TLVS.length; n++) {
      for (let rot = 0; rot < TLVS.length; rot++) {
        const match = Array.from({ length: n }, (_, i) => TLVS[(i + rot) % TLVS.length]!);
        const bytes = encode(packetIn(match));
        const msg = decode(bytes) as PacketIn;
        expect(msg.match).toEqual(match);
        // The general reader, on the match inside the same bytes.
        expect(readMatch(new Reader(bytes, 24, bytes.length))).toEqual(msg.match);
        expect(msg.data.equals(Buffer.from('0123456789', 'hex'))).toBe(true);
        expect(encode(msg).equals(bytes)).toBe(true);
      }
    }
  });

  it('reports a TLV that overruns the match as OFPBMC_BAD_LEN, as before', () => {
    const bytes = encode(
      packetIn([
        { field: 'in_port', value: 1 },
        { field: 'eth_dst', value: '02:00:00:00:00:01' },
      ]),
    );
    const lying = Buffer.from(bytes);
    lying[24 + 4 + 8 + 3] = 7; // eth_dst says 7 bytes: it would run past the match's end
    const e = (() => {
      try {
        decode(lying);
      } catch (x) {
        return x;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(OfpError);
    expect([(e as OfpError).errType, (e as OfpError).code]).toEqual([OFPET.BAD_MATCH, OFPBMC.BAD_LEN]);
  });

  it('finds the same OpenFlow-basic fields by header bytes as basicFieldOf does by header word', () => {
    let known = 0;
    for (let typeByte = 0; typeByte < 256; typeByte++) {
      for (let len = 0; len < 256; len++) {
        const header = ((0x8000 << 16) | (typeByte << 8) | len) >>> 0;
        const c = basicByTypeByte[typeByte];
        const byBytes = c !== undefined && len === basicLenByTypeByte[typeByte] ? c : undefined;
        expect(byBytes, `header 0x${header.toString(16)}`).toBe(basicFieldOf(header));
        if (byBytes) known++;
      }
    }
    expect(known).toBe(2 * OXM_FIELDS.filter((d) => d.oxmClass === 0x8000).length); // each field, with and without mask
  });

  it('gives each packet-in its own cookie, whether it repeats the last one or differs from it in either half', () => {
    const cookies = [
      0x0123456789abcdefn,
      0x0123456789abcdefn,
      0n,
      0n,
      0xffffffffffffffffn,
      0xffffffff00000000n,
      0xffffffff00000001n,
      0x00000001ffffffffn,
      0x80000000n,
      0x8000000000000000n,
      0x0123456789abcdefn,
      1n,
    ];
    const bytes = cookies.map((cookie) => encode({ ...packetIn(TLVS.slice(0, 3)), cookie }));
    for (let round = 0; round < 2; round++) {
      bytes.forEach((b, i) => expect((decode(b) as PacketIn).cookie, `cookie ${i}`).toBe(cookies[i]));
      // A packet-in that fails after its cookie was read leaves no wrong cookie behind.
      const cut = Buffer.from(bytes[4]!.subarray(0, 40));
      cut.writeUInt16BE(cut.length, 2);
      expect(() => decode(cut)).toThrow(OfpError);
      expect((decode(bytes[0]!) as PacketIn).cookie).toBe(cookies[0]);
      expect((decode(bytes[4]!) as PacketIn).cookie).toBe(cookies[4]);
    }
  });

  it('decodes correctly after a decode that failed half-way (the registry reuses its Reader)', () => {
    const good = encode(packetIn(TLVS.slice(0, 3)));
    const cut = Buffer.from(good.subarray(0, 40));
    cut.writeUInt16BE(cut.length, 2);
    for (let i = 0; i < 3; i++) {
      expect(() => decode(cut)).toThrow(OfpError);
      expect((decode(good) as PacketIn).match).toEqual(TLVS.slice(0, 3));
    }
  });
});

describe('packet-in direct path (decode.ts)', () => {
  /** What a decode gives: the message, or the error's class, type, code, text and attached bytes. */
  const outcome = (f: () => unknown) => {
    try {
      return { msg: f() };
    } catch (e) {
      const o = e as OfpError;
      return { error: [o.constructor.name, o.errType, o.code, o.message, o.data?.toString('hex')] };
    }
  };

  it('gives what the registry gives for packet-ins cut, stretched and mutated at every byte', () => {
    const good = encode(packetIn(TLVS.slice(0, 4)));
    const cases: Buffer[] = [good];
    for (let len = 8; len < good.length; len++) {
      const cut = Buffer.from(good.subarray(0, len));
      cut.writeUInt16BE(len, 2); // a consistent header, so that the body is what is short
      cases.push(cut);
    }
    for (let i = 8; i < good.length; i++) {
      for (const v of [0, 1, 0x7f, 0xff]) {
        const bad = Buffer.from(good);
        bad[i] = v;
        cases.push(bad);
      }
    }
    let errors = 0;
    for (const bytes of cases) {
      const direct = outcome(() => decode(bytes));
      expect(direct).toEqual(outcome(() => registryDecode(bytes)));
      if ('error' in direct) errors++;
    }
    // The cases exercise both outcomes: every cut body fails, most mutated bytes (data, addresses) do not.
    expect(errors).toBeGreaterThan(good.length - 8);
    expect(errors).toBeLessThan(cases.length);
  });
});

describe('packet-in plain path (readPlainPacketIn)', () => {
  it('reads packet-ins of OpenFlow-basic fields itself, and leaves every other one to the reader path', () => {
    const basicOnly = TLVS.filter((t) => !['reg3', 'field_649'].includes(t.field));
    for (let n = 0; n <= TLVS.length; n++) {
      for (const list of [basicOnly, TLVS]) {
        const match = Array.from({ length: n }, (_, i) => list[i % list.length]!);
        const bytes = encode(packetIn(match));
        const plain = readPlainPacketIn(bytes, bytes.length, 7);
        if (match.every((t) => basicOnly.includes(t))) expect(plain).toEqual(decode(bytes));
        else expect(plain).toBeUndefined();
      }
    }
    // Cut anywhere (with a consistent header), a packet-in is never read by the plain path.
    const good = encode(packetIn(basicOnly));
    for (let len = 8; len < good.length - 10; len++) {
      const cut = Buffer.from(good.subarray(0, len));
      cut.writeUInt16BE(len, 2);
      expect(readPlainPacketIn(cut, len, 7), `cut at ${len}`).toBeUndefined();
    }
  });
});

describe('flow-mod encode', () => {
  it('writes the same bytes into a reused, growing Writer as encode() does', () => {
    const fm: MessageOf<'flowMod'> = {
      type: 'flowMod',
      xid: 0xfffffffe,
      cookie: 0xffffffffffffffffn,
      cookieMask: 0n,
      tableId: 1,
      command: 0,
      idleTimeout: 60,
      hardTimeout: 300,
      priority: 1000,
      bufferId: 0xffffffff,
      outPort: 0xffffffff,
      outGroup: 0xffffffff,
      flags: 1,
      match: TLVS.slice(0, 7),
      instructions: [
        { type: 'meter', meterId: 7 },
        {
          type: 'applyActions',
          actions: [
            { type: 'setField', field: { field: 'eth_dst', value: '02:00:00:00:00:99' } },
            { type: 'output', port: 2, maxLen: 0 },
          ],
        },
      ],
    };
    const once = encode(fm);
    expect(decode(once)).toEqual(fm);
    const w = new Writer(8);
    for (let i = 0; i < 3; i++) {
      const start = w.pos;
      expect(encodeInto(w, fm)).toBe(once.length);
      expect(w.view(start).equals(once)).toBe(true);
    }
    // Integer fields given as bigints, as some callers do, encode as the numbers would.
    const asBigints = {
      ...fm,
      match: [
        { field: 'in_port', value: 3n },
        { field: 'tcp_dst', value: 443n },
      ],
    };
    const asNumbers = {
      ...fm,
      match: [
        { field: 'in_port', value: 3 },
        { field: 'tcp_dst', value: 443 },
      ],
    };
    expect(encode(asBigints).equals(encode(asNumbers))).toBe(true);
    // Out of range or malformed values are refused with the OXM's error, whichever path sees them first.
    for (const bad of [
      { field: 'tcp_dst', value: 65536 },
      { field: 'ip_proto', value: -1 },
      { field: 'in_port', value: 1.5 },
      { field: 'ipv4_src', value: '10.0.0.256' },
      { field: 'eth_src', value: '02:00:00:00:00:0g' },
    ]) {
      expect(() => encode({ ...fm, match: [bad] }), bad.field).toThrow(OfpError);
    }
    const w2 = new Writer(64);
    writeMatch(w2, fm.match);
    expect(w2.pos % 8).toBe(0);
  });
});
