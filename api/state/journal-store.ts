// The embedded StateStore backend (the default): one JSON document (lowdb) under the data directory holding the
// tokens (hashed), the leases and blocks, the audit trail, the event log and the next ids, and beside it a
// write-ahead journal (journal-file.ts); state-document.ts has their formats.
//
// Why a journal. The document grows to megabytes (the event log, the audit trail and the ended leases are kept
// up to their caps: ~3.4 MB after ~5000 transfers). Rewriting all of it (JSON.stringify on the event loop, then
// write, fsync, rename, fsync of the directory) for every group of changes cost 5-14 ms per write and kept the
// disk ~95% busy at ~200 requests/s: the state writes were what limited the API. A request changes a few items
// (its lease, an event, an audit entry), so that is what a commit writes now.
//
// Commits. A batch is applied to the state in memory (the StateView the API reads) when commit() is called, and
// its promise resolves once a journal record holding it is on disk. Records are written one at a time, and every
// batch committed while one is under way goes into the next (group commit): one record = one line of JSON = one
// write() of the journal, opened with O_DSYNC (the write and an fdatasync() in one), holding the sequence number,
// the revision of its last batch, the next ids, the full current value of every token, lease and block changed
// since the previous record, and the events and audit entries added since. A batch is applied in one turn of the
// event loop and a record is made in another, so a batch is never split across records: after a crash, all of it
// or none of it is there. A commit resolves only if the file written is still the journal (one removed under us
// takes writes a restart would never see). A failed record rejects its commits; their changes go out with the
// next record (not known durable, then durable). Retention (the caps) is applied after a record is written, so
// that what it drops was journaled first (a lease dropped while its closing was not would replay as active).
//
// Folds. A fresh data directory has only the journal. When it passes `foldBytes` (and at close()), it is folded
// into the document, at the first quiet moment (no record for `foldIdleMs`) or at once when it reaches
// `foldMaxBytes` (4x foldBytes): a fold writes the whole document (megabytes) and its disk writes and final fsync
// slow the records written meanwhile, so it waits for a pause in the requests rather than stalling a burst of
// them (measured at concurrency 10: the ~80 requests during a fold's 50-60 ms document write took 8 ms on average,
// against a median of 2.3-2.6 ms). The fold itself: the document is rewritten (the whole text to `.NAME.tmp`,
// fsync, rename over NAME, fsync of the directory: DurableJsonFile) carrying `seq`, the last record it holds;
// then the journal is replaced (temp, fsync, rename, directory fsync) by the records written after that point,
// while new records wait. The document's text is put together from the items' kept texts, so a fold costs the
// event loop a string join, not a JSON.stringify of megabytes, and the write itself runs beside the commits.
//
// Reading (openJournalStore). The document, then every journal record with a higher seq, in order. A torn final
// line (a crash or power cut during an append: that record was never acknowledged) is ignored and cut off; a
// damaged record anywhere else, or records that do not continue the document, stop the start with an error
// naming the file and the line: never a silent loss of acknowledged tokens, leases or blocks (an acknowledged
// block that vanished would re-open an address an IDS asked us to drop).
//
// Crashes. kill -9 (or a power cut) at any instant loses nothing acknowledged and corrupts nothing: during an
// append the record is torn (ignored) or whole; during a fold's document write the old document and the whole
// journal are there; between the document's rename and the journal's, the journal's records up to the
// document's seq are skipped; the journal's rename is atomic and appends resume only once it is durable.
// With `fsync: false` (tests) nothing is fsync'd: durable against a kill only.
import { EventEmitter } from 'node:events';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Low } from 'lowdb';
import type { LeaseRecord } from '../../apps/dmz/records.js';
import type { Logger } from '../../controller/log.js';
import { DurableJsonFile } from './durable-json-file.js';
import { Journal, parseJournal } from './journal-file.js';
import {
  checkDocument,
  documentParts,
  documentSnapshot,
  emptyState,
  mergeChanges,
  recordText,
  replay,
  VERSION,
  type Changes,
  type StateData,
} from './state-document.js';
import type { CommitOptions, CommittedBatch, Snapshot, StateBackend, StateRecord, Unsubscribe } from './state-store.js';
import { StateView, storedEvent, type Retention } from './state-view.js';
import { BatchLog, keptRecord, type KeptRecord } from './batch-log.js';
import type { AuditEntry } from './types.js';

export const STATE_FILE = 'dmzgate-state.json';
/** The write-ahead journal beside it. */
export const JOURNAL_FILE = 'dmzgate-state.journal';

export interface JournalStoreOptions extends Retention {
  /** fsync the journal on every record and the document on every fold (default true; see the header). */
  fsync?: boolean;
  /** Journal size (bytes) past which it is folded into the document, once no record came for foldIdleMs. Default 8 MiB. */
  foldBytes?: number;
  /** How long no record must have been written before a fold past foldBytes starts (ms). Default 200; 0: at once. */
  foldIdleMs?: number;
  /** Journal size past which a fold starts at once, quiet or not. Default 4 x foldBytes. */
  foldMaxBytes?: number;
  /** Durable batches kept for subscribe() from an older revision (since this start). Default 256. */
  keepBatches?: number;
  /** Where what reading the state finds wrong is said (a torn or damaged last journal record). Default: nowhere. */
  logger?: Logger;
}

export interface JournalStoreEvents {
  /** After each journal record: the time to write and fdatasync it (ms), its bytes, the journal's bytes. */
  write: [number, number, number];
  /** After each fold: its time (ms, from the snapshot to the journal's replacement), the document's bytes. */
  fold: [number, number];
  writeError: [Error];
}

interface Waiter {
  revision: number;
  resolve: (r: { revision: number }) => void;
  reject: (e: Error) => void;
}

export class JournalStateStore extends EventEmitter<JournalStoreEvents> implements StateBackend {
  readonly file: string;
  readonly journalFile: string;
  loaded = false;
  /** The state as committed so far (durable or on its way): what the API reads. Replaced by read(). */
  private current = new StateView(documentSnapshot(emptyState(), 0));
  private readonly adapter: DurableJsonFile<StateView>;
  /** The state document through lowdb: written (folds) from the view. */
  private readonly document: Low<StateView>;
  private readonly journal: Journal;
  private readonly opts: Required<Omit<JournalStoreOptions, 'logger' | keyof Retention>> & JournalStoreOptions;
  private changes: Changes = { tokens: new Set(), leases: new Set(), blocks: new Set(), event: 1, audit: 1 };
  /** The last revision given to a batch, and the last one on disk. */
  private revision = 0;
  private durable = 0;
  /** The batches for subscribers (replaced by read(), which knows the revision loaded). */
  private log: BatchLog;
  /** The last journal record written (or read). */
  private seq = 0;
  /** The next ids as of that record (events and audit entries move them: a record with none changed nothing). */
  private journaledIds = '';
  private waiters: Waiter[] = [];
  /** Commits that wait for a record others cause (maxDelayMs), and the timer that causes one if none comes. */
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
  /** close() finished: no commit is taken. */
  private closed = false;
  private closeDone: Promise<void> | undefined;
  private fold:
    | { seq: number; started: number; after: { seq: number; line: string }[]; written: boolean; done: Promise<void>; finish: (e?: Error) => void }
    | undefined;

  constructor(file: string, opts: JournalStoreOptions = {}) {
    super();
    this.file = file;
    this.journalFile = join(dirname(file), JOURNAL_FILE);
    const foldBytes = opts.foldBytes ?? 8 * 1024 * 1024;
    this.opts = { fsync: true, foldIdleMs: 200, foldMaxBytes: 4 * foldBytes, keepBatches: 256, ...opts, foldBytes };
    this.nextFoldAt = this.opts.foldBytes;
    // A fold's document may hold batches applied but not journaled yet, under the revision last journaled: if the
    // process dies before their record, they were never acknowledged nor sent to subscribers, so a revision they
    // had may be given again.
    this.adapter = new DurableJsonFile<StateView>(file, this.opts.fsync, (v) => documentParts(v, this.fold?.seq ?? this.seq, this.durable));
    this.document = new Low<StateView>(this.adapter, this.current);
    this.journal = new Journal(this.journalFile, this.opts.fsync);
    this.log = new BatchLog(this.opts.keepBatches, 0, this.opts.logger);
  }

  get view(): StateView {
    return this.current;
  }

  /**
   * The state as the document holds it, for tests and tools: every lease, audit entry and event parsed from its
   * text (on every call: not for request paths); tokens and blocks are the view's own objects (do not change them).
   */
  get data(): StateData {
    const v = this.view;
    const leases: Record<string, LeaseRecord> = {};
    for (const id in v.leases) leases[id] = JSON.parse(v.leases[id]!.text) as LeaseRecord;
    return {
      version: VERSION,
      seq: this.seq,
      rev: this.durable,
      nextIds: v.nextIds,
      tokens: { ...v.tokensById },
      leases,
      blocks: v.blocks,
      audit: v.auditTexts.map((t) => JSON.parse(t) as AuditEntry),
      events: v.events.map(storedEvent),
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
    // Read as written (StateData, through lowdb with a plain JSON adapter); held as a StateView once the journal is replayed.
    const reader = new DurableJsonFile<StateData>(this.file, this.opts.fsync);
    const doc = new Low<StateData>(reader, emptyState());
    await doc.read();
    const d = doc.data;
    this.adapter.lastBytes = reader.lastBytes;
    checkDocument(d, this.file);
    const { records, tornBytes, damaged } = await this.journal.open();
    if (damaged) {
      this.opts.logger?.error(
        { file: this.journalFile, line: damaged.line, bytes: damaged.bytes, text: damaged.text, err: damaged.error },
        `state journal: dropped its last record, line ${damaged.line}: a whole line that is not JSON (a power cut mid-append, or damage: if it was acknowledged, its change is lost)`,
      );
    } else if (tornBytes > 0) {
      this.opts.logger?.info(
        { file: this.journalFile, bytes: tornBytes },
        'state journal: cut a record torn by a crash mid-append (never acknowledged)',
      );
    }
    const { seq, revision } = replay(d, records, this.journalFile);
    this.seq = seq;
    this.revision = this.durable = revision;
    this.journaledIds = JSON.stringify(d.nextIds);
    this.changes = { tokens: new Set(), leases: new Set(), blocks: new Set(), event: d.nextIds.event, audit: d.nextIds.audit };
    this.current = new StateView(documentSnapshot(d, revision), this.opts);
    this.log = new BatchLog(this.opts.keepBatches, revision, this.opts.logger);
    this.document.data = this.view;
    this.view.prune(this.changes);
    this.nextFoldAt = this.journal.bytes + this.opts.foldBytes;
    this.loaded = true;
  }

  async load(): Promise<Snapshot> {
    return this.view.snapshot(this.revision);
  }

  commit(batch: readonly StateRecord[], opts: CommitOptions = {}): Promise<{ revision: number }> {
    if (this.closed) return Promise.reject(new Error('the state store is closed'));
    let applied: number | undefined;
    try {
      applied = this.apply(batch);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    const revision = applied ?? this.revision;
    return new Promise((resolve, reject) => {
      const w: Waiter = { revision, resolve, reject };
      if (opts.maxDelayMs === undefined) {
        this.waiters.push(w);
        this.schedule();
        return;
      }
      this.riders.push(w);
      this.riderTimer ??= setTimeout(() => {
        this.riderTimer = undefined;
        if (this.riders.length === 0) return;
        this.waiters.push(...this.riders);
        this.riders = [];
        this.schedule();
      }, opts.maxDelayMs);
    });
  }

  subscribe(fromRevision: number, listener: (b: CommittedBatch) => void): Unsubscribe {
    return this.log.subscribe(fromRevision, listener);
  }

  /**
   * Folds the journal into the document now (also done when the journal passes `foldBytes`); resolves when the
   * document holds everything committed before the call and the journal only what came after.
   */
  async foldNow(): Promise<void> {
    await this.flush();
    // A fold started meanwhile (past the threshold) may hold only part of it: wait for it, then fold the rest.
    while (this.fold) await this.fold.done.catch(() => undefined);
    if (this.journal.bytes === 0) return;
    this.startFold();
    await this.fold!.done;
  }

  /** Writes what was committed, folds the journal into the document, and closes the journal. */
  close(): Promise<void> {
    this.closeDone ??= this.shutDown();
    return this.closeDone;
  }

  private async shutDown(): Promise<void> {
    if (!this.loaded) return;
    this.closing = true;
    clearTimeout(this.idleFoldTimer);
    try {
      await this.foldNow();
    } catch (e) {
      // The journal still holds every acknowledged change: the next start replays it.
      if (this.listenerCount('writeError') > 0) this.emit('writeError', e as Error);
    }
    this.closed = true;
    clearTimeout(this.riderTimer);
    if (!this.busy && this.waiters.length === 0) await this.journal.close();
  }

  /** Resolves once everything committed before the call is on disk. */
  private flush(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ revision: this.revision, resolve: () => resolve(), reject });
      this.schedule();
    });
  }

  /** Applies a batch to the view, noting what the next record must hold; its revision, if it changed anything. */
  private apply(batch: readonly StateRecord[]): number | undefined {
    const v = this.view;
    v.check(batch);
    const kept: KeptRecord[] = [];
    let changed = false;
    for (const r of batch) {
      if (v.apply(r)) {
        changed = true;
        if (r.kind === 'lease.put') this.changes.leases.add(r.lease.id);
        else if (r.kind === 'block.put') this.changes.blocks.add(r.block.id);
        else if (r.kind === 'token.put') this.changes.tokens.add(r.token.id);
        else if (r.kind === 'token.revoke') this.changes.tokens.add(r.id);
      }
      kept.push(keptRecord(r, v));
    }
    if (!changed) return undefined;
    this.log.applied(++this.revision, kept);
    return this.revision;
  }

  private schedule(): void {
    if (this.busy) return;
    this.busy = true;
    // After the current turn, so that every batch this turn commits joins the same record.
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
    // Riders go with this record: it holds every batch applied so far, theirs too.
    const batch = this.riders.length ? this.waiters.concat(this.riders) : this.waiters;
    this.waiters = [];
    if (this.riders.length) {
      this.riders = [];
      clearTimeout(this.riderTimer);
      this.riderTimer = undefined;
    }
    const changes = this.changes;
    const nextIds = JSON.stringify(this.view.nextIds);
    const revision = this.revision;
    if (!changes.tokens.size && !changes.leases.size && !changes.blocks.size && nextIds === this.journaledIds && revision === this.durable) {
      for (const w of batch) w.resolve({ revision: w.revision }); // nothing changed since the last record
      return;
    }
    this.considerFold();
    const seq = this.seq + 1;
    const line = recordText(this.view, seq, revision, nextIds, changes);
    this.changes = { tokens: new Set(), leases: new Set(), blocks: new Set(), event: this.view.nextIds.event, audit: this.view.nextIds.audit };
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
    this.view.prune(this.changes);
    this.durable = revision;
    this.log.durable(revision);
    for (const w of batch) w.resolve({ revision: w.revision });
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
    const done = new Promise<void>((resolve, reject) => {
      finish = (e) => (e ? reject(e) : resolve());
    });
    done.catch(() => undefined);
    const fold = { seq: this.seq, started: performance.now(), after: [] as { seq: number; line: string }[], written: false, done, finish };
    this.fold = fold;
    this.document.data = this.view;
    this.document.write().then(
      () => {
        fold.written = true;
        this.schedule();
      },
      (e: Error) => {
        // The journal still holds everything: try again once it has grown a quarter more.
        this.fold = undefined;
        this.nextFoldAt = this.journal.bytes + this.opts.foldBytes / 4;
        if (this.listenerCount('writeError') > 0) this.emit('writeError', e);
        finish(e);
      },
    );
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
}

/** Opens (creating if needed) the state under `dataDir` and reads it. */
export async function openJournalStore(dataDir: string, opts: JournalStoreOptions = {}): Promise<JournalStateStore> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const store = new JournalStateStore(join(dataDir, STATE_FILE), opts);
  await store.read();
  return store;
}

/**
 * The state as a restart would find it (the document with the journal replayed over it, before the retention
 * caps are applied), read without changing any file: for tests and tools looking at a live data directory.
 */
export async function readState(dataDir: string): Promise<StateData> {
  const doc = (await new DurableJsonFile<StateData>(join(dataDir, STATE_FILE)).read()) ?? emptyState();
  checkDocument(doc, join(dataDir, STATE_FILE));
  const file = join(dataDir, JOURNAL_FILE);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    bytes = Buffer.alloc(0);
  }
  const { seq, revision } = replay(doc, parseJournal(bytes, file).records, file);
  doc.seq = seq;
  doc.rev = revision;
  return doc;
}
