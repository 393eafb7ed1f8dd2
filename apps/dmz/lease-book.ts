// The record of leases and blocks with their lifecycle and counters: pure bookkeeping, no I/O. It validates a
// request against the site (not against a token: that is the API's job), finds overlaps, and allocates ids.
import { parsePrefix, prefixesOverlap } from './addresses.js';
import { rangesOverlap, rangeWithin, formatPortRange, type PortRange } from './port-ranges.js';
import { LeaseRefused, leaseDtn } from './pipeline.js';
import type { Site } from './site.js';
import type { Lease, Block, PathName } from './model.js';
import type { Protocol } from './site.js';

export type LeaseState = 'active' | 'expired' | 'released' | 'revoked';

export interface Counters {
  /** WAN -> DTN */
  packetsIn: number;
  bytesIn: number;
  /** DTN -> WAN */
  packetsOut: number;
  bytesOut: number;
}

export interface LeaseRecord extends Lease {
  state: LeaseState;
  createdAt: number;
  closedAt?: number;
  closeReason?: string;
  counters: Counters;
}

export interface BlockRecord extends Block {
  state: 'active' | 'expired' | 'removed';
  closedAt?: number;
}

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
  leaseDtn(site, { dtn: req.dtn } as Lease);
  if (!site.policy.protocols.includes(req.protocol)) {
    throw new LeaseRefused('protocol', `protocol ${req.protocol} is not allowed by the site policy (${site.policy.protocols.join(', ')})`);
  }
  for (const r of req.localPorts) {
    if (!site.policy.ports.some((allowed) => rangeWithin(r, allowed))) {
      throw new LeaseRefused('ports', `local ports ${formatPortRange(r)} are outside the site policy (${site.policy.ports.map(formatPortRange).join(', ')})`);
    }
  }
  if (req.durationSeconds > site.policy.maxLeaseSeconds) {
    throw new LeaseRefused('duration', `duration ${req.durationSeconds} s exceeds the site maximum of ${site.policy.maxLeaseSeconds} s`);
  }
  if (req.path !== 'routed' && !site.circuits.some((c) => `circuit:${c.name}` === req.path)) {
    throw new LeaseRefused('unknown-path', `no path ${req.path} (routed, ${site.circuits.map((c) => `circuit:${c.name}`).join(', ')})`);
  }
}

// Parsed remote prefixes by lease text: the overlap check runs against every active lease on every request.
const parsedRemote = new Map<string, ReturnType<typeof parsePrefix>>();
function remoteOf(l: Lease): ReturnType<typeof parsePrefix> {
  let p = parsedRemote.get(l.remote);
  if (!p) {
    p = parsePrefix(l.remote);
    if (parsedRemote.size > 100_000) parsedRemote.clear();
    parsedRemote.set(l.remote, p);
  }
  return p;
}

/** Two leases overlap when some packet could match both: they would program the same flows. */
export function leasesOverlap(a: Lease, b: Lease): boolean {
  if (a.dtn !== b.dtn || a.protocol !== b.protocol) return false;
  if (!prefixesOverlap(remoteOf(a), remoteOf(b))) return false;
  const any = (xs: PortRange[], ys: PortRange[]) => xs.some((x) => ys.some((y) => rangesOverlap(x, y)));
  return any(a.localPorts, b.localPorts) && any(a.remotePorts, b.remotePorts);
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
  private nextLeaseId = 1;
  private nextBlockId = 1;

  /** Restores records (after a restart); ids continue after the highest seen. */
  restore(leases: LeaseRecord[], blocks: BlockRecord[]): void {
    for (const l of leases) {
      this.leases.set(l.id, l);
      this.nextLeaseId = Math.max(this.nextLeaseId, l.id + 1);
    }
    for (const b of blocks) {
      this.blocks.set(b.id, b);
      this.nextBlockId = Math.max(this.nextBlockId, b.id + 1);
    }
  }

  active(): LeaseRecord[] {
    return [...this.leases.values()].filter((l) => l.state === 'active');
  }

  activeBlocks(): BlockRecord[] {
    return [...this.blocks.values()].filter((b) => b.state === 'active');
  }

  /**
   * A new lease from a request, refused if it overlaps an active or pending one. It is pending until `add`
   * (installed) or `abandon` (refused by the switch).
   */
  draft(req: LeaseRequest, now: number): Lease {
    const lease: Lease = {
      id: this.nextLeaseId, project: req.project, dtn: req.dtn, remote: parsePrefix(req.remote).text, protocol: req.protocol,
      localPorts: req.localPorts, remotePorts: req.remotePorts, path: req.path, start: now, end: now + req.durationSeconds * 1000,
    };
    if (req.rateMbps !== undefined) {
      lease.rateMbps = req.rateMbps;
      lease.meterId = this.freeMeterId();
    }
    const clash = [...this.active(), ...this.pending.values()].find((l) => leasesOverlap(l, lease));
    if (clash) throw new LeaseRefused('overlap', `overlaps lease ${clash.id} (${clash.project}: ${clash.dtn} <-> ${clash.remote})`);
    this.nextLeaseId++;
    this.pending.set(lease.id, lease);
    return lease;
  }

  /** Forgets a draft the switch refused (its id is not reused). */
  abandon(lease: Lease): void {
    this.pending.delete(lease.id);
  }

  add(lease: Lease, now: number): LeaseRecord {
    this.pending.delete(lease.id);
    const rec: LeaseRecord = { ...lease, state: 'active', createdAt: now, counters: zeroCounters() };
    this.leases.set(lease.id, rec);
    this.nextLeaseId = Math.max(this.nextLeaseId, lease.id + 1);
    return rec;
  }

  close(id: number, state: Exclude<LeaseState, 'active'>, reason: string, now: number): LeaseRecord | undefined {
    const rec = this.leases.get(id);
    if (!rec || rec.state !== 'active') return undefined;
    rec.state = state;
    rec.closedAt = now;
    rec.closeReason = reason;
    this.prune(this.leases);
    return rec;
  }

  /** Drops the oldest closed records beyond KEEP_CLOSED (Maps iterate in insertion order: oldest first). */
  prune<T extends { state: string }>(map: Map<number, T>): void {
    let closed = 0;
    for (const r of map.values()) if (r.state !== 'active') closed++;
    for (const [id, r] of map) {
      if (closed <= KEEP_CLOSED) break;
      if (r.state !== 'active') {
        map.delete(id);
        closed--;
      }
    }
  }

  /** A new block with its own id (taken now, so concurrent requests never share one). */
  draftBlock(b: Omit<Block, 'id'>): Block {
    parsePrefix(b.prefix); // throws on a bad prefix
    return { ...b, id: this.nextBlockId++ };
  }

  addBlock(block: Block): BlockRecord {
    const rec: BlockRecord = { ...block, state: 'active' };
    this.blocks.set(block.id, rec);
    this.nextBlockId = Math.max(this.nextBlockId, block.id + 1);
    return rec;
  }

  /** Meter ids of active and pending leases are unique per site; 1 upwards. */
  private freeMeterId(): number {
    const used = new Set([...this.active(), ...this.pending.values()].map((l) => l.meterId).filter((m) => m !== undefined));
    let id = 1;
    while (used.has(id)) id++;
    return id;
  }
}
