// OFPT_PACKET_IN (OF1.3.5 §7.4.1): a packet the switch sends to the controller (table miss, or an output to
// OFPP_CONTROLLER), with the pipeline fields that describe it (in_port, metadata, tunnel id...) as a match.
//
//   struct ofp_packet_in {
//     ofp_header header; uint32_t buffer_id; uint16_t total_len; uint8_t reason; uint8_t table_id;
//     uint64_t cookie; struct ofp_match match; /* padded to 8 */ uint8_t pad[2]; uint8_t data[0]; };  // 34 + ...
//
// The hottest decoder of the controller: it reads in place (decode.ts's direct path, readPlainPacketIn) or with plain
// Reader calls, keeps `data` a view of the input, and allocates only the message, the match array and its TLVs (and
// the cookie, when it is not the last one's).
import { OFPT, OFPR, OFP_NO_BUFFER } from './constants.js';
import { register } from './registry.js';
import { u64At } from './buffer.js';
import type { Reader } from './buffer.js';
import { Match, readPacketInMatch, readPlainPacketInMatch, plainMatchEnd, writeMatch, matchToRyu, matchFromRyu, formatMatch } from './match.js';
import { b64, jBytes, jInt, jObj, jU64, u64ToJson } from './ryu-json.js';

export interface PacketInMsg {
  type: 'packetIn';
  xid: number;
  /** Id of the packet buffered on the switch, OFP_NO_BUFFER (0xffffffff) when `data` is the whole packet. */
  bufferId: number;
  /** Length of the frame on the wire; `data` may be shorter (miss_send_len / max_len). */
  totalLen: number;
  /** OFPR_* */
  reason: number;
  tableId: number;
  /** Cookie of the flow entry that sent the packet; all-ones for a table miss without one. */
  cookie: bigint;
  match: Match;
  /** The frame (or its head), a view of the input buffer. */
  data: Buffer;
}

const COOKIE_ALL_ONES = 0xffffffffffffffffn;

/** The last cookie decoded and its bytes as two int32 halves (bigints are immutable, so sharing one is safe). */
let lastCookie = 0n;
let lastCookieHi = 0;
let lastCookieLo = 0;

const REASONS = ['no_match', 'action', 'invalid_ttl'];

/**
 * The body of a packet-in, from `r` (positioned after the header) to its end. The 16 fixed bytes after the header are
 * read in place once they are known to be there; a shorter body is read field by field, which throws the Reader's
 * error for the first field that is cut. Used by the registry and by decode.ts's direct path for packet-ins.
 */
export function readPacketIn(r: Reader, xid: number): PacketInMsg {
  const b = r.buf;
  const p = r.pos;
  if (p + 16 > r.end) {
    r.u32();
    r.u16();
    r.u8();
    r.u8();
    r.skip(8);
  }
  const bufferId = b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  const totalLen = (b[p + 4]! << 8) | b[p + 5]!;
  const reason = b[p + 6]!;
  const tableId = b[p + 7]!;
  const cookie = cookieAt(b, p + 8);
  r.pos = p + 16;
  const match = readPacketInMatch(r); // not readMatch: see there
  r.skip(2);
  const data = b.subarray(r.pos, r.end);
  r.pos = r.end;
  return { type: 'packetIn', xid, bufferId, totalLen, reason, tableId, cookie, match, data };
}

/**
 * readPacketIn without a reader, for decode.ts's direct path: the packet-in `b` (header included, `end` bytes, the
 * header already checked) if it is well formed and its match plain (see readPlainPacketInMatch); undefined for
 * anything else, which the caller then decodes with readPacketIn.
 */
export function readPlainPacketIn(b: Buffer, end: number, xid: number): PacketInMsg | undefined {
  if (end < 8 + 16) return undefined;
  const bufferId = b[8]! * 0x1000000 + ((b[9]! << 16) | (b[10]! << 8) | b[11]!);
  const totalLen = (b[12]! << 8) | b[13]!;
  const reason = b[14]!;
  const tableId = b[15]!;
  const cookie = cookieAt(b, 16);
  const match = readPlainPacketInMatch(b, 8 + 16, end);
  if (match === undefined) return undefined;
  const dataStart = plainMatchEnd + 2;
  if (dataStart > end) return undefined;
  const data = b.subarray(dataStart, end);
  return { type: 'packetIn', xid, bufferId, totalLen, reason, tableId, cookie, match, data };
}

/**
 * The cookie at `p`. A packet-in's cookie is that of the flow entry that sent the packet, so a stream of packet-ins
 * repeats a few cookies (a reactive controller's are nearly all its table-miss entry's). The last one is kept with
 * its two halves: a repeat costs two compares instead of a new bigint (~40 bytes of garbage; 3-6% of a decode,
 * measured).
 */
function cookieAt(b: Buffer, p: number): bigint {
  const hi = (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
  const lo = (b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!;
  if (hi !== lastCookieHi || lo !== lastCookieLo) {
    lastCookie = u64At(b, p);
    lastCookieHi = hi;
    lastCookieLo = lo;
  }
  return lastCookie;
}

register<PacketInMsg>({
  type: 'packetIn',
  ofpType: OFPT.PACKET_IN,
  ryuName: 'OFPPacketIn',
  ofpName: 'OFPT_PACKET_IN',
  decode: (r, xid) => readPacketIn(r, xid),
  encode: (w, m) => {
    w.u32(m.bufferId);
    w.u16(m.totalLen);
    w.u8(m.reason);
    w.u8(m.tableId);
    w.u64(m.cookie);
    writeMatch(w, m.match);
    w.zeros(2);
    w.bytes(m.data);
  },
  toRyu: (m) => ({
    buffer_id: m.bufferId,
    total_len: m.totalLen,
    reason: m.reason,
    table_id: m.tableId,
    cookie: u64ToJson(m.cookie),
    match: matchToRyu(m.match),
    data: b64(m.data),
  }),
  fromRyu: (d, xid) => ({
    type: 'packetIn',
    xid,
    bufferId: jInt(d, 'buffer_id', OFP_NO_BUFFER),
    totalLen: jInt(d, 'total_len', 0),
    reason: jInt(d, 'reason', OFPR.NO_MATCH),
    tableId: jInt(d, 'table_id', 0),
    cookie: jU64(d, 'cookie', 0n),
    match: matchFromRyu(jObj(d, 'match')),
    data: jBytes(d, 'data'),
  }),
  // ovs-ofctl: `table_id=1 cookie=0x... total_len=42 in_port=6,... (via action) data_len=42 buffer=0x00000002`
  format: (m) => {
    const parts: string[] = [];
    if (m.tableId) parts.push(`table_id=${m.tableId}`);
    if (m.cookie !== COOKIE_ALL_ONES) parts.push(`cookie=0x${m.cookie.toString(16)}`);
    parts.push(`total_len=${m.totalLen}`);
    const match = formatMatch(m.match);
    if (match) parts.push(match);
    parts.push(`(via ${REASONS[m.reason] ?? m.reason})`, `data_len=${m.data.length}`);
    if (m.bufferId === OFP_NO_BUFFER) {
      parts.push('(unbuffered)');
      if (m.totalLen !== m.data.length) parts.push('(***total_len != data_len***)');
    } else {
      parts.push(`buffer=0x${m.bufferId.toString(16).padStart(8, '0')}`);
      if (m.totalLen < m.data.length) parts.push('(***total_len < data_len***)');
    }
    return parts.join(' ');
  },
});
