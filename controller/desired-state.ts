// What the controller wants each switch to hold: every owner's flows, and the switch's meters and groups. Pure
// state: nothing here sends anything; FlowManager makes switches match it.
//
// A flow's identity (table, priority, match) belongs to one owner at a time: two apps wanting different things
// from the same entry is a bug to report when it is declared, not a fight to lose silently on the switch.
import { FLOW_KEY, flowKey, flowKeyMatch, flowKeyText, type FlowEntry, type MeterEntry, type GroupEntry } from './flow-entry.js';
import { ownerIdOf } from './cookie.js';

/**
 * A desired flow: its entry, its owner and its flow key, in one object (one is held per desired flow). The match
 * is not held: the key holds its canonical TLVs, and `match` reads them back when asked (to send the flow, or
 * for a caller of desiredFlows), which the hot paths (apply, flow-removed, diffing) never do.
 */
export class FlowRecord implements FlowEntry {
  readonly tableId: number;
  readonly priority: number;
  readonly instructions: FlowEntry['instructions'];
  readonly cookie: bigint;
  readonly idleTimeout: number;
  readonly hardTimeout: number;
  readonly flags: number;
  readonly #key: string;
  readonly #owner: number;
  /** `since` minus SINCE_BASE: an offset that fits a small integer is held in the record, not boxed. */
  #since: number | undefined;

  /** `key` is flowKey(entry). */
  constructor(entry: FlowEntry, key: string, owner: number, since?: number) {
    this.tableId = entry.tableId;
    this.priority = entry.priority;
    this.instructions = entry.instructions;
    this.cookie = entry.cookie;
    this.idleTimeout = entry.idleTimeout;
    this.hardTimeout = entry.hardTimeout;
    this.flags = entry.flags;
    this.#key = key;
    this.#owner = owner;
    this.#since = since === undefined ? undefined : since - SINCE_BASE;
  }

  get match(): FlowEntry['match'] {
    return flowKeyMatch(this.#key);
  }

  get [FLOW_KEY](): string {
    return this.#key;
  }

  /** The entry as a plain object of its own (its match read back from the key). */
  get entry(): FlowEntry {
    const { tableId, priority, match, instructions, cookie, idleTimeout, hardTimeout, flags } = this;
    return { tableId, priority, match, instructions, cookie, idleTimeout, hardTimeout, flags };
  }

  get owner(): number {
    return this.#owner;
  }

  /**
   * When the entry was put on the switch (ms since the epoch, from our add or from the switch's reported
   * duration), for the hard-timeout bookkeeping: a flow missing after its hard timeout has run out expired, and
   * one re-added early gets only its remaining time. Undefined until known.
   */
  get since(): number | undefined {
    return this.#since === undefined ? undefined : this.#since + SINCE_BASE;
  }

  set since(at: number | undefined) {
    this.#since = at === undefined ? undefined : at - SINCE_BASE;
  }
}

/** A time near the install times this process records (any value is right; a near one keeps offsets small). */
const SINCE_BASE = Date.now();

export class OwnershipConflictError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'OwnershipConflictError';
  }
}

export class SwitchDesiredState {
  readonly flows = new Map<string, FlowRecord>();
  meters = new Map<number, MeterEntry>();
  groups = new Map<number, GroupEntry>();

  /** The desired flows keyed by flowKey(), optionally one owner's only. */
  flowMap(owner?: number): Map<string, FlowRecord> {
    const out = new Map<string, FlowRecord>();
    for (const [k, r] of this.flows) if (owner === undefined || r.owner === owner) out.set(k, r);
    return out;
  }

  ownerFlows(owner: number): FlowEntry[] {
    return [...this.flowMap(owner).values()].map((r) => r.entry);
  }
}

export class DesiredState {
  private readonly switches = new Map<bigint, SwitchDesiredState>();

  get(dpid: bigint): SwitchDesiredState {
    let s = this.switches.get(dpid);
    if (!s) {
      s = new SwitchDesiredState();
      this.switches.set(dpid, s);
    }
    return s;
  }

  has(dpid: bigint): boolean {
    return this.switches.has(dpid);
  }

  /** Replaces an owner's flows on a switch. Entries must be normalised and carry the owner's cookie. */
  setFlows(dpid: bigint, owner: number, entries: readonly FlowEntry[]): void {
    const s = this.get(dpid);
    const next = checkEntries(s, owner, entries, new Set());
    for (const [k, r] of s.flows) if (r.owner === owner && !next.has(k)) s.flows.delete(k);
    for (const [k, e] of next) s.flows.set(k, keepSince(s.flows.get(k), e, k, owner));
  }

  /**
   * Adds (or changes) and removes some of an owner's flows; `remove` holds flow keys. `sentAt`: the added
   * entries were just put on the switch (an OFPFC_ADD sent then: their hard timeouts count from there).
   */
  updateFlows(dpid: bigint, owner: number, add: readonly FlowEntry[], remove: readonly string[], sentAt?: number): void {
    const s = this.get(dpid);
    const removing = new Set(remove);
    const next = checkEntries(s, owner, add, removing);
    for (const k of removing) {
      const r = s.flows.get(k);
      if (r && r.owner !== owner) throw new OwnershipConflictError(`flow ${flowKeyText(k)} belongs to owner ${r.owner}, not ${owner}`);
    }
    for (const k of removing) if (!next.has(k)) s.flows.delete(k);
    for (const [k, e] of next) s.flows.set(k, sentAt === undefined ? keepSince(s.flows.get(k), e, k, owner) : new FlowRecord(e, k, owner, sentAt));
  }

  setMeters(dpid: bigint, meters: readonly MeterEntry[]): void {
    this.get(dpid).meters = uniqueBy(meters, (m) => m.meterId, 'meter');
  }

  setGroups(dpid: bigint, groups: readonly GroupEntry[]): void {
    this.get(dpid).groups = uniqueBy(groups, (g) => g.groupId, 'group');
  }
}

function checkEntries(s: SwitchDesiredState, owner: number, entries: readonly FlowEntry[], releasing: Set<string>): Map<string, FlowEntry> {
  const next = new Map<string, FlowEntry>();
  for (const e of entries) {
    if (ownerIdOf(e.cookie) !== owner) {
      throw new OwnershipConflictError(`flow cookie 0x${e.cookie.toString(16)} does not carry owner id ${owner} in its top 16 bits`);
    }
    const k = flowKey(e);
    if (next.has(k)) throw new OwnershipConflictError(`owner ${owner} declares the flow ${flowKeyText(k)} twice`);
    const other = s.flows.get(k);
    if (other && other.owner !== owner && !releasing.has(k)) {
      throw new OwnershipConflictError(`flow ${flowKeyText(k)} already belongs to owner ${other.owner}`);
    }
    next.set(k, e);
  }
  return next;
}

/**
 * A record for `e`, keeping the time the switch's entry runs out when the entry that was there is the same flow
 * (same cookie): a re-declared flow that differs only in its hard timeout (declared with the time left) is not
 * sent again, so the switch's entry still ends when the previous one said; `since` moves to match.
 */
function keepSince(prev: FlowRecord | undefined, entry: FlowEntry, key: string, owner: number): FlowRecord {
  const same = prev && prev.cookie === entry.cookie && prev.since !== undefined;
  return new FlowRecord(entry, key, owner, same ? sameEnd(prev, entry) : undefined);
}

/**
 * The install time that makes `entry`'s hard timeout end when the switch's entry (recorded as `prev`) does;
 * undefined (not known) when that entry has no hard timeout and `entry` has one (a block declared without one
 * while it had more than 65535 s left): the switch never times it out.
 */
export function sameEnd(prev: { hardTimeout: number; since?: number | undefined }, entry: FlowEntry): number | undefined {
  if (!prev.hardTimeout && entry.hardTimeout) return undefined;
  if (prev.since === undefined || !prev.hardTimeout || !entry.hardTimeout) return prev.since;
  return prev.since + (prev.hardTimeout - entry.hardTimeout) * 1000;
}

function uniqueBy<T>(items: readonly T[], id: (t: T) => number, what: string): Map<number, T> {
  const out = new Map<number, T>();
  for (const it of items) {
    const k = id(it);
    if (out.has(k)) throw new Error(`${what} ${k} declared twice`);
    out.set(k, it);
  }
  return out;
}
