// Helpers shared by the multipart families (OF1.3.5 §7.3.5): bounded reads of the variable-size entries that
// make up reply bodies, unwrapping Ryu's `{ "OFPXxxStats": {...} }` body entries, and the bits of text that
// ovs-ofctl prints the same way in several replies (durations, reserved port/group/meter numbers).
import { Reader } from '../buffer.js';
import { OfpError, OFPET, OFPBRC } from '../errors.js';
import { OFPP, OFPG, OFPM } from '../constants.js';
import { RyuDict, bad, jArr, jInt, jObj, unwrap } from '../ryu-json.js';

/**
 * A reader confined to one variable-size entry whose u16 length sits `lenAt` bytes into it. The length is
 * checked (at least `min`, at most what is left) before it is used, so a lying length can neither loop nor read
 * into the next entry.
 */
export function entry(
  r: Reader,
  lenAt: number,
  min: number,
  what: string,
  errType: number = OFPET.BAD_REQUEST,
  errCode: number = OFPBRC.BAD_LEN,
): Reader {
  if (r.pos + lenAt + 2 > r.end) {
    throw new OfpError(errType, errCode, `truncated ${what}: ${r.end - r.pos} bytes left`);
  }
  const p = r.pos + lenAt;
  const len = (r.buf[p]! << 8) | r.buf[p + 1]!;
  if (len < min) throw new OfpError(errType, errCode, `${what} length ${len} is below its minimum ${min}`);
  if (len > r.end - r.pos) {
    throw new OfpError(errType, errCode, `truncated ${what}: length ${len}, ${r.end - r.pos} bytes left`);
  }
  return r.sub(len, errType, errCode);
}

/** Throws the entry's BAD_LEN unless the reader is exactly at its end (a fixed-size entry with a longer length). */
export function done(r: Reader, what: string): void {
  if (r.pos !== r.end) throw new OfpError(r.errType, r.errCode, `${r.end - r.pos} stray bytes in ${what}`);
}

/** jInt with the field's wire width checked, so an out-of-range value is an error rather than silently cut. */
export function jU8(d: RyuDict, key: string, def?: number): number {
  const v = jInt(d, key, def);
  if (v > 0xff) bad(`field ${key} does not fit in 8 bits: ${v}`);
  return v;
}

export function jU16(d: RyuDict, key: string, def?: number): number {
  const v = jInt(d, key, def);
  if (v > 0xffff) bad(`field ${key} does not fit in 16 bits: ${v}`);
  return v;
}

export function jU32(d: RyuDict, key: string, def?: number): number {
  const v = jInt(d, key, def);
  if (v > 0xffffffff) bad(`field ${key} does not fit in 32 bits: ${v}`);
  return v;
}

/** The entries of Ryu's list-valued `body`, each unwrapped from its class name. */
export function bodyList(d: RyuDict, cls: string): RyuDict[] {
  return jArr(d, 'body').map((o) => unwrap(o, cls)[1]);
}

/** Ryu's single-struct `body` (desc, aggregate, group features, experimenter replies). */
export function bodyOne(d: RyuDict, cls: string): RyuDict {
  return unwrap(jObj(d, 'body'), cls)[1];
}

/** A duration as ovs-ofctl prints it: `358.115277s`. */
export function durationText(sec: number, nsec: number): string {
  // ovs-ofctl: seconds, then the nanoseconds as 9 digits with trailing zeros dropped.
  if (nsec === 0) return `${sec}s`;
  return `${sec}.${String(nsec).padStart(9, '0').replace(/0+$/, '')}s`;
}

const PORT_NAMES: Record<number, string> = {
  [OFPP.IN_PORT]: 'IN_PORT',
  [OFPP.TABLE]: 'TABLE',
  [OFPP.NORMAL]: 'NORMAL',
  [OFPP.FLOOD]: 'FLOOD',
  [OFPP.ALL]: 'ALL',
  [OFPP.CONTROLLER]: 'CONTROLLER',
  [OFPP.LOCAL]: 'LOCAL',
  [OFPP.ANY]: 'ANY',
};

/** A port number as ovs-ofctl prints it: reserved ports by name. */
export function portText(p: number): string {
  return PORT_NAMES[p] ?? String(p);
}

export function groupText(g: number): string {
  return g === OFPG.ALL ? 'ALL' : g === OFPG.ANY ? 'ANY' : String(g);
}

export function meterText(m: number): string {
  return m === OFPM.ALL ? 'all' : m === OFPM.CONTROLLER ? 'controller' : m === OFPM.SLOWPATH ? 'slowpath' : String(m);
}

export function tableText(t: number): string {
  return t === 0xff ? 'all' : String(t);
}

/** ovs-ofctl's names for OpenFlow 1.3 action types (group features, table features). */
const ACTION_NAMES: Record<number, string> = {
  0: 'output',
  11: 'copy_ttl_out',
  12: 'copy_ttl_in',
  15: 'set_mpls_ttl',
  16: 'dec_mpls_ttl',
  17: 'push_vlan',
  18: 'strip_vlan',
  19: 'push_mpls',
  20: 'pop_mpls',
  21: 'set_queue',
  22: 'group',
  23: 'mod_nw_ttl',
  24: 'dec_ttl',
  25: 'set_field',
  26: 'push_pbb',
  27: 'pop_pbb',
  0xffff: 'experimenter',
};

export function actionTypeText(t: number): string {
  return ACTION_NAMES[t] ?? `action_0x${t.toString(16)}`;
}

/** The action types whose bits are set in a 32-bit bitmap (bit n = action type n). */
export function actionBitsText(bits: number): string {
  const names: string[] = [];
  for (let i = 0; i < 32; i++) if (bits & (1 << i)) names.push(actionTypeText(i));
  return names.join(' ');
}

/** `3 flows: a; b; c` (or `0 flows`), the one-line summary of a list-valued reply. */
export function counted(items: string[], noun: string): string {
  return `${items.length} ${noun}${items.length ? `: ${items.join('; ')}` : ''}`;
}
