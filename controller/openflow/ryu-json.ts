// Helpers for Ryu's JSON dictionary form (`to_jsondict` / `from_jsondict`): integers, 64-bit integers, bytes.
//
// Ryu writes Python ints; a 64-bit value above 2^53 cannot be a JS number without losing bits, so our JSON form
// uses a number where it is exact and a bigint otherwise. Readers of golden JSON parse with a lossless parser.
import { OfpError, OFPET, OFPBRC } from './errors.js';

export type RyuDict = Record<string, unknown>;

/** A u64 as Ryu's JSON number: a number when exact, a bigint beyond 2^53. */
export function u64ToJson(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

export function bad(detail: string): never {
  throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, `invalid Ryu JSON: ${detail}`);
}

/** Reads an unsigned integer field of a Ryu dict, with a default when absent. */
export function jInt(d: RyuDict, key: string, def?: number): number {
  const v = d[key];
  if (v === undefined || v === null) {
    if (def !== undefined) return def;
    bad(`missing integer field ${key}`);
  }
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) bad(`field ${key} is not an unsigned integer: ${String(v)}`);
  return n;
}

export function jU64(d: RyuDict, key: string, def?: bigint): bigint {
  const v = d[key];
  if (v === undefined || v === null) {
    if (def !== undefined) return def;
    bad(`missing integer field ${key}`);
  }
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^\d+$/.test(v)) return BigInt(v);
  bad(`field ${key} is not an unsigned 64-bit integer: ${String(v)}`);
}

export function jStr(d: RyuDict, key: string, def = ''): string {
  const v = d[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'string') bad(`field ${key} is not a string`);
  return v;
}

/** Ryu encodes byte strings as base64. */
export function jBytes(d: RyuDict, key: string): Buffer {
  const v = d[key];
  if (v === undefined || v === null) return Buffer.alloc(0);
  if (typeof v !== 'string') bad(`field ${key} is not base64 text`);
  return Buffer.from(v, 'base64');
}

export function b64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

export function jArr(d: RyuDict, key: string): unknown[] {
  const v = d[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) bad(`field ${key} is not a list`);
  return v;
}

export function jObj(d: RyuDict, key: string): RyuDict {
  const v = d[key];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(`field ${key} is not an object`);
  return v as RyuDict;
}

/** Unwraps Ryu's `{ "ClassName": { ...fields } }` wrapper, checking the class name when given. */
export function unwrap(obj: unknown, expected?: string): [string, RyuDict] {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) bad('expected {"ClassName": {...}}');
  const keys = Object.keys(obj);
  if (keys.length !== 1) bad(`expected exactly one class name, got ${keys.join(', ') || 'none'}`);
  const name = keys[0]!;
  if (expected !== undefined && name !== expected) bad(`expected ${expected}, got ${name}`);
  const inner = (obj as RyuDict)[name];
  if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) bad(`${name} is not an object`);
  return [name, inner as RyuDict];
}

/** An unsigned integer of at most `bits` bits from a Ryu dict; absent means `def`. */
export function jUint(d: RyuDict, key: string, bits: number, def?: number): number {
  const v = d[key] ?? def;
  if (v === undefined || v === null) bad(`missing integer field ${key}`);
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n >= 2 ** bits)
    bad(`field ${key} is not a ${bits}-bit unsigned integer: ${String(v)}`);
  return n;
}

/** Hex as ovs-ofctl prints it (`0x1f`). */
export function hex(v: number | bigint): string {
  return `0x${v.toString(16)}`;
}
