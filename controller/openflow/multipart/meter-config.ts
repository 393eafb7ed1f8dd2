// OFPMP_METER_CONFIG (OF1.3.5 §7.3.5.13): the configuration of one or every meter.
//
//   struct ofp_meter_multipart_request { uint32_t meter_id; uint8_t pad[4]; };                 (8 bytes)
//   struct ofp_meter_config { uint16_t length; uint16_t flags; uint32_t meter_id;
//                             struct ofp_meter_band_header bands[0]; };                      (8 bytes + bands)
import { OfpError, OFPET, OFPBRC } from '../errors.js';
import { OFPT, OFPMP, OFPM, OFPMF, OFP_SIZES } from '../constants.js';
import { register } from '../registry.js';
import { MeterBand, readBands, writeBands, bandsLength, bandsToRyu, bandsFromRyu, formatBands } from '../meter-band.js';
import { jArr } from '../ryu-json.js';
import { bodyList, entry, jU16, jU32, meterText } from './common.js';

export interface MeterConfig {
  /** OFPMF_* bits. */
  flags: number;
  meterId: number;
  bands: MeterBand[];
}

export interface MeterConfigStatsRequestMsg {
  type: 'meterConfigStatsRequest';
  xid: number;
  flags: number;
  meterId: number;
}
export interface MeterConfigStatsReplyMsg {
  type: 'meterConfigStatsReply';
  xid: number;
  flags: number;
  body: MeterConfig[];
}

const FLAG_NAMES: [number, string][] = [
  [OFPMF.KBPS, 'kbps'],
  [OFPMF.PKTPS, 'pktps'],
  [OFPMF.BURST, 'burst'],
  [OFPMF.STATS, 'stats'],
];

register<MeterConfigStatsRequestMsg>({
  type: 'meterConfigStatsRequest',
  ofpType: OFPT.MULTIPART_REQUEST,
  mpType: OFPMP.METER_CONFIG,
  ryuName: 'OFPMeterConfigStatsRequest',
  ofpName: 'OFPST_METER_CONFIG request',
  decode: (r, xid, flags) => {
    const meterId = r.u32();
    r.skip(4);
    return { type: 'meterConfigStatsRequest', xid, flags, meterId };
  },
  encode: (w, m) => {
    w.u32(m.meterId);
    w.zeros(4);
  },
  toRyu: (m) => ({ meter_id: m.meterId }),
  fromRyu: (d, xid, flags) => ({ type: 'meterConfigStatsRequest', xid, flags, meterId: jU32(d, 'meter_id', OFPM.ALL) }),
  format: (m) => `meter=${meterText(m.meterId)}`,
});

register<MeterConfigStatsReplyMsg>({
  type: 'meterConfigStatsReply',
  ofpType: OFPT.MULTIPART_REPLY,
  mpType: OFPMP.METER_CONFIG,
  ryuName: 'OFPMeterConfigStatsReply',
  ofpName: 'OFPST_METER_CONFIG reply',
  decode: (r, xid, flags) => {
    const body: MeterConfig[] = [];
    while (r.pos < r.end) {
      const e = entry(r, 0, OFP_SIZES.meterConfig, 'meter config');
      e.skip(2);
      const mflags = e.u16();
      const meterId = e.u32();
      body.push({ flags: mflags, meterId, bands: readBands(e, e.end - e.pos) });
    }
    return { type: 'meterConfigStatsReply', xid, flags, body };
  },
  encode: (w, m) => {
    for (const c of m.body) {
      const start = w.pos;
      w.u16(0);
      w.u16(c.flags);
      w.u32(c.meterId);
      writeBands(w, c.bands);
      const len = w.pos - start;
      if (len > 0xffff) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, `meter config entry of ${len} bytes`);
      w.setU16(start, len);
    }
  },
  toRyu: (m) => ({
    body: m.body.map((c) => ({
      OFPMeterConfigStats: { length: OFP_SIZES.meterConfig + bandsLength(c.bands), flags: c.flags, meter_id: c.meterId, bands: bandsToRyu(c.bands) },
    })),
  }),
  fromRyu: (d, xid, flags) => ({
    type: 'meterConfigStatsReply',
    xid,
    flags,
    body: bodyList(d, 'OFPMeterConfigStats').map((c) => ({
      flags: jU16(c, 'flags', 0),
      meterId: jU32(c, 'meter_id'),
      bands: bandsFromRyu(jArr(c, 'bands')),
    })),
  }),
  format: (m) =>
    m.body
      .map((c) => {
        const flags = FLAG_NAMES.filter(([bit]) => c.flags & bit)
          .map(([, name]) => ` ${name}`)
          .join('');
        return `meter=${meterText(c.meterId)}${flags} bands=${c.bands.length ? ` ${formatBands(c.bands)}` : ''}`;
      })
      .join('; '),
});
