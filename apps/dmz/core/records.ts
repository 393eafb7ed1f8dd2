// The core's rules as the records the store keeps (the domain types the API and the journal know). Counters are
// the runtime's (read from the switches): a record leaves the core with zeros, and the executor fills them in.
import { zeroCounters } from '../lease-book.js';
import type { BlockRecord, LeaseRecord } from '../records.js';
import type { BlockRule, LeaseRule } from './state.js';

export type LeaseClose = { state: 'released' | 'revoked' | 'expired'; at: number; reason: string };

export function leaseRecordOf(l: LeaseRule, closed?: LeaseClose): LeaseRecord {
  return {
    id: l.id,
    project: l.project,
    dtn: l.dtn,
    remote: l.remote.text,
    protocol: l.protocol,
    localPorts: [...l.localPorts],
    remotePorts: [...l.remotePorts],
    path: l.path,
    start: l.start,
    end: l.end,
    rateMbps: l.rateMbps,
    meterId: l.meterId,
    state: closed ? closed.state : 'active',
    createdAt: l.createdAt,
    closedAt: closed?.at,
    closeReason: closed?.reason,
    counters: zeroCounters(),
  };
}

export function blockRecordOf(b: BlockRule, closed?: { state: 'removed' | 'expired'; at: number }): BlockRecord {
  const rec: BlockRecord = { id: b.id, prefix: b.prefix.text, start: b.start, reason: b.reason, state: closed ? closed.state : 'active' };
  if (b.protocol !== undefined) rec.protocol = b.protocol;
  if (b.ports !== undefined) rec.ports = [...b.ports];
  if (b.end !== undefined) rec.end = b.end;
  if (b.project !== undefined) rec.project = b.project;
  if (b.createdBy !== undefined) rec.createdBy = b.createdBy;
  if (closed) rec.closedAt = closed.at;
  return rec;
}
