// Failed authentication, limited per client address: a token bucket per address that only failures drain.
// While an address's bucket is empty, every authenticated request from it is refused (429 with Retry-After)
// before its token is even looked at, so guessing tokens costs an attacker the bucket's refill time per guess.
// Successful requests never drain it: a busy, honest client is not slowed down.
//
// A few lines of our own rather than @fastify/rate-limit: that plugin limits all requests (we want failures
// only), and it would be a new dependency for what is one Map.

export interface FailureLimiterOptions {
  /** Failures an address may make in a burst. Default 10. */
  burst?: number;
  /** Failures per minute an address regains. Default 10. */
  perMinute?: number;
  /** Addresses tracked at most (the oldest are forgotten first), so a flood of addresses cannot exhaust memory. */
  maxTracked?: number;
  now?: () => number;
}

interface Bucket { tokens: number; at: number }

export class FailureLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly burst: number;
  private readonly perMs: number;
  private readonly maxTracked: number;
  private readonly now: () => number;

  constructor(opts: FailureLimiterOptions = {}) {
    this.burst = opts.burst ?? 10;
    this.perMs = (opts.perMinute ?? 10) / 60_000;
    this.maxTracked = opts.maxTracked ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** Seconds the address must wait before authenticating again; 0 if it may now. */
  retryAfter(addr: string): number {
    const b = this.refilled(addr);
    if (!b || b.tokens >= 1) return 0;
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000));
  }

  /** Records a failed authentication from the address. */
  fail(addr: string): void {
    const b = this.refilled(addr) ?? { tokens: this.burst, at: this.now() };
    b.tokens = Math.max(0, b.tokens - 1);
    this.buckets.delete(addr); // re-insert: Map order is least recently failed first
    this.buckets.set(addr, b);
    while (this.buckets.size > this.maxTracked) this.buckets.delete(this.buckets.keys().next().value!);
  }

  get tracked(): number {
    return this.buckets.size;
  }

  private refilled(addr: string): Bucket | undefined {
    const b = this.buckets.get(addr);
    if (!b) return undefined;
    const now = this.now();
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.perMs);
    b.at = now;
    if (b.tokens >= this.burst) {
      this.buckets.delete(addr); // full again: nothing to remember
      return undefined;
    }
    return b;
  }
}
