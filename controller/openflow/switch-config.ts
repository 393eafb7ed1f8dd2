// OFPT_GET_CONFIG_REQUEST / OFPT_GET_CONFIG_REPLY / OFPT_SET_CONFIG (OF1.3.5 §7.3.2): IP fragment handling and
// how many bytes of a packet a table-miss packet-in carries. The request has no body.
//
//   struct ofp_switch_config { ofp_header header; uint16_t flags; uint16_t miss_send_len; };   // 12 bytes
import { OFPT, OFPC_FRAG } from './constants.js';
import { register } from './registry.js';
import type { Reader, Writer } from './buffer.js';
import { RyuDict, jInt } from './ryu-json.js';

export interface GetConfigRequestMsg {
  type: 'getConfigRequest';
  xid: number;
}

interface SwitchConfig {
  /** OFPC_FRAG_* in the low two bits. */
  flags: number;
  /** Bytes of a packet sent to the controller on a table miss; OFPCML_NO_BUFFER (0xffff) for whole packets. */
  missSendLen: number;
}

export interface GetConfigReplyMsg extends SwitchConfig {
  type: 'getConfigReply';
  xid: number;
}
export interface SetConfigMsg extends SwitchConfig {
  type: 'setConfig';
  xid: number;
}

const FRAG_NAMES = ['normal', 'drop', 'reassemble', 'nx-match'];

function readConfig<T extends 'getConfigReply' | 'setConfig'>(type: T, r: Reader, xid: number) {
  const flags = r.u16();
  const missSendLen = r.u16();
  return { type, xid, flags, missSendLen };
}

function writeConfig(w: Writer, m: SwitchConfig): void {
  w.u16(m.flags);
  w.u16(m.missSendLen);
}

const configToRyu = (m: SwitchConfig): RyuDict => ({ flags: m.flags, miss_send_len: m.missSendLen });

function formatConfig(m: SwitchConfig): string {
  const extra = m.flags & ~OFPC_FRAG.MASK;
  return `frags=${FRAG_NAMES[m.flags & OFPC_FRAG.MASK]}${extra ? ` flags=0x${extra.toString(16)}` : ''} miss_send_len=${m.missSendLen}`;
}

register<GetConfigRequestMsg>({
  type: 'getConfigRequest',
  ofpType: OFPT.GET_CONFIG_REQUEST,
  ryuName: 'OFPGetConfigRequest',
  ofpName: 'OFPT_GET_CONFIG_REQUEST',
  decode: (_r, xid) => ({ type: 'getConfigRequest', xid }),
  encode: () => {},
  toRyu: () => ({}),
  fromRyu: (_d, xid) => ({ type: 'getConfigRequest', xid }),
  format: () => '',
});

register<GetConfigReplyMsg>({
  type: 'getConfigReply',
  ofpType: OFPT.GET_CONFIG_REPLY,
  ryuName: 'OFPGetConfigReply',
  ofpName: 'OFPT_GET_CONFIG_REPLY',
  decode: (r, xid) => readConfig('getConfigReply', r, xid),
  encode: writeConfig,
  toRyu: configToRyu,
  fromRyu: (d, xid) => ({ type: 'getConfigReply', xid, flags: jInt(d, 'flags', 0), missSendLen: jInt(d, 'miss_send_len') }),
  format: formatConfig,
});

register<SetConfigMsg>({
  type: 'setConfig',
  ofpType: OFPT.SET_CONFIG,
  ryuName: 'OFPSetConfig',
  ofpName: 'OFPT_SET_CONFIG',
  decode: (r, xid) => readConfig('setConfig', r, xid),
  encode: writeConfig,
  toRyu: configToRyu,
  fromRyu: (d, xid) => ({ type: 'setConfig', xid, flags: jInt(d, 'flags', 0), missSendLen: jInt(d, 'miss_send_len') }),
  format: formatConfig,
});
