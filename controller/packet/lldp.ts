/**
 * LLDP (IEEE 802.1AB-2016 §8): an LLDPDU is a sequence of TLVs with a 7-bit
 * type and 9-bit length (§8.4). Chassis ID, Port ID and Time To Live are
 * mandatory and come first, in that order (§8.2); End Of LLDPDU (type 0,
 * length 0) is optional since the 2016 revision, so a PDU may also just end.
 */
import { ipv4ToString, ipv6ToString, macToBytes, macToString, ipv4ToBytes, ipv6ToBytes } from './addr.js';
import { EMPTY, checkUint, decodeUtf8, encodeUtf8, get16, get8, put16 } from './bytes.js';
import { PacketError, needBytes } from './errors.js';

/** Nearest-bridge group address: not forwarded by 802.1D/Q bridges (802.1AB §7.1). */
export const LLDP_MULTICAST = '01:80:c2:00:00:0e';

export const LLDP_TLV = {
  END: 0,
  CHASSIS_ID: 1,
  PORT_ID: 2,
  TTL: 3,
  PORT_DESCRIPTION: 4,
  SYSTEM_NAME: 5,
  SYSTEM_DESCRIPTION: 6,
  SYSTEM_CAPABILITIES: 7,
  MANAGEMENT_ADDRESS: 8,
  ORG_SPECIFIC: 127,
} as const;

/** Chassis ID subtypes (802.1AB §8.5.2.2, Table 8-2). */
export const CHASSIS_ID_SUBTYPE = { COMPONENT: 1, INTERFACE_ALIAS: 2, PORT_COMPONENT: 3, MAC: 4, NETWORK: 5, INTERFACE_NAME: 6, LOCAL: 7 } as const;
/** Port ID subtypes (802.1AB §8.5.3.2, Table 8-3). */
export const PORT_ID_SUBTYPE = {
  INTERFACE_ALIAS: 1,
  PORT_COMPONENT: 2,
  MAC: 3,
  NETWORK: 4,
  INTERFACE_NAME: 5,
  AGENT_CIRCUIT_ID: 6,
  LOCAL: 7,
} as const;

export interface LldpId {
  subtype: number;
  /** Raw id bytes (view). */
  id: Uint8Array;
  /** MAC text for the MAC subtype, address text for network addresses (IANA family 1/2), else UTF-8. */
  text: string;
}

export interface LldpTlv {
  type: number;
  value: Uint8Array;
}

export interface Lldp {
  chassisId: LldpId;
  portId: LldpId;
  /** Seconds; 0 tells the receiver to forget this agent. */
  ttl: number;
  portDescription?: string;
  systemName?: string;
  systemDescription?: string;
  /** Every other TLV (capabilities, management address, org-specific...), in order; values are views. */
  tlvs: LldpTlv[];
  hasEnd: boolean;
  /** Bytes consumed, End TLV included. */
  length: number;
}

export interface LldpIdSpec {
  subtype: number;
  /** Bytes, or text encoded per subtype as described for LldpId.text. */
  id: string | Uint8Array;
}

export interface LldpSpec {
  chassisId: LldpIdSpec;
  portId: LldpIdSpec;
  ttl: number;
  portDescription?: string;
  systemName?: string;
  systemDescription?: string;
  tlvs?: LldpTlv[];
  /** Append End Of LLDPDU (default true). */
  end?: boolean;
}

const STRING_TLV = new Map<number, 'portDescription' | 'systemName' | 'systemDescription'>([
  [4, 'portDescription'],
  [5, 'systemName'],
  [6, 'systemDescription'],
]);

export function parseLldp(b: Uint8Array): Lldp {
  let chassisId: LldpId | undefined;
  let portId: LldpId | undefined;
  let ttl = -1;
  const strings: Partial<Record<'portDescription' | 'systemName' | 'systemDescription', string>> = {};
  const tlvs: LldpTlv[] = [];
  let hasEnd = false;
  let off = 0;
  for (let index = 0; off < b.length; index++) {
    needBytes(b.length - off, 2, 'lldp', 'TLV header');
    const head = get16(b, off);
    const type = head >>> 9;
    const len = head & 0x1ff;
    needBytes(b.length - off - 2, len, 'lldp', `TLV ${type} value`);
    const v = b.subarray(off + 2, off + 2 + len);
    off += 2 + len;
    // §8.2: the three mandatory TLVs are first, in order, and not repeated
    const expected = index < 3 ? index + 1 : -1;
    if ((expected > 0 && type !== expected) || (expected < 0 && type >= 1 && type <= 3)) {
      throw new PacketError('BAD_VALUE', 'lldp', `TLV ${type} at position ${index}`);
    }
    if (type === LLDP_TLV.END) {
      if (len !== 0) throw new PacketError('BAD_LENGTH', 'lldp', `End TLV length ${len}`);
      hasEnd = true;
      break;
    }
    const stringField = STRING_TLV.get(type);
    if (type === LLDP_TLV.CHASSIS_ID || type === LLDP_TLV.PORT_ID) {
      // §8.5.2/§8.5.3: subtype octet plus 1..255 octets of id
      if (len < 2 || len > 256) throw new PacketError('BAD_LENGTH', 'lldp', `ID TLV ${type} length ${len}`);
      const id = readId(v, type === LLDP_TLV.CHASSIS_ID);
      if (type === LLDP_TLV.CHASSIS_ID) chassisId = id;
      else portId = id;
    } else if (type === LLDP_TLV.TTL) {
      if (len < 2) throw new PacketError('BAD_LENGTH', 'lldp', `TTL TLV length ${len}`);
      ttl = get16(v, 0);
    } else if (stringField !== undefined) {
      strings[stringField] = decodeUtf8(v);
    } else {
      tlvs.push({ type, value: v });
    }
  }
  if (chassisId === undefined || portId === undefined || ttl < 0) {
    throw new PacketError('TRUNCATED', 'lldp', 'LLDPDU ends before the mandatory TLVs');
  }
  return { chassisId, portId, ttl, ...strings, tlvs, hasEnd, length: off };
}

function isMacSubtype(subtype: number, chassis: boolean): boolean {
  return subtype === (chassis ? CHASSIS_ID_SUBTYPE.MAC : PORT_ID_SUBTYPE.MAC);
}
function isNetworkSubtype(subtype: number, chassis: boolean): boolean {
  return subtype === (chassis ? CHASSIS_ID_SUBTYPE.NETWORK : PORT_ID_SUBTYPE.NETWORK);
}

function readId(v: Uint8Array, chassis: boolean): LldpId {
  const subtype = get8(v, 0);
  const id = v.subarray(1);
  let text: string;
  if (isMacSubtype(subtype, chassis) && id.length === 6) text = macToString(id);
  else if (isNetworkSubtype(subtype, chassis) && id[0] === 1 && id.length === 5) text = ipv4ToString(id, 1);
  else if (isNetworkSubtype(subtype, chassis) && id[0] === 2 && id.length === 17) text = ipv6ToString(id, 1);
  else text = decodeUtf8(id);
  return { subtype, id, text };
}

function encodeId(spec: LldpIdSpec, chassis: boolean): Uint8Array {
  const subtype = checkUint(spec.subtype, 255, 'lldp', 'ID subtype');
  let id: Uint8Array;
  if (typeof spec.id !== 'string') id = spec.id;
  else if (isMacSubtype(subtype, chassis)) id = macToBytes(spec.id);
  else if (isNetworkSubtype(subtype, chassis)) {
    // IANA address family numbers: 1 = IPv4, 2 = IPv6
    const v6 = spec.id.includes(':');
    const addr = v6 ? ipv6ToBytes(spec.id) : ipv4ToBytes(spec.id);
    id = new Uint8Array(1 + addr.length);
    id[0] = v6 ? 2 : 1;
    id.set(addr, 1);
  } else id = encodeUtf8(spec.id);
  if (id.length < 1 || id.length > 255) throw new PacketError('BAD_LENGTH', 'lldp', `ID of ${id.length} bytes (1..255)`);
  const v = new Uint8Array(1 + id.length);
  v[0] = subtype;
  v.set(id, 1);
  return v;
}

/** Encodes an LLDPDU (the Ethernet payload). */
export function encodeLldp(spec: LldpSpec): Uint8Array {
  const parts: LldpTlv[] = [
    { type: LLDP_TLV.CHASSIS_ID, value: encodeId(spec.chassisId, true) },
    { type: LLDP_TLV.PORT_ID, value: encodeId(spec.portId, false) },
    { type: LLDP_TLV.TTL, value: new Uint8Array([spec.ttl >>> 8, spec.ttl & 0xff]) },
  ];
  checkUint(spec.ttl, 0xffff, 'lldp', 'ttl');
  for (const [t, field] of STRING_TLV) {
    const s = spec[field];
    if (s === undefined) continue;
    const value = encodeUtf8(s);
    if (value.length > 255) throw new PacketError('BAD_LENGTH', 'lldp', `${field} longer than 255 bytes`);
    parts.push({ type: t, value });
  }
  for (const t of spec.tlvs ?? []) {
    if (t.type <= 3) throw new PacketError('BAD_VALUE', 'lldp', `TLV type ${t.type} is set by its own field`);
    checkUint(t.type, 127, 'lldp', 'TLV type');
    parts.push(t);
  }
  if (spec.end ?? true) parts.push({ type: LLDP_TLV.END, value: EMPTY });
  let n = 0;
  for (const p of parts) n += 2 + checkUint(p.value.length, 511, 'lldp', 'TLV length');
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    put16(out, off, (p.type << 9) | p.value.length);
    out.set(p.value, off + 2);
    off += 2 + p.value.length;
  }
  return out;
}
