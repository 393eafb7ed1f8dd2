// OFPT_ECHO_REQUEST / OFPT_ECHO_REPLY (OF1.3.5 §7.5.2, §7.5.3): liveness probes. The body is arbitrary bytes
// that the reply must return unchanged.
import { OFPT } from './constants.js';
import { register } from './registry.js';
import { b64, jBytes } from './ryu-json.js';

export interface EchoRequestMsg {
  type: 'echoRequest';
  xid: number;
  data: Buffer;
}
export interface EchoReplyMsg {
  type: 'echoReply';
  xid: number;
  data: Buffer;
}

// ovs-ofctl prints the length, then a hex dump on the following lines.
const formatEcho = (m: { data: Buffer }) => `${m.data.length} bytes of payload`;

register<EchoRequestMsg>({
  type: 'echoRequest',
  ofpType: OFPT.ECHO_REQUEST,
  ryuName: 'OFPEchoRequest',
  ofpName: 'OFPT_ECHO_REQUEST',
  decode: (r, xid) => ({ type: 'echoRequest', xid, data: r.rest() }),
  encode: (w, m) => w.bytes(m.data),
  toRyu: (m) => ({ data: b64(m.data) }),
  fromRyu: (d, xid) => ({ type: 'echoRequest', xid, data: jBytes(d, 'data') }),
  format: formatEcho,
});

register<EchoReplyMsg>({
  type: 'echoReply',
  ofpType: OFPT.ECHO_REPLY,
  ryuName: 'OFPEchoReply',
  ofpName: 'OFPT_ECHO_REPLY',
  decode: (r, xid) => ({ type: 'echoReply', xid, data: r.rest() }),
  encode: (w, m) => w.bytes(m.data),
  toRyu: (m) => ({ data: b64(m.data) }),
  fromRyu: (d, xid) => ({ type: 'echoReply', xid, data: jBytes(d, 'data') }),
  format: formatEcho,
});
