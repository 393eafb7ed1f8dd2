// OFPMP_FLOW (OF1.3.5 §7.3.5.2): the flow entries a selector picks (flow-filter.ts), with their counters.
//
//   struct ofp_flow_stats { uint16_t length; uint8_t table_id; uint8_t pad; uint32_t duration_sec;
//     uint32_t duration_nsec; uint16_t priority; uint16_t idle_timeout; uint16_t hard_timeout; uint16_t flags;
//     uint8_t pad2[4]; uint64_t cookie; uint64_t packet_count; uint64_t byte_count; struct ofp_match match;
//     /* instructions follow the padded match, up to length */ };                  (56 bytes with an empty match)
//
// Decoding the reply is a hot path (a controller polls every flow of every switch): the fixed part is read
// straight from the buffer once the entry's length has been checked, one bounded reader per entry keeps the
// match and instructions inside it, and nothing is copied.
import { OfpError, OFPET, OFPBRC } from '../errors.js';
import { u64At } from '../buffer.js';
import { OFPT, OFPMP, OFPFF, OFP_DEFAULT_PRIORITY, OFP_SIZES } from '../constants.js';
import { register } from '../registry.js';
import { Match, readMatch, writeMatch, matchToRyu, matchFromRyu, formatMatch } from '../match.js';
import {
  Instruction,
  readInstructions,
  writeInstructions,
  instructionsLength,
  instructionsToRyu,
  instructionsFromRyu,
  formatInstructions,
} from '../instructions.js';
import { RyuDict, hex, jArr, jU64, u64ToJson } from '../ryu-json.js';
import { bodyList, counted, durationText, jU8, jU16, jU32 } from './common.js';
import { FlowFilter, readFlowFilter, writeFlowFilter, flowFilterToRyu, flowFilterFromRyu, formatFlowFilter } from './flow-filter.js';

export interface FlowStats {
  tableId: number;
  durationSec: number;
  durationNsec: number;
  priority: number;
  idleTimeout: number;
  hardTimeout: number;
  /** OFPFF_* bits. */
  flags: number;
  cookie: bigint;
  packetCount: bigint;
  byteCount: bigint;
  match: Match;
  instructions: Instruction[];
}

export interface FlowStatsRequestMsg extends FlowFilter {
  type: 'flowStatsRequest';
  xid: number;
  flags: number;
}
export interface FlowStatsReplyMsg {
  type: 'flowStatsReply';
  xid: number;
  flags: number;
  body: FlowStats[];
}

/** Bytes before the match. */
const FIXED = 48;

register<FlowStatsRequestMsg>({
  type: 'flowStatsRequest',
  ofpType: OFPT.MULTIPART_REQUEST,
  mpType: OFPMP.FLOW,
  ryuName: 'OFPFlowStatsRequest',
  ofpName: 'OFPST_FLOW request',
  decode: (r, xid, flags) => ({ type: 'flowStatsRequest', xid, flags, ...readFlowFilter(r) }),
  encode: writeFlowFilter,
  toRyu: flowFilterToRyu,
  fromRyu: (d, xid, flags) => ({ type: 'flowStatsRequest', xid, flags, ...flowFilterFromRyu(d) }),
  format: formatFlowFilter,
});

/** The encoded length of one entry (for Ryu's `length`). */
function flowStatsLength(f: FlowStats): number {
  const matchLen = (matchToRyu(f.match).OFPMatch as RyuDict).length as number;
  return FIXED + ((matchLen + 7) & ~7) + instructionsLength(f.instructions);
}

const FLAG_NAMES: [number, string][] = [
  [OFPFF.SEND_FLOW_REM, 'send_flow_rem'],
  [OFPFF.CHECK_OVERLAP, 'check_overlap'],
  [OFPFF.RESET_COUNTS, 'reset_counts'],
  [OFPFF.NO_PKT_COUNTS, 'no_packet_counts'],
  [OFPFF.NO_BYT_COUNTS, 'no_byte_counts'],
];

/** One entry as ovs-ofctl prints it (without its leading space). */
/**
 * A flow entry as `ovs-ofctl --no-stats dump-flows` prints it (OVS ofputil_flow_stats_format without the stats):
 * the cookie, a table other than 0, the timeouts and flags, then priority and match, then the instructions.
 */
export function formatFlowEntry(
  f: Pick<FlowStats, 'tableId' | 'priority' | 'idleTimeout' | 'hardTimeout' | 'flags' | 'cookie' | 'match' | 'instructions'>,
): string {
  let s = f.cookie !== 0n ? `cookie=${hex(f.cookie)}, ` : '';
  if (f.tableId !== 0) s += `table=${f.tableId}, `;
  if (f.idleTimeout) s += `idle_timeout=${f.idleTimeout}, `;
  if (f.hardTimeout) s += `hard_timeout=${f.hardTimeout}, `;
  for (const [bit, name] of FLAG_NAMES) if (f.flags & bit) s += `${name} `;
  const match = formatMatch(f.match);
  const prio = f.priority !== OFP_DEFAULT_PRIORITY ? `priority=${f.priority}` : '';
  const head = prio && match ? `${prio},${match}` : prio || match;
  return `${s}${head ? `${head} ` : ''}${formatInstructions(f.instructions)}`;
}

export function formatFlowStats(f: FlowStats): string {
  let s =
    `cookie=${hex(f.cookie)}, duration=${durationText(f.durationSec, f.durationNsec)}, table=${f.tableId}, ` +
    `n_packets=${f.packetCount}, n_bytes=${f.byteCount}, `;
  if (f.idleTimeout) s += `idle_timeout=${f.idleTimeout}, `;
  if (f.hardTimeout) s += `hard_timeout=${f.hardTimeout}, `;
  for (const [bit, name] of FLAG_NAMES) if (f.flags & bit) s += `${name} `;
  const match = formatMatch(f.match);
  const prio = f.priority !== OFP_DEFAULT_PRIORITY ? `priority=${f.priority}` : '';
  const head = prio && match ? `${prio},${match}` : prio || match;
  return `${s}${head ? `${head} ` : ''}${formatInstructions(f.instructions)}`;
}

register<FlowStatsReplyMsg>({
  type: 'flowStatsReply',
  ofpType: OFPT.MULTIPART_REPLY,
  mpType: OFPMP.FLOW,
  ryuName: 'OFPFlowStatsReply',
  ofpName: 'OFPST_FLOW reply',
  decode: (r, xid, flags) => {
    const body: FlowStats[] = [];
    const b = r.buf;
    while (r.pos < r.end) {
      const p = r.pos;
      const left = r.end - p;
      if (left < OFP_SIZES.flowStats) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, `truncated flow stats: ${left} bytes left`);
      const len = (b[p]! << 8) | b[p + 1]!;
      if (len < OFP_SIZES.flowStats || len > left) {
        throw new OfpError(
          OFPET.BAD_REQUEST,
          OFPBRC.BAD_LEN,
          `${len > left ? 'truncated flow stats: length' : 'flow stats length'} ${len}, ${left} bytes left`,
        );
      }
      // The fixed 48 bytes are inside the checked length: read them directly.
      const e = r.sub(len);
      e.pos = p + FIXED;
      const match = readMatch(e);
      body.push({
        tableId: b[p + 2]!,
        durationSec: b[p + 4]! * 0x1000000 + ((b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!),
        durationNsec: b[p + 8]! * 0x1000000 + ((b[p + 9]! << 16) | (b[p + 10]! << 8) | b[p + 11]!),
        priority: (b[p + 12]! << 8) | b[p + 13]!,
        idleTimeout: (b[p + 14]! << 8) | b[p + 15]!,
        hardTimeout: (b[p + 16]! << 8) | b[p + 17]!,
        flags: (b[p + 18]! << 8) | b[p + 19]!,
        cookie: u64At(b, p + 24),
        packetCount: u64At(b, p + 32),
        byteCount: u64At(b, p + 40),
        match,
        instructions: readInstructions(e, e.end - e.pos),
      });
    }
    return { type: 'flowStatsReply', xid, flags, body };
  },
  encode: (w, m) => {
    for (const f of m.body) {
      const start = w.pos;
      w.u16(0);
      w.u8(f.tableId);
      w.u8(0);
      w.u32(f.durationSec);
      w.u32(f.durationNsec);
      w.u16(f.priority);
      w.u16(f.idleTimeout);
      w.u16(f.hardTimeout);
      w.u16(f.flags);
      w.zeros(4);
      w.u64(f.cookie);
      w.u64(f.packetCount);
      w.u64(f.byteCount);
      writeMatch(w, f.match);
      writeInstructions(w, f.instructions);
      const len = w.pos - start;
      if (len > 0xffff) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, `flow stats entry of ${len} bytes`);
      w.setU16(start, len);
    }
  },
  toRyu: (m) => ({
    body: m.body.map((f) => ({
      OFPFlowStats: {
        length: flowStatsLength(f),
        table_id: f.tableId,
        duration_sec: f.durationSec,
        duration_nsec: f.durationNsec,
        priority: f.priority,
        idle_timeout: f.idleTimeout,
        hard_timeout: f.hardTimeout,
        flags: f.flags,
        cookie: u64ToJson(f.cookie),
        packet_count: u64ToJson(f.packetCount),
        byte_count: u64ToJson(f.byteCount),
        match: matchToRyu(f.match),
        instructions: instructionsToRyu(f.instructions),
      },
    })),
  }),
  fromRyu: (d, xid, flags) => ({
    type: 'flowStatsReply',
    xid,
    flags,
    body: bodyList(d, 'OFPFlowStats').map((f) => ({
      tableId: jU8(f, 'table_id'),
      durationSec: jU32(f, 'duration_sec'),
      durationNsec: jU32(f, 'duration_nsec'),
      priority: jU16(f, 'priority'),
      idleTimeout: jU16(f, 'idle_timeout', 0),
      hardTimeout: jU16(f, 'hard_timeout', 0),
      flags: jU16(f, 'flags', 0),
      cookie: jU64(f, 'cookie', 0n),
      packetCount: jU64(f, 'packet_count'),
      byteCount: jU64(f, 'byte_count'),
      match: f.match === undefined || f.match === null ? [] : matchFromRyu(f.match),
      instructions: instructionsFromRyu(jArr(f, 'instructions')),
    })),
  }),
  format: (m) => counted(m.body.map(formatFlowStats), 'flows'),
});
