// ofp_match (OF1.3.5 §7.2.3.1): an OXM match is a type/length header, the TLVs, then zero padding to 8 bytes.
//
//   struct ofp_match { uint16_t type; uint16_t length; uint8_t oxm_fields[0]; uint8_t pad[...]; }
//   "length" counts the header and the TLVs but not the padding.
import { Reader, Writer } from './buffer.js';
import { OfpError, OFPET, OFPBMC } from './errors.js';
import { OFPMT_OXM } from './constants.js';
import { OxmTlv, OxmValue, readOxm, writeOxm, oxmDef, basicFieldOf, valueAt, basicByTypeByte, basicLenByTypeByte } from './oxm.js';
import { RyuDict, bad, b64, u64ToJson, unwrap, jArr, hex } from './ryu-json.js';
import { ipv4ToBytes, ipv6ToBytes } from './addr.js';

export type Match = OxmTlv[];

export function readMatch(r: Reader): Match {
  const fieldsEnd = openMatch(r);
  const b = r.buf;
  const fields: Match = [];
  const first = r.pos;
  let p = first;
  // Known OpenFlow-basic fields that lie whole within the match are decoded in place; anything else, and every
  // error, goes through readOxm.
  while (p < fieldsEnd) {
    const c = p + 4 <= fieldsEnd ? basicFieldOf(u32At(b, p)) : undefined;
    if (c !== undefined && p + 4 + b[p + 3]! <= fieldsEnd) {
      fields.push(
        (b[p + 2]! & 1) === 0
          ? { field: c.name, value: valueAt(b, p + 4, c) }
          : { field: c.name, value: valueAt(b, p + 4, c), mask: valueAt(b, p + 4 + c.width, c) },
      );
      p += 4 + b[p + 3]!;
    } else {
      fields.push(readOxmWithin(r, p, fieldsEnd));
      p = r.pos;
    }
  }
  closeMatch(r, first, fieldsEnd);
  return fields;
}

/**
 * readMatch for packet-ins: a plain match (only known OpenFlow-basic fields, what switches send) is read by
 * readPlainPacketInMatch, whose literals are allocation sites of their own; anything else (Nicira or experimenter
 * fields, and every error) by readMatch. Why own sites: V8 decides per allocation site whether to create objects
 * directly in the old generation ("pretenuring"), once most objects from that site have survived a few
 * collections. Decoded flow tables (flow-stats replies, flow-mods) are kept, so readMatch's sites can be
 * pretenured; packet-ins are dropped microseconds after decoding, and their TLVs created in the old generation made
 * every scavenge copy the strings they point to: packet-in decoding measured 4 to 6 times slower after a program
 * had kept a few thousand decoded flow-mods.
 */
export function readPacketInMatch(r: Reader): Match {
  const plain = readPlainPacketInMatch(r.buf, r.pos, r.end);
  if (plain === undefined) return readMatch(r);
  r.pos = plainMatchEnd;
  return plain;
}

/** Where the match last read by readPlainPacketInMatch ends, padding included (read it right after the call). */
export let plainMatchEnd = 0;

/**
 * The match at `start` of `b`, whose structure ends at `end`, if it is well formed and holds only known
 * OpenFlow-basic fields (what a switch sends unless it adds Nicira fields such as registers or conntrack state);
 * undefined for anything else, which the caller then reads with readMatch. Sets plainMatchEnd. Each TLV is checked
 * from its header bytes and two byte-indexed tables (what basicFieldOf tells from the header word); the first four
 * TLVs are held in locals and the array is made at the end at its exact size (pushing onto an empty array
 * allocates room for 17). Its literals are the packet-in allocation sites (see readPacketInMatch).
 */
export function readPlainPacketInMatch(b: Buffer, start: number, end: number): Match | undefined {
  const length = start + 4 <= end ? (b[start + 2]! << 8) | b[start + 3]! : 0;
  const paddedEnd = start + ((length + 7) & ~7);
  if (b[start] !== 0 || b[start + 1] !== OFPMT_OXM || length < 4 || paddedEnd > end) return undefined;
  const fieldsEnd = start + length;
  let n = 0;
  let t0: OxmTlv | undefined;
  let t1: OxmTlv | undefined;
  let t2: OxmTlv | undefined;
  let t3: OxmTlv | undefined;
  let more: Match | undefined;
  let p = start + 4;
  while (p < fieldsEnd) {
    const typeByte = b[p + 2]!;
    const len = b[p + 3]!;
    const c = basicByTypeByte[typeByte];
    if (b[p] !== 0x80 || b[p + 1] !== 0 || c === undefined || len !== basicLenByTypeByte[typeByte] || p + 4 + len > fieldsEnd) {
      return undefined;
    }
    const tlv: OxmTlv =
      (typeByte & 1) === 0
        ? { field: c.name, value: valueAt(b, p + 4, c) }
        : { field: c.name, value: valueAt(b, p + 4, c), mask: valueAt(b, p + 4 + c.width, c) };
    p += 4 + len;
    switch (n++) {
      case 0:
        t0 = tlv;
        break;
      case 1:
        t1 = tlv;
        break;
      case 2:
        t2 = tlv;
        break;
      case 3:
        t3 = tlv;
        break;
      default:
        (more ??= []).push(tlv);
    }
  }
  plainMatchEnd = paddedEnd;
  switch (n) {
    case 0:
      return [];
    case 1:
      return [t0!];
    case 2:
      return [t0!, t1!];
    case 3:
      return [t0!, t1!, t2!];
    case 4:
      return [t0!, t1!, t2!, t3!];
    default:
      return [t0!, t1!, t2!, t3!, ...more!];
  }
}

const u32At = (b: Buffer, p: number) => ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;

/**
 * Checks the match header at the reader's position and that the match, padding included, lies within the reader;
 * leaves the reader at the first TLV and returns the end of the TLVs.
 */
function openMatch(r: Reader): number {
  const b = r.buf;
  const start = r.pos;
  if (start + 4 > r.end) truncatedMatch(r, start + 2 > r.end ? start : start + 2, 2, 'structure'); // type, or length
  const type = (b[start]! << 8) | b[start + 1]!;
  const length = (b[start + 2]! << 8) | b[start + 3]!;
  if (type !== OFPMT_OXM) throw new OfpError(OFPET.BAD_MATCH, OFPBMC.BAD_TYPE, `match type ${type} is not OFPMT_OXM`);
  if (length < 4) throw new OfpError(OFPET.BAD_MATCH, OFPBMC.BAD_LEN, `match length ${length} < 4`);
  const paddedEnd = start + ((length + 7) & ~7);
  if (paddedEnd > r.end) truncatedMatch(r, start + 4, paddedEnd - start - 4, 'match');
  r.pos = start + 4;
  return start + length;
}

/** Moves the reader past the padding after the TLVs from `first` to `fieldsEnd` (checked by openMatch). */
function closeMatch(r: Reader, first: number, fieldsEnd: number): void {
  r.pos = first - 4 + ((fieldsEnd - first + 4 + 7) & ~7);
}

/** The error Reader.need() would give, as a match's: OFPBMC_BAD_LEN (§7.4.4). */
function truncatedMatch(r: Reader, at: number, n: number, what: string): never {
  throw new OfpError(OFPET.BAD_MATCH, OFPBMC.BAD_LEN, `truncated ${what}: need ${n} bytes at offset ${at}, have ${r.end - at}`);
}

/**
 * The TLV at `p`, read with readOxm, the reader confined to the match's fields and reporting OFPBMC_BAD_LEN; the
 * reader is left after it. On an exception the reader is abandoned with the message, so it needs no restoring.
 */
function readOxmWithin(r: Reader, p: number, fieldsEnd: number): OxmTlv {
  const { end, errType, errCode } = r;
  r.errType = OFPET.BAD_MATCH;
  r.errCode = OFPBMC.BAD_LEN;
  r.end = fieldsEnd;
  r.pos = p;
  const tlv = readOxm(r);
  r.end = end;
  r.errType = errType;
  r.errCode = errCode;
  return tlv;
}

export function writeMatch(w: Writer, match: Match): void {
  const start = w.reserve(4);
  w.setU16(start, OFPMT_OXM); // the length is set below
  for (let i = 0; i < match.length; i++) writeOxm(w, match[i]!);
  w.setU16(start + 2, w.pos - start);
  w.pad8(start);
}

function valueToJson(v: OxmValue): unknown {
  if (typeof v === 'bigint') return u64ToJson(v);
  if (Buffer.isBuffer(v)) return b64(v);
  return v;
}

function valueFromJson(field: string, v: unknown): OxmValue {
  const def = oxmDef(field);
  if (!def) {
    // The name itself (field_N) is checked by the encoder, as for a decoded message.
    if (typeof v !== 'string') bad(`OXM field ${field} needs a base64 value`);
    return Buffer.from(v, 'base64');
  }
  if (def.kind !== 'int') {
    if (typeof v !== 'string') bad(`${field} needs a text address`);
    return v;
  }
  if (def.width > 4) {
    if (typeof v === 'bigint') return v;
    if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
    bad(`${field} needs an integer`);
  }
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) bad(`${field} needs an integer`);
  return n;
}

export function oxmToRyu(f: OxmTlv): RyuDict {
  return { OXMTlv: { field: f.field, mask: f.mask === undefined ? null : valueToJson(f.mask), value: valueToJson(f.value) } };
}

export function oxmFromRyu(obj: unknown): OxmTlv {
  const [, d] = unwrap(obj, 'OXMTlv');
  if (typeof d.field !== 'string') bad('OXMTlv.field is not a string');
  const tlv: OxmTlv = { field: d.field, value: valueFromJson(d.field, d.value) };
  if (d.mask !== null && d.mask !== undefined) tlv.mask = valueFromJson(d.field, d.mask);
  return tlv;
}

/** Ryu's OFPMatch form; `length` is the encoded length without padding. */
export function matchToRyu(match: Match): RyuDict {
  const w = new Writer(64);
  writeMatch(w, match);
  return { OFPMatch: { length: w.buf.readUInt16BE(2), oxm_fields: match.map(oxmToRyu), type: OFPMT_OXM } };
}

export function matchFromRyu(obj: unknown): Match {
  const [, d] = unwrap(obj, 'OFPMatch');
  return jArr(d, 'oxm_fields').map(oxmFromRyu);
}

// ovs-ofctl's shorthand for an eth_type (and ip_proto) pair, as it prints them first in a match.
const SHORTHAND: Record<string, string> = {
  '2048': 'ip',
  '2048/1': 'icmp',
  '2048/6': 'tcp',
  '2048/17': 'udp',
  '2048/132': 'sctp',
  '34525': 'ipv6',
  '34525/58': 'icmp6',
  '34525/6': 'tcp6',
  '34525/17': 'udp6',
  '34525/132': 'sctp6',
  '2054': 'arp',
  '34887': 'mpls',
  '34888': 'mplsm',
};

function formatValue(field: string, v: OxmValue): string {
  if (Buffer.isBuffer(v)) return `0x${v.toString('hex')}`;
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return hex(v);
  // ovs-ofctl prints these in hex: ethertypes, metadata, registers and marks.
  if (field === 'eth_type' || field === 'metadata' || field === 'pkt_mark' || /^reg\d+$/.test(field)) return hex(v);
  return String(v);
}

function isAllOnes(mask: OxmValue): boolean {
  if (typeof mask === 'number') return mask === 0xff || mask === 0xffff || mask === 0xffffff || mask === 0xffffffff;
  if (typeof mask === 'bigint') return mask === 0xffffffffffffffffn;
  if (typeof mask === 'string') return /^(255\.){3}255$|^(ff:){5}ff$|^(ffff:){7}ffff$/i.test(mask);
  return mask.every((b) => b === 0xff);
}

/** The prefix length of a contiguous address mask (255.255.255.0 -> 24, ffff:ffff:: -> 32), or -1. */
function prefixLength(mask: string): number {
  const b = Buffer.alloc(16);
  const width = mask.includes(':') ? 16 : 4;
  try {
    if (width === 4) ipv4ToBytes(mask, b, 0);
    else ipv6ToBytes(mask, b, 0);
  } catch {
    return -1;
  }
  const bits = [...b.subarray(0, width)].map((x) => x.toString(2).padStart(8, '0')).join('');
  const n = bits.indexOf('0');
  if (n < 0) return bits.length;
  return bits.slice(n).includes('1') ? -1 : n;
}

/** The match as ovs-ofctl prints it: `tcp,in_port=1,nw_src=10.0.0.1,tp_dst=80`. */
export function formatMatch(match: Match): string {
  const parts: string[] = [];
  const ethType = match.find((f) => f.field === 'eth_type' && f.mask === undefined)?.value;
  const proto = match.find((f) => f.field === 'ip_proto' && f.mask === undefined)?.value;
  let skipProto = false;
  if (ethType !== undefined) {
    const withProto = proto !== undefined ? SHORTHAND[`${String(ethType)}/${String(proto)}`] : undefined;
    if (withProto) {
      parts.push(withProto);
      skipProto = true;
    } else parts.push(SHORTHAND[String(ethType)] ?? `dl_type=${formatValue('eth_type', ethType)}`);
  }
  for (const f of match) {
    if (f.field === 'eth_type' && f.mask === undefined && ethType !== undefined) continue;
    if (f.field === 'ip_proto' && skipProto) continue;
    const name = oxmDef(f.field)?.ovsName ?? f.field;
    if (f.field === 'vlan_vid' && f.mask === undefined && typeof f.value === 'number' && f.value & 0x1000) {
      parts.push(`dl_vlan=${f.value & 0xfff}`);
      continue;
    }
    const kind = oxmDef(f.field)?.kind;
    const prefix = typeof f.mask === 'string' && (kind === 'ipv4' || kind === 'ipv6') ? prefixLength(f.mask) : -1;
    if (f.mask === undefined || isAllOnes(f.mask)) parts.push(`${name}=${formatValue(f.field, f.value)}`);
    else if (prefix >= 0)
      parts.push(`${name}=${formatValue(f.field, f.value)}/${prefix}`); // ovs-ofctl writes CIDR masks as /N
    else if (typeof f.value === 'number') parts.push(`${name}=${hex(f.value)}/${hex(f.mask as number)}`);
    else parts.push(`${name}=${formatValue(f.field, f.value)}/${formatValue(f.field, f.mask)}`);
  }
  return parts.join(',');
}
