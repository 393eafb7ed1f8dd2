// The batches the embedded backend committed, for its subscribers: those applied but not durable yet, in order,
// handed over once a journal record holds them; and the newest durable ones, for a subscriber from an older
// revision. A record is kept in the view's own form (a lease's text, an event as held: never changed once held,
// and shared with the view while it is current), and made into a record of the subscriber's own when handed over.
import type { LeaseRecord } from '../../apps/dmz/records.js';
import type { Logger } from '../../controller/log.js';
import type { CommittedBatch, StateRecord, Unsubscribe } from './state-store.js';
import { storedEvent, type HeldEvent, type HeldLease, type StateView } from './state-view.js';
import type { AuditEntry } from './types.js';

/** Blocks and tokens as the view's own copies; leases, audit entries and events as held (their texts). */
export type KeptRecord =
  | Extract<StateRecord, { kind: 'block.put' | 'token.put' | 'token.revoke' }>
  | { kind: 'lease.put'; held: HeldLease }
  | { kind: 'audit.append'; text: string }
  | { kind: 'event.append'; held: HeldEvent };
interface KeptBatch {
  revision: number;
  records: KeptRecord[];
}
interface Subscriber {
  from: number;
  listener: (b: CommittedBatch) => void;
}

export class BatchLog {
  private unwritten: KeptBatch[] = [];
  private readonly recent: KeptBatch[] = [];
  private readonly subscribers = new Set<Subscriber>();
  /** The last revision handed over. */
  private durableUpTo: number;

  /** `keep`: how many durable batches are kept for subscribers from the past; `from`: the revision loaded. */
  constructor(
    private readonly keep: number,
    from: number,
    private readonly logger?: Logger,
  ) {
    this.durableUpTo = from;
  }

  /** A batch applied (its records as keptRecord took them), not durable yet. */
  applied(revision: number, records: KeptRecord[]): void {
    this.unwritten.push({ revision, records });
  }

  /** Every batch up to `revision` is durable: hands them to the subscribers, and keeps the newest. */
  durable(revision: number): void {
    let n = 0;
    while (n < this.unwritten.length && this.unwritten[n]!.revision <= revision) n++;
    const done = this.unwritten.splice(0, n);
    this.durableUpTo = revision;
    this.recent.push(...done);
    if (this.recent.length > this.keep) this.recent.splice(0, this.recent.length - this.keep);
    if (this.subscribers.size === 0) return;
    for (const b of done) {
      const out = delivered(b);
      for (const s of this.subscribers) {
        if (b.revision <= s.from) continue;
        try {
          s.listener(out);
        } catch (e) {
          this.logger?.error({ err: (e as Error).message, revision: b.revision }, 'state subscriber failed');
        }
      }
    }
  }

  /** StateStore.subscribe. */
  subscribe(fromRevision: number, listener: (b: CommittedBatch) => void): Unsubscribe {
    if (fromRevision < this.durableUpTo) {
      const first = this.recent[0]?.revision;
      if (first === undefined || first > fromRevision + 1) {
        throw new Error(
          `the state store no longer has the batches after revision ${fromRevision}: it keeps those from ${first ?? this.durableUpTo + 1} on`,
        );
      }
      for (const b of this.recent) if (b.revision > fromRevision) listener(delivered(b));
    }
    const s: Subscriber = { from: fromRevision, listener };
    this.subscribers.add(s);
    return () => void this.subscribers.delete(s);
  }
}

/** A record as the view holds it right after applying it (the newest audit entry or event is the one appended). */
export function keptRecord(r: StateRecord, v: StateView): KeptRecord {
  switch (r.kind) {
    case 'lease.put':
      return { kind: r.kind, held: v.leases[r.lease.id]! };
    case 'block.put':
      return { kind: r.kind, block: v.blocks[r.block.id]! };
    case 'token.put':
      return { kind: r.kind, token: v.token(r.token.id)! };
    case 'token.revoke':
      return r;
    case 'audit.append':
      return { kind: r.kind, text: v.auditTexts.at(-1)! };
    case 'event.append':
      return { kind: r.kind, held: v.events.at(-1)! };
  }
}

/** A kept batch as the records a subscriber gets (parsed now: copies of their own). */
function delivered(b: KeptBatch): CommittedBatch {
  return {
    revision: b.revision,
    records: b.records.map((r): StateRecord => {
      switch (r.kind) {
        case 'lease.put':
          return { kind: r.kind, lease: JSON.parse(r.held.text) as LeaseRecord };
        case 'block.put':
          return { kind: r.kind, block: structuredClone(r.block) };
        case 'token.put':
          return { kind: r.kind, token: structuredClone(r.token) };
        case 'token.revoke':
          return r;
        case 'audit.append':
          return { kind: r.kind, entry: JSON.parse(r.text) as AuditEntry };
        case 'event.append':
          return { kind: r.kind, event: storedEvent(r.held) };
      }
    }),
  };
}
