// ONFMP_FLOW_MONITOR request (ONF extension EXT-187 for OpenFlow 1.3, the OF1.4 flow monitor back-ported):
// an OFPMP_EXPERIMENTER request with experimenter ONF (0x4F4E4600) and exp_type 1870 whose data is a list of
//
//   struct onf_flow_monitor_request { uint32_t id; uint16_t flags; uint16_t match_len; uint32_t out_port;
//     uint8_t table_id; uint8_t pad[3]; /* then match_len bytes of OXM TLVs, zero-padded to 8 */ };  (16 bytes)
//
// The match is bare OXM TLVs with no ofp_match header (Ryu still shows it as an OFPMatch). It shares its wire
// type with the generic experimenter request, so it registers encode-only and experimenter.ts hands it the
// decoding when the experimenter id and type match.
import { Reader, Writer } from '../buffer.js';
import { OFPET, OFPBMC } from '../errors.js';
import { OFPT, OFPMP, OFPP, OFPTT, ONF_EXPERIMENTER_ID } from '../constants.js';
import { register } from '../registry.js';
import { readOxm, writeOxm, oxmLength } from '../oxm.js';
import { Match, matchToRyu, matchFromRyu, formatMatch } from '../match.js';
import { bad, jInt } from '../ryu-json.js';
import { bodyList, jU8, jU16, jU32, portText, tableText } from './common.js';

export const ONFMP_FLOW_MONITOR = 1870;

export interface OnfFlowMonitorRequest {
  id: number;
  /** ONFFMF_* bits. */
  flags: number;
  outPort: number;
  tableId: number;
  match: Match;
}

export interface OnfFlowMonitorRequestMsg {
  type: 'onfFlowMonitorRequest';
  xid: number;
  flags: number;
  body: OnfFlowMonitorRequest[];
}

/** Decodes the data after the experimenter multipart header (experimenter id and exp_type already read). */
export function decodeOnfFlowMonitor(r: Reader, xid: number, flags: number): OnfFlowMonitorRequestMsg {
  const body: OnfFlowMonitorRequest[] = [];
  while (r.pos < r.end) {
    const id = r.u32();
    const monFlags = r.u16();
    const matchLen = r.u16();
    const outPort = r.u32();
    const tableId = r.u8();
    r.skip(3);
    const m = r.sub(matchLen, OFPET.BAD_MATCH, OFPBMC.BAD_LEN);
    const match: Match = [];
    while (m.pos < m.end) match.push(readOxm(m));
    r.skip((8 - (matchLen % 8)) % 8);
    body.push({ id, flags: monFlags, outPort, tableId, match });
  }
  return { type: 'onfFlowMonitorRequest', xid, flags, body };
}

function encode(w: Writer, m: OnfFlowMonitorRequestMsg): void {
  w.u32(ONF_EXPERIMENTER_ID);
  w.u32(ONFMP_FLOW_MONITOR);
  for (const e of m.body) {
    w.u32(e.id);
    w.u16(e.flags);
    const lenAt = w.pos;
    w.u16(0);
    w.u32(e.outPort);
    w.u8(e.tableId);
    w.zeros(3);
    const start = w.pos;
    for (const f of e.match) writeOxm(w, f);
    w.setU16(lenAt, w.pos - start);
    w.pad8(start);
  }
}

/** Length of the bare OXM list (Ryu's match_len). */
function matchLen(match: Match): number {
  let n = 0;
  for (const f of match) n += oxmLength(f);
  return n;
}

const FLAG_NAMES = ['initial', 'add', 'delete', 'modify', 'actions', 'own'];

function formatEntry(e: OnfFlowMonitorRequest): string {
  const flags = FLAG_NAMES.filter((_, i) => e.flags & (1 << i));
  if (e.flags >>> FLAG_NAMES.length) flags.push(`0x${((e.flags >>> FLAG_NAMES.length) << FLAG_NAMES.length).toString(16)}`);
  const parts = [`id=${e.id}`, `flags=${flags.join(',')}`];
  if (e.outPort !== OFPP.ANY) parts.push(`out_port=${portText(e.outPort)}`);
  if (e.tableId !== OFPTT.ALL) parts.push(`table=${tableText(e.tableId)}`);
  const match = formatMatch(e.match);
  if (match) parts.push(match);
  return parts.join(' ');
}

register<OnfFlowMonitorRequestMsg>({
  type: 'onfFlowMonitorRequest',
  ofpType: OFPT.MULTIPART_REQUEST,
  mpType: OFPMP.EXPERIMENTER,
  encodeOnly: true,
  ryuName: 'ONFFlowMonitorStatsRequest',
  ofpName: 'ONFST_FLOW_MONITOR request',
  decode: (r, xid, flags) => {
    // Only reached by a direct call: the registry routes this wire type to the experimenter request codec.
    if (r.u32() !== ONF_EXPERIMENTER_ID || r.u32() !== ONFMP_FLOW_MONITOR) bad('not an ONF flow monitor request');
    return decodeOnfFlowMonitor(r, xid, flags);
  },
  encode,
  toRyu: (m) => ({
    experimenter: ONF_EXPERIMENTER_ID,
    exp_type: ONFMP_FLOW_MONITOR,
    body: m.body.map((e) => ({
      ONFFlowMonitorRequest: {
        id: e.id,
        flags: e.flags,
        match_len: matchLen(e.match),
        out_port: e.outPort,
        table_id: e.tableId,
        match: matchToRyu(e.match),
      },
    })),
  }),
  fromRyu: (d, xid, flags) => {
    if (jInt(d, 'experimenter', ONF_EXPERIMENTER_ID) !== ONF_EXPERIMENTER_ID) bad('ONFFlowMonitorStatsRequest.experimenter must be ONF');
    if (jInt(d, 'exp_type', ONFMP_FLOW_MONITOR) !== ONFMP_FLOW_MONITOR) bad('ONFFlowMonitorStatsRequest.exp_type must be 1870');
    return {
      type: 'onfFlowMonitorRequest',
      xid,
      flags,
      body: bodyList(d, 'ONFFlowMonitorRequest').map((e) => ({
        id: jU32(e, 'id'),
        flags: jU16(e, 'flags'),
        outPort: jU32(e, 'out_port', OFPP.ANY),
        tableId: jU8(e, 'table_id', OFPTT.ALL),
        match: e.match === undefined || e.match === null ? [] : matchFromRyu(e.match),
      })),
    };
  },
  format: (m) => m.body.map(formatEntry).join('; '),
});
