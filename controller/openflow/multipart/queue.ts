// OFPMP_QUEUE (OF1.3.5 §7.3.5.8): per-queue counters.
//
//   struct ofp_queue_stats_request { uint32_t port_no; uint32_t queue_id; };                     (8 bytes)
//   struct ofp_queue_stats { uint32_t port_no; uint32_t queue_id; uint64_t tx_bytes; uint64_t tx_packets;
//     uint64_t tx_errors; uint32_t duration_sec; uint32_t duration_nsec; };                      (40 bytes)
import { OFPT, OFPMP, OFPP, OFPQ_ALL } from '../constants.js';
import { register } from '../registry.js';
import { jU64, u64ToJson } from '../ryu-json.js';
import { bodyList, counted, durationText, jU32, portText } from './common.js';

export interface QueueStats {
  portNo: number;
  queueId: number;
  txBytes: bigint;
  txPackets: bigint;
  txErrors: bigint;
  durationSec: number;
  durationNsec: number;
}

export interface QueueStatsRequestMsg {
  type: 'queueStatsRequest';
  xid: number;
  flags: number;
  portNo: number;
  queueId: number;
}
export interface QueueStatsReplyMsg {
  type: 'queueStatsReply';
  xid: number;
  flags: number;
  body: QueueStats[];
}

const queueText = (q: number) => (q === OFPQ_ALL ? 'ALL' : String(q));

register<QueueStatsRequestMsg>({
  type: 'queueStatsRequest',
  ofpType: OFPT.MULTIPART_REQUEST,
  mpType: OFPMP.QUEUE,
  ryuName: 'OFPQueueStatsRequest',
  ofpName: 'OFPST_QUEUE request',
  decode: (r, xid, flags) => {
    const portNo = r.u32();
    return { type: 'queueStatsRequest', xid, flags, portNo, queueId: r.u32() };
  },
  encode: (w, m) => {
    w.u32(m.portNo);
    w.u32(m.queueId);
  },
  toRyu: (m) => ({ port_no: m.portNo, queue_id: m.queueId }),
  fromRyu: (d, xid, flags) => ({
    type: 'queueStatsRequest',
    xid,
    flags,
    portNo: jU32(d, 'port_no', OFPP.ANY),
    queueId: jU32(d, 'queue_id', OFPQ_ALL),
  }),
  format: (m) => `port=${portText(m.portNo)} queue=${queueText(m.queueId)}`,
});

register<QueueStatsReplyMsg>({
  type: 'queueStatsReply',
  ofpType: OFPT.MULTIPART_REPLY,
  mpType: OFPMP.QUEUE,
  ryuName: 'OFPQueueStatsReply',
  ofpName: 'OFPST_QUEUE reply',
  decode: (r, xid, flags) => {
    const body: QueueStats[] = [];
    while (r.pos < r.end) {
      body.push({
        portNo: r.u32(),
        queueId: r.u32(),
        txBytes: r.u64(),
        txPackets: r.u64(),
        txErrors: r.u64(),
        durationSec: r.u32(),
        durationNsec: r.u32(),
      });
    }
    return { type: 'queueStatsReply', xid, flags, body };
  },
  encode: (w, m) => {
    for (const q of m.body) {
      w.u32(q.portNo);
      w.u32(q.queueId);
      w.u64(q.txBytes);
      w.u64(q.txPackets);
      w.u64(q.txErrors);
      w.u32(q.durationSec);
      w.u32(q.durationNsec);
    }
  },
  toRyu: (m) => ({
    body: m.body.map((q) => ({
      OFPQueueStats: {
        port_no: q.portNo,
        queue_id: q.queueId,
        tx_bytes: u64ToJson(q.txBytes),
        tx_packets: u64ToJson(q.txPackets),
        tx_errors: u64ToJson(q.txErrors),
        duration_sec: q.durationSec,
        duration_nsec: q.durationNsec,
      },
    })),
  }),
  fromRyu: (d, xid, flags) => ({
    type: 'queueStatsReply',
    xid,
    flags,
    body: bodyList(d, 'OFPQueueStats').map((q) => ({
      portNo: jU32(q, 'port_no'),
      queueId: jU32(q, 'queue_id'),
      txBytes: jU64(q, 'tx_bytes'),
      txPackets: jU64(q, 'tx_packets'),
      txErrors: jU64(q, 'tx_errors'),
      durationSec: jU32(q, 'duration_sec'),
      durationNsec: jU32(q, 'duration_nsec'),
    })),
  }),
  format: (m) =>
    counted(
      m.body.map(
        (q) =>
          `port ${portText(q.portNo)} queue ${q.queueId}: bytes=${q.txBytes}, pkts=${q.txPackets}, errors=${q.txErrors}, ` +
          `duration=${durationText(q.durationSec, q.durationNsec)}`,
      ),
      'queues',
    ),
});
