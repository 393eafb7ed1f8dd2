// One timer for many deadlines (the ends of every active lease): a binary min-heap of (due time, order) with one
// Node timer armed for the earliest. A Timeout per lease (its object, its closure and their context, ~0.3 KB) lived
// as long as the lease, so every new lease's timer survived the young generation and was copied by each scavenge;
// here a deadline is three numbers in arrays and one Map entry, and a new lease that ends after the earliest one
// (as leases of equal duration do) arms no timer at all.
//
// Timing is what a setTimeout(fire, ms) per id would give: a deadline fires once `ms` have passed on the clock
// Node's timers use (monotonic), deadlines due together fire in the order they were set, and an id set again (or
// cleared) before it fires only fires for its latest setting.

import { monotonicClock, type Cancel, type Clock } from '../../controller/clock.js';

/** Node refuses (and replaces by 1 ms) timeouts beyond a signed 32-bit count of ms: longer waits are re-armed. */
const MAX_TIMEOUT_MS = 0x7fffffff;

export class DeadlineTimer {
  /** The heap, as parallel arrays (no object per entry): due time, id, and the setting it is (its order). */
  private readonly due: number[] = [];
  private readonly ids: number[] = [];
  private readonly seqs: number[] = [];
  /** Each pending id's current setting; a heap entry whose seq is not its id's is stale (cleared or re-set). */
  private readonly live = new Map<number, number>();
  private nextSeq = 0;
  private cancel: Cancel | undefined;
  /** The due time the Node timer is armed for (Infinity when not armed). */
  private armedFor = Infinity;
  /** Whether the Node timer fires before `armedFor` (a wait beyond MAX_TIMEOUT_MS, re-armed when it fires). */
  private armedShort = false;
  private readonly onTimer = (): void => this.run();

  constructor(
    private readonly fire: (id: number) => void,
    private readonly clock: Clock = monotonicClock,
  ) {}

  /** Pending deadlines. */
  get size(): number {
    return this.live.size;
  }

  has(id: number): boolean {
    return this.live.has(id);
  }

  /** Fires `id` in `ms` (at once, on the next turn, if ms <= 0); replaces its earlier setting. */
  set(id: number, ms: number): void {
    const due = this.clock.now() + Math.max(0, ms);
    const seq = this.nextSeq++;
    this.live.set(id, seq);
    this.push(due, id, seq);
    if (this.due.length > 2 * this.live.size + 64) this.compact();
    if (due < this.armedFor) this.arm(due);
  }

  clear(id: number): void {
    // The heap entry stays until it comes up (or a compaction drops it): finding it would cost a scan.
    this.live.delete(id);
    if (this.live.size === 0) this.reset();
  }

  /** Forgets every deadline. */
  stop(): void {
    this.live.clear();
    this.reset();
  }

  private reset(): void {
    this.due.length = 0;
    this.ids.length = 0;
    this.seqs.length = 0;
    this.cancel?.();
    this.cancel = undefined;
    this.armedFor = Infinity;
    this.armedShort = false;
  }

  private arm(due: number): void {
    this.cancel?.();
    this.armedFor = due;
    const wait = Math.max(0, due - this.clock.now());
    this.armedShort = wait > MAX_TIMEOUT_MS;
    this.cancel = this.clock.setTimer(Math.min(MAX_TIMEOUT_MS, wait), this.onTimer);
  }

  /** Fires every live deadline that is due, then arms the timer for the next one. */
  private run(): void {
    this.cancel = undefined;
    // The timer fired for `armedFor`: that deadline is due even if the clock reads a hair earlier (unless the
    // wait was cut to MAX_TIMEOUT_MS: then only what the clock says is due fires, and the rest is re-armed).
    const now = this.armedShort ? this.clock.now() : Math.max(this.clock.now(), this.armedFor);
    this.armedFor = Infinity;
    try {
      while (this.due.length > 0 && this.due[0]! <= now) {
        const id = this.ids[0]!;
        const seq = this.seqs[0]!;
        this.pop();
        if (this.live.get(id) !== seq) continue; // stale
        this.live.delete(id);
        this.fire(id);
      }
    } finally {
      this.armNext();
    }
  }

  private armNext(): void {
    while (this.due.length > 0 && this.live.get(this.ids[0]!) !== this.seqs[0]!) this.pop();
    if (this.due.length === 0) this.reset();
    else if (this.due[0]! < this.armedFor) this.arm(this.due[0]!);
  }

  /** Whether entry i comes before entry j: earlier due, or the same due and set earlier. */
  private before(i: number, j: number): boolean {
    const a = this.due[i]!;
    const b = this.due[j]!;
    return a < b || (a === b && this.seqs[i]! < this.seqs[j]!);
  }

  private push(due: number, id: number, seq: number): void {
    this.due.push(due);
    this.ids.push(id);
    this.seqs.push(seq);
    this.up(this.due.length - 1);
  }

  private pop(): void {
    const last = this.due.length - 1;
    this.move(last, 0);
    this.due.length = last;
    this.ids.length = last;
    this.seqs.length = last;
    if (last > 0) this.down(0);
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.due.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const c = l + 1 < n && this.before(l + 1, l) ? l + 1 : l;
      if (!this.before(c, i)) break;
      this.swap(i, c);
      i = c;
    }
  }

  private swap(i: number, j: number): void {
    const { due, ids, seqs } = this;
    const d = due[i]!;
    due[i] = due[j]!;
    due[j] = d;
    const k = ids[i]!;
    ids[i] = ids[j]!;
    ids[j] = k;
    const s = seqs[i]!;
    seqs[i] = seqs[j]!;
    seqs[j] = s;
  }

  private move(from: number, to: number): void {
    this.due[to] = this.due[from]!;
    this.ids[to] = this.ids[from]!;
    this.seqs[to] = this.seqs[from]!;
  }

  /** Drops stale entries (many leases released or extended early) and restores the heap order. */
  private compact(): void {
    const { due, ids, seqs } = this;
    let n = 0;
    for (let i = 0; i < due.length; i++) {
      if (this.live.get(ids[i]!) !== seqs[i]!) continue;
      this.move(i, n++);
    }
    due.length = n;
    ids.length = n;
    seqs.length = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.down(i);
  }
}
