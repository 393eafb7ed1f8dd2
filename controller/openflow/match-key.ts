// Canonical keys of matches and flow entries: equal for two matches that select the same packets, so that a
// controller can compare the flows it wants with the flows a switch reports. Computed with one encoding pass, no
// intermediate buffers and one string allocation (the TLVs are encoded into a shared writer and canonicalised in
// place, then spelt in hex into a shared character buffer): every desired flow and every flow a switch reports is
// keyed, so this is on the path of every apply and reconcile.
import { Writer } from './buffer.js';
import { OFPXMC } from './constants.js';
import { writeOxm } from './oxm.js';
import type { Match } from './match.js';

/**
 * A key that is equal for two matches that select the same packets, whatever their field order or their spelling
 * of masks: each TLV encoded and canonicalised (canonicaliseTlv), the TLVs in byte order, spelt in hex and joined
 * by dots. Switches return matches normalised this way (OVS reorders fields), so
 * comparing a desired flow with what a switch holds needs it.
 */
export function canonicalMatchKey(match: Match): string {
  const end = writeTlvChars(0, canonicalTlvs(match)); // first: it may replace keyChars with a larger buffer
  return keyChars.toString('latin1', 0, end);
}

/**
 * A flow entry's identity (OF1.3.5 §6.4: table, priority and match) as one short string, equal for two entries a
 * switch would hold as one: the table id and the priority as 1 and 2 char codes, then the canonical TLVs (as in
 * canonicalMatchKey) in byte order, one char code per byte. TLVs carry their own lengths, so the key is
 * unambiguous without separators; binary rather than hex because every desired flow is held by its key (half
 * the bytes). flowKeyText spells one for people.
 */
export function canonicalFlowKey(tableId: number, priority: number, match: Match): string {
  if (!(tableId >= 0 && tableId <= 0xff && priority >= 0 && priority <= 0xffff))
    throw new RangeError(`no flow key for table ${tableId}, priority ${priority}`);
  const n = canonicalTlvs(match);
  const p = writeTlvBytes(3, n); // (may replace keyChars with a larger buffer: write the head after)
  keyChars[0] = tableId;
  keyChars[1] = priority >>> 8;
  keyChars[2] = priority & 0xff;
  return keyChars.toString('latin1', 0, p);
}

/** A canonicalFlowKey as `table/priority/` and its TLVs in hex, separated by dots (canonicalMatchKey's spelling). */
export function flowKeyText(key: string): string {
  const b = Buffer.from(key, 'latin1');
  const tlvs: string[] = [];
  for (let s = 3; s + 4 <= b.length;) {
    const end = Math.min(b.length, s + 4 + b[s + 3]!);
    tlvs.push(b.toString('hex', s, end));
    s = end;
  }
  return `${b[0]}/${b.length >= 3 ? b.readUInt16BE(1) : ''}/${tlvs.join('.')}`;
}

/**
 * Canonicalises the OXM TLV at b[s..end) in place: value bits outside its mask cleared (OF1.3.5 §7.2.3.5 makes
 * them an error, OFPBMC_BAD_WILDCARDS), an all-ones mask dropped (OVS reports such a field unmasked). Returns the
 * TLV's new end, or `s` for an all-zero mask: the field matches anything, and OVS drops it.
 */
export function canonicaliseTlv(b: Buffer, s: number, end: number): number {
  if (!(b[s + 2]! & 1)) return end;
  const head = ((b[s]! << 8) | b[s + 1]!) === OFPXMC.EXPERIMENTER ? 8 : 4;
  const half = (end - s - head) / 2;
  const v = s + head;
  let ones = true;
  let zero = true;
  for (let k = 0; k < half; k++) {
    const m = b[v + half + k]!;
    b[v + k]! &= m;
    if (m !== 0xff) ones = false;
    if (m !== 0) zero = false;
  }
  if (zero) return s;
  if (!ones) return end;
  b[s + 2] = b[s + 2]! & 0xfe;
  b[s + 3] = b[s + 3]! - half;
  return v + half;
}

const matchWriter = new Writer(1024);
/** Where each canonical TLV starts in matchWriter (and, at [n], where the last ends). */
let fieldAt = new Int32Array(64);
/** The order to spell the TLVs in (indexes into fieldAt). */
let order = new Int32Array(64);
let keyChars = Buffer.allocUnsafe(1024);
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
const DOT = 0x2e;

/**
 * Encodes each TLV of `match` into matchWriter, canonically (canonicaliseTlv), and puts them in byte order in
 * `order` (byte order is the order of their hex strings, which the key is spelt in; a match a switch reports is
 * often in it already). Returns the number of TLVs kept.
 */
function canonicalTlvs(match: Match): number {
  if (match.length + 1 > fieldAt.length) {
    fieldAt = new Int32Array(2 * (match.length + 1));
    order = new Int32Array(2 * (match.length + 1));
  }
  const w = matchWriter.reset();
  let sorted = true;
  let n = 0;
  for (let i = 0; i < match.length; i++) {
    const s = w.pos;
    writeOxm(w, match[i]!);
    w.pos = canonicaliseTlv(w.buf, s, w.pos);
    if (w.pos === s) continue;
    fieldAt[n] = s;
    order[n] = n;
    if (n > 0 && sorted && tlvAfter(w.buf, n - 1, s, w.pos)) sorted = false;
    n++;
  }
  fieldAt[n] = w.pos;
  if (!sorted) {
    const b = w.buf;
    const idx = Array.from(order.subarray(0, n)).sort((x, y) => compareTlvs(b, x, y));
    order.set(idx);
  }
  return n;
}

/** Whether TLV i (fieldAt[i]..its end) sorts after the bytes b[c..cEnd). */
function tlvAfter(b: Buffer, i: number, c: number, cEnd: number): boolean {
  const a = fieldAt[i]!;
  const aEnd = c; // TLV i ends where the next one starts
  const len = Math.min(aEnd - a, cEnd - c);
  for (let k = 0; k < len; k++) {
    const x = b[a + k]!;
    const y = b[c + k]!;
    if (x !== y) return x > y;
  }
  return aEnd - a > cEnd - c;
}

/** Bytewise comparison of TLVs x and y (a prefix first). */
function compareTlvs(b: Buffer, x: number, y: number): number {
  const a = fieldAt[x]!;
  const aLen = fieldAt[x + 1]! - a;
  const c = fieldAt[y]!;
  const cLen = fieldAt[y + 1]! - c;
  const len = Math.min(aLen, cLen);
  for (let k = 0; k < len; k++) {
    const d = b[a + k]! - b[c + k]!;
    if (d !== 0) return d;
  }
  return aLen - cLen;
}

/** Spells the n canonical TLVs in hex, in `order`, separated by dots, into keyChars from p; returns the end. */
function writeTlvChars(p: number, n: number): number {
  const b = matchWriter.buf;
  const need = p + 2 * matchWriter.pos + n;
  if (need > keyChars.length) {
    const next = Buffer.allocUnsafe(2 * need);
    keyChars.copy(next, 0, 0, p);
    keyChars = next;
  }
  const out = keyChars;
  for (let j = 0; j < n; j++) {
    if (j > 0) out[p++] = DOT;
    const i = order[j]!;
    for (let k = fieldAt[i]!, end = fieldAt[i + 1]!; k < end; k++) {
      const v = b[k]!;
      out[p++] = HEX_DIGITS[v >>> 4]!;
      out[p++] = HEX_DIGITS[v & 15]!;
    }
  }
  return p;
}

/** Copies the n canonical TLVs, in `order`, into keyChars from p; returns the end. */
function writeTlvBytes(p: number, n: number): number {
  const need = p + matchWriter.pos;
  if (need > keyChars.length) keyChars = Buffer.allocUnsafe(2 * need);
  const b = matchWriter.buf;
  const out = keyChars;
  for (let j = 0; j < n; j++) {
    const i = order[j]!;
    for (let k = fieldAt[i]!, end = fieldAt[i + 1]!; k < end; k++) out[p++] = b[k]!;
  }
  return p;
}
