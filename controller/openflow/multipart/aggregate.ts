// OFPMP_AGGREGATE (OF1.3.5 §7.3.5.3): totals over the flows a selector picks. The request body is the flow
// selector (flow-filter.ts); the reply is one fixed struct.
//
//   struct ofp_aggregate_stats_reply { uint64_t packet_count; uint64_t byte_count; uint32_t flow_count;
//                                      uint8_t pad[4]; };                                        (24 bytes)
import { OFPT, OFPMP } from '../constants.js';
import { register } from '../registry.js';
import { jU64, u64ToJson } from '../ryu-json.js';
import { bodyOne, jU32 } from './common.js';
import { FlowFilter, readFlowFilter, writeFlowFilter, flowFilterToRyu, flowFilterFromRyu, formatFlowFilter } from './flow-filter.js';

export interface AggregateStatsRequestMsg extends FlowFilter {
  type: 'aggregateStatsRequest';
  xid: number;
  flags: number;
}

export interface AggregateStatsReplyMsg {
  type: 'aggregateStatsReply';
  xid: number;
  flags: number;
  packetCount: bigint;
  byteCount: bigint;
  flowCount: number;
}

register<AggregateStatsRequestMsg>({
  type: 'aggregateStatsRequest',
  ofpType: OFPT.MULTIPART_REQUEST,
  mpType: OFPMP.AGGREGATE,
  ryuName: 'OFPAggregateStatsRequest',
  ofpName: 'OFPST_AGGREGATE request',
  decode: (r, xid, flags) => ({ type: 'aggregateStatsRequest', xid, flags, ...readFlowFilter(r) }),
  encode: writeFlowFilter,
  toRyu: flowFilterToRyu,
  fromRyu: (d, xid, flags) => ({ type: 'aggregateStatsRequest', xid, flags, ...flowFilterFromRyu(d) }),
  format: formatFlowFilter,
});

register<AggregateStatsReplyMsg>({
  type: 'aggregateStatsReply',
  ofpType: OFPT.MULTIPART_REPLY,
  mpType: OFPMP.AGGREGATE,
  ryuName: 'OFPAggregateStatsReply',
  ofpName: 'OFPST_AGGREGATE reply',
  decode: (r, xid, flags) => {
    const packetCount = r.u64();
    const byteCount = r.u64();
    const flowCount = r.u32();
    r.skip(4);
    return { type: 'aggregateStatsReply', xid, flags, packetCount, byteCount, flowCount };
  },
  encode: (w, m) => {
    w.u64(m.packetCount);
    w.u64(m.byteCount);
    w.u32(m.flowCount);
    w.zeros(4);
  },
  toRyu: (m) => ({
    body: { OFPAggregateStats: { packet_count: u64ToJson(m.packetCount), byte_count: u64ToJson(m.byteCount), flow_count: m.flowCount } },
  }),
  fromRyu: (d, xid, flags) => {
    const b = bodyOne(d, 'OFPAggregateStats');
    return {
      type: 'aggregateStatsReply',
      xid,
      flags,
      packetCount: jU64(b, 'packet_count'),
      byteCount: jU64(b, 'byte_count'),
      flowCount: jU32(b, 'flow_count'),
    };
  },
  format: (m) => `packet_count=${m.packetCount} byte_count=${m.byteCount} flow_count=${m.flowCount}`,
});
