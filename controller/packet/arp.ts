/**
 * ARP for IPv4 over Ethernet (RFC 826). Other hardware/protocol pairs are
 * refused: a controller for Ethernet switches has no use for them, and a
 * typed error is more honest than half-decoded addresses.
 */
import { ipv4ToString, macToString, writeIpv4, writeMac } from './addr.js';
import { checkUint, get16, put16 } from './bytes.js';
import { ETHERTYPE } from './ethernet.js';
import { PacketError, needBytes } from './errors.js';

export const ARP_OP = { REQUEST: 1, REPLY: 2 } as const;
/** ar$hrd value for Ethernet (RFC 826; IANA "Hardware Types"). */
export const ARP_HTYPE_ETHERNET = 1;
/** 8 fixed bytes + 2 * (6-byte MAC + 4-byte IPv4). */
export const ARP_LENGTH = 28;

export interface Arp {
  hardwareType: number;
  protocolType: number;
  opcode: number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

export interface ArpSpec {
  opcode: number;
  senderMac: string;
  senderIp: string;
  /** Default 00:00:00:00:00:00 (unknown, as in a request). */
  targetMac?: string;
  targetIp: string;
}

export function parseArp(b: Uint8Array): Arp {
  needBytes(b.length, 8, 'arp', 'fixed header');
  const hardwareType = get16(b, 0);
  const protocolType = get16(b, 2);
  if (hardwareType !== ARP_HTYPE_ETHERNET || protocolType !== ETHERTYPE.IPV4 || b[4] !== 6 || b[5] !== 4) {
    throw new PacketError('BAD_VALUE', 'arp', `unsupported ARP hrd=${hardwareType} pro=0x${protocolType.toString(16)} hln=${b[4]} pln=${b[5]}`);
  }
  needBytes(b.length, ARP_LENGTH, 'arp', 'Ethernet/IPv4 body');
  return {
    hardwareType,
    protocolType,
    opcode: get16(b, 6),
    senderMac: macToString(b, 8),
    senderIp: ipv4ToString(b, 14),
    targetMac: macToString(b, 18),
    targetIp: ipv4ToString(b, 24),
  };
}

export function writeArp(out: Uint8Array, off: number, spec: ArpSpec): number {
  put16(out, off, ARP_HTYPE_ETHERNET);
  put16(out, off + 2, ETHERTYPE.IPV4);
  out[off + 4] = 6;
  out[off + 5] = 4;
  put16(out, off + 6, checkUint(spec.opcode, 0xffff, 'arp', 'opcode'));
  writeMac(out, off + 8, spec.senderMac);
  writeIpv4(out, off + 14, spec.senderIp);
  writeMac(out, off + 18, spec.targetMac ?? '00:00:00:00:00:00');
  writeIpv4(out, off + 24, spec.targetIp);
  return off + ARP_LENGTH;
}
