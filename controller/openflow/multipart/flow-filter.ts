// The flow selector shared by OFPMP_FLOW and OFPMP_AGGREGATE requests (OF1.3.5 §7.3.5.2, §7.3.5.3): both
// bodies are the same struct.
//
//   struct ofp_flow_stats_request / ofp_aggregate_stats_request {
//     uint8_t table_id; uint8_t pad[3]; uint32_t out_port; uint32_t out_group; uint8_t pad2[4];
//     uint64_t cookie; uint64_t cookie_mask; struct ofp_match match; };                (40 bytes with an empty match)
import { Reader, Writer } from '../buffer.js';
import { OFPP, OFPG, OFPTT } from '../constants.js';
import { Match, readMatch, writeMatch, matchToRyu, matchFromRyu, formatMatch } from '../match.js';
import { RyuDict, jU64, u64ToJson, hex } from '../ryu-json.js';
import { portText, groupText, jU8, jU32 } from './common.js';

export interface FlowFilter {
  /** OFPTT_ALL (0xff) for every table. */
  tableId: number;
  /** OFPP_ANY / OFPG_ANY: no restriction. */
  outPort: number;
  outGroup: number;
  cookie: bigint;
  cookieMask: bigint;
  match: Match;
}

export function readFlowFilter(r: Reader): FlowFilter {
  const tableId = r.u8();
  r.skip(3);
  const outPort = r.u32();
  const outGroup = r.u32();
  r.skip(4);
  const cookie = r.u64();
  const cookieMask = r.u64();
  return { tableId, outPort, outGroup, cookie, cookieMask, match: readMatch(r) };
}

export function writeFlowFilter(w: Writer, f: FlowFilter): void {
  w.u8(f.tableId);
  w.zeros(3);
  w.u32(f.outPort);
  w.u32(f.outGroup);
  w.zeros(4);
  w.u64(f.cookie);
  w.u64(f.cookieMask);
  writeMatch(w, f.match);
}

export function flowFilterToRyu(f: FlowFilter): RyuDict {
  return {
    table_id: f.tableId,
    out_port: f.outPort,
    out_group: f.outGroup,
    cookie: u64ToJson(f.cookie),
    cookie_mask: u64ToJson(f.cookieMask),
    match: matchToRyu(f.match),
  };
}

/** Ryu's defaults: every table, any port and group, no cookie restriction, the empty match. */
export function flowFilterFromRyu(d: RyuDict): FlowFilter {
  return {
    tableId: jU8(d, 'table_id', OFPTT.ALL),
    outPort: jU32(d, 'out_port', OFPP.ANY),
    outGroup: jU32(d, 'out_group', OFPG.ANY),
    cookie: jU64(d, 'cookie', 0n),
    cookieMask: jU64(d, 'cookie_mask', 0n),
    match: d.match === undefined || d.match === null ? [] : matchFromRyu(d.match),
  };
}

/** ovs-ofctl's form: `table=0 out_port=2 cookie=0x1/0xff tcp,tp_dst=80`; parts at their defaults are left out. */
export function formatFlowFilter(f: FlowFilter): string {
  const parts: string[] = [];
  if (f.tableId !== OFPTT.ALL) parts.push(`table=${f.tableId}`);
  if (f.outPort !== OFPP.ANY) parts.push(`out_port=${portText(f.outPort)}`);
  if (f.outGroup !== OFPG.ANY) parts.push(`out_group=${groupText(f.outGroup)}`);
  if (f.cookieMask !== 0n) parts.push(`cookie=${hex(f.cookie)}/${hex(f.cookieMask)}`);
  const m = formatMatch(f.match);
  if (m) parts.push(m);
  return parts.join(' ');
}
