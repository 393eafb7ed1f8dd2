// OFPT_FLOW_REMOVED (OF1.3.5 §7.4.2): a flow entry with OFPFF_SEND_FLOW_REM expired or was deleted; carries its
// match, priority, cookie, timeouts and final counters.
//
//   struct ofp_flow_removed {
//     ofp_header header; uint64_t cookie; uint16_t priority; uint8_t reason; uint8_t table_id;
//     uint32_t duration_sec; uint32_t duration_nsec; uint16_t idle_timeout; uint16_t hard_timeout;
//     uint64_t packet_count; uint64_t byte_count; struct ofp_match match; };                   // 56 + match - 8
import { OFPT, OFP_DEFAULT_PRIORITY, OFPTT } from './constants.js';
import { register } from './registry.js';
import { Match, readMatch, writeMatch, matchToRyu, matchFromRyu, formatMatch } from './match.js';
import { jInt, jObj, jU64, u64ToJson } from './ryu-json.js';

export interface FlowRemovedMsg {
  type: 'flowRemoved';
  xid: number;
  cookie: bigint;
  priority: number;
  /** OFPRR_* */
  reason: number;
  tableId: number;
  /** How long the flow was alive: seconds, plus nanoseconds beyond them. */
  durationSec: number;
  durationNsec: number;
  idleTimeout: number;
  hardTimeout: number;
  packetCount: bigint;
  byteCount: bigint;
  match: Match;
}

const REASONS = ['idle', 'hard', 'delete', 'group_delete', 'meter_delete', 'eviction'];

/** ovs-ofctl's duration: `3s`, `10.500s` (whole milliseconds: 3 decimals), `3.048825s` (else as few as exact). */
export function formatDuration(sec: number, nsec: number): string {
  if (nsec === 0) return `${sec}s`;
  if (nsec % 1_000_000 === 0) return `${sec}.${String(nsec / 1_000_000).padStart(3, '0')}s`;
  return `${sec}.${String(nsec).padStart(9, '0').replace(/0+$/, '')}s`;
}

register<FlowRemovedMsg>({
  type: 'flowRemoved',
  ofpType: OFPT.FLOW_REMOVED,
  ryuName: 'OFPFlowRemoved',
  ofpName: 'OFPT_FLOW_REMOVED',
  decode: (r, xid) => {
    const cookie = r.u64();
    const priority = r.u16();
    const reason = r.u8();
    const tableId = r.u8();
    const durationSec = r.u32();
    const durationNsec = r.u32();
    const idleTimeout = r.u16();
    const hardTimeout = r.u16();
    const packetCount = r.u64();
    const byteCount = r.u64();
    const match = readMatch(r);
    return {
      type: 'flowRemoved',
      xid,
      cookie,
      priority,
      reason,
      tableId,
      durationSec,
      durationNsec,
      idleTimeout,
      hardTimeout,
      packetCount,
      byteCount,
      match,
    };
  },
  encode: (w, m) => {
    w.u64(m.cookie);
    w.u16(m.priority);
    w.u8(m.reason);
    w.u8(m.tableId);
    w.u32(m.durationSec);
    w.u32(m.durationNsec);
    w.u16(m.idleTimeout);
    w.u16(m.hardTimeout);
    w.u64(m.packetCount);
    w.u64(m.byteCount);
    writeMatch(w, m.match);
  },
  toRyu: (m) => ({
    cookie: u64ToJson(m.cookie),
    priority: m.priority,
    reason: m.reason,
    table_id: m.tableId,
    duration_sec: m.durationSec,
    duration_nsec: m.durationNsec,
    idle_timeout: m.idleTimeout,
    hard_timeout: m.hardTimeout,
    packet_count: u64ToJson(m.packetCount),
    byte_count: u64ToJson(m.byteCount),
    match: matchToRyu(m.match),
  }),
  fromRyu: (d, xid) => ({
    type: 'flowRemoved',
    xid,
    cookie: jU64(d, 'cookie', 0n),
    priority: jInt(d, 'priority', OFP_DEFAULT_PRIORITY),
    reason: jInt(d, 'reason', 0),
    tableId: jInt(d, 'table_id', 0),
    durationSec: jInt(d, 'duration_sec', 0),
    durationNsec: jInt(d, 'duration_nsec', 0),
    idleTimeout: jInt(d, 'idle_timeout', 0),
    hardTimeout: jInt(d, 'hard_timeout', 0),
    packetCount: jU64(d, 'packet_count', 0n),
    byteCount: jU64(d, 'byte_count', 0n),
    match: matchFromRyu(jObj(d, 'match')),
  }),
  // ovs-ofctl: `priority=65535,dl_dst=... reason=idle table_id=0 duration3.048825s idle3 pkts1 bytes86`
  format: (m) => {
    const match = formatMatch(m.match);
    const prio = m.priority !== OFP_DEFAULT_PRIORITY ? `priority=${m.priority}` : '';
    const parts: string[] = [];
    const head = [prio, match].filter(Boolean).join(',');
    if (head) parts.push(head);
    parts.push(`reason=${REASONS[m.reason] ?? m.reason}`);
    if (m.tableId !== OFPTT.ALL) parts.push(`table_id=${m.tableId}`);
    if (m.cookie !== 0n) parts.push(`cookie:0x${m.cookie.toString(16)}`);
    parts.push(`duration${formatDuration(m.durationSec, m.durationNsec)}`, `idle${m.idleTimeout}`);
    if (m.hardTimeout) parts.push(`hard${m.hardTimeout}`);
    parts.push(`pkts${m.packetCount}`, `bytes${m.byteCount}`);
    return parts.join(' ');
  },
});
