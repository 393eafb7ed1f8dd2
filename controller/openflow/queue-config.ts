// OFPT_QUEUE_GET_CONFIG_REQUEST / OFPT_QUEUE_GET_CONFIG_REPLY (OF1.3.5 §7.3.7, queues §7.2.2): the queues of a
// port (or of every port, OFPP_ANY) and their rate properties.
//
//   struct ofp_queue_get_config_request { ofp_header header; uint32_t port; uint8_t pad[4]; };       // 16
//   struct ofp_queue_get_config_reply { ofp_header header; uint32_t port; uint8_t pad[4];
//                                       struct ofp_packet_queue queues[0]; };                       // 16 + queues
//   struct ofp_packet_queue { uint32_t queue_id; uint32_t port; uint16_t len; uint8_t pad[6];
//                             struct ofp_queue_prop_header properties[0]; };                        // 16 + props
//   struct ofp_queue_prop_header { uint16_t property; uint16_t len; uint8_t pad[4]; };              // 8
//   struct ofp_queue_prop_min_rate / max_rate { ofp_queue_prop_header; uint16_t rate; uint8_t pad[6]; }; // 16
//   struct ofp_queue_prop_experimenter { ofp_queue_prop_header; uint32_t experimenter; uint8_t pad[4];
//                                        uint8_t data[0]; };                                        // 16 + data
//
// Lengths are taken as declared, without rounding to 8: Ryu (and its golden messages) writes an experimenter
// property of 16 + data bytes and packs the next queue right after it. An encoder wanting alignment pads `data`.
import { Reader, Writer } from './buffer.js';
import { OfpError, OFPET, OFPBRC } from './errors.js';
import { OFPT, OFPQT } from './constants.js';
import { register } from './registry.js';
import { RyuDict, bad, b64, jArr, jInt, unwrap } from './ryu-json.js';
import { formatPortNo } from './port.js';

export interface QueueGetConfigRequestMsg {
  type: 'queueGetConfigRequest';
  xid: number;
  port: number;
}

export type QueueProp =
  /** Guaranteed / maximum rate in 1/10 of a percent of the port's speed; > 1000 means disabled. */
  | { type: 'minRate'; rate: number }
  | { type: 'maxRate'; rate: number }
  | { type: 'experimenter'; experimenter: number; data: Buffer }
  /** A property type we do not know: its bytes after the 8-byte header, kept so it re-encodes as it was. */
  | { type: 'unknown'; property: number; data: Buffer };

export interface PacketQueue {
  queueId: number;
  /** The port the queue is attached to. */
  port: number;
  properties: QueueProp[];
}

export interface QueueGetConfigReplyMsg {
  type: 'queueGetConfigReply';
  xid: number;
  port: number;
  queues: PacketQueue[];
}

function badLen(detail: string): never {
  throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, detail);
}

function readProp(r: Reader): QueueProp {
  const property = r.u16();
  const len = r.u16();
  if (len < 8) badLen(`queue property of length ${len} < 8`);
  const p = r.sub(len - 4);
  p.skip(4);
  switch (property) {
    case OFPQT.MIN_RATE:
    case OFPQT.MAX_RATE: {
      if (len !== 16) badLen(`queue rate property of length ${len}, expected 16`);
      const rate = p.u16();
      p.skip(6);
      return { type: property === OFPQT.MIN_RATE ? 'minRate' : 'maxRate', rate };
    }
    case OFPQT.EXPERIMENTER: {
      if (len < 16) badLen(`queue experimenter property of length ${len} < 16`);
      const experimenter = p.u32();
      p.skip(4);
      return { type: 'experimenter', experimenter, data: p.rest() };
    }
    default:
      return { type: 'unknown', property, data: p.rest() };
  }
}

function propLength(p: QueueProp): number {
  switch (p.type) {
    case 'minRate':
    case 'maxRate':
      return 16;
    case 'experimenter':
      return 16 + p.data.length;
    default:
      return 8 + p.data.length;
  }
}

function writeProp(w: Writer, p: QueueProp): void {
  const len = propLength(p);
  if (len > 0xffff) badLen('queue property too long');
  switch (p.type) {
    case 'minRate':
    case 'maxRate':
      w.u16(p.type === 'minRate' ? OFPQT.MIN_RATE : OFPQT.MAX_RATE);
      w.u16(len);
      w.zeros(4);
      w.u16(p.rate);
      w.zeros(6);
      return;
    case 'experimenter':
      w.u16(OFPQT.EXPERIMENTER);
      w.u16(len);
      w.zeros(4);
      w.u32(p.experimenter);
      w.zeros(4);
      w.bytes(p.data);
      return;
    default:
      w.u16(p.property);
      w.u16(len);
      w.zeros(4);
      w.bytes(p.data);
  }
}

function readQueue(r: Reader): PacketQueue {
  const queueId = r.u32();
  const port = r.u32();
  const len = r.u16();
  if (len < 16) badLen(`packet queue of length ${len} < 16`);
  const q = r.sub(len - 10);
  q.skip(6);
  const properties: QueueProp[] = [];
  while (q.remaining > 0) properties.push(readProp(q));
  return { queueId, port, properties };
}

function queueLength(q: PacketQueue): number {
  let len = 16;
  for (const p of q.properties) len += propLength(p);
  return len;
}

function writeQueue(w: Writer, q: PacketQueue): void {
  const len = queueLength(q);
  if (len > 0xffff) badLen('packet queue too long');
  w.u32(q.queueId);
  w.u32(q.port);
  w.u16(len);
  w.zeros(6);
  for (const p of q.properties) writeProp(w, p);
}

// ---- Ryu JSON ----

function propToRyu(p: QueueProp): RyuDict {
  const len = propLength(p);
  switch (p.type) {
    case 'minRate':
      return { OFPQueuePropMinRate: { len, property: OFPQT.MIN_RATE, rate: p.rate } };
    case 'maxRate':
      return { OFPQueuePropMaxRate: { len, property: OFPQT.MAX_RATE, rate: p.rate } };
    // Ryu keeps this property's data as a list of byte values.
    case 'experimenter':
      return { OFPQueuePropExperimenter: { len, property: OFPQT.EXPERIMENTER, experimenter: p.experimenter, data: [...p.data] } };
    // Not a Ryu class (Ryu cannot parse unknown properties): our name, so the JSON form stays lossless.
    default:
      return { OFPQueuePropUnknown: { len, property: p.property, data: b64(p.data) } };
  }
}

/** Bytes as Ryu's list of byte values, or base64 text. */
function jByteList(d: RyuDict, key: string): Buffer {
  const v = d[key];
  if (v === undefined || v === null) return Buffer.alloc(0);
  if (typeof v === 'string') return Buffer.from(v, 'base64');
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 255)) {
    bad(`field ${key} is not a list of byte values`);
  }
  return Buffer.from(v as number[]);
}

function propFromRyu(obj: unknown): QueueProp {
  const [name, d] = unwrap(obj);
  switch (name) {
    case 'OFPQueuePropMinRate':
      return { type: 'minRate', rate: jInt(d, 'rate') };
    case 'OFPQueuePropMaxRate':
      return { type: 'maxRate', rate: jInt(d, 'rate') };
    case 'OFPQueuePropExperimenter':
      return { type: 'experimenter', experimenter: jInt(d, 'experimenter'), data: jByteList(d, 'data') };
    case 'OFPQueuePropUnknown':
      return { type: 'unknown', property: jInt(d, 'property'), data: jByteList(d, 'data') };
    default:
      bad(`unknown queue property class ${name}`);
  }
}

const queueToRyu = (q: PacketQueue): RyuDict => ({
  OFPPacketQueue: { queue_id: q.queueId, port: q.port, len: queueLength(q), properties: q.properties.map(propToRyu) },
});

function queueFromRyu(obj: unknown): PacketQueue {
  const [, d] = unwrap(obj, 'OFPPacketQueue');
  return { queueId: jInt(d, 'queue_id'), port: jInt(d, 'port'), properties: jArr(d, 'properties').map(propFromRyu) };
}

// ---- text ----

/** ovs-ofctl: `min_rate:1.0%`, `(disabled)` above 100%, nothing for 0xffff (OFPQ_MIN_RATE_UNCFG). */
function formatRate(name: string, rate: number): string[] {
  if (rate === 0xffff) return [];
  return [rate <= 1000 ? `${name}:${Math.floor(rate / 10)}.${rate % 10}%` : `${name}:(disabled)`];
}

function formatQueue(q: PacketQueue, port: number): string {
  const parts = [`queue ${q.queueId}:`];
  if (q.port !== port) parts.push(`port=${formatPortNo(q.port)}`);
  for (const p of q.properties) {
    switch (p.type) {
      case 'minRate':
        parts.push(...formatRate('min_rate', p.rate));
        break;
      case 'maxRate':
        parts.push(...formatRate('max_rate', p.rate));
        break;
      case 'experimenter':
        parts.push(`experimenter=0x${p.experimenter.toString(16)}(${p.data.length} bytes)`);
        break;
      default:
        parts.push(`property${p.property}(${p.data.length} bytes)`);
    }
  }
  return parts.join(' ');
}

register<QueueGetConfigRequestMsg>({
  type: 'queueGetConfigRequest',
  ofpType: OFPT.QUEUE_GET_CONFIG_REQUEST,
  ryuName: 'OFPQueueGetConfigRequest',
  ofpName: 'OFPT_QUEUE_GET_CONFIG_REQUEST',
  decode: (r, xid) => {
    const port = r.u32();
    r.skip(4);
    return { type: 'queueGetConfigRequest', xid, port };
  },
  encode: (w, m) => {
    w.u32(m.port);
    w.zeros(4);
  },
  toRyu: (m) => ({ port: m.port }),
  fromRyu: (d, xid) => ({ type: 'queueGetConfigRequest', xid, port: jInt(d, 'port') }),
  format: (m) => `port=${formatPortNo(m.port)}`,
});

register<QueueGetConfigReplyMsg>({
  type: 'queueGetConfigReply',
  ofpType: OFPT.QUEUE_GET_CONFIG_REPLY,
  ryuName: 'OFPQueueGetConfigReply',
  ofpName: 'OFPT_QUEUE_GET_CONFIG_REPLY',
  decode: (r, xid) => {
    const port = r.u32();
    r.skip(4);
    const queues: PacketQueue[] = [];
    while (r.remaining > 0) queues.push(readQueue(r));
    return { type: 'queueGetConfigReply', xid, port, queues };
  },
  encode: (w, m) => {
    w.u32(m.port);
    w.zeros(4);
    for (const q of m.queues) writeQueue(w, q);
  },
  toRyu: (m) => ({ port: m.port, queues: m.queues.map(queueToRyu) }),
  fromRyu: (d, xid) => ({ type: 'queueGetConfigReply', xid, port: jInt(d, 'port'), queues: jArr(d, 'queues').map(queueFromRyu) }),
  format: (m) => [`port=${formatPortNo(m.port)}`, ...m.queues.map((q) => formatQueue(q, m.port))].join(' '),
});
