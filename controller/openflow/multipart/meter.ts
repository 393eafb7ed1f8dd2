// OFPMP_METER (OF1.3.5 §7.3.5.12): per-meter counters, with one counter pair per band.
//
//   struct ofp_meter_multipart_request { uint32_t meter_id; uint8_t pad[4]; };                 (8 bytes)
//   struct ofp_meter_stats { uint32_t meter_id; uint16_t len; uint8_t pad[6]; uint32_t flow_count;
//     uint64_t packet_in_count; uint64_t byte_in_count; uint32_t duration_sec; uint32_t duration_nsec;
//     struct ofp_meter_band_stats band_stats[0]; };                                       (40 bytes + bands)
//   struct ofp_meter_band_stats { uint64_t packet_band_count; uint64_t byte_band_count; };     (16 bytes)
import { OfpError, OFPET, OFPBRC } from '../errors.js';
import { OFPT, OFPMP, OFPM, OFP_SIZES } from '../constants.js';
import { register } from '../registry.js';
import { jArr, jU64, u64ToJson, unwrap } from '../ryu-json.js';
import { bodyList, durationText, entry, jU32, meterText } from './common.js';

export interface MeterBandStats {
  packetBandCount: bigint;
  byteBandCount: bigint;
}

export interface MeterStats {
  meterId: number;
  flowCount: number;
  packetInCount: bigint;
  byteInCount: bigint;
  durationSec: number;
  durationNsec: number;
  bandStats: MeterBandStats[];
}

export interface MeterStatsRequestMsg {
  type: 'meterStatsRequest';
  xid: number;
  flags: number;
  meterId: number;
}
export interface MeterStatsReplyMsg {
  type: 'meterStatsReply';
  xid: number;
  flags: number;
  body: MeterStats[];
}

const statsLen = (m: MeterStats) => OFP_SIZES.meterStats + OFP_SIZES.meterBandStats * m.bandStats.length;

register<MeterStatsRequestMsg>({
  type: 'meterStatsRequest',
  ofpType: OFPT.MULTIPART_REQUEST,
  mpType: OFPMP.METER,
  ryuName: 'OFPMeterStatsRequest',
  ofpName: 'OFPST_METER request',
  decode: (r, xid, flags) => {
    const meterId = r.u32();
    r.skip(4);
    return { type: 'meterStatsRequest', xid, flags, meterId };
  },
  encode: (w, m) => {
    w.u32(m.meterId);
    w.zeros(4);
  },
  toRyu: (m) => ({ meter_id: m.meterId }),
  fromRyu: (d, xid, flags) => ({ type: 'meterStatsRequest', xid, flags, meterId: jU32(d, 'meter_id', OFPM.ALL) }),
  format: (m) => `meter=${meterText(m.meterId)}`,
});

register<MeterStatsReplyMsg>({
  type: 'meterStatsReply',
  ofpType: OFPT.MULTIPART_REPLY,
  mpType: OFPMP.METER,
  ryuName: 'OFPMeterStatsReply',
  ofpName: 'OFPST_METER reply',
  decode: (r, xid, flags) => {
    const body: MeterStats[] = [];
    while (r.pos < r.end) {
      const e = entry(r, 4, OFP_SIZES.meterStats, 'meter stats');
      if ((e.end - e.pos - OFP_SIZES.meterStats) % OFP_SIZES.meterBandStats !== 0) {
        throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, `meter stats length ${e.end - e.pos} is not 40 + 16n`);
      }
      const meterId = e.u32();
      e.skip(8);
      const s: MeterStats = {
        meterId,
        flowCount: e.u32(),
        packetInCount: e.u64(),
        byteInCount: e.u64(),
        durationSec: e.u32(),
        durationNsec: e.u32(),
        bandStats: [],
      };
      while (e.pos < e.end) s.bandStats.push({ packetBandCount: e.u64(), byteBandCount: e.u64() });
      body.push(s);
    }
    return { type: 'meterStatsReply', xid, flags, body };
  },
  encode: (w, m) => {
    for (const s of m.body) {
      w.u32(s.meterId);
      w.u16(statsLen(s));
      w.zeros(6);
      w.u32(s.flowCount);
      w.u64(s.packetInCount);
      w.u64(s.byteInCount);
      w.u32(s.durationSec);
      w.u32(s.durationNsec);
      for (const b of s.bandStats) {
        w.u64(b.packetBandCount);
        w.u64(b.byteBandCount);
      }
    }
  },
  toRyu: (m) => ({
    body: m.body.map((s) => ({
      OFPMeterStats: {
        meter_id: s.meterId,
        len: statsLen(s),
        flow_count: s.flowCount,
        packet_in_count: u64ToJson(s.packetInCount),
        byte_in_count: u64ToJson(s.byteInCount),
        duration_sec: s.durationSec,
        duration_nsec: s.durationNsec,
        band_stats: s.bandStats.map((b) => ({
          OFPMeterBandStats: { packet_band_count: u64ToJson(b.packetBandCount), byte_band_count: u64ToJson(b.byteBandCount) },
        })),
      },
    })),
  }),
  fromRyu: (d, xid, flags) => ({
    type: 'meterStatsReply',
    xid,
    flags,
    body: bodyList(d, 'OFPMeterStats').map((s) => ({
      meterId: jU32(s, 'meter_id'),
      flowCount: jU32(s, 'flow_count'),
      packetInCount: jU64(s, 'packet_in_count'),
      byteInCount: jU64(s, 'byte_in_count'),
      durationSec: jU32(s, 'duration_sec'),
      durationNsec: jU32(s, 'duration_nsec'),
      bandStats: jArr(s, 'band_stats').map((o) => {
        const [, b] = unwrap(o, 'OFPMeterBandStats');
        return { packetBandCount: jU64(b, 'packet_band_count'), byteBandCount: jU64(b, 'byte_band_count') };
      }),
    })),
  }),
  format: (m) =>
    m.body
      .map(
        (s) =>
          `meter:${s.meterId} flow_count:${s.flowCount} packet_in_count:${s.packetInCount} byte_in_count:${s.byteInCount} ` +
          `duration:${durationText(s.durationSec, s.durationNsec)} bands: ` +
          s.bandStats.map((b, i) => `${i}: packet_count:${b.packetBandCount} byte_count:${b.byteBandCount}`).join(' '),
      )
      .join('; '),
});
