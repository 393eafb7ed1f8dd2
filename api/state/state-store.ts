// The API's durable state behind one interface, for more than one backend: the embedded journal + document
// (journal-store.ts, the default) and, later, a replicated one (etcd: a batch is one transaction, its revision
// the store's revision, subscribe a watch). So everything crossing it is plain JSON data: typed records in
// ordered, atomic batches, each given a revision.
import type { BlockRecord, LeaseRecord } from '../../apps/dmz/records.js';
import type { AuditEntry, NextIds, StoredEvent, TokenRecord } from './types.js';
import type { StateView } from './state-view.js';

/**
 * One write of a batch. Items are put whole (a put replaces the stored item of that id); audit entries and events
 * are appended, with ids above every one already committed. Retention (the newest N ended leases, events, audit
 * entries) is the backend's, not the writer's: see JournalStoreOptions.
 */
export type StateRecord =
  | { kind: 'lease.put'; lease: LeaseRecord }
  | { kind: 'block.put'; block: BlockRecord }
  | { kind: 'token.put'; token: TokenRecord }
  | { kind: 'token.revoke'; id: number; at: number }
  | { kind: 'audit.append'; entry: AuditEntry }
  | { kind: 'event.append'; event: StoredEvent };

/** Everything stored, and the revision it is at (0: nothing was ever committed). */
export interface Snapshot {
  revision: number;
  nextIds: NextIds;
  tokens: TokenRecord[];
  leases: LeaseRecord[];
  blocks: BlockRecord[];
  /** Oldest first. */
  audit: AuditEntry[];
  /** Oldest first. */
  events: StoredEvent[];
}

export interface CommittedBatch {
  revision: number;
  records: readonly StateRecord[];
}

export interface CommitOptions {
  /**
   * The batch may wait up to this long (ms) for another commit to share its write (a backend that groups
   * commits); without it, the write starts as soon as the backend can.
   */
  maxDelayMs?: number;
}

export type Unsubscribe = () => void;

export interface StateStore {
  /** The whole state, as committed (copies: the caller may change them). */
  load(): Promise<Snapshot>;
  /**
   * Writes a batch atomically: after a crash, all of it or none of it is there. Resolves once it is durable,
   * with its revision (each batch a revision above the previous one; one that changes nothing, an empty one
   * included, gets none: it resolves with the current revision once every batch committed before it is
   * durable). Commits resolve in the order they were made. A rejected batch is not known to be durable.
   */
  commit(batch: readonly StateRecord[], opts?: CommitOptions): Promise<{ revision: number }>;
  /**
   * Calls `listener` with every batch committed after `fromRevision`, in revision order, each once it is durable
   * and no later than its commit resolves: those already durable first (perhaps before subscribe returns; throws
   * if the backend no longer has them all), then each new one.
   */
  subscribe(fromRevision: number, listener: (batch: CommittedBatch) => void): Unsubscribe;
  /** Makes everything committed durable and releases the backend; no commit is accepted after it. */
  close(): Promise<void>;
}

/**
 * A StateStore and the state it holds in memory for reading (the read model), up to date with every batch
 * committed through it: what the API reads. The embedded backend folds from that very view; a replicated one
 * keeps it from its watch.
 */
export interface StateBackend extends StateStore {
  readonly view: StateView;
}
