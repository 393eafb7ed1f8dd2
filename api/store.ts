// The API's durable state: one JSON document (lowdb) under the data directory holding the tokens (hashed), the
// leases and blocks, the audit trail, the event log and the next ids, and beside it a write-ahead journal.
//
// Why a journal. The document grows to megabytes (the event log, the audit trail and the ended leases are kept
// up to their caps: ~3.4 MB after ~5000 transfers). Rewriting all of it (JSON.stringify on the event loop, then
// write, fsync, rename, fsync of the directory) for every group of changes cost 5-14 ms per write and kept the
// disk ~95% busy at ~200 requests/s: the state writes were what limited the API. A request changes a few items
// (its lease, an event, an audit entry), so that is what a commit writes now.
//
// What is held in memory. Leases, audit entries and events, the items that come with every transfer (kept up to
// the caps: every active lease and the newest ended ones, 10000 audit entries, 1000 events), are held as their
// JSON text: the text each journal record and each fold writes anyway, made once when the item is put, and
// flattened into one string (JSON.stringify builds a tree of pieces): one string per item instead of a graph of
// objects (and its text), which is what every garbage collection of the young generation copies while the item
// is new. A lease also keeps its counters (every counter poll compares them), an event its id, time, type and
// project (the stream filters and frames it by those; its `data` is the text). Reading one (lease(), load(),
// eventsSince(), the audit route, `data`) parses its text. Tokens and blocks (few) are held as objects, each with
// its text kept beside it once journaled.
//
// Commits. Changes are made in memory through the methods below (which note what changed); commit() returns a
// promise for the next journal record that holds them. Records are written one at a time, and every change made
// while one is under way goes into the next (group commit): one record = one line of JSON = one write() of
// JOURNAL_FILE, opened with O_DSYNC (the write and an fdatasync() in one), holding the sequence number, the next
// ids, the full current value of every token, lease and block changed since the previous record, and the events
// and audit entries added since. A commit resolves (and the API acknowledges the change) only after that write
// returned, and only if the file written is still the journal (one removed under us takes writes a restart would never see). Each item is
// serialised once per version, and that text is kept (`texts`) for the folds: so a stored item is never changed
// in place, a changed one is put again (a copy). Retention (the caps below) is applied after a record is built,
// so that what it drops was journaled first (a lease dropped while its closing was not would replay as active).
//
// Folds. A fresh data directory has only the journal. When it passes `foldBytes` (and at close()), it is folded
// into the document, at the first quiet moment (no record for `foldIdleMs`) or at once when it reaches
// `foldMaxBytes` (4x foldBytes): a fold writes the whole document (megabytes) and its disk writes and final fsync
// slow the records written meanwhile, so it waits for a pause in the requests rather than stalling a burst of
// them (measured at concurrency 10: the ~80 requests during a fold's 50-60 ms document write took 8 ms on average,
// against a median of 2.3-2.6 ms). The fold itself: the document is rewritten as before (the whole text to
// `.NAME.tmp`, fsync, rename over NAME, fsync of the directory: DurableJsonFile) carrying `seq`, the last record it
// holds; then the journal is replaced (temp, fsync, rename, directory fsync) by the records written after that
// point, while new records wait. The document's text is put together from the items' kept texts, so a fold costs
// the event loop a string join, not a JSON.stringify of megabytes, and the write itself runs beside the commits.
//
// Reading (openStore). The document, then every journal record with a higher seq, in order (each record holds
// whole items, so replaying one twice changes nothing; events and audit entries already present are skipped).
// A torn final line (a crash or power cut during an append: that record was never acknowledged) is ignored and
// cut off; a damaged record anywhere else, or records that do not continue the document, stop the start with an
// error naming the file and the line: never a silent loss of acknowledged tokens, leases or blocks (an
// acknowledged block that vanished would re-open an address an IDS asked us to drop).
//
// Crashes. kill -9 (or a power cut) at any instant loses nothing acknowledged and corrupts nothing: during an
// append the record is torn (ignored) or whole; during a fold's document write the old document and the whole
// journal are there; between the document's rename and the journal's, the journal's records up to the
// document's seq are skipped; the journal's rename is atomic and appends resume only once it is durable.
// lowdb's own JSONFile adapter (steno) renames without fsync: atomic against a kill, not a power cut; hence
// DurableJsonFile. With `fsync: false` (tests) nothing is fsync'd: durable against a kill only.
import { EventEmitter } from 'node:events';
import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Low, type Adapter } from 'lowdb';
import type { Counters, LeaseRecord, BlockRecord } from '../apps/dmz/lease-book.js';
import { MinHeap } from '../apps/dmz/min-heap.js';
import type { Logger } from '../controller/log.js';
import { Journal, JournalError, parseJournal, syncDir, writeAll, type JournalRecord } from './journal.js';

export const STATE_FILE = 'dmzgate-state.json';
/** The write-ahead journal beside it. */
export const JOURNAL_FILE = 'dmzgate-state.journal';
const VERSION = 1;

export type Scope = 'transfers:read' | 'transfers:write' | 'blocks:write' | 'metrics' | 'admin';
export const SCOPES: readonly Scope[] = ['transfers:read', 'transfers:write', 'blocks:write', 'metrics', 'admin'];

export interface TokenRecord {
  id: number;
  /** sha256 of the secret, hex. The secret itself is shown once, by createToken, and never stored. */
  hash: string;
  project: string;
  description?: string;
  /** DTN names, or ['*'] for any DTN of the site. */
  dtns: string[];
  /** Remote prefixes a transfer (or a block) may name; e.g. ['0.0.0.0/0', '::/0'] for any. */
  remotes: string[];
  /** Local (DTN-side) port ranges, text `LO-HI` or `PORT`. */
  ports: string[];
  /** `routed`, `circuit:NAME`, or '*'. */
  paths: string[];
  maxDurationSeconds: number;
  /** Mbit/s; absent: no cap beyond the site's. */
  maxRateMbps?: number;
  scopes: Scope[];
  createdAt: number;
  expiresAt?: number;
  revokedAt?: number;
}

export interface StoredEvent {
  id: number;
  at: number;
  type: 'lease.created' | 'lease.extended' | 'lease.closed' | 'block.created' | 'block.removed' | 'switch.up' | 'switch.down' | 'flow.lost' | 'switch.refused';
  /** The lease's project, for lease events (whose tokens may see them). */
  project?: string;
  data: Record<string, unknown>;
}

export interface AuditEntry {
  id: number;
  at: number;
  /** `token:ID` or `system`. */
  actor: string;
  project?: string;
  /** The client's address, for API requests. */
  client?: string;
  action: string;
  decision: 'granted' | 'refused' | 'done';
  /** The error code of a refusal. */
  code?: string;
  reason?: string;
  transfer?: number;
  block?: number;
  details?: Record<string, unknown>;
}

export interface StateData {
  version: number;
  /** The last journal record folded into this document (0: none; absent in files written before the journal). */
  seq?: number;
  nextIds: { token: number; event: number; audit: number };
  tokens: Record<string, TokenRecord>;
  leases: Record<string, LeaseRecord>;
  blocks: Record<string, BlockRecord>;
  audit: AuditEntry[];
  events: StoredEvent[];
}

export interface StoreOptions {
  /** Events kept for clients resuming the stream (`since`). Default 1000. */
  maxEvents?: number;
  /** Audit entries kept (every entry is also logged). Default 10000. */
  maxAudit?: number;
  /** Ended leases and removed blocks kept (the newest ids). Default 1000 each. */
  maxClosed?: number;
  /** fsync the journal on every record and the document on every fold (default true; see the header). */
  fsync?: boolean;
  /** Journal size (bytes) past which it is folded into the document, once no record came for foldIdleMs. Default 8 MiB. */
  foldBytes?: number;
  /** How long no record must have been written before a fold past foldBytes starts (ms). Default 200; 0: at once. */
  foldIdleMs?: number;
  /** Journal size past which a fold starts at once, quiet or not. Default 4 x foldBytes. */
  foldMaxBytes?: number;
  /** Where what reading the state finds wrong is said (a torn or damaged last journal record). Default: nowhere. */
  logger?: Logger;
}

/** Bytes per write() of a document written in parts (and so per turn of the event loop spent making them). */
const DOCUMENT_CHUNK = 256 * 1024;

/**
 * A lowdb adapter: the document in one file, replaced atomically (temp file, fsync, rename, directory fsync).
 * `serialise` gives the document's text whole, or in parts (an iterable over a snapshot taken when it is called):
 * parts are written a chunk at a time, so that a document of megabytes is never made (nor copied to a buffer)
 * in one turn of the event loop while requests wait.
 */
export class DurableJsonFile<T> implements Adapter<T> {
  readonly tmp: string;
  /** Bytes of the last document read or written. */
  lastBytes = 0;
  constructor(readonly file: string, private readonly fsync = true, private readonly serialise: (data: T) => string | Iterable<string> = (d) => JSON.stringify(d)) {
    this.tmp = join(dirname(file), `.${basename(file)}.tmp`);
  }

  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    this.lastBytes = Buffer.byteLength(text);
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      // Never start over an unreadable state file: that would forget tokens, leases and blocks.
      throw new Error(`state file ${this.file} is not valid JSON (${(e as Error).message}); refusing to start over it`, { cause: e });
    }
  }

  async write(data: T): Promise<void> {
    const parts = this.serialise(data); // the snapshot: taken synchronously, before any await
    const fh = await open(this.tmp, 'w', 0o600);
    let bytes = 0;
    try {
      if (typeof parts === 'string') {
        await fh.writeFile(parts, 'utf8');
        bytes = Buffer.byteLength(parts);
      } else {
        let chunk = '';
        for (const part of parts) {
          chunk += part;
          if (chunk.length < DOCUMENT_CHUNK) continue;
          bytes += await writeText(fh, chunk);
          chunk = '';
        }
        if (chunk) bytes += await writeText(fh, chunk);
      }
      if (this.fsync) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(this.tmp, this.file);
    if (this.fsync) await syncDir(dirname(this.file)); // the rename itself is durable only once the directory is
    this.lastBytes = bytes;
  }
}

/** Writes `text` at the file's position; resolves with its bytes. */
async function writeText(fh: FileHandle, text: string): Promise<number> {
  const buf = Buffer.from(text, 'utf8');
  await writeAll(fh, buf);
  return buf.length;
}

export interface StoreEvents {
  /** After each journal record: the time to write and fdatasync it (ms), its bytes, the journal's bytes. */
  write: [number, number, number];
  /** After each fold: its time (ms, from the snapshot to the journal's replacement), the document's bytes. */
  fold: [number, number];
  writeError: [Error];
}

/** A lease as the store holds it: its JSON text, and its counters (compared on every counter poll). */
interface HeldLease {
  readonly text: string;
  readonly packetsIn: number;
  readonly bytesIn: number;
  readonly packetsOut: number;
  readonly bytesOut: number;
}

/** An event as the store holds it: StoredEvent with its data as JSON text. */
export interface HeldEvent {
  readonly id: number;
  readonly at: number;
  readonly type: StoredEvent['type'];
  readonly project: string | undefined;
  /** JSON of the event's data. */
  readonly data: string;
  /** Whether the data has a key of the frame's own (id, at, type): then the wire text is made the long way. */
  readonly clash: boolean;
}

/** The state in memory: StateData with the leases, the audit entries and the events held as their JSON texts. */
interface Held {
  version: number;
  seq: number;
  nextIds: StateData['nextIds'];
  tokens: Record<string, TokenRecord>;
  leases: Record<string, HeldLease>;
  blocks: Record<string, BlockRecord>;
  /** The audit entries' ids and texts, oldest first. */
  auditIds: number[];
  auditTexts: string[];
  events: HeldEvent[];
}

/** What changed since the last journal record. */
interface Changes {
  tokens: Set<number>;
  leases: Set<number>;
  blocks: Set<number>;
  /** The first event and audit ids not yet journaled. */
  event: number;
  audit: number;
}

interface Waiter { resolve: () => void; reject: (e: Error) => void }

export class Store extends EventEmitter<StoreEvents> {
  readonly file: string;
  readonly journalFile: string;
  loaded = false;
  private held: Held = hold(emptyState());
  private readonly adapter: DurableJsonFile<Held>;
  /** The state document through lowdb: written (folds) from the held state, which becomes its data once read. */
  private readonly document: Low<Held>;
  private readonly journal: Journal;
  private readonly opts: Required<Omit<StoreOptions, 'logger'>> & Pick<StoreOptions, 'logger'>;
  /** Each stored token's and block's JSON text, made when it is first journaled (they are replaced, never changed, once stored). */
  private readonly texts = new WeakMap<object, string>();
  private readonly closedLeases = new ClosedIds();
  private readonly closedBlocks = new ClosedIds();
  private changes: Changes = { tokens: new Set(), leases: new Set(), blocks: new Set(), event: 1, audit: 1 };
  /** The last journal record written (or read). */
  private seq = 0;
  /** The next ids as of that record (events and audit entries move them: a record with none changed nothing). */
  private journaledIds = '';
  private waiters: Waiter[] = [];
  /** Commits that wait for a record others cause (commitWithin), and the timer that causes one if none comes. */
  private riders: Waiter[] = [];
  private riderTimer: NodeJS.Timeout | undefined;
  /** A journal operation (a record, or the journal's replacement after a fold) is under way or scheduled. */
  private busy = false;
  private nextFoldAt: number;
  /** When the last journal record was written (performance.now()), and the timer that waits for a quiet moment. */
  private lastRecordAt = 0;
  private idleFoldTimer: NodeJS.Timeout | undefined;
  /** close() was called: no fold starts on its own any more (close folds what is left). */
  private closing = false;
  private fold: { seq: number; started: number; after: { seq: number; line: string }[]; written: boolean; done: Promise<void>; finish: (e?: Error) => void } | undefined;

  constructor(file: string, opts: StoreOptions = {}) {
    super();
    this.file = file;
    this.journalFile = join(dirname(file), JOURNAL_FILE);
    const foldBytes = opts.foldBytes ?? 8 * 1024 * 1024;
    this.opts = { maxEvents: 1000, maxAudit: 10000, maxClosed: 1000, fsync: true, foldIdleMs: 200, foldMaxBytes: 4 * foldBytes, ...opts, foldBytes };
    this.nextFoldAt = this.opts.foldBytes;
    this.adapter = new DurableJsonFile<Held>(file, this.opts.fsync, (h) => this.documentParts(h));
    this.document = new Low<Held>(this.adapter, this.held);
    this.journal = new Journal(this.journalFile, this.opts.fsync);
  }

  /**
   * The state as StateData, for tests and tools: the leases and audit entries are parsed from their texts (every
   * one, on every call: not for request paths); the rest are the store's own objects (do not change them).
   */
  get data(): StateData {
    const h = this.held;
    const leases: Record<string, LeaseRecord> = {};
    for (const id in h.leases) leases[id] = JSON.parse(h.leases[id]!.text) as LeaseRecord;
    return {
      version: h.version, seq: h.seq, nextIds: h.nextIds, tokens: h.tokens, leases, blocks: h.blocks,
      audit: h.auditTexts.map((t) => JSON.parse(t) as AuditEntry), events: h.events.map(storedEvent),
    };
  }

  /** Bytes of the journal's complete records. */
  get journalBytes(): number {
    return this.journal.bytes;
  }

  /** Bytes of the state document when it was last read or written. */
  get documentBytes(): number {
    return this.adapter.lastBytes;
  }

  /** Reads the document and replays the journal records it does not hold yet. */
  async read(): Promise<void> {
    // Read as written (StateData, through lowdb with a plain JSON adapter); held as Held once the journal is replayed.
    const reader = new DurableJsonFile<StateData>(this.file, this.opts.fsync);
    const doc = new Low<StateData>(reader, emptyState());
    await doc.read();
    const d = doc.data;
    this.adapter.lastBytes = reader.lastBytes;
    checkDocument(d, this.file);
    const { records, tornBytes, damaged } = await this.journal.open();
    if (damaged) {
      this.opts.logger?.error({ file: this.journalFile, line: damaged.line, bytes: damaged.bytes, text: damaged.text, err: damaged.error },
        `state journal: dropped its last record, line ${damaged.line}: a whole line that is not JSON (a power cut mid-append, or damage: if it was acknowledged, its change is lost)`);
    } else if (tornBytes > 0) {
      this.opts.logger?.info({ file: this.journalFile, bytes: tornBytes }, 'state journal: cut a record torn by a crash mid-append (never acknowledged)');
    }
    this.seq = replay(d, records, this.journalFile);
    this.journaledIds = JSON.stringify(d.nextIds);
    this.changes = { tokens: new Set(), leases: new Set(), blocks: new Set(), event: d.nextIds.event, audit: d.nextIds.audit };
    for (const l of Object.values(d.leases)) this.closedLeases.note(l.id, l.state !== 'active');
    for (const b of Object.values(d.blocks)) this.closedBlocks.note(b.id, b.state !== 'active');
    this.held = hold(d);
    this.prune();
    this.nextFoldAt = this.journal.bytes + this.opts.foldBytes;
    this.loaded = true;
  }

  /** The restored leases and blocks for DmzApp.start (copies: the app mutates its records). */
  load(): { leases: LeaseRecord[]; blocks: BlockRecord[] } {
    return {
      leases: Object.values(this.held.leases).map((l) => JSON.parse(l.text) as LeaseRecord),
      blocks: Object.values(this.held.blocks).map((b) => structuredClone(b)),
    };
  }

  // ---- changes (in memory; commit() makes them durable) ---------------------------------------------------------

  /** Stores a lease record as it is now; a record identical to the stored one is not a change (not journaled again). */
  putLease(rec: LeaseRecord): void {
    const held = holdLease(rec);
    // (A counter poll puts every active lease; those whose counters did not move are skipped before this.)
    if (Object.hasOwn(this.held.leases, rec.id) && this.held.leases[rec.id]!.text === held.text) return;
    this.held.leases[rec.id] = held;
    this.changes.leases.add(rec.id);
    this.closedLeases.note(rec.id, rec.state !== 'active');
  }

  putBlock(rec: BlockRecord): void {
    this.held.blocks[rec.id] = copyJson(rec);
    this.changes.blocks.add(rec.id);
    this.closedBlocks.note(rec.id, rec.state !== 'active');
  }

  /** Stores (a copy of) a token record; a change to a token is a new record put again. */
  putToken(rec: TokenRecord): void {
    this.held.tokens[rec.id] = copyJson(rec);
    this.changes.tokens.add(rec.id);
  }

  /** The stored record (do not change it: put a changed copy). */
  token(id: number): TokenRecord | undefined {
    return Object.hasOwn(this.held.tokens, id) ? this.held.tokens[id] : undefined;
  }

  /** Every stored token record (do not change them). */
  tokens(): TokenRecord[] {
    return Object.values(this.held.tokens);
  }

  /** The stored lease record (a copy, parsed from its text). */
  lease(id: number): LeaseRecord | undefined {
    return Object.hasOwn(this.held.leases, id) ? JSON.parse(this.held.leases[id]!.text) as LeaseRecord : undefined;
  }

  /** Whether lease `id` is stored with exactly these counters (a counter poll stores only the leases that moved). */
  leaseHasCounters(id: number, c: Counters): boolean {
    const l = Object.hasOwn(this.held.leases, id) ? this.held.leases[id]! : undefined;
    return l !== undefined && l.bytesIn === c.bytesIn && l.bytesOut === c.bytesOut && l.packetsIn === c.packetsIn && l.packetsOut === c.packetsOut;
  }

  allocTokenId(): number {
    return this.held.nextIds.token++;
  }

  addEvent(type: StoredEvent['type'], data: Record<string, unknown>, project?: string, at = Date.now()): StoredEvent {
    const ev: StoredEvent = project !== undefined ? { id: this.held.nextIds.event++, at, type, project, data } : { id: this.held.nextIds.event++, at, type, data };
    this.held.events.push(holdEvent(ev));
    return ev;
  }

  /** Events after `id`, oldest first (parsed from their texts: for tests and tools; the stream uses heldEventsSince). */
  eventsSince(id: number): StoredEvent[] {
    return this.heldEventsSince(id).map(storedEvent);
  }

  /** Events after `id`, oldest first, as the store holds them (do not change them). */
  heldEventsSince(id: number): HeldEvent[] {
    const ev = this.held.events;
    // Ids are consecutive within the kept window: index directly.
    const first = ev[0]?.id ?? 0;
    return ev.slice(Math.max(0, id + 1 - first));
  }

  get lastEventId(): number {
    return this.held.nextIds.event - 1;
  }

  get oldestEventId(): number | undefined {
    return this.held.events[0]?.id;
  }

  /** Records an audit entry: held as its text from now on (the entry returned is the caller's, e.g. to log). */
  addAudit(entry: Omit<AuditEntry, 'id' | 'at'> & { at?: number }): AuditEntry {
    const e: AuditEntry = { id: this.held.nextIds.audit++, at: entry.at ?? Date.now(), ...entry };
    this.held.auditIds.push(e.id);
    this.held.auditTexts.push(flat(JSON.stringify(e)));
    return e;
  }

  /** The audit entries after id `after` (all if undefined), oldest first, as their JSON texts. */
  *auditTexts(after?: number): IterableIterator<string> {
    const { auditIds: ids, auditTexts: texts } = this.held;
    let i = 0;
    if (after !== undefined && ids.length) {
      // Ids are consecutive within the kept window: index directly (then make sure).
      i = Math.min(ids.length, Math.max(0, after + 1 - ids[0]!));
      while (i > 0 && ids[i - 1]! > after) i--;
      while (i < ids.length && ids[i]! <= after) i++;
    }
    for (; i < texts.length; i++) yield texts[i]!;
  }

  // ---- durability -----------------------------------------------------------------------------------------------

  /** Resolves once every change made before the call is on disk (in a journal record). */
  commit(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  /**
   * Like commit(), but without a record of its own unless no other commit causes one within `ms`: the change
   * rides with the next record. For changes that may wait a little, such as the lease.created event that follows
   * a lease already written (a write of its own per lease would double the records at concurrency 1).
   */
  commitWithin(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.riders.push({ resolve, reject });
      this.riderTimer ??= setTimeout(() => {
        this.riderTimer = undefined;
        if (this.riders.length === 0) return;
        this.waiters.push(...this.riders);
        this.riders = [];
        this.schedule();
      }, ms);
    });
  }

  /** A commit nobody waits for (counters): failures are reported by the 'writeError' event. */
  commitSoon(): void {
    this.commit().catch(() => undefined);
  }

  /**
   * Folds the journal into the document now (also done when the journal passes `foldBytes`); resolves when the
   * document holds everything committed before the call and the journal only what came after.
   */
  async foldNow(): Promise<void> {
    await this.commit();
    // A fold started meanwhile (past the threshold) may hold only part of it: wait for it, then fold the rest.
    while (this.fold) await this.fold.done.catch(() => undefined);
    if (this.journal.bytes === 0) return;
    this.startFold();
    await this.fold!.done;
  }

  /** Commits what changed, folds the journal into the document, and closes the journal. */
  async close(): Promise<void> {
    if (!this.loaded) return;
    this.closing = true;
    clearTimeout(this.idleFoldTimer);
    try {
      await this.foldNow();
    } catch (e) {
      // The journal still holds every acknowledged change: the next start replays it.
      if (this.listenerCount('writeError') > 0) this.emit('writeError', e as Error);
    }
    clearTimeout(this.riderTimer);
    if (!this.busy && this.waiters.length === 0) await this.journal.close();
  }

  private schedule(): void {
    if (this.busy) return;
    this.busy = true;
    // After the current turn, so that every change this turn makes joins the same record.
    setImmediate(() => void this.pump());
  }

  /**
   * Runs the journal operations one at a time (the journal's replacement after a fold's document write, and
   * records) for as long as there are any: the next record starts as soon as the last one is on disk, with
   * everything committed meanwhile (not a turn of the event loop later, which under load is milliseconds).
   */
  private async pump(): Promise<void> {
    for (;;) {
      if (this.fold?.written) await this.finishFold();
      else if (this.waiters.length) await this.writeRecord();
      else break;
    }
    this.busy = false;
  }

  private async writeRecord(): Promise<void> {
    // Riders go with this record: it holds every change made so far, theirs too.
    const batch = this.riders.length ? this.waiters.concat(this.riders) : this.waiters;
    this.waiters = [];
    if (this.riders.length) {
      this.riders = [];
      clearTimeout(this.riderTimer);
      this.riderTimer = undefined;
    }
    const changes = this.changes;
    const nextIds = JSON.stringify(this.held.nextIds);
    if (!changes.tokens.size && !changes.leases.size && !changes.blocks.size && nextIds === this.journaledIds) {
      for (const w of batch) w.resolve(); // nothing changed since the last record
      return;
    }
    this.considerFold();
    const seq = this.seq + 1;
    const line = this.recordText(seq, nextIds, changes);
    this.changes = { tokens: new Set(), leases: new Set(), blocks: new Set(), event: this.held.nextIds.event, audit: this.held.nextIds.audit };
    const started = performance.now();
    try {
      await this.journal.append(line);
    } catch (e) {
      // Not in the journal: its changes go out with the next record (same seq).
      this.changes = mergeChanges(changes, this.changes);
      const err = e as Error;
      for (const w of batch) w.reject(err);
      if (this.listenerCount('writeError') > 0) this.emit('writeError', err);
      return;
    }
    this.seq = seq;
    this.lastRecordAt = performance.now();
    this.journaledIds = nextIds;
    this.fold?.after.push({ seq, line });
    this.emit('write', performance.now() - started, Buffer.byteLength(line), this.journal.bytes);
    // Retention only once a record holding what it drops is on disk: a lease dropped before its closing was
    // journaled would replay as active. What changed since (the next record's) is kept until then.
    this.prune();
    for (const w of batch) w.resolve();
  }

  /** One journal line: the sequence number, the next ids (`nextIds`: their JSON), and every item in `c` as it is now. */
  private recordText(seq: number, nextIds: string, c: Changes): string {
    const h = this.held;
    let out = `{"seq":${seq},"nextIds":${nextIds}`;
    const itemText = (x: object) => this.text(x);
    if (c.tokens.size) out += `,"tokens":{${itemTexts(c.tokens, h.tokens, itemText)}}`;
    if (c.leases.size) out += `,"leases":{${itemTexts(c.leases, h.leases, (l) => l.text)}}`;
    if (c.blocks.size) out += `,"blocks":{${itemTexts(c.blocks, h.blocks, itemText)}}`;
    if (h.nextIds.event > c.event) {
      const ev = h.events;
      let items = '';
      for (let i = Math.max(0, c.event - (ev[0]?.id ?? c.event)); i < ev.length; i++) items += `${items ? ',' : ''}${eventText(ev[i]!)}`;
      out += `,"events":[${items}]`;
    }
    if (h.nextIds.audit > c.audit) {
      const texts = h.auditTexts;
      let items = '';
      for (let i = Math.max(0, c.audit - (h.auditIds[0] ?? c.audit)); i < texts.length; i++) items += `${items ? ',' : ''}${texts[i]!}`;
      out += `,"audit":[${items}]`;
    }
    return `${out}}\n`;
  }

  private text(item: object): string {
    let t = this.texts.get(item);
    if (t === undefined) {
      t = flat(JSON.stringify(item));
      this.texts.set(item, t);
    }
    return t;
  }

  /**
   * The whole document as JSON (StateData), from the items' kept texts, in parts: the references to the texts
   * are taken now (the snapshot), the text made as the parts are read (DurableJsonFile writes them a chunk at a
   * time, between which requests are served).
   */
  private documentParts(h: Held): Iterable<string> {
    const mapText = <V>(m: Record<string, V>, text: (x: V) => string) => {
      const out: string[] = [];
      for (const id in m) out.push(`${JSON.stringify(id)}:${text(m[id]!)}`);
      return `{${out.join(',')}}`;
    };
    const item = (x: object) => this.text(x);
    // Tokens and blocks are few; leases, audit entries and events are what make a document megabytes.
    const head = `{"version":${h.version},"seq":${h.seq},"nextIds":${JSON.stringify(h.nextIds)},"tokens":${mapText(h.tokens, item)},"leases":{`;
    const blocks = mapText(h.blocks, item);
    const leaseIds = Object.keys(h.leases);
    const leaseTexts = leaseIds.map((id) => h.leases[id]!.text);
    const audit = h.auditTexts.slice();
    const events = h.events.slice();
    return (function* parts() {
      yield head;
      for (let i = 0; i < leaseIds.length; i++) yield `${i ? ',' : ''}${JSON.stringify(leaseIds[i])}:${leaseTexts[i]}`;
      yield `},"blocks":${blocks},"audit":[`;
      for (let i = 0; i < audit.length; i++) yield i ? `,${audit[i]}` : audit[i]!;
      yield '],"events":[';
      for (let i = 0; i < events.length; i++) yield i ? `,${eventText(events[i]!)}` : eventText(events[i]!);
      yield ']}';
    })();
  }

  /** Starts a fold if the journal is past its threshold: at once past foldMaxBytes, else once records pause. */
  private considerFold(): void {
    if (!this.foldDue()) return;
    const { foldBytes, foldMaxBytes, foldIdleMs } = this.opts;
    if (foldIdleMs <= 0 || this.journal.bytes >= this.nextFoldAt + foldMaxBytes - foldBytes) {
      this.startFold();
      return;
    }
    if (this.idleFoldTimer) return;
    const check = (): void => {
      this.idleFoldTimer = undefined;
      if (!this.foldDue()) return; // folded meanwhile (past foldMaxBytes), or closing
      const wait = foldIdleMs - (performance.now() - this.lastRecordAt);
      if (wait <= 0) this.startFold();
      else this.idleFoldTimer = setTimeout(check, wait).unref();
    };
    this.idleFoldTimer = setTimeout(check, foldIdleMs).unref();
  }

  /** The journal is past its fold threshold and no fold runs (nor will: closing). */
  private foldDue(): boolean {
    return !this.fold && !this.closing && this.journal.bytes >= this.nextFoldAt;
  }

  /**
   * Starts a fold: the document is written as it is now, marked as holding every record written so far (those
   * under way or to come carry their items whole, so replaying them over it is harmless).
   */
  private startFold(): void {
    if (this.fold) return; // one at a time: the document has one temp file
    let finish!: (e?: Error) => void;
    const done = new Promise<void>((resolve, reject) => { finish = (e) => (e ? reject(e) : resolve()); });
    done.catch(() => undefined);
    const fold = { seq: this.seq, started: performance.now(), after: [] as { seq: number; line: string }[], written: false, done, finish };
    this.fold = fold;
    this.held.seq = fold.seq;
    this.document.data = this.held;
    this.document.write().then(() => {
      fold.written = true;
      this.schedule();
    }, (e: Error) => {
      // The journal still holds everything: try again once it has grown a quarter more.
      this.fold = undefined;
      this.nextFoldAt = this.journal.bytes + this.opts.foldBytes / 4;
      if (this.listenerCount('writeError') > 0) this.emit('writeError', e);
      finish(e);
    });
  }

  /** The document holds records up to the fold's seq: the journal keeps only those after it. */
  private async finishFold(): Promise<void> {
    const fold = this.fold!;
    try {
      await this.journal.rewrite(fold.after.filter((r) => r.seq > fold.seq).map((r) => r.line));
    } catch (e) {
      this.fold = undefined;
      this.nextFoldAt = this.journal.bytes + this.opts.foldBytes / 4;
      if (this.listenerCount('writeError') > 0) this.emit('writeError', e as Error);
      fold.finish(e as Error);
      return;
    }
    this.fold = undefined;
    this.nextFoldAt = this.journal.bytes + this.opts.foldBytes;
    this.emit('fold', performance.now() - fold.started, this.adapter.lastBytes);
    fold.finish();
  }

  /**
   * Keeps the state bounded: the newest events, audit entries, ended leases and removed blocks, never dropping
   * what is not journaled yet (`changes`: the next record's).
   */
  private prune(): void {
    const h = this.held;
    const c = this.changes;
    /**
     * How many of the oldest to drop from a list (`first`: its first id), keeping `keep` and those from `firstNew`
     * on; none until it is an eighth over `keep`: dropping the oldest moves the whole array (10,000 audit entries
     * after every record took more CPU than any other function of a request), dropping many at once rarely does.
     */
    const excess = (length: number, first: number | undefined, keep: number, firstNew: number): number => {
      if (length - keep <= keep >> 3) return 0;
      const journaled = first === undefined ? 0 : Math.max(0, Math.min(length, firstNew - first));
      return Math.min(journaled, length - keep);
    };
    const events = excess(h.events.length, h.events[0]?.id, this.opts.maxEvents, c.event);
    if (events > 0) h.events.splice(0, events);
    const audit = excess(h.auditIds.length, h.auditIds[0], this.opts.maxAudit, c.audit);
    if (audit > 0) {
      h.auditIds.splice(0, audit);
      h.auditTexts.splice(0, audit);
    }
    this.closedLeases.prune(h.leases, this.opts.maxClosed, c.leases);
    this.closedBlocks.prune(h.blocks, this.opts.maxClosed, c.blocks);
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

  /** Drops the oldest closed records beyond `keep`, stopping at one in `pending` (not journaled yet). */
  prune(map: Record<string, unknown>, keep: number, pending: Set<number>): void {
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
 * JSON would): the store's own copy of a record, taken when it is put. A few times faster than structuredClone
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

function mergeChanges(a: Changes, b: Changes): Changes {
  return {
    tokens: new Set([...a.tokens, ...b.tokens]), leases: new Set([...a.leases, ...b.leases]), blocks: new Set([...a.blocks, ...b.blocks]),
    event: Math.min(a.event, b.event), audit: Math.min(a.audit, b.audit),
  };
}

/**
 * The same string, made flat: JSON.stringify answers a tree of pieces (a cons string), which converting it to a
 * number flattens in place (and the garbage collector then drops the tree), so that a text kept is one string.
 */
function flat(s: string): string {
  void Number(s);
  return s;
}

/** A lease as held: its (flat) JSON text and its counters (NaN for any a record read from disk lacks: never equal). */
function holdLease(l: LeaseRecord): HeldLease {
  const c: Partial<Counters> = l.counters ?? {};
  return { text: flat(JSON.stringify(l)), packetsIn: c.packetsIn ?? NaN, bytesIn: c.bytesIn ?? NaN, packetsOut: c.packetsOut ?? NaN, bytesOut: c.bytesOut ?? NaN };
}

/** An event as held: its data as (flat) JSON text. */
function holdEvent(e: StoredEvent): HeldEvent {
  const data = e.data ?? {};
  return {
    id: e.id, at: e.at, type: e.type, project: e.project, data: flat(JSON.stringify(data)),
    clash: Object.hasOwn(data, 'id') || Object.hasOwn(data, 'at') || Object.hasOwn(data, 'type'),
  };
}

/** A held event as StoredEvent (its data parsed). */
function storedEvent(h: HeldEvent): StoredEvent {
  const data = JSON.parse(h.data) as Record<string, unknown>;
  return h.project !== undefined ? { id: h.id, at: h.at, type: h.type, project: h.project, data } : { id: h.id, at: h.at, type: h.type, data };
}

/** A held event's JSON as StoredEvent (what JSON.stringify of storedEvent(h) gives, made from the kept data text). */
export function eventText(h: HeldEvent): string {
  const project = h.project !== undefined ? `,"project":${JSON.stringify(h.project)}` : '';
  return `{"id":${h.id},"at":${JSON.stringify(h.at)},"type":${JSON.stringify(h.type)}${project},"data":${h.data}}`;
}

/** The state read from the document (and the journal), as the store holds it. */
function hold(d: StateData): Held {
  const leases: Record<string, HeldLease> = {};
  for (const id in d.leases) leases[id] = holdLease(d.leases[id]!);
  return {
    version: d.version, seq: d.seq ?? 0, nextIds: d.nextIds, tokens: d.tokens, leases, blocks: d.blocks,
    auditIds: d.audit.map((a) => a.id), auditTexts: d.audit.map((a) => flat(JSON.stringify(a))), events: d.events.map(holdEvent),
  };
}

function emptyState(): StateData {
  return { version: VERSION, seq: 0, nextIds: { token: 1, event: 1, audit: 1 }, tokens: {}, leases: {}, blocks: {}, audit: [], events: [] };
}

function checkDocument(d: StateData, file: string): void {
  if (typeof d !== 'object' || d === null || d.version !== VERSION || typeof d.nextIds !== 'object'
    || typeof d.tokens !== 'object' || typeof d.leases !== 'object' || typeof d.blocks !== 'object' || !Array.isArray(d.audit) || !Array.isArray(d.events)) {
    throw new Error(`state file ${file} is not a dmzgate state file of version ${VERSION}`);
  }
}

interface RecordBody {
  nextIds?: Partial<StateData['nextIds']>;
  tokens?: Record<string, TokenRecord>;
  leases?: Record<string, LeaseRecord>;
  blocks?: Record<string, BlockRecord>;
  events?: StoredEvent[];
  audit?: AuditEntry[];
}

/** Applies the journal records the document does not hold; returns the last seq. Throws if they do not follow it. */
function replay(d: StateData, records: JournalRecord[], file: string): number {
  let seq = d.seq ?? 0;
  const fresh = records.filter((r) => r.seq > seq);
  if (fresh.length && fresh[0]!.seq !== seq + 1) {
    const line = records.indexOf(fresh[0]!) + 1;
    throw new JournalError(file, line, `record ${fresh[0]!.seq} does not follow the state document, which holds records up to ${seq}: records are missing`);
  }
  for (const r of fresh as (JournalRecord & RecordBody)[]) {
    if (r.nextIds) for (const k of ['token', 'event', 'audit'] as const) d.nextIds[k] = Math.max(d.nextIds[k], r.nextIds[k] ?? 0);
    Object.assign(d.tokens, r.tokens);
    Object.assign(d.leases, r.leases);
    Object.assign(d.blocks, r.blocks);
    const lastEvent = d.events.at(-1)?.id ?? 0;
    for (const e of r.events ?? []) if (e.id > lastEvent) d.events.push(e);
    const lastAudit = d.audit.at(-1)?.id ?? 0;
    for (const a of r.audit ?? []) if (a.id > lastAudit) d.audit.push(a);
    seq = r.seq;
  }
  return seq;
}

/** Opens (creating if needed) the state under `dataDir` and reads it. */
export async function openStore(dataDir: string, opts: StoreOptions = {}): Promise<Store> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const store = new Store(join(dataDir, STATE_FILE), opts);
  await store.read();
  return store;
}

/**
 * The state as a restart would find it (the document with the journal replayed over it, before the retention
 * caps are applied), read without changing any file: for tests and tools looking at a live data directory.
 */
export async function readState(dataDir: string): Promise<StateData> {
  const doc = await new DurableJsonFile<StateData>(join(dataDir, STATE_FILE)).read() ?? emptyState();
  checkDocument(doc, join(dataDir, STATE_FILE));
  const file = join(dataDir, JOURNAL_FILE);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    bytes = Buffer.alloc(0);
  }
  replay(doc, parseJournal(bytes, file).records, file);
  return doc;
}

/** `"ID":TEXT,...` of the items of `map` named in `ids` (those still there), each spelt by `text`. */
function itemTexts<T>(ids: Set<number>, map: Record<string, T>, text: (item: T) => string): string {
  let out = '';
  for (const id of ids) if (Object.hasOwn(map, id)) out += `${out ? ',' : ''}"${id}":${text(map[id]!)}`;
  return out;
}
