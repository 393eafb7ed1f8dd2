// OFPT_FLOW_MOD (OF1.3.5 §7.3.4.1): add, modify or delete flow entries.
//
//   struct ofp_flow_mod {
//     struct ofp_header header;
//     uint64_t cookie; uint64_t cookie_mask;
//     uint8_t table_id; uint8_t command;
//     uint16_t idle_timeout; uint16_t hard_timeout; uint16_t priority;
//     uint32_t buffer_id; uint32_t out_port; uint32_t out_group;
//     uint16_t flags; uint8_t pad[2];
//     struct ofp_match match;                  (padded to 8)
//     // struct ofp_instruction instructions[0];  the rest of the message
//   };                                          56 bytes with an empty match
//
// Encoding is a hot path (a controller programs switches with it), so encode is straight Writer calls.
import { OFPT, OFPFC, OFPFF, OFP_DEFAULT_PRIORITY, OFP_NO_BUFFER, OFPP, OFPG } from './constants.js';
import { Writer } from './buffer.js';
import { register } from './registry.js';
import { formatPortNo } from './port.js';
import { Match, readMatch, writeMatch, matchToRyu, matchFromRyu, formatMatch } from './match.js';
import { Instruction, readInstructions, writeInstructions, instructionsToRyu, instructionsFromRyu, formatInstructions } from './instructions.js';
import { jU64, jArr, jObj, u64ToJson, hex, jUint } from './ryu-json.js';

export interface FlowModMsg {
  type: 'flowMod';
  xid: number;
  cookie: bigint;
  cookieMask: bigint;
  tableId: number;
  /** OFPFC_* */
  command: number;
  idleTimeout: number;
  hardTimeout: number;
  priority: number;
  bufferId: number;
  outPort: number;
  outGroup: number;
  /** OFPFF_* bits */
  flags: number;
  match: Match;
  instructions: Instruction[];
}

const COMMANDS = ['ADD', 'MOD', 'MOD_STRICT', 'DEL', 'DEL_STRICT'];
const FLAG_NAMES: [number, string][] = [
  [OFPFF.SEND_FLOW_REM, 'send_flow_rem'],
  [OFPFF.CHECK_OVERLAP, 'check_overlap'],
  [OFPFF.RESET_COUNTS, 'reset_counts'],
  [OFPFF.NO_PKT_COUNTS, 'no_packet_counts'],
  [OFPFF.NO_BYT_COUNTS, 'no_byte_counts'],
];
const U64_MAX = 0xffffffffffffffffn;

/** ovs-ofctl's text for a flow-mod body: `ADD table:1 priority=123,dl_dst=... buf:0xffff actions=...`. */
function formatFlowMod(m: FlowModMsg): string {
  const parts: string[] = [COMMANDS[m.command] ?? `cmd:${m.command}`];
  if (m.tableId !== 0) parts.push(`table:${m.tableId}`);
  // The priority leads the match text unless it is the default.
  const matchText = formatMatch(m.match);
  if (m.priority !== OFP_DEFAULT_PRIORITY) parts.push(`priority=${m.priority}${matchText ? `,${matchText}` : ''}`);
  else if (matchText) parts.push(matchText);
  // OpenFlow 1.3 has one cookie field: an ADD sets it, the other commands select flows with cookie/mask.
  if (m.command === OFPFC.ADD) {
    if (m.cookie !== 0n && m.cookie !== U64_MAX) parts.push(`cookie:${hex(m.cookie)}`);
  } else if (m.cookieMask !== 0n) {
    parts.push(`cookie:${hex(m.cookie)}/${hex(m.cookieMask)}`);
  }
  if (m.idleTimeout !== 0) parts.push(`idle:${m.idleTimeout}`);
  if (m.hardTimeout !== 0) parts.push(`hard:${m.hardTimeout}`);
  if (m.bufferId !== OFP_NO_BUFFER) parts.push(`buf:${hex(m.bufferId)}`);
  if (m.outPort !== OFPP.ANY) parts.push(`out_port:${formatPortNo(m.outPort)}`);
  // ovs-ofctl does not show out_group; we do, since it selects the flows a delete removes.
  if (m.outGroup !== OFPG.ANY) parts.push(`out_group:${m.outGroup}`);
  const flags = FLAG_NAMES.filter(([bit]) => m.flags & bit).map(([, name]) => name);
  const unknownFlags = m.flags & ~0x1f;
  if (unknownFlags) flags.push(`flags:${hex(unknownFlags)}`);
  if (flags.length) parts.push(flags.join(' '));
  parts.push(formatInstructions(m.instructions));
  return parts.join(' ');
}

const U32_MAX = 0xffffffffn;

function putU32(b: Buffer, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = v >>> 16;
  b[p + 2] = v >>> 8;
  b[p + 3] = v;
}

/** A u64. Numbers (not bigints) up to 2^32 were always accepted here, so they still are. */
function writeU64(w: Writer, v: bigint): void {
  if (typeof v === 'bigint') w.u64(v);
  else if (v >= 0n && v <= U32_MAX) {
    w.u32(0);
    w.u32(Number(v));
  } else {
    w.u64(v);
  }
}

register<FlowModMsg>({
  type: 'flowMod',
  ofpType: OFPT.FLOW_MOD,
  ryuName: 'OFPFlowMod',
  ofpName: 'OFPT_FLOW_MOD',
  decode: (r, xid) => {
    const cookie = r.u64();
    const cookieMask = r.u64();
    const tableId = r.u8();
    const command = r.u8();
    const idleTimeout = r.u16();
    const hardTimeout = r.u16();
    const priority = r.u16();
    const bufferId = r.u32();
    const outPort = r.u32();
    const outGroup = r.u32();
    const flags = r.u16();
    r.skip(2);
    const match = readMatch(r);
    const instructions = readInstructions(r, r.remaining);
    return {
      type: 'flowMod',
      xid,
      cookie,
      cookieMask,
      tableId,
      command,
      idleTimeout,
      hardTimeout,
      priority,
      bufferId,
      outPort,
      outGroup,
      flags,
      match,
      instructions,
    };
  },
  encode: (w, m) => {
    writeU64(w, m.cookie);
    writeU64(w, m.cookieMask);
    // The other fixed fields in one reserved block (this is the hot path): the stores are what Writer.u8/u16/u32 do.
    const p = w.reserve(24);
    const b = w.buf;
    b[p] = m.tableId;
    b[p + 1] = m.command;
    b[p + 2] = m.idleTimeout >>> 8;
    b[p + 3] = m.idleTimeout;
    b[p + 4] = m.hardTimeout >>> 8;
    b[p + 5] = m.hardTimeout;
    b[p + 6] = m.priority >>> 8;
    b[p + 7] = m.priority;
    putU32(b, p + 8, m.bufferId);
    putU32(b, p + 12, m.outPort);
    putU32(b, p + 16, m.outGroup);
    b[p + 20] = m.flags >>> 8;
    b[p + 21] = m.flags;
    b[p + 22] = 0;
    b[p + 23] = 0;
    writeMatch(w, m.match);
    writeInstructions(w, m.instructions);
  },
  toRyu: (m) => ({
    buffer_id: m.bufferId,
    command: m.command,
    cookie: u64ToJson(m.cookie),
    cookie_mask: u64ToJson(m.cookieMask),
    flags: m.flags,
    hard_timeout: m.hardTimeout,
    idle_timeout: m.idleTimeout,
    instructions: instructionsToRyu(m.instructions),
    match: matchToRyu(m.match),
    out_group: m.outGroup,
    out_port: m.outPort,
    priority: m.priority,
    table_id: m.tableId,
  }),
  // Ryu's OFPFlowMod defaults for absent keys.
  fromRyu: (d, xid) => ({
    type: 'flowMod',
    xid,
    cookie: jU64(d, 'cookie', 0n),
    cookieMask: jU64(d, 'cookie_mask', 0n),
    tableId: jUint(d, 'table_id', 8, 0),
    command: jUint(d, 'command', 8, OFPFC.ADD),
    idleTimeout: jUint(d, 'idle_timeout', 16, 0),
    hardTimeout: jUint(d, 'hard_timeout', 16, 0),
    priority: jUint(d, 'priority', 16, OFP_DEFAULT_PRIORITY),
    bufferId: jUint(d, 'buffer_id', 32, OFP_NO_BUFFER),
    outPort: jUint(d, 'out_port', 32, 0),
    outGroup: jUint(d, 'out_group', 32, 0),
    flags: jUint(d, 'flags', 16, 0),
    match: d.match === undefined || d.match === null ? [] : matchFromRyu(jObj(d, 'match')),
    instructions: instructionsFromRyu(jArr(d, 'instructions')),
  }),
  format: formatFlowMod,
});
