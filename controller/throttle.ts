// Reports occurrences of a kind (a refused connection, say) without letting a flood of them flood the reports:
// the first of a key is reported at once, the rest within the window that follows are counted and reported
// together when it ends, and so on while they keep coming. Keys beyond `maxKeys` share one overflow key.

export class Throttle<T> {
  private readonly windows = new Map<string, { count: number; last: T; timer: NodeJS.Timeout }>();

  /** `report(key, count, last)`: `count` occurrences of `key` since the last report, `last` the latest. */
  constructor(
    private readonly windowMs: number,
    private readonly report: (key: string, count: number, last: T) => void,
    private readonly maxKeys = 1024,
    private readonly overflowKey = '*',
  ) {}

  note(key: string, item: T): void {
    if (!this.windows.has(key) && this.windows.size >= this.maxKeys) key = this.overflowKey;
    const w = this.windows.get(key);
    if (w) {
      w.count++;
      w.last = item;
      return;
    }
    this.report(key, 1, item);
    this.open(key, item);
  }

  private open(key: string, item: T): void {
    const timer = setTimeout(() => {
      const w = this.windows.get(key)!;
      this.windows.delete(key);
      if (w.count === 0) return;
      this.report(key, w.count, w.last);
      this.open(key, w.last);
    }, this.windowMs);
    timer.unref();
    this.windows.set(key, { count: 0, last: item, timer });
  }

  /** Drops what is still counted (nothing more is reported). */
  close(): void {
    for (const w of this.windows.values()) clearTimeout(w.timer);
    this.windows.clear();
  }
}
