// Shorthand for tests of the journal backend that change one item at a time: each change is committed at once
// as a batch of its own (batches committed in one turn share a journal record, as the API's do), and its promise
// is left to a later `store.commit([])`, which resolves (or rejects) with the record that holds them all.
import type { JournalStateStore } from '../../../api/state/journal-store.js';
import type { StateRecord } from '../../../api/state/state-store.js';
import type { AuditEntry, EventType, StoredEvent, TokenRecord } from '../../../api/state/types.js';
import type { BlockRecord, LeaseRecord } from '../../../apps/dmz/records.js';

const ignore = (): undefined => undefined;
const commitNow = (s: JournalStateStore, r: StateRecord): void => void s.commit([r]).catch(ignore);

export const putLease = (s: JournalStateStore, lease: LeaseRecord): void => commitNow(s, { kind: 'lease.put', lease });
export const putBlock = (s: JournalStateStore, block: BlockRecord): void => commitNow(s, { kind: 'block.put', block });
export const putToken = (s: JournalStateStore, token: TokenRecord): void => commitNow(s, { kind: 'token.put', token });

export function addAudit(s: JournalStateStore, entry: Omit<AuditEntry, 'id' | 'at'> & { at?: number }): AuditEntry {
  const e = s.view.newAudit(entry);
  commitNow(s, { kind: 'audit.append', entry: e });
  return e;
}

export function addEvent(s: JournalStateStore, type: EventType, data: Record<string, unknown>, project?: string, at?: number): StoredEvent {
  const ev = s.view.newEvent(type, data, project, at);
  commitNow(s, { kind: 'event.append', event: ev });
  return ev;
}

/** A lease record for the state tests (its fields matter only as data to keep). */
export const lease = (id: number, state: LeaseRecord['state'] = 'active', bytesIn = 0): LeaseRecord => ({
  id,
  project: 'p',
  dtn: 'dtn1',
  remote: '192.0.2.0/24',
  protocol: 'tcp',
  localPorts: [{ lo: 1, hi: 2 }],
  remotePorts: [{ lo: 0, hi: 65535 }],
  path: 'routed',
  start: 1,
  end: 2,
  state,
  createdAt: 1,
  counters: { packetsIn: 0, bytesIn, packetsOut: 0, bytesOut: 0 },
});
