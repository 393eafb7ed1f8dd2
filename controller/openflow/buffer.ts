// Bounds-checked big-endian reader and growable writer over byte buffers.
//
// Every read checks against the end of the structure being decoded, so a lying length field can never make
// a decoder read past its message (or into the next one in a stream): it gets an OfpError instead. The error
// type/code a read failure reports is set per reader, because the spec gives each structure its own BAD_LEN
// (OFPBRC_BAD_LEN for a message, OFPBAC_BAD_LEN for an action, OFPBMC_BAD_LEN for a match...).
import { OfpError, OFPET, OFPBRC } from './errors.js';

/**
 * The big-endian u64 at `p` of `b` (the caller checks the bounds). V8 compiles this shape (BigInt.asUintN(64, ...)
 * over shifts and ors of int32 halves) to 64-bit arithmetic and allocates only the result: measured on Node 20 about
 * twice as fast as Buffer.readBigUInt64BE, which builds the value from several intermediate bigints. The int32
 * halves may be negative; asUintN(64) makes the result unsigned again.
 */
export function u64At(b: Uint8Array, p: number): bigint {
  const hi = (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
  const lo = (b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!;
  return BigInt.asUintN(64, (BigInt(hi) << 32n) | BigInt(lo >>> 0));
}

export class Reader {
  // `declare`: the fields are created by the constructor's assignments only. A plain declaration compiles (target
  // ES2022) to a class field that V8 first sets to undefined, which makes `pos` and `end` tagged fields rather than
  // small integers; every decoder then read them as generic numbers (Buffer.prototype.subarray(r.pos, r.end) in
  // packet-in decoding went through float64 truncation). Measured 3-4% of a packet-in decode.
  declare buf: Buffer;
  declare pos: number;
  /** End of the structure being read; narrowed temporarily while reading a nested structure (see match.ts). */
  declare end: number;
  /** Error type and code reported when a read runs past `end`. */
  declare errType: number;
  declare errCode: number;

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    // Assigned here rather than as field initialisers, which V8 runs as a separate function call per instance.
    this.errType = OFPET.BAD_REQUEST;
    this.errCode = OFPBRC.BAD_LEN;
  }

  /** Points this reader at another structure, with the default error (registry.ts reuses one reader). */
  reset(buf: Buffer, pos: number, end: number): void {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.errType = OFPET.BAD_REQUEST;
    this.errCode = OFPBRC.BAD_LEN;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws the reader's BAD_LEN error unless `n` more bytes are available. */
  need(n: number, what = 'structure'): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new OfpError(this.errType, this.errCode, `truncated ${what}: need ${n} bytes at offset ${this.pos}, have ${this.end - this.pos}`);
    }
  }

  u8(): number {
    if (this.pos + 1 > this.end) this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    const p = this.pos;
    if (p + 2 > this.end) this.need(2);
    this.pos = p + 2;
    return (this.buf[p]! << 8) | this.buf[p + 1]!;
  }

  u24(): number {
    const p = this.pos;
    if (p + 3 > this.end) this.need(3);
    this.pos = p + 3;
    return (this.buf[p]! << 16) | (this.buf[p + 1]! << 8) | this.buf[p + 2]!;
  }

  u32(): number {
    const p = this.pos;
    if (p + 4 > this.end) this.need(4);
    this.pos = p + 4;
    const b = this.buf;
    return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }

  u64(): bigint {
    const p = this.pos;
    if (p + 8 > this.end) this.need(8);
    this.pos = p + 8;
    return u64At(this.buf, p);
  }

  /** A view (not a copy) of the next `n` bytes: copy it if it must outlive the input buffer. */
  bytes(n: number): Buffer {
    const p = this.pos;
    if (p + n > this.end || n < 0) this.need(n);
    this.pos = p + n;
    return this.buf.subarray(p, p + n);
  }

  /** A copy of the next `n` bytes, for payloads that outlive the socket chunk they arrived in. */
  copy(n: number): Buffer {
    return Buffer.from(this.bytes(n));
  }

  /** The rest of the structure, as a view. */
  rest(): Buffer {
    return this.bytes(this.end - this.pos);
  }

  skip(n: number): void {
    if (this.pos + n > this.end || n < 0) this.need(n);
    this.pos += n;
  }

  /** A fixed-size, NUL-padded ASCII field (port names, descriptions). */
  str(n: number): string {
    const b = this.bytes(n);
    let len = b.indexOf(0);
    if (len < 0) len = n;
    return b.toString('latin1', 0, len);
  }

  /** A reader over the next `len` bytes; this reader moves past them. */
  sub(len: number, errType = this.errType, errCode = this.errCode): Reader {
    const p = this.pos;
    if (p + len > this.end || len < 0) this.need(len);
    this.pos = p + len;
    const r = new Reader(this.buf, p, p + len);
    r.errType = errType;
    r.errCode = errCode;
    return r;
  }
}

/**
 * A growable writer. `reset()` lets one instance encode message after message into the same memory;
 * `view()` returns the bytes written so far without copying (valid until the next write or reset).
 */
export class Writer {
  buf: Buffer;
  pos = 0;
  private view64: DataView;

  constructor(size = 1024) {
    this.buf = Buffer.allocUnsafe(size);
    this.view64 = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  reset(): this {
    this.pos = 0;
    return this;
  }

  private grow(n: number): void {
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view64 = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  u8(v: number): void {
    if (this.pos + 1 > this.buf.length) this.grow(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    const p = this.pos;
    if (p + 2 > this.buf.length) this.grow(2);
    this.buf[p] = v >>> 8;
    this.buf[p + 1] = v;
    this.pos = p + 2;
  }

  u24(v: number): void {
    const p = this.pos;
    if (p + 3 > this.buf.length) this.grow(3);
    this.buf[p] = v >>> 16;
    this.buf[p + 1] = v >>> 8;
    this.buf[p + 2] = v;
    this.pos = p + 3;
  }

  u32(v: number): void {
    const p = this.pos;
    if (p + 4 > this.buf.length) this.grow(4);
    const b = this.buf;
    b[p] = v >>> 24;
    b[p + 1] = v >>> 16;
    b[p + 2] = v >>> 8;
    b[p + 3] = v;
    this.pos = p + 4;
  }

  u64(v: bigint): void {
    const p = this.pos;
    if (p + 8 > this.buf.length) this.grow(8);
    if (v === 0n) {
      // The common case (cookie masks, counters of new flows): eight stores beat a DataView call.
      const b = this.buf;
      for (let i = 0; i < 8; i++) b[p + i] = 0;
    } else {
      // setBigUint64 takes the value modulo 2^64, as BigInt.asUintN(64, v) would; measured faster than splitting
      // the bigint into halves.
      this.view64.setBigUint64(p, v);
    }
    this.pos = p + 8;
  }

  /** Advances by `n` bytes and returns where they start, for callers that fill them in directly. */
  reserve(n: number): number {
    if (this.pos + n > this.buf.length) this.grow(n);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  bytes(b: Uint8Array): void {
    if (this.pos + b.length > this.buf.length) this.grow(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  zeros(n: number): void {
    if (n <= 0) return;
    if (this.pos + n > this.buf.length) this.grow(n);
    // Padding is short (<= 8 bytes almost always): a loop beats fill()'s call overhead.
    if (n <= 16) {
      for (let i = 0; i < n; i++) this.buf[this.pos + i] = 0;
    } else {
      this.buf.fill(0, this.pos, this.pos + n);
    }
    this.pos += n;
  }

  /** A fixed-size NUL-padded ASCII field; longer strings are cut to leave room for the NUL. */
  str(s: string, n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.buf.write(s, this.pos, Math.min(s.length, n - 1), 'latin1');
    this.pos += n;
  }

  /** Pads with zeros to the next multiple of 8 counted from `start`. */
  pad8(start: number): void {
    const n = (8 - ((this.pos - start) & 7)) & 7;
    if (n === 0) return;
    const p = this.pos;
    if (p + n > this.buf.length) this.grow(n);
    const b = this.buf;
    for (let i = 0; i < n; i++) b[p + i] = 0; // at most 7 bytes: a loop beats fill()'s call
    this.pos = p + n;
  }

  setU16(at: number, v: number): void {
    this.buf[at] = v >>> 8;
    this.buf[at + 1] = v;
  }

  view(from = 0): Buffer {
    return this.buf.subarray(from, this.pos);
  }

  /** A copy of what was written, detached from this writer's memory. */
  toBuffer(from = 0): Buffer {
    return Buffer.from(this.buf.subarray(from, this.pos));
  }
}
