// The API's durable state: one JSON file (lowdb) under the data directory holding the tokens (hashed), the
// leases and blocks, the audit trail, the event log and the next ids.
//
// Durability. lowdb's own JSONFile adapter writes through steno (node_modules/steno/lib/index.js): it writes
// the whole document to `.NAME.tmp`, then rename()s it over NAME, one write at a time, keeping only the latest
// pending document. The rename makes every write atomic (a reader, or a restart after kill -9, sees the old file
// or the new one, never a mix), but steno never fsync()s, so after a power cut or kernel crash the last
// acknowledged writes may be missing (or, on file systems without ext4's rename heuristics, the file empty). An
// acknowledged block that vanishes would re-open an address an IDS asked us to drop, so DurableJsonFile below does
// the same temp + rename and also fsync()s the temp file before the rename and the directory after it (~1.5 ms
// more per write here). The API acknowledges a change only after the write holding it resolved.
//
// Throughput. Changes are made in memory; commit() returns a promise for the next write that includes them.
// Writes are serialised (one in flight) and coalesced (every change made while one is in flight goes out in the
// next, single, write), so however many requests arrive, the file is rewritten at most once per write time:
// state writes add latency (one or two writes) but never limit the request rate.
import { EventEmitter } from 'node:events';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Low, type Adapter } from 'lowdb';
import type { LeaseRecord, BlockRecord } from '../apps/dmz/lease-book.js';

export const STATE_FILE = 'dmzgate-state.json';
const VERSION = 1;

export type Scope = 'transfers:read' | 'transfers:write' | 'blocks:write' | 'admin';
export const SCOPES: readonly Scope[] = ['transfers:read', 'transfers:write', 'blocks:write', 'admin'];

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
  type: 'lease.created' | 'lease.extended' | 'lease.closed' | 'block.created' | 'block.removed' | 'switch.up' | 'switch.down';
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
  /** Audit entries kept in the file (every entry is also logged). Default 10000. */
  maxAudit?: number;
  /** Ended leases and removed blocks kept (the newest ids). Default 1000 each. */
  maxClosed?: number;
  /** fsync the file and its directory on every write (default true; see the header). */
  fsync?: boolean;
}

/** Write-temp, fsync, rename, fsync-directory: the lowdb adapter the store uses. */
export class DurableJsonFile<T> implements Adapter<T> {
  readonly tmp: string;
  /** Bytes of the last document written. */
  lastBytes = 0;
  constructor(readonly file: string, private readonly fsync = true) {
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
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      // Never start over an unreadable state file: that would forget tokens, leases and blocks.
      throw new Error(`state file ${this.file} is not valid JSON (${(e as Error).message}); refusing to start over it`);
    }
  }

  async write(data: T): Promise<void> {
    const text = JSON.stringify(data); // the snapshot: taken synchronously, before any await
    this.lastBytes = Buffer.byteLength(text);
    const fh = await open(this.tmp, 'w', 0o600);
    try {
      await fh.writeFile(text, 'utf8');
      if (this.fsync) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(this.tmp, this.file);
    if (this.fsync) {
      const dir = await open(dirname(this.file), 'r');
      try {
        await dir.sync(); // the rename itself is durable only once the directory is
      } finally {
        await dir.close();
      }
    }
  }
}

export interface StoreEvents {
  /** After each write: its duration (ms) and size (bytes of JSON). */
  write: [number, number];
  writeError: [Error];
}

export class Store extends EventEmitter<StoreEvents> {
  readonly file: string;
  loaded = false;
  private readonly db: Low<StateData>;
  private readonly adapter: DurableJsonFile<StateData>;
  private readonly opts: Required<StoreOptions>;
  private writing = false;
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(file: string, opts: StoreOptions = {}) {
    super();
    this.file = file;
    this.opts = { maxEvents: 1000, maxAudit: 10000, maxClosed: 1000, fsync: true, ...opts };
    this.adapter = new DurableJsonFile<StateData>(file, this.opts.fsync);
    this.db = new Low<StateData>(this.adapter, emptyState());
  }

  get data(): StateData {
    return this.db.data;
  }

  async read(): Promise<void> {
    await this.db.read();
    const d = this.db.data;
    if (typeof d !== 'object' || d === null || d.version !== VERSION || typeof d.nextIds !== 'object') {
      throw new Error(`state file ${this.file} is not a dmzgate state file of version ${VERSION}`);
    }
    this.loaded = true;
  }

  /** The restored leases and blocks for DmzApp.start (copies: the app mutates its records). */
  load(): { leases: LeaseRecord[]; blocks: BlockRecord[] } {
    return {
      leases: Object.values(this.data.leases).map((l) => structuredClone(l)),
      blocks: Object.values(this.data.blocks).map((b) => structuredClone(b)),
    };
  }

  // ---- changes (in memory; commit() makes them durable) ---------------------------------------------------------

  putLease(rec: LeaseRecord): void {
    this.data.leases[rec.id] = structuredClone(rec);
  }

  putBlock(rec: BlockRecord): void {
    this.data.blocks[rec.id] = structuredClone(rec);
  }

  putToken(rec: TokenRecord): void {
    this.data.tokens[rec.id] = rec;
  }

  token(id: number): TokenRecord | undefined {
    return Object.hasOwn(this.data.tokens, id) ? this.data.tokens[id] : undefined;
  }

  allocTokenId(): number {
    return this.data.nextIds.token++;
  }

  addEvent(type: StoredEvent['type'], data: Record<string, unknown>, project?: string, at = Date.now()): StoredEvent {
    const ev: StoredEvent = { id: this.data.nextIds.event++, at, type, ...(project !== undefined ? { project } : {}), data };
    this.data.events.push(ev);
    return ev;
  }

  /** Events after `id`, oldest first. */
  eventsSince(id: number): StoredEvent[] {
    const ev = this.data.events;
    // Ids are consecutive within the kept window: index directly.
    const first = ev[0]?.id ?? 0;
    return ev.slice(Math.max(0, id + 1 - first));
  }

  get lastEventId(): number {
    return this.data.nextIds.event - 1;
  }

  get oldestEventId(): number | undefined {
    return this.data.events[0]?.id;
  }

  addAudit(entry: Omit<AuditEntry, 'id' | 'at'> & { at?: number }): AuditEntry {
    const e: AuditEntry = { id: this.data.nextIds.audit++, at: entry.at ?? Date.now(), ...entry };
    this.data.audit.push(e);
    return e;
  }

  // ---- durability -----------------------------------------------------------------------------------------------

  /** Resolves once every change made before the call is on disk. */
  commit(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.writing) this.startWrite();
    });
  }

  /** A commit nobody waits for (counters): failures are reported by the 'writeError' event. */
  commitSoon(): void {
    this.commit().catch(() => undefined);
  }

  /** Waits for the writes under way. */
  async close(): Promise<void> {
    if (this.writing || this.waiters.length) await this.commit().catch(() => undefined);
  }

  private startWrite(): void {
    this.writing = true;
    // After the current turn, so that every change this turn makes joins the same write.
    setImmediate(() => void this.writeBatch());
  }

  private async writeBatch(): Promise<void> {
    const batch = this.waiters;
    this.waiters = [];
    const started = performance.now();
    try {
      this.prune();
      await this.db.write();
      this.emit('write', performance.now() - started, this.adapter.lastBytes);
      for (const w of batch) w.resolve();
    } catch (e) {
      const err = e as Error;
      for (const w of batch) w.reject(err);
      if (this.listenerCount('writeError') > 0) this.emit('writeError', err);
    }
    this.writing = false;
    if (this.waiters.length > 0) this.startWrite();
  }

  /** Keeps the file bounded: the newest events, audit entries, ended leases and removed blocks. */
  private prune(): void {
    const d = this.data;
    if (d.events.length > this.opts.maxEvents) d.events.splice(0, d.events.length - this.opts.maxEvents);
    if (d.audit.length > this.opts.maxAudit) d.audit.splice(0, d.audit.length - this.opts.maxAudit);
    pruneClosed(d.leases, (l) => l.state !== 'active', this.opts.maxClosed);
    pruneClosed(d.blocks, (b) => b.state !== 'active', this.opts.maxClosed);
  }
}

/**
 * Drops the oldest closed records beyond `keep`. The record with the highest id is always kept, closed or not:
 * the DMZ app's next id is one past the highest restored, and ids must never be reused (they are in flow cookies,
 * events and the audit trail).
 */
function pruneClosed<T extends { id: number }>(map: Record<string, T>, closed: (r: T) => boolean, keep: number): void {
  const ids = Object.keys(map).map(Number);
  const closedIds = ids.filter((id) => closed(map[id]!));
  if (closedIds.length <= keep) return;
  const max = Math.max(...ids);
  closedIds.sort((a, b) => a - b);
  for (const id of closedIds.slice(0, closedIds.length - keep)) if (id !== max) delete map[id];
}

function emptyState(): StateData {
  return { version: VERSION, nextIds: { token: 1, event: 1, audit: 1 }, tokens: {}, leases: {}, blocks: {}, audit: [], events: [] };
}

/** Opens (creating if needed) the state under `dataDir` and reads it. */
export async function openStore(dataDir: string, opts: StoreOptions = {}): Promise<Store> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const store = new Store(join(dataDir, STATE_FILE), opts);
  await store.read();
  return store;
}
