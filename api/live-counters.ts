// Live counters of a lease for GET /api/v1/transfers/{id}: the lease's flows are read from the switch for the
// request (at most once per `minIntervalMs` per lease, and one read at a time, so a dashboard refreshing fast
// cannot flood a switch with flow-stats requests), and the rate is the byte delta between the last two reads
// (this one and the previous one, whether a request's or the app's periodic poll) over the time between them.
import type { DmzApp } from '../apps/dmz/dmz-app.js';
import type { DmzEvent } from '../apps/dmz/dmz-app-shapes.js';
import type { LeaseRecord } from '../apps/dmz/lease-book.js';
import type { RateView } from './views.js';

/**
 * The last two reads of a lease's byte counters. One per active lease, changed in place by each read: a poll
 * reads every active lease, and a new object per lease per poll would be garbage the next poll.
 */
interface Samples {
  /** Whether there was a read before the last one. */
  hasPrev: boolean;
  prevAt: number;
  prevIn: number;
  prevOut: number;
  at: number;
  bytesIn: number;
  bytesOut: number;
}

export class LiveCounters {
  private readonly samples = new Map<number, Samples>();
  private readonly inflight = new Map<number, Promise<void>>();
  private readonly onCounters = (leases: LeaseRecord[]): void => {
    const at = this.now();
    for (const l of leases) {
      if (l.state !== 'active') {
        this.samples.delete(l.id);
        continue;
      }
      if (!this.readable(l)) continue; // a poll skips a switch that is not connected: its counters are old, not idle
      const s = this.samples.get(l.id);
      if (!s) {
        this.samples.set(l.id, { hasPrev: false, prevAt: 0, prevIn: 0, prevOut: 0, at, bytesIn: l.counters.bytesIn, bytesOut: l.counters.bytesOut });
        continue;
      }
      s.hasPrev = true;
      s.prevAt = s.at;
      s.prevIn = s.bytesIn;
      s.prevOut = s.bytesOut;
      s.at = at;
      s.bytesIn = l.counters.bytesIn;
      s.bytesOut = l.counters.bytesOut;
    }
  };

  /** A closed lease's samples go with it (its last counters event came while it was still active). */
  private readonly onEvent = (e: DmzEvent): void => {
    if (e.type === 'lease.closed') this.samples.delete(e.lease.id);
  };

  constructor(
    private readonly app: DmzApp,
    /** Whether the lease's switch is connected (its counters can be read). */
    private readonly readable: (l: LeaseRecord) => boolean,
    private readonly minIntervalMs = 250,
    private readonly now: () => number = Date.now,
  ) {
    app.on('counters', this.onCounters);
    app.on('event', this.onEvent);
  }

  /** Leases with samples (for checks that nothing per lease outlives it). */
  get size(): number {
    return this.samples.size + this.inflight.size;
  }

  detach(): void {
    this.app.off('counters', this.onCounters);
    this.app.off('event', this.onEvent);
  }

  /** Reads the lease's counters from its switch unless a read is under way or just happened. */
  refresh(rec: LeaseRecord): Promise<void> {
    const running = this.inflight.get(rec.id);
    if (running) return running;
    const last = this.samples.get(rec.id);
    if (last && this.now() - last.at < this.minIntervalMs) return Promise.resolve();
    const p = this.app.pollCounters([rec]).finally(() => this.inflight.delete(rec.id));
    this.inflight.set(rec.id, p);
    return p;
  }

  rate(id: number): RateView | undefined {
    const s = this.samples.get(id);
    if (!s) return undefined;
    const view: RateView = { sampled_at: new Date(s.at).toISOString(), interval_seconds: null, bps_in: null, bps_out: null };
    if (!s.hasPrev || s.at <= s.prevAt) return view;
    const secs = (s.at - s.prevAt) / 1000;
    view.interval_seconds = secs;
    const bps = (a: number, b: number): number | null => (b >= a ? ((b - a) * 8) / secs : null);
    view.bps_in = bps(s.prevIn, s.bytesIn);
    view.bps_out = bps(s.prevOut, s.bytesOut);
    return view;
  }
}
