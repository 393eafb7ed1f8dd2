// The record of leases and blocks with their lifecycle and counters: pure bookkeeping, no I/O. It validates a
// request against the site (not against a token: that is the API's job), finds overlaps, and allocates ids.
import { parsePrefix, prefixesOverlap, specialUse, type Prefix } from './addresses.js';
import { rangeWithin, formatPortRange, type PortRange } from './port-ranges.js';
import { OverlapIndex, portsOverlap } from './overlap-index.js';
import { MinHeap } from './min-heap.js';
import { LeaseRefused, leaseDtn } from './pipeline.js';
import type { Site } from './site.js';
import type { Lease, PathName } from './model.js';
import type { Protocol } from './site.js';
import type { Counters, LeaseRecord, LeaseState, BlockRecord } from './records.js';

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

/** Checks a request against the site's policy; throws LeaseRefused with the rule it breaks. */
export function checkAgainstSite(site: Site, req: LeaseRequest): void {
  let remote: Prefix;
  try {
    remote = parsePrefix(req.remote);
  } catch (e) {
    leaseDtn(site, req);
    throw new LeaseRefused('bad-remote', (e as Error).message);
  }
  checkParsedAgainstSite(site, req, remote);
}

/** checkAgainstSite for a request whose remote prefix is parsed already. */
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

/** Two leases overlap when some packet could match both: they would program the same flows. */
export function leasesOverlap(a: Lease, b: Lease): boolean {
  if (a.dtn !== b.dtn || a.protocol !== b.protocol) return false;
  if (!prefixesOverlap(parsePrefix(a.remote), parsePrefix(b.remote))) return false;
  return portsOverlap(a, b);
}

/**
 * A new active record of `lease`, built as one literal with every property in a fixed order (the optional ones
 * present, undefined when absent). A spread (`{ ...lease, state, ... }`) gave each record its own hidden class
 * (its own map and descriptor array, ~0.5 KB a lease, and megamorphic property reads); here all records share
 * one. Absent optional properties stay undefined, which JSON and the views treat as absent.
 */
export function leaseRecord(lease: Lease, now: number): LeaseRecord {
  return {
    id: lease.id,
    project: lease.project,
    dtn: lease.dtn,
    remote: lease.remote,
    protocol: lease.protocol,
    localPorts: lease.localPorts,
    remotePorts: lease.remotePorts,
    path: lease.path,
    start: lease.start,
    end: lease.end,
    rateMbps: lease.rateMbps,
    meterId: lease.meterId,
    state: 'active',
    createdAt: now,
    closedAt: undefined,
    closeReason: undefined,
    counters: zeroCounters(),
  };
}

/** Closed leases and blocks kept in memory (the store keeps its own history). */
const KEEP_CLOSED = 1000;

export class LeaseBook {
  readonly leases = new Map<number, LeaseRecord>();
  readonly blocks = new Map<number, BlockRecord>();
  /**
   * Leases drafted but not yet installed (their switch round trip is under way): they hold their id and meter
   * and count for overlaps, so concurrent requests can neither share an id nor both win an overlap.
   */
  private readonly pending = new Map<number, Lease>();
  /**
   * What every request would otherwise find by scanning all leases, kept up to date as leases change state
   * (only this class changes a lease's state): the active ones, those with a meter, the active and pending ones
   * by prefix for the overlap check, the free meter ids, the closed ones in the order they closed.
   */
  private readonly activeLeases = new Map<number, LeaseRecord>();
  private readonly meteredLeases = new Map<number, LeaseRecord>();
  private readonly overlaps = new OverlapIndex();
  private meters = new MeterIds();
  private readonly closedLeases = new Set<number>();
  private nextLeaseId = 1;

  /** Restores records (after a restart); ids continue after the highest seen. */
  restore(leases: LeaseRecord[], blocks: BlockRecord[]): void {
    for (const l of leases) {
      this.leases.set(l.id, l);
      this.nextLeaseId = Math.max(this.nextLeaseId, l.id + 1);
      if (l.state === 'active') this.activate(l);
      else this.closedLeases.add(l.id);
    }
    this.meters = new MeterIds([...this.activeLeases.values(), ...this.pending.values()].flatMap((l) => (l.meterId ? [l.meterId] : [])));
    for (const b of blocks) {
      this.blocks.set(b.id, b);
    }
  }

  active(): LeaseRecord[] {
    return [...this.activeLeases.values()];
  }

  /** Active leases with a meter (a rate cap). */
  metered(): LeaseRecord[] {
    return [...this.meteredLeases.values()];
  }

  activeBlocks(): BlockRecord[] {
    return [...this.blocks.values()].filter((b) => b.state === 'active');
  }

  /**
   * A new lease from a request, refused if it overlaps an active or pending one. It is pending until `add`
   * (installed), `abandon` (refused by the switch) or `refuse` (refused after its record was made durable).
   */
  draft(req: LeaseRequest, now: number): Lease {
    const lease = this.preview(req, now);
    if (lease.meterId !== undefined) lease.meterId = this.meters.take();
    this.nextLeaseId++;
    this.pending.set(lease.id, lease);
    this.overlaps.add(lease);
    return lease;
  }

  /**
   * The lease `draft` would make now, refused likewise if it overlaps, but nothing is taken: its id and meter id
   * are the ones the next draft would get (a dry run's).
   */
  preview(req: LeaseRequest, now: number): Lease {
    const lease: Lease = {
      id: this.nextLeaseId,
      project: req.project,
      dtn: req.dtn,
      remote: parsePrefix(req.remote).text,
      protocol: req.protocol,
      localPorts: req.localPorts,
      remotePorts: req.remotePorts,
      path: req.path,
      start: now,
      end: now + req.durationSeconds * 1000,
      rateMbps: undefined,
      meterId: undefined, // (present from the start: every draft has the same shape)
    };
    const clash = this.overlaps.findOverlap(lease);
    if (clash) throw new LeaseRefused('overlap', `overlaps lease ${clash.id} (${clash.project}: ${clash.dtn} <-> ${clash.remote})`);
    if (req.rateMbps !== undefined) {
      lease.rateMbps = req.rateMbps;
      lease.meterId = this.meters.peek();
    }
    return lease;
  }

  /** Forgets a draft the switch refused (its id is not reused; its meter id is). */
  abandon(lease: Lease): void {
    if (!this.pending.delete(lease.id)) return;
    this.overlaps.remove(lease.id);
    if (lease.meterId) this.meters.give(lease.meterId);
  }

  /** The drafted lease, installed: its record (`rec`, if the caller made it already with leaseRecord(lease, now)). */
  add(lease: Lease, now: number, rec: LeaseRecord = leaseRecord(lease, now)): LeaseRecord {
    this.pending.delete(lease.id);
    this.leases.set(lease.id, rec);
    this.activate(rec);
    this.nextLeaseId = Math.max(this.nextLeaseId, lease.id + 1);
    return rec;
  }

  close(id: number, state: Exclude<LeaseState, 'active'>, reason: string, now: number): LeaseRecord | undefined {
    const rec = this.leases.get(id);
    if (!rec || rec.state !== 'active') return undefined;
    rec.state = state;
    rec.closedAt = now;
    rec.closeReason = reason;
    this.activeLeases.delete(id);
    this.meteredLeases.delete(id);
    this.overlaps.remove(id);
    if (rec.meterId) this.meters.give(rec.meterId);
    this.keepClosed(id);
    return rec;
  }

  /**
   * Closes a draft that was recorded (made durable) before its flows were refused or not confirmed: like
   * `abandon`, but the lease stays, as `rec` (the record written for it, leaseRecord(lease, ...)) revoked.
   */
  refuse(lease: Lease, rec: LeaseRecord, now: number, reason: string): LeaseRecord {
    this.abandon(lease);
    rec.state = 'revoked';
    rec.closedAt = now;
    rec.closeReason = reason;
    this.leases.set(lease.id, rec);
    this.keepClosed(lease.id);
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
    return {
      leases: this.leases.size,
      blocks: this.blocks.size,
      pending: this.pending.size,
      activeLeases: this.activeLeases.size,
      meteredLeases: this.meteredLeases.size,
      overlaps: this.overlaps.size,
      closedLeases: this.closedLeases.size,
      freeMeterIds: this.meters.freeCount,
    };
  }

  /** Notes a closed lease; the oldest closed leases beyond KEEP_CLOSED are forgotten (the store keeps its own history). */
  private keepClosed(id: number): void {
    this.closedLeases.add(id);
    for (const old of this.closedLeases) {
      if (this.closedLeases.size <= KEEP_CLOSED) break;
      this.closedLeases.delete(old);
      this.leases.delete(old);
    }
  }

  private activate(rec: LeaseRecord): void {
    this.activeLeases.set(rec.id, rec);
    if (rec.meterId) this.meteredLeases.set(rec.id, rec);
    this.overlaps.add(rec);
  }
}

/** Meter ids of active and pending leases are unique per site: each new one is the lowest free, from 1. */
class MeterIds {
  private readonly used = new Set<number>();
  /** Every free id below `next`. */
  private readonly free = new MinHeap();
  private next = 1;

  constructor(used: number[] = []) {
    for (const id of used) {
      this.used.add(id);
      this.next = Math.max(this.next, id + 1);
    }
    for (let id = 1; id < this.next; id++) if (!this.used.has(id)) this.free.push(id);
  }

  /** The id take() would return. */
  peek(): number {
    return this.free.size > 0 ? this.free.peek()! : this.next;
  }

  take(): number {
    const id = this.free.size > 0 ? this.free.pop()! : this.next++;
    this.used.add(id);
    return id;
  }

  give(id: number): void {
    if (this.used.delete(id)) this.free.push(id);
  }

  get freeCount(): number {
    return this.free.size;
  }
}
