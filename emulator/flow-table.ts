// The emulated switch's pipeline state: flow tables, groups and meters, changed by flow-mod, group-mod and meter-mod
// with the semantics of OF1.3.5 §6.4 (flow table modification), §6.5 (flow removal), §7.3.4.2 (groups) and
// §7.3.4.4 (meters), and the error codes Open vSwitch gives for the same requests.
//
// Changes can be made atomically (`atomically(fn)`): every mutation records its undo, and a failure anywhere
// rolls all of them back; flow-removed notifications of a transaction are only delivered once it has succeeded.
// That is what an ONF bundle commit needs (bundle.ts).
import {
  OfpError,
  OFPET,
  OFPFMFC,
  OFPBRC,
  OFPBIC,
  OFPBAC,
  OFPGMFC,
  OFPMMFC,
  OFPFC,
  OFPFF,
  OFPTT,
  OFPP,
  OFPG,
  OFPM,
  OFPRR,
  OFPGC,
  OFPGT,
  OFPMC,
  OFPMF,
  OFP_NO_BUFFER,
  NX_EXPERIMENTER_ID,
} from '../controller/openflow/index.js';
import type { Match, Instruction, Action, Bucket, MeterBand, MessageOf } from '../controller/openflow/index.js';
import { CField, CompiledMatch, PacketFields, compileMatch, compilePacket, covers, overlaps, packetMatches } from './match.js';

type FlowModMsg = MessageOf<'flowMod'>;
type GroupModMsg = MessageOf<'groupMod'>;
type MeterModMsg = MessageOf<'meterMod'>;

export interface FlowEntry {
  tableId: number;
  priority: number;
  cookie: bigint;
  idleTimeout: number;
  hardTimeout: number;
  flags: number;
  match: Match;
  instructions: Instruction[];
  fields: CField[];
  /** Canonical match text (see match.ts); with the priority, the identity of the entry in its table. */
  key: string;
  packetCount: number;
  byteCount: number;
  /** performance.now() at installation and at the last packet that hit the entry. */
  created: number;
  lastUsed: number;
}

export interface GroupEntry {
  groupId: number;
  groupType: number;
  buckets: Bucket[];
  created: number;
}
export interface MeterEntry {
  meterId: number;
  flags: number;
  bands: MeterBand[];
  created: number;
}

/** The flow selector of delete commands and of flow/aggregate stats requests. */
export interface FlowSelector {
  tableId: number;
  outPort: number;
  outGroup: number;
  cookie: bigint;
  cookieMask: bigint;
  match: Match;
  /** Strict selection (DELETE_STRICT): identical match and this priority. */
  strictPriority?: number;
}

export interface PipelineOptions {
  nTables: number;
  /** Per table; an ADD beyond it fails with OFPFMFC_TABLE_FULL. */
  maxFlows?: number;
  maxGroups?: number;
  maxMeters?: number;
  maxBands?: number;
  /** Called for every entry that leaves the pipeline other than by replacement, with its OFPRR_* reason. */
  onRemoved: (e: FlowEntry, reason: number) => void;
}

const fail = (type: number, code: number, detail: string): never => {
  throw new OfpError(type, code, detail);
};

const KNOWN_FLOW_FLAGS = OFPFF.SEND_FLOW_REM | OFPFF.CHECK_OVERLAP | OFPFF.RESET_COUNTS | OFPFF.NO_PKT_COUNTS | OFPFF.NO_BYT_COUNTS;
const RESERVED_OUT_PORTS = new Set<number>([OFPP.IN_PORT, OFPP.NORMAL, OFPP.FLOOD, OFPP.ALL, OFPP.CONTROLLER, OFPP.LOCAL]);
/** Expiry scan period: timeouts are in seconds, so a tenth of one is precise enough. */
const EXPIRY_TICK_MS = 100;

/** Output ports a flow may use (OVS: any port number up to OFPP_MAX, or a reserved port other than TABLE/ANY). */
export function isValidOutPort(port: number, inPacketOut = false): boolean {
  return (port >= 1 && port <= OFPP.MAX) || RESERVED_OUT_PORTS.has(port) || (inPacketOut && port === OFPP.TABLE);
}

function* actionsOf(instructions: Instruction[]): Generator<Action> {
  for (const i of instructions) if (i.type === 'applyActions' || i.type === 'writeActions') yield* i.actions;
}

export function outputsTo(e: FlowEntry, port: number): boolean {
  for (const a of actionsOf(e.instructions)) if (a.type === 'output' && a.port === port) return true;
  return false;
}

export function usesGroup(e: FlowEntry, groupId: number): boolean {
  for (const a of actionsOf(e.instructions)) if (a.type === 'group' && a.groupId === groupId) return true;
  return false;
}

function usesMeter(e: FlowEntry, meterId: number): boolean {
  return e.instructions.some((i) => i.type === 'meter' && i.meterId === meterId);
}

/** One flow table: entries grouped by priority (highest first) and indexed by priority + canonical match. */
class Table {
  readonly byKey = new Map<string, FlowEntry>();
  readonly byPriority = new Map<number, Set<FlowEntry>>();
  /** Priorities present, highest first. */
  priorities: number[] = [];
  lookupCount = 0;
  matchedCount = 0;

  get size(): number {
    return this.byKey.size;
  }

  add(e: FlowEntry): void {
    this.byKey.set(`${e.priority}|${e.key}`, e);
    let set = this.byPriority.get(e.priority);
    if (!set) {
      set = new Set();
      this.byPriority.set(e.priority, set);
      let i = 0;
      while (i < this.priorities.length && this.priorities[i]! > e.priority) i++;
      this.priorities.splice(i, 0, e.priority);
    }
    set.add(e);
  }

  remove(e: FlowEntry): void {
    this.byKey.delete(`${e.priority}|${e.key}`);
    const set = this.byPriority.get(e.priority);
    if (!set) return;
    set.delete(e);
    if (set.size === 0) {
      this.byPriority.delete(e.priority);
      this.priorities.splice(this.priorities.indexOf(e.priority), 1);
    }
  }

  *entries(): Generator<FlowEntry> {
    for (const p of this.priorities) yield* this.byPriority.get(p)!;
  }
}

export class Pipeline {
  readonly nTables: number;
  readonly groups = new Map<number, GroupEntry>();
  readonly meters = new Map<number, MeterEntry>();
  private readonly opts: PipelineOptions;
  /** Created on first use: a switch with 254 tables mostly uses one or two. */
  private readonly tables: (Table | undefined)[] = [];
  private readonly timed = new Set<FlowEntry>();
  private timer: NodeJS.Timeout | undefined;
  private journal: (() => void)[] | null = null;
  private pendingRemoved: [FlowEntry, number][] | null = null;

  constructor(opts: PipelineOptions) {
    this.opts = opts;
    this.nTables = opts.nTables;
  }

  // ---- transactions ----

  /** Runs `fn` so that either all its changes stay or, if it throws, none do. */
  atomically<T>(fn: () => T): T {
    if (this.journal) return fn();
    this.journal = [];
    this.pendingRemoved = [];
    try {
      const result = fn();
      const removed = this.pendingRemoved;
      this.journal = null;
      this.pendingRemoved = null;
      for (const [e, reason] of removed) this.opts.onRemoved(e, reason);
      return result;
    } catch (err) {
      const undo = this.journal ?? [];
      this.journal = null;
      this.pendingRemoved = null;
      for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
      throw err;
    }
  }

  private undo(fn: () => void): void {
    this.journal?.push(fn);
  }

  private attach(e: FlowEntry): void {
    this.table(e.tableId).add(e);
    if (e.idleTimeout || e.hardTimeout) {
      this.timed.add(e);
      if (!this.timer) this.timer = setInterval(() => this.expire(), EXPIRY_TICK_MS).unref();
    }
  }

  private detach(e: FlowEntry): void {
    this.tables[e.tableId]?.remove(e);
    this.timed.delete(e);
    if (this.timed.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private insert(e: FlowEntry): void {
    this.attach(e);
    this.undo(() => this.detach(e));
  }

  private remove(e: FlowEntry, reason: number | null): void {
    this.detach(e);
    this.undo(() => this.attach(e));
    if (reason === null) return;
    if (this.pendingRemoved) this.pendingRemoved.push([e, reason]);
    else this.opts.onRemoved(e, reason);
  }

  private table(id: number): Table {
    let t = this.tables[id];
    if (!t) this.tables[id] = t = new Table();
    return t;
  }

  // ---- flow-mod (§6.4) ----

  /**
   * The checks that need no table state, done when a flow-mod arrives (also when it is added to a bundle, as Open
   * vSwitch does): command, table id, flags, buffer id, match, and the instructions' own consistency.
   */
  checkFlowMod(m: FlowModMsg): CompiledMatch {
    if (m.command > OFPFC.DELETE_STRICT) fail(OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_COMMAND, `flow-mod command ${m.command}`);
    const isDelete = m.command === OFPFC.DELETE || m.command === OFPFC.DELETE_STRICT;
    // OF1.3.5 §7.3.4.1: OFPTT_ALL only for deletes.
    if ((m.tableId === OFPTT.ALL && !isDelete) || (m.tableId !== OFPTT.ALL && m.tableId >= this.nTables)) {
      fail(OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_TABLE_ID, `table ${m.tableId} (switch has ${this.nTables})`);
    }
    if (m.flags & ~KNOWN_FLOW_FLAGS) fail(OFPET.FLOW_MOD_FAILED, OFPFMFC.BAD_FLAGS, `flow-mod flags 0x${m.flags.toString(16)}`);
    // The switch buffers no packets (n_buffers 0): any buffer id is unknown.
    if (!isDelete && m.bufferId !== OFP_NO_BUFFER) fail(OFPET.BAD_REQUEST, OFPBRC.BUFFER_UNKNOWN, `buffer ${m.bufferId}`);
    const compiled = compileMatch(m.match);
    if (!isDelete) this.checkInstructions(m.tableId, m.instructions);
    return compiled;
  }

  private checkInstructions(tableId: number, instructions: Instruction[]): void {
    for (const i of instructions) {
      if (i.type === 'gotoTable' && (i.tableId <= tableId || i.tableId >= this.nTables)) {
        fail(OFPET.BAD_INSTRUCTION, OFPBIC.BAD_TABLE_ID, `goto_table ${i.tableId} from table ${tableId}`);
      }
      if (i.type === 'experimenter') fail(OFPET.BAD_INSTRUCTION, OFPBIC.BAD_EXPERIMENTER, `experimenter 0x${i.experimenter.toString(16)}`);
    }
    for (const a of actionsOf(instructions)) {
      if (a.type === 'output' && !isValidOutPort(a.port)) fail(OFPET.BAD_ACTION, OFPBAC.BAD_OUT_PORT, `output to port ${a.port}`);
      if (a.type === 'experimenter' && a.experimenter !== NX_EXPERIMENTER_ID) {
        fail(OFPET.BAD_ACTION, OFPBAC.BAD_EXPERIMENTER, `experimenter 0x${a.experimenter.toString(16)}`);
      }
    }
  }

  /** What needs the current state (OVS's ofproto_check_ofpacts): referenced groups and meters must exist. */
  private checkReferences(instructions: Instruction[]): void {
    for (const i of instructions) {
      if (i.type === 'meter' && !this.meters.has(i.meterId)) fail(OFPET.METER_MOD_FAILED, OFPMMFC.INVALID_METER, `meter ${i.meterId}`);
    }
    for (const a of actionsOf(instructions)) {
      if (a.type === 'group' && !this.groups.has(a.groupId)) fail(OFPET.BAD_ACTION, OFPBAC.BAD_OUT_GROUP, `group ${a.groupId}`);
    }
  }

  /** Applies a flow-mod; throws the OfpError the controller must get, with nothing changed. */
  flowMod(m: FlowModMsg): void {
    const cm = this.checkFlowMod(m);
    switch (m.command) {
      case OFPFC.ADD:
        return this.addFlow(m, cm);
      case OFPFC.MODIFY:
      case OFPFC.MODIFY_STRICT:
        return this.modifyFlows(m, cm);
      default:
        return this.deleteFlows({ ...m, strictPriority: m.command === OFPFC.DELETE_STRICT ? m.priority : undefined }, cm);
    }
  }

  private addFlow(m: FlowModMsg, cm: CompiledMatch): void {
    this.checkReferences(m.instructions);
    const t = this.table(m.tableId);
    const old = t.byKey.get(`${m.priority}|${cm.key}`);
    if (!old) {
      if (m.flags & OFPFF.CHECK_OVERLAP) {
        for (const e of t.byPriority.get(m.priority) ?? []) {
          if (overlaps(cm.fields, e.fields)) fail(OFPET.FLOW_MOD_FAILED, OFPFMFC.OVERLAP, 'overlapping entry of the same priority');
        }
      }
      if (this.opts.maxFlows !== undefined && t.size >= this.opts.maxFlows)
        fail(OFPET.FLOW_MOD_FAILED, OFPFMFC.TABLE_FULL, `table ${m.tableId} is full`);
    }
    const now = performance.now();
    const e: FlowEntry = {
      tableId: m.tableId,
      priority: m.priority,
      cookie: m.cookie,
      idleTimeout: m.idleTimeout,
      hardTimeout: m.hardTimeout,
      flags: m.flags,
      match: m.match,
      instructions: m.instructions,
      fields: cm.fields,
      key: cm.key,
      packetCount: 0,
      byteCount: 0,
      created: now,
      lastUsed: now,
    };
    // An identical entry is replaced, without a flow-removed; its counters carry over unless RESET_COUNTS.
    if (old) {
      if (!(m.flags & OFPFF.RESET_COUNTS)) {
        e.packetCount = old.packetCount;
        e.byteCount = old.byteCount;
      }
      this.remove(old, null);
    }
    this.insert(e);
  }

  private modifyFlows(m: FlowModMsg, cm: CompiledMatch): void {
    this.checkReferences(m.instructions);
    const t = this.tables[m.tableId];
    if (!t) return; // OF1.3: no match is no error, and no entry is added
    const targets: FlowEntry[] = [];
    if (m.command === OFPFC.MODIFY_STRICT) {
      const e = t.byKey.get(`${m.priority}|${cm.key}`);
      if (e && cookieMatches(e, m.cookie, m.cookieMask)) targets.push(e);
    } else {
      for (const e of t.entries()) if (cookieMatches(e, m.cookie, m.cookieMask) && covers(cm.fields, e.fields)) targets.push(e);
    }
    // Only the instructions change (and the counters with RESET_COUNTS); cookie, timeouts, flags stay.
    for (const e of targets) {
      const { instructions, packetCount, byteCount } = e;
      e.instructions = m.instructions;
      if (m.flags & OFPFF.RESET_COUNTS) e.packetCount = e.byteCount = 0;
      this.undo(() => Object.assign(e, { instructions, packetCount, byteCount }));
    }
  }

  /** Entries a delete or a stats request selects. Throws OFPBRC_BAD_TABLE_ID for a table the switch lacks. */
  select(s: FlowSelector, cm: CompiledMatch = this.compileSelector(s)): FlowEntry[] {
    const out: FlowEntry[] = [];
    const tables = s.tableId === OFPTT.ALL ? this.tables : [this.tables[s.tableId]];
    for (const t of tables) {
      if (!t) continue;
      if (s.strictPriority !== undefined) {
        const e = t.byKey.get(`${s.strictPriority}|${cm.key}`);
        if (e && this.filters(e, s)) out.push(e);
        continue;
      }
      for (const e of t.entries()) if (this.filters(e, s) && covers(cm.fields, e.fields)) out.push(e);
    }
    return out;
  }

  private compileSelector(s: FlowSelector): CompiledMatch {
    if (s.tableId !== OFPTT.ALL && s.tableId >= this.nTables) fail(OFPET.BAD_REQUEST, OFPBRC.BAD_TABLE_ID, `table ${s.tableId}`);
    return compileMatch(s.match);
  }

  private filters(e: FlowEntry, s: FlowSelector): boolean {
    return (
      cookieMatches(e, s.cookie, s.cookieMask) &&
      (s.outPort === OFPP.ANY || outputsTo(e, s.outPort)) &&
      (s.outGroup === OFPG.ANY || usesGroup(e, s.outGroup))
    );
  }

  private deleteFlows(s: FlowSelector, cm: CompiledMatch): void {
    for (const e of this.select(s, cm)) this.remove(e, OFPRR.DELETE);
  }

  // ---- timeouts (§6.5) ----

  /** Removes the entries whose idle or hard timeout has passed; runs on a timer while any entry has one. */
  expire(now = performance.now()): void {
    for (const e of this.timed) {
      if (e.hardTimeout && now - e.created >= e.hardTimeout * 1000) this.remove(e, OFPRR.HARD_TIMEOUT);
      else if (e.idleTimeout && now - e.lastUsed >= e.idleTimeout * 1000) this.remove(e, OFPRR.IDLE_TIMEOUT);
    }
  }

  // ---- groups (§7.3.4.2) ----

  checkGroupMod(m: GroupModMsg): void {
    if (m.command > OFPGC.DELETE) fail(OFPET.GROUP_MOD_FAILED, OFPGMFC.BAD_COMMAND, `group-mod command ${m.command}`);
    if (m.command !== OFPGC.DELETE) {
      if (m.groupId > OFPG.MAX) fail(OFPET.GROUP_MOD_FAILED, OFPGMFC.INVALID_GROUP, `group id ${m.groupId}`);
      if (m.groupType > OFPGT.FF) fail(OFPET.GROUP_MOD_FAILED, OFPGMFC.BAD_TYPE, `group type ${m.groupType}`);
      for (const b of m.buckets) {
        for (const a of b.actions)
          if (a.type === 'output' && !isValidOutPort(a.port)) fail(OFPET.BAD_ACTION, OFPBAC.BAD_OUT_PORT, `output to port ${a.port}`);
      }
    }
  }

  groupMod(m: GroupModMsg): void {
    this.checkGroupMod(m);
    const old = this.groups.get(m.groupId);
    if (m.command === OFPGC.ADD) {
      if (old) fail(OFPET.GROUP_MOD_FAILED, OFPGMFC.GROUP_EXISTS, `group ${m.groupId} exists`);
      if (this.opts.maxGroups !== undefined && this.groups.size >= this.opts.maxGroups)
        fail(OFPET.GROUP_MOD_FAILED, OFPGMFC.OUT_OF_GROUPS, 'no more groups');
      this.setGroup(m.groupId, { groupId: m.groupId, groupType: m.groupType, buckets: m.buckets, created: performance.now() });
    } else if (m.command === OFPGC.MODIFY) {
      if (!old) fail(OFPET.GROUP_MOD_FAILED, OFPGMFC.UNKNOWN_GROUP, `group ${m.groupId} does not exist`);
      this.setGroup(m.groupId, { ...old!, groupType: m.groupType, buckets: m.buckets });
    } else {
      // Deleting a group removes the flows that use it (reason GROUP_DELETE); an unknown group is no error.
      const ids = m.groupId === OFPG.ALL ? [...this.groups.keys()] : old ? [m.groupId] : [];
      for (const id of ids) {
        for (const e of this.flows()) if (usesGroup(e, id)) this.remove(e, OFPRR.GROUP_DELETE);
        this.setGroup(id, undefined);
      }
    }
  }

  private setGroup(id: number, g: GroupEntry | undefined): void {
    const old = this.groups.get(id);
    if (g) this.groups.set(id, g);
    else this.groups.delete(id);
    this.undo(() => (old ? this.groups.set(id, old) : this.groups.delete(id)));
  }

  // ---- meters (§7.3.4.4) ----

  meterMod(m: MeterModMsg): void {
    if (m.command > OFPMC.DELETE) fail(OFPET.METER_MOD_FAILED, OFPMMFC.BAD_COMMAND, `meter-mod command ${m.command}`);
    const old = this.meters.get(m.meterId);
    if (m.command === OFPMC.DELETE) {
      const ids = m.meterId === OFPM.ALL ? [...this.meters.keys()] : old ? [m.meterId] : [];
      for (const id of ids) {
        for (const e of this.flows()) if (usesMeter(e, id)) this.remove(e, OFPRR.DELETE);
        this.setMeter(id, undefined);
      }
      return;
    }
    if (m.meterId === 0 || (m.meterId > OFPM.MAX && m.meterId !== OFPM.SLOWPATH && m.meterId !== OFPM.CONTROLLER)) {
      fail(OFPET.METER_MOD_FAILED, OFPMMFC.INVALID_METER, `meter id ${m.meterId}`);
    }
    if (m.flags & ~(OFPMF.KBPS | OFPMF.PKTPS | OFPMF.BURST | OFPMF.STATS) || (m.flags & OFPMF.KBPS && m.flags & OFPMF.PKTPS)) {
      fail(OFPET.METER_MOD_FAILED, OFPMMFC.BAD_FLAGS, `meter flags 0x${m.flags.toString(16)}`);
    }
    if (m.bands.length > (this.opts.maxBands ?? 8)) fail(OFPET.METER_MOD_FAILED, OFPMMFC.OUT_OF_BANDS, `${m.bands.length} bands`);
    for (const b of m.bands) if (b.rate === 0) fail(OFPET.METER_MOD_FAILED, OFPMMFC.BAD_RATE, 'band rate 0');
    if (m.command === OFPMC.ADD) {
      if (old) fail(OFPET.METER_MOD_FAILED, OFPMMFC.METER_EXISTS, `meter ${m.meterId} exists`);
      if (this.meters.size >= (this.opts.maxMeters ?? 65536)) fail(OFPET.METER_MOD_FAILED, OFPMMFC.OUT_OF_METERS, 'no more meters');
      this.setMeter(m.meterId, { meterId: m.meterId, flags: m.flags, bands: m.bands, created: performance.now() });
    } else {
      if (!old) fail(OFPET.METER_MOD_FAILED, OFPMMFC.UNKNOWN_METER, `meter ${m.meterId} does not exist`);
      this.setMeter(m.meterId, { ...old!, flags: m.flags, bands: m.bands });
    }
  }

  private setMeter(id: number, v: MeterEntry | undefined): void {
    const old = this.meters.get(id);
    if (v) this.meters.set(id, v);
    else this.meters.delete(id);
    this.undo(() => (old ? this.meters.set(id, old) : this.meters.delete(id)));
  }

  // ---- reading ----

  /**
   * The highest-priority entry of a table that the packet hits (among equal priorities, any one). With `bytes`,
   * counts the packet as processed: table lookup/matched counters, the entry's counters and idle time.
   */
  lookup(pkt: PacketFields, tableId = 0, bytes?: number): FlowEntry | undefined {
    const t = this.tables[tableId];
    const values = compilePacket(pkt);
    let hit: FlowEntry | undefined;
    if (t) {
      outer: for (const p of t.priorities) {
        for (const e of t.byPriority.get(p)!) {
          if (packetMatches(values, e.fields)) {
            hit = e;
            break outer;
          }
        }
      }
    }
    if (bytes !== undefined) {
      const tt = this.table(tableId);
      tt.lookupCount++;
      if (hit) {
        tt.matchedCount++;
        if (!(hit.flags & OFPFF.NO_PKT_COUNTS)) hit.packetCount++;
        if (!(hit.flags & OFPFF.NO_BYT_COUNTS)) hit.byteCount += bytes;
        hit.lastUsed = performance.now();
      }
    }
    return hit;
  }

  /** Entries of one table (highest priority first), or of every table. */
  flows(tableId?: number): FlowEntry[] {
    if (tableId !== undefined) return [...(this.tables[tableId]?.entries() ?? [])];
    return [...this.allFlows()];
  }

  *allFlows(): Generator<FlowEntry> {
    for (const t of this.tables) if (t) yield* t.entries();
  }

  flowCount(tableId?: number): number {
    if (tableId !== undefined) return this.tables[tableId]?.size ?? 0;
    let n = 0;
    for (const t of this.tables) n += t?.size ?? 0;
    return n;
  }

  tableCounters(tableId: number): { active: number; lookups: number; matched: number } {
    const t = this.tables[tableId];
    return { active: t?.size ?? 0, lookups: t?.lookupCount ?? 0, matched: t?.matchedCount ?? 0 };
  }

  /** Flows referring to a group, for group stats' ref_count. */
  groupRefCount(groupId: number): number {
    let n = 0;
    for (const e of this.allFlows()) if (usesGroup(e, groupId)) n++;
    return n;
  }

  meterFlowCount(meterId: number): number {
    let n = 0;
    for (const e of this.allFlows()) if (usesMeter(e, meterId)) n++;
    return n;
  }

  /** Stops the expiry timer (the state stays). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

function cookieMatches(e: FlowEntry, cookie: bigint, mask: bigint): boolean {
  return mask === 0n || (e.cookie & mask) === (cookie & mask);
}

/** An entry's age as OpenFlow durations report it. */
export function durationOf(since: number, now = performance.now()): { sec: number; nsec: number } {
  const ms = Math.max(0, now - since);
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: Math.min(999_999_999, Math.floor((ms - sec * 1000) * 1e6)) };
}
