// Robustness of the OpenFlow 1.3 decoder, encoder and framer against hostile input.
//
// A switch (or anything that reaches the control port) controls every byte we decode. The contract is: decode()
// returns a message or throws OfpError (with the errType/code a peer should be told), nothing else — no
// RangeError, no TypeError, no hang. This file drives that contract with the Ryu goldens as seeds:
//   - every golden truncated at every length (header length kept, and patched to the truncated length);
//   - every 16-bit field of every golden overwritten with length-like values (0, 1, 0xffff, original +-1..8);
//   - over a million seeded random and mutated buffers; whatever decodes must also encode (or throw OfpError),
//     and what re-encodes must decode back to a deep-equal message (decoder and encoder agree);
//   - the framer, fed the concatenated goldens split at every offset and in random chunks.
import { describe, it, expect, afterAll } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode, encode, Framer, OfpError } from '../../controller/openflow/index.js';
import type { OfpMessage } from '../../controller/openflow/index.js';
import { RYU_PACKETS_DIR } from '../helpers/ryu-goldens.js';

const PACKETS = RYU_PACKETS_DIR;

interface Golden {
  name: string;
  bytes: Buffer;
}
const goldens: Golden[] = readdirSync(PACKETS)
  .filter((n) => !n.endsWith('.truncated64'))
  .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
  .map((name) => ({ name, bytes: readFileSync(join(PACKETS, name)) }));
if (goldens.length < 50) throw new Error(`only ${goldens.length} goldens in ${PACKETS}`);

// --- helpers ----------------------------------------------------------------------------------------------------

/** xorshift32: a tiny seeded PRNG, so that every run (and every failure) is reproducible. */
class XorShift32 {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  /** Uniform in [0, n). */
  int(n: number): number {
    return this.next() % n;
  }
  fill(b: Buffer, from = 0, to = b.length): void {
    for (let i = from; i < to; i++) b[i] = this.next() & 0xff;
  }
}

type Outcome = { ok: true; msg: OfpMessage } | { ok: false; err: OfpError };

/**
 * Failures of the contract, grouped by kind (so that distinct bugs are all reported, each with a reproducible
 * example: the input as hex); each suite asserts that there are none.
 */
class Violations {
  private readonly kinds = new Map<string, { count: number; example: string }>();
  count = 0;
  add(kind: string, what: string, bytes: Buffer | undefined, e: unknown): void {
    this.count++;
    const k = this.kinds.get(kind);
    if (k) {
      k.count++;
      return;
    }
    const detail =
      e instanceof Error ? `${e.constructor.name}: ${e.message}\n      ${(e.stack ?? '').split('\n').slice(1, 4).join('\n      ')}` : String(e);
    const hex = bytes ? ` [${bytes.toString('hex').slice(0, 400)}${bytes.length > 200 ? '…' : ''}]` : '';
    this.kinds.set(kind, { count: 1, example: `${what}${hex}\n      ${detail}` });
  }
  report(): string {
    const kinds = [...this.kinds.entries()].sort((a, b) => b[1].count - a[1].count);
    return (
      `${this.count} contract violation(s) of ${kinds.length} kind(s):\n` +
      kinds
        .slice(0, 20)
        .map(([kind, k]) => `  [${k.count}x] ${kind}\n    e.g. ${k.example}`)
        .join('\n')
    );
  }
}

/** An exception's kind for grouping: its class and message without numbers. */
const errorKind = (e: unknown) => (e instanceof Error ? `${e.constructor.name}: ${e.message.replace(/\d+/g, 'N')}` : String(e));

function isTypedOfpError(e: unknown): e is OfpError {
  return e instanceof OfpError && Number.isInteger(e.errType) && Number.isInteger(e.code) && e.errType >= 0 && e.code >= 0;
}

/** decode(), classifying the result; anything but a message or a typed OfpError is recorded as a violation. */
function tryDecode(bytes: Buffer, v: Violations, what: string): Outcome | undefined {
  try {
    return { ok: true, msg: decode(bytes) };
  } catch (e) {
    if (isTypedOfpError(e)) return { ok: false, err: e };
    v.add(`decode threw ${errorKind(e)}`, `${what}: decode threw something other than a typed OfpError`, bytes, withStack(() => decode(bytes)) ?? e);
    return undefined;
  }
}

/** Deep equality for decoded messages: plain objects, arrays, Buffers by content, bigints, numbers, strings. */
function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b) return false;
  if (typeof a === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (typeof a !== 'object' || a === null || b === null) return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], bb[i])) return false;
    return true;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** First path where two values differ, for failure messages. */
function firstDifference(a: unknown, b: unknown, path = 'msg'): string {
  if (deepEqual(a, b)) return '';
  if (a && b && typeof a === 'object' && typeof b === 'object' && !(a instanceof Uint8Array) && !(b instanceof Uint8Array)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
  }
  const show = (x: unknown) =>
    x instanceof Uint8Array ? `<${Buffer.from(x).toString('hex')}>` : typeof x === 'bigint' ? `${x}n` : JSON.stringify(x);
  return `${path}: ${show(a)} vs ${show(b)}`;
}

const stats = { reencoded: 0, encodeOfpError: 0 };

/**
 * The encoder side of the contract for a message our decoder produced from hostile bytes: encode() returns
 * bytes or throws OfpError; the bytes decode (no error of any kind) to a deep-equal message.
 */
function checkReencode(msg: OfpMessage, from: Buffer, v: Violations, what: string): void {
  let again: Buffer;
  try {
    again = encode(msg);
  } catch (e) {
    if (isTypedOfpError(e)) {
      stats.encodeOfpError++;
      return;
    }
    v.add(
      `encode threw ${errorKind(e)}`,
      `${what}: encode of a decoded message threw something other than OfpError`,
      from,
      withStack(() => encode(msg)) ?? e,
    );
    return;
  }
  stats.reencoded++;
  let back: OfpMessage;
  try {
    back = decode(again);
  } catch (e) {
    v.add(
      `${msg.type}: decode(encode(msg)) threw ${errorKind(e)}`,
      `${what}: decode(encode(msg)) failed (re-encoded ${again.toString('hex').slice(0, 160)})`,
      from,
      withStack(() => decode(again)) ?? e,
    );
    return;
  }
  if (!deepEqual(back, msg)) {
    const diff = firstDifference(back, msg);
    v.add(
      `${msg.type}: decode(encode(msg)) differs at ${diff.slice(0, diff.indexOf(':')).replace(/\.\d+/g, '[]')}`,
      `${what}: decode(encode(msg)) differs from msg at ${diff} (round-tripped vs as decoded)`,
      from,
      '',
    );
  }
}

function fail(message: string): never {
  throw new Error(message);
}

const u16 = (b: Buffer, at: number) => (b[at]! << 8) | b[at + 1]!;
const setU16 = (b: Buffer, at: number, v: number) => {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
};

// Building an Error's stack trace dominates the cost of a failed decode. The contract under test is the type and
// fields of the exception, not its trace, so traces are switched off for the bulk loops (restored afterwards).
const savedStackLimit: number = Error.stackTraceLimit;
afterAll(() => {
  Error.stackTraceLimit = savedStackLimit;
});
/** Re-runs a failing operation with stack traces on, for the failure report; returns what it throws. */
function withStack(f: () => unknown): unknown {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = savedStackLimit;
  try {
    f();
    return undefined;
  } catch (e) {
    return e;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function withoutStacks<T>(f: () => T): T {
  Error.stackTraceLimit = 0;
  try {
    return f();
  } finally {
    Error.stackTraceLimit = savedStackLimit;
  }
}

// --- goldens ----------------------------------------------------------------------------------------------------

describe('goldens', () => {
  it('every golden decodes and encode(decode(b)).length equals its header length field', () => {
    const bad: string[] = [];
    for (const g of goldens) {
      try {
        const len = encode(decode(g.bytes)).length;
        if (len !== u16(g.bytes, 2)) bad.push(`${g.name}: encodes to ${len} bytes, header says ${u16(g.bytes, 2)}`);
      } catch (e) {
        bad.push(`${g.name}: ${(e as Error).message}`);
      }
    }
    expect(bad, bad.join('\n')).toStrictEqual([]);
  });
});

describe('truncation', () => {
  it('every golden cut at every length, header length kept: a typed truncation OfpError', () => {
    const v = new Violations();
    let errors = 0;
    withoutStacks(() => {
      for (const g of goldens) {
        for (let n = 0; n < g.bytes.length; n++) {
          const cut = Buffer.from(g.bytes.subarray(0, n));
          const out = tryDecode(cut, v, `${g.name} cut to ${n}`);
          if (!out) continue;
          if (out.ok)
            v.add('a truncated message decoded', `${g.name} cut to ${n} bytes (header says ${g.bytes.length}) decoded as ${out.msg.type}`, cut, '');
          else if (!out.err.truncated) v.add('OfpError for a truncated message not marked truncated', `${g.name} cut to ${n}`, cut, out.err);
          else errors++;
        }
      }
    });
    expect(v.count, v.report()).toBe(0);
    expect(errors).toBeGreaterThan(20_000);
  });

  it('every golden cut at every length, header length patched to match: message or OfpError only', () => {
    const v = new Violations();
    let ok = 0;
    let errors = 0;
    withoutStacks(() => {
      for (const g of goldens) {
        for (let n = 0; n < g.bytes.length; n++) {
          const cut = Buffer.from(g.bytes.subarray(0, n));
          if (n >= 4) setU16(cut, 2, n);
          const out = tryDecode(cut, v, `${g.name} cut to ${n}, length patched`);
          if (!out) continue;
          // A prefix can be a valid message in its own right (an echo with less data, a reply with fewer
          // entries, a packet-in with a shorter frame), so success is allowed — but it must then re-encode.
          if (out.ok) {
            ok++;
            checkReencode(out.msg, cut, v, `${g.name} cut to ${n}, length patched`);
          } else errors++;
        }
      }
    });
    console.log(`[robustness] truncated with patched length: ${ok} decoded, ${errors} OfpError`);
    expect(v.count, v.report()).toBe(0);
    expect(errors).toBeGreaterThan(ok);
  });
});

// Goldens above this size are the two 11 KB table-features messages (~100 us a decode, 5,563 even offsets each):
// all 19 values at every offset of both would take ~25 s, more than the rest of this file together. Every even
// offset of them is still corrupted, with two of the 19 values per offset taken in rotation (one of 0/1/0xffff,
// one of original +-1..8), decode only; every other golden gets all 19 values and the re-encode check.
const LARGE = 2048;

/** The 19 values for a field: 0, 1, 0xffff, original +-1..8; for a large golden, the two rotating ones. */
function corruptions(orig: number, at: number, large: boolean): number[] {
  const deltas: number[] = [];
  for (let d = 1; d <= 8; d++) deltas.push((orig + d) & 0xffff, (orig - d) & 0xffff);
  if (large) return [[0, 1, 0xffff][(at >> 1) % 3]!, deltas[(at >> 1) % deltas.length]!];
  return [0, 1, 0xffff, ...deltas];
}

describe('corrupted 16-bit fields', () => {
  it('every even offset >= 2 of every golden set to 0, 1, 0xffff, original +-1..8 (see LARGE): message or OfpError only', () => {
    const v = new Violations();
    let ok = 0;
    let errors = 0;
    withoutStacks(() => {
      for (const g of goldens) {
        const b = Buffer.from(g.bytes);
        const large = g.bytes.length > LARGE;
        for (let at = 2; at + 2 <= b.length; at += 2) {
          const orig = u16(g.bytes, at);
          for (const val of corruptions(orig, at, large)) {
            setU16(b, at, val);
            const out = tryDecode(b, v, `${g.name} u16 at ${at} = ${val}`);
            if (out?.ok) {
              ok++;
              if (!large) checkReencode(out.msg, Buffer.from(b), v, `${g.name} u16 at ${at} = ${val}`);
            } else if (out) errors++;
          }
          setU16(b, at, orig);
        }
      }
    });
    console.log(`[robustness] corrupted 16-bit fields: ${ok} decoded, ${errors} OfpError`);
    expect(v.count, v.report()).toBe(0);
    expect(ok).toBeGreaterThan(0);
    expect(errors).toBeGreaterThan(0);
  });
});

// --- random and mutated buffers ------------------------------------------------------------------------------------

const SEED = 0x0f13c0de;
const PURE_RANDOM = 300_000;
const MUTATED = 700_000;

/** A random body behind a valid header (version 4, a type mostly in range, a multipart header when multipart). */
function randomMessage(rng: XorShift32): Buffer {
  const len = 8 + (rng.int(4) === 0 ? rng.int(1024) : rng.int(96));
  const b = Buffer.allocUnsafe(len);
  rng.fill(b);
  b[0] = 4;
  b[1] = rng.int(16) === 0 ? rng.int(256) : rng.int(30);
  setU16(b, 2, len);
  if ((b[1] === 18 || b[1] === 19) && len >= 16) {
    setU16(b, 8, rng.int(8) === 0 ? 0xffff : rng.int(15)); // OFPMP_*
    if (rng.int(2)) setU16(b, 10, 0);
    b.fill(0, 12, 16);
  }
  // Zero runs make structures (TLV headers, padding, lengths) plausible more often than pure noise.
  if (rng.int(2)) {
    const from = 8 + rng.int(len - 7);
    b.fill(0, from, Math.min(len, from + rng.int(32)));
  }
  return b;
}

/** A golden with 1-4 random edits (bit flips, byte writes, 16-bit writes, insertions, deletions), length fixed up. */
function mutate(rng: XorShift32, g: Buffer): Buffer {
  let b = Buffer.from(g);
  const edits = 1 + rng.int(4);
  for (let i = 0; i < edits; i++) {
    const at = b.length > 8 ? 8 + rng.int(b.length - 8) : rng.int(Math.max(1, b.length));
    switch (rng.int(6)) {
      case 0: // bit flip
        if (b.length) b[at] = b.readUInt8(at) ^ (1 << rng.int(8));
        break;
      case 1: // byte write
        if (b.length) b[at] = rng.next() & 0xff;
        break;
      case 2: {
        // 16-bit write of an interesting value (lengths, counts)
        const vals = [0, 1, 4, 7, 8, 0xff, 0x100, 0x7fff, 0x8000, 0xfffe, 0xffff, rng.next() & 0xffff];
        if (at + 2 <= b.length) setU16(b, at & ~1, vals[rng.int(vals.length)]!);
        break;
      }
      case 3: {
        // insertion of 1-16 random bytes (8 keeps the 8-byte alignment of most structures)
        const n = rng.int(3) === 0 ? 8 : 1 + rng.int(16);
        const ins = Buffer.allocUnsafe(n);
        rng.fill(ins);
        if (rng.int(2)) ins.fill(0);
        b = Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
        break;
      }
      case 4: {
        // deletion of 1-16 bytes
        const n = rng.int(3) === 0 ? 8 : 1 + rng.int(16);
        if (at >= 8) b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + n))]);
        break;
      }
      default: // duplicate a slice (repeated list entries, TLVs)
        if (b.length > 16) {
          const from = 8 + rng.int(b.length - 8);
          const n = 1 + rng.int(Math.min(64, b.length - from));
          b = Buffer.concat([b.subarray(0, at), b.subarray(from, from + n), b.subarray(at)]);
        }
    }
  }
  if (b.length >= 4 && b.length <= 0xffff) setU16(b, 2, b.length);
  if (b.length >= 1 && rng.int(16) !== 0) b[0] = 4; // mostly keep the version so that bodies get decoded
  return b;
}

describe('random and mutated buffers (seeded xorshift32)', () => {
  it(`${PURE_RANDOM + MUTATED} buffers: each decodes to a message or throws OfpError; decoded ones re-encode consistently`, () => {
    const v = new Violations();
    const rng = new XorShift32(SEED);
    const count = { pureOk: 0, pureErr: 0, mutOk: 0, mutErr: 0 };
    const okTypes = new Set<string>();
    const t0 = Date.now();
    withoutStacks(() => {
      for (let i = 0; i < PURE_RANDOM; i++) {
        const b = randomMessage(rng);
        const out = tryDecode(b, v, `random #${i}`);
        if (!out) continue;
        if (out.ok) {
          count.pureOk++;
          okTypes.add(out.msg.type);
          checkReencode(out.msg, b, v, `random #${i}`);
        } else count.pureErr++;
      }
      for (let i = 0; i < MUTATED; i++) {
        // Large goldens are picked 8x less often (they cost ~50x more per decode than the rest).
        let g = goldens[rng.int(goldens.length)]!;
        while (g.bytes.length > LARGE && rng.int(8) !== 0) g = goldens[rng.int(goldens.length)]!;
        const b = mutate(rng, g.bytes);
        const out = tryDecode(b, v, `mutated ${g.name} #${i}`);
        if (!out) continue;
        if (out.ok) {
          count.mutOk++;
          okTypes.add(out.msg.type);
          checkReencode(out.msg, b, v, `mutated ${g.name} #${i}`);
        } else count.mutErr++;
      }
    });
    console.log(
      `[robustness] seed 0x${SEED.toString(16)}: random ${count.pureOk} decoded / ${count.pureErr} OfpError; ` +
        `mutated ${count.mutOk} decoded / ${count.mutErr} OfpError; re-encoded ${stats.reencoded}, encode OfpError ` +
        `${stats.encodeOfpError}; ${okTypes.size} message types decoded; ${Date.now() - t0} ms`,
    );
    expect(v.count, v.report()).toBe(0);
    const total = count.pureOk + count.pureErr + count.mutOk + count.mutErr;
    expect(total).toBeGreaterThanOrEqual(1_000_000);
    // The test must be able to fail: a decoder that always throws would pass the contract trivially.
    expect(count.mutOk).toBeGreaterThan(MUTATED / 100);
    expect(count.mutErr).toBeGreaterThan(MUTATED / 100);
    expect(count.pureErr).toBeGreaterThan(0);
    expect(okTypes.size).toBeGreaterThan(20);
  });
});

// --- framer -------------------------------------------------------------------------------------------------------

describe('framer', () => {
  const stream = Buffer.concat(goldens.map((g) => g.bytes));

  function expectFrames(frames: Buffer[], label: string): void {
    if (frames.length !== goldens.length) fail(`${label}: ${frames.length} messages framed, expected ${goldens.length}`);
    for (let i = 0; i < goldens.length; i++) {
      if (!frames[i]!.equals(goldens[i]!.bytes)) fail(`${label}: message ${i} (${goldens[i]!.name}) framed wrongly`);
    }
  }

  it('frames the concatenated goldens split into two chunks at every offset', () => {
    for (let k = 0; k <= stream.length; k++) {
      const f = new Framer();
      const frames = [...f.push(stream.subarray(0, k)), ...f.push(stream.subarray(k))];
      expectFrames(frames, `split at ${k}`);
      if (f.buffered !== 0) fail(`split at ${k}: ${f.buffered} bytes left buffered`);
    }
  });

  it('frames the stream in random chunk sizes (and byte by byte), the same messages as whole decoding', () => {
    const rng = new XorShift32(SEED ^ 0x5a5a5a5a);
    const whole = goldens.map((g) => {
      try {
        return decode(g.bytes);
      } catch (e) {
        return e;
      }
    });
    for (let run = 0; run < 300; run++) {
      const f = new Framer();
      const frames: Buffer[] = [];
      const maxChunk = run === 0 ? 1 : [3, 17, 64, 300, 4096][run % 5]!;
      for (let pos = 0; pos < stream.length;) {
        const n = run === 0 ? 1 : 1 + rng.int(maxChunk);
        // Copy each chunk, as a socket would hand out fresh memory.
        frames.push(...f.push(Buffer.from(stream.subarray(pos, pos + n))));
        pos += n;
      }
      expectFrames(frames, `run ${run} (chunks up to ${maxChunk})`);
      expect(f.buffered).toBe(0);
      if (run % 50 === 0) {
        frames.forEach((fr, i) => {
          let got: unknown;
          try {
            got = decode(fr);
          } catch (e) {
            got = e;
          }
          const want = whole[i];
          if (want instanceof Error) expect(got, goldens[i]!.name).toStrictEqual(want);
          else if (!deepEqual(got, want)) fail(`${goldens[i]!.name}: framed decode differs at ${firstDifference(got, want)}`);
        });
      }
    }
  });

  it('a length field below the header size throws OfpError (whole, and split before the length is complete)', () => {
    for (const bad of [0, 1, 4, 7]) {
      const hdr = Buffer.from([4, 2, bad >> 8, bad & 0xff, 0, 0, 0, 1]);
      const s = Buffer.concat([goldens[0]!.bytes, hdr, goldens[1]!.bytes]);
      expect(() => new Framer().push(s), `length ${bad}`).toThrow(OfpError);
      // byte by byte: the framer must throw once the bad length is readable, never loop or wait
      const f = new Framer();
      let thrown: unknown;
      try {
        for (let i = 0; i < s.length; i++) f.push(s.subarray(i, i + 1));
      } catch (e) {
        thrown = e;
      }
      expect(thrown, `length ${bad}, byte by byte`).toBeInstanceOf(OfpError);
    }
  });
});
