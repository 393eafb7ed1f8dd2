// OFPT_ERROR (OF1.3.5 §7.4.4): a type/code pair and, usually, the first bytes of the request that failed.
//
//   struct ofp_error_msg { ofp_header header; uint16_t type; uint16_t code; uint8_t data[0]; };
//   struct ofp_error_experimenter_msg {                                        // type == OFPET_EXPERIMENTER
//     ofp_header header; uint16_t type; uint16_t exp_type; uint32_t experimenter; uint8_t data[0]; };
import { OFPET, errorTypeName, errorCodeName } from './errors.js';
import { OFPT } from './constants.js';
import { register } from './registry.js';
import { b64, jBytes, jInt } from './ryu-json.js';

export interface ErrorMsg {
  type: 'error';
  xid: number;
  /** OFPET_* */
  errType: number;
  /** The code within errType. For an OFPET_EXPERIMENTER error, the exp_type (it sits in the same place). */
  code: number;
  /** Experimenter errors only: the experimenter-defined type (same value as `code`) and experimenter id. */
  expType?: number;
  experimenter?: number;
  /** Usually the start of the offending request; ASCII text for OFPET_HELLO_FAILED. */
  data: Buffer;
}

const HEX_LIMIT = 64;

function formatData(m: ErrorMsg): string {
  if (m.data.length === 0) return '';
  if (m.errType === OFPET.HELLO_FAILED) return ` "${m.data.toString('latin1').replace(/[^\x20-\x7e]/g, '.')}"`;
  const more = m.data.length > HEX_LIMIT ? '...' : '';
  return ` data_len=${m.data.length} data=${m.data.toString('hex', 0, HEX_LIMIT)}${more}`;
}

register<ErrorMsg>({
  type: 'error',
  ofpType: OFPT.ERROR,
  ryuName: 'OFPErrorMsg',
  ofpName: 'OFPT_ERROR',
  decode: (r, xid) => {
    const errType = r.u16();
    const code = r.u16();
    if (errType === OFPET.EXPERIMENTER) {
      const experimenter = r.u32();
      return { type: 'error', xid, errType, code, expType: code, experimenter, data: r.rest() };
    }
    return { type: 'error', xid, errType, code, data: r.rest() };
  },
  encode: (w, m) => {
    w.u16(m.errType);
    if (m.errType === OFPET.EXPERIMENTER) {
      w.u16(m.expType ?? m.code);
      w.u32(m.experimenter ?? 0);
    } else {
      w.u16(m.code);
    }
    w.bytes(m.data);
  },
  // Ryu: {type, code, data}; an experimenter error has code null plus exp_type and experimenter.
  toRyu: (m) =>
    m.errType === OFPET.EXPERIMENTER
      ? { type: m.errType, code: null, exp_type: m.expType ?? m.code, experimenter: m.experimenter ?? 0, data: b64(m.data) }
      : { type: m.errType, code: m.code, data: b64(m.data) },
  fromRyu: (d, xid) => {
    const errType = jInt(d, 'type');
    if (errType === OFPET.EXPERIMENTER) {
      const expType = jInt(d, 'exp_type', jInt(d, 'code', 0));
      return { type: 'error', xid, errType, code: expType, expType, experimenter: jInt(d, 'experimenter'), data: jBytes(d, 'data') };
    }
    return { type: 'error', xid, errType, code: jInt(d, 'code'), data: jBytes(d, 'data') };
  },
  // ovs-ofctl: `OFPBAC_BAD_OUT_PORT` then the offending message (here, its bytes in hex).
  format: (m) => {
    if (m.errType === OFPET.EXPERIMENTER) {
      return `${errorTypeName(m.errType)} exp_type=${m.expType ?? m.code} experimenter=0x${(m.experimenter ?? 0).toString(16)}${formatData(m)}`;
    }
    const name = errorCodeName(m.errType, m.code);
    const text = /^\d+$/.test(name) ? `${errorTypeName(m.errType)} code=${name}` : name;
    return `${text}${formatData(m)}`;
  },
});
