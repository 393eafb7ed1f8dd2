// OFPT_GET_ASYNC_REQUEST / OFPT_GET_ASYNC_REPLY / OFPT_SET_ASYNC (OF1.3.5 §7.3.10): which asynchronous messages
// (and for which reasons) this connection receives, as a bitmask of reasons per role: element 0 applies when
// the controller is master or equal, element 1 when it is slave. The request has no body.
//
//   struct ofp_async_config { ofp_header header; uint32_t packet_in_mask[2]; uint32_t port_status_mask[2];
//                             uint32_t flow_removed_mask[2]; };                                  // 32 bytes
import { OFPT } from './constants.js';
import { register } from './registry.js';
import type { Reader, Writer } from './buffer.js';
import { RyuDict, bad, jArr } from './ryu-json.js';
import { bitNames } from './port.js';

/** [master or equal, slave] */
export type AsyncMask = [number, number];

export interface GetAsyncRequestMsg {
  type: 'getAsyncRequest';
  xid: number;
}

interface AsyncConfig {
  /** Bit (1 << OFPR_*) per packet-in reason. */
  packetInMask: AsyncMask;
  /** Bit (1 << OFPPR_*) per port-status reason. */
  portStatusMask: AsyncMask;
  /** Bit (1 << OFPRR_*) per flow-removed reason. */
  flowRemovedMask: AsyncMask;
}

export interface GetAsyncReplyMsg extends AsyncConfig {
  type: 'getAsyncReply';
  xid: number;
}
export interface SetAsyncMsg extends AsyncConfig {
  type: 'setAsync';
  xid: number;
}

function readAsync<T extends 'getAsyncReply' | 'setAsync'>(type: T, r: Reader, xid: number) {
  const packetInMask: AsyncMask = [r.u32(), r.u32()];
  const portStatusMask: AsyncMask = [r.u32(), r.u32()];
  const flowRemovedMask: AsyncMask = [r.u32(), r.u32()];
  return { type, xid, packetInMask, portStatusMask, flowRemovedMask };
}

function writeAsync(w: Writer, m: AsyncConfig): void {
  for (const mask of [m.packetInMask, m.portStatusMask, m.flowRemovedMask]) {
    w.u32(mask[0]);
    w.u32(mask[1]);
  }
}

const asyncToRyu = (m: AsyncConfig): RyuDict => ({
  packet_in_mask: [...m.packetInMask],
  port_status_mask: [...m.portStatusMask],
  flow_removed_mask: [...m.flowRemovedMask],
});

function jMask(d: RyuDict, key: string): AsyncMask {
  const v = jArr(d, key);
  if (v.length !== 2 || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffffffff)) {
    bad(`${key} must be two unsigned 32-bit integers`);
  }
  return [v[0] as number, v[1] as number];
}

function asyncFromRyu<T extends 'getAsyncReply' | 'setAsync'>(type: T, d: RyuDict, xid: number) {
  return {
    type,
    xid,
    packetInMask: jMask(d, 'packet_in_mask'),
    portStatusMask: jMask(d, 'port_status_mask'),
    flowRemovedMask: jMask(d, 'flow_removed_mask'),
  };
}

const PACKET_IN_REASONS = ['no_match', 'action', 'invalid_ttl'];
const PORT_STATUS_REASONS = ['add', 'delete', 'modify'];
const FLOW_REMOVED_REASONS = ['idle', 'hard', 'delete', 'group_delete'];

// ovs-ofctl prints a block per role; here it is one line.
function formatAsync(m: AsyncConfig): string {
  return (['primary', 'secondary'] as const)
    .map(
      (role, i) =>
        `${role}: PACKET_IN: ${bitNames(m.packetInMask[i]!, PACKET_IN_REASONS, '(off)')}` +
        ` PORT_STATUS: ${bitNames(m.portStatusMask[i]!, PORT_STATUS_REASONS, '(off)')}` +
        ` FLOW_REMOVED: ${bitNames(m.flowRemovedMask[i]!, FLOW_REMOVED_REASONS, '(off)')}`,
    )
    .join(' ');
}

register<GetAsyncRequestMsg>({
  type: 'getAsyncRequest',
  ofpType: OFPT.GET_ASYNC_REQUEST,
  ryuName: 'OFPGetAsyncRequest',
  ofpName: 'OFPT_GET_ASYNC_REQUEST',
  decode: (_r, xid) => ({ type: 'getAsyncRequest', xid }),
  encode: () => {},
  toRyu: () => ({}),
  fromRyu: (_d, xid) => ({ type: 'getAsyncRequest', xid }),
  format: () => '',
});

register<GetAsyncReplyMsg>({
  type: 'getAsyncReply',
  ofpType: OFPT.GET_ASYNC_REPLY,
  ryuName: 'OFPGetAsyncReply',
  ofpName: 'OFPT_GET_ASYNC_REPLY',
  decode: (r, xid) => readAsync('getAsyncReply', r, xid),
  encode: writeAsync,
  toRyu: asyncToRyu,
  fromRyu: (d, xid) => asyncFromRyu('getAsyncReply', d, xid),
  format: formatAsync,
});

register<SetAsyncMsg>({
  type: 'setAsync',
  ofpType: OFPT.SET_ASYNC,
  ryuName: 'OFPSetAsync',
  ofpName: 'OFPT_SET_ASYNC',
  decode: (r, xid) => readAsync('setAsync', r, xid),
  encode: writeAsync,
  toRyu: asyncToRyu,
  fromRyu: (d, xid) => asyncFromRyu('setAsync', d, xid),
  format: formatAsync,
});
