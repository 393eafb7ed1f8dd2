// The public decode(): the registry's decode, with a direct path for OFPT_PACKET_IN.
//
// Why a direct path: a controller decodes every kind of message through one call site, so the registry's call into
// the codec table is megamorphic, and it also pays for reader hand-over, a try/finally and the trailing-bytes check
// on every message. Packet-ins are the one type that arrives at line rate (every table miss of every switch); this
// path reads them with direct calls: in place when they are plain (readPlainPacketIn), else with a reader of its
// own. It is not a second decoder: any failure on it is decoded again by the registry, which throws the very
// OfpError (type, code, text, offending bytes) it always does.
import { Reader } from './buffer.js';
import { OFP_VERSION, OFPT } from './constants.js';
import { decode as decodeAny } from './registry.js';
import { readPacketIn, readPlainPacketIn } from './packet-in.js';
import type { OfpMessage } from './messages.js';

/**
 * The direct path's reader. Packet-in decoding never nests a decode, so one is enough; between decodes it keeps
 * the last packet-in's bytes referenced (one buffer at most), as the registry's spare reader does.
 */
const packetInReader = new Reader(Buffer.alloc(0), 0, 0);

/**
 * Decodes exactly one whole message. Throws OfpError (never anything else) naming the error a peer should get.
 * Byte payloads in the result (packet data, echo data) are views of `bytes`, which must not be modified after.
 */
export function decode(bytes: Buffer): OfpMessage {
  const n = bytes.length;
  if (n >= 8 && bytes[1] === OFPT.PACKET_IN && bytes[0] === OFP_VERSION && ((bytes[2]! << 8) | bytes[3]!) === n) {
    const xid = bytes[4]! * 0x1000000 + ((bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!);
    // Both read up to the end of the message, so no trailing bytes can be left for a check to find.
    // readPlainPacketIn cannot throw (it reads nothing it has not checked, and returns undefined for the rest), and
    // it is called outside the try: inside, the direct path measured 10-13% slower.
    const plain = readPlainPacketIn(bytes, n, xid);
    if (plain !== undefined) return plain;
    const r = packetInReader;
    r.reset(bytes, 8, n);
    try {
      return readPacketIn(r, xid);
    } catch {
      // fall through: the registry decodes it again and throws its own, complete error
    }
  }
  return decodeAny(bytes);
}
