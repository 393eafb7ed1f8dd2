// OFPMP_TABLE (OF1.3.5 §7.3.5.4): per-table counters. The request has no body; the reply is an array of
//
//   struct ofp_table_stats { uint8_t table_id; uint8_t pad[3]; uint32_t active_count;
//                            uint64_t lookup_count; uint64_t matched_count; };                   (24 bytes)
import { OFPT, OFPMP } from '../constants.js';
import { register } from '../registry.js';
import { jU64, u64ToJson } from '../ryu-json.js';
import { bodyList, counted, jU8, jU32 } from './common.js';

export interface TableStats {
  tableId: number;
  activeCount: number;
  lookupCount: bigint;
  matchedCount: bigint;
}

export interface TableStatsRequestMsg {
  type: 'tableStatsRequest';
  xid: number;
  flags: number;
}
export interface TableStatsReplyMsg {
  type: 'tableStatsReply';
  xid: number;
  flags: number;
  body: TableStats[];
}

register<TableStatsRequestMsg>({
  type: 'tableStatsRequest',
  ofpType: OFPT.MULTIPART_REQUEST,
  mpType: OFPMP.TABLE,
  ryuName: 'OFPTableStatsRequest',
  ofpName: 'OFPST_TABLE request',
  decode: (_r, xid, flags) => ({ type: 'tableStatsRequest', xid, flags }),
  encode: () => {},
  toRyu: () => ({}),
  fromRyu: (_d, xid, flags) => ({ type: 'tableStatsRequest', xid, flags }),
  format: () => '',
});

register<TableStatsReplyMsg>({
  type: 'tableStatsReply',
  ofpType: OFPT.MULTIPART_REPLY,
  mpType: OFPMP.TABLE,
  ryuName: 'OFPTableStatsReply',
  ofpName: 'OFPST_TABLE reply',
  decode: (r, xid, flags) => {
    const body: TableStats[] = [];
    while (r.pos < r.end) {
      const tableId = r.u8();
      r.skip(3);
      const activeCount = r.u32();
      const lookupCount = r.u64();
      body.push({ tableId, activeCount, lookupCount, matchedCount: r.u64() });
    }
    return { type: 'tableStatsReply', xid, flags, body };
  },
  encode: (w, m) => {
    for (const t of m.body) {
      w.u8(t.tableId);
      w.zeros(3);
      w.u32(t.activeCount);
      w.u64(t.lookupCount);
      w.u64(t.matchedCount);
    }
  },
  toRyu: (m) => ({
    body: m.body.map((t) => ({
      OFPTableStats: {
        table_id: t.tableId,
        active_count: t.activeCount,
        lookup_count: u64ToJson(t.lookupCount),
        matched_count: u64ToJson(t.matchedCount),
      },
    })),
  }),
  fromRyu: (d, xid, flags) => ({
    type: 'tableStatsReply',
    xid,
    flags,
    body: bodyList(d, 'OFPTableStats').map((t) => ({
      tableId: jU8(t, 'table_id'),
      activeCount: jU32(t, 'active_count'),
      lookupCount: jU64(t, 'lookup_count'),
      matchedCount: jU64(t, 'matched_count'),
    })),
  }),
  format: (m) =>
    counted(
      m.body.map((t) => `table ${t.tableId}: active=${t.activeCount}, lookup=${t.lookupCount}, matched=${t.matchedCount}`),
      'tables',
    ),
});
