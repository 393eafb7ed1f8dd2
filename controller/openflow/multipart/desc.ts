// OFPMP_DESC (OF1.3.5 §7.3.5.1): the switch's manufacturer, hardware, software, serial number and datapath
// descriptions. The request has no body.
//
//   struct ofp_desc { char mfr_desc[256]; char hw_desc[256]; char sw_desc[256]; char serial_num[32];
//                     char dp_desc[256]; };                                                     (1056 bytes)
import { OFPT, OFPMP } from '../constants.js';
import { register } from '../registry.js';
import { RyuDict, jStr } from '../ryu-json.js';
import { bodyOne } from './common.js';

const DESC_STR_LEN = 256;
const SERIAL_NUM_LEN = 32;

export interface DescStatsRequestMsg {
  type: 'descStatsRequest';
  xid: number;
  flags: number;
}

export interface DescStatsReplyMsg {
  type: 'descStatsReply';
  xid: number;
  flags: number;
  mfrDesc: string;
  hwDesc: string;
  swDesc: string;
  serialNum: string;
  dpDesc: string;
}

register<DescStatsRequestMsg>({
  type: 'descStatsRequest',
  ofpType: OFPT.MULTIPART_REQUEST,
  mpType: OFPMP.DESC,
  ryuName: 'OFPDescStatsRequest',
  ofpName: 'OFPST_DESC request',
  decode: (_r, xid, flags) => ({ type: 'descStatsRequest', xid, flags }),
  encode: () => {},
  toRyu: () => ({}),
  fromRyu: (_d, xid, flags) => ({ type: 'descStatsRequest', xid, flags }),
  format: () => '',
});

register<DescStatsReplyMsg>({
  type: 'descStatsReply',
  ofpType: OFPT.MULTIPART_REPLY,
  mpType: OFPMP.DESC,
  ryuName: 'OFPDescStatsReply',
  ofpName: 'OFPST_DESC reply',
  decode: (r, xid, flags) => ({
    type: 'descStatsReply',
    xid,
    flags,
    mfrDesc: r.str(DESC_STR_LEN),
    hwDesc: r.str(DESC_STR_LEN),
    swDesc: r.str(DESC_STR_LEN),
    serialNum: r.str(SERIAL_NUM_LEN),
    dpDesc: r.str(DESC_STR_LEN),
  }),
  encode: (w, m) => {
    w.str(m.mfrDesc, DESC_STR_LEN);
    w.str(m.hwDesc, DESC_STR_LEN);
    w.str(m.swDesc, DESC_STR_LEN);
    w.str(m.serialNum, SERIAL_NUM_LEN);
    w.str(m.dpDesc, DESC_STR_LEN);
  },
  toRyu: (m): RyuDict => ({
    body: { OFPDescStats: { mfr_desc: m.mfrDesc, hw_desc: m.hwDesc, sw_desc: m.swDesc, serial_num: m.serialNum, dp_desc: m.dpDesc } },
  }),
  fromRyu: (d, xid, flags) => {
    const b = bodyOne(d, 'OFPDescStats');
    return {
      type: 'descStatsReply',
      xid,
      flags,
      mfrDesc: jStr(b, 'mfr_desc'),
      hwDesc: jStr(b, 'hw_desc'),
      swDesc: jStr(b, 'sw_desc'),
      serialNum: jStr(b, 'serial_num'),
      dpDesc: jStr(b, 'dp_desc'),
    };
  },
  format: (m) => `Manufacturer: ${m.mfrDesc}, Hardware: ${m.hwDesc}, Software: ${m.swDesc}, Serial Num: ${m.serialNum}, DP Description: ${m.dpDesc}`,
});
