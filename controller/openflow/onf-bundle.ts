// Bundles for OpenFlow 1.3: the ONF extension EXT-230 that Open vSwitch implements, carried in OFPT_EXPERIMENTER
// messages (experimenter ONF, exp_type 2300/2301) with the bodies that OpenFlow 1.4 later standardised (§7.3.9):
//
//   struct ofp_bundle_ctrl_msg { uint32_t bundle_id; uint16_t type; uint16_t flags; properties[] };
//   struct ofp_bundle_add_msg  { uint32_t bundle_id; uint16_t pad; uint16_t flags; struct ofp_header message; ... };
//
// A bundle lets a controller apply a set of flow-mods all or none (OFPBF_ATOMIC).
import { Reader, Writer } from './buffer.js';
import { ONF_EXPERIMENTER_ID } from './constants.js';
import { encodeInto, decode } from './registry.js';
import type { OfpMessage } from './messages.js';
import type { ExperimenterMsg } from './experimenter.js';

export const ONFT_BUNDLE_CONTROL = 2300;
export const ONFT_BUNDLE_ADD_MESSAGE = 2301;

/** enum ofp_bundle_ctrl_type */
export const OFPBCT = {
  OPEN_REQUEST: 0,
  OPEN_REPLY: 1,
  CLOSE_REQUEST: 2,
  CLOSE_REPLY: 3,
  COMMIT_REQUEST: 4,
  COMMIT_REPLY: 5,
  DISCARD_REQUEST: 6,
  DISCARD_REPLY: 7,
} as const;

/** enum ofp_bundle_flags */
export const OFPBF = { ATOMIC: 1, ORDERED: 2 } as const;

/** OF1.4 OFPET_BUNDLE_FAILED codes; in OpenFlow 1.3 Open vSwitch sends them as ONF experimenter errors 2300+code. */
export const OFPBFC = {
  UNKNOWN: 0,
  EPERM: 1,
  BAD_ID: 2,
  BUNDLE_EXIST: 3,
  BUNDLE_CLOSED: 4,
  OUT_OF_BUNDLES: 5,
  BAD_TYPE: 6,
  BAD_FLAGS: 7,
  MSG_BAD_LEN: 8,
  MSG_BAD_XID: 9,
  MSG_UNSUP: 10,
  MSG_CONFLICT: 11,
  MSG_TOO_MANY: 12,
  MSG_FAILED: 13,
  TIMEOUT: 14,
  BUNDLE_IN_PROGRESS: 15,
} as const;
export const ONF_BUNDLE_ERROR_BASE = 2300;

export interface BundleControl {
  bundleId: number;
  ctrlType: number;
  flags: number;
  properties: Buffer;
}
export interface BundleAdd {
  bundleId: number;
  flags: number;
  message: OfpMessage;
  properties: Buffer;
}

export function bundleControlMsg(xid: number, bundleId: number, ctrlType: number, flags: number): ExperimenterMsg {
  const data = Buffer.alloc(8);
  data.writeUInt32BE(bundleId >>> 0, 0);
  data.writeUInt16BE(ctrlType, 4);
  data.writeUInt16BE(flags, 6);
  return { type: 'experimenter', xid, experimenter: ONF_EXPERIMENTER_ID, expType: ONFT_BUNDLE_CONTROL, data };
}

/** Wraps `message` for a bundle; per EXT-230 the inner message's xid must equal the outer one's. */
export function bundleAddMsg(xid: number, bundleId: number, flags: number, message: OfpMessage): ExperimenterMsg {
  const w = new Writer(64);
  w.u32(bundleId >>> 0);
  w.u16(0);
  w.u16(flags);
  encodeInto(w, { ...message, xid });
  return { type: 'experimenter', xid, experimenter: ONF_EXPERIMENTER_ID, expType: ONFT_BUNDLE_ADD_MESSAGE, data: w.toBuffer() };
}

export function isBundleMsg(msg: OfpMessage, expType: number): msg is ExperimenterMsg {
  return msg.type === 'experimenter' && msg.experimenter === ONF_EXPERIMENTER_ID && msg.expType === expType;
}

/** Reads a bundle control body; throws OfpError if it is malformed. */
export function parseBundleControl(msg: ExperimenterMsg): BundleControl {
  const r = new Reader(msg.data);
  return { bundleId: r.u32(), ctrlType: r.u16(), flags: r.u16(), properties: r.rest() };
}

/** Reads a bundle add body, decoding the inner message; throws OfpError if either is malformed. */
export function parseBundleAdd(msg: ExperimenterMsg): BundleAdd {
  const r = new Reader(msg.data);
  const bundleId = r.u32();
  r.skip(2);
  const flags = r.u16();
  r.need(8, 'bundled message header');
  const len = (r.buf[r.pos + 2]! << 8) | r.buf[r.pos + 3]!;
  const message = decode(r.bytes(len));
  return { bundleId, flags, message, properties: r.rest() };
}
