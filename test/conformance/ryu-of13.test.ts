// Conformance against Ryu's OpenFlow 1.3 golden messages (test/fixtures/ryu-of13, see its README).
//
// For every `4-N-*` golden, as Ryu's own parser test does:
//   1. decode(bytes) -> toRyuJson deep-equals json/NAME.json;
//   2. fromRyuJson(json) -> encode equals the bytes exactly;
//   3. the same after deleting every `len`/`length` key (the encoder computes lengths itself).
// Every `ovs-ofctl-of13-*` golden (Nicira/ONF extensions as Open vSwitch emits them) is held to the same three.
// Any `*.truncated64` file, and every golden cut short (below the header, to the header alone, by one byte, to 64
// bytes) with its header still claiming the whole message, must fail to decode with a typed truncation OfpError.
//
// The directory is read at run time, one `it` per file; a missing directory fails the suite (never a skip).
import { describe, it, expect } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as losslessParse, stringify as losslessStringify } from 'lossless-json';
import { decode, encode, toRyuJson, fromRyuJson, OfpError } from '../../controller/openflow/index.js';
import { RYU_PACKETS_DIR, RYU_JSON_DIR } from '../helpers/ryu-goldens.js';

const PACKETS = RYU_PACKETS_DIR;
const JSON_DIR = RYU_JSON_DIR;

/** JSON with integers beyond 2^53 kept exact as bigint (Ryu writes 64-bit cookies, datapath ids...). */
function parseJson(text: string): unknown {
  return losslessParse(text, undefined, (s: string) => {
    const n = Number(s);
    return Number.isSafeInteger(n) || !/^-?\d+$/.test(s) ? n : BigInt(s);
  });
}

/** Our JSON value as JSON text would carry it (drops `undefined` members, bigints below 2^53 become numbers). */
function asJson(v: unknown): unknown {
  return parseJson(losslessStringify(v) ?? 'null');
}

/** A deep copy without any `len`/`length` key, at any depth. */
function withoutLengths(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutLengths);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== 'len' && k !== 'length') out[k] = withoutLengths(x);
    return out;
  }
  return v;
}

const hexdump = (b: Buffer) =>
  b
    .toString('hex')
    .replace(/(.{16})/g, '$1 ')
    .trim();

const files = readdirSync(PACKETS).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
if (files.length === 0) throw new Error(`no golden messages in ${PACKETS}`);

const ryuFiles = files.filter((f) => f.startsWith('4-') && !f.endsWith('.truncated64'));
const ovsFiles = files.filter((f) => f.startsWith('ovs-ofctl-of13-') && !f.endsWith('.truncated64'));
const truncatedFiles = files.filter((f) => f.endsWith('.truncated64'));
const otherFiles = files.filter((f) => !ryuFiles.includes(f) && !ovsFiles.includes(f) && !truncatedFiles.includes(f));

function load(name: string): { bytes: Buffer; json: unknown; xid: number } {
  const bytes = readFileSync(join(PACKETS, name));
  const jsonPath = join(JSON_DIR, `${name}.json`);
  if (!existsSync(jsonPath)) throw new Error(`golden ${name} has no json/${name}.json`);
  return { bytes, json: parseJson(readFileSync(jsonPath, 'utf8')), xid: bytes.length >= 8 ? bytes.readUInt32BE(4) : 0 };
}

/** Byte equality with a readable failure (hex of both). */
function expectBytes(actual: Buffer, expected: Buffer, what: string): void {
  if (!actual.equals(expected)) {
    expect(hexdump(actual), `${what}: encoded bytes differ from the golden`).toBe(hexdump(expected));
  }
}

describe('Ryu OpenFlow 1.3 goldens: 4-N-* (JSON both ways, bytes exact)', () => {
  it('has the goldens', () => {
    expect(ryuFiles.length).toBeGreaterThan(50);
  });
  for (const name of ryuFiles) {
    it(name, () => {
      const { bytes, json, xid } = load(name);
      // 1. decode -> Ryu JSON
      const msg = decode(bytes);
      expect(asJson(toRyuJson(msg)), 'decode -> toRyuJson').toStrictEqual(json);
      // 2. Ryu JSON -> encode, exact bytes
      expectBytes(encode(fromRyuJson(json, xid)), bytes, 'fromRyuJson -> encode');
      // 3. the same without any len/length key
      expectBytes(encode(fromRyuJson(withoutLengths(json), xid)), bytes, 'fromRyuJson (no len/length keys) -> encode');
      // and the decoded message itself re-encodes to the same bytes
      expectBytes(encode(msg), bytes, 'decode -> encode');
    });
  }
});

describe('Open vSwitch extension goldens: ovs-ofctl-of13-* (JSON both ways, bytes exact)', () => {
  it('has the goldens', () => {
    expect(ovsFiles.length).toBeGreaterThan(10);
  });
  for (const name of ovsFiles) {
    it(name, () => {
      const { bytes, json, xid } = load(name);
      const msg = decode(bytes);
      expectBytes(encode(msg), bytes, 'decode -> encode');
      expect(asJson(toRyuJson(msg)), 'decode -> toRyuJson').toStrictEqual(json);
      expectBytes(encode(fromRyuJson(json, xid)), bytes, 'fromRyuJson -> encode');
      expectBytes(encode(fromRyuJson(withoutLengths(json), xid)), bytes, 'fromRyuJson (no len/length keys) -> encode');
    });
  }
});

/** A golden cut short, the way Ryu's `*.truncated64` files are: the header still claims the whole message. */
interface TruncatedCase {
  name: string;
  bytes: Buffer;
}

const TRUNCATE_AT = 64;
const truncatedCases: TruncatedCase[] = [
  ...truncatedFiles.map((name) => ({ name, bytes: readFileSync(join(PACKETS, name)) })),
  ...[...ryuFiles, ...ovsFiles].flatMap((name) => {
    const bytes = readFileSync(join(PACKETS, name));
    const cuts = [
      // shorter than the 8-byte header
      { name: `${name} cut to 7 bytes`, bytes: bytes.subarray(0, 7) },
      // a header alone for a message that has a body
      ...(bytes.length > 8 ? [{ name: `${name} cut to 8 bytes`, bytes: bytes.subarray(0, 8) }] : []),
      // one byte short
      ...(bytes.length > 8 ? [{ name: `${name} cut by one byte`, bytes: bytes.subarray(0, bytes.length - 1) }] : []),
      ...(bytes.length > TRUNCATE_AT ? [{ name: `${name} cut to ${TRUNCATE_AT} bytes`, bytes: bytes.subarray(0, TRUNCATE_AT) }] : []),
    ];
    return cuts;
  }),
];

describe('truncated messages: Ryu-style *.truncated64 files and cuts of every golden (typed truncation error)', () => {
  it('has truncated cases of every kind', () => {
    const count = (suffix: string) => truncatedCases.filter((c) => c.name.endsWith(suffix)).length;
    expect(count(`cut to ${TRUNCATE_AT} bytes`)).toBeGreaterThan(40);
    expect(count('cut to 8 bytes')).toBeGreaterThan(60);
    expect(count('cut by one byte')).toBeGreaterThan(60);
    expect(count('cut to 7 bytes')).toBe(ryuFiles.length + ovsFiles.length);
  });
  for (const { name, bytes } of truncatedCases) {
    it(name, () => {
      let err: unknown;
      try {
        decode(bytes);
      } catch (e) {
        err = e;
      }
      expect(err, 'decoding a truncated message must throw').toBeInstanceOf(OfpError);
      const e = err as OfpError;
      expect(e.truncated, `a truncation error, got: ${e.message}`).toBe(true);
      expect(Number.isInteger(e.errType) && Number.isInteger(e.code), 'errType/code set').toBe(true);
    });
  }
});

describe('golden directory', () => {
  it('holds only known golden families', () => {
    expect(otherFiles).toStrictEqual([]);
  });
});
