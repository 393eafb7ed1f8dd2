// Several batches of the etcd store written as one transaction (a group commit). etcd refuses a transaction that
// touches a key twice, or puts a key one of its range deletes covers, so the group holds what the batches leave,
// in commit order: a later put of a key replaces an earlier one, a delete drops an earlier put, a range delete the
// puts it covers. A batch that would put a key an earlier batch's range delete covers starts the next group.

/** What one batch writes: its puts, its deletes, and its range deletes (start key -> end key, exclusive). */
export interface BatchOps {
  puts: Map<string, string>;
  deletes: string[];
  ranges: Map<string, string>;
}

/** A batch waiting for its transaction: its writes, its entry in `batch` (JSON) and `meta` as it leaves it. */
export interface QueuedBatch extends BatchOps {
  seq: number;
  entry: string;
  meta: string;
}

export class TxnGroup {
  readonly puts = new Map<string, string>();
  readonly deletes = new Set<string>();
  readonly ranges = new Map<string, string>();
  private readonly entries: string[] = [];
  /** `meta` as the last batch leaves it. */
  meta = '';
  /** The last batch's sequence number: a resend finding it in `batch` was applied. */
  lastSeq = 0;
  private ops = 0;
  private bytes = 0;

  get size(): number {
    return this.entries.length;
  }

  /**
   * Whether `b` can join: the group stays within `maxOps` operations (counted before merging: never above the
   * real count) and `maxBytes` of values, and no put of `b` falls in an earlier batch's range delete.
   * The first batch always joins (commit() refused one too big on its own).
   */
  fits(b: QueuedBatch, maxOps: number, maxBytes: number): boolean {
    if (this.entries.length === 0) return true;
    // Plus `meta` and `batch`.
    if (this.ops + opsOf(b) + 2 > maxOps || this.bytes + bytesOf(b) > maxBytes) return false;
    for (const k of b.puts.keys()) for (const [start, end] of this.ranges) if (k >= start && k < end) return false;
    return true;
  }

  add(b: QueuedBatch): void {
    for (const [k, v] of b.puts) {
      this.deletes.delete(k);
      this.puts.set(k, v);
    }
    for (const k of b.deletes) {
      this.puts.delete(k);
      this.deletes.add(k);
    }
    for (const [start, end] of b.ranges) {
      const before = this.ranges.get(start);
      if (before === undefined || end > before) this.ranges.set(start, end);
      for (const k of this.puts.keys()) if (k >= start && k < end) this.puts.delete(k);
    }
    this.entries.push(b.entry);
    this.meta = b.meta;
    this.lastSeq = b.seq;
    this.ops += opsOf(b);
    this.bytes += bytesOf(b);
  }

  /** The value of `batch`: the writer and every batch of the group, oldest first (etcd-keys.ts BatchValue). */
  value(writer: string): string {
    return `{"writer":${JSON.stringify(writer)},"batches":[${this.entries.join(',')}]}`;
  }
}

function opsOf(b: BatchOps): number {
  return b.puts.size + b.deletes.length + b.ranges.size;
}

function bytesOf(b: QueuedBatch): number {
  let n = b.entry.length + b.meta.length;
  for (const v of b.puts.values()) n += v.length;
  return n;
}
