// OFPT_EXPERIMENTER (OF1.3.5 §7.5.4): a vendor extension message. We carry the experimenter id, its type and
// the body bytes as they are; interpreting a particular vendor's messages is up to the application.
//
//   struct ofp_experimenter_header { ofp_header header; uint32_t experimenter; uint32_t exp_type; /* data */ };
import { OFPT } from './constants.js';
import { register } from './registry.js';
import { b64, jBytes, jInt } from './ryu-json.js';

export interface ExperimenterMsg {
  type: 'experimenter';
  xid: number;
  /** Experimenter id: an IEEE OUI in the low 24 bits, or an ONF-assigned id. */
  experimenter: number;
  expType: number;
  data: Buffer;
}

register<ExperimenterMsg>({
  type: 'experimenter',
  ofpType: OFPT.EXPERIMENTER,
  ryuName: 'OFPExperimenter',
  ofpName: 'OFPT_EXPERIMENTER',
  decode: (r, xid) => {
    const experimenter = r.u32();
    const expType = r.u32();
    return { type: 'experimenter', xid, experimenter, expType, data: r.rest() };
  },
  encode: (w, m) => {
    w.u32(m.experimenter);
    w.u32(m.expType);
    w.bytes(m.data);
  },
  toRyu: (m) => ({ experimenter: m.experimenter, exp_type: m.expType, data: b64(m.data) }),
  fromRyu: (d, xid) => ({
    type: 'experimenter',
    xid,
    experimenter: jInt(d, 'experimenter'),
    expType: jInt(d, 'exp_type'),
    data: jBytes(d, 'data'),
  }),
  format: (m) => `experimenter=0x${m.experimenter.toString(16)} exp_type=${m.expType} data_len=${m.data.length}`,
});
