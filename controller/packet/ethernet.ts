/**
 * Ethernet II header (IEEE 802.3 clause 3 / DIX): destination, source, and a
 * 16-bit type. Values >= 0x0600 are EtherTypes; values <= 1500 are an 802.3
 * length followed by LLC, which we do not decode further.
 */
import { macToString, writeMac } from './addr.js';
import { get16, put16 } from './bytes.js';
import { needBytes } from './errors.js';

export const ETHERTYPE = {
  IPV4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100, // IEEE 802.1Q C-tag
  QINQ: 0x88a8, // IEEE 802.1Q (ex 802.1ad) S-tag
  QINQ_LEGACY: 0x9100, // pre-standard QinQ, still emitted by some switches
  IPV6: 0x86dd,
  LLDP: 0x88cc,
} as const;

/** Smallest value that is an EtherType rather than an 802.3 length (IEEE 802.3 §3.2.6). */
export const MIN_ETHERTYPE = 0x0600;
export const ETHERNET_HEADER_LENGTH = 14;
/** 64-byte minimum frame less the 4-byte FCS the NIC appends. */
export const MIN_FRAME_LENGTH = 60;

export interface EthernetHeader {
  dst: string;
  src: string;
  /**
   * The type of what follows the header *and any VLAN tags* (in `Packet`);
   * the outer TPID of a tagged frame is in `vlans[0].tpid`.
   */
  etherType: number;
}

/** Parses the 14-byte header; `etherType` is the raw type/TPID field at byte 12. */
export function parseEthernet(b: Uint8Array): EthernetHeader {
  needBytes(b.length, ETHERNET_HEADER_LENGTH, 'ethernet');
  return { dst: macToString(b, 0), src: macToString(b, 6), etherType: get16(b, 12) };
}

/** Writes destination and source (12 bytes); the type field(s) follow separately. */
export function writeEthernetAddrs(out: Uint8Array, off: number, dst: string, src: string): number {
  writeMac(out, off, dst);
  writeMac(out, off + 6, src);
  return off + 12;
}

export function writeEtherType(out: Uint8Array, off: number, type: number): number {
  put16(out, off, type);
  return off + 2;
}
