// An ONF EXT-230 bundle add (OpenFlow 1.3's bundles, as Open vSwitch implements them) written straight into a
// connection's send batch: the same bytes as encodeInto(w, bundleAddMsg(xid, id, flags, msg)), without the
// intermediate message object and buffer that costs (a large atomic group sends one per flow).
//
//   struct ofp_experimenter_header { ofp_header header; uint32_t experimenter; uint32_t exp_type; }   16 bytes
//   struct ofp_bundle_add_msg body { uint32_t bundle_id; uint16_t pad; uint16_t flags; ofp_header message; ... }
//
// EXT-230 (like OF1.4 §7.3.9.7): the inner message's xid must equal the outer one's.
import {
  Writer,
  encodeInto,
  OfpError,
  OFPET,
  OFPBRC,
  OFPT,
  OFP_VERSION,
  OFP_MAX_MESSAGE_LEN,
  ONF_EXPERIMENTER_ID,
  ONFT_BUNDLE_ADD_MESSAGE,
  type OfpMessage,
} from './openflow/index.js';

const OUTER_HEADER = 24; // experimenter header (16) + bundle_id, pad, flags (8)

/**
 * Appends the bundle add of `msg` under `xid` to `w`; returns its length. On an unencodable message it throws
 * OfpError and leaves nothing in `w`.
 */
export function writeBundleAdd(w: Writer, xid: number, bundleId: number, flags: number, msg: OfpMessage): number {
  const start = w.pos;
  w.u8(OFP_VERSION);
  w.u8(OFPT.EXPERIMENTER);
  w.u16(0); // length, set below
  w.u32(xid >>> 0);
  w.u32(ONF_EXPERIMENTER_ID);
  w.u32(ONFT_BUNDLE_ADD_MESSAGE);
  w.u32(bundleId >>> 0);
  w.u16(0);
  w.u16(flags);
  try {
    encodeInto(w, msg);
  } catch (e) {
    w.pos = start;
    throw e;
  }
  const inner = start + OUTER_HEADER;
  w.buf.writeUInt32BE(xid >>> 0, inner + 4); // the inner xid, whatever msg.xid says
  const len = w.pos - start;
  if (len > OFP_MAX_MESSAGE_LEN) {
    w.pos = start;
    throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, `bundled ${msg.type} encodes to ${len} bytes with its bundle header, more than 65535`);
  }
  w.setU16(start + 2, len);
  return len;
}
