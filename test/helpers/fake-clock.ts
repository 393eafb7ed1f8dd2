// A Clock that moves only when told: advance(ms) fires the timers due, in due order (ties in the order set).
import type { Cancel, Clock } from '../../controller/clock.js';

export class FakeClock implements Clock {
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(private t = 0) {}

  now(): number {
    return this.t;
  }

  setTimer(ms: number, fn: () => void): Cancel {
    const id = this.seq++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return () => void this.timers.delete(id);
  }

  /** Pending timers. */
  get pending(): number {
    return this.timers.size;
  }

  advance(ms: number): void {
    const until = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= until && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = until;
  }
}
