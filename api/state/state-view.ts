// The state as the API reads it (tokens for every request, a lease's stored counters, the event stream's
// replay, the audit trail's pages), kept in memory and brought up to date by every committed batch.
//
// Leases, audit entries and events, the items that come with every transfer (kept up to the caps: every active
// lease and the newest ended ones, 10000 audit entries, 1000 events), are held as their JSON text: the text each
// journal record and each fold writes anyway, made once when the item is put, and flattened into one string
// (JSON.stringify builds a tree of pieces): one string per item instead of a graph of objects (and its text),
// which is what every garbage collection of the young generation copies while the item is new. A lease also
// keeps its counters (every counter poll compares them), an event its id, time, type and project (the stream
// filters and frames it by those; its `data` is the text). Reading one parses its text. Tokens and blocks (few)
// are held as objects, each with its text kept beside it once asked for: so a stored item is never changed in
// place, a changed one is put again (a copy).
import type { BlockRecord, Counters, LeaseRecord } from '../../apps/dmz/records.js';
import { MinHeap } from '../../apps/dmz/min-heap.js';
import type { Snapshot, StateRecord } from './state-store.js';
import type { AuditEntry, EventType, NextIds, StoredEvent, TokenRecord } from './types.js';

/**
 * A lease as held: its JSON text, and its counters (compared on every counter poll). The text's last member is
 * usually its counters (`,"counters":{...}}`), which the four numbers spell again: then only the text before them
 * is held, and `text` puts them back.
 */
export class HeldLease {
  readonly packetsIn: number;
  readonly bytesIn: number;
  readonly packetsOut: number;
  readonly bytesOut: number;
  /** The JSON text; without its counters member when `#cut`. */
  readonly #head: string;
  readonly #cut: boolean;

  /** NaN for any counter a record read from disk lacks: never equal. */
  constructor(l: LeaseRecord) {
    const c: Partial<Counters> = l.counters ?? {};
    this.packetsIn = c.packetsIn ?? NaN;
    this.bytesIn = c.bytesIn ?? NaN;
    this.packetsOut = c.packetsOut ?? NaN;
    this.bytesOut = c.bytesOut ?? NaN;
    const rest = countersLast(l) ? withoutCounters(l) : undefined;
    this.#cut = rest !== undefined && rest.length > 2;
    this.#head = flat(this.#cut ? rest! : JSON.stringify(l));
  }

  /** The lease's JSON text, as JSON.stringify gave it. */
  get text(): string {
    if (!this.#cut) return this.#head;
    return `${this.#head.slice(0, -1)},"counters":{"packetsIn":${this.packetsIn},"bytesIn":${this.bytesIn},"packetsOut":${this.packetsOut},"bytesOut":${this.bytesOut}}}`;
  }

  /** Whether `other` holds the same text. */
  sameText(other: HeldLease): boolean {
    if (this.#cut !== other.#cut) return this.text === other.text;
    if (this.#head !== other.#head) return false;
    return (
      !this.#cut ||
      (this.packetsIn === other.packetsIn &&
        this.bytesIn === other.bytesIn &&
        this.packetsOut === other.packetsOut &&
        this.bytesOut === other.bytesOut)
    );
  }
}

const COUNTER_NAMES = ['packetsIn', 'bytesIn', 'packetsOut', 'bytesOut'];

/**
 * Whether JSON.stringify(l) ends with its counters as HeldLease spells them: `counters` the last member, with
 * exactly the four counters, in that order, each a finite number.
 */
function countersLast(l: LeaseRecord): boolean {
  let last: string | undefined;
  for (const k in l) if ((l as unknown as Record<string, unknown>)[k] !== undefined) last = k;
  const c = l.counters as unknown;
  if (last !== 'counters' || typeof c !== 'object' || c === null || Array.isArray(c)) return false;
  const keys = Object.keys(c);
  if (keys.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const v = (c as Record<string, unknown>)[keys[i]!];
    if (keys[i] !== COUNTER_NAMES[i] || typeof v !== 'number' || !Number.isFinite(v)) return false;
  }
  return true;
}

/** JSON of the lease without its counters. */
function withoutCounters(l: LeaseRecord): string {
  const { counters: _counters, ...rest } = l;
  return JSON.stringify(rest);
}

/** An event as held: StoredEvent with its data as JSON text. */
export interface HeldEvent {
  readonly id: number;
  readonly at: number;
  readonly type: EventType;
  readonly project: string | undefined;
  /** JSON of the event's data. */
  readonly data: string;
  /** Whether the data has a key of the frame's own (id, at, type): then the wire text is made the long way. */
  readonly clash: boolean;
}

/** How many of each kind are kept (the newest); what is active is always kept. */
export interface Retention {
  /** Events kept for clients resuming the stream (`since`). Default 1000. */
  maxEvents?: number;
  /** Audit entries kept (every entry is also logged). Default 10000. */
  maxAudit?: number;
  /** Ended leases and removed blocks kept (the newest ids). Default 1000 each. */
  maxClosed?: number;
}

/** What a backend has not made durable yet, which retention must not drop. */
export interface Pending {
  leases: ReadonlySet<number>;
  blocks: ReadonlySet<number>;
  /** The first event and audit ids not durable yet. */
  event: number;
  audit: number;
}

export class StateView {
  readonly nextIds: NextIds;
  private readonly tokenMap: Record<string, TokenRecord>;
  /** Held leases by id (a backend reads the texts to write them). */
  readonly leases: Record<string, HeldLease>;
  readonly blocks: Record<string, BlockRecord>;
  /** The audit entries' ids and texts, oldest first. */
  readonly auditIds: number[];
  readonly auditTexts: string[];
  readonly events: HeldEvent[];
  /** Each token's and block's JSON text, made when first asked for (they are replaced, never changed, once stored). */
  private readonly texts = new WeakMap<object, string>();
  private readonly closedLeases = new ClosedIds();
  private readonly closedBlocks = new ClosedIds();
  private readonly keep: Required<Retention>;

  constructor(s: Omit<Snapshot, 'revision'>, retention: Retention = {}) {
    this.keep = { maxEvents: 1000, maxAudit: 10000, maxClosed: 1000, ...retention };
    this.nextIds = { ...s.nextIds };
    this.tokenMap = {};
    for (const t of s.tokens) this.tokenMap[t.id] = t;
    this.leases = {};
    for (const l of s.leases) {
      this.leases[l.id] = new HeldLease(l);
      this.closedLeases.note(l.id, l.state !== 'active');
    }
    this.blocks = {};
    for (const b of s.blocks) {
      this.blocks[b.id] = b;
      this.closedBlocks.note(b.id, b.state !== 'active');
    }
    this.auditIds = s.audit.map((a) => a.id);
    this.auditTexts = s.audit.map((a) => flat(JSON.stringify(a)));
    this.events = s.events.map(holdEvent);
  }

  // ---- ids (taken before the batch that writes the item is committed) -------------------------------------------

  newTokenId(): number {
    return this.nextIds.token++;
  }

  newEvent(type: EventType, data: Record<string, unknown>, project?: string, at = Date.now()): StoredEvent {
    const id = this.nextIds.event++;
    return project !== undefined ? { id, at, type, project, data } : { id, at, type, data };
  }

  newAudit(entry: Omit<AuditEntry, 'id' | 'at'> & { at?: number }): AuditEntry {
    return { id: this.nextIds.audit++, at: entry.at ?? Date.now(), ...entry };
  }

  // ---- changes ---------------------------------------------------------------------------------------------------

  /** Throws, changing nothing, if a batch cannot be applied (appends must come in id order, after what is held). */
  check(batch: readonly StateRecord[]): void {
    let event = this.events.at(-1)?.id ?? 0;
    let audit = this.auditIds.at(-1) ?? 0;
    for (const r of batch) {
      if (r.kind === 'event.append') {
        if (!(r.event.id > event)) throw new Error(`event ${r.event.id} committed after event ${event}: events are appended in id order`);
        event = r.event.id;
      } else if (r.kind === 'audit.append') {
        if (!(r.entry.id > audit)) throw new Error(`audit entry ${r.entry.id} committed after entry ${audit}: entries are appended in id order`);
        audit = r.entry.id;
      }
    }
  }

  /**
   * Applies a committed batch (a replica following a store: StateStore.subscribe); throws, changing nothing, if it
   * does not follow what is held.
   */
  applyBatch(batch: readonly StateRecord[]): void {
    this.check(batch);
    for (const r of batch) this.apply(r);
  }

  /**
   * Applies one record; returns whether it changed the state (a lease put exactly as it is held does not, nor a
   * revocation of a token already revoked or unknown), and so whether a durable write must hold it.
   */
  apply(r: StateRecord): boolean {
    switch (r.kind) {
      case 'lease.put': {
        const held = new HeldLease(r.lease);
        // (A counter poll puts every active lease; those whose counters did not move are skipped before this.)
        if (Object.hasOwn(this.leases, r.lease.id) && this.leases[r.lease.id]!.sameText(held)) return false;
        this.leases[r.lease.id] = held;
        this.closedLeases.note(r.lease.id, r.lease.state !== 'active');
        return true;
      }
      case 'block.put':
        this.blocks[r.block.id] = copyJson(r.block);
        this.closedBlocks.note(r.block.id, r.block.state !== 'active');
        return true;
      case 'token.put':
        this.tokenMap[r.token.id] = copyJson(r.token);
        this.nextIds.token = Math.max(this.nextIds.token, r.token.id + 1);
        return true;
      case 'token.revoke': {
        const t = this.token(r.id);
        if (!t || t.revokedAt !== undefined) return false;
        this.tokenMap[r.id] = { ...t, revokedAt: r.at };
        return true;
      }
      case 'audit.append':
        this.auditIds.push(r.entry.id);
        this.auditTexts.push(flat(JSON.stringify(r.entry)));
        this.nextIds.audit = Math.max(this.nextIds.audit, r.entry.id + 1);
        return true;
      case 'event.append':
        this.events.push(holdEvent(r.event));
        this.nextIds.event = Math.max(this.nextIds.event, r.event.id + 1);
        return true;
    }
  }

  /**
   * Keeps the state bounded: the newest events, audit entries, ended leases and removed blocks, never dropping
   * what is `pending` (not durable yet: a lease dropped before its closing was written would come back active).
   */
  prune(pending: Pending): void {
    /**
     * How many of the oldest to drop from a list (`first`: its first id), keeping `keep` and those from `firstNew`
     * on; none until it is an eighth over `keep`: dropping the oldest moves the whole array (10,000 audit entries
     * after every record took more CPU than any other function of a request), dropping many at once rarely does.
     */
    const excess = (length: number, first: number | undefined, keep: number, firstNew: number): number => {
      if (length - keep <= keep >> 3) return 0;
      const durable = first === undefined ? 0 : Math.max(0, Math.min(length, firstNew - first));
      return Math.min(durable, length - keep);
    };
    const events = excess(this.events.length, this.events[0]?.id, this.keep.maxEvents, pending.event);
    if (events > 0) this.events.splice(0, events);
    const audit = excess(this.auditIds.length, this.auditIds[0], this.keep.maxAudit, pending.audit);
    if (audit > 0) {
      this.auditIds.splice(0, audit);
      this.auditTexts.splice(0, audit);
    }
    this.closedLeases.prune(this.leases, this.keep.maxClosed, pending.leases);
    this.closedBlocks.prune(this.blocks, this.keep.maxClosed, pending.blocks);
  }

  // ---- reads -----------------------------------------------------------------------------------------------------

  /** The stored record (do not change it: commit a changed copy). */
  token(id: number): TokenRecord | undefined {
    return Object.hasOwn(this.tokenMap, id) ? this.tokenMap[id] : undefined;
  }

  /** Every stored token record (do not change them). */
  tokens(): TokenRecord[] {
    return Object.values(this.tokenMap);
  }

  /** Tokens by id, as held (for a backend writing them). */
  get tokensById(): Readonly<Record<string, TokenRecord>> {
    return this.tokenMap;
  }

  /** The stored lease record (a copy, parsed from its text). */
  lease(id: number): LeaseRecord | undefined {
    return Object.hasOwn(this.leases, id) ? (JSON.parse(this.leases[id]!.text) as LeaseRecord) : undefined;
  }

  /** Whether lease `id` is stored with exactly these counters (a counter poll stores only the leases that moved). */
  leaseHasCounters(id: number, c: Counters): boolean {
    const l = Object.hasOwn(this.leases, id) ? this.leases[id]! : undefined;
    return l !== undefined && l.bytesIn === c.bytesIn && l.bytesOut === c.bytesOut && l.packetsIn === c.packetsIn && l.packetsOut === c.packetsOut;
  }

  /** Events after `id`, oldest first (parsed from their texts: for tests and tools; the stream uses heldEventsSince). */
  eventsSince(id: number): StoredEvent[] {
    return this.heldEventsSince(id).map(storedEvent);
  }

  /** Events after `id`, oldest first, as held (do not change them). */
  heldEventsSince(id: number): HeldEvent[] {
    // Ids are consecutive within the kept window: index directly.
    const first = this.events[0]?.id ?? 0;
    return this.events.slice(Math.max(0, id + 1 - first));
  }

  get lastEventId(): number {
    return this.nextIds.event - 1;
  }

  get oldestEventId(): number | undefined {
    return this.events[0]?.id;
  }

  /** The audit entries after id `after` (all if undefined), oldest first, as their JSON texts. */
  *auditTextsAfter(after?: number): IterableIterator<string> {
    const { auditIds: ids, auditTexts: texts } = this;
    let i = 0;
    if (after !== undefined && ids.length) {
      // Ids are consecutive within the kept window: index directly (then make sure).
      i = Math.min(ids.length, Math.max(0, after + 1 - ids[0]!));
      while (i > 0 && ids[i - 1]! > after) i--;
      while (i < ids.length && ids[i]! <= after) i++;
    }
    for (; i < texts.length; i++) yield texts[i]!;
  }

  /** A token's or block's JSON text, made once. */
  textOf(item: TokenRecord | BlockRecord): string {
    let t = this.texts.get(item);
    if (t === undefined) {
      t = flat(JSON.stringify(item));
      this.texts.set(item, t);
    }
    return t;
  }

  /** Everything held, parsed (copies, every item on every call: for load(), tests and tools, not request paths). */
  snapshot(revision: number): Snapshot {
    return {
      revision,
      nextIds: { ...this.nextIds },
      tokens: this.tokens().map((t) => copyJson(t)),
      leases: Object.values(this.leases).map((l) => JSON.parse(l.text) as LeaseRecord),
      blocks: Object.values(this.blocks).map((b) => copyJson(b)),
      audit: this.auditTexts.map((t) => JSON.parse(t) as AuditEntry),
      events: this.events.map(storedEvent),
    };
  }
}

/**
 * The ids of the closed records of a map, to drop the oldest beyond a number kept without scanning the map. The
 * record with the highest id is always kept, closed or not: the DMZ app's next id is one past the highest
 * restored, and ids must never be reused (they are in flow cookies, events and the audit trail).
 */
class ClosedIds {
  private readonly ids = new Set<number>();
  private readonly oldest = new MinHeap();
  private maxId = 0;

  note(id: number, closed: boolean): void {
    this.maxId = Math.max(this.maxId, id);
    if (!closed) this.ids.delete(id);
    else if (!this.ids.has(id)) {
      this.ids.add(id);
      this.oldest.push(id);
    }
  }

  /** Drops the oldest closed records beyond `keep`, stopping at one in `pending` (not durable yet). */
  prune(map: Record<string, unknown>, keep: number, pending: ReadonlySet<number>): void {
    while (this.ids.size > keep && this.oldest.size > 0) {
      const id = this.oldest.pop()!;
      if (!this.ids.has(id)) continue; // reopened since (or already dropped)
      if (id === this.maxId || pending.has(id)) {
        this.oldest.push(id);
        return;
      }
      this.ids.delete(id);
      delete map[id];
    }
  }
}

/**
 * A deep copy of plain JSON data (objects, arrays, strings, numbers, booleans; undefined fields are left out, as
 * JSON would): the view's own copy of a record, taken when it is put. A few times faster than structuredClone
 * on these small records, which are put on every lease event.
 */
export function copyJson<T>(v: T): T {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map(copyJson) as T;
  const out: Record<string, unknown> = {};
  for (const k in v) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined) out[k] = copyJson(x);
  }
  return out as T;
}

/**
 * The same string, made flat: JSON.stringify answers a tree of pieces (a cons string), which converting it to a
 * number flattens in place (and the garbage collector then drops the tree), so that a text kept is one string.
 */
function flat(s: string): string {
  void Number(s);
  return s;
}

/** An event as held: its data as (flat) JSON text. */
function holdEvent(e: StoredEvent): HeldEvent {
  const data = e.data ?? {};
  return {
    id: e.id,
    at: e.at,
    type: e.type,
    project: e.project,
    data: flat(JSON.stringify(data)),
    clash: Object.hasOwn(data, 'id') || Object.hasOwn(data, 'at') || Object.hasOwn(data, 'type'),
  };
}

/** A held event as StoredEvent (its data parsed). */
export function storedEvent(h: HeldEvent): StoredEvent {
  const data = JSON.parse(h.data) as Record<string, unknown>;
  return h.project !== undefined ? { id: h.id, at: h.at, type: h.type, project: h.project, data } : { id: h.id, at: h.at, type: h.type, data };
}

/** A held event's JSON as StoredEvent (what JSON.stringify of storedEvent(h) gives, made from the kept data text). */
export function eventText(h: HeldEvent): string {
  const project = h.project !== undefined ? `,"project":${JSON.stringify(h.project)}` : '';
  return `{"id":${h.id},"at":${JSON.stringify(h.at)},"type":${JSON.stringify(h.type)}${project},"data":${h.data}}`;
}
