// OFPMP_PORT_DESC (OF1.3.5 §7.3.5.7): the description of every port. The request has no body; the reply is an
// array of struct ofp_port (64 bytes each, port.ts).
import { OFPT, OFPMP } from '../constants.js';
import { register } from '../registry.js';
import { Port, readPort, writePort, portToRyu, portFromRyu, formatPort } from '../port.js';
import { jArr } from '../ryu-json.js';
import { counted } from './common.js';

export interface PortDescStatsRequestMsg {
  type: 'portDescStatsRequest';
  xid: number;
  flags: number;
}
export interface PortDescStatsReplyMsg {
  type: 'portDescStatsReply';
  xid: number;
  flags: number;
  body: Port[];
}

register<PortDescStatsRequestMsg>({
  type: 'portDescStatsRequest',
  ofpType: OFPT.MULTIPART_REQUEST,
  mpType: OFPMP.PORT_DESC,
  ryuName: 'OFPPortDescStatsRequest',
  ofpName: 'OFPST_PORT_DESC request',
  decode: (_r, xid, flags) => ({ type: 'portDescStatsRequest', xid, flags }),
  encode: () => {},
  toRyu: () => ({}),
  fromRyu: (_d, xid, flags) => ({ type: 'portDescStatsRequest', xid, flags }),
  format: () => '',
});

register<PortDescStatsReplyMsg>({
  type: 'portDescStatsReply',
  ofpType: OFPT.MULTIPART_REPLY,
  mpType: OFPMP.PORT_DESC,
  ryuName: 'OFPPortDescStatsReply',
  ofpName: 'OFPST_PORT_DESC reply',
  decode: (r, xid, flags) => {
    const body: Port[] = [];
    while (r.pos < r.end) body.push(readPort(r));
    return { type: 'portDescStatsReply', xid, flags, body };
  },
  encode: (w, m) => {
    for (const p of m.body) writePort(w, p);
  },
  toRyu: (m) => ({ body: m.body.map(portToRyu) }),
  fromRyu: (d, xid, flags) => ({ type: 'portDescStatsReply', xid, flags, body: jArr(d, 'body').map(portFromRyu) }),
  format: (m) => counted(m.body.map(formatPort), 'ports'),
});
