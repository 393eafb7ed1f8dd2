// The records of leases and blocks with their lifecycle and counters, and the site policy a lease request must
// keep (not a token's limits: that is the API's job). Pure bookkeeping, no I/O; the decisions are the core's.
import { specialUse, type Prefix } from './addresses.js';
import { rangeWithin, formatPortRange, type PortRange } from './port-ranges.js';
import { LeaseRefused, leaseDtn } from './pipeline.js';
import type { Site } from './site.js';
import type { PathName } from './model.js';
import type { Protocol } from './site.js';
import type { Counters, LeaseRecord, BlockRecord } from './records.js';

export type { LeaseState, Counters, LeaseRecord, BlockRecord } from './records.js';

export interface LeaseRequest {
  project: string;
  dtn: string;
  remote: string;
  protocol: Protocol;
  localPorts: PortRange[];
  remotePorts: PortRange[];
  path: PathName;
  durationSeconds: number;
  rateMbps?: number;
}

export const zeroCounters = (): Counters => ({ packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0 });

/** Checks a request (its remote prefix parsed) against the site's policy; throws LeaseRefused with the rule it breaks. */
export function checkParsedAgainstSite(site: Site, req: Omit<LeaseRequest, 'remote'>, remote: Prefix): void {
  leaseDtn(site, req);
  const special = specialUse(remote);
  if (special)
    throw new LeaseRefused(
      'special-remote',
      `remote ${remote.text} covers ${special.text} (${special.name}), which is never a transfer's remote end`,
    );
  if (!site.policy.protocols.includes(req.protocol)) {
    throw new LeaseRefused('protocol', `protocol ${req.protocol} is not allowed by the site policy (${site.policy.protocols.join(', ')})`);
  }
  for (const r of req.localPorts) {
    if (!site.policy.ports.some((allowed) => rangeWithin(r, allowed))) {
      throw new LeaseRefused(
        'ports',
        `local ports ${formatPortRange(r)} are outside the site policy (${site.policy.ports.map(formatPortRange).join(', ')})`,
      );
    }
  }
  if (req.durationSeconds > site.policy.maxLeaseSeconds) {
    throw new LeaseRefused('duration', `duration ${req.durationSeconds} s exceeds the site maximum of ${site.policy.maxLeaseSeconds} s`);
  }
  if (req.path !== 'routed' && !site.circuits.some((c) => `circuit:${c.name}` === req.path)) {
    throw new LeaseRefused('unknown-path', `no path ${req.path} (routed, ${site.circuits.map((c) => `circuit:${c.name}`).join(', ')})`);
  }
}

/** Closed leases and blocks kept in memory (the store keeps its own history). */
const KEEP_CLOSED = 1000;

/** The active leases, whose records are built when read (from the core's rules and the switches' counters). */
export interface ActiveLeases {
  /** The record of an active lease; undefined for any other id. */
  record(id: number): LeaseRecord | undefined;
  /** The records of all active leases. */
  records(): LeaseRecord[];
  /** Each active lease's id and project, no record built (what a list filters and sorts by). */
  summaries(): Iterable<{ readonly id: number; readonly project: string }>;
}

/**
 * The records of leases and blocks as the API reads them (with the counters the switches report), kept as the
 * core's plans say: no decision is made here (apps/dmz/core decides), only the records are held and pruned. An
 * active lease is not held here: its record is built from the core's rule when read (one copy of a lease in
 * memory, not two); a closed lease's record is kept (the last KEEP_CLOSED of them).
 */
export class LeaseBook {
  readonly blocks = new Map<number, BlockRecord>();
  /** Closed leases' records, oldest first (Maps iterate in insertion order). */
  private readonly closedLeases = new Map<number, LeaseRecord>();

  constructor(private readonly live: ActiveLeases) {}

  /** Restores the closed leases' and the blocks' records (after a restart); returns the active leases' records. */
  restore(leases: LeaseRecord[], blocks: BlockRecord[]): LeaseRecord[] {
    const active: LeaseRecord[] = [];
    for (const l of leases) {
      if (l.state === 'active') active.push(l);
      else this.keepClosed(l);
    }
    for (const b of blocks) this.blocks.set(b.id, b);
    return active;
  }

  /** A lease's record, active or closed (and still kept). */
  lease(id: number): LeaseRecord | undefined {
    return this.closedLeases.get(id) ?? this.live.record(id);
  }

  /** Every lease's record: the active ones and the closed ones kept. */
  leases(): LeaseRecord[] {
    return [...this.closedLeases.values(), ...this.live.records()];
  }

  /**
   * A page of the leases (of a project, in a state, when given), the highest ids first, and how many there are
   * in all: only the page's records are built.
   */
  page(project: string | undefined, state: string | undefined, offset: number, limit: number): { leases: LeaseRecord[]; total: number } {
    const ids: number[] = [];
    if (state === undefined || state === 'active')
      for (const l of this.live.summaries()) if (project === undefined || l.project === project) ids.push(l.id);
    for (const l of this.closedLeases.values())
      if ((project === undefined || l.project === project) && (state === undefined || l.state === state)) ids.push(l.id);
    ids.sort((a, b) => b - a);
    return { leases: ids.slice(offset, offset + limit).map((id) => this.lease(id)!), total: ids.length };
  }

  active(): LeaseRecord[] {
    return this.live.records();
  }

  activeBlocks(): BlockRecord[] {
    return [...this.blocks.values()].filter((b) => b.state === 'active');
  }

  /** Keeps a closed lease's record (a close, or a recorded draft the switch refused). */
  closed(rec: LeaseRecord): LeaseRecord {
    this.keepClosed(rec);
    return rec;
  }

  /** Drops the oldest closed blocks beyond KEEP_CLOSED (Maps iterate in insertion order: oldest first). */
  pruneBlocks(): void {
    let closed = 0;
    for (const r of this.blocks.values()) if (r.state !== 'active') closed++;
    for (const [id, r] of this.blocks) {
      if (closed <= KEEP_CLOSED) break;
      if (r.state !== 'active') {
        this.blocks.delete(id);
        closed--;
      }
    }
  }

  /** Keeps a new block's record (decided by the core: apps/dmz/core/blocks.ts). */
  addBlock(rec: BlockRecord): BlockRecord {
    this.blocks.set(rec.id, rec);
    return rec;
  }

  /** Entries in each index (for checks that nothing per lease outlives it: see DmzApp.internalSizes). */
  internalSizes(): Record<string, number> {
    return { blocks: this.blocks.size, closedLeases: this.closedLeases.size };
  }

  /** Keeps a closed lease's record; the oldest beyond KEEP_CLOSED are forgotten (the store keeps its own history). */
  private keepClosed(rec: LeaseRecord): void {
    this.closedLeases.set(rec.id, rec);
    for (const old of this.closedLeases.keys()) {
      if (this.closedLeases.size <= KEEP_CLOSED) break;
      this.closedLeases.delete(old);
    }
  }
}
