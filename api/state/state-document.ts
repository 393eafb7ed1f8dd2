// The on-disk format of the journal backend: the state document (StateData, written whole by a fold) and the
// journal records replayed over it (each a `seq`, the next ids, and the items changed since the previous record,
// whole). Files written before revisions existed have no `rev`: their revision is their seq (never above the
// revision a newer writer reaches, which counts batches, one or more per record).
import type { BlockRecord, LeaseRecord } from '../../apps/dmz/records.js';
import { JournalError, type JournalRecord } from './journal-file.js';
import { eventText, type StateView } from './state-view.js';
import type { Snapshot } from './state-store.js';
import type { AuditEntry, NextIds, StoredEvent, TokenRecord } from './types.js';

export const VERSION = 1;

export interface StateData {
  version: number;
  /** The last journal record folded into this document (0: none; absent in files written before the journal). */
  seq?: number;
  /** The revision of the last batch folded into it (absent in files written before revisions: then `seq`). */
  rev?: number;
  nextIds: NextIds;
  tokens: Record<string, TokenRecord>;
  leases: Record<string, LeaseRecord>;
  blocks: Record<string, BlockRecord>;
  audit: AuditEntry[];
  events: StoredEvent[];
}

/** What a journal record holds besides its seq. */
interface RecordBody {
  rev?: number;
  nextIds?: Partial<NextIds>;
  tokens?: Record<string, TokenRecord>;
  leases?: Record<string, LeaseRecord>;
  blocks?: Record<string, BlockRecord>;
  events?: StoredEvent[];
  audit?: AuditEntry[];
}

export function emptyState(): StateData {
  return { version: VERSION, seq: 0, rev: 0, nextIds: { token: 1, event: 1, audit: 1 }, tokens: {}, leases: {}, blocks: {}, audit: [], events: [] };
}

export function checkDocument(d: StateData, file: string): void {
  if (
    typeof d !== 'object' ||
    d === null ||
    d.version !== VERSION ||
    typeof d.nextIds !== 'object' ||
    typeof d.tokens !== 'object' ||
    typeof d.leases !== 'object' ||
    typeof d.blocks !== 'object' ||
    !Array.isArray(d.audit) ||
    !Array.isArray(d.events)
  ) {
    throw new Error(`state file ${file} is not a dmzgate state file of version ${VERSION}`);
  }
}

/**
 * Applies the journal records the document does not hold (each holds whole items, so replaying one twice changes
 * nothing; events and audit entries already present are skipped); returns the last seq and revision. Throws if
 * they do not follow the document.
 */
export function replay(d: StateData, records: JournalRecord[], file: string): { seq: number; revision: number } {
  let seq = d.seq ?? 0;
  let revision = d.rev ?? seq;
  const fresh = records.filter((r) => r.seq > seq);
  if (fresh.length && fresh[0]!.seq !== seq + 1) {
    const line = records.indexOf(fresh[0]!) + 1;
    throw new JournalError(
      file,
      line,
      `record ${fresh[0]!.seq} does not follow the state document, which holds records up to ${seq}: records are missing`,
    );
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
    revision = Math.max(revision, r.rev ?? r.seq);
  }
  return { seq, revision };
}

/** The document's content as a snapshot (the document's own objects: it is read once, then dropped). */
export function documentSnapshot(d: StateData, revision: number): Snapshot {
  return {
    revision,
    nextIds: d.nextIds,
    tokens: Object.values(d.tokens),
    leases: Object.values(d.leases),
    blocks: Object.values(d.blocks),
    audit: d.audit,
    events: d.events,
  };
}

/**
 * The whole document as JSON (StateData), from the view's kept texts, in parts: the references to the texts are
 * taken now (the snapshot), the text made as the parts are read (DurableJsonFile writes them a chunk at a time,
 * between which requests are served).
 */
export function documentParts(v: StateView, seq: number, revision: number): Iterable<string> {
  const mapText = <V>(m: Readonly<Record<string, V>>, text: (x: V) => string) => {
    const out: string[] = [];
    for (const id in m) out.push(`${JSON.stringify(id)}:${text(m[id]!)}`);
    return `{${out.join(',')}}`;
  };
  const item = (x: TokenRecord | BlockRecord) => v.textOf(x);
  // Tokens and blocks are few; leases, audit entries and events are what make a document megabytes.
  const head = `{"version":${VERSION},"seq":${seq},"rev":${revision},"nextIds":${JSON.stringify(v.nextIds)},"tokens":${mapText(v.tokensById, item)},"leases":{`;
  const blocks = mapText(v.blocks, item);
  const leaseIds = Object.keys(v.leases);
  const leaseTexts = leaseIds.map((id) => v.leases[id]!.text);
  const audit = v.auditTexts.slice();
  const events = v.events.slice();
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

/** What changed since the last journal record. */
export interface Changes {
  tokens: Set<number>;
  leases: Set<number>;
  blocks: Set<number>;
  /** The first event and audit ids not yet journaled. */
  event: number;
  audit: number;
}

export function mergeChanges(a: Changes, b: Changes): Changes {
  return {
    tokens: new Set([...a.tokens, ...b.tokens]),
    leases: new Set([...a.leases, ...b.leases]),
    blocks: new Set([...a.blocks, ...b.blocks]),
    event: Math.min(a.event, b.event),
    audit: Math.min(a.audit, b.audit),
  };
}

/**
 * One journal line: the sequence number, the revision of its last batch, the next ids (`nextIds`: their JSON),
 * and every item in `c` as it is now.
 */
export function recordText(v: StateView, seq: number, revision: number, nextIds: string, c: Changes): string {
  let out = `{"seq":${seq},"rev":${revision},"nextIds":${nextIds}`;
  const item = (x: TokenRecord | BlockRecord) => v.textOf(x);
  if (c.tokens.size) out += `,"tokens":{${itemTexts(c.tokens, v.tokensById, item)}}`;
  if (c.leases.size) out += `,"leases":{${itemTexts(c.leases, v.leases, (l) => l.text)}}`;
  if (c.blocks.size) out += `,"blocks":{${itemTexts(c.blocks, v.blocks, item)}}`;
  if (v.nextIds.event > c.event) {
    const ev = v.events;
    let items = '';
    for (let i = Math.max(0, c.event - (ev[0]?.id ?? c.event)); i < ev.length; i++) items += `${items ? ',' : ''}${eventText(ev[i]!)}`;
    out += `,"events":[${items}]`;
  }
  if (v.nextIds.audit > c.audit) {
    const texts = v.auditTexts;
    let items = '';
    for (let i = Math.max(0, c.audit - (v.auditIds[0] ?? c.audit)); i < texts.length; i++) items += `${items ? ',' : ''}${texts[i]!}`;
    out += `,"audit":[${items}]`;
  }
  return `${out}}\n`;
}

/** `"ID":TEXT,...` of the items of `map` named in `ids` (those still there), each spelt by `text`. */
function itemTexts<T>(ids: Set<number>, map: Readonly<Record<string, T>>, text: (item: T) => string): string {
  let out = '';
  for (const id of ids) if (Object.hasOwn(map, id)) out += `${out ? ',' : ''}"${id}":${text(map[id]!)}`;
  return out;
}
