// Meter bands (OF1.3.5 §7.3.4.4): what a meter does to packets above a rate.
//
//   struct ofp_meter_band_header { uint16_t type; uint16_t len; uint32_t rate; uint32_t burst_size; };
//   drop          { header; uint8_t pad[4]; }                                      16 bytes
//   dscp_remark   { header; uint8_t prec_level; uint8_t pad[3]; }                  16 bytes
//   experimenter  { header; uint32_t experimenter; }                               16 bytes + experimenter data
import { Reader, Writer } from './buffer.js';
import { OfpError, OFPET, OFPMMFC } from './errors.js';
import { OFPMBT, OFPMF } from './constants.js';
import { RyuDict, bad, b64, unwrap, jBytes, jUint } from './ryu-json.js';

export type MeterBand =
  | { type: 'drop'; rate: number; burstSize: number }
  | { type: 'dscpRemark'; rate: number; burstSize: number; precLevel: number }
  /** `data`: bytes after the 16-byte band, if the band is longer (absent or empty: none). */
  | { type: 'experimenter'; rate: number; burstSize: number; experimenter: number; data?: Buffer };

const BAND_LEN = 16;

function badBand(detail: string): never {
  throw new OfpError(OFPET.METER_MOD_FAILED, OFPMMFC.BAD_BAND, detail);
}

/** Decodes exactly `len` bytes of bands. Length errors are OFPMMFC_BAD_BAND: the spec has no meter BAD_LEN. */
export function readBands(r: Reader, len: number): MeterBand[] {
  if (len < 0 || len > r.remaining) badBand(`band list of ${len} bytes, only ${r.remaining} left`);
  const b = r.buf;
  const end = r.pos + len;
  const out: MeterBand[] = [];
  while (r.pos < end) {
    const p = r.pos;
    if (end - p < BAND_LEN) badBand(`truncated meter band: ${end - p} bytes`);
    const type = (b[p]! << 8) | b[p + 1]!;
    const blen = (b[p + 2]! << 8) | b[p + 3]!;
    if (blen < BAND_LEN || blen % 8 !== 0) badBand(`meter band type ${type} has length ${blen}`);
    if (blen > end - p) badBand(`meter band of length ${blen} overruns its list (${end - p} left)`);
    const rate = b.readUInt32BE(p + 4);
    const burstSize = b.readUInt32BE(p + 8);
    switch (type) {
      case OFPMBT.DROP:
        if (blen !== BAND_LEN) badBand(`drop band of length ${blen}`);
        out.push({ type: 'drop', rate, burstSize });
        break;
      case OFPMBT.DSCP_REMARK:
        if (blen !== BAND_LEN) badBand(`dscp_remark band of length ${blen}`);
        out.push({ type: 'dscpRemark', rate, burstSize, precLevel: b[p + 12]! });
        break;
      case OFPMBT.EXPERIMENTER: {
        const band: MeterBand = { type: 'experimenter', rate, burstSize, experimenter: b.readUInt32BE(p + 12) };
        if (blen > BAND_LEN) band.data = b.subarray(p + BAND_LEN, p + blen);
        out.push(band);
        break;
      }
      default:
        badBand(`unknown meter band type ${type}`);
    }
    r.pos = p + blen;
  }
  return out;
}

export function writeBands(w: Writer, list: MeterBand[]): void {
  for (const band of list) {
    switch (band.type) {
      case 'drop':
        w.u16(OFPMBT.DROP);
        w.u16(BAND_LEN);
        w.u32(band.rate);
        w.u32(band.burstSize);
        w.u32(0);
        break;
      case 'dscpRemark':
        w.u16(OFPMBT.DSCP_REMARK);
        w.u16(BAND_LEN);
        w.u32(band.rate);
        w.u32(band.burstSize);
        w.u8(band.precLevel);
        w.u24(0);
        break;
      case 'experimenter': {
        const start = w.pos;
        w.u16(OFPMBT.EXPERIMENTER);
        w.u16(0);
        w.u32(band.rate);
        w.u32(band.burstSize);
        w.u32(band.experimenter);
        if (band.data) w.bytes(band.data);
        w.pad8(start);
        if (w.pos - start > 0xfff8) {
          w.pos = start;
          badBand(`experimenter band of ${band.data?.length} bytes`);
        }
        w.setU16(start + 2, w.pos - start);
        break;
      }
      default:
        badBand(`unknown meter band type ${JSON.stringify((band as { type?: unknown }).type)}`);
    }
  }
}

export function bandLength(band: MeterBand): number {
  return band.type === 'experimenter' && band.data ? (BAND_LEN + band.data.length + 7) & ~7 : BAND_LEN;
}

export function bandsLength(list: MeterBand[]): number {
  let n = 0;
  for (const band of list) n += bandLength(band);
  return n;
}

export function bandsToRyu(list: MeterBand[]): RyuDict[] {
  return list.map((band): RyuDict => {
    const len = bandLength(band);
    switch (band.type) {
      case 'drop':
        return { OFPMeterBandDrop: { burst_size: band.burstSize, len, rate: band.rate, type: OFPMBT.DROP } };
      case 'dscpRemark':
        return { OFPMeterBandDscpRemark: { burst_size: band.burstSize, len, prec_level: band.precLevel, rate: band.rate, type: OFPMBT.DSCP_REMARK } };
      case 'experimenter': {
        const d: RyuDict = { burst_size: band.burstSize, experimenter: band.experimenter, len, rate: band.rate, type: OFPMBT.EXPERIMENTER };
        // Ryu's band has no data field; ours adds one only when there is data, so Ryu's form stays as it is.
        if (band.data && band.data.length > 0) d.data = b64(band.data);
        return { OFPMeterBandExperimenter: d };
      }
      default:
        return badBand(`unknown meter band type ${JSON.stringify((band as { type?: unknown }).type)}`);
    }
  });
}

export function bandsFromRyu(list: unknown[]): MeterBand[] {
  if (!Array.isArray(list)) bad('bands is not a list');
  return list.map((obj): MeterBand => {
    const [name, d] = unwrap(obj);
    const rate = jUint(d, 'rate', 32, 0);
    const burstSize = jUint(d, 'burst_size', 32, 0);
    switch (name) {
      case 'OFPMeterBandDrop':
        return { type: 'drop', rate, burstSize };
      case 'OFPMeterBandDscpRemark':
        return { type: 'dscpRemark', rate, burstSize, precLevel: jUint(d, 'prec_level', 8, 0) };
      case 'OFPMeterBandExperimenter': {
        const band: MeterBand = { type: 'experimenter', rate, burstSize, experimenter: jUint(d, 'experimenter', 32, 0) };
        const data = jBytes(d, 'data');
        if (data.length > 0) band.data = data;
        return band;
      }
      default:
        return bad(`unknown Ryu meter band class ${name}`);
    }
  });
}

/**
 * ovs-ofctl style: `type=drop rate=1000 burst_size=10 type=dscp_remark rate=1000 burst_size=10 prec_level=1`.
 * Given the meter's flags, the burst size is shown only with OFPMF_BURST, as ovs-ofctl does.
 */
export function formatBands(list: MeterBand[], meterFlags?: number): string {
  const showBurst = meterFlags === undefined || (meterFlags & OFPMF.BURST) !== 0;
  return list
    .map((band) => {
      const common = showBurst ? `rate=${band.rate} burst_size=${band.burstSize}` : `rate=${band.rate}`;
      switch (band.type) {
        case 'drop':
          return `type=drop ${common}`;
        case 'dscpRemark':
          return `type=dscp_remark ${common} prec_level=${band.precLevel}`;
        default:
          return `type=experimenter ${common} experimenter=0x${band.experimenter.toString(16)}`;
      }
    })
    .join(' ');
}
