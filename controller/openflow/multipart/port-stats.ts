// OFPMP_PORT_STATS (OF1.3.5 §7.3.5.6): per-port counters. A counter the switch does not keep is all ones.
//
//   struct ofp_port_stats_request { uint32_t port_no; uint8_t pad[4]; };                         (8 bytes)
//   struct ofp_port_stats { uint32_t port_no; uint8_t pad[4]; uint64_t rx_packets, tx_packets, rx_bytes,
//     tx_bytes, rx_dropped, tx_dropped, rx_errors, tx_errors, rx_frame_err, rx_over_err, rx_crc_err, collisions;
//     uint32_t duration_sec; uint32_t duration_nsec; };                                         (112 bytes)
import { OFPT, OFPMP, OFPP } from '../constants.js';
import { register } from '../registry.js';
import { RyuDict, jU64, u64ToJson } from '../ryu-json.js';
import { bodyList, counted, durationText, jU32, portText } from './common.js';

export interface PortStats {
  portNo: number;
  rxPackets: bigint;
  txPackets: bigint;
  rxBytes: bigint;
  txBytes: bigint;
  rxDropped: bigint;
  txDropped: bigint;
  rxErrors: bigint;
  txErrors: bigint;
  rxFrameErr: bigint;
  rxOverErr: bigint;
  rxCrcErr: bigint;
  collisions: bigint;
  durationSec: number;
  durationNsec: number;
}

export interface PortStatsRequestMsg {
  type: 'portStatsRequest';
  xid: number;
  flags: number;
  portNo: number;
}
export interface PortStatsReplyMsg {
  type: 'portStatsReply';
  xid: number;
  flags: number;
  body: PortStats[];
}

/** The twelve counters in wire order: [our key, Ryu's key]. */
const COUNTERS = [
  ['rxPackets', 'rx_packets'],
  ['txPackets', 'tx_packets'],
  ['rxBytes', 'rx_bytes'],
  ['txBytes', 'tx_bytes'],
  ['rxDropped', 'rx_dropped'],
  ['txDropped', 'tx_dropped'],
  ['rxErrors', 'rx_errors'],
  ['txErrors', 'tx_errors'],
  ['rxFrameErr', 'rx_frame_err'],
  ['rxOverErr', 'rx_over_err'],
  ['rxCrcErr', 'rx_crc_err'],
  ['collisions', 'collisions'],
] as const;

register<PortStatsRequestMsg>({
  type: 'portStatsRequest',
  ofpType: OFPT.MULTIPART_REQUEST,
  mpType: OFPMP.PORT_STATS,
  ryuName: 'OFPPortStatsRequest',
  ofpName: 'OFPST_PORT request',
  decode: (r, xid, flags) => {
    const portNo = r.u32();
    r.skip(4);
    return { type: 'portStatsRequest', xid, flags, portNo };
  },
  encode: (w, m) => {
    w.u32(m.portNo);
    w.zeros(4);
  },
  toRyu: (m) => ({ port_no: m.portNo }),
  fromRyu: (d, xid, flags) => ({ type: 'portStatsRequest', xid, flags, portNo: jU32(d, 'port_no', OFPP.ANY) }),
  format: (m) => `port_no=${portText(m.portNo)}`,
});

register<PortStatsReplyMsg>({
  type: 'portStatsReply',
  ofpType: OFPT.MULTIPART_REPLY,
  mpType: OFPMP.PORT_STATS,
  ryuName: 'OFPPortStatsReply',
  ofpName: 'OFPST_PORT reply',
  decode: (r, xid, flags) => {
    const body: PortStats[] = [];
    while (r.pos < r.end) {
      const portNo = r.u32();
      r.skip(4);
      body.push({
        portNo,
        rxPackets: r.u64(),
        txPackets: r.u64(),
        rxBytes: r.u64(),
        txBytes: r.u64(),
        rxDropped: r.u64(),
        txDropped: r.u64(),
        rxErrors: r.u64(),
        txErrors: r.u64(),
        rxFrameErr: r.u64(),
        rxOverErr: r.u64(),
        rxCrcErr: r.u64(),
        collisions: r.u64(),
        durationSec: r.u32(),
        durationNsec: r.u32(),
      });
    }
    return { type: 'portStatsReply', xid, flags, body };
  },
  encode: (w, m) => {
    for (const p of m.body) {
      w.u32(p.portNo);
      w.zeros(4);
      for (const [k] of COUNTERS) w.u64(p[k]);
      w.u32(p.durationSec);
      w.u32(p.durationNsec);
    }
  },
  toRyu: (m) => ({
    body: m.body.map((p) => {
      const d: RyuDict = { port_no: p.portNo, duration_sec: p.durationSec, duration_nsec: p.durationNsec };
      for (const [k, ryu] of COUNTERS) d[ryu] = u64ToJson(p[k]);
      return { OFPPortStats: d };
    }),
  }),
  fromRyu: (d, xid, flags) => ({
    type: 'portStatsReply',
    xid,
    flags,
    body: bodyList(d, 'OFPPortStats').map((e) => {
      const p = { portNo: jU32(e, 'port_no'), durationSec: jU32(e, 'duration_sec'), durationNsec: jU32(e, 'duration_nsec') } as PortStats;
      for (const [k, ryu] of COUNTERS) p[k] = jU64(e, ryu);
      return p;
    }),
  }),
  format: (m) =>
    counted(
      m.body.map((p) => {
        const c = (v: bigint) => (v === 0xffffffffffffffffn ? '?' : String(v));
        return (
          `port ${portText(p.portNo)}: rx pkts=${c(p.rxPackets)}, bytes=${c(p.rxBytes)}, drop=${c(p.rxDropped)}, ` +
          `errs=${c(p.rxErrors)}, frame=${c(p.rxFrameErr)}, over=${c(p.rxOverErr)}, crc=${c(p.rxCrcErr)} ` +
          `tx pkts=${c(p.txPackets)}, bytes=${c(p.txBytes)}, drop=${c(p.txDropped)}, errs=${c(p.txErrors)}, ` +
          `coll=${c(p.collisions)} duration=${durationText(p.durationSec, p.durationNsec)}`
        );
      }),
      'ports',
    ),
});
