// Leader election on etcd (issue 19), the recipe of etcd's own concurrency package: each candidate puts a key
// under `dir` (outside the state's prefix) bound to an etcd lease (TTL 2 s by default); the key with the lowest create revision
// leads. When the leader's lease lapses (it died, or lost etcd), etcd deletes its key and the next candidate leads.
//
// Generation id: the leader key's create revision. etcd revisions only rise, so each leader's is above every
// earlier leader's: it orders OpenFlow master claims (OF1.3.5 §6.3.5) and fences etcd writes (fence()).
//
// Stepping down at once: a leader counts its lease from when it SENT the keepalive the server answered (the
// server's TTL starts later), and stops leading when that runs out without a newer answer, before etcd can have
// deleted its key. A paused process cannot count: its late writes are refused by etcd (the fence) and by the
// switches (the newer generation id), whatever it believes. The lease is kept on a thread of its own
// (lease-keeper.ts): a main thread busy for longer than the TTL (a leader stack starting on a loaded host) does
// not lose the lead for it.
import { EventEmitter } from 'node:events';
import type { Etcd3, Watcher } from 'etcd3';
import type { Logger } from '../../controller/log.js';
import { LeaseKeeper, type KeptLease } from './lease-keeper.js';
import { NotLeaderError } from './not-leader.js';

export { NotLeaderError };

/** What a leader advertises in its key. */
export interface LeaderValue {
  name: string;
  /** Where its API answers (forwarded writes go there). */
  url: string;
}

export interface LeaderInfo extends LeaderValue {
  /** The leader key's create revision: this term's generation id. */
  generation: bigint;
  key: string;
}

export interface ElectionOptions extends LeaderValue {
  /** For the leader keys (watch, reads, puts). */
  client: Etcd3;
  /** The etcd endpoints `client` uses: the lease keeper's thread connects on its own. */
  hosts: string[];
  /** Where the candidates' keys live, ending in '/': outside the state store's prefix (whose range it reads whole). */
  dir: string;
  ttlSeconds?: number;
  /** Wait before campaigning again after losing or failing to reach etcd (ms). Default 200. */
  retryMs?: number;
  logger?: Logger;
}

export interface ElectionEvents {
  /** The leader changed (undefined: none known). */
  leader: [LeaderInfo | undefined];
  /** This candidate leads, with its term. */
  elected: [LeaderInfo];
  /** This candidate no longer leads (why); it campaigns again. */
  deposed: [string];
}

interface Term {
  lease: KeptLease;
  key: string;
  createRevision: bigint;
  /** Fires when the lease's deadline passes, as it stood when set: it looks again then. */
  expiry: NodeJS.Timeout | undefined;
}

export class LeaderElection extends EventEmitter<ElectionEvents> {
  private readonly ttl: number;
  private readonly dir: string;
  private term: Term | undefined;
  private leading: LeaderInfo | undefined;
  private current: LeaderInfo | undefined;
  private watcher: Watcher | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  private reading = Promise.resolve();
  private keeper: LeaseKeeper | undefined;

  constructor(private readonly opts: ElectionOptions) {
    super();
    this.ttl = opts.ttlSeconds ?? 2;
    if (!opts.dir.endsWith('/')) throw new Error(`election dir ${JSON.stringify(opts.dir)} must end with '/'`);
    this.dir = opts.dir;
  }

  /** The leader as last seen in etcd. */
  get leader(): LeaderInfo | undefined {
    return this.current;
  }

  /** This instance's term, while it leads and its lease certainly holds. */
  get ownTerm(): LeaderInfo | undefined {
    return this.leading && Date.now() < (this.term?.lease.validUntil() ?? 0) ? this.leading : undefined;
  }

  get isLeader(): boolean {
    return this.ownTerm !== undefined;
  }

  /**
   * What an etcd transaction by the leader compares (its key's create revision), or a NotLeaderError: a deposed
   * leader's write then does nothing, even if it does not know yet that it was deposed.
   */
  fence(): { key: string; createRevision: bigint } {
    const t = this.ownTerm;
    if (!t) throw new NotLeaderError(this.leading ? 'its etcd lease may have lapsed' : 'another instance leads, or none yet');
    return { key: t.key, createRevision: t.generation };
  }

  /** Starts watching the leader keys and campaigning. */
  async start(): Promise<void> {
    this.keeper = new LeaseKeeper({ hosts: this.opts.hosts, ...(this.opts.logger ? { logger: this.opts.logger } : {}) });
    this.keeper.on('lost', (seq, why) => {
      if (this.term?.lease.seq === seq) this.lost(this.term, why);
    });
    this.watcher = await this.opts.client.watch().prefix(this.dir).create();
    this.watcher.on('put', () => this.refresh('put'));
    this.watcher.on('delete', () => this.refresh('delete'));
    this.watcher.on('connected', () => this.refresh('watch connected'));
    this.watcher.on('error', (e) => this.opts.logger?.warn({ err: e.message }, 'cluster: leader watch failed'));
    this.refresh('start');
    this.campaign();
  }

  /** Gives up the lead (or candidacy) and stops. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    this.endTerm('closing');
    await this.watcher?.cancel().catch(() => undefined);
    // The keeper revokes what it holds as it stops: the next candidate need not wait out the TTL.
    await this.keeper?.close();
  }

  private campaign(): void {
    if (this.closed) return;
    void this.runCampaign().catch((e: Error) => {
      if (this.closed) return;
      this.opts.logger?.warn({ err: e.message }, 'cluster: campaign failed; trying again');
      this.retryLater();
    });
  }

  private retryLater(): void {
    if (this.closed) return;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.campaign(), this.opts.retryMs ?? 200);
  }

  private async runCampaign(): Promise<void> {
    const keeper = this.keeper!;
    const lease = await keeper.grant(this.ttl);
    if (this.closed) {
      await keeper.release(lease, true);
      return;
    }
    const key = `${this.dir}${lease.id}`;
    const value: LeaderValue = { name: this.opts.name, url: this.opts.url };
    let createRevision: bigint;
    try {
      const res = await this.opts.client
        .if(key, 'Create', '==', 0)
        .then(this.opts.client.put(key).value(JSON.stringify(value)).lease(lease.id))
        .commit();
      if (!res.succeeded) throw new Error(`leader key ${key} exists already`);
      createRevision = BigInt(res.header.revision);
    } catch (e) {
      // No key, no candidacy: the lease must not be kept alive for nothing.
      void keeper.release(lease, true);
      throw e;
    }
    const term: Term = { lease, key, createRevision, expiry: undefined };
    this.term = term;
    this.watchDeadline(term);
    this.refresh('campaign');
  }

  /** When the lease's deadline passes without a newer one (the keeper moves it on each answer), the term ends. */
  private watchDeadline(term: Term): void {
    const check = (): void => {
      if (this.term !== term) return;
      const until = term.lease.validUntil();
      if (Date.now() >= until) this.lost(term, `no keepalive answered for ${this.ttl} s`);
      else term.expiry = setTimeout(check, until - Date.now());
    };
    check();
  }

  private lost(term: Term, why: string): void {
    if (this.term !== term) return;
    this.endTerm(why);
    void this.keeper?.release(term.lease, true);
    this.retryLater();
  }

  private endTerm(why: string): void {
    const t = this.term;
    if (!t) return;
    clearTimeout(t.expiry);
    this.term = undefined;
    if (this.leading) {
      this.leading = undefined;
      this.opts.logger?.warn({ why }, 'cluster: no longer the leader');
      this.emit('deposed', why);
    }
  }

  /** Reads the leader keys (one at a time) and settles who leads. */
  private refresh(cause: string): void {
    const at = Date.now();
    this.reading = this.reading
      .then(() => this.read(cause, at))
      .catch((e: Error) => this.opts.logger?.warn({ err: e.message }, 'cluster: cannot read the leader'));
  }

  /** `cause` and `at`: what asked for this read and when, logged with a change to say how long it took to notice. */
  private async read(cause: string, at: number): Promise<void> {
    if (this.closed) return;
    const began = Date.now();
    const res = await this.opts.client.getAll().prefix(this.dir).sort('Create', 'Ascend').limit(1).exec();
    const kv = res.kvs[0];
    const next: LeaderInfo | undefined = kv
      ? { ...(JSON.parse(kv.value.toString()) as LeaderValue), generation: BigInt(kv.create_revision), key: kv.key.toString() }
      : undefined;
    if (next?.key !== this.current?.key) {
      this.current = next;
      this.opts.logger?.info(
        { leader: next?.name ?? null, generation: next ? String(next.generation) : null, cause, queuedMs: began - at, readMs: Date.now() - began },
        'cluster: leader changed',
      );
      this.emit('leader', next);
    }
    const t = this.term;
    if (t && next?.key === t.key && !this.leading && Date.now() < t.lease.validUntil()) {
      this.leading = next;
      this.opts.logger?.info({ generation: String(next.generation) }, 'cluster: elected leader');
      this.emit('elected', next);
    } else if (t && this.leading && next?.key !== t.key) {
      this.lost(t, `the leader key is ${next ? `${next.name}'s` : 'gone'}`);
    }
  }
}
