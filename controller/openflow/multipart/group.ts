// OFPMP_GROUP (OF1.3.5 §7.3.5.9): per-group counters, with one counter pair per bucket.
//
//   struct ofp_group_stats_request { uint32_t group_id; uint8_t pad[4]; };                      (8 bytes)
//   struct ofp_group_stats { uint16_t length; uint8_t pad[2]; uint32_t group_id; uint32_t ref_count;
//     uint8_t pad2[4]; uint64_t packet_count; uint64_t byte_count; uint32_t duration_sec;
//     uint32_t duration_nsec; struct ofp_bucket_counter bucket_stats[0]; };                   (40 bytes + buckets)
//   struct ofp_bucket_counter { uint64_t packet_count; uint64_t byte_count; };                  (16 bytes)
import { OfpError, OFPET, OFPBRC } from '../errors.js';
import { OFPT, OFPMP, OFPG, OFP_SIZES } from '../constants.js';
import { register } from '../registry.js';
import { jArr, jU64, u64ToJson, unwrap } from '../ryu-json.js';
import { bodyList, durationText, entry, groupText, jU32 } from './common.js';

export interface BucketCounter {
  packetCount: bigint;
  byteCount: bigint;
}

export interface GroupStats {
  groupId: number;
  refCount: number;
  packetCount: bigint;
  byteCount: bigint;
  durationSec: number;
  durationNsec: number;
  bucketStats: BucketCounter[];
}

export interface GroupStatsRequestMsg {
  type: 'groupStatsRequest';
  xid: number;
  flags: number;
  groupId: number;
}
export interface GroupStatsReplyMsg {
  type: 'groupStatsReply';
  xid: number;
  flags: number;
  body: GroupStats[];
}

register<GroupStatsRequestMsg>({
  type: 'groupStatsRequest',
  ofpType: OFPT.MULTIPART_REQUEST,
  mpType: OFPMP.GROUP,
  ryuName: 'OFPGroupStatsRequest',
  ofpName: 'OFPST_GROUP request',
  decode: (r, xid, flags) => {
    const groupId = r.u32();
    r.skip(4);
    return { type: 'groupStatsRequest', xid, flags, groupId };
  },
  encode: (w, m) => {
    w.u32(m.groupId);
    w.zeros(4);
  },
  toRyu: (m) => ({ group_id: m.groupId }),
  fromRyu: (d, xid, flags) => ({ type: 'groupStatsRequest', xid, flags, groupId: jU32(d, 'group_id', OFPG.ALL) }),
  format: (m) => `group_id=${groupText(m.groupId)}`,
});

register<GroupStatsReplyMsg>({
  type: 'groupStatsReply',
  ofpType: OFPT.MULTIPART_REPLY,
  mpType: OFPMP.GROUP,
  ryuName: 'OFPGroupStatsReply',
  ofpName: 'OFPST_GROUP reply',
  decode: (r, xid, flags) => {
    const body: GroupStats[] = [];
    while (r.pos < r.end) {
      const e = entry(r, 0, OFP_SIZES.groupStats, 'group stats');
      if ((e.end - e.pos - OFP_SIZES.groupStats) % OFP_SIZES.bucketCounter !== 0) {
        throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, `group stats length ${e.end - e.pos} is not 40 + 16n`);
      }
      e.skip(4);
      const groupId = e.u32();
      const refCount = e.u32();
      e.skip(4);
      const g: GroupStats = {
        groupId,
        refCount,
        packetCount: e.u64(),
        byteCount: e.u64(),
        durationSec: e.u32(),
        durationNsec: e.u32(),
        bucketStats: [],
      };
      while (e.pos < e.end) g.bucketStats.push({ packetCount: e.u64(), byteCount: e.u64() });
      body.push(g);
    }
    return { type: 'groupStatsReply', xid, flags, body };
  },
  encode: (w, m) => {
    for (const g of m.body) {
      w.u16(OFP_SIZES.groupStats + OFP_SIZES.bucketCounter * g.bucketStats.length);
      w.zeros(2);
      w.u32(g.groupId);
      w.u32(g.refCount);
      w.zeros(4);
      w.u64(g.packetCount);
      w.u64(g.byteCount);
      w.u32(g.durationSec);
      w.u32(g.durationNsec);
      for (const b of g.bucketStats) {
        w.u64(b.packetCount);
        w.u64(b.byteCount);
      }
    }
  },
  toRyu: (m) => ({
    body: m.body.map((g) => ({
      OFPGroupStats: {
        length: OFP_SIZES.groupStats + OFP_SIZES.bucketCounter * g.bucketStats.length,
        group_id: g.groupId,
        ref_count: g.refCount,
        packet_count: u64ToJson(g.packetCount),
        byte_count: u64ToJson(g.byteCount),
        duration_sec: g.durationSec,
        duration_nsec: g.durationNsec,
        bucket_stats: g.bucketStats.map((b) => ({
          OFPBucketCounter: { packet_count: u64ToJson(b.packetCount), byte_count: u64ToJson(b.byteCount) },
        })),
      },
    })),
  }),
  fromRyu: (d, xid, flags) => ({
    type: 'groupStatsReply',
    xid,
    flags,
    body: bodyList(d, 'OFPGroupStats').map((g) => ({
      groupId: jU32(g, 'group_id'),
      refCount: jU32(g, 'ref_count'),
      packetCount: jU64(g, 'packet_count'),
      byteCount: jU64(g, 'byte_count'),
      durationSec: jU32(g, 'duration_sec'),
      durationNsec: jU32(g, 'duration_nsec'),
      bucketStats: jArr(g, 'bucket_stats').map((o) => {
        const [, b] = unwrap(o, 'OFPBucketCounter');
        return { packetCount: jU64(b, 'packet_count'), byteCount: jU64(b, 'byte_count') };
      }),
    })),
  }),
  format: (m) =>
    m.body
      .map(
        (g) =>
          `group_id=${g.groupId},duration=${durationText(g.durationSec, g.durationNsec)},ref_count=${g.refCount},` +
          `packet_count=${g.packetCount},byte_count=${g.byteCount}` +
          g.bucketStats.map((b, i) => `,bucket${i}:packet_count=${b.packetCount},byte_count=${b.byteCount}`).join(''),
      )
      .join('; '),
});
