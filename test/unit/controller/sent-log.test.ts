// The sent log: an error that answers no outstanding request is tied to the message that caused it by decoding
// that message again from the batch it was written in; how far back that reaches.
import { describe, expect, it } from 'vitest';
import { SentLog } from '../../../controller/sent-log.js';
import { Writer, encodeInto, type OfpMessage } from '../../../controller/openflow/index.js';

/** The batch writer, reused from batch to batch as SwitchConnection's is. */
const writer = new Writer(256);

/** Writes `msgs` as one batch (as SwitchConnection does), noting each; returns the batch's bytes. */
function batch(log: SentLog, msgs: OfpMessage[]): Buffer {
  const w = writer.reset();
  for (const m of msgs) {
    const at = w.pos;
    encodeInto(w, m);
    log.note(m.xid, at);
  }
  const bytes = w.toBuffer();
  log.written(bytes);
  return bytes;
}

const echo = (xid: number, size = 0): OfpMessage => ({ type: 'echoRequest', xid, data: Buffer.alloc(size, xid & 0xff) });

describe('SentLog', () => {
  it('finds a message by xid in the batch it was written in, decoded', () => {
    const log = new SentLog();
    batch(log, [echo(1, 3), echo(2, 5), { type: 'barrierRequest', xid: 3 }]);
    expect(log.find(2)).toEqual(echo(2, 5));
    expect(log.find(3)).toEqual({ type: 'barrierRequest', xid: 3 });
    expect(log.find(4)).toBeUndefined();
  });

  it('a message noted but not written yet is not found', () => {
    const log = new SentLog();
    log.note(9, 0);
    expect(log.find(9)).toBeUndefined();
  });

  it('remembers the last 1024 xids; an older one whose slot was reused is not confused with the new one', () => {
    const log = new SentLog();
    for (let x = 1; x <= 1100; x++) batch(log, [echo(x)]);
    expect(log.find(1100)).toEqual(echo(1100));
    expect(log.find(50)).toBeUndefined(); // its slot (50) now holds xid 50 + 1024
    expect(log.find(50 + 1024)).toEqual(echo(50 + 1024));
    expect(log.find(77)).toEqual(echo(77)); // 1024 back: still there
  });

  it('holds at most 256 KB of written batches (the newest always): older messages are no longer found', () => {
    const log = new SentLog();
    for (let x = 1; x <= 100; x++) batch(log, [echo(x, 10_000)]); // ~1 MB written in all
    expect(log.find(100)).toEqual(echo(100, 10_000));
    expect(log.find(80)).toEqual(echo(80, 10_000)); // ~200 KB back
    expect(log.find(50)).toBeUndefined(); // ~500 KB back: let go
    const big = new SentLog();
    batch(big, [echo(1, 60_000), echo(2, 60_000), echo(3, 60_000), echo(4, 60_000), echo(5, 60_000)]);
    expect(big.find(1)).toEqual(echo(1, 60_000)); // one batch over the limit is still held
  });

  it('counts what a held batch keeps alive: a small batch that is a view of a larger block holds the whole block', () => {
    const log = new SentLog();
    const blocks: ArrayBuffer[] = [];
    for (let x = 1; x <= 10; x++) {
      const w = new Writer(64);
      encodeInto(w, echo(x));
      log.note(x, 0);
      const block = new ArrayBuffer(64 * 1024);
      blocks.push(block);
      const bytes = Buffer.from(block, 0, w.pos);
      w.view().copy(bytes);
      log.written(bytes);
    }
    expect(log.find(10)).toEqual(echo(10));
    expect(log.find(7)).toEqual(echo(7)); // 4 blocks of 64 KB: 256 KB
    expect(log.find(6)).toBeUndefined();
    // Batches sharing one block count it once.
    const shared = new SentLog();
    const block = Buffer.alloc(64 * 1024);
    for (let x = 1; x <= 20; x++) {
      const w = new Writer(64);
      encodeInto(w, echo(x));
      shared.note(x, 0);
      const bytes = block.subarray(x * 100, x * 100 + w.pos);
      w.view().copy(bytes);
      shared.written(bytes);
    }
    expect(shared.find(1)).toEqual(echo(1));
  });
});
