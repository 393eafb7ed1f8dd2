// Actions (OF1.3.5 §7.2.5): what a flow entry, a packet-out or a group bucket does to a packet.
//
//   struct ofp_action_header { uint16_t type; uint16_t len; uint8_t pad[4]; };    len: multiple of 8, >= 8
//
// Every standard action has a fixed size except set-field (an OXM TLV padded to 8) and experimenter actions,
// which we carry as raw bytes so that Nicira/OVS actions (ct, learn, resubmit...) decode and re-encode to the
// identical bytes; their Ryu JSON and text forms come from the experimenter's codec registered in
// experimenter-actions.ts (nx-actions.ts for Nicira's NXAction*).
import { Reader, Writer } from './buffer.js';
import { OfpError, OFPET, OFPBAC, OFPBMC } from './errors.js';
import { OFPAT, OFPP } from './constants.js';
import { OxmTlv, readOxm, writeOxm, oxmLength } from './oxm.js';
import { oxmToRyu, oxmFromRyu } from './match.js';
import { RyuDict, bad, b64, unwrap, jObj, jBytes, jUint, hex } from './ryu-json.js';
import { formatPortNo } from './port.js';
import { experimenterActions, experimenterActionsForRyu } from './experimenter-actions.js';

export type Action =
  | { type: 'output'; port: number; maxLen: number }
  | { type: 'copyTtlOut' }
  | { type: 'copyTtlIn' }
  | { type: 'setMplsTtl'; mplsTtl: number }
  | { type: 'decMplsTtl' }
  | { type: 'pushVlan'; ethertype: number }
  | { type: 'popVlan' }
  | { type: 'pushMpls'; ethertype: number }
  | { type: 'popMpls'; ethertype: number }
  | { type: 'setQueue'; queueId: number }
  | { type: 'group'; groupId: number }
  | { type: 'setNwTtl'; nwTtl: number }
  | { type: 'decNwTtl' }
  | { type: 'setField'; field: OxmTlv }
  | { type: 'pushPbb'; ethertype: number }
  | { type: 'popPbb' }
  /** `data` is everything after the 8-byte experimenter action header (for Nicira: subtype first). */
  | { type: 'experimenter'; experimenter: number; data: Buffer };

function badAction(code: number, detail: string): never {
  throw new OfpError(OFPET.BAD_ACTION, code, detail);
}

// OXM errors inside a set-field become the set-field errors of ofp_bad_action_code (§7.4.4).
function setFieldError(e: unknown): never {
  if (e instanceof OfpError && e.errType === OFPET.BAD_MATCH) {
    const code = e.code === OFPBMC.BAD_LEN ? OFPBAC.BAD_SET_LEN : e.code === OFPBMC.BAD_FIELD ? OFPBAC.BAD_SET_TYPE : OFPBAC.BAD_SET_ARGUMENT;
    throw new OfpError(OFPET.BAD_ACTION, code, `set-field: ${e.message}`);
  }
  throw e;
}

/** Decodes exactly `len` bytes of actions. */
export function readActions(r: Reader, len: number): Action[] {
  if (len < 0 || len > r.remaining) badAction(OFPBAC.BAD_LEN, `action list of ${len} bytes, only ${r.remaining} left`);
  const b = r.buf;
  let p = r.pos;
  const end = p + len;
  r.pos = end;
  const out: Action[] = [];
  while (p < end) {
    if (end - p < 4) badAction(OFPBAC.BAD_LEN, `truncated action header: ${end - p} bytes`);
    const type = (b[p]! << 8) | b[p + 1]!;
    const alen = (b[p + 2]! << 8) | b[p + 3]!;
    // A zero or odd length would loop forever or misalign everything after it: reject before using it.
    if (alen < 8 || alen % 8 !== 0) badAction(OFPBAC.BAD_LEN, `action type ${type} has length ${alen}`);
    if (alen > end - p) badAction(OFPBAC.BAD_LEN, `action type ${type} of length ${alen} overruns its list (${end - p} left)`);
    out.push(readOne(b, p, type, alen));
    p += alen;
  }
  return out;
}

const u32At = (b: Buffer, p: number) => b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
const u16At = (b: Buffer, p: number) => (b[p]! << 8) | b[p + 1]!;

function fixed(type: number, alen: number, want: number): void {
  if (alen !== want) badAction(OFPBAC.BAD_LEN, `action type ${type} has length ${alen}, expected ${want}`);
}

/** One action of `alen` bytes at `p`, whose length has been checked to lie within the list. */
function readOne(b: Buffer, p: number, type: number, alen: number): Action {
  switch (type) {
    // struct ofp_action_output { type; len; uint32_t port; uint16_t max_len; uint8_t pad[6]; }  16 bytes
    case OFPAT.OUTPUT:
      fixed(type, alen, 16);
      return { type: 'output', port: u32At(b, p + 4), maxLen: u16At(b, p + 8) };
    case OFPAT.COPY_TTL_OUT:
      fixed(type, alen, 8);
      return { type: 'copyTtlOut' };
    case OFPAT.COPY_TTL_IN:
      fixed(type, alen, 8);
      return { type: 'copyTtlIn' };
    // struct ofp_action_mpls_ttl / ofp_action_nw_ttl { type; len; uint8_t ttl; uint8_t pad[3]; }
    case OFPAT.SET_MPLS_TTL:
      fixed(type, alen, 8);
      return { type: 'setMplsTtl', mplsTtl: b[p + 4]! };
    case OFPAT.DEC_MPLS_TTL:
      fixed(type, alen, 8);
      return { type: 'decMplsTtl' };
    // struct ofp_action_push { type; len; uint16_t ethertype; uint8_t pad[2]; } (also ofp_action_pop_mpls)
    case OFPAT.PUSH_VLAN:
      fixed(type, alen, 8);
      return { type: 'pushVlan', ethertype: u16At(b, p + 4) };
    case OFPAT.POP_VLAN:
      fixed(type, alen, 8);
      return { type: 'popVlan' };
    case OFPAT.PUSH_MPLS:
      fixed(type, alen, 8);
      return { type: 'pushMpls', ethertype: u16At(b, p + 4) };
    case OFPAT.POP_MPLS:
      fixed(type, alen, 8);
      return { type: 'popMpls', ethertype: u16At(b, p + 4) };
    // struct ofp_action_set_queue / ofp_action_group { type; len; uint32_t id; }
    case OFPAT.SET_QUEUE:
      fixed(type, alen, 8);
      return { type: 'setQueue', queueId: u32At(b, p + 4) };
    case OFPAT.GROUP:
      fixed(type, alen, 8);
      return { type: 'group', groupId: u32At(b, p + 4) };
    case OFPAT.SET_NW_TTL:
      fixed(type, alen, 8);
      return { type: 'setNwTtl', nwTtl: b[p + 4]! };
    case OFPAT.DEC_NW_TTL:
      fixed(type, alen, 8);
      return { type: 'decNwTtl' };
    case OFPAT.SET_FIELD:
      return readSetField(b, p, alen);
    case OFPAT.PUSH_PBB:
      fixed(type, alen, 8);
      return { type: 'pushPbb', ethertype: u16At(b, p + 4) };
    case OFPAT.POP_PBB:
      fixed(type, alen, 8);
      return { type: 'popPbb' };
    // struct ofp_action_experimenter_header { type; len; uint32_t experimenter; }  + experimenter data
    case OFPAT.EXPERIMENTER:
      return { type: 'experimenter', experimenter: u32At(b, p + 4), data: b.subarray(p + 8, p + alen) };
    default:
      return badAction(OFPBAC.BAD_TYPE, `unknown action type ${type}`);
  }
}

// struct ofp_action_set_field { type; len; uint8_t field[4]; }: one OXM TLV, then zeros up to a multiple of 8.
function readSetField(b: Buffer, p: number, alen: number): Action {
  const r = new Reader(b, p + 4, p + alen);
  r.errType = OFPET.BAD_ACTION;
  r.errCode = OFPBAC.BAD_SET_LEN;
  let field: OxmTlv;
  try {
    field = readOxm(r);
  } catch (e) {
    return setFieldError(e);
  }
  // The padding is the minimum that reaches a multiple of 8 (§7.2.5): anything longer is a bad length.
  if (((r.pos - p + 7) & ~7) !== alen) badAction(OFPBAC.BAD_SET_LEN, `set-field of length ${alen} holds a ${r.pos - p - 4}-byte OXM`);
  // OpenFlow 1.3 has no masked set-field (the OXM's hasmask bit must be zero, §7.2.5).
  if (field.mask !== undefined) badAction(OFPBAC.BAD_SET_ARGUMENT, `set-field of ${field.field} has a mask`);
  return { type: 'setField', field };
}

/** Zero padding up to a multiple of 8 from `start`, without Buffer.fill (slow for a few bytes: hot path). */
export function padTo8(w: Writer, start: number): void {
  const pad = (8 - ((w.pos - start) & 7)) & 7;
  if (pad & 4) w.u32(0);
  if (pad & 2) w.u16(0);
  if (pad & 1) w.u8(0);
}

/** Encodes actions (lengths and padding computed here). */
export function writeActions(w: Writer, actions: Action[]): void {
  for (let i = 0; i < actions.length; i++) writeAction(w, actions[i]!);
}

function writeAction(w: Writer, a: Action): void {
  // The two actions flow-mods carry most come first: a string switch tests its cases in order.
  switch (a.type) {
    case 'output':
      w.u16(OFPAT.OUTPUT);
      w.u16(16);
      w.u32(a.port);
      w.u16(a.maxLen);
      w.u16(0);
      w.u32(0);
      return;
    case 'setField': {
      const f = a.field;
      if (f.mask !== undefined && f.mask !== null) badAction(OFPBAC.BAD_SET_ARGUMENT, `set-field of ${f.field} has a mask`);
      const start = w.pos;
      w.u16(OFPAT.SET_FIELD);
      w.u16(0);
      try {
        writeOxm(w, f);
      } catch (e) {
        w.pos = start;
        setFieldError(e);
      }
      padTo8(w, start);
      w.setU16(start + 2, w.pos - start);
      return;
    }
    case 'copyTtlOut':
      w.u16(OFPAT.COPY_TTL_OUT);
      w.u16(8);
      w.u32(0);
      return;
    case 'copyTtlIn':
      w.u16(OFPAT.COPY_TTL_IN);
      w.u16(8);
      w.u32(0);
      return;
    case 'setMplsTtl':
      w.u16(OFPAT.SET_MPLS_TTL);
      w.u16(8);
      w.u8(a.mplsTtl);
      w.u24(0);
      return;
    case 'decMplsTtl':
      w.u16(OFPAT.DEC_MPLS_TTL);
      w.u16(8);
      w.u32(0);
      return;
    case 'pushVlan':
      w.u16(OFPAT.PUSH_VLAN);
      w.u16(8);
      w.u16(a.ethertype);
      w.u16(0);
      return;
    case 'popVlan':
      w.u16(OFPAT.POP_VLAN);
      w.u16(8);
      w.u32(0);
      return;
    case 'pushMpls':
      w.u16(OFPAT.PUSH_MPLS);
      w.u16(8);
      w.u16(a.ethertype);
      w.u16(0);
      return;
    case 'popMpls':
      w.u16(OFPAT.POP_MPLS);
      w.u16(8);
      w.u16(a.ethertype);
      w.u16(0);
      return;
    case 'setQueue':
      w.u16(OFPAT.SET_QUEUE);
      w.u16(8);
      w.u32(a.queueId);
      return;
    case 'group':
      w.u16(OFPAT.GROUP);
      w.u16(8);
      w.u32(a.groupId);
      return;
    case 'setNwTtl':
      w.u16(OFPAT.SET_NW_TTL);
      w.u16(8);
      w.u8(a.nwTtl);
      w.u24(0);
      return;
    case 'decNwTtl':
      w.u16(OFPAT.DEC_NW_TTL);
      w.u16(8);
      w.u32(0);
      return;
    case 'pushPbb':
      w.u16(OFPAT.PUSH_PBB);
      w.u16(8);
      w.u16(a.ethertype);
      w.u16(0);
      return;
    case 'popPbb':
      w.u16(OFPAT.POP_PBB);
      w.u16(8);
      w.u32(0);
      return;
    case 'experimenter': {
      const start = w.pos;
      w.u16(OFPAT.EXPERIMENTER);
      w.u16(0);
      w.u32(a.experimenter);
      w.bytes(a.data);
      w.pad8(start);
      if (w.pos - start > 0xfff8) {
        w.pos = start;
        badAction(OFPBAC.BAD_LEN, `experimenter action of ${a.data.length} bytes`);
      }
      w.setU16(start + 2, w.pos - start);
      return;
    }
    default:
      return badAction(OFPBAC.BAD_TYPE, `unknown action type ${JSON.stringify((a as { type?: unknown }).type)}`);
  }
}

/** Encoded length of one action. */
export function actionLength(a: Action): number {
  switch (a.type) {
    case 'output':
      return 16;
    case 'setField':
      return (4 + oxmLength(a.field) + 7) & ~7;
    case 'experimenter':
      return (8 + a.data.length + 7) & ~7;
    default:
      return 8;
  }
}

export function actionsLength(actions: Action[]): number {
  let n = 0;
  for (const a of actions) n += actionLength(a);
  return n;
}

// ---- Ryu JSON ---------------------------------------------------------------------------------------------------

/** Ryu class name and our discriminator for each action that has no arguments. */
const BARE: [string, Action['type'], number][] = [
  ['OFPActionCopyTtlOut', 'copyTtlOut', OFPAT.COPY_TTL_OUT],
  ['OFPActionCopyTtlIn', 'copyTtlIn', OFPAT.COPY_TTL_IN],
  ['OFPActionDecMplsTtl', 'decMplsTtl', OFPAT.DEC_MPLS_TTL],
  ['OFPActionPopVlan', 'popVlan', OFPAT.POP_VLAN],
  ['OFPActionDecNwTtl', 'decNwTtl', OFPAT.DEC_NW_TTL],
  ['OFPActionPopPbb', 'popPbb', OFPAT.POP_PBB],
];
const BARE_BY_TYPE = new Map(BARE.map(([ryu, t, n]) => [t, [ryu, n] as const]));
const BARE_BY_RYU = new Map(BARE.map(([ryu, t]) => [ryu, t]));

/** The four actions whose one argument is an ethertype. */
const ETH: [string, 'pushVlan' | 'pushMpls' | 'popMpls' | 'pushPbb', number][] = [
  ['OFPActionPushVlan', 'pushVlan', OFPAT.PUSH_VLAN],
  ['OFPActionPushMpls', 'pushMpls', OFPAT.PUSH_MPLS],
  ['OFPActionPopMpls', 'popMpls', OFPAT.POP_MPLS],
  ['OFPActionPushPbb', 'pushPbb', OFPAT.PUSH_PBB],
];
const ETH_BY_TYPE = new Map(ETH.map(([ryu, t, n]) => [t as string, [ryu, n] as const]));
const ETH_BY_RYU = new Map(ETH.map(([ryu, t]) => [ryu, t]));

export function actionToRyu(a: Action): RyuDict {
  const len = actionLength(a);
  switch (a.type) {
    case 'output':
      return { OFPActionOutput: { len, max_len: a.maxLen, port: a.port, type: OFPAT.OUTPUT } };
    case 'setMplsTtl':
      return { OFPActionSetMplsTtl: { len, mpls_ttl: a.mplsTtl, type: OFPAT.SET_MPLS_TTL } };
    case 'setQueue':
      return { OFPActionSetQueue: { len, queue_id: a.queueId, type: OFPAT.SET_QUEUE } };
    case 'group':
      return { OFPActionGroup: { group_id: a.groupId, len, type: OFPAT.GROUP } };
    case 'setNwTtl':
      return { OFPActionSetNwTtl: { len, nw_ttl: a.nwTtl, type: OFPAT.SET_NW_TTL } };
    case 'setField':
      return { OFPActionSetField: { field: oxmToRyu(a.field), len, type: OFPAT.SET_FIELD } };
    case 'experimenter': {
      const known = experimenterActions(a.experimenter)?.toRyu(a.data, len);
      if (known) return known;
      return { OFPActionExperimenterUnknown: { data: b64(a.data), experimenter: a.experimenter, len, type: OFPAT.EXPERIMENTER } };
    }
    default: {
      const eth = ETH_BY_TYPE.get(a.type);
      if (eth) return { [eth[0]]: { ethertype: (a as { ethertype: number }).ethertype, len, type: eth[1] } };
      const bare = BARE_BY_TYPE.get(a.type);
      if (bare) return { [bare[0]]: { len, type: bare[1] } };
      return badAction(OFPBAC.BAD_TYPE, `unknown action type ${JSON.stringify(a.type)}`);
    }
  }
}

export function actionsToRyu(actions: Action[]): RyuDict[] {
  return actions.map(actionToRyu);
}

export function actionFromRyu(obj: unknown): Action {
  const [name, d] = unwrap(obj);
  switch (name) {
    case 'OFPActionOutput':
      return { type: 'output', port: jUint(d, 'port', 32), maxLen: jUint(d, 'max_len', 16, 0xffe5) };
    case 'OFPActionSetMplsTtl':
      return { type: 'setMplsTtl', mplsTtl: jUint(d, 'mpls_ttl', 8) };
    case 'OFPActionSetQueue':
      return { type: 'setQueue', queueId: jUint(d, 'queue_id', 32) };
    case 'OFPActionGroup':
      return { type: 'group', groupId: jUint(d, 'group_id', 32) };
    case 'OFPActionSetNwTtl':
      return { type: 'setNwTtl', nwTtl: jUint(d, 'nw_ttl', 8) };
    case 'OFPActionSetField':
      return { type: 'setField', field: oxmFromRyu(jObj(d, 'field')) };
    case 'OFPActionExperimenterUnknown':
      return { type: 'experimenter', experimenter: jUint(d, 'experimenter', 32), data: jBytes(d, 'data') };
    default: {
      const eth = ETH_BY_RYU.get(name);
      if (eth) return { type: eth, ethertype: jUint(d, 'ethertype', 16) };
      const bare = BARE_BY_RYU.get(name);
      if (bare) return { type: bare } as Action;
      const exp = experimenterActionsForRyu(name);
      if (exp) return { type: 'experimenter', experimenter: exp.experimenter, data: exp.fromRyu(name, d) };
      return bad(`unknown Ryu action class ${name}`);
    }
  }
}

export function actionsFromRyu(list: unknown[]): Action[] {
  if (!Array.isArray(list)) bad('actions is not a list');
  return list.map(actionFromRyu);
}

// ---- ovs-ofctl text ---------------------------------------------------------------------------------------------

// ovs-ofctl's names for the fields of a set_field, where they differ from the OXM names.
const OVS_SET_FIELD_NAMES: Record<string, string> = {
  ipv4_src: 'ip_src',
  ipv4_dst: 'ip_dst',
  tunnel_id: 'tun_id',
  icmpv4_type: 'icmp_type',
  icmpv4_code: 'icmp_code',
  ip_ecn: 'nw_ecn',
  ipv6_nd_target: 'nd_target',
  ipv6_nd_sll: 'nd_sll',
  ipv6_nd_tll: 'nd_tll',
  ipv6_flabel: 'ipv6_label',
  tun_ipv4_src: 'tun_src',
  tun_ipv4_dst: 'tun_dst',
};
// Integer fields ovs-ofctl prints in hex (its MFS_HEXADECIMAL fields); the others are decimal.
const HEX_FIELDS = /^(metadata|tunnel_id|ipv6_flabel|pkt_mark|ct_mark|ct_label|reg\d+|tun_.*|pbb_isid|ipv6_exthdr|tcp_flags)$/;

function formatSetField(f: OxmTlv): string {
  const v = f.value;
  let text: string;
  if (Buffer.isBuffer(v)) text = `0x${v.toString('hex')}`;
  else if (typeof v === 'string') text = v;
  else if (typeof v === 'bigint' || HEX_FIELDS.test(f.field)) text = hex(v);
  else text = String(v);
  return `set_field:${text}->${OVS_SET_FIELD_NAMES[f.field] ?? f.field}`;
}

/** An ethertype as ovs-ofctl prints it: `0x0800`. */
const ethertype = (v: number) => `0x${v.toString(16).padStart(4, '0')}`;

export function formatAction(a: Action): string {
  switch (a.type) {
    case 'output':
      if (a.port === OFPP.CONTROLLER) return `CONTROLLER:${a.maxLen}`;
      return a.port >= OFPP.IN_PORT ? formatPortNo(a.port) : `output:${a.port}`;
    case 'copyTtlOut':
      return 'copy_ttl_out';
    case 'copyTtlIn':
      return 'copy_ttl_in';
    case 'setMplsTtl':
      return `set_mpls_ttl(${a.mplsTtl})`;
    case 'decMplsTtl':
      return 'dec_mpls_ttl';
    case 'pushVlan':
      return `push_vlan:${ethertype(a.ethertype)}`;
    case 'popVlan':
      return 'pop_vlan';
    case 'pushMpls':
      return `push_mpls:${ethertype(a.ethertype)}`;
    case 'popMpls':
      return `pop_mpls:${ethertype(a.ethertype)}`;
    case 'setQueue':
      return `set_queue:${a.queueId}`;
    case 'group':
      return `group:${a.groupId}`;
    case 'setNwTtl':
      return `mod_nw_ttl:${a.nwTtl}`;
    case 'decNwTtl':
      return 'dec_ttl';
    case 'setField':
      return formatSetField(a.field);
    case 'pushPbb':
      return `push_pbb:${ethertype(a.ethertype)}`;
    case 'popPbb':
      return 'pop_pbb';
    case 'experimenter':
      return experimenterActions(a.experimenter)?.format(a.data) ?? `experimenter(${hex(a.experimenter)},data=${a.data.toString('hex')})`;
    default:
      return `unknown(${JSON.stringify((a as { type?: unknown }).type)})`;
  }
}

/** ovs-ofctl style: `output:2,group:4,set_field:00:11:22:33:44:55->eth_dst`; `drop` for none. */
export function formatActions(actions: Action[]): string {
  return actions.length === 0 ? 'drop' : actions.map(formatAction).join(',');
}
