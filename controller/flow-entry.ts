// The entries a controller app asks a switch to hold: flows, meters and groups, in a normalised form that
// compares equal to what the switch reports back (OF1.3.5 §7.3.5.2 flow stats, §7.3.5.10 group desc,
// §7.3.5.13 meter config). Normalising before sending keeps reconciliation stable: a flow that is right on the
// switch must compare equal to the desired one, or it would be rewritten on every reconnect.
//
// What Open vSwitch 3.1 was seen to do to what it is given (checked against a private OVS, see
// test/integration/flow-manager.test.ts):
//   - a field before its prerequisite (ipv4_dst before eth_type) is refused with OFPBMC_BAD_PREREQ, so fields are
//     sorted into OXM field-number order, which puts every OF1.3 prerequisite first (§7.2.3.6);
//   - value bits outside a mask are refused with OFPBMC_BAD_WILDCARDS, so they are cleared; an all-zero mask
//     matches anything and OVS drops the field, so we drop it; an all-ones mask is reported without a mask;
//   - match fields come back in OVS's own order: compared with canonicalMatchKey();
//   - instructions come back in execution order (§5.9: meter, apply, clear, write, metadata, goto) whatever order
//     they were sent in, and an empty apply-actions disappears: both normalised here;
//   - a meter band's burst size without OFPMF_BURST comes back as the rate (ignored in comparisons);
//   - actions, output max_len, other meter band fields and buckets come back as sent.
import {
  Writer, Reader, writeMatch, canonicalMatchKey, OFP_DEFAULT_PRIORITY, OFPXMC, OFPFF, OFPMF,
  type Match, type Instruction, type Bucket, type MeterBand, type OxmTlv,
} from './openflow/index.js';
import { readOxm, writeOxm, oxmDef } from './openflow/oxm.js';
import { writeInstructions } from './openflow/instructions.js';
import { writeBuckets } from './openflow/bucket.js';
import { writeBands } from './openflow/meter-band.js';

/** A flow entry as the controller wants it on a switch. */
export interface FlowEntry {
  tableId: number;
  priority: number;
  match: Match;
  instructions: Instruction[];
  /** Top 16 bits: the owner's id; low 48 bits: the owner's (e.g. a lease number). */
  cookie: bigint;
  idleTimeout: number;
  hardTimeout: number;
  /** OFPFF_* bits. */
  flags: number;
}

/** What an app may give: everything but the match is optional (defaults: table 0, priority 0x8000, cookie = the owner's id with low bits 0). */
export type FlowSpec = Partial<FlowEntry> & Pick<FlowEntry, 'match'>;

export interface MeterEntry {
  meterId: number;
  /** OFPMF_* bits. */
  flags: number;
  bands: MeterBand[];
}

export interface GroupEntry {
  groupId: number;
  /** OFPGT_*. */
  groupType: number;
  buckets: Bucket[];
}

// ---- owners and cookies ---------------------------------------------------------------------------------------

export const OWNER_SHIFT = 48n;
export const OWNER_MASK = 0xffffn << OWNER_SHIFT;
export const LOW_MASK = (1n << OWNER_SHIFT) - 1n;
export const ALL_ONES_64 = 0xffffffffffffffffn;

/** The cookie of an owner's flow: the owner id in the top 16 bits, `low` (48 bits) below. */
export function ownerCookie(ownerId: number, low = 0n): bigint {
  if (!Number.isInteger(ownerId) || ownerId < 1 || ownerId > 0xfffe) throw new RangeError(`owner id ${ownerId} is not in 1..0xfffe`);
  if (low < 0n || low > LOW_MASK) throw new RangeError(`cookie low part ${low} does not fit 48 bits`);
  return (BigInt(ownerId) << OWNER_SHIFT) | low;
}

export function ownerIdOf(cookie: bigint): number {
  return Number(cookie >> OWNER_SHIFT);
}

// ---- normalisation ------------------------------------------------------------------------------------------------

/** Sort rank of a field: OpenFlow-basic fields by field number (which orders every prerequisite first), then the rest. */
function fieldRank(f: OxmTlv): number {
  const d = oxmDef(f.field);
  if (d && d.oxmClass === OFPXMC.OPENFLOW_BASIC) return d.field;
  return 1000;
}

/**
 * The match OVS would store: value bits outside a mask cleared, all-zero-mask fields dropped, all-ones masks
 * dropped, fields in OXM field-number order (a stable sort, so experimenter fields keep their relative order).
 * Throws OfpError for a field the codec cannot encode.
 */
export function normaliseMatch(match: Match): Match {
  const w = new Writer(64);
  const out: OxmTlv[] = [];
  for (const f of match) {
    if (f.mask === undefined || f.mask === null) {
      out.push(f);
      continue;
    }
    w.reset();
    writeOxm(w, f);
    const b = Buffer.from(w.view());
    const cls = (b[0]! << 8) | b[1]!;
    const head = cls === OFPXMC.EXPERIMENTER ? 8 : 4;
    // ONF experimenter fields carry a 2-byte type after the experimenter id: leave those alone (none is maskable).
    if (cls === OFPXMC.EXPERIMENTER) { out.push(f); continue; }
    const half = (b.length - head) / 2;
    let zero = true;
    let ones = true;
    for (let i = 0; i < half; i++) {
      const m = b[head + half + i]!;
      b[head + i]! &= m;
      if (m !== 0) zero = false;
      if (m !== 0xff) ones = false;
    }
    if (zero) continue;
    if (ones) {
      b[2] = b[2]! & 0xfe;
      b[3] = half;
      out.push(readOxm(new Reader(b, 0, head + half)));
    } else {
      out.push(readOxm(new Reader(b)));
    }
  }
  // Stable sort by rank.
  return out.map((f, i) => ({ f, i, r: fieldRank(f) })).sort((a, b) => a.r - b.r || a.i - b.i).map((x) => x.f);
}

/** §5.9's execution order, which is the order OVS reports instructions in. */
const INSTRUCTION_ORDER: Record<Instruction['type'], number> = {
  meter: 0, applyActions: 1, clearActions: 2, writeActions: 3, writeMetadata: 4, gotoTable: 5, experimenter: 6,
};

/** Instructions in execution order, without an empty apply-actions (a no-op OVS drops). */
export function normaliseInstructions(list: Instruction[]): Instruction[] {
  return list
    .filter((i) => !(i.type === 'applyActions' && i.actions.length === 0))
    .map((ins, i) => ({ ins, i }))
    .sort((a, b) => INSTRUCTION_ORDER[a.ins.type] - INSTRUCTION_ORDER[b.ins.type] || a.i - b.i)
    .map((x) => x.ins);
}

const U16 = (v: number, what: string): number => {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`${what} ${v} is not a 16-bit value`);
  return v;
};

/** A complete, normalised flow entry; `defaultCookie` fills a missing cookie. */
export function normaliseFlow(spec: FlowSpec, defaultCookie = 0n): FlowEntry {
  const tableId = spec.tableId ?? 0;
  if (!Number.isInteger(tableId) || tableId < 0 || tableId > 0xfe) throw new RangeError(`table id ${tableId} is not in 0..254`);
  return {
    tableId,
    priority: U16(spec.priority ?? OFP_DEFAULT_PRIORITY, 'priority'),
    match: normaliseMatch(spec.match),
    instructions: normaliseInstructions(spec.instructions ?? []),
    cookie: spec.cookie ?? defaultCookie,
    idleTimeout: U16(spec.idleTimeout ?? 0, 'idle timeout'),
    hardTimeout: U16(spec.hardTimeout ?? 0, 'hard timeout'),
    flags: U16(spec.flags ?? 0, 'flags'),
  };
}

// ---- identity and equality ----------------------------------------------------------------------------------------

/** What makes two flows the same entry of a switch (OF1.3.5 §6.4: table, priority and match). */
export interface FlowIdentity { tableId: number; priority: number; match: Match }

export function flowKey(f: FlowIdentity): string {
  return `${f.tableId}/${f.priority}/${canonicalMatchKey(f.match)}`;
}

const keyWriter = new Writer(1024);
/** Keys of instruction lists already computed: a desired entry's list is compared on every reconcile. */
const instructionKeys = new WeakMap<Instruction[], string>();

/** Encoded instructions, order-normalised: two lists that do the same thing on OVS give the same key. */
export function instructionsKey(list: Instruction[]): string {
  let key = instructionKeys.get(list);
  if (key === undefined) {
    keyWriter.reset();
    writeInstructions(keyWriter, normaliseInstructions(list));
    key = keyWriter.view().toString('hex');
    instructionKeys.set(list, key);
  }
  return key;
}

/** The flags a switch keeps with a flow and reports in flow stats (all five OF1.3 bits; OVS reports each). */
export const FLOW_STATE_FLAGS = OFPFF.SEND_FLOW_REM | OFPFF.CHECK_OVERLAP | OFPFF.RESET_COUNTS | OFPFF.NO_PKT_COUNTS | OFPFF.NO_BYT_COUNTS;

/**
 * Bands and flags. A band's burst size counts only with OFPMF_BURST (OF1.3.5 §7.3.4.4), and without it OVS
 * reports the rate in its place: ignored then.
 */
export function meterKey(m: MeterEntry): string {
  const w = new Writer(64);
  writeBands(w, m.flags & OFPMF.BURST ? m.bands : m.bands.map((b) => ({ ...b, burstSize: 0 })));
  return `${m.flags}/${w.view().toString('hex')}`;
}

export function groupKey(g: GroupEntry): string {
  const w = new Writer(128);
  writeBuckets(w, g.buckets);
  return `${g.groupType}/${w.view().toString('hex')}`;
}

/** Validates that a match encodes (so that a bad entry fails when it is declared, not when it is sent). */
export function checkEncodes(e: FlowEntry): void {
  const w = new Writer(256);
  writeMatch(w, e.match);
  writeInstructions(w, e.instructions);
}

/** One line for logs: `table=0,priority=100,cookie=0x1000000000005`. */
export function flowText(f: FlowIdentity & { cookie?: bigint }): string {
  return `table=${f.tableId},priority=${f.priority}${f.cookie !== undefined ? `,cookie=0x${f.cookie.toString(16)}` : ''}`;
}
