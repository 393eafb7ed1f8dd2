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
//   - match fields come back in OVS's own order: compared by flowKey() (the codec's canonicalMatchKey);
//   - instructions come back in execution order (§5.9: meter, apply, clear, write, metadata, goto) whatever order
//     they were sent in, and an empty apply-actions disappears: both normalised here;
//   - a meter band's burst size without OFPMF_BURST comes back as the rate (ignored in comparisons);
//   - actions, output max_len, other meter band fields and buckets come back as sent.
import {
  Writer,
  Reader,
  writeMatch,
  OFP_DEFAULT_PRIORITY,
  OFPXMC,
  OFPFF,
  OFPMF,
  type Match,
  type Instruction,
  type Bucket,
  type MeterBand,
  type OxmTlv,
} from './openflow/index.js';
import { readOxm, writeOxm, oxmDef } from './openflow/oxm.js';
import { writeInstructions } from './openflow/instructions.js';
import { writeBuckets } from './openflow/bucket.js';
import { writeBands } from './openflow/meter-band.js';
import { canonicalFlowKey, canonicaliseTlv, flowKeyText } from './openflow/match-key.js';

export { flowKeyText };

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

/** The cookie mask that selects one exact cookie. */
export const ALL_ONES_64 = 0xffffffffffffffffn;

// ---- normalisation ------------------------------------------------------------------------------------------------

/** Sort rank of a field: OpenFlow-basic fields by field number (which orders every prerequisite first), then the rest. */
function fieldRank(f: OxmTlv): number {
  const d = oxmDef(f.field);
  if (d && d.oxmClass === OFPXMC.OPENFLOW_BASIC) return d.field;
  return 1000;
}

/** No masks and fields already in rank order: the common case, which normalising would only copy. */
function isPlainAndSorted(match: Match): boolean {
  let prev = -1;
  for (const f of match) {
    if (f.mask !== undefined && f.mask !== null) return false;
    const r = fieldRank(f);
    if (r < prev) return false; // (equal ranks: the stable sort would keep their order too)
    prev = r;
  }
  return true;
}

/** Where normaliseMatch encodes a masked field to canonicalise it (one TLV at a time; values are read out as copies). */
const maskWriter = new Writer(64);

/**
 * The match OVS would store: each masked field canonicalised as canonicalMatchKey does (canonicaliseTlv: value
 * bits outside the mask cleared, an all-ones mask dropped, an all-zero-mask field dropped), fields in OXM
 * field-number order (a stable sort, so experimenter fields keep their relative order).
 * Throws OfpError for a field the codec cannot encode.
 *
 * The desired state keeps the result (it is what reconciliation compares with and what a later remove or re-add
 * is keyed by), so it is never an array the caller could still change: a caller that reuses or changes its
 * spec's array after declaring it must not change what the controller believes it asked for. A frozen array
 * (Object.freeze: nobody can change it) that needs no change is kept as it is, saving a copy per flow (the DMZ
 * app's lease matches are); any other is copied. (The TLV objects are shared either way, as they always were:
 * plain values nothing changes.)
 */
export function normaliseMatch(match: Match): Match {
  if (isPlainAndSorted(match)) return Object.isFrozen(match) ? match : match.slice();
  const out: OxmTlv[] = [];
  for (const f of match) {
    if (f.mask === undefined || f.mask === null) {
      out.push(f);
      continue;
    }
    const w = maskWriter.reset();
    writeOxm(w, f);
    const end = canonicaliseTlv(w.buf, 0, w.pos);
    if (end > 0) out.push(readOxm(new Reader(w.buf, 0, end)));
  }
  sortByRank(out);
  return out;
}

/** Stable in-place sort of a (short) match by fieldRank; a match already in order is only scanned. */
function sortByRank(m: OxmTlv[]): void {
  let prev = -1;
  let sorted = true;
  for (const f of m) {
    const r = fieldRank(f);
    if (r < prev) {
      sorted = false;
      break;
    }
    prev = r;
  }
  if (sorted) return;
  // Insertion sort: stable, no allocation, and a match has a handful of fields.
  for (let i = 1; i < m.length; i++) {
    const f = m[i]!;
    const r = fieldRank(f);
    let j = i - 1;
    while (j >= 0 && fieldRank(m[j]!) > r) {
      m[j + 1] = m[j]!;
      j--;
    }
    m[j + 1] = f;
  }
}

/** §5.9's execution order, which is the order OVS reports instructions in. */
const INSTRUCTION_ORDER: Record<Instruction['type'], number> = {
  meter: 0,
  applyActions: 1,
  clearActions: 2,
  writeActions: 3,
  writeMetadata: 4,
  gotoTable: 5,
  experimenter: 6,
};

/**
 * Instructions in execution order, without an empty apply-actions (a no-op OVS drops). Like normaliseMatch: a
 * frozen list already in order is kept as it is (e.g. one list shared by many leases' flows), any other copied.
 */
export function normaliseInstructions(list: Instruction[]): Instruction[] {
  if (isInstructionOrder(list)) return Object.isFrozen(list) ? list : list.slice();
  return list
    .filter((i) => !(i.type === 'applyActions' && i.actions.length === 0))
    .map((ins, i) => ({ ins, i }))
    .sort((a, b) => INSTRUCTION_ORDER[a.ins.type] - INSTRUCTION_ORDER[b.ins.type] || a.i - b.i)
    .map((x) => x.ins);
}

function isInstructionOrder(list: Instruction[]): boolean {
  let prev = -1;
  for (const ins of list) {
    if (ins.type === 'applyActions' && ins.actions.length === 0) return false;
    const r = INSTRUCTION_ORDER[ins.type];
    if (r < prev) return false;
    prev = r;
  }
  return true;
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
export interface FlowIdentity {
  tableId: number;
  priority: number;
  match: Match;
}

/** Where an object that knows its own flow key (a desired flow's record) keeps it: flowKey answers it as it is. */
export const FLOW_KEY = Symbol('flowKey');

/** canonicalFlowKey: a short string, equal for two entries a switch would hold as one (flowKeyText spells it). */
export function flowKey(f: FlowIdentity & { readonly [FLOW_KEY]?: string }): string {
  return f[FLOW_KEY] ?? canonicalFlowKey(f.tableId, f.priority, f.match);
}

/**
 * The match a flow key was made from, as normaliseMatch gives it: the key holds the canonical TLVs, read back
 * and put in OXM field-number order (fields of other classes after those, in the key's byte order).
 */
export function flowKeyMatch(key: string): Match {
  const b = Buffer.from(key, 'latin1');
  const r = new Reader(b, 3, b.length);
  const m: OxmTlv[] = [];
  while (r.pos < b.length) m.push(readOxm(r));
  sortByRank(m);
  return m;
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
const checkWriter = new Writer(1024);
export function checkEncodes(e: FlowEntry): void {
  writeMatch(checkWriter.reset(), e.match);
  checkInstructions(e);
}

/** Validates that the instructions encode (flowKey() validates the match: it encodes it). */
export function checkInstructions(e: FlowEntry): void {
  writeInstructions(checkWriter.reset(), e.instructions);
}

/** One line for logs: `table=0,priority=100,cookie=0x1000000000005`. */
export function flowText(f: FlowIdentity & { cookie?: bigint }): string {
  return `table=${f.tableId},priority=${f.priority}${f.cookie !== undefined ? `,cookie=0x${f.cookie.toString(16)}` : ''}`;
}
