/**
 * IEEE 802.1Q VLAN tags, including stacked (QinQ) tags.
 *
 * A tag is a TPID (0x8100 C-tag, 0x88a8 S-tag, or legacy 0x9100) sitting where
 * the EtherType would be, followed by a 16-bit TCI: PCP (3 bits), DEI (1 bit),
 * VID (12 bits) (IEEE 802.1Q-2018 §9.6). Tags nest outermost first.
 */
import { checkUint, get16, put16 } from './bytes.js';
import { ETHERTYPE } from './ethernet.js';
import { PacketError, needBytes } from './errors.js';

export interface VlanTag {
  tpid: number;
  /** Priority code point (0..7). */
  pcp: number;
  /** Drop eligible indicator (formerly CFI). */
  dei: boolean;
  /** VLAN id 0..4095 (0 = priority tag only, 4095 reserved). */
  vid: number;
}

export interface VlanSpec {
  vid: number;
  pcp?: number;
  dei?: boolean;
  /** Default: 0x8100 for the innermost tag, 0x88a8 for any outer tag (802.1Q S-tag). */
  tpid?: number;
}

/** Frames with more tags than this are refused rather than walked (real networks use 1-2). */
export const MAX_VLAN_TAGS = 8;

export function isVlanTpid(type: number): boolean {
  return type === ETHERTYPE.VLAN || type === ETHERTYPE.QINQ || type === ETHERTYPE.QINQ_LEGACY;
}

export interface VlanParse {
  tags: VlanTag[];
  /** The EtherType after the innermost tag. */
  etherType: number;
  /** Offset of the first byte after the innermost tag's EtherType. */
  offset: number;
}

/**
 * Walks tags starting at `off`, where `b[off-2..off)` held the TPID `type`.
 * Every tag consumes 4 bytes, so the loop is bounded by the buffer; the
 * explicit MAX_VLAN_TAGS cap keeps hostile frames from costing much either.
 */
export function parseVlanTags(b: Uint8Array, off: number, type: number): VlanParse {
  const tags: VlanTag[] = [];
  while (isVlanTpid(type)) {
    if (tags.length === MAX_VLAN_TAGS) {
      throw new PacketError('TOO_MANY_HEADERS', 'vlan', `more than ${MAX_VLAN_TAGS} VLAN tags`);
    }
    needBytes(b.length - off, 4, 'vlan', 'tag');
    const tci = get16(b, off);
    tags.push({ tpid: type, pcp: tci >>> 13, dei: (tci & 0x1000) !== 0, vid: tci & 0x0fff });
    type = get16(b, off + 2);
    off += 4;
  }
  return { tags, etherType: type, offset: off };
}

/** Writes tag i's TPID and TCI (4 bytes); the next type field follows. */
export function writeVlanTag(out: Uint8Array, off: number, tag: VlanSpec, innermost: boolean): number {
  const tpid = tag.tpid ?? (innermost ? ETHERTYPE.VLAN : ETHERTYPE.QINQ);
  checkUint(tag.vid, 0x0fff, 'vlan', 'vid');
  const pcp = checkUint(tag.pcp ?? 0, 7, 'vlan', 'pcp');
  put16(out, off, tpid);
  put16(out, off + 2, (pcp << 13) | (tag.dei ? 0x1000 : 0) | tag.vid);
  return off + 4;
}
