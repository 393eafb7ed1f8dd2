// OXM TLVs (OF1.3.5 §7.2.3.2-§7.2.3.8): the field table and the codec for one field.
//
// The table holds every OpenFlow-basic field with its width and spec maskability, plus the Nicira (NXM) and ONF
// experimenter fields that Open vSwitch emits in OpenFlow 1.3 and that Ryu names. A field we do not know is
// carried losslessly as raw bytes under Ryu's name for it, `field_N` (N = class << 7 | field, see unknownFieldName),
// so decode then encode gives the same bytes and Ryu's JSON for it reads back.
import { Reader, Writer, u64At } from './buffer.js';
import { OfpError, OFPET, OFPBMC } from './errors.js';
import { OFPXMC, ONF_EXPERIMENTER_ID } from './constants.js';
import { NameTable } from './name-table.js';
import { macToString, macToBytes, ipv4ToString, ipv4ToBytes, ipv6ToString, ipv6ToBytes } from './addr.js';

/** number for fields up to 32 bits, bigint for 64/128-bit ones, text for addresses, bytes for unknown fields. */
export type OxmValue = number | bigint | string | Buffer;

export interface OxmTlv {
  field: string;
  value: OxmValue;
  /** Present only for a masked field. */
  mask?: OxmValue;
}

type Kind = 'int' | 'mac' | 'ipv4' | 'ipv6';

export interface OxmDef {
  name: string;
  oxmClass: number;
  field: number;
  /** Value width in bytes (the mask, if any, has the same width). */
  width: number;
  /** Whether OF1.3.5 allows a mask. Decoding accepts a mask anyway: Open vSwitch sends masked L4 ports. */
  maskable: boolean;
  kind: Kind;
  /** Experimenter fields only: the experimenter id, and for ONF fields the 16-bit experimenter field type. */
  experimenter?: number;
  onfType?: number;
  /** The name `ovs-ofctl` prints, where it differs. */
  ovsName?: string;
  /** Precomputed OXM header words (non-experimenter fields), filled in when the table is indexed. */
  header?: number;
  maskedHeader?: number;
}

const B = OFPXMC.OPENFLOW_BASIC;
const basic = (name: string, field: number, width: number, maskable: boolean, kind: Kind = 'int', ovsName?: string): OxmDef => ({
  name,
  oxmClass: B,
  field,
  width,
  maskable,
  kind,
  ...(ovsName ? { ovsName } : {}),
});
const nx0 = (name: string, field: number, width: number, kind: Kind = 'int'): OxmDef => ({
  name,
  oxmClass: OFPXMC.NXM_0,
  field,
  width,
  maskable: true,
  kind,
});
const nx1 = (name: string, field: number, width: number, kind: Kind = 'int'): OxmDef => ({
  name,
  oxmClass: OFPXMC.NXM_1,
  field,
  width,
  maskable: true,
  kind,
});

/** OF1.3.5 §7.2.3.7, Table 12: OXM_OF_* fields. */
const OPENFLOW_BASIC: OxmDef[] = [
  basic('in_port', 0, 4, false),
  basic('in_phy_port', 1, 4, false),
  basic('metadata', 2, 8, true),
  basic('eth_dst', 3, 6, true, 'mac', 'dl_dst'),
  basic('eth_src', 4, 6, true, 'mac', 'dl_src'),
  basic('eth_type', 5, 2, false, 'int', 'dl_type'),
  basic('vlan_vid', 6, 2, true),
  basic('vlan_pcp', 7, 1, false, 'int', 'dl_vlan_pcp'),
  basic('ip_dscp', 8, 1, false),
  basic('ip_ecn', 9, 1, false, 'int', 'nw_ecn'),
  basic('ip_proto', 10, 1, false, 'int', 'nw_proto'),
  basic('ipv4_src', 11, 4, true, 'ipv4', 'nw_src'),
  basic('ipv4_dst', 12, 4, true, 'ipv4', 'nw_dst'),
  basic('tcp_src', 13, 2, false, 'int', 'tp_src'),
  basic('tcp_dst', 14, 2, false, 'int', 'tp_dst'),
  basic('udp_src', 15, 2, false, 'int', 'tp_src'),
  basic('udp_dst', 16, 2, false, 'int', 'tp_dst'),
  basic('sctp_src', 17, 2, false, 'int', 'tp_src'),
  basic('sctp_dst', 18, 2, false, 'int', 'tp_dst'),
  basic('icmpv4_type', 19, 1, false, 'int', 'icmp_type'),
  basic('icmpv4_code', 20, 1, false, 'int', 'icmp_code'),
  basic('arp_op', 21, 2, false),
  basic('arp_spa', 22, 4, true, 'ipv4'),
  basic('arp_tpa', 23, 4, true, 'ipv4'),
  basic('arp_sha', 24, 6, true, 'mac'),
  basic('arp_tha', 25, 6, true, 'mac'),
  basic('ipv6_src', 26, 16, true, 'ipv6'),
  basic('ipv6_dst', 27, 16, true, 'ipv6'),
  basic('ipv6_flabel', 28, 4, true, 'int', 'ipv6_label'),
  basic('icmpv6_type', 29, 1, false, 'int', 'icmp_type'),
  basic('icmpv6_code', 30, 1, false, 'int', 'icmp_code'),
  basic('ipv6_nd_target', 31, 16, false, 'ipv6', 'nd_target'),
  basic('ipv6_nd_sll', 32, 6, false, 'mac', 'nd_sll'),
  basic('ipv6_nd_tll', 33, 6, false, 'mac', 'nd_tll'),
  basic('mpls_label', 34, 4, false),
  basic('mpls_tc', 35, 1, false),
  basic('mpls_bos', 36, 1, false),
  basic('pbb_isid', 37, 3, true),
  basic('tunnel_id', 38, 8, true, 'int', 'tun_id'),
  basic('ipv6_exthdr', 39, 2, true),
];

/** Nicira extensible match fields (Open vSwitch's meta-flow), under the names Ryu gives them. */
const NICIRA: OxmDef[] = [
  { ...nx1('tun_ipv4_src', 31, 4, 'ipv4'), ovsName: 'tun_src' },
  { ...nx1('tun_ipv4_dst', 32, 4, 'ipv4'), ovsName: 'tun_dst' },
  nx1('pkt_mark', 33, 4),
  nx1('tcp_flags', 34, 2),
  nx1('_recirc_id', 36, 4),
  nx1('conj_id', 37, 4),
  nx1('tun_gbp_id', 38, 2),
  nx1('tun_gbp_flags', 39, 1),
  nx1('tun_flags', 104, 2),
  nx1('ct_state', 105, 4),
  nx1('ct_zone', 106, 2),
  nx1('ct_mark', 107, 4),
  nx1('ct_label', 108, 16),
  nx1('tun_ipv6_src', 109, 16, 'ipv6'),
  nx1('tun_ipv6_dst', 110, 16, 'ipv6'),
  nx1('ct_nw_proto', 111, 1),
  nx1('ct_nw_src', 112, 4, 'ipv4'),
  nx1('ct_nw_dst', 113, 4, 'ipv4'),
  nx1('ct_ipv6_src', 114, 16, 'ipv6'),
  nx1('ct_ipv6_dst', 115, 16, 'ipv6'),
  nx1('ct_tp_src', 116, 2),
  nx1('ct_tp_dst', 117, 2),
  ...Array.from({ length: 16 }, (_, i) => nx1(`reg${i}`, i, 4)),
  nx0('vlan_tci', 4, 2),
  nx0('nw_tos', 5, 1),
  nx1('ip_frag', 26, 1),
  nx1('nw_ttl', 29, 1),
  nx1('mpls_ttl', 30, 1),
];

/** ONF experimenter fields of OpenFlow 1.3 extensions (EXT-256: PBB UCA). */
const ONF: OxmDef[] = [
  {
    name: 'pbb_uca',
    oxmClass: OFPXMC.EXPERIMENTER,
    field: 0,
    width: 1,
    maskable: false,
    kind: 'int',
    experimenter: ONF_EXPERIMENTER_ID,
    onfType: 2560,
  },
];

export const OXM_FIELDS: readonly OxmDef[] = [...OPENFLOW_BASIC, ...NICIRA, ...ONF];

// How a field's value is encoded, as small integers so that the hot paths switch on a number.
const V_U8 = 1;
const V_U16 = 2;
const V_U24 = 3;
const V_U32 = 4;
const V_U64 = 5;
/** Integers wider than 64 bits (ct_label): bigint. */
const V_WIDE = 6;
const V_MAC = 7;
const V_IPV4 = 8;
const V_IPV6 = 9;

/**
 * What the encoder and decoder need of a field, in one class so that every field has the same hidden class (the
 * OxmDef literals above come in several shapes, which made their property reads polymorphic on the hot paths).
 */
export class FieldCodec {
  // `declare`, as in buffer.ts's Reader: no class fields set to undefined first, so width, encoding and the header
  // words stay small-integer fields.
  declare readonly def: OxmDef;
  declare readonly name: string;
  declare readonly width: number;
  /** V_* */
  declare readonly encoding: number;
  /** The OXM header words (0 for experimenter fields, whose header is longer). */
  declare readonly header: number;
  declare readonly maskedHeader: number;
  declare readonly isExperimenter: boolean;

  constructor(d: OxmDef) {
    this.def = d;
    this.name = d.name;
    this.width = d.width;
    this.encoding =
      d.kind === 'mac' ? V_MAC : d.kind === 'ipv4' ? V_IPV4 : d.kind === 'ipv6' ? V_IPV6 : d.width <= 4 ? d.width : d.width === 8 ? V_U64 : V_WIDE;
    this.isExperimenter = d.experimenter !== undefined;
    this.header = this.isExperimenter ? 0 : ((d.oxmClass << 16) | (d.field << 9) | d.width) >>> 0;
    this.maskedHeader = this.isExperimenter ? 0 : ((d.oxmClass << 16) | (d.field << 9) | 0x100 | (2 * d.width)) >>> 0;
  }
}

const byHeader = new Map<number, FieldCodec>(); // (class << 7 | field) for non-experimenter fields
const basicByField: (FieldCodec | undefined)[] = new Array<FieldCodec | undefined>(128).fill(undefined);
const onfByType = new Map<number, FieldCodec>();
const codecs = OXM_FIELDS.map((d) => new FieldCodec(d));
for (const c of codecs) {
  const d = c.def;
  if (!c.isExperimenter) {
    d.header = c.header;
    d.maskedHeader = c.maskedHeader;
    const key = d.oxmClass * 128 + d.field;
    if (byHeader.has(key)) throw new Error(`duplicate OXM field header for ${d.name}`);
    byHeader.set(key, c);
    if (d.oxmClass === B) basicByField[d.field] = c;
  } else if (d.onfType !== undefined) {
    onfByType.set(d.onfType, c);
  }
}
/**
 * OpenFlow-basic fields by the third byte of their OXM header (field << 1 | hasmask), and the payload length that
 * header must give (the width, twice it with a mask; 0 where no field is known). Packet-in match decoding tests a
 * TLV against these two byte-indexed tables instead of assembling the 32-bit header word (see match.ts).
 */
export const basicByTypeByte: (FieldCodec | undefined)[] = new Array<FieldCodec | undefined>(256).fill(undefined);
export const basicLenByTypeByte = new Uint8Array(256);
for (let f = 0; f < 128; f++) {
  const c = basicByField[f];
  if (c === undefined) continue;
  basicByTypeByte[f << 1] = c;
  basicByTypeByte[(f << 1) | 1] = c;
  basicLenByTypeByte[f << 1] = c.width;
  basicLenByTypeByte[(f << 1) | 1] = 2 * c.width;
}

/** Every TLV an encoder writes starts with this lookup; the NameTable also refuses duplicate names. */
const byName = new NameTable<FieldCodec>(codecs.map((c) => [c.name, c] as const));

export function oxmDef(name: string): OxmDef | undefined {
  return byName.get(name)?.def;
}

function badLen(detail: string): never {
  throw new OfpError(OFPET.BAD_MATCH, OFPBMC.BAD_LEN, detail);
}

/** The value of field `c` at `p`, which the caller has checked lies within the structure. */
export function valueAt(b: Buffer, p: number, c: FieldCodec): OxmValue {
  switch (c.encoding) {
    case V_U8:
      return b[p]!;
    case V_U16:
      return (b[p]! << 8) | b[p + 1]!;
    case V_U24:
      return (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
    case V_U32:
      return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
    case V_U64:
      return u64At(b, p);
    case V_MAC:
      return macToString(b, p);
    case V_IPV4:
      return ipv4ToString(b, p);
    case V_IPV6:
      return ipv6ToString(b, p);
    default:
      return BigInt(`0x${b.toString('hex', p, p + c.width)}`);
  }
}

/**
 * The field of an OXM header word if it is a known OpenFlow-basic field with the length that field needs (masked
 * or not); undefined for anything else (another class, an unknown field, a wrong length), which readOxm then
 * decodes or reports. For match readers that decode the common TLVs in place (see match.ts).
 */
export function basicFieldOf(header: number): FieldCodec | undefined {
  if (header >>> 16 !== B) return undefined;
  const c = basicByField[(header >>> 9) & 0x7f];
  if (c === undefined || (header & 0xff) !== ((header & 0x100) === 0 ? c.width : 2 * c.width)) return undefined;
  return c;
}

function readValue(r: Reader, c: FieldCodec): OxmValue {
  const p = r.pos;
  r.skip(c.width);
  return valueAt(r.buf, p, c);
}

function badValue(d: FieldCodec, v: unknown): never {
  throw new OfpError(OFPET.BAD_MATCH, OFPBMC.BAD_VALUE, `invalid value for ${d.name}: ${String(v)}`);
}

const INT_LIMIT = [1, 0x100, 0x10000, 0x1000000, 0x100000000];

function writeValue(w: Writer, c: FieldCodec, v: OxmValue): void {
  const p = w.reserve(c.width);
  if (!putValue(w.buf, p, c, v)) {
    w.pos = p;
    writeOtherValue(w, c, v);
  }
}

/**
 * Stores value `v` of field `c` at `p` (room for the field's width) if it is one of the fast cases: a number in
 * range for the common integer widths, or address text (whose parsers throw OfpError for bad text). Returns false,
 * having stored nothing, for everything else (bigints given for narrow fields, out-of-range values, wide fields),
 * which writeOtherValue then writes or refuses.
 */
function putValue(b: Buffer, p: number, c: FieldCodec, v: OxmValue): boolean {
  switch (c.encoding) {
    case V_U8:
      if (typeof v !== 'number' || (v | 0) !== v || v < 0 || v > 0xff) return false;
      b[p] = v;
      return true;
    case V_U16:
      if (typeof v !== 'number' || (v | 0) !== v || v < 0 || v > 0xffff) return false;
      b[p] = v >>> 8;
      b[p + 1] = v;
      return true;
    case V_U32:
      if (typeof v !== 'number' || v >>> 0 !== v) return false;
      b[p] = v >>> 24;
      b[p + 1] = v >>> 16;
      b[p + 2] = v >>> 8;
      b[p + 3] = v;
      return true;
    case V_MAC:
      macToBytes(v as string, b, p);
      return true;
    case V_IPV4:
      ipv4ToBytes(v as string, b, p);
      return true;
    case V_IPV6:
      ipv6ToBytes(v as string, b, p);
      return true;
    default:
      return false;
  }
}

function writeOtherValue(w: Writer, d: FieldCodec, v: OxmValue): void {
  if (d.width <= 4) {
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n >= INT_LIMIT[d.width]!) badValue(d, v);
    if (d.width === 1) w.u8(n);
    else if (d.width === 2) w.u16(n);
    else if (d.width === 3) w.u24(n);
    else w.u32(n);
    return;
  }
  let big: bigint;
  try {
    big = typeof v === 'bigint' ? v : BigInt(v as number | string);
  } catch {
    badValue(d, v);
  }
  if (big < 0n || big >= 1n << BigInt(8 * d.width)) badValue(d, v);
  if (d.width === 8) w.u64(big);
  else w.bytes(Buffer.from(big.toString(16).padStart(2 * d.width, '0'), 'hex'));
}

/**
 * Ryu's name for an OXM field it does not know: `field_N`, N = class << 7 | field (the header's top 23 bits). An
 * experimenter field's value then starts with its experimenter id (the bytes after the 32-bit header), as Ryu
 * writes a `field_N` value straight after that header.
 */
export function unknownFieldName(oxmClass: number, field: number): string {
  return `field_${oxmClass * 128 + field}`;
}

/** The class and field a `field_N` name stands for, or undefined for any other name. */
export function unknownFieldHeader(name: string): { oxmClass: number; field: number } | undefined {
  const m = /^field_(\d{1,8})$/.exec(name);
  if (!m) return undefined;
  const n = Number(m[1]);
  if (n > 0x7fffff) return undefined;
  return { oxmClass: n >>> 7, field: n & 0x7f };
}

/** Decodes one OXM TLV at the reader's position. */
export function readOxm(r: Reader): OxmTlv {
  const header = r.u32();
  const cls = header >>> 16;
  const field = (header >>> 9) & 0x7f;
  const hasMask = (header & 0x100) !== 0;
  let len = header & 0xff;
  r.need(len, 'OXM field');
  let def: FieldCodec | undefined;
  if (cls === OFPXMC.EXPERIMENTER) {
    if (len < 4) badLen(`experimenter OXM field of length ${len}`);
    if (r.buf.readUInt32BE(r.pos) === ONF_EXPERIMENTER_ID && len >= 6) {
      def = onfByType.get(r.buf.readUInt16BE(r.pos + 4));
      if (def) {
        r.skip(6);
        len -= 6;
      }
    }
  } else {
    def = cls === B ? basicByField[field] : byHeader.get(cls * 128 + field);
  }
  if (!def) return readUnknownOxm(r, cls, field, hasMask, len);
  if (len !== (hasMask ? 2 * def.width : def.width)) {
    badLen(`OXM ${def.name} has length ${len}, expected ${hasMask ? 2 * def.width : def.width}`);
  }
  const value = readValue(r, def);
  if (!hasMask) return { field: def.name, value };
  return { field: def.name, value, mask: readValue(r, def) };
}

/**
 * A field we do not know, as raw bytes under `field_N`. A masked experimenter field carries its experimenter id
 * once, before value and mask; both get it here, so that value and mask have one length, as Ryu requires.
 */
function readUnknownOxm(r: Reader, cls: number, field: number, hasMask: boolean, len: number): OxmTlv {
  const name = unknownFieldName(cls, field);
  if (!hasMask) return { field: name, value: r.copy(len) };
  const exp = cls === OFPXMC.EXPERIMENTER ? r.copy(4) : Buffer.alloc(0);
  const half = len - exp.length;
  if (half % 2 !== 0) badLen(`masked OXM ${name} of odd length ${len}`);
  const value = Buffer.concat([exp, r.copy(half / 2)]);
  return { field: name, value, mask: Buffer.concat([exp, r.copy(half / 2)]) };
}

/** Encodes one OXM TLV. */
export function writeOxm(w: Writer, tlv: OxmTlv): void {
  const c = byName.get(tlv.field);
  if (c === undefined || c.isExperimenter || (tlv.mask !== undefined && tlv.mask !== null)) {
    writeOtherOxm(w, tlv, c);
    return;
  }
  // The common case (every flow-mod match field): the precomputed header word and the value, in one reserved
  // block. A value the fast path does not take is written (or refused) by writeOtherValue in its place.
  const p = w.reserve(4 + c.width);
  const b = w.buf;
  const h = c.header;
  b[p] = h >>> 24;
  b[p + 1] = h >>> 16;
  b[p + 2] = h >>> 8;
  b[p + 3] = h;
  if (!putValue(b, p + 4, c, tlv.value)) {
    w.pos = p + 4;
    writeOtherValue(w, c, tlv.value);
  }
}

/**
 * Masked fields, experimenter fields and fields we do not know (carried as raw bytes under a name that holds their
 * header).
 */
function writeOtherOxm(w: Writer, tlv: OxmTlv, c: FieldCodec | undefined): void {
  const hasMask = tlv.mask !== undefined && tlv.mask !== null;
  if (c !== undefined && !c.isExperimenter) {
    w.u32(c.maskedHeader);
    writeValue(w, c, tlv.value);
    writeValue(w, c, tlv.mask!);
    return;
  }
  if (!c) {
    const h = unknownFieldHeader(tlv.field);
    if (!h || !Buffer.isBuffer(tlv.value) || (hasMask && !Buffer.isBuffer(tlv.mask))) {
      throw new OfpError(
        OFPET.BAD_MATCH,
        OFPBMC.BAD_FIELD,
        `unknown OXM field ${JSON.stringify(tlv.field)} (one we do not name is field_N, N = class << 7 | field, with a bytes value)`,
      );
    }
    const shared = sharedExperimenterId(tlv, h.oxmClass);
    const len = unknownPayloadLength(tlv, shared);
    if (len > 0xff) throw new OfpError(OFPET.BAD_MATCH, OFPBMC.BAD_LEN, `OXM ${tlv.field} of ${len} bytes (at most 255)`);
    w.u32(((h.oxmClass << 16) | (h.field << 9) | (hasMask ? 0x100 : 0) | len) >>> 0);
    w.bytes(tlv.value);
    if (hasMask) w.bytes((tlv.mask as Buffer).subarray(shared));
    return;
  }
  const def = c.def;
  const len = (hasMask ? 2 * def.width : def.width) + 4 + (def.onfType !== undefined ? 2 : 0);
  w.u32(((def.oxmClass << 16) | (def.field << 9) | (hasMask ? 0x100 : 0) | len) >>> 0);
  w.u32(def.experimenter!);
  if (def.onfType !== undefined) w.u16(def.onfType);
  writeValue(w, c, tlv.value);
  if (hasMask) writeValue(w, c, tlv.mask!);
}

/**
 * How many leading bytes of a masked unknown experimenter field's value and mask are its experimenter id, written
 * once (0 for anything else). The two must agree on it: it is one field of the TLV, not part of value or mask.
 */
function sharedExperimenterId(tlv: OxmTlv, oxmClass: number): number {
  if (oxmClass !== OFPXMC.EXPERIMENTER) return 0;
  const v = tlv.value as Buffer;
  if (v.length < 4) throw new OfpError(OFPET.BAD_MATCH, OFPBMC.BAD_LEN, `experimenter OXM ${tlv.field} needs its 4-byte experimenter id first`);
  if (tlv.mask === undefined || tlv.mask === null) return 0;
  const m = tlv.mask as Buffer;
  if (m.length !== v.length || !m.subarray(0, 4).equals(v.subarray(0, 4))) {
    throw new OfpError(
      OFPET.BAD_MATCH,
      OFPBMC.BAD_MASK,
      `masked experimenter OXM ${tlv.field}: value and mask must both start with the experimenter id`,
    );
  }
  return 4;
}

/** The OXM length byte of an unknown field: what follows the 32-bit header. */
function unknownPayloadLength(tlv: OxmTlv, shared: number): number {
  const v = Buffer.isBuffer(tlv.value) ? tlv.value.length : 0;
  if (tlv.mask === undefined || tlv.mask === null) return v;
  if (!Buffer.isBuffer(tlv.mask) || tlv.mask.length !== v) {
    throw new OfpError(OFPET.BAD_MATCH, OFPBMC.BAD_MASK, `OXM ${tlv.field}: mask and value differ in length`);
  }
  return 2 * v - shared;
}

/** Encoded size of one TLV, header included. */
export function oxmLength(tlv: OxmTlv): number {
  const hasMask = tlv.mask !== undefined && tlv.mask !== null;
  const def = byName.get(tlv.field)?.def;
  if (!def) {
    const h = unknownFieldHeader(tlv.field);
    return 4 + (h && Buffer.isBuffer(tlv.value) ? unknownPayloadLength(tlv, sharedExperimenterId(tlv, h.oxmClass)) : 0);
  }
  const extra = def.experimenter !== undefined ? 4 + (def.onfType !== undefined ? 2 : 0) : 0;
  return 4 + extra + def.width * (hasMask ? 2 : 1);
}
