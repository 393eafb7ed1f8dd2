// ofp_port (OF1.3.5 §7.2.1): the description of one switch port, carried by OFPT_PORT_STATUS and by the
// OFPMP_PORT_DESC multipart reply. Also the text forms ovs-ofctl uses for port numbers and port bitmaps.
//
//   struct ofp_port {
//     uint32_t port_no; uint8_t pad[4]; uint8_t hw_addr[6]; uint8_t pad2[2]; char name[16];
//     uint32_t config; uint32_t state; uint32_t curr; uint32_t advertised; uint32_t supported; uint32_t peer;
//     uint32_t curr_speed; uint32_t max_speed;
//   };                                                                                        // 64 bytes
import { Reader, Writer } from './buffer.js';
import { OFPP } from './constants.js';
import { macToString, macToBytes } from './addr.js';
import { RyuDict, unwrap, jInt, jStr } from './ryu-json.js';

export const OFP_PORT_LEN = 64;
const OFP_MAX_PORT_NAME_LEN = 16;

export interface Port {
  portNo: number;
  /** "aa:bb:cc:dd:ee:ff" */
  hwAddr: string;
  /** The NUL-terminated name, decoded as UTF-8 as Ryu does (latin1 if the bytes are not valid UTF-8). */
  name: string;
  /** OFPPC_* bits. */
  config: number;
  /** OFPPS_* bits. */
  state: number;
  /** OFPPF_* bits: current, advertised, supported and peer-advertised features. */
  curr: number;
  advertised: number;
  supported: number;
  peer: number;
  /** kbps */
  currSpeed: number;
  maxSpeed: number;
}

/** Decodes the name field: UTF-8 when it round-trips exactly, latin1 (one char per byte) otherwise. */
function readName(r: Reader): string {
  const b = r.bytes(OFP_MAX_PORT_NAME_LEN);
  let len = b.indexOf(0);
  // The name is NUL-terminated within its 16 bytes; a switch that fills all 16 gets its first 15 read.
  if (len < 0) len = OFP_MAX_PORT_NAME_LEN - 1;
  for (let i = 0; i < len; i++) {
    if (b[i]! >= 0x80) {
      const s = b.toString('utf8', 0, len);
      return Buffer.from(s, 'utf8').equals(b.subarray(0, len)) ? s : b.toString('latin1', 0, len);
    }
  }
  return b.toString('latin1', 0, len);
}

/**
 * Encodes the name as UTF-8, or as latin1 when only that fits (a name read from bytes that were not UTF-8),
 * else UTF-8 cut at a character boundary to leave room for the terminating NUL.
 */
function writeName(w: Writer, name: string): void {
  let b = Buffer.from(name, 'utf8');
  // eslint-disable-next-line no-control-regex -- the range is every Latin-1 code point, NUL included
  if (b.length > OFP_MAX_PORT_NAME_LEN - 1 && name.length <= OFP_MAX_PORT_NAME_LEN - 1 && /^[\u0000-\u00ff]*$/.test(name)) {
    b = Buffer.from(name, 'latin1');
  }
  if (b.length > OFP_MAX_PORT_NAME_LEN - 1) {
    let n = OFP_MAX_PORT_NAME_LEN - 1;
    while (n > 0 && (b[n]! & 0xc0) === 0x80) n--; // do not split a multi-byte character
    b = b.subarray(0, n);
  }
  w.bytes(b);
  w.zeros(OFP_MAX_PORT_NAME_LEN - b.length);
}

export function readPort(r: Reader): Port {
  r.need(OFP_PORT_LEN, 'ofp_port');
  const portNo = r.u32();
  r.skip(4);
  const hwAddr = macToString(r.buf, r.pos);
  r.skip(8);
  const name = readName(r);
  return {
    portNo,
    hwAddr,
    name,
    config: r.u32(),
    state: r.u32(),
    curr: r.u32(),
    advertised: r.u32(),
    supported: r.u32(),
    peer: r.u32(),
    currSpeed: r.u32(),
    maxSpeed: r.u32(),
  };
}

export function writePort(w: Writer, p: Port): void {
  w.u32(p.portNo);
  w.zeros(4);
  w.bytes(macToBytes(p.hwAddr));
  w.zeros(2);
  writeName(w, p.name);
  w.u32(p.config);
  w.u32(p.state);
  w.u32(p.curr);
  w.u32(p.advertised);
  w.u32(p.supported);
  w.u32(p.peer);
  w.u32(p.currSpeed);
  w.u32(p.maxSpeed);
}

/** Ryu's OFPPort (a namedtuple: every field, no length). */
export function portToRyu(p: Port): RyuDict {
  return {
    OFPPort: {
      port_no: p.portNo,
      hw_addr: p.hwAddr,
      name: p.name,
      config: p.config,
      state: p.state,
      curr: p.curr,
      advertised: p.advertised,
      supported: p.supported,
      peer: p.peer,
      curr_speed: p.currSpeed,
      max_speed: p.maxSpeed,
    },
  };
}

export function portFromRyu(obj: unknown): Port {
  const [, d] = unwrap(obj, 'OFPPort');
  return {
    portNo: jInt(d, 'port_no'),
    hwAddr: jStr(d, 'hw_addr', '00:00:00:00:00:00'),
    name: jStr(d, 'name'),
    config: jInt(d, 'config', 0),
    state: jInt(d, 'state', 0),
    curr: jInt(d, 'curr', 0),
    advertised: jInt(d, 'advertised', 0),
    supported: jInt(d, 'supported', 0),
    peer: jInt(d, 'peer', 0),
    currSpeed: jInt(d, 'curr_speed', 0),
    maxSpeed: jInt(d, 'max_speed', 0),
  };
}

// ---- text, as ovs-ofctl prints it ----

const RESERVED_PORTS: Record<number, string> = {
  [OFPP.IN_PORT]: 'IN_PORT',
  [OFPP.TABLE]: 'TABLE',
  [OFPP.NORMAL]: 'NORMAL',
  [OFPP.FLOOD]: 'FLOOD',
  [OFPP.ALL]: 'ALL',
  [OFPP.CONTROLLER]: 'CONTROLLER',
  [OFPP.LOCAL]: 'LOCAL',
  [OFPP.ANY]: 'ANY',
};

/** A port number, reserved ones by name: `7`, `LOCAL`, `ANY`. */
export function formatPortNo(n: number): string {
  return RESERVED_PORTS[n] ?? String(n);
}

/** Names of set bits, lowest first, unknown bits as hex; `zero` when none is set. */
export function bitNames(v: number, names: readonly (string | undefined)[], zero = '0'): string {
  const out: string[] = [];
  let unknown = 0;
  for (let i = 0; i < 32; i++) {
    const bit = 2 ** i;
    if (Math.floor(v / bit) % 2 === 0) continue;
    const name = names[i];
    if (name) out.push(name);
    else unknown += bit;
  }
  if (unknown) out.push(`0x${unknown.toString(16)}`);
  return out.length ? out.join(' ') : zero;
}

/** OFPPC_* bit names (bits 1 and 3 are OpenFlow 1.0's NO_STP and NO_FLOOD, unused in 1.3). */
export const PORT_CONFIG_NAMES = ['PORT_DOWN', undefined, 'NO_RECV', undefined, undefined, 'NO_FWD', 'NO_PACKET_IN'];
/** OFPPS_* bit names. */
export const PORT_STATE_NAMES = ['LINK_DOWN', 'BLOCKED', 'LIVE'];
/** OFPPF_* bit names, spelled as ovs-ofctl does. */
export const PORT_FEATURE_NAMES = [
  '10MB-HD',
  '10MB-FD',
  '100MB-HD',
  '100MB-FD',
  '1GB-HD',
  '1GB-FD',
  '10GB-FD',
  '40GB-FD',
  '100GB-FD',
  '1TB-FD',
  'OTHER',
  'COPPER',
  'FIBER',
  'AUTO_NEG',
  'AUTO_PAUSE',
  'AUTO_PAUSE_ASYM',
];

/** One line with what `ovs-ofctl` prints over several for a port: `7(eth0): addr:... config: 0 state: LIVE ...`. */
export function formatPort(p: Port): string {
  const parts = [
    `${formatPortNo(p.portNo)}(${p.name}): addr:${p.hwAddr}`,
    `config: ${bitNames(p.config, PORT_CONFIG_NAMES)}`,
    `state: ${bitNames(p.state, PORT_STATE_NAMES)}`,
  ];
  if (p.curr) parts.push(`current: ${bitNames(p.curr, PORT_FEATURE_NAMES)}`);
  if (p.advertised) parts.push(`advertised: ${bitNames(p.advertised, PORT_FEATURE_NAMES)}`);
  if (p.supported) parts.push(`supported: ${bitNames(p.supported, PORT_FEATURE_NAMES)}`);
  if (p.peer) parts.push(`peer: ${bitNames(p.peer, PORT_FEATURE_NAMES)}`);
  parts.push(`speed: ${Math.floor(p.currSpeed / 1000)} Mbps now, ${Math.floor(p.maxSpeed / 1000)} Mbps max`);
  return parts.join(' ');
}
