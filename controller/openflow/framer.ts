// Splits a byte stream (socket chunks) into whole OpenFlow messages using the header's length field.
//
// A message wholly inside one chunk is returned as a view of that chunk (no copy); one that spans chunks is
// assembled into a fresh buffer. Memory handed out is never reused, so decoded views stay valid.
// A length below the header size cannot be framed past: the stream is broken, and push() throws.
import { OfpError, OFPET, OFPBRC } from './errors.js';
import { OFP_HEADER_LEN } from './constants.js';

export class Framer {
  private pending: Buffer[] = [];
  private pendingLen = 0;

  /** Bytes buffered but not yet returned as a whole message. */
  get buffered(): number {
    return this.pendingLen;
  }

  /** Feeds a chunk; returns the whole messages it completes, in order. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let buf = chunk;
    if (this.pendingLen > 0) {
      this.pending.push(chunk);
      this.pendingLen += chunk.length;
      // Assemble only once the pending message is complete (or its header readable).
      const head = this.pendingLen >= 4 ? this.peekLength() : -1;
      if (head < 0 || this.pendingLen < head) return out;
      buf = Buffer.concat(this.pending, this.pendingLen);
      this.pending = [];
      this.pendingLen = 0;
    }
    let pos = 0;
    while (buf.length - pos >= 4) {
      const len = (buf[pos + 2]! << 8) | buf[pos + 3]!;
      if (len < OFP_HEADER_LEN) {
        throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_LEN, `message length ${len} is shorter than the header`, buf.subarray(pos, pos + 8));
      }
      if (buf.length - pos < len) break;
      out.push(buf.subarray(pos, pos + len));
      pos += len;
    }
    if (pos < buf.length) {
      const rest = buf.subarray(pos);
      this.pending.push(rest);
      this.pendingLen = rest.length;
    }
    return out;
  }

  private peekLength(): number {
    // The length field may itself span chunks.
    const bytes: number[] = [];
    for (const b of this.pending) {
      for (let i = 0; i < b.length && bytes.length < 4; i++) bytes.push(b[i]!);
      if (bytes.length === 4) break;
    }
    const len = (bytes[2]! << 8) | bytes[3]!;
    if (len < OFP_HEADER_LEN) return 0; // let push() assemble and report the broken length
    return len;
  }
}
