// The stream-to-message splitter under every way TCP can cut a stream: whole messages in one read, messages
// straddling reads, a header cut inside its length field, one byte per read; broken lengths.
import { describe, expect, it } from 'vitest';
import { FrameReader } from '../../../controller/frame-reader.js';
import { OfpError, OFPET, OFPBRC } from '../../../controller/openflow/index.js';

/** A message of `len` bytes (>= 8): header with that length and xid `xid`, body bytes that say where they are. */
function message(len: number, xid: number): Buffer {
  const b = Buffer.alloc(len);
  b[0] = 4;
  b[1] = 10;
  b.writeUInt16BE(len, 2);
  b.writeUInt32BE(xid, 4);
  for (let i = 8; i < len; i++) b[i] = (xid + i) & 0xff;
  return b;
}

/** Splits `stream` at the given cut positions and feeds the pieces; returns copies of the frames as delivered, and the frames themselves. */
function feed(stream: Buffer, cuts: number[]): { frames: Buffer[]; views: Buffer[] } {
  const r = new FrameReader();
  const frames: Buffer[] = [];
  const views: Buffer[] = [];
  let at = 0;
  for (const cut of [...cuts, stream.length]) {
    // Each read in a fresh buffer, as a socket delivers them.
    const piece = Buffer.from(stream.subarray(at, cut));
    const err = r.push(piece, (f) => {
      frames.push(Buffer.from(f));
      views.push(f);
      return true;
    });
    expect(err).toBeUndefined();
    at = cut;
  }
  expect(r.buffered).toBe(0);
  return { frames, views };
}

/** Whether two lists of buffers hold the same bytes (Buffer#equals: deep equality of 64 KB buffers is slow). */
const same = (a: Buffer[], b: Buffer[]) => a.length === b.length && a.every((x, i) => x.equals(b[i]!));

describe('FrameReader', () => {
  const msgs = [message(8, 1), message(96, 2), message(122, 3), message(8, 4), message(1500, 5), message(65535, 6), message(40, 7)];
  const stream = Buffer.concat(msgs);

  it('delivers every message whole and in order, wherever the reads are cut', () => {
    expect(same(feed(stream, []).frames, msgs)).toBe(true);
    // Every single cut position over the first messages (header split inside its length field, body split, exact
    // boundaries), then cuts all along the stream.
    for (let cut = 1; cut < 300; cut++) expect(same(feed(stream, [cut]).frames, msgs)).toBe(true);
    for (const m of [1, 2, 3, 5, 7, 9]) {
      const cuts: number[] = [];
      for (let c = m; c < stream.length; c += m * 97) cuts.push(c, c + 1, c + 3);
      expect(
        same(
          feed(
            stream,
            cuts.filter((c, i, a) => c < stream.length && (i === 0 || c > a[i - 1]!)),
          ).frames,
          msgs,
        ),
      ).toBe(true);
    }
    // A deliberately wrong expectation is caught (the comparison can fail).
    expect(same(feed(stream, [50]).frames, [...msgs].reverse())).toBe(false);
  });

  it('one byte per read', () => {
    const small = Buffer.concat([message(8, 1), message(20, 2), message(9, 3)]);
    expect(
      same(
        feed(
          small,
          Array.from({ length: small.length - 1 }, (_, i) => i + 1),
        ).frames,
        [message(8, 1), message(20, 2), message(9, 3)],
      ),
    ).toBe(true);
  });

  it('frames handed on are not overwritten by later reads (decoders keep views into them; the reader reuses no buffer)', () => {
    const { views } = feed(stream, [100, 101, 5000, 70000]);
    expect(same(views, msgs)).toBe(true);
  });

  it('a length below the header size is an OFPBRC_BAD_LEN error, after the messages before it', () => {
    const bad = Buffer.alloc(8);
    bad[0] = 4;
    bad.writeUInt16BE(5, 2);
    bad.writeUInt32BE(99, 4);
    for (const cut of [0, 2, 3, 10]) {
      const r = new FrameReader();
      const seen: number[] = [];
      const all = Buffer.concat([message(10, 1), bad, message(10, 2)]);
      const pieces = cut ? [all.subarray(0, 10 + cut), all.subarray(10 + cut)] : [all];
      let err: OfpError | undefined;
      for (const p of pieces) {
        err = r.push(Buffer.from(p), (f) => {
          seen.push(f.readUInt32BE(4));
          return true;
        });
        if (err) break;
      }
      expect(seen).toEqual([1]);
      expect(err).toBeInstanceOf(OfpError);
      expect(err).toMatchObject({ errType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN });
      expect(err!.data!.readUInt32BE(4)).toBe(99); // the header, so that the error reply can carry its xid
    }
  });

  it('stops when the handler says the connection is gone', () => {
    const r = new FrameReader();
    const seen: number[] = [];
    r.push(stream, (f) => {
      seen.push(f.readUInt32BE(4));
      return seen.length < 2;
    });
    expect(seen).toEqual([1, 2]);
  });

  it('what the handler throws passes through (it is not a framing error)', () => {
    const r = new FrameReader();
    expect(() =>
      r.push(stream, () => {
        throw new Error('app bug');
      }),
    ).toThrow('app bug');
  });
});
