// OFPMP_GROUP_DESC (OF1.3.5 §7.3.5.10): every group with its type and buckets. The request has no body.
//
//   struct ofp_group_desc { uint16_t length; uint8_t type; uint8_t pad; uint32_t group_id;
//                           struct ofp_bucket buckets[0]; };                               (8 bytes + buckets)
import { OFPT, OFPMP, OFP_SIZES } from '../constants.js';
import { register } from '../registry.js';
import { Bucket, readBuckets, writeBuckets, bucketsLength, bucketsToRyu, bucketsFromRyu, formatBuckets } from '../bucket.js';
import { jArr } from '../ryu-json.js';
import { OfpError, OFPET, OFPBRC } from '../errors.js';
import { bodyList, entry, groupText, jU8, jU32 } from './common.js';

export interface GroupDesc {
  /** OFPGT_*. */
  groupType: number;
  groupId: number;
  buckets: Bucket[];
}

export interface GroupDescStatsRequestMsg {
  type: 'groupDescStatsRequest';
  xid: number;
  flags: number;
}
export interface GroupDescStatsReplyMsg {
  type: 'groupDescStatsReply';
  xid: number;
  flags: number;
  body: GroupDesc[];
}

const GROUP_TYPE_NAMES = ['all', 'select', 'indirect', 'ff'];

register<GroupDescStatsRequestMsg>({
  type: 'groupDescStatsRequest',
  ofpType: OFPT.MULTIPART_REQUEST,
  mpType: OFPMP.GROUP_DESC,
  ryuName: 'OFPGroupDescStatsRequest',
  ofpName: 'OFPST_GROUP_DESC request',
  decode: (_r, xid, flags) => ({ type: 'groupDescStatsRequest', xid, flags }),
  encode: () => {},
  toRyu: () => ({}),
  fromRyu: (_d, xid, flags) => ({ type: 'groupDescStatsRequest', xid, flags }),
  format: () => '',
});

register<GroupDescStatsReplyMsg>({
  type: 'groupDescStatsReply',
  ofpType: OFPT.MULTIPART_REPLY,
  mpType: OFPMP.GROUP_DESC,
  ryuName: 'OFPGroupDescStatsReply',
  ofpName: 'OFPST_GROUP_DESC reply',
  decode: (r, xid, flags) => {
    const body: GroupDesc[] = [];
    while (r.pos < r.end) {
      const e = entry(r, 0, OFP_SIZES.groupDesc, 'group desc');
      e.skip(2);
      const groupType = e.u8();
      e.skip(1);
      const groupId = e.u32();
      body.push({ groupType, groupId, buckets: readBuckets(e, e.end - e.pos) });
    }
    return { type: 'groupDescStatsReply', xid, flags, body };
  },
  encode: (w, m) => {
    for (const g of m.body) {
      const start = w.pos;
      w.u16(0);
      w.u8(g.groupType);
      w.u8(0);
      w.u32(g.groupId);
      writeBuckets(w, g.buckets);
      const len = w.pos - start;
      if (len > 0xffff) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, `group desc entry of ${len} bytes`);
      w.setU16(start, len);
    }
  },
  toRyu: (m) => ({
    body: m.body.map((g) => ({
      OFPGroupDescStats: {
        length: OFP_SIZES.groupDesc + bucketsLength(g.buckets),
        type: g.groupType,
        group_id: g.groupId,
        buckets: bucketsToRyu(g.buckets),
      },
    })),
  }),
  fromRyu: (d, xid, flags) => ({
    type: 'groupDescStatsReply',
    xid,
    flags,
    body: bodyList(d, 'OFPGroupDescStats').map((g) => ({
      groupType: jU8(g, 'type'),
      groupId: jU32(g, 'group_id'),
      buckets: bucketsFromRyu(jArr(g, 'buckets')),
    })),
  }),
  format: (m) =>
    m.body
      .map(
        (g) =>
          `group_id=${groupText(g.groupId)},type=${GROUP_TYPE_NAMES[g.groupType] ?? g.groupType}` +
          `${g.buckets.length ? `,${formatBuckets(g.buckets)}` : ''}`,
      )
      .join('; '),
});
