// OFPT_BARRIER_REQUEST / OFPT_BARRIER_REPLY (OF1.3.5 §7.3.8): a bare header, no body.
// The reply tells the controller that the switch has processed every message sent before the request.
import { OFPT } from './constants.js';
import { register } from './registry.js';

export interface BarrierRequestMsg {
  type: 'barrierRequest';
  xid: number;
}
export interface BarrierReplyMsg {
  type: 'barrierReply';
  xid: number;
}

register<BarrierRequestMsg>({
  type: 'barrierRequest',
  ofpType: OFPT.BARRIER_REQUEST,
  ryuName: 'OFPBarrierRequest',
  ofpName: 'OFPT_BARRIER_REQUEST',
  decode: (_r, xid) => ({ type: 'barrierRequest', xid }),
  encode: () => {},
  toRyu: () => ({}),
  fromRyu: (_d, xid) => ({ type: 'barrierRequest', xid }),
  format: () => '',
});

register<BarrierReplyMsg>({
  type: 'barrierReply',
  ofpType: OFPT.BARRIER_REPLY,
  ryuName: 'OFPBarrierReply',
  ofpName: 'OFPT_BARRIER_REPLY',
  decode: (_r, xid) => ({ type: 'barrierReply', xid }),
  encode: () => {},
  toRyu: () => ({}),
  fromRyu: (_d, xid) => ({ type: 'barrierReply', xid }),
  format: () => '',
});
