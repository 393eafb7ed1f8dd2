// The API's two limits, both token buckets keyed by a string:
//   - failed authentication, per client address: only failures drain it. While an address's bucket is empty,
//     its requests that do not carry a valid token are refused (429 with Retry-After) instead of answered 401,
//     and are not logged one by one. A valid token is still accepted from it, so that a guesser sharing a NAT
//     with a DTN cannot lock the DTN out; the token's 256-bit secret, not this limit, is what makes guessing
//     hopeless (see tokens.ts).
//   - requests per token (by token id): every authenticated request takes one; an empty bucket is a 429 with
//     Retry-After, so one runaway client cannot take the API from the others.
//
// A few lines of our own rather than @fastify/rate-limit: that plugin limits all requests by address (we want
// failures by address, and requests by token), and it would be a new dependency for what is one Map.

export interface BucketOptions {
  /** Tokens a bucket holds (the burst). */
  burst: number;
  /** Tokens a bucket regains per second. */
  perSecond: number;
  /** Keys tracked at most (the least recently drained are forgotten first), so that a flood cannot exhaust memory. */
  maxTracked?: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Token buckets by key; a full bucket is not kept (an unknown key is a full bucket). */
export class KeyedBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly burst: number;
  private readonly perMs: number;
  private readonly maxTracked: number;
  private readonly now: () => number;

  constructor(opts: BucketOptions) {
    if (!(opts.burst >= 1) || !(opts.perSecond > 0))
      throw new Error(`a token bucket needs burst >= 1 and a positive rate (burst ${opts.burst}, ${opts.perSecond}/s)`);
    this.burst = opts.burst;
    this.perMs = opts.perSecond / 1000;
    this.maxTracked = opts.maxTracked ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** Seconds until the key's bucket holds a token again; 0 if it holds one now. */
  retryAfter(key: string): number {
    const b = this.refilled(key);
    return !b || b.tokens >= 1 ? 0 : this.wait(b);
  }

  /** Takes a token from the key's bucket (none left: stays empty). */
  drain(key: string): void {
    const b = this.refilled(key) ?? { tokens: this.burst, at: this.now() };
    b.tokens = Math.max(0, b.tokens - 1);
    this.keep(key, b);
  }

  /** Takes a token if the bucket holds one and returns 0; else takes nothing and returns the seconds to wait. */
  take(key: string): number {
    const b = this.refilled(key) ?? { tokens: this.burst, at: this.now() };
    if (b.tokens < 1) return this.wait(b);
    b.tokens -= 1;
    this.keep(key, b);
    return 0;
  }

  get tracked(): number {
    return this.buckets.size;
  }

  private wait(b: Bucket): number {
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000));
  }

  private keep(key: string, b: Bucket): void {
    this.buckets.delete(key); // re-insert: Map order is least recently drained first
    this.buckets.set(key, b);
    while (this.buckets.size > this.maxTracked) this.buckets.delete(this.buckets.keys().next().value!);
  }

  private refilled(key: string): Bucket | undefined {
    const b = this.buckets.get(key);
    if (!b) return undefined;
    const now = this.now();
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.perMs);
    b.at = now;
    if (b.tokens >= this.burst) {
      this.buckets.delete(key); // full again: nothing to remember
      return undefined;
    }
    return b;
  }
}

export interface FailureLimiterOptions {
  /** Failures an address may make in a burst. Default 10. */
  burst?: number;
  /** Failures per minute an address regains. Default 10. */
  perMinute?: number;
  maxTracked?: number;
  now?: () => number;
}

/** Failed authentications per client address. */
export class FailureLimiter {
  private readonly buckets: KeyedBuckets;

  constructor(opts: FailureLimiterOptions = {}) {
    this.buckets = new KeyedBuckets({
      burst: opts.burst ?? 10,
      perSecond: (opts.perMinute ?? 10) / 60,
      maxTracked: opts.maxTracked ?? 10_000,
      ...(opts.now ? { now: opts.now } : {}),
    });
  }

  /** Seconds before the address's failures are answered 401 again; 0 if they are now. */
  retryAfter(addr: string): number {
    return this.buckets.retryAfter(addr);
  }

  /** Records a failed authentication from the address. */
  fail(addr: string): void {
    this.buckets.drain(addr);
  }

  get tracked(): number {
    return this.buckets.tracked;
  }
}

export interface RequestLimiterOptions {
  /** Requests per second a token regains. Default 100. */
  perSecond?: number;
  /** Requests a token may make in a burst. Default 200. */
  burst?: number;
  now?: () => number;
}

export const REQUEST_LIMIT_DEFAULTS = { perSecond: 100, burst: 200 } as const;

/** Authenticated requests per token. */
export class RequestLimiter {
  private readonly buckets: KeyedBuckets;

  constructor(opts: RequestLimiterOptions = {}) {
    this.buckets = new KeyedBuckets({
      perSecond: opts.perSecond ?? REQUEST_LIMIT_DEFAULTS.perSecond,
      burst: opts.burst ?? REQUEST_LIMIT_DEFAULTS.burst,
      maxTracked: 100_000,
      ...(opts.now ? { now: opts.now } : {}),
    });
  }

  /** Counts a request of the token: 0 if it may go on, else the seconds it must wait. */
  take(tokenId: number): number {
    return this.buckets.take(String(tokenId));
  }
}
