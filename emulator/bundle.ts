// The ONF bundle extension for OpenFlow 1.3 (ONF EXT-230), as Open vSwitch implements it: OpenFlow 1.4's bundle
// messages (OF1.4 §7.3.9) carried in OFPT_EXPERIMENTER with the ONF experimenter id, and their errors as ONF
// experimenter errors (OFPET_EXPERIMENTER, exp_type 2300 + the OF1.4 OFPBFC_* code).
//
//   struct onf_bundle_ctrl {                  exp_type ONF_ET_BUNDLE_CONTROL (2300)
//     ofp_header header; uint32_t experimenter; uint32_t exp_type;
//     uint32_t bundle_id; uint16_t type; uint16_t flags;          OFPBCT_*, OFPBF_*
//     struct ofp_bundle_prop_header properties[0]; };            16 + 8 bytes, properties ignored here
//   struct onf_bundle_add_msg {               exp_type ONF_ET_BUNDLE_ADD_MESSAGE (2301)
//     ofp_header header; uint32_t experimenter; uint32_t exp_type;
//     uint32_t bundle_id; uint16_t pad; uint16_t flags;
//     struct ofp_header message;              a whole message; its xid must equal the outer xid
//     /* properties after the message */ };
//
// The emulator and tests use the builders below to speak it, since the codec carries experimenter bodies as bytes.
import {
  OfpError,
  OFPET,
  OFPBRC,
  OFP_VERSION,
  ONF_EXPERIMENTER_ID,
  Reader,
  OFPBCT,
  OFPBF,
  OFPBFC,
  ONF_BUNDLE_ERROR_BASE,
  ONFT_BUNDLE_CONTROL,
  ONFT_BUNDLE_ADD_MESSAGE,
  bundleControlMsg,
  bundleAddMsg as codecBundleAdd,
} from '../controller/openflow/index.js';
import type { OfpMessage, MessageOf } from '../controller/openflow/index.js';

// The wire constants and builders are the codec's (controller/openflow/onf-bundle.ts); this file adds what a
// switch needs: Open vSwitch's checks of incoming bundle messages and its experimenter errors.
export { OFPBCT, OFPBF };
export const ONF_ET_BUNDLE_CONTROL = ONFT_BUNDLE_CONTROL;
export const ONF_ET_BUNDLE_ADD_MESSAGE = ONFT_BUNDLE_ADD_MESSAGE;

/** enum ofp_bundle_failed_code (OF1.4), as ONF experimenter error types for OpenFlow 1.3: 2300 + code. */
export const ONFBFC = Object.fromEntries(Object.entries(OFPBFC).map(([k, v]) => [k, ONF_BUNDLE_ERROR_BASE + v])) as {
  [K in keyof typeof OFPBFC]: number;
};

/** An OFPET_EXPERIMENTER error: `code` is the experimenter's error type. */
export class ExperimenterError extends OfpError {
  readonly experimenter: number;
  constructor(experimenter: number, expType: number, detail: string) {
    super(OFPET.EXPERIMENTER, expType, detail);
    this.experimenter = experimenter;
  }
}

export const bundleError = (code: number, detail: string): ExperimenterError => new ExperimenterError(ONF_EXPERIMENTER_ID, code, detail);

export interface BundleCtrl {
  bundleId: number;
  ctrlType: number;
  flags: number;
}

/** The body of a bundle control message (after experimenter and exp_type). */
export function parseBundleCtrl(data: Buffer): BundleCtrl {
  if (data.length < 8) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, `bundle control body of ${data.length} bytes`);
  return { bundleId: data.readUInt32BE(0), ctrlType: data.readUInt16BE(4), flags: data.readUInt16BE(6) };
}

export interface BundleAdd {
  bundleId: number;
  flags: number;
  /** The inner message's bytes (a copy). */ inner: Buffer;
}

/** The body of a bundle add message, with Open vSwitch's checks of the inner message's header. */
export function parseBundleAdd(data: Buffer, outerXid: number): BundleAdd {
  if (data.length < 8) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, `bundle add body of ${data.length} bytes`);
  const r = new Reader(data);
  const bundleId = r.u32();
  r.skip(2);
  const flags = r.u16();
  if (r.remaining < 8) throw bundleError(ONFBFC.MSG_BAD_LEN, 'no inner message header');
  const p = r.pos;
  if (data[p] !== OFP_VERSION) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_VERSION, `inner message version ${data[p]}`);
  const len = data.readUInt16BE(p + 2);
  if (len < 8 || len > r.remaining) throw bundleError(ONFBFC.MSG_BAD_LEN, `inner message length ${len}, ${r.remaining} bytes left`);
  if (data.readUInt32BE(p + 4) !== outerXid) throw bundleError(ONFBFC.MSG_BAD_XID, 'inner xid differs from the outer xid');
  return { bundleId, flags, inner: Buffer.from(data.subarray(p, p + len)) };
}

// ---- builders, for the switch's replies and for controllers under test ----

export function bundleCtrlMsg(xid: number, bundleId: number, ctrlType: number, flags = 0): MessageOf<'experimenter'> {
  return bundleControlMsg(xid, bundleId, ctrlType, flags);
}

/** Wraps `inner` (its xid is set to `xid`, as the extension requires) into a bundle add message. */
export function bundleAddMsg(xid: number, bundleId: number, inner: OfpMessage, flags = 0): MessageOf<'experimenter'> {
  return codecBundleAdd(xid, bundleId, flags, inner);
}

/** A decoded bundle control message, or undefined if `msg` is not one. */
export function asBundleCtrl(msg: OfpMessage): BundleCtrl | undefined {
  if (msg.type !== 'experimenter' || msg.experimenter !== ONF_EXPERIMENTER_ID || msg.expType !== ONF_ET_BUNDLE_CONTROL) return undefined;
  return parseBundleCtrl(msg.data);
}
