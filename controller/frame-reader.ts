// Splits one switch's TCP byte stream into OpenFlow messages (OF1.3.5 §7.1: every message starts with an 8-byte
// header whose length field counts the whole message). Built for the packet-in path: a message that lies within
// one read is handed on as a view of that read (no copy, no array of frames per read); only a message that
// straddles reads is copied, into a buffer of its own exact size, and only its bytes (not the whole next read).
// Each frame handed on is a buffer no later read overwrites: decoders may keep views into it.
import { OfpError, OFPET, OFPBRC } from './openflow/index.js';

const HEADER_LEN = 8;

/** Called with each whole message, in order; returns false to stop (the connection closed meanwhile). */
export type FrameHandler = (frame: Buffer) => boolean;

export class FrameReader {
  /** The first bytes (fewer than 4: its length is not known yet) of a message that straddles reads. */
  private readonly head = Buffer.alloc(4);
  private headLen = 0;
  /** A message that straddles reads, in its own buffer, and how much of it has arrived. */
  private part: Buffer | undefined;
  private partLen = 0;

  /** Bytes of an incomplete message held from earlier reads. */
  get buffered(): number {
    return this.part ? this.partLen : this.headLen;
  }

  /**
   * Hands each whole message of `chunk` (completing the one held from earlier reads first) to `onFrame`. Returns
   * an OfpError (OFPBRC_BAD_LEN, with the header as data) for a length below the header's, after the messages
   * before it: the stream cannot be resynchronised after that. (Returned, not thrown: what `onFrame` throws is
   * the caller's own and passes through untouched.)
   */
  push(chunk: Buffer, onFrame: FrameHandler): OfpError | undefined {
    const n = chunk.length;
    let pos = 0;
    if (this.headLen > 0 || this.part) {
      if (!this.part) {
        const take = Math.min(4 - this.headLen, n);
        chunk.copy(this.head, this.headLen, 0, take);
        this.headLen += take;
        pos = take;
        if (this.headLen < 4) return undefined;
        const len = (this.head[2]! << 8) | this.head[3]!;
        if (len < HEADER_LEN) return tooShort(len, Buffer.concat([this.head, chunk.subarray(pos, pos + 4)]));
        this.part = Buffer.allocUnsafe(len);
        this.head.copy(this.part, 0, 0, 4);
        this.partLen = 4;
        this.headLen = 0;
      }
      const part = this.part;
      const take = Math.min(part.length - this.partLen, n - pos);
      chunk.copy(part, this.partLen, pos, pos + take);
      this.partLen += take;
      pos += take;
      if (this.partLen < part.length) return undefined;
      this.part = undefined;
      this.partLen = 0;
      if (!onFrame(part)) return undefined;
    }
    while (n - pos >= 4) {
      const len = (chunk[pos + 2]! << 8) | chunk[pos + 3]!;
      if (len < HEADER_LEN) return tooShort(len, chunk.subarray(pos, pos + HEADER_LEN));
      if (n - pos < len) break;
      const frame = chunk.subarray(pos, pos + len);
      pos += len;
      if (!onFrame(frame)) return undefined;
    }
    if (pos === n) return undefined;
    if (n - pos < 4) {
      chunk.copy(this.head, 0, pos, n);
      this.headLen = n - pos;
      return undefined;
    }
    const part = Buffer.allocUnsafe((chunk[pos + 2]! << 8) | chunk[pos + 3]!);
    chunk.copy(part, 0, pos, n);
    this.part = part;
    this.partLen = n - pos;
    return undefined;
  }
}

function tooShort(len: number, header: Buffer): OfpError {
  return new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, `message length ${len} is shorter than the header`, header);
}
