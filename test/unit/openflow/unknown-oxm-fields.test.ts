// OXM fields we do not know, under Ryu's name for them: `field_N`, N = class << 7 | field (Ryu's oxx_fields names
// an unknown field number so and reads such a name back, its value and mask base64). An experimenter field's value
// starts with its experimenter id: what follows the 32-bit header, which is what Ryu writes after it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'lossless-json';
import { decode, encode, toRyuJson, fromRyuJson, OfpError, OFPET, OFPBMC } from '../../../controller/openflow/index.js';
import { RYU_GOLDENS } from '../../helpers/ryu-goldens.js';

const json = (text: string): unknown =>
  parse(text, undefined, (s) => {
    const n = Number(s);
    return Number.isSafeInteger(n) || !/^-?\d+$/.test(s) ? n : BigInt(s);
  });
const asJson = (v: unknown): unknown => json(stringify(v) ?? 'null');

function withoutLengths(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutLengths);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => k !== 'len' && k !== 'length')
        .map(([k, x]) => [k, withoutLengths(x)]),
    );
  }
  return v;
}

type FlowModJson = { OFPFlowMod: { match: { OFPMatch: { oxm_fields: unknown[] } } } };
const BASE = json(readFileSync(new URL('json/4-2-ofp_flow_mod.packet.json', RYU_GOLDENS), 'utf8')) as FlowModJson;

/** Ryu's flow-mod golden with `fields` added to its match, lengths left to the encoder. */
function flowModWith(...fields: unknown[]): unknown {
  const j = structuredClone(BASE);
  j.OFPFlowMod.match.OFPMatch.oxm_fields.push(...fields);
  return withoutLengths(j);
}

const tlv = (field: string, value: string, mask: string | null = null) => ({ OXMTlv: { field, mask, value } });
const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

const CASES: [what: string, field: unknown, wire: string][] = [
  // NXM_1 (class 1), field 90: 1 << 7 | 90 = 218
  ['an unknown Nicira field', tlv('field_218', b64('01020304')), '0001b404' + '01020304'],
  // OpenFlow-basic (0x8000), field 100: 0x8000 << 7 | 100 = 4194404
  ['an unknown OpenFlow-basic field, masked', tlv('field_4194404', b64('1234'), b64('ff00')), '8000c904' + '1234' + 'ff00'],
  // experimenter (0xffff), field 7: 0xffff << 7 | 7 = 8388487; value = experimenter id, then the payload
  ['an unknown experimenter field', tlv('field_8388487', b64('00abcdef' + 'aabbcc')), 'ffff0e07' + '00abcdef' + 'aabbcc'],
  // masked: the id is on the wire once; value and mask both start with it, so that they have one length
  [
    'an unknown experimenter field, masked',
    tlv('field_8388487', b64('00abcdef' + '1122'), b64('00abcdef' + 'ff00')),
    'ffff0f08' + '00abcdef' + '1122' + 'ff00',
  ],
  // an ONF (EXT-256) field of a type we do not know: the type stays in the value after the id
  ['an ONF field of an unknown type', tlv('field_8388480', b64('4f4e4600' + '0b00' + '01')), 'ffff0007' + '4f4e4600' + '0b00' + '01'],
];

describe('unknown OXM fields as Ryu names them (field_N)', () => {
  for (const [what, field, wire] of CASES) {
    it(`${what}: Ryu JSON -> bytes -> Ryu JSON, and bytes -> JSON -> bytes`, () => {
      const ryu = flowModWith(field);
      const bytes = encode(fromRyuJson(ryu, 7));
      expect(bytes.toString('hex')).toContain(wire);
      const back = toRyuJson(decode(bytes));
      expect(withoutLengths(asJson(back))).toStrictEqual(asJson(ryu));
      expect(encode(fromRyuJson(asJson(back), 7)).equals(bytes)).toBe(true);
    });
  }

  it('keeps a value of any length as it is', () => {
    const bytes = encode(fromRyuJson(flowModWith(tlv('field_218', b64('ff'))), 1));
    const m = (toRyuJson(decode(bytes)) as FlowModJson).OFPFlowMod.match.OFPMatch.oxm_fields.at(-1);
    expect(m).toStrictEqual(tlv('field_218', b64('ff')));
  });

  const refuse = (field: unknown, code: number, text: RegExp) => {
    let err: unknown;
    try {
      encode(fromRyuJson(flowModWith(field), 1));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OfpError);
    expect((err as OfpError).errType).toBe(OFPET.BAD_MATCH);
    expect((err as OfpError).code).toBe(code);
    expect((err as OfpError).message).toMatch(text);
  };

  it('refuses names Ryu would not read, and experimenter values without their id', () => {
    refuse(tlv('oxm_0x0001_90', b64('01')), OFPBMC.BAD_FIELD, /unknown OXM field "oxm_0x0001_90"/);
    refuse(tlv('field_x', b64('01')), OFPBMC.BAD_FIELD, /unknown OXM field/);
    refuse(tlv('field_8388607999', b64('01')), OFPBMC.BAD_FIELD, /unknown OXM field/);
    refuse(tlv('field_8388487', b64('00ab')), OFPBMC.BAD_LEN, /experimenter id/);
    refuse(tlv('field_8388487', b64('00abcdef11'), b64('00abcdee11')), OFPBMC.BAD_MASK, /start with the experimenter id/);
    refuse(tlv('field_218', b64('0102'), b64('ff')), OFPBMC.BAD_MASK, /differ in length/);
  });
});
