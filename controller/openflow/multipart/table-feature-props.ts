// Table feature properties (OF1.3.5 §7.3.5.5.2): the TLVs after the fixed part of each ofp_table_features.
//
//   struct ofp_table_feature_prop_header { uint16_t type; uint16_t length; };   length excludes the padding
//   to the next multiple of 8 that follows every property.
//   INSTRUCTIONS(_MISS):   struct ofp_instruction instruction_ids[];  4-byte {type, len}; experimenter ids
//                          carry their experimenter id (and maybe more) after it, as `len` says.
//   NEXT_TABLES(_MISS):    uint8_t next_table_ids[];
//   *_ACTIONS(_MISS):      struct ofp_action_header action_ids[];     4-byte {type, len}, as instructions.
//   MATCH, WILDCARDS, *_SETFIELD(_MISS): uint32_t oxm_ids[];          OXM headers; experimenter ones are followed
//                          by the experimenter id (8 bytes in all).
//   EXPERIMENTER(_MISS):   uint32_t experimenter; uint32_t exp_type; uint32_t experimenter_data[];
// A property of a type the spec does not define is kept as bytes, so every reply re-encodes to its own bytes.
import { Reader, Writer } from '../buffer.js';
import { OfpError, OFPET, OFPTFFC, OFPBMC } from '../errors.js';
import { OFPTFPT, OFPXMC, OFPIT } from '../constants.js';
import { OXM_FIELDS, oxmDef, unknownFieldHeader, unknownFieldName } from '../oxm.js';
import { RyuDict, bad, b64, jArr, jBytes, unwrap } from '../ryu-json.js';
import { actionTypeText, jU8, jU16, jU32 } from './common.js';

/** An instruction or action id: its type, plus what follows the 4-byte header for experimenter ids. */
export interface FeatureId {
  type: number;
  /** Present when the id is long enough to carry one and its type is OFPIT/OFPAT_EXPERIMENTER (0xffff). */
  experimenter?: number;
  /** Any further bytes the id's length covers. */
  data?: Buffer;
}

/**
 * An OXM id: a field name as in match.ts. As Ryu names them, a non-experimenter field we do not know and every
 * experimenter one (known or not) is `field_N` (N = class << 7 | field), the latter with its experimenter id.
 */
export interface OxmId {
  field: string;
  /** Experimenter fields (class 0xffff) only. */
  experimenter?: number;
  hasMask: boolean;
  /** The header's length byte, kept as sent: switches disagree on what it should hold (Ryu sends 0). */
  length: number;
}

export type TableFeatureProp =
  | { kind: 'instructions'; type: number; instructionIds: FeatureId[] }
  | { kind: 'nextTables'; type: number; tableIds: number[] }
  | { kind: 'actions'; type: number; actionIds: FeatureId[] }
  | { kind: 'oxm'; type: number; oxmIds: OxmId[] }
  | { kind: 'experimenter'; type: number; experimenter: number; expType: number; data: number[] }
  | { kind: 'unknown'; type: number; data: Buffer };

type Kind = TableFeatureProp['kind'];

/** The property kind that a property type's body has. */
export function propKind(type: number): Kind {
  switch (type) {
    case OFPTFPT.INSTRUCTIONS:
    case OFPTFPT.INSTRUCTIONS_MISS:
      return 'instructions';
    case OFPTFPT.NEXT_TABLES:
    case OFPTFPT.NEXT_TABLES_MISS:
      return 'nextTables';
    case OFPTFPT.WRITE_ACTIONS:
    case OFPTFPT.WRITE_ACTIONS_MISS:
    case OFPTFPT.APPLY_ACTIONS:
    case OFPTFPT.APPLY_ACTIONS_MISS:
      return 'actions';
    case OFPTFPT.MATCH:
    case OFPTFPT.WILDCARDS:
    case OFPTFPT.WRITE_SETFIELD:
    case OFPTFPT.WRITE_SETFIELD_MISS:
    case OFPTFPT.APPLY_SETFIELD:
    case OFPTFPT.APPLY_SETFIELD_MISS:
      return 'oxm';
    case OFPTFPT.EXPERIMENTER:
    case OFPTFPT.EXPERIMENTER_MISS:
      return 'experimenter';
    default:
      return 'unknown';
  }
}

function badLen(detail: string): never {
  throw new OfpError(OFPET.TABLE_FEATURES_FAILED, OFPTFFC.BAD_LEN, detail);
}

// ---- ids ----

function readFeatureIds(r: Reader, what: string): FeatureId[] {
  const ids: FeatureId[] = [];
  while (r.pos < r.end) {
    const type = r.u16();
    const len = r.u16();
    if (len < 4 || len - 4 > r.end - r.pos) badLen(`${what} id of type ${type} has length ${len}`);
    const id: FeatureId = { type };
    let rest = len - 4;
    if (type === 0xffff && rest >= 4) {
      id.experimenter = r.u32();
      rest -= 4;
    }
    if (rest > 0) id.data = r.bytes(rest);
    ids.push(id);
  }
  return ids;
}

const idLength = (id: FeatureId) => 4 + (id.experimenter !== undefined ? 4 : 0) + (id.data?.length ?? 0);

function writeFeatureIds(w: Writer, ids: FeatureId[]): void {
  for (const id of ids) {
    w.u16(id.type);
    w.u16(idLength(id));
    if (id.experimenter !== undefined) w.u32(id.experimenter);
    if (id.data) w.bytes(id.data);
  }
}

function featureIdToRyu(id: FeatureId, cls: string): RyuDict {
  const d: RyuDict = { type: id.type, len: idLength(id) };
  if (id.experimenter !== undefined) d.experimenter = id.experimenter;
  if (id.data) d.data = b64(id.data);
  return { [cls]: d };
}

function featureIdFromRyu(o: unknown, cls: string): FeatureId {
  const [, d] = unwrap(o, cls);
  const id: FeatureId = { type: jU16(d, 'type') };
  if (d.experimenter !== undefined && d.experimenter !== null) {
    if (id.type !== 0xffff) bad(`${cls} of type ${id.type} cannot carry an experimenter id`);
    id.experimenter = jU32(d, 'experimenter');
  }
  const data = jBytes(d, 'data');
  if (data.length) {
    if (id.type === 0xffff && id.experimenter === undefined) bad(`${cls} with data needs its experimenter id`);
    id.data = data;
  }
  return id;
}

// OXM ids: class:field -> name for the non-experimenter fields match.ts knows.
const OXM_NAMES = new Map<number, string>();
for (const d of OXM_FIELDS) if (d.experimenter === undefined) OXM_NAMES.set(d.oxmClass * 128 + d.field, d.name);

function readOxmIds(r: Reader): OxmId[] {
  const ids: OxmId[] = [];
  while (r.pos < r.end) {
    const h = r.u32();
    const cls = h >>> 16;
    const field = (h >>> 9) & 0x7f;
    const id: OxmId = { field: OXM_NAMES.get(cls * 128 + field) ?? unknownFieldName(cls, field), hasMask: (h & 0x100) !== 0, length: h & 0xff };
    if (cls === OFPXMC.EXPERIMENTER) id.experimenter = r.u32();
    ids.push(id);
  }
  return ids;
}

/** [class, field] of an OXM id; an experimenter one must carry its experimenter id, any other none. */
function oxmIdHeader(id: OxmId): [number, number] {
  const def = oxmDef(id.field);
  const h = def && def.experimenter === undefined ? { oxmClass: def.oxmClass, field: def.field } : unknownFieldHeader(id.field);
  if (!h)
    throw new OfpError(OFPET.BAD_MATCH, OFPBMC.BAD_FIELD, `unknown OXM field ${JSON.stringify(id.field)} (an OXM id we do not name is field_N)`);
  if ((h.oxmClass === OFPXMC.EXPERIMENTER) !== (id.experimenter !== undefined)) {
    throw new OfpError(
      OFPET.BAD_MATCH,
      OFPBMC.BAD_FIELD,
      `OXM id ${id.field}: an experimenter id goes with class 0xffff (experimenter) and only there`,
    );
  }
  return [h.oxmClass, h.field];
}

function writeOxmIds(w: Writer, ids: OxmId[]): void {
  for (const id of ids) {
    const [cls, field] = oxmIdHeader(id);
    w.u32(((cls << 16) | (field << 9) | (id.hasMask ? 0x100 : 0) | (id.length & 0xff)) >>> 0);
    if (id.experimenter !== undefined) w.u32(id.experimenter);
  }
}

function oxmIdToRyu(id: OxmId): RyuDict {
  const d: RyuDict = { type: id.field, hasmask: id.hasMask ? 1 : 0, length: id.length };
  if (id.experimenter === undefined) return { OFPOxmId: d };
  d.exp_id = id.experimenter;
  return { OFPExperimenterOxmId: d };
}

function oxmIdFromRyu(o: unknown): OxmId {
  const [cls, d] = unwrap(o);
  if (cls !== 'OFPOxmId' && cls !== 'OFPExperimenterOxmId') bad(`expected OFPOxmId, got ${cls}`);
  if (typeof d.type !== 'string') bad(`${cls}.type is not a field name`);
  const m = d.hasmask;
  if (m !== undefined && m !== null && m !== 0 && m !== 1 && typeof m !== 'boolean') bad(`${cls}.hasmask is not 0 or 1`);
  // Ryu writes 0 for the length byte; a length given in the dict is kept (it is data here, not computed).
  const id: OxmId = { field: d.type, hasMask: m === 1 || m === true, length: jU8(d, 'length', 0) };
  if (cls === 'OFPExperimenterOxmId') id.experimenter = jU32(d, 'exp_id');
  oxmIdHeader(id);
  return id;
}

// ---- properties ----

/** The property's length field: header and body, without the padding. */
export function propLength(p: TableFeatureProp): number {
  switch (p.kind) {
    case 'instructions':
      return p.instructionIds.reduce<number>((n, id) => n + idLength(id), 4);
    case 'actions':
      return p.actionIds.reduce<number>((n, id) => n + idLength(id), 4);
    case 'nextTables':
      return 4 + p.tableIds.length;
    case 'oxm':
      return p.oxmIds.reduce<number>((n, id) => n + (id.experimenter === undefined ? 4 : 8), 4);
    case 'experimenter':
      return 12 + 4 * p.data.length;
    case 'unknown':
      return 4 + p.data.length;
  }
}

/** Reads one property, padding included. `r` is confined to the table features entry. */
export function readProp(r: Reader): TableFeatureProp {
  if (r.end - r.pos < 4) badLen(`truncated table feature property: ${r.end - r.pos} bytes left`);
  const type = r.u16();
  const length = r.u16();
  const padded = (length + 7) & ~7;
  if (length < 4 || padded - 4 > r.end - r.pos) badLen(`table feature property ${type} has length ${length}, ${r.end - r.pos + 4} bytes left`);
  const b = r.sub(length - 4, OFPET.TABLE_FEATURES_FAILED, OFPTFFC.BAD_LEN);
  r.skip(padded - length);
  switch (propKind(type)) {
    case 'instructions':
      return { kind: 'instructions', type, instructionIds: readFeatureIds(b, 'instruction') };
    case 'actions':
      return { kind: 'actions', type, actionIds: readFeatureIds(b, 'action') };
    case 'nextTables': {
      const tableIds: number[] = [];
      while (b.pos < b.end) tableIds.push(b.u8());
      return { kind: 'nextTables', type, tableIds };
    }
    case 'oxm':
      return { kind: 'oxm', type, oxmIds: readOxmIds(b) };
    case 'experimenter': {
      if (length < 12 || length % 4 !== 0) badLen(`experimenter table feature property has length ${length}`);
      const experimenter = b.u32();
      const expType = b.u32();
      const data: number[] = [];
      while (b.pos < b.end) data.push(b.u32());
      return { kind: 'experimenter', type, experimenter, expType, data };
    }
    default:
      return { kind: 'unknown', type, data: b.rest() };
  }
}

export function writeProp(w: Writer, p: TableFeatureProp): void {
  if (propKind(p.type) !== p.kind) {
    throw new OfpError(OFPET.TABLE_FEATURES_FAILED, OFPTFFC.BAD_TYPE, `table feature property type ${p.type} cannot hold ${p.kind}`);
  }
  const start = w.pos;
  w.u16(p.type);
  w.u16(0);
  switch (p.kind) {
    case 'instructions':
      writeFeatureIds(w, p.instructionIds);
      break;
    case 'actions':
      writeFeatureIds(w, p.actionIds);
      break;
    case 'nextTables':
      for (const t of p.tableIds) w.u8(t);
      break;
    case 'oxm':
      writeOxmIds(w, p.oxmIds);
      break;
    case 'experimenter':
      w.u32(p.experimenter);
      w.u32(p.expType);
      for (const x of p.data) w.u32(x);
      break;
    case 'unknown':
      w.bytes(p.data);
      break;
  }
  const length = w.pos - start;
  if (length > 0xffff) throw new OfpError(OFPET.TABLE_FEATURES_FAILED, OFPTFFC.BAD_LEN, `table feature property of ${length} bytes`);
  w.setU16(start + 2, length);
  w.pad8(start);
}

const RYU_CLASS: Record<Kind, string> = {
  instructions: 'OFPTableFeaturePropInstructions',
  nextTables: 'OFPTableFeaturePropNextTables',
  actions: 'OFPTableFeaturePropActions',
  oxm: 'OFPTableFeaturePropOxm',
  experimenter: 'OFPTableFeaturePropExperimenter',
  unknown: 'OFPTableFeaturePropUnknown',
};

export function propToRyu(p: TableFeatureProp): RyuDict {
  const d: RyuDict = { type: p.type, length: propLength(p) };
  switch (p.kind) {
    case 'instructions':
      d.instruction_ids = p.instructionIds.map((id) => featureIdToRyu(id, 'OFPInstructionId'));
      break;
    case 'actions':
      d.action_ids = p.actionIds.map((id) => featureIdToRyu(id, 'OFPActionId'));
      break;
    case 'nextTables':
      d.table_ids = [...p.tableIds];
      break;
    case 'oxm':
      d.oxm_ids = p.oxmIds.map(oxmIdToRyu);
      break;
    case 'experimenter':
      d.experimenter = p.experimenter;
      d.exp_type = p.expType;
      d.data = [...p.data];
      break;
    case 'unknown':
      d.data = b64(p.data);
      break;
  }
  return { [RYU_CLASS[p.kind]]: d };
}

export function propFromRyu(o: unknown): TableFeatureProp {
  const [cls, d] = unwrap(o);
  const kind = (Object.keys(RYU_CLASS) as Kind[]).find((k) => RYU_CLASS[k] === cls);
  if (!kind) bad(`unknown table feature property class ${cls}`);
  const type = jU16(d, 'type');
  if (propKind(type) !== kind) bad(`${cls} cannot have type ${type}`);
  const u8s = (key: string) => jArr(d, key).map((x) => jU8({ [key]: x }, key));
  switch (kind) {
    case 'instructions':
      return { kind, type, instructionIds: jArr(d, 'instruction_ids').map((x) => featureIdFromRyu(x, 'OFPInstructionId')) };
    case 'actions':
      return { kind, type, actionIds: jArr(d, 'action_ids').map((x) => featureIdFromRyu(x, 'OFPActionId')) };
    case 'nextTables':
      return { kind, type, tableIds: u8s('table_ids') };
    case 'oxm':
      return { kind, type, oxmIds: jArr(d, 'oxm_ids').map(oxmIdFromRyu) };
    case 'experimenter':
      return {
        kind,
        type,
        experimenter: jU32(d, 'experimenter'),
        expType: jU32(d, 'exp_type'),
        data: jArr(d, 'data').map((x) => jU32({ data: x }, 'data')),
      };
    case 'unknown':
      return { kind, type, data: jBytes(d, 'data') };
  }
}

// ---- text ----

const PROP_NAMES: Record<number, string> = {};
for (const [k, v] of Object.entries(OFPTFPT)) PROP_NAMES[v] = k.toLowerCase();

const INSTRUCTION_NAMES: Record<number, string> = {};
for (const [k, v] of Object.entries(OFPIT)) INSTRUCTION_NAMES[v] = k.toLowerCase();

/** `1-3,7` for a list of table ids. */
function ranges(ids: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < ids.length; i++) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
    out.push(j > i ? `${ids[i]}-${ids[j]}` : String(ids[i]));
    i = j;
  }
  return out.join(',');
}

export function formatProp(p: TableFeatureProp): string {
  const name = PROP_NAMES[p.type] ?? `prop_${p.type}`;
  switch (p.kind) {
    case 'instructions':
      return `${name}=${p.instructionIds.map((id) => INSTRUCTION_NAMES[id.type] ?? `0x${id.type.toString(16)}`).join(',')}`;
    case 'actions':
      return `${name}=${p.actionIds.map((id) => actionTypeText(id.type)).join(',')}`;
    case 'nextTables':
      return `${name}=${ranges(p.tableIds)}`;
    case 'oxm':
      return `${name}=${p.oxmIds.map((id) => (id.hasMask ? `${id.field}/mask` : id.field)).join(',')}`;
    case 'experimenter':
      return `${name}=0x${p.experimenter.toString(16)}:0x${p.expType.toString(16)}${p.data.length ? `(${p.data.join(',')})` : ''}`;
    case 'unknown':
      return `${name}=0x${p.data.toString('hex')}`;
  }
}
