// Connections that have not finished the OpenFlow handshake (nor, over TLS, the TLS handshake): nothing has
// authenticated them yet, so their number is capped, overall and per source address, to keep what a flood of
// idle connections costs bounded. A switch leaves this count once it is ready.

export interface PendingLimits {
  /** Connections not yet ready, from all sources together. */
  maxPending: number;
  /** ...and from one source address. */
  maxPendingPerSource: number;
}

export const DEFAULT_PENDING_LIMITS: PendingLimits = { maxPending: 1024, maxPendingPerSource: 128 };

/** Which cap a refused connection hit. */
export type PendingCap = 'pending-cap' | 'pending-cap-per-source';

export class PendingConnections {
  private total = 0;
  private readonly bySource = new Map<string, number>();

  constructor(private readonly limits: PendingLimits) {}

  get size(): number {
    return this.total;
  }

  /** Takes a slot for a connection from `source`: a function that gives it back (once), or the cap that is full. */
  take(source: string): (() => void) | PendingCap {
    if (this.total >= this.limits.maxPending) return 'pending-cap';
    const n = this.bySource.get(source) ?? 0;
    if (n >= this.limits.maxPendingPerSource) return 'pending-cap-per-source';
    this.total++;
    this.bySource.set(source, n + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.total--;
      const left = this.bySource.get(source)! - 1;
      if (left === 0) this.bySource.delete(source);
      else this.bySource.set(source, left);
    };
  }
}

/** The source address of a peer, an IPv4-mapped IPv6 address as its IPv4 address (one source, one count). */
export function sourceAddress(remoteAddress: string | undefined): string {
  const a = remoteAddress ?? '?';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}
