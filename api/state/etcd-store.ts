// The StateStore backend on etcd (a replicated key-value store with Raft consensus): the foundation for several
// controllers sharing one state (issue 19). Keys: etcd-keys.ts (one per item under /dmzgate/SITE/).
//
// Commits. A batch is checked and applied to the read model (the StateView the API reads) when commit() is called,
// as in the journal backend, then written in an etcd transaction: a put of every item it changed (its whole
// current value), the next ids (`meta`), the batch itself (in `batch`: who wrote it and its records) and the range
// deletes and deletes of what retention drops; all of it or none of it. Transactions go one at a time, in commit
// order; the batches committed while one is under way go together in the next (a group commit, etcd-txn-group.ts,
// within maxTxnOps operations): a quorum round trip per group, not per batch. A commit with maxDelayMs waits up to
// that long for another to ride with (an event after the change it describes).
//
// Revisions. A counter of the store's own, kept in `batch` (each batch there carries its revision): several
// batches share one etcd transaction, hence one etcd revision, and each needs one above the previous. The
// transaction that writes them compares `batch`'s mod revision (below), so the counter has one writer at a time.
// (`batch` values from before groups hold one batch and no revision: its mod revision is its revision.)
//
// Writers. Every transaction compares the mod revision of `batch` with the last one this store saw: if another
// writer committed since, the transaction does nothing and this store fails (its view and ids are stale: reopen
// it). So event, audit and token ids, taken from the view, are never given twice, and a deposed writer cannot
// overwrite the state: the fence issue 19's leader needs. A transaction etcd does not answer (a member down, a
// lost answer) is sent again, up to retryMs: a refused resend that finds its own batch in `batch` was applied.
// Past that, the store fails too, since its view holds what etcd may not.
//
// Acknowledgement and subscribers. The store watches `batch` from the etcd revision it loaded, so it sees every batch,
// its own and other writers' (those it applies to its view: a follower's replica). A commit resolves once the
// watch delivered it (etcd answered it from a quorum, and every subscriber has it), in commit order; one that
// changes nothing resolves once those before it did. subscribe(from) replays the batches kept in memory since
// `from` (the last `keepBatches` seen since this open), or throws if it no longer has them all.
//
// Fence. A cluster leader's store is given `fence`: every transaction also compares that the leader key is still
// the one its term created (its create revision), and a commit made while fence() throws (not the leader) is
// refused at once. The leader's key goes with its etcd lease, so a deposed leader's late write does nothing.
//
// Retention is the view's (the caps of JournalStoreOptions); what it drops is deleted in the same transaction.
// etcd keeps old revisions of every key until compacted: run etcd with --auto-compaction-retention.
import { randomUUID } from 'node:crypto';
import { Etcd3, Range, type IOptions, type Watcher } from 'etcd3';
import type { Logger } from '../../controller/log.js';
import { NotLeaderError } from '../cluster/not-leader.js';
import { batchEntries, etcdKeys, snapshotFromKvs, type BatchValue, type EtcdKeys } from './etcd-keys.js';
import { TxnGroup, type BatchOps, type QueuedBatch } from './etcd-txn-group.js';
import type { CommitOptions, CommittedBatch, Snapshot, StateBackend, StateRecord, Unsubscribe } from './state-store.js';
import { eventText, StateView, type Retention } from './state-view.js';

export interface EtcdStoreOptions extends Retention {
  /** Client endpoints, `http://HOST:PORT`. */
  hosts: string[];
  /** Where this site's state is kept, ending in '/'. Default `/dmzgate/default/`. */
  prefix?: string;
  /** Batches kept for subscribe() from an older revision (since this open). Default 256. */
  keepBatches?: number;
  /**
   * The most operations etcd takes in one transaction (its --max-txn-ops, default 128): a batch of more records
   * is refused before it changes anything, and a group of batches is kept within it. A counter poll puts every
   * lease that moved: run etcd with more.
   */
  maxTxnOps?: number;
  /** How long a batch's transaction is sent again while etcd does not answer it (ms), before the store fails. Default 10000. */
  retryMs?: number;
  /** How long to wait for a connection to etcd (ms). Default 5000. */
  dialTimeoutMs?: number;
  /** The leader key every transaction must find unchanged (its create revision); throws while this instance may not write. */
  fence?: () => { key: string; createRevision: bigint };
  logger?: Logger;
}

interface Waiter {
  /** The batch's sequence number in this store, or undefined for a commit that changed nothing. */
  seq: number | undefined;
  revision?: number;
  resolve: (r: { revision: number }) => void;
  reject: (e: Error) => void;
}

interface SeenBatch {
  revision: number;
  text: string;
}
interface Subscriber {
  from: number;
  listener: (b: CommittedBatch) => void;
}

type Op = ReturnType<Etcd3['put']> | ReturnType<Etcd3['delete']>;

/** The most bytes of values one group takes (etcd refuses a request above --max-request-bytes, 1.5 MiB by default). */
const GROUP_BYTES = 1024 * 1024;

export class EtcdStateStore implements StateBackend {
  readonly keys: EtcdKeys;
  private readonly client: Etcd3;
  private readonly writer = randomUUID();
  private current = new StateView({ nextIds: { token: 1, event: 1, audit: 1 }, tokens: [], leases: [], blocks: [], audit: [], events: [] });
  private watcher: Watcher | undefined;
  private seq = 0;
  /** The revision of the last batch committed here or seen: the next commit's is one above. */
  private lastRevision = 0;
  /** The mod revision of `batch` as this store last saw it: what its next transaction compares with. */
  private expected = 0;
  /** The revision of the last batch the watch delivered (or the one loaded). */
  private delivered = 0;
  private waiters: Waiter[] = [];
  /** Batches waiting for a transaction, in commit order. */
  private queue: QueuedBatch[] = [];
  /** Batches waiting (maxDelayMs) for another commit to go with, and the timer that sends them if none comes. */
  private riders: QueuedBatch[] = [];
  private riderTimer: NodeJS.Timeout | undefined;
  private sending = false;
  private recent: SeenBatch[] = [];
  /** Subscribers from a revision below this one cannot be served from `recent`. */
  private recentFrom = 0;
  private readonly subscribers = new Set<Subscriber>();
  private failed: Error | undefined;
  private closed = false;
  private closeDone: Promise<void> | undefined;

  constructor(private readonly opts: EtcdStoreOptions) {
    this.keys = etcdKeys(opts.prefix ?? '/dmzgate/default/');
    const options: IOptions = {
      hosts: opts.hosts,
      dialTimeout: opts.dialTimeoutMs ?? 5_000,
      grpcOptions: {
        // A load() is one range response holding the whole state (megabytes with the caps full): above gRPC's 4 MiB default.
        'grpc.max_receive_message_length': 256 * 1024 * 1024,
        // Connections of our own: grpc-js shares them process-wide by default, so a store opened after another
        // saw the member die got that one's connection, still backing off, and failed at once (UNAVAILABLE).
        'grpc.use_local_subchannel_pool': 1,
      },
    };
    this.client = new Etcd3(options);
  }

  get view(): StateView {
    return this.current;
  }

  /** The revision of the last batch the view holds (committed and delivered). */
  get revision(): number {
    return this.delivered;
  }

  /** Reads the state (one snapshot) and starts following `batch` from its revision. */
  async open(): Promise<void> {
    const res = await this.client.getAll().prefix(this.keys.prefix).exec();
    const snap = snapshotFromKvs(this.keys, res.kvs);
    this.current = new StateView(snap, this.opts);
    this.delivered = this.recentFrom = this.lastRevision = snap.revision;
    this.expected = Number(res.kvs.find((kv) => kv.key.toString() === this.keys.batch)?.mod_revision ?? 0);
    this.watcher = await this.client
      .watch()
      .key(this.keys.batch)
      .startRevision(String(Number(res.header.revision) + 1))
      .create();
    this.watcher.on('put', (kv) => this.seen(Number(kv.mod_revision), kv.value.toString()));
    this.watcher.on('error', (e) => this.fail(new Error(`etcd watch of ${this.keys.batch} failed: ${e.message}`)));
  }

  /** Everything under the prefix, read at one etcd revision (one range request). */
  async load(): Promise<Snapshot> {
    const res = await this.client.getAll().prefix(this.keys.prefix).exec();
    return snapshotFromKvs(this.keys, res.kvs);
  }

  commit(batch: readonly StateRecord[], opts: CommitOptions = {}): Promise<{ revision: number }> {
    if (this.closed) return Promise.reject(new Error('the state store is closed'));
    if (this.failed) return Promise.reject(this.failed);
    try {
      this.opts.fence?.();
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    const v = this.view;
    let queued: QueuedBatch | undefined;
    try {
      // Its puts, `meta` and `batch` (retention's deletes are a few more: one per lease or block dropped, one per range).
      const max = this.opts.maxTxnOps ?? 128;
      if (batch.length + 2 > max)
        throw new Error(`a batch of ${batch.length} records needs more than etcd's ${max} operations per transaction (--max-txn-ops)`);
      v.check(batch);
      const ops = this.apply(batch);
      if (ops) {
        const seq = ++this.seq;
        const entry = JSON.stringify({ seq, rev: ++this.lastRevision, records: batch });
        queued = { ...ops, seq, entry, meta: JSON.stringify({ nextIds: v.nextIds }) };
      }
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    return new Promise((resolve, reject) => {
      if (!queued) {
        this.waiters.push({ seq: undefined, resolve, reject });
        this.settle();
        return;
      }
      this.waiters.push({ seq: queued.seq, resolve, reject });
      if (opts.maxDelayMs !== undefined) {
        this.riders.push(queued);
        this.riderTimer ??= setTimeout(() => this.sendRiders(), opts.maxDelayMs);
        return;
      }
      // Behind those waiting to ride, which were committed before it: they go now.
      this.riders.push(queued);
      this.sendRiders();
    });
  }

  /** Queues the batches waiting to ride, in commit order, and sends the queue. */
  private sendRiders(): void {
    clearTimeout(this.riderTimer);
    this.riderTimer = undefined;
    if (this.riders.length === 0) return;
    this.queue.push(...this.riders.splice(0));
    void this.pump();
  }

  subscribe(fromRevision: number, listener: (b: CommittedBatch) => void): Unsubscribe {
    if (fromRevision < this.recentFrom) {
      throw new Error(`the state store no longer has the batches after revision ${fromRevision}: it keeps those after ${this.recentFrom}`);
    }
    for (const b of this.recent) if (b.revision > fromRevision) listener(delivered(b));
    const s: Subscriber = { from: fromRevision, listener };
    this.subscribers.add(s);
    return () => void this.subscribers.delete(s);
  }

  /** Waits for the commits under way, stops the watch and closes the connection; no commit is accepted after it. */
  close(): Promise<void> {
    this.closeDone ??= this.shutDown();
    return this.closeDone;
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    this.sendRiders();
    await new Promise<void>((resolve) => {
      this.waiters.push({ seq: undefined, resolve: () => resolve(), reject: () => resolve() });
      this.settle();
    });
    await this.watcher?.cancel().catch(() => undefined);
    this.client.close();
  }

  /** Applies a batch to the view; what it writes (its puts, and retention's deletes), or nothing if it changed nothing. */
  private apply(batch: readonly StateRecord[]): BatchOps | undefined {
    const v = this.view;
    const puts = new Map<string, string>();
    const leases = new Set<number>();
    const blocks = new Set<number>();
    let firstEvent = Infinity;
    let firstAudit = Infinity;
    for (const r of batch) {
      if (!v.apply(r)) continue;
      switch (r.kind) {
        case 'lease.put':
          puts.set(this.keys.item('leases', r.lease.id), v.leases[r.lease.id]!.text);
          leases.add(r.lease.id);
          break;
        case 'block.put':
          puts.set(this.keys.item('blocks', r.block.id), v.textOf(v.blocks[r.block.id]!));
          blocks.add(r.block.id);
          break;
        case 'token.put':
          puts.set(this.keys.item('tokens', r.token.id), v.textOf(v.token(r.token.id)!));
          break;
        case 'token.revoke':
          puts.set(this.keys.item('tokens', r.id), v.textOf(v.token(r.id)!));
          break;
        case 'audit.append':
          puts.set(this.keys.item('audit', r.entry.id), v.auditTexts.at(-1)!);
          firstAudit = Math.min(firstAudit, r.entry.id);
          break;
        case 'event.append':
          puts.set(this.keys.item('events', r.event.id), eventText(v.events.at(-1)!));
          firstEvent = Math.min(firstEvent, r.event.id);
          break;
      }
    }
    if (puts.size === 0) return undefined;
    return { puts, ...this.prune({ leases, blocks, event: firstEvent, audit: firstAudit }) };
  }

  /** Applies retention to the view; deletes of what it dropped (never this batch's own items: a txn may not touch a key twice). */
  private prune(pending: { leases: Set<number>; blocks: Set<number>; event: number; audit: number }): Omit<BatchOps, 'puts'> {
    const v = this.view;
    const leaseCount = countKeys(v.leases);
    const blockCount = countKeys(v.blocks);
    const leasesBefore = leaseCount > 0 ? Object.keys(v.leases) : [];
    const blocksBefore = blockCount > 0 ? Object.keys(v.blocks) : [];
    const firstEvent = v.events[0]?.id;
    const firstAudit = v.auditIds[0];
    v.prune(pending);
    const deletes: string[] = [];
    const ranges = new Map<string, string>();
    const dropped = (before: string[], now: Record<string, unknown>, kind: 'leases' | 'blocks') => {
      for (const id of before) if (!Object.hasOwn(now, id)) deletes.push(this.keys.item(kind, Number(id)));
    };
    if (countKeys(v.leases) !== leaseCount) dropped(leasesBefore, v.leases, 'leases');
    if (countKeys(v.blocks) !== blockCount) dropped(blocksBefore, v.blocks, 'blocks');
    if (firstEvent !== undefined && v.events[0]?.id !== firstEvent) {
      ranges.set(this.keys.first('events'), this.keys.item('events', v.events[0]?.id ?? v.nextIds.event));
    }
    if (firstAudit !== undefined && v.auditIds[0] !== firstAudit) {
      ranges.set(this.keys.first('audit'), this.keys.item('audit', v.auditIds[0] ?? v.nextIds.audit));
    }
    return { deletes, ranges };
  }

  /** Sends the queued batches one transaction at a time, in commit order: those queued meanwhile as one group. */
  private async pump(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    const maxOps = this.opts.maxTxnOps ?? 128;
    while (this.queue.length > 0 && !this.failed) {
      const group = new TxnGroup();
      while (this.queue.length > 0 && group.fits(this.queue[0]!, maxOps, GROUP_BYTES)) group.add(this.queue.shift()!);
      await this.send(group);
    }
    this.sending = false;
  }

  /**
   * Sends a batch's transaction until etcd answers it (the client moves to another member when one is down),
   * for up to `retryMs`. A transaction sent twice cannot apply twice (the second compares stale): a refused one
   * reads `batch` in the same transaction, and if that is this very batch, the first one was applied.
   */
  private async send(group: TxnGroup): Promise<void> {
    const ops: Op[] = [];
    for (const [k, text] of group.puts) ops.push(this.client.put(k).value(text));
    for (const k of group.deletes) ops.push(this.client.delete().key(k));
    for (const [start, end] of group.ranges) ops.push(this.client.delete().range(new Range(start, end)));
    ops.push(this.client.put(this.keys.meta).value(group.meta), this.client.put(this.keys.batch).value(group.value(this.writer)));
    const until = Date.now() + (this.opts.retryMs ?? 10_000);
    for (let attempt = 0; !this.failed; attempt++) {
      let fence: { key: string; createRevision: bigint } | undefined;
      try {
        fence = this.opts.fence?.();
      } catch (e) {
        this.fail(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      try {
        const compare = this.client.if(this.keys.batch, 'Mod', '==', this.expected);
        if (fence) compare.and(fence.key, 'Create', '==', String(fence.createRevision));
        const res = await compare
          .then(...ops)
          .else(this.client.get(this.keys.batch), ...(fence ? [this.client.get(fence.key)] : []))
          .options({ deadline: Date.now() + 5_000 })
          .commit();
        let revision = Number(res.header.revision);
        if (!res.succeeded) {
          const kv = res.responses[0]?.response_range?.kvs[0];
          const last = kv ? (JSON.parse(kv.value.toString()) as BatchValue) : undefined;
          const held = fence ? res.responses[1]?.response_range?.kvs[0] : undefined;
          const ours = last?.writer === this.writer && batchEntries(last, Number(kv!.mod_revision)).at(-1)?.seq === group.lastSeq;
          if (!ours && fence && held?.create_revision !== String(fence.createRevision)) {
            this.fail(
              new NotLeaderError(`etcd refused the batch: leader key ${fence.key} is no longer this term's (a newer leader, or its lease lapsed)`),
            );
            return;
          }
          if (!ours) {
            this.fail(
              new Error(`another writer committed to ${this.keys.prefix} after revision ${this.expected}: this store's state is stale (reopen it)`),
            );
            return;
          }
          revision = Number(kv!.mod_revision);
        }
        this.expected = Math.max(this.expected, revision); // the watch may have shown a later batch already
        return;
      } catch (e) {
        if (Date.now() >= until) {
          this.fail(new Error(`etcd did not take the batch within ${this.opts.retryMs ?? 10_000} ms: ${(e as Error).message}`));
          return;
        }
        this.opts.logger?.warn({ err: (e as Error).message, attempt }, 'etcd state: transaction failed; sending it again');
        await new Promise((r) => setTimeout(r, Math.min(1_000, 50 * 2 ** attempt)));
      }
    }
  }

  /** The watch saw a transaction's batches: apply them if another writer's, hand them to the subscribers, resolve their commits. */
  private seen(modRevision: number, text: string): void {
    const value = JSON.parse(text) as BatchValue;
    const theirs = value.writer !== this.writer;
    for (const entry of batchEntries(value, modRevision)) {
      const revision = entry.rev;
      if (revision <= this.delivered) continue;
      const b = { revision, text: JSON.stringify(entry.records) };
      if (theirs) {
        try {
          this.view.applyBatch(entry.records);
          // The writer applied retention too (its deletes are in etcd, not in the records): the same caps here.
          this.view.prune({ leases: new Set(), blocks: new Set(), event: Infinity, audit: Infinity });
        } catch (e) {
          this.fail(new Error(`batch at revision ${revision} by another writer does not follow this store's state: ${(e as Error).message}`));
          return;
        }
        this.lastRevision = Math.max(this.lastRevision, revision);
      } else {
        const w = this.waiters.find((x) => x.seq === entry.seq);
        if (w) w.revision = revision;
      }
      this.delivered = revision;
      this.recent.push(b);
      if (this.recent.length > (this.opts.keepBatches ?? 256)) this.recentFrom = this.recent.shift()!.revision;
      for (const s of this.subscribers) {
        if (revision <= s.from) continue;
        try {
          s.listener(delivered(b));
        } catch (e) {
          this.opts.logger?.error({ err: (e as Error).message, revision }, 'state subscriber failed');
        }
      }
    }
    if (theirs) this.expected = Math.max(this.expected, modRevision);
    this.settle();
  }

  /** Resolves the commits at the head of the queue that are done (their batch delivered, or changing nothing). */
  private settle(): void {
    while (this.waiters.length) {
      const w = this.waiters[0]!;
      if (w.seq !== undefined && w.revision === undefined) return;
      this.waiters.shift();
      w.resolve({ revision: w.revision ?? this.delivered });
    }
  }

  /** The store can no longer write: every commit not acknowledged yet, and every later one, is rejected. */
  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = e;
    clearTimeout(this.riderTimer);
    this.riderTimer = undefined;
    this.queue = [];
    this.riders = [];
    this.opts.logger?.error({ err: e.message, prefix: this.keys.prefix }, 'etcd state store failed');
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) {
      if (w.seq === undefined || w.revision !== undefined) w.resolve({ revision: w.revision ?? this.delivered });
      else w.reject(e);
    }
  }
}

function countKeys(o: object): number {
  let n = 0;
  for (const _ in o) n++;
  return n;
}

/** A batch as the records a subscriber gets (parsed now: copies of its own). */
function delivered(b: SeenBatch): CommittedBatch {
  return { revision: b.revision, records: JSON.parse(b.text) as StateRecord[] };
}

/** Connects to etcd, reads the site's state and follows it. */
export async function openEtcdStore(opts: EtcdStoreOptions): Promise<EtcdStateStore> {
  const store = new EtcdStateStore(opts);
  try {
    await store.open();
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
  return store;
}
