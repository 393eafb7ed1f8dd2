// Instructions (OF1.3.5 §7.2.4): what a flow entry does when it matches — apply or write actions, clear the
// action set, write metadata, meter the packet, or continue to a later table.
//
//   struct ofp_instruction { uint16_t type; uint16_t len; };      every instruction is a multiple of 8 bytes
//   goto_table     { type; len; uint8_t table_id; uint8_t pad[3]; }                               8 bytes
//   write_metadata { type; len; uint8_t pad[4]; uint64_t metadata; uint64_t metadata_mask; }     24 bytes
//   actions        { type; len; uint8_t pad[4]; struct ofp_action_header actions[0]; }   8 + actions
//   meter          { type; len; uint32_t meter_id; }                                              8 bytes
//   experimenter   { type; len; uint32_t experimenter; ...data }                             8 + data
import { Reader, Writer, u64At } from './buffer.js';
import { OfpError, OFPET, OFPBIC } from './errors.js';
import { OFPIT } from './constants.js';
import { Action, readActions, writeActions, actionsLength, actionsToRyu, actionsFromRyu, formatAction, formatActions } from './actions.js';
import './nx-actions.js'; // registers the Nicira actions a list may hold (experimenter-actions.ts)
import { RyuDict, bad, b64, unwrap, jArr, jBytes, jU64, u64ToJson, hex, jUint } from './ryu-json.js';

export type Instruction =
  | { type: 'gotoTable'; tableId: number }
  | { type: 'writeMetadata'; metadata: bigint; metadataMask: bigint }
  | { type: 'writeActions'; actions: Action[] }
  | { type: 'applyActions'; actions: Action[] }
  | { type: 'clearActions' }
  | { type: 'meter'; meterId: number }
  /** `data` is everything after the 8-byte experimenter instruction header. */
  | { type: 'experimenter'; experimenter: number; data: Buffer };

function badInst(code: number, detail: string): never {
  throw new OfpError(OFPET.BAD_INSTRUCTION, code, detail);
}

function fixed(type: number, len: number, want: number): void {
  if (len !== want) badInst(OFPBIC.BAD_LEN, `instruction type ${type} has length ${len}, expected ${want}`);
}

/** Decodes exactly `len` bytes of instructions. */
export function readInstructions(r: Reader, len: number): Instruction[] {
  if (len < 0 || len > r.remaining) badInst(OFPBIC.BAD_LEN, `instruction list of ${len} bytes, only ${r.remaining} left`);
  const b = r.buf;
  const end = r.pos + len;
  const out: Instruction[] = [];
  while (r.pos < end) {
    const p = r.pos;
    if (end - p < 4) badInst(OFPBIC.BAD_LEN, `truncated instruction header: ${end - p} bytes`);
    const type = (b[p]! << 8) | b[p + 1]!;
    const ilen = (b[p + 2]! << 8) | b[p + 3]!;
    // Checked before use: a zero length would loop forever, an overlong one would read the next structure.
    if (ilen < 8 || ilen % 8 !== 0) badInst(OFPBIC.BAD_LEN, `instruction type ${type} has length ${ilen}`);
    if (ilen > end - p) badInst(OFPBIC.BAD_LEN, `instruction type ${type} of length ${ilen} overruns its list (${end - p} left)`);
    switch (type) {
      case OFPIT.GOTO_TABLE:
        fixed(type, ilen, 8);
        out.push({ type: 'gotoTable', tableId: b[p + 4]! });
        break;
      case OFPIT.WRITE_METADATA:
        fixed(type, ilen, 24);
        out.push({ type: 'writeMetadata', metadata: u64At(b, p + 8), metadataMask: u64At(b, p + 16) });
        break;
      case OFPIT.WRITE_ACTIONS:
      case OFPIT.APPLY_ACTIONS: {
        r.pos = p + 8;
        const actions = readActions(r, ilen - 8);
        out.push(type === OFPIT.APPLY_ACTIONS ? { type: 'applyActions', actions } : { type: 'writeActions', actions });
        break;
      }
      case OFPIT.CLEAR_ACTIONS:
        fixed(type, ilen, 8);
        out.push({ type: 'clearActions' });
        break;
      case OFPIT.METER:
        fixed(type, ilen, 8);
        out.push({ type: 'meter', meterId: b.readUInt32BE(p + 4) });
        break;
      case OFPIT.EXPERIMENTER:
        out.push({ type: 'experimenter', experimenter: b.readUInt32BE(p + 4), data: b.subarray(p + 8, p + ilen) });
        break;
      default:
        badInst(OFPBIC.UNKNOWN_INST, `unknown instruction type ${type}`);
    }
    r.pos = p + ilen;
  }
  return out;
}

/** Encodes instructions (lengths and padding computed here). */
export function writeInstructions(w: Writer, list: Instruction[]): void {
  for (let i = 0; i < list.length; i++) {
    const ins = list[i]!;
    // Most used first: a string switch tests its cases in order.
    switch (ins.type) {
      case 'writeActions':
      case 'applyActions': {
        const start = w.pos;
        w.u16(ins.type === 'applyActions' ? OFPIT.APPLY_ACTIONS : OFPIT.WRITE_ACTIONS);
        w.u16(0);
        w.u32(0);
        writeActions(w, ins.actions);
        const len = w.pos - start;
        if (len > 0xffff) {
          w.pos = start;
          badInst(OFPBIC.BAD_LEN, `instruction of ${len} bytes`);
        }
        w.setU16(start + 2, len);
        break;
      }
      case 'clearActions':
        w.u16(OFPIT.CLEAR_ACTIONS);
        w.u16(8);
        w.u32(0);
        break;
      case 'meter':
        w.u16(OFPIT.METER);
        w.u16(8);
        w.u32(ins.meterId);
        break;
      case 'gotoTable':
        w.u16(OFPIT.GOTO_TABLE);
        w.u16(8);
        w.u8(ins.tableId);
        w.u24(0);
        break;
      case 'writeMetadata':
        w.u16(OFPIT.WRITE_METADATA);
        w.u16(24);
        w.u32(0);
        w.u64(ins.metadata);
        w.u64(ins.metadataMask);
        break;
      case 'experimenter': {
        const start = w.pos;
        w.u16(OFPIT.EXPERIMENTER);
        w.u16(0);
        w.u32(ins.experimenter);
        w.bytes(ins.data);
        w.pad8(start);
        if (w.pos - start > 0xfff8) {
          w.pos = start;
          badInst(OFPBIC.BAD_LEN, `experimenter instruction of ${ins.data.length} bytes`);
        }
        w.setU16(start + 2, w.pos - start);
        break;
      }
      default:
        badInst(OFPBIC.UNKNOWN_INST, `unknown instruction type ${JSON.stringify((ins as { type?: unknown }).type)}`);
    }
  }
}

export function instructionLength(ins: Instruction): number {
  switch (ins.type) {
    case 'writeMetadata':
      return 24;
    case 'writeActions':
    case 'applyActions':
      return 8 + actionsLength(ins.actions);
    case 'experimenter':
      return (8 + ins.data.length + 7) & ~7;
    default:
      return 8;
  }
}

export function instructionsLength(list: Instruction[]): number {
  let n = 0;
  for (const i of list) n += instructionLength(i);
  return n;
}

// ---- Ryu JSON: OFPInstructionActions carries write (3), apply (4) and clear (5), told apart by `type` ----------

export function instructionToRyu(ins: Instruction): RyuDict {
  const len = instructionLength(ins);
  switch (ins.type) {
    case 'gotoTable':
      return { OFPInstructionGotoTable: { len, table_id: ins.tableId, type: OFPIT.GOTO_TABLE } };
    case 'writeMetadata':
      return {
        OFPInstructionWriteMetadata: {
          len,
          metadata: u64ToJson(ins.metadata),
          metadata_mask: u64ToJson(ins.metadataMask),
          type: OFPIT.WRITE_METADATA,
        },
      };
    case 'writeActions':
      return { OFPInstructionActions: { actions: actionsToRyu(ins.actions), len, type: OFPIT.WRITE_ACTIONS } };
    case 'applyActions':
      return { OFPInstructionActions: { actions: actionsToRyu(ins.actions), len, type: OFPIT.APPLY_ACTIONS } };
    case 'clearActions':
      return { OFPInstructionActions: { actions: [], len, type: OFPIT.CLEAR_ACTIONS } };
    case 'meter':
      return { OFPInstructionMeter: { len, meter_id: ins.meterId, type: OFPIT.METER } };
    case 'experimenter':
      return { OFPInstructionExperimenter: { data: b64(ins.data), experimenter: ins.experimenter, len, type: OFPIT.EXPERIMENTER } };
    default:
      return badInst(OFPBIC.UNKNOWN_INST, `unknown instruction type ${JSON.stringify((ins as { type?: unknown }).type)}`);
  }
}

export function instructionsToRyu(list: Instruction[]): RyuDict[] {
  return list.map(instructionToRyu);
}

export function instructionFromRyu(obj: unknown): Instruction {
  const [name, d] = unwrap(obj);
  switch (name) {
    case 'OFPInstructionGotoTable':
      return { type: 'gotoTable', tableId: jUint(d, 'table_id', 8) };
    case 'OFPInstructionWriteMetadata':
      return { type: 'writeMetadata', metadata: jU64(d, 'metadata'), metadataMask: jU64(d, 'metadata_mask', 0xffffffffffffffffn) };
    case 'OFPInstructionMeter':
      return { type: 'meter', meterId: jUint(d, 'meter_id', 32) };
    case 'OFPInstructionExperimenter':
      return { type: 'experimenter', experimenter: jUint(d, 'experimenter', 32), data: jBytes(d, 'data') };
    case 'OFPInstructionActions': {
      const type = jUint(d, 'type', 16);
      if (type === OFPIT.CLEAR_ACTIONS) return { type: 'clearActions' };
      const actions = actionsFromRyu(jArr(d, 'actions'));
      if (type === OFPIT.APPLY_ACTIONS) return { type: 'applyActions', actions };
      if (type === OFPIT.WRITE_ACTIONS) return { type: 'writeActions', actions };
      return bad(`OFPInstructionActions of type ${type}`);
    }
    default:
      return bad(`unknown Ryu instruction class ${name}`);
  }
}

export function instructionsFromRyu(list: unknown[]): Instruction[] {
  if (!Array.isArray(list)) bad('instructions is not a list');
  return list.map(instructionFromRyu);
}

// ---- ovs-ofctl text ---------------------------------------------------------------------------------------------

function formatInstruction(ins: Instruction): string {
  switch (ins.type) {
    case 'gotoTable':
      return `goto_table:${ins.tableId}`;
    case 'writeMetadata':
      return ins.metadataMask === 0xffffffffffffffffn
        ? `write_metadata:${hex(ins.metadata)}`
        : `write_metadata:${hex(ins.metadata)}/${hex(ins.metadataMask)}`;
    case 'writeActions':
      return `write_actions(${ins.actions.map(formatAction).join(',')})`;
    case 'applyActions':
      return ins.actions.length === 0 ? '' : formatActions(ins.actions);
    case 'clearActions':
      return 'clear_actions';
    case 'meter':
      return `meter:${ins.meterId}`;
    case 'experimenter':
      return `experimenter(${hex(ins.experimenter)},data=${ins.data.toString('hex')})`;
    default:
      return 'unknown';
  }
}

/**
 * The whole instruction list as ovs-ofctl prints it, prefix included: apply-actions appear bare, the other
 * instructions by name: `actions=meter:1,write_actions(output:6)`, `actions=output:2,goto_table:3`,
 * `actions=drop` for an empty list.
 */
export function formatInstructions(list: Instruction[]): string {
  const parts: string[] = [];
  for (const ins of list) {
    const s = formatInstruction(ins);
    if (s) parts.push(s);
  }
  return `actions=${parts.length === 0 ? 'drop' : parts.join(',')}`;
}
