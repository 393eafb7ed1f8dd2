// OFPMP_METER_FEATURES (OF1.3.5 §7.3.5.14): what the meter table supports. The request has no body.
// Ryu gives the reply's body as a list (of one struct), so we do too.
//
//   struct ofp_meter_features { uint32_t max_meter; uint32_t band_types; uint32_t capabilities;
//                               uint8_t max_bands; uint8_t max_color; uint8_t pad[2]; };          (16 bytes)
import { OFPT, OFPMP, OFPMF } from '../constants.js';
import { register } from '../registry.js';
import { hex } from '../ryu-json.js';
import { bodyList, jU8, jU32 } from './common.js';

export interface MeterFeatures {
  maxMeter: number;
  /** Bitmap of 1 << OFPMBT_*. */
  bandTypes: number;
  /** Bitmap of OFPMF_*. */
  capabilities: number;
  maxBands: number;
  maxColor: number;
}

export interface MeterFeaturesStatsRequestMsg {
  type: 'meterFeaturesStatsRequest';
  xid: number;
  flags: number;
}
export interface MeterFeaturesStatsReplyMsg {
  type: 'meterFeaturesStatsReply';
  xid: number;
  flags: number;
  body: MeterFeatures[];
}

/** Names for set bits, in bit order; bits without a name print as hex, as ovs-ofctl does. */
function bitNames(bits: number, names: Record<number, string>): string {
  const out: string[] = [];
  for (let i = 0; i < 32; i++) {
    const bit = (1 << i) >>> 0;
    if ((bits >>> 0) & bit) out.push(names[bit] ?? hex(bit));
  }
  return out.join(' ');
}

const BAND_BITS: Record<number, string> = { 2: 'drop', 4: 'dscp_remark' };
const CAPABILITY_BITS: Record<number, string> = {
  [OFPMF.KBPS]: 'kbps',
  [OFPMF.PKTPS]: 'pktps',
  [OFPMF.BURST]: 'burst',
  [OFPMF.STATS]: 'stats',
};

register<MeterFeaturesStatsRequestMsg>({
  type: 'meterFeaturesStatsRequest',
  ofpType: OFPT.MULTIPART_REQUEST,
  mpType: OFPMP.METER_FEATURES,
  ryuName: 'OFPMeterFeaturesStatsRequest',
  ofpName: 'OFPST_METER_FEATURES request',
  decode: (_r, xid, flags) => ({ type: 'meterFeaturesStatsRequest', xid, flags }),
  encode: () => {},
  toRyu: () => ({}),
  fromRyu: (_d, xid, flags) => ({ type: 'meterFeaturesStatsRequest', xid, flags }),
  format: () => '',
});

register<MeterFeaturesStatsReplyMsg>({
  type: 'meterFeaturesStatsReply',
  ofpType: OFPT.MULTIPART_REPLY,
  mpType: OFPMP.METER_FEATURES,
  ryuName: 'OFPMeterFeaturesStatsReply',
  ofpName: 'OFPST_METER_FEATURES reply',
  decode: (r, xid, flags) => {
    const body: MeterFeatures[] = [];
    while (r.pos < r.end) {
      const f: MeterFeatures = { maxMeter: r.u32(), bandTypes: r.u32(), capabilities: r.u32(), maxBands: r.u8(), maxColor: r.u8() };
      r.skip(2);
      body.push(f);
    }
    return { type: 'meterFeaturesStatsReply', xid, flags, body };
  },
  encode: (w, m) => {
    for (const f of m.body) {
      w.u32(f.maxMeter);
      w.u32(f.bandTypes);
      w.u32(f.capabilities);
      w.u8(f.maxBands);
      w.u8(f.maxColor);
      w.zeros(2);
    }
  },
  toRyu: (m) => ({
    body: m.body.map((f) => ({
      OFPMeterFeaturesStats: {
        max_meter: f.maxMeter,
        band_types: f.bandTypes,
        capabilities: f.capabilities,
        max_bands: f.maxBands,
        max_color: f.maxColor,
      },
    })),
  }),
  fromRyu: (d, xid, flags) => ({
    type: 'meterFeaturesStatsReply',
    xid,
    flags,
    body: bodyList(d, 'OFPMeterFeaturesStats').map((f) => ({
      maxMeter: jU32(f, 'max_meter'),
      bandTypes: jU32(f, 'band_types'),
      capabilities: jU32(f, 'capabilities'),
      maxBands: jU8(f, 'max_bands'),
      maxColor: jU8(f, 'max_color'),
    })),
  }),
  format: (m) =>
    m.body
      .map(
        (f) =>
          `max_meter:${f.maxMeter} max_bands:${f.maxBands} max_color:${f.maxColor} ` +
          `band_types: ${bitNames(f.bandTypes, BAND_BITS)} capabilities: ${bitNames(f.capabilities, CAPABILITY_BITS)}`,
      )
      .join('; '),
});
