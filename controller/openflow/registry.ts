// The table of message codecs, and the four public operations that dispatch through it: decode, encode,
// Ryu JSON both ways, and format. Each message family registers its codecs here; registering the same wire
// type, message type or Ryu class twice is a programming error and throws at start-up.
//
//   struct ofp_header { uint8_t version; uint8_t type; uint16_t length; uint32_t xid; };            (§7.1)
//   struct ofp_multipart_request/reply { ofp_header; uint16_t type; uint16_t flags; uint8_t pad[4]; } (§7.3.5)
import { Reader, Writer } from './buffer.js';
import { OfpError, OFPET, OFPBRC } from './errors.js';
import { OFP_VERSION, OFPT, OFP_MAX_MESSAGE_LEN } from './constants.js';
import { RyuDict, unwrap, jInt } from './ryu-json.js';
import { NameTable } from './name-table.js';
import type { OfpMessage, OfpMessageType } from './messages.js';

export interface MessageCodec<M extends OfpMessage = OfpMessage> {
  /** Our discriminator, `msg.type`. */
  type: M['type'];
  /** OFPT_* of the header. */
  ofpType: number;
  /** OFPMP_* for multipart messages. */
  mpType?: number;
  /** Ryu's class name, the key of its JSON form. */
  ryuName: string;
  /** The name ovs-ofctl prints before the body: `OFPT_FLOW_MOD`, `OFPST_FLOW request`. */
  ofpName: string;
  /** Decodes the body; the reader starts after the header (after the multipart header for multipart). */
  decode(r: Reader, xid: number, mpFlags: number): M;
  /** Encodes the body after the header (after the multipart header for multipart). */
  encode(w: Writer, m: M): void;
  /** Ryu's dict fields, without the class wrapper (and without type/flags for multipart, added here). */
  toRyu(m: M): RyuDict;
  fromRyu(d: RyuDict, xid: number, mpFlags: number): M;
  /** The body text after `OFPT_X (OF1.3) (xid=0x..):`, empty if none. */
  format(m: M): string;
  /** Set when decoding is done by another codec of the same wire type (an experimenter sub-type). */
  encodeOnly?: boolean;
}

const byWire = new Map<number, MessageCodec>();
/** The decoders of non-multipart messages by OFPT_* (an array read is cheaper than a Map lookup on every decode). */
const byOfpType: (MessageCodec | undefined)[] = new Array<MessageCodec | undefined>(256).fill(undefined);
const byType = new Map<string, MessageCodec>();
/** byType again, for the lookup at the start of every encodeInto (see name-table.ts). */
const byTypeName = new NameTable<MessageCodec>();
const byRyu = new Map<string, MessageCodec>();

function wireKey(ofpType: number, mpType?: number): number {
  return mpType === undefined ? ofpType : 0x10000 * (mpType + 1) + ofpType;
}

export function register<M extends OfpMessage>(codec: MessageCodec<M>): void {
  const c = codec as unknown as MessageCodec;
  if (byType.has(c.type)) throw new Error(`codec for message type ${c.type} registered twice`);
  if (byRyu.has(c.ryuName)) throw new Error(`codec for Ryu class ${c.ryuName} registered twice`);
  if (!c.encodeOnly) {
    const key = wireKey(c.ofpType, c.mpType);
    if (byWire.has(key)) throw new Error(`codec for OFPT ${c.ofpType}/${c.mpType} registered twice`);
    byWire.set(key, c);
    if (c.mpType === undefined) byOfpType[c.ofpType] = c;
  }
  byType.set(c.type, c);
  byTypeName.add(c.type, c);
  byRyu.set(c.ryuName, c);
}

export function codecFor(type: OfpMessageType): MessageCodec {
  const c = byTypeName.get(type);
  if (!c) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE, `no codec for message type ${type}`);
  return c;
}

export function registeredCodecs(): MessageCodec[] {
  return [...byType.values()];
}

const isMultipart = (ofpType: number) => ofpType === OFPT.MULTIPART_REQUEST || ofpType === OFPT.MULTIPART_REPLY;

/**
 * Decodes exactly one whole message. Throws OfpError (never anything else) naming the error a peer should get.
 * Byte payloads in the result (packet data, echo data) are views of `bytes`, which must not be modified after.
 */
export function decode(bytes: Buffer): OfpMessage {
  if (bytes.length < 8) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, `truncated header: ${bytes.length} bytes`);
  const version = bytes[0]!;
  const type = bytes[1]!;
  const length = (bytes[2]! << 8) | bytes[3]!;
  const xid = bytes[4]! * 0x1000000 + ((bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!);
  if (version !== OFP_VERSION) {
    throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_VERSION, `version 0x${version.toString(16)} is not OpenFlow 1.3`, bytes.subarray(0, 64));
  }
  if (length !== bytes.length) {
    throw new OfpError(
      OFPET.BAD_REQUEST,
      OFPBRC.BAD_LEN,
      `${length < bytes.length ? 'header length' : 'truncated message:'} ${length} vs ${bytes.length} bytes`,
      bytes.subarray(0, 64),
    );
  }
  let r = spareReader;
  if (r === undefined) r = new Reader(bytes, 8, length);
  else {
    spareReader = undefined;
    r.reset(bytes, 8, length);
  }
  let codec: MessageCodec | undefined;
  let flags = 0;
  try {
    if (isMultipart(type)) {
      const mpType = r.u16();
      flags = r.u16();
      r.skip(4);
      codec = byWire.get(wireKey(type, mpType));
      if (!codec) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_MULTIPART, `unknown multipart type ${mpType}`);
    } else {
      codec = byOfpType[type];
      if (!codec) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE, `unknown message type ${type}`);
    }
    const msg = codec.decode(r, xid, flags);
    if (r.pos !== r.end) {
      throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, `${r.end - r.pos} trailing bytes after ${codec.type}`);
    }
    return msg;
  } catch (e) {
    // The OFPT_ERROR a peer gets carries at least 64 bytes of the offending request (§7.4.4).
    if (e instanceof OfpError && e.data === undefined) e.data = bytes.subarray(0, Math.min(bytes.length, 64));
    throw e;
  } finally {
    spareReader = r;
  }
}

/**
 * The Reader of the last decode, for the next one: one allocation less per message (packet-in decoding is hot).
 * Codecs use their reader only while decoding; a nested decode (an ONF bundle's inner message) finds none spare
 * while its outer decode runs, and allocates its own. Between decodes it still points at the last input, which
 * it keeps from being collected until the next decode: one buffer at most.
 */
let spareReader: Reader | undefined;

/** Appends the encoded message to `w` (which may already hold other messages); returns its length. */
export function encodeInto(w: Writer, msg: OfpMessage): number {
  const codec = codecFor(msg.type);
  const start = w.pos;
  try {
    writeMessage(w, codec, msg);
  } catch (e) {
    w.pos = start; // leave no half-written message behind in a shared writer
    throw e;
  }
  const len = w.pos - start;
  if (len > OFP_MAX_MESSAGE_LEN) {
    w.pos = start;
    throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, `${msg.type} encodes to ${len} bytes, more than 65535`);
  }
  w.setU16(start + 2, len);
  return len;
}

function writeMessage(w: Writer, codec: MessageCodec, msg: OfpMessage): void {
  const p = w.reserve(8); // ofp_header; encodeInto sets the length when the body is written
  const b = w.buf;
  const xid = msg.xid >>> 0;
  b[p] = OFP_VERSION;
  b[p + 1] = codec.ofpType;
  b[p + 2] = 0;
  b[p + 3] = 0;
  b[p + 4] = xid >>> 24;
  b[p + 5] = xid >>> 16;
  b[p + 6] = xid >>> 8;
  b[p + 7] = xid;
  if (codec.mpType !== undefined) {
    w.u16(codec.mpType);
    w.u16((msg as { flags?: number }).flags ?? 0);
    w.zeros(4);
  }
  codec.encode(w, msg);
}

const scratch = new Writer(64 * 1024);

/** Encodes one message into a new Buffer of its own. */
export function encode(msg: OfpMessage): Buffer {
  scratch.reset();
  encodeInto(scratch, msg);
  return scratch.toBuffer();
}

/** Ryu's `msg.to_jsondict()`: `{ "OFPFlowMod": { ... } }`. The xid is not part of it, as in Ryu. */
export function toRyuJson(msg: OfpMessage): RyuDict {
  const codec = codecFor(msg.type);
  const body = codec.toRyu(msg);
  if (codec.mpType !== undefined) {
    body.flags = (msg as { flags?: number }).flags ?? 0;
    body.type = codec.mpType;
  }
  return { [codec.ryuName]: sortKeys(body) };
}

/** Ryu's `from_jsondict`; the xid (absent from Ryu's JSON) is a parameter. */
export function fromRyuJson(obj: unknown, xid = 0): OfpMessage {
  const [name, d] = unwrap(obj);
  const codec = byRyu.get(name);
  if (!codec) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE, `unknown Ryu message class ${name}`);
  const flags = codec.mpType !== undefined ? jInt(d, 'flags', 0) : 0;
  if (flags > 0xffff) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, `multipart flags ${flags} exceed 16 bits`);
  return codec.fromRyu(d, xid, flags);
}

/** One line, close to `ovs-ofctl -O OpenFlow13 ofp-print`. */
export function format(msg: OfpMessage): string {
  const codec = codecFor(msg.type);
  const body = codec.format(msg);
  const more = codec.mpType !== undefined && ((msg as { flags?: number }).flags ?? 0) & 1 ? ' flags=[more]' : '';
  return `${codec.ofpName} (OF1.3) (xid=0x${msg.xid.toString(16)}):${more}${body ? ` ${body}` : ''}`;
}

function sortKeys(d: RyuDict): RyuDict {
  const out: RyuDict = {};
  for (const k of Object.keys(d).sort()) out[k] = d[k];
  return out;
}

/** True for OFPT_MULTIPART_REPLY messages (whose `flags` may carry OFPMPF_REPLY_MORE). */
export function isMultipartReply(msg: OfpMessage): boolean {
  return byType.get(msg.type)?.ofpType === OFPT.MULTIPART_REPLY;
}
