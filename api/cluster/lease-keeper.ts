// The election's etcd lease on a thread of its own (lease-keeper-worker.js): keepalives go out on time however
// long the main thread is busy, and how long the lease certainly holds is read from shared memory, current at
// the moment the main thread asks. One lease (one term's candidacy) at a time. A thread that dies ends the term it
// kept; the next grant starts another.
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../controller/log.js';

/** What the worker is started with. */
export interface KeeperData {
  hosts: string[];
  dialTimeoutMs: number;
  /** Two BigInt64 slots: the term the deadline belongs to, and the deadline (ms epoch). */
  shared: SharedArrayBuffer;
}

export type KeeperRequest = { op: 'grant'; seq: number; ttl: number } | { op: 'release'; seq: number; revoke: boolean } | { op: 'close' };

export type KeeperReport =
  | { op: 'granted'; seq: number; id: string }
  | { op: 'failed'; seq: number; err: string }
  | { op: 'released'; seq: number }
  | { op: 'lost'; seq: number; why: string }
  | { op: 'log'; seq: number; level: 'warn'; msg: string; fields: Record<string, unknown> };

/** A lease the keeper holds: its etcd id, and until when it certainly holds (0: no longer kept). */
export interface KeptLease {
  readonly id: string;
  readonly seq: number;
  validUntil(): number;
}

interface KeeperEvents {
  /** etcd says the lease is gone (expired before a keepalive reached it). */
  lost: [seq: number, why: string];
}

export interface LeaseKeeperOptions {
  hosts: string[];
  dialTimeoutMs?: number;
  logger?: Logger;
}

export class LeaseKeeper extends EventEmitter<KeeperEvents> {
  private worker: Worker | undefined;
  private readonly shared = new BigInt64Array(new SharedArrayBuffer(2 * BigInt64Array.BYTES_PER_ELEMENT));
  private readonly waiting = new Map<number, { resolve: (r: KeeperReport) => void }>();
  private seq = 0;
  private closing = false;

  constructor(private readonly opts: LeaseKeeperOptions) {
    super();
    this.worker = this.spawn();
  }

  private spawn(): Worker {
    const data: KeeperData = { hosts: this.opts.hosts, dialTimeoutMs: this.opts.dialTimeoutMs ?? 5_000, shared: this.shared.buffer };
    const worker = new Worker(new URL('./lease-keeper-worker.js', import.meta.url), { workerData: data });
    worker.on('message', (m: KeeperReport) => this.onReport(m));
    worker.on('error', (e: Error) => this.opts.logger?.error({ err: e.message }, 'cluster: the lease keeper failed'));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      // Every lease it kept is unkept from now on: the terms that hold one end.
      Atomics.store(this.shared, 1, 0n);
      for (const [seq, w] of this.waiting) w.resolve({ op: 'failed', seq, err: 'the lease keeper stopped' });
      this.waiting.clear();
      if (this.closing) return;
      this.opts.logger?.error({ code }, 'cluster: the lease keeper thread stopped; the next campaign starts another');
      if (this.seq > 0) this.emit('lost', this.seq, 'the lease keeper stopped');
    });
    return worker;
  }

  /** A new lease of `ttlSeconds`, kept alive until released (or lost). */
  async grant(ttlSeconds: number): Promise<KeptLease> {
    if (!this.worker && !this.closing) this.worker = this.spawn();
    const seq = ++this.seq;
    const r = await this.ask({ op: 'grant', seq, ttl: ttlSeconds });
    if (r.op !== 'granted') throw new Error(r.op === 'failed' ? r.err : `unexpected answer ${r.op}`);
    return { id: r.id, seq, validUntil: () => this.validUntil(seq) };
  }

  /** Stops keeping the lease alive; with `revoke`, etcd also deletes its keys now rather than at its TTL. */
  async release(lease: KeptLease, revoke: boolean): Promise<void> {
    if (!this.worker) return;
    await this.ask({ op: 'release', seq: lease.seq, revoke });
  }

  /** Revokes what it keeps and stops the thread. */
  async close(): Promise<void> {
    this.closing = true;
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise((r) => worker.once('exit', r));
    worker.postMessage({ op: 'close' } satisfies KeeperRequest);
    const timer = setTimeout(() => void worker.terminate(), 3_000);
    await exited;
    clearTimeout(timer);
  }

  private validUntil(seq: number): number {
    return Atomics.load(this.shared, 0) === BigInt(seq) ? Number(Atomics.load(this.shared, 1)) : 0;
  }

  private ask(m: Extract<KeeperRequest, { seq: number }>): Promise<KeeperReport> {
    const worker = this.worker;
    if (!worker) return Promise.resolve({ op: 'failed', seq: m.seq, err: 'the lease keeper stopped' });
    return new Promise((resolve) => {
      this.waiting.set(m.seq, { resolve });
      worker.postMessage(m);
    });
  }

  private onReport(m: KeeperReport): void {
    if (m.op === 'log') {
      this.opts.logger?.[m.level]({ ...m.fields, lease: m.seq }, m.msg);
    } else if (m.op === 'lost') {
      this.emit('lost', m.seq, m.why);
    } else {
      const w = this.waiting.get(m.seq);
      this.waiting.delete(m.seq);
      w?.resolve(m);
    }
  }
}
