// The counters of the active leases' flows, as the switches report them (flow stats and flow-removed): a live
// fact no decision needs, kept beside the core. Also the wait for a deleted flow's final counts, which Open vSwitch
// sends in a flow-removed after the delete's barrier reply.
import type { Cancel, Clock } from '../../controller/clock.js';
import type { FlowStats } from '../../controller/openflow/multipart/index.js';
import { zeroCounters, type Counters } from './lease-book.js';

interface FlowCount {
  inbound: boolean;
  packets: number;
  bytes: number;
}

interface Waiter {
  keys: Set<string>;
  done: () => void;
}

/** A counted flow's key: its switch and its flow key (the same flow may sit on several switches of a path). */
export const countedKey = (dpid: bigint, flowKey: string): string => `${dpid.toString(16)}|${flowKey}`;

export class LeaseCounters {
  /** Per lease: the latest counters of each of its counted flows (by countedKey). */
  private readonly perFlow = new Map<number, Map<string, FlowCount>>();
  /** Per lease whose flows are being deleted: the flows whose flow-removed (final counts) has not come yet. */
  private readonly awaiting = new Map<number, Set<Waiter>>();
  /** Per lease restored with counts and not read from its switch since: the counts its last record had. */
  private readonly restored = new Map<number, Counters>();

  constructor(private readonly clock: Clock) {}

  sizes(): Record<string, number> {
    return { flowCounters: this.perFlow.size, awaitingRemoved: this.awaiting.size, restoredCounters: this.restored.size };
  }

  /** A lease restored after a restart: its record's counts stand until its flows are read. */
  restore(id: number, c: Counters): void {
    if (c.packetsIn + c.bytesIn + c.packetsOut + c.bytesOut > 0) this.restored.set(id, { ...c });
  }

  /** The lease's counters: the sum of its flows' as last read, or (never read since a restart) its record's. */
  of(id: number): Counters {
    const c = zeroCounters();
    const flows = this.perFlow.get(id);
    if (!flows) return this.restored.has(id) ? { ...this.restored.get(id)! } : c;
    for (const f of flows.values()) {
      if (f.inbound) {
        c.packetsIn += f.packets;
        c.bytesIn += f.bytes;
      } else {
        c.packetsOut += f.packets;
        c.bytesOut += f.bytes;
      }
    }
    return c;
  }

  /**
   * Whether a lease's counted flows on switch `dpid` report the totals they had: a flow's counts only grow (and an
   * ADD that re-arms a flow keeps them, OF1.3.5 §6.4), so equal totals mean no flow moved, and the per-flow
   * bookkeeping (a canonical key per flow) is skipped for the idle leases that most polls find.
   */
  unchanged(id: number, dpid: bigint, flows: FlowStats[]): boolean {
    let packets = 0;
    let bytes = 0;
    for (const s of flows) {
      packets += Number(s.packetCount);
      bytes += Number(s.byteCount);
    }
    // What the lease's flows on that switch had: the record's counts when none was read since a restart.
    const prefix = countedKey(dpid, '');
    const kept = this.perFlow.get(id);
    let had = 0;
    let hadPackets = 0;
    let hadBytes = 0;
    if (kept) {
      for (const [key, f] of kept) {
        if (!key.startsWith(prefix)) continue;
        had++;
        hadPackets += f.packets;
        hadBytes += f.bytes;
      }
    } else {
      const c = this.of(id);
      hadPackets = c.packetsIn + c.packetsOut;
      hadBytes = c.bytesIn + c.bytesOut;
    }
    if (packets !== hadPackets || bytes !== hadBytes) return false;
    // ... and the same flows as last time (a flow gone or new, even with equal totals, is bookkept).
    return packets + bytes === 0 || had === flows.length;
  }

  note(id: number, key: string, inbound: boolean, packets: bigint, bytes: bigint): void {
    const map = this.perFlow.get(id) ?? new Map<string, FlowCount>();
    map.set(key, { inbound, packets: Number(packets), bytes: Number(bytes) });
    this.perFlow.set(id, map);
  }

  /** The lease's flows were read: their sums are its counters from now on (see of()). */
  read(id: number): void {
    this.restored.delete(id);
  }

  /** A closed lease: its counts are final. */
  forget(id: number): void {
    this.perFlow.delete(id);
    this.restored.delete(id);
  }

  /** Whether a flow-removed of the lease's flow `key` is one a delete of ours awaits. */
  awaited(id: number, key: string): boolean {
    for (const w of this.awaiting.get(id) ?? []) if (w.keys.has(key)) return true;
    return false;
  }

  /** The flow-removed of `key` came. */
  arrived(id: number, key: string): void {
    for (const w of this.awaiting.get(id) ?? []) if (w.keys.delete(key) && w.keys.size === 0) w.done();
  }

  /** Notes that the flow-removed of `keys` (a lease's deleted flows) are due; wait() resolves when all came. */
  expectRemoved(id: number, keys: string[]): { wait: (ms: number) => Promise<void>; cancel: () => void } {
    let resolve!: () => void;
    const arrived = new Promise<void>((r) => {
      resolve = r;
    });
    let cancel: Cancel | undefined;
    let finished = false;
    const waiter: Waiter = {
      keys: new Set(keys),
      done: (): void => {
        finished = true;
        cancel?.();
        const set = this.awaiting.get(id);
        set?.delete(waiter);
        if (set?.size === 0) this.awaiting.delete(id);
        resolve();
      },
    };
    if (keys.length === 0) waiter.done();
    else this.awaiting.set(id, (this.awaiting.get(id) ?? new Set()).add(waiter));
    return {
      wait: (ms) => {
        if (!finished) cancel = this.clock.setTimer(ms, waiter.done);
        return arrived;
      },
      cancel: waiter.done,
    };
  }
}
