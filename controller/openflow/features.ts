// OFPT_FEATURES_REQUEST / OFPT_FEATURES_REPLY (OF1.3.5 §7.3.1): the controller asks, right after the hello,
// for the switch's identity (datapath id) and capabilities. The request has no body.
//
//   struct ofp_switch_features {
//     ofp_header header; uint64_t datapath_id; uint32_t n_buffers; uint8_t n_tables; uint8_t auxiliary_id;
//     uint8_t pad[2]; uint32_t capabilities; uint32_t reserved; };                          // 32 bytes
import { OFPT } from './constants.js';
import { register } from './registry.js';
import { jInt, jU64, u64ToJson } from './ryu-json.js';
import { bitNames } from './port.js';

export interface FeaturesRequestMsg {
  type: 'featuresRequest';
  xid: number;
}

export interface FeaturesReplyMsg {
  type: 'featuresReply';
  xid: number;
  datapathId: bigint;
  /** Packets the switch can buffer for packet-in (0: none). */
  nBuffers: number;
  nTables: number;
  /** 0 for the main connection, else the auxiliary connection's id (§6.3.6). */
  auxiliaryId: number;
  /** OFPC_* bits. */
  capabilities: number;
}

/** OFPC_* bit names, as ovs-ofctl prints them. */
const CAPABILITY_NAMES = ['FLOW_STATS', 'TABLE_STATS', 'PORT_STATS', 'GROUP_STATS', undefined, 'IP_REASM', 'QUEUE_STATS', undefined, 'PORT_BLOCKED'];

register<FeaturesRequestMsg>({
  type: 'featuresRequest',
  ofpType: OFPT.FEATURES_REQUEST,
  ryuName: 'OFPFeaturesRequest',
  ofpName: 'OFPT_FEATURES_REQUEST',
  decode: (_r, xid) => ({ type: 'featuresRequest', xid }),
  encode: () => {},
  toRyu: () => ({}),
  fromRyu: (_d, xid) => ({ type: 'featuresRequest', xid }),
  format: () => '',
});

register<FeaturesReplyMsg>({
  type: 'featuresReply',
  ofpType: OFPT.FEATURES_REPLY,
  ryuName: 'OFPSwitchFeatures',
  ofpName: 'OFPT_FEATURES_REPLY',
  decode: (r, xid) => {
    const datapathId = r.u64();
    const nBuffers = r.u32();
    const nTables = r.u8();
    const auxiliaryId = r.u8();
    r.skip(2);
    const capabilities = r.u32();
    r.skip(4); // reserved
    return { type: 'featuresReply', xid, datapathId, nBuffers, nTables, auxiliaryId, capabilities };
  },
  encode: (w, m) => {
    w.u64(m.datapathId);
    w.u32(m.nBuffers);
    w.u8(m.nTables);
    w.u8(m.auxiliaryId);
    w.zeros(2);
    w.u32(m.capabilities);
    w.zeros(4);
  },
  toRyu: (m) => ({
    datapath_id: u64ToJson(m.datapathId),
    n_buffers: m.nBuffers,
    n_tables: m.nTables,
    auxiliary_id: m.auxiliaryId,
    capabilities: m.capabilities,
  }),
  fromRyu: (d, xid) => ({
    type: 'featuresReply',
    xid,
    datapathId: jU64(d, 'datapath_id'),
    nBuffers: jInt(d, 'n_buffers', 0),
    nTables: jInt(d, 'n_tables', 0),
    auxiliaryId: jInt(d, 'auxiliary_id', 0),
    capabilities: jInt(d, 'capabilities', 0),
  }),
  format: (m) =>
    `dpid:${m.datapathId.toString(16).padStart(16, '0')} n_tables:${m.nTables}, n_buffers:${m.nBuffers}` +
    `${m.auxiliaryId ? `, auxiliary_id:${m.auxiliaryId}` : ''} capabilities: ${bitNames(m.capabilities, CAPABILITY_NAMES)}`,
});
