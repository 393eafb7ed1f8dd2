// Where the etcd backend (etcd-store.ts) keeps the state: one key per item under a site's prefix, ids zero-padded
// so that etcd's key order (bytes) is id order, a range delete drops the oldest events or audit entries, and one
// range read returns every kind in order. Plus `batch` (the batches the last transaction wrote, each with its
// revision: its history is what subscribers replay) and `meta` (the next ids).
import type { BlockRecord, LeaseRecord } from '../../apps/dmz/records.js';
import type { Snapshot, StateRecord } from './state-store.js';
import type { AuditEntry, NextIds, StoredEvent, TokenRecord } from './types.js';

export type ItemKind = 'tokens' | 'leases' | 'blocks' | 'audit' | 'events';

/** Ids up to 10^12 (lease, event and audit ids are counters: far below). */
const ID_DIGITS = 12;

export interface EtcdKeys {
  readonly prefix: string;
  readonly batch: string;
  readonly meta: string;
  item(kind: ItemKind, id: number): string;
  /** First key of a kind (id 0). */
  first(kind: ItemKind): string;
}

/** The keys of a site (`/dmzgate/SITE/`): a prefix must end with '/' so that one site's range never holds another's. */
export function etcdKeys(prefix: string): EtcdKeys {
  if (!prefix.endsWith('/')) throw new Error(`etcd state prefix ${JSON.stringify(prefix)} must end with '/'`);
  const item = (kind: ItemKind, id: number): string => `${prefix}${kind}/${String(id).padStart(ID_DIGITS, '0')}`;
  return { prefix, batch: `${prefix}batch`, meta: `${prefix}meta`, item, first: (kind) => item(kind, 0) };
}

/** One committed batch: the store's revision it got (a counter of its own, in `batch`), and its records. */
export interface BatchEntry {
  seq: number;
  rev: number;
  records: readonly StateRecord[];
}

/**
 * The value of the `batch` key: which store instance committed it (its own watch skips re-applying them), and
 * the batches one transaction wrote (a group commit), oldest first. Before groups it was one batch (`seq`,
 * `records`, no `rev`): that one's revision is the key's mod revision.
 */
export type BatchValue = { writer: string; batches: BatchEntry[] } | { writer: string; seq: number; records: readonly StateRecord[] };

/** The batches of a `batch` value, each with its revision (a value from before groups: its mod revision). */
export function batchEntries(value: BatchValue, modRevision: number): BatchEntry[] {
  return 'batches' in value ? value.batches : [{ seq: value.seq, rev: modRevision, records: value.records }];
}

/** The state under `keys.prefix` as one range read returned it (sorted by key). */
export function snapshotFromKvs(keys: EtcdKeys, kvs: readonly { key: Buffer; value: Buffer; mod_revision: string }[]): Snapshot {
  const s: Snapshot = { revision: 0, nextIds: { token: 1, event: 1, audit: 1 }, tokens: [], leases: [], blocks: [], audit: [], events: [] };
  for (const kv of kvs) {
    const key = kv.key.toString();
    const text = kv.value.toString();
    if (key === keys.batch) s.revision = batchEntries(JSON.parse(text) as BatchValue, Number(kv.mod_revision)).at(-1)!.rev;
    else if (key === keys.meta) s.nextIds = { ...s.nextIds, ...(JSON.parse(text) as { nextIds: NextIds }).nextIds };
    else {
      const kind = key.slice(keys.prefix.length, key.lastIndexOf('/'));
      const v = JSON.parse(text) as unknown;
      if (kind === 'tokens') s.tokens.push(v as TokenRecord);
      else if (kind === 'leases') s.leases.push(v as LeaseRecord);
      else if (kind === 'blocks') s.blocks.push(v as BlockRecord);
      else if (kind === 'audit') s.audit.push(v as AuditEntry);
      else if (kind === 'events') s.events.push(v as StoredEvent);
      else throw new Error(`etcd state: unknown key ${key} under ${keys.prefix}`);
    }
  }
  return s;
}

/** `etcd://HOST:PORT[,HOST:PORT...]` as client endpoints (`http://HOST:PORT`). */
export function parseEtcdUrl(url: string): string[] {
  const m = /^etcd:\/\/([^/?#]+)\/?$/.exec(url);
  if (!m) throw new Error(`${JSON.stringify(url)} is not etcd://HOST:PORT[,HOST:PORT...]`);
  return m[1]!.split(',').map((hp) => {
    if (!/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(hp)) throw new Error(`${JSON.stringify(hp)} in ${JSON.stringify(url)} is not HOST:PORT`);
    return `http://${hp}`;
  });
}
