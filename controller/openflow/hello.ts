// OFPT_HELLO (OF1.3.5 §7.5.1): the first message each side sends, listing the versions it speaks.
//
//   struct ofp_hello { struct ofp_header header; struct ofp_hello_elem_header elements[0]; };
//   struct ofp_hello_elem_header { uint16_t type; uint16_t length; };   // length excludes the padding
//   struct ofp_hello_elem_versionbitmap { uint16_t type; uint16_t length; uint32_t bitmaps[0]; };
//
// Each element is padded to a multiple of 8 bytes. The spec says unknown element types must be ignored; we keep
// them (type and bytes) so that a decoded hello re-encodes to the same bytes.
import { Reader, Writer } from './buffer.js';
import { OfpError, OFPET, OFPBRC } from './errors.js';
import { OFPT, OFPHET_VERSIONBITMAP } from './constants.js';
import { register } from './registry.js';
import { RyuDict, bad, b64, jArr, jBytes, jInt, unwrap } from './ryu-json.js';

export interface HelloVersionBitmap {
  type: 'versionBitmap';
  /** Version numbers (wire values: 4 is OpenFlow 1.3), ascending. */
  versions: number[];
}

export interface HelloUnknownElem {
  type: 'unknown';
  elemType: number;
  /** The element's bytes after its 4-byte header, without the padding. */
  data: Buffer;
}

export type HelloElem = HelloVersionBitmap | HelloUnknownElem;

export interface HelloMsg {
  type: 'hello';
  xid: number;
  elements: HelloElem[];
}

function badLen(detail: string): never {
  throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, detail);
}

function readElem(r: Reader): HelloElem {
  const elemType = r.u16();
  const length = r.u16();
  if (length < 4) badLen(`hello element of length ${length} < 4`);
  const body = r.sub(length - 4);
  // The padding after the last element is sometimes left out by peers: accept its absence there.
  const pad = ((length + 7) & ~7) - length;
  r.skip(Math.min(pad, r.remaining));
  if (elemType !== OFPHET_VERSIONBITMAP) return { type: 'unknown', elemType, data: body.rest() };
  if (body.remaining % 4 !== 0) badLen(`hello version bitmap of length ${length} is not 4 + 4n`);
  const versions: number[] = [];
  for (let word = 0; body.remaining > 0; word++) {
    const bits = body.u32();
    for (let i = 0; i < 32; i++) if (Math.floor(bits / 2 ** i) % 2) versions.push(word * 32 + i);
  }
  return { type: 'versionBitmap', versions };
}

/** Bitmap words for a version list: as many as the highest version needs. */
function bitmapWords(versions: readonly number[]): number[] {
  const words: number[] = [];
  for (const v of versions) {
    if (!Number.isInteger(v) || v < 0 || v > 0x3fff) badLen(`invalid OpenFlow version ${v} in hello bitmap`);
    const i = v >>> 5;
    while (words.length <= i) words.push(0);
    words[i] = (words[i]! | (1 << (v & 31))) >>> 0;
  }
  return words;
}

function elemLength(e: HelloElem): number {
  return 4 + (e.type === 'versionBitmap' ? 4 * bitmapWords(e.versions).length : e.data.length);
}

function writeElem(w: Writer, e: HelloElem): void {
  const start = w.pos;
  if (e.type === 'versionBitmap') {
    const words = bitmapWords(e.versions);
    w.u16(OFPHET_VERSIONBITMAP);
    w.u16(4 + 4 * words.length);
    for (const word of words) w.u32(word);
  } else {
    if (4 + e.data.length > 0xffff) badLen('hello element too long');
    w.u16(e.elemType);
    w.u16(4 + e.data.length);
    w.bytes(e.data);
  }
  w.pad8(start);
}

function elemToRyu(e: HelloElem): RyuDict {
  if (e.type === 'versionBitmap') {
    return { OFPHelloElemVersionBitmap: { length: elemLength(e), type: OFPHET_VERSIONBITMAP, versions: [...e.versions] } };
  }
  // Ryu drops unknown elements; this class name is ours, so that the JSON form stays lossless too.
  return { OFPHelloElemUnknown: { data: b64(e.data), length: elemLength(e), type: e.elemType } };
}

function elemFromRyu(obj: unknown): HelloElem {
  const [name, d] = unwrap(obj);
  if (name === 'OFPHelloElemVersionBitmap') {
    const versions = jArr(d, 'versions').map((v) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) bad(`hello version ${String(v)} is not an integer`);
      return v;
    });
    bitmapWords(versions); // validates
    return { type: 'versionBitmap', versions: [...new Set(versions)].sort((a, b) => a - b) };
  }
  if (name === 'OFPHelloElemUnknown') return { type: 'unknown', elemType: jInt(d, 'type'), data: jBytes(d, 'data') };
  bad(`unknown hello element class ${name}`);
}

function formatElem(e: HelloElem): string {
  if (e.type === 'versionBitmap') {
    return `version bitmap: ${e.versions.map((v) => `0x${v.toString(16).padStart(2, '0')}`).join(', ')}`;
  }
  return `unknown element type=${e.elemType} len=${e.data.length}`;
}

register<HelloMsg>({
  type: 'hello',
  ofpType: OFPT.HELLO,
  ryuName: 'OFPHello',
  ofpName: 'OFPT_HELLO',
  decode: (r, xid) => {
    const elements: HelloElem[] = [];
    while (r.remaining > 0) elements.push(readElem(r));
    return { type: 'hello', xid, elements };
  },
  encode: (w, m) => {
    for (const e of m.elements) writeElem(w, e);
  },
  toRyu: (m) => ({ elements: m.elements.map(elemToRyu) }),
  fromRyu: (d, xid) => ({ type: 'hello', xid, elements: jArr(d, 'elements').map(elemFromRyu) }),
  format: (m) => m.elements.map(formatElem).join(' '),
});
