// What a connection sent lately, so that an OFPT_ERROR that answers no outstanding request (a refused
// fire-and-forget flow-mod) can name the message that caused it. Kept as bytes, not as message objects: the
// batches already written are held (a few hundred kilobytes at most) with each message's xid and place in them,
// and a message is decoded again only when an error names it. Holding the last thousand message objects of every
// switch instead kept tens of thousands of objects alive under load, and the garbage collector copied them over
// and over (a fifth of the controller's work in the packet-in flood benchmark).
import { decode, type OfpMessage } from './openflow/index.js';

/** How many messages are remembered (by xid, so a slot is xid % MESSAGES). */
const MESSAGES = 1024;
/**
 * How many written batches are held, and how many bytes they may keep alive together (the newest is always held).
 * A small batch is a view of a shared 8 KB pool slab (Buffer.poolSize), and holding it keeps the whole slab: the
 * bytes counted are the slabs', each once, not the batches' own lengths.
 */
const BATCHES = 1024;
const BATCH_BYTES = 256 * 1024;

export class SentLog {
  private messages: number;
  private batchSlots: number;
  private xids: Float64Array;
  /** Sequence number of the batch each message went out in, and its offset there. */
  private batchOf: Float64Array;
  private offsets: Int32Array;
  private batches: (Buffer | undefined)[];
  /** The sequence number of the batch being filled (not written yet); batches [oldest, current) are held. */
  private current = 0;
  private oldest = 0;
  private heldBytes = 0;
  /** How many held batches are views of each memory block (ArrayBuffer) held. */
  private readonly blocks = new Map<ArrayBufferLike, number>();

  /**
   * Remembers `messages` messages in `batches` batches. A connection starts small (a handshake sends a few
   * messages, and thousands of connections may be handshaking at once) and grows once its switch is ready.
   */
  constructor(messages = MESSAGES, batches = BATCHES) {
    this.messages = messages;
    this.batchSlots = batches;
    this.xids = new Float64Array(messages).fill(-1);
    this.batchOf = new Float64Array(messages);
    this.offsets = new Int32Array(messages);
    this.batches = new Array<Buffer | undefined>(batches);
  }

  /** Grows to the full size (what it holds is kept, where the larger rings have room for it). */
  grow(): void {
    if (this.messages >= MESSAGES && this.batchSlots >= BATCHES) return;
    const { xids, batchOf, offsets, batches, batchSlots } = this;
    this.messages = MESSAGES;
    this.batchSlots = BATCHES;
    this.xids = new Float64Array(MESSAGES).fill(-1);
    this.batchOf = new Float64Array(MESSAGES);
    this.offsets = new Int32Array(MESSAGES);
    this.batches = new Array<Buffer | undefined>(BATCHES);
    for (let i = 0; i < xids.length; i++) {
      if (xids[i]! < 0) continue;
      const j = xids[i]! % MESSAGES;
      this.xids[j] = xids[i]!;
      this.batchOf[j] = batchOf[i]!;
      this.offsets[j] = offsets[i]!;
    }
    for (let seq = this.oldest; seq < this.current; seq++) this.batches[seq % BATCHES] = batches[seq % batchSlots];
  }

  /** A message starting at `offset` in the batch being filled went out under `xid`. */
  note(xid: number, offset: number): void {
    const i = xid % this.messages;
    this.xids[i] = xid;
    this.batchOf[i] = this.current;
    this.offsets[i] = offset;
  }

  /** The batch being filled was written as `bytes` (its offsets are `bytes`'); the next one starts. */
  written(bytes: Buffer): void {
    if (this.current - this.oldest === this.batchSlots) this.dropOldest(); // its slot is the one to fill
    this.batches[this.current % this.batchSlots] = bytes;
    const n = this.blocks.get(bytes.buffer) ?? 0;
    if (n === 0) this.heldBytes += bytes.buffer.byteLength;
    this.blocks.set(bytes.buffer, n + 1);
    this.current++;
    while (this.current - this.oldest > 1 && this.heldBytes > BATCH_BYTES) this.dropOldest();
  }

  private dropOldest(): void {
    const k = this.oldest % this.batchSlots;
    const block = this.batches[k]!.buffer;
    const n = this.blocks.get(block)!;
    if (n > 1) this.blocks.set(block, n - 1);
    else {
      this.blocks.delete(block);
      this.heldBytes -= block.byteLength;
    }
    this.batches[k] = undefined;
    this.oldest++;
  }

  /** The message sent under `xid`, decoded from the bytes written, if they are still held. */
  find(xid: number): OfpMessage | undefined {
    const i = xid % this.messages;
    if (this.xids[i] !== xid) return undefined;
    const seq = this.batchOf[i]!;
    if (seq < this.oldest || seq >= this.current) return undefined;
    const bytes = this.batches[seq % this.batchSlots]!;
    const at = this.offsets[i]!;
    if (at + 8 > bytes.length) return undefined;
    const len = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    try {
      return decode(bytes.subarray(at, at + len));
    } catch {
      return undefined; // ours to decode, but an error report must not fail over it
    }
  }
}
