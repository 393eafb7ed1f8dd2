// OFPT_PACKET_OUT (OF1.3.5 §7.3.7): the controller sends a packet (or releases a buffered one) through actions.
//
//   struct ofp_packet_out {
//     struct ofp_header header;
//     uint32_t buffer_id;       OFP_NO_BUFFER, or the switch's buffer id
//     uint32_t in_port;         the packet's ingress port for the actions (OFPP_CONTROLLER if none)
//     uint16_t actions_len;     size of the action list in bytes
//     uint8_t pad[6];
//     struct ofp_action_header actions[0];
//     // uint8_t data[0];       the packet, only with OFP_NO_BUFFER: the rest of the message
//   };                          24 bytes
import { OfpError, OFPET, OFPBRC } from './errors.js';
import { OFPT, OFPP, OFP_NO_BUFFER } from './constants.js';
import { register } from './registry.js';
import { formatPortNo } from './port.js';
import { Action, readActions, writeActions, actionsLength, actionsToRyu, actionsFromRyu, formatActions } from './actions.js';
import './nx-actions.js'; // registers the Nicira actions a list may hold (experimenter-actions.ts)
import { b64, bad, jArr, jBytes, jUint, type RyuDict } from './ryu-json.js';
import { packetFromRyuJson } from '../packet/ryu-packet.js';
import { PacketError } from '../packet/errors.js';

export interface PacketOutMsg {
  type: 'packetOut';
  xid: number;
  bufferId: number;
  inPort: number;
  actions: Action[];
  data: Buffer;
}

/** `data` as base64, or as Ryu's packet library writes a packet (`{"Packet": {"protocols": [...]}}`): its frame. */
function packetData(d: RyuDict): Buffer {
  if (d.data === null || typeof d.data !== 'object') return jBytes(d, 'data');
  try {
    return Buffer.from(packetFromRyuJson(d.data));
  } catch (e) {
    if (e instanceof PacketError) bad(`OFPPacketOut.data: ${e.message}`);
    throw e;
  }
}

register<PacketOutMsg>({
  type: 'packetOut',
  ofpType: OFPT.PACKET_OUT,
  ryuName: 'OFPPacketOut',
  ofpName: 'OFPT_PACKET_OUT',
  decode: (r, xid) => {
    const bufferId = r.u32();
    const inPort = r.u32();
    const actionsLen = r.u16();
    r.skip(6);
    // The action list must fit in the message; the packet data is whatever follows it.
    if (actionsLen > r.remaining) {
      throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, `actions_len ${actionsLen} overruns the message (${r.remaining} bytes left)`);
    }
    const actions = readActions(r, actionsLen);
    return { type: 'packetOut', xid, bufferId, inPort, actions, data: r.rest() };
  },
  encode: (w, m) => {
    w.u32(m.bufferId);
    w.u32(m.inPort);
    const lenAt = w.pos;
    w.u16(0);
    w.zeros(6);
    const start = w.pos;
    writeActions(w, m.actions);
    w.setU16(lenAt, w.pos - start);
    w.bytes(m.data);
  },
  toRyu: (m) => ({
    actions: actionsToRyu(m.actions),
    actions_len: actionsLength(m.actions),
    buffer_id: m.bufferId,
    data: b64(m.data),
    in_port: m.inPort,
  }),
  fromRyu: (d, xid) => ({
    type: 'packetOut',
    xid,
    bufferId: jUint(d, 'buffer_id', 32, OFP_NO_BUFFER),
    inPort: jUint(d, 'in_port', 32, OFPP.CONTROLLER),
    actions: actionsFromRyu(jArr(d, 'actions')),
    data: packetData(d),
  }),
  // ovs-ofctl: `in_port=CONTROLLER actions=ALL data_len=98` (it then dissects the packet on further lines).
  format: (m) => {
    let s = `in_port=${formatPortNo(m.inPort)} actions=${formatActions(m.actions)}`;
    if (m.bufferId !== OFP_NO_BUFFER) s += ` buffer=0x${m.bufferId.toString(16).padStart(8, '0')}`;
    if (m.bufferId === OFP_NO_BUFFER || m.data.length > 0) s += ` data_len=${m.data.length}`;
    return s;
  },
});
