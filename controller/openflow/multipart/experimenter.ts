// OFPMP_EXPERIMENTER (OF1.3.5 §7.3.5.16): an experimenter-defined request or reply. The body starts with
//
//   struct ofp_experimenter_multipart_header { uint32_t experimenter; uint32_t exp_type; };      (8 bytes)
//
// followed by experimenter-defined data, which we keep as bytes. A request whose header names ONF's flow
// monitor (onf-flow-monitor.ts) decodes as that message instead.
import type { Reader } from '../buffer.js';
import { OFPT, OFPMP, ONF_EXPERIMENTER_ID } from '../constants.js';
import { register } from '../registry.js';
import { b64, jBytes, hex } from '../ryu-json.js';
import { bodyOne, jU32 } from './common.js';
import { ONFMP_FLOW_MONITOR, OnfFlowMonitorRequestMsg, decodeOnfFlowMonitor } from './onf-flow-monitor.js';

export interface ExperimenterStatsRequestMsg {
  type: 'experimenterStatsRequest';
  xid: number;
  flags: number;
  experimenter: number;
  expType: number;
  data: Buffer;
}

export interface ExperimenterStatsReplyMsg {
  type: 'experimenterStatsReply';
  xid: number;
  flags: number;
  experimenter: number;
  expType: number;
  data: Buffer;
}

const formatExp = (m: { experimenter: number; expType: number; data: Buffer }) =>
  `experimenter=${hex(m.experimenter)} exp_type=${hex(m.expType)}${m.data.length ? ` data=0x${m.data.toString('hex')}` : ''}`;

function decodeRequest(r: Reader, xid: number, flags: number): ExperimenterStatsRequestMsg | OnfFlowMonitorRequestMsg {
  const experimenter = r.u32();
  const expType = r.u32();
  if (experimenter === ONF_EXPERIMENTER_ID && expType === ONFMP_FLOW_MONITOR) return decodeOnfFlowMonitor(r, xid, flags);
  return { type: 'experimenterStatsRequest', xid, flags, experimenter, expType, data: r.rest() };
}

register<ExperimenterStatsRequestMsg>({
  type: 'experimenterStatsRequest',
  ofpType: OFPT.MULTIPART_REQUEST,
  mpType: OFPMP.EXPERIMENTER,
  ryuName: 'OFPExperimenterStatsRequest',
  ofpName: 'OFPST_EXPERIMENTER request',
  // The registry types decode() by this codec's message; the ONF monitor is the one other result it may give.
  decode: decodeRequest as (r: Reader, xid: number, flags: number) => ExperimenterStatsRequestMsg,
  encode: (w, m) => {
    w.u32(m.experimenter);
    w.u32(m.expType);
    w.bytes(m.data);
  },
  toRyu: (m) => ({ experimenter: m.experimenter, exp_type: m.expType, data: b64(m.data) }),
  fromRyu: (d, xid, flags) => ({
    type: 'experimenterStatsRequest',
    xid,
    flags,
    experimenter: jU32(d, 'experimenter'),
    expType: jU32(d, 'exp_type'),
    data: jBytes(d, 'data'),
  }),
  format: formatExp,
});

register<ExperimenterStatsReplyMsg>({
  type: 'experimenterStatsReply',
  ofpType: OFPT.MULTIPART_REPLY,
  mpType: OFPMP.EXPERIMENTER,
  ryuName: 'OFPExperimenterStatsReply',
  ofpName: 'OFPST_EXPERIMENTER reply',
  decode: (r, xid, flags) => {
    const experimenter = r.u32();
    const expType = r.u32();
    return { type: 'experimenterStatsReply', xid, flags, experimenter, expType, data: r.rest() };
  },
  encode: (w, m) => {
    w.u32(m.experimenter);
    w.u32(m.expType);
    w.bytes(m.data);
  },
  toRyu: (m) => ({ body: { OFPExperimenterMultipart: { experimenter: m.experimenter, exp_type: m.expType, data: b64(m.data) } } }),
  fromRyu: (d, xid, flags) => {
    const b = bodyOne(d, 'OFPExperimenterMultipart');
    return {
      type: 'experimenterStatsReply',
      xid,
      flags,
      experimenter: jU32(b, 'experimenter'),
      expType: jU32(b, 'exp_type'),
      data: jBytes(b, 'data'),
    };
  },
  format: formatExp,
});
