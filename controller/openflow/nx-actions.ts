// Nicira (Open vSwitch) experimenter actions in Ryu's JSON form (NXAction*) and in ovs-ofctl's text. On the wire
// and in our Action type they stay raw bytes (actions.ts), so nothing here can lose information: a dict is only
// offered when encoding it again gives the very same bytes; otherwise the action shows as NXActionUnknown.
//
//   struct nx_action_header { uint16_t type; uint16_t len; uint32_t vendor; uint16_t subtype; ... }
//
// `data` below is what follows the 8-byte experimenter header: the 16-bit subtype, then the subtype's body, whose
// layouts are those of Open vSwitch's nicira-ext.h / ofp-actions.c. Field references are 32-bit NXM/OXM headers,
// named as Ryu names them (`reg0`, `eth_dst_nxm`, `vlan_vid`).
import { Reader, Writer } from './buffer.js';
import { OFPAT, NX_EXPERIMENTER_ID, OFPXMC } from './constants.js';
import { OXM_FIELDS } from './oxm.js';
import { ipv4ToString, ipv4ToBytes, ipv6ToString, ipv6ToBytes } from './addr.js';
import { RyuDict, bad, b64, jBytes, jArr, jU64, jUint, u64ToJson, unwrap, hex } from './ryu-json.js';
import { Action, readActions, writeActions, actionsToRyu, actionsFromRyu, formatAction } from './actions.js';
import { registerExperimenterActions } from './experimenter-actions.js';

// ---- field references -----------------------------------------------------------------------------------------

const nxmHeader = (cls: number, field: number, width: number) => cls * 0x10000 + (field << 9) + width;
const NAME_BY_HEADER = new Map<number, string>();
const HEADER_BY_NAME = new Map<string, number>();
function addField(name: string, header: number): void {
  if (!NAME_BY_HEADER.has(header)) NAME_BY_HEADER.set(header, name);
  if (!HEADER_BY_NAME.has(name)) HEADER_BY_NAME.set(name, header);
}
// Ryu's names for the NXM fields that duplicate OpenFlow-basic ones, then every field of the OXM table.
for (const [name, cls, field, width] of [
  ['eth_dst_nxm', 0, 1, 6],
  ['eth_src_nxm', 0, 2, 6],
  ['eth_type_nxm', 0, 3, 2],
  ['ip_proto_nxm', 0, 6, 1],
  ['tunnel_id_nxm', 1, 16, 8],
  ['tcp_flags_nxm', 1, 34, 2],
] as const)
  addField(name, nxmHeader(cls, field, width));
for (const d of OXM_FIELDS) if (d.experimenter === undefined) addField(d.name, nxmHeader(d.oxmClass, d.field, d.width));

/** A field header as Ryu names it; one we do not know keeps its header in its name. */
function fieldName(header: number): string {
  // Experimenter OXM headers are 64 bits long and change the layouts below: leave those actions raw.
  if (header >>> 16 === OFPXMC.EXPERIMENTER) throw new Error('experimenter field reference');
  return NAME_BY_HEADER.get(header) ?? `hdr_0x${header.toString(16).padStart(8, '0')}`;
}

function fieldHeader(name: unknown): number {
  if (typeof name !== 'string') return bad(`field reference ${String(name)} is not a name`);
  const h = HEADER_BY_NAME.get(name);
  if (h !== undefined) return h;
  const m = /^hdr_0x([0-9a-f]{8})$/.exec(name);
  return m ? parseInt(m[1]!, 16) : bad(`unknown field ${name}`);
}

const NXM_OF = [
  'IN_PORT',
  'ETH_DST',
  'ETH_SRC',
  'ETH_TYPE',
  'VLAN_TCI',
  'IP_TOS',
  'IP_PROTO',
  'IP_SRC',
  'IP_DST',
  'TCP_SRC',
  'TCP_DST',
  'UDP_SRC',
  'UDP_DST',
  'ICMP_TYPE',
  'ICMP_CODE',
  'ARP_OP',
  'ARP_SPA',
  'ARP_TPA',
];

/** ovs-ofctl's name for a field header: `NXM_NX_REG0`, `OXM_OF_VLAN_VID`, `NXM_OF_ETH_DST`. */
function ovsField(header: number): string {
  const cls = header >>> 16;
  const field = (header >>> 9) & 0x7f;
  if (cls === 0 && NXM_OF[field]) return `NXM_OF_${NXM_OF[field]}`;
  if (cls === 1 && field < 16) return `NXM_NX_REG${field}`;
  if (cls === 1 && field === 16) return 'NXM_NX_TUN_ID';
  const name = NAME_BY_HEADER.get(header);
  if (!name) return hex(header);
  return `${cls === OFPXMC.OPENFLOW_BASIC ? 'OXM_OF_' : 'NXM_NX_'}${name.replace(/_nxm$/, '').toUpperCase()}`;
}

// Fields narrower than their OXM bytes, by their width in bits (for ovs-ofctl's `FIELD[]` shorthand).
const BIT_WIDTHS: Record<string, number> = {
  vlan_vid: 12,
  vlan_pcp: 3,
  ip_dscp: 6,
  ip_ecn: 2,
  mpls_label: 20,
  mpls_tc: 3,
  mpls_bos: 1,
  ipv6_flabel: 20,
  ipv6_exthdr: 9,
  tcp_flags: 12,
  tcp_flags_nxm: 12,
};

/** `FIELD[]` for a whole field, `FIELD[a..b]` for a part: ovs-ofctl's subfield syntax. */
function ovsSubfield(header: number, ofs: number, nBits: number): string {
  const name = ovsField(header);
  const width = BIT_WIDTHS[NAME_BY_HEADER.get(header) ?? ''] ?? 8 * (header & 0xff);
  if (ofs === 0 && nBits === width) return `${name}[]`;
  return nBits === 1 ? `${name}[${ofs}]` : `${name}[${ofs}..${ofs + nBits - 1}]`;
}

// ---- bundle: an output to one of several ports, chosen by a hash of the fields named ----------------------------

/** NX_HASH_FIELDS_*, in their order (nicira-ext.h), by ovs-ofctl's names. */
export const NX_HASH_FIELDS = ['eth_src', 'symmetric_l4', 'symmetric_l3l4', 'symmetric_l3l4+udp', 'nw_src', 'nw_dst', 'symmetric_l3'] as const;
export type NxHashFields = (typeof NX_HASH_FIELDS)[number];
/** NX_BD_ALG_*: active_backup 0, hrw (highest random weight) 1. */
const NX_BD_ALGORITHMS = ['active_backup', 'hrw'];
const NXM_OF_IN_PORT = nxmHeader(0, 0, 2);

/**
 * Open vSwitch's `bundle` action (NXAST_BUNDLE): out of one of `ports`, picked by a hash of `fields` over the
 * members that are up (highest random weight), so that a member that goes down moves only its own flows.
 */
export function nxBundle(ports: readonly number[], fields: NxHashFields, basis = 0): Action {
  const data = nxFromRyu('NXActionBundle', {
    algorithm: 1,
    fields: NX_HASH_FIELDS.indexOf(fields),
    basis,
    slave_type: NXM_OF_IN_PORT,
    n_slaves: ports.length,
    ofs_nbits: 0,
    dst: 0,
    slaves: [...ports],
  });
  return { type: 'experimenter', experimenter: NX_EXPERIMENTER_ID, data };
}

// ---- per-subtype codecs ---------------------------------------------------------------------------------------

interface NxCodec {
  subtype: number;
  name: string;
  /** Ryu's fields, from a reader positioned after the subtype. */
  decode(r: Reader): RyuDict;
  /** Writes the body after the subtype (the caller pads). */
  encode(w: Writer, d: RyuDict): void;
  format?(d: RyuDict): string;
}

const int = (d: RyuDict, key: string, bits: number) => jUint(d, key, bits, 0);
const pair = (v: unknown): [number, number] => {
  if (!Array.isArray(v) || v.length !== 2) return bad(`field reference ${JSON.stringify(v)} is not [name, offset]`);
  return [fieldHeader(v[0]), jUint({ o: v[1] }, 'o', 16)];
};
const bitsOf = (ofsNbits: number) => [ofsNbits >>> 6, (ofsNbits & 0x3f) + 1] as const;
/** An immediate value as ovs-ofctl prints it: hex, but a bare `0`. */
const imm = (v: unknown) => (v === 0 || v === 0n ? '0' : hex(v as number | bigint));
const REASONS = ['no_match', 'action', 'invalid_ttl', 'action_set', 'group', 'packet_out'];

const nat: NxCodec = {
  subtype: 36,
  name: 'NXActionNAT',
  decode: (r) => {
    r.skip(2);
    const flags = r.u16();
    const present = r.u16();
    const d: RyuDict = {
      flags,
      range_ipv4_max: '',
      range_ipv4_min: '',
      range_ipv6_max: '',
      range_ipv6_min: '',
      range_proto_max: null,
      range_proto_min: null,
    };
    if (present & 1) d.range_ipv4_min = ipv4ToString(r.bytes(4), 0);
    if (present & 2) d.range_ipv4_max = ipv4ToString(r.bytes(4), 0);
    if (present & 4) d.range_ipv6_min = ipv6ToString(r.bytes(16), 0);
    if (present & 8) d.range_ipv6_max = ipv6ToString(r.bytes(16), 0);
    if (present & 16) d.range_proto_min = r.u16();
    if (present & 32) d.range_proto_max = r.u16();
    return d;
  },
  encode: (w, d) => {
    const s = (k: string) => (typeof d[k] === 'string' && d[k] !== '' ? d[k] : undefined);
    const p = (k: string) => (d[k] === null || d[k] === undefined ? undefined : jUint(d, k, 16));
    const v4min = s('range_ipv4_min'),
      v4max = s('range_ipv4_max'),
      v6min = s('range_ipv6_min'),
      v6max = s('range_ipv6_max');
    const pmin = p('range_proto_min'),
      pmax = p('range_proto_max');
    w.u16(0);
    w.u16(int(d, 'flags', 16));
    w.u16((v4min ? 1 : 0) | (v4max ? 2 : 0) | (v6min ? 4 : 0) | (v6max ? 8 : 0) | (pmin !== undefined ? 16 : 0) | (pmax !== undefined ? 32 : 0));
    if (v4min) w.bytes(ipv4ToBytes(v4min));
    if (v4max) w.bytes(ipv4ToBytes(v4max));
    if (v6min) w.bytes(ipv6ToBytes(v6min));
    if (v6max) w.bytes(ipv6ToBytes(v6max));
    if (pmin !== undefined) w.u16(pmin);
    if (pmax !== undefined) w.u16(pmax);
  },
  format: (d) => {
    const flags = d.flags as number;
    const parts: string[] = [];
    const v6 = d.range_ipv6_min !== '';
    const lo = (v6 ? d.range_ipv6_min : d.range_ipv4_min) as string;
    const hi = (v6 ? d.range_ipv6_max : d.range_ipv4_max) as string;
    if (flags & 3) {
      let range = lo ? (v6 && d.range_proto_min !== null ? `[${lo}${hi ? `-${hi}` : ''}]` : `${lo}${hi ? `-${hi}` : ''}`) : '';
      if (d.range_proto_min !== null) range += `:${d.range_proto_min}${d.range_proto_max !== null ? `-${d.range_proto_max}` : ''}`;
      parts.push(`${flags & 1 ? 'src' : 'dst'}${range ? `=${range}` : ''}`);
    }
    if (flags & 4) parts.push('persistent');
    if (flags & 8) parts.push('hash');
    if (flags & 16) parts.push('random');
    return parts.length ? `nat(${parts.join(',')})` : 'nat';
  },
};

const CODECS: NxCodec[] = [
  {
    subtype: 1,
    name: 'NXActionResubmit',
    decode: (r) => {
      const d = { in_port: r.u16() };
      r.skip(4);
      return d;
    },
    encode: (w, d) => {
      w.u16(int(d, 'in_port', 16));
      w.u32(0);
    },
    format: (d) => `resubmit:${d.in_port}`,
  },
  {
    subtype: 2,
    name: 'NXActionSetTunnel',
    decode: (r) => {
      r.skip(2);
      return { tun_id: r.u32() };
    },
    encode: (w, d) => {
      w.u16(0);
      w.u32(int(d, 'tun_id', 32));
    },
    format: (d) => `set_tunnel:${hex(d.tun_id as number)}`,
  },
  {
    subtype: 4,
    name: 'NXActionSetQueue',
    decode: (r) => {
      r.skip(2);
      return { queue_id: r.u32() };
    },
    encode: (w, d) => {
      w.u16(0);
      w.u32(int(d, 'queue_id', 32));
    },
    format: (d) => `set_queue:${d.queue_id}`,
  },
  {
    subtype: 5,
    name: 'NXActionPopQueue',
    decode: (r) => {
      r.skip(6);
      return {};
    },
    encode: (w) => w.zeros(6),
    format: () => 'pop_queue',
  },
  {
    subtype: 6,
    name: 'NXActionRegMove',
    decode: (r) => {
      const n_bits = r.u16(),
        src_ofs = r.u16(),
        dst_ofs = r.u16();
      return { n_bits, src_ofs, dst_ofs, src_field: fieldName(r.u32()), dst_field: fieldName(r.u32()) };
    },
    encode: (w, d) => {
      w.u16(int(d, 'n_bits', 16));
      w.u16(int(d, 'src_ofs', 16));
      w.u16(int(d, 'dst_ofs', 16));
      w.u32(fieldHeader(d.src_field));
      w.u32(fieldHeader(d.dst_field));
    },
    format: (d) =>
      `move:${ovsSubfield(fieldHeader(d.src_field), d.src_ofs as number, d.n_bits as number)}->` +
      ovsSubfield(fieldHeader(d.dst_field), d.dst_ofs as number, d.n_bits as number),
  },
  {
    subtype: 7,
    name: 'NXActionRegLoad',
    decode: (r) => ({ ofs_nbits: r.u16(), dst: fieldName(r.u32()), value: u64ToJson(r.u64()) }),
    encode: (w, d) => {
      w.u16(int(d, 'ofs_nbits', 16));
      w.u32(fieldHeader(d.dst));
      w.u64(jU64(d, 'value', 0n));
    },
    format: (d) => {
      const [ofs, n] = bitsOf(d.ofs_nbits as number);
      return `load:${imm(d.value)}->${ovsSubfield(fieldHeader(d.dst), ofs, n)}`;
    },
  },
  {
    subtype: 8,
    name: 'NXActionNote',
    decode: (r) => ({ note: [...r.rest()] }),
    encode: (w, d) => w.bytes(Buffer.from(jArr(d, 'note').map((x) => jUint({ x }, 'x', 8)))),
    format: (d) => `note:${(d.note as number[]).map((x) => x.toString(16).padStart(2, '0')).join('.')}`,
  },
  {
    subtype: 9,
    name: 'NXActionSetTunnel64',
    decode: (r) => {
      r.skip(6);
      return { tun_id: u64ToJson(r.u64()) };
    },
    encode: (w, d) => {
      w.zeros(6);
      w.u64(jU64(d, 'tun_id', 0n));
    },
    format: (d) => `set_tunnel64:${hex(d.tun_id as number)}`,
  },
  {
    // struct nx_action_bundle (32 bytes with the header), then n_slaves 16-bit ports, padded to 8.
    subtype: 12,
    name: 'NXActionBundle',
    decode: (r) => {
      const algorithm = r.u16(),
        fields = r.u16(),
        basis = r.u16(),
        slave_type = r.u32(),
        n_slaves = r.u16(),
        ofs_nbits = r.u16(),
        dst = r.u32();
      r.skip(4);
      const slaves = Array.from({ length: n_slaves }, () => r.u16());
      return { algorithm, fields, basis, slave_type, n_slaves, ofs_nbits, dst, slaves };
    },
    encode: (w, d) => {
      const slaves = jArr(d, 'slaves').map((x) => jUint({ x }, 'x', 16));
      w.u16(int(d, 'algorithm', 16));
      w.u16(int(d, 'fields', 16));
      w.u16(int(d, 'basis', 16));
      w.u32(jUint(d, 'slave_type', 32, NXM_OF_IN_PORT));
      w.u16(jUint(d, 'n_slaves', 16, slaves.length));
      w.u16(int(d, 'ofs_nbits', 16));
      w.u32(int(d, 'dst', 32));
      w.zeros(4);
      for (const p of slaves) w.u16(p);
    },
    format: (d) => {
      const fields = NX_HASH_FIELDS[d.fields as number] ?? bad(`bundle: hash fields ${String(d.fields)}`);
      const algorithm = NX_BD_ALGORITHMS[d.algorithm as number] ?? bad(`bundle: algorithm ${String(d.algorithm)}`);
      if (d.slave_type !== NXM_OF_IN_PORT || d.ofs_nbits !== 0 || d.dst !== 0) return bad('bundle_load or another member type');
      return `bundle(${fields},${d.basis},${algorithm},ofport,members:${(d.slaves as number[]).join(',')})`;
    },
  },
  {
    subtype: 14,
    name: 'NXActionResubmitTable',
    decode: (r) => {
      const d = { in_port: r.u16(), table_id: r.u8() };
      r.skip(3);
      return d;
    },
    encode: (w, d) => {
      w.u16(int(d, 'in_port', 16));
      w.u8(int(d, 'table_id', 8));
      w.u24(0);
    },
    // 0xfff8 is OpenFlow 1.0's OFPP_IN_PORT: "the packet's own in_port".
    format: (d) => `resubmit(${d.in_port === 0xfff8 ? '' : d.in_port},${d.table_id === 255 ? '' : d.table_id})`,
  },
  {
    subtype: 16,
    name: 'NXActionLearn',
    decode: (r) => {
      const d: RyuDict = {
        idle_timeout: r.u16(),
        hard_timeout: r.u16(),
        priority: r.u16(),
        cookie: u64ToJson(r.u64()),
        flags: r.u16(),
        table_id: r.u8(),
      };
      r.skip(1);
      d.fin_idle_timeout = r.u16();
      d.fin_hard_timeout = r.u16();
      const specs: RyuDict[] = [];
      while (r.remaining >= 2) {
        const hdr = r.u16();
        if (hdr === 0) break; // the rest is padding
        const nBits = hdr & 0x3ff;
        const dstType = (hdr >>> 11) & 3;
        let src: unknown;
        if (hdr & 0x2000) {
          const b = r.bytes(2 * Math.ceil(nBits / 16));
          src = b.length ? u64ToJson(BigInt(`0x${b.toString('hex')}`)) : 0;
        } else {
          src = [fieldName(r.u32()), r.u16()];
        }
        if (dstType === 3) throw new Error('reserved learn spec type');
        const dst = dstType === 2 ? '' : [fieldName(r.u32()), r.u16()];
        const cls = ['NXFlowSpecMatch', 'NXFlowSpecLoad', 'NXFlowSpecOutput'][dstType]!;
        specs.push({ [cls]: { dst, n_bits: nBits, src } });
      }
      d.specs = specs;
      return d;
    },
    encode: (w, d) => {
      w.u16(int(d, 'idle_timeout', 16));
      w.u16(int(d, 'hard_timeout', 16));
      w.u16(jUint(d, 'priority', 16, 0x8000));
      w.u64(jU64(d, 'cookie', 0n));
      w.u16(int(d, 'flags', 16));
      w.u8(int(d, 'table_id', 8));
      w.u8(0);
      w.u16(int(d, 'fin_idle_timeout', 16));
      w.u16(int(d, 'fin_hard_timeout', 16));
      for (const obj of jArr(d, 'specs')) {
        const [cls, s] = unwrap(obj);
        const dstType = ['NXFlowSpecMatch', 'NXFlowSpecLoad', 'NXFlowSpecOutput'].indexOf(cls);
        if (dstType < 0) bad(`unknown learn spec class ${cls}`);
        const nBits = jUint(s, 'n_bits', 10);
        const immediate = !Array.isArray(s.src);
        w.u16((immediate ? 0x2000 : 0) | (dstType << 11) | nBits);
        if (immediate) {
          const width = 2 * Math.ceil(nBits / 16);
          const v = jU64(s, 'src', 0n);
          if (width)
            w.bytes(
              Buffer.from(
                v
                  .toString(16)
                  .padStart(2 * width, '0')
                  .slice(-2 * width),
                'hex',
              ),
            );
        } else {
          const [h, ofs] = pair(s.src);
          w.u32(h);
          w.u16(ofs);
        }
        if (dstType !== 2) {
          const [h, ofs] = pair(s.dst);
          w.u32(h);
          w.u16(ofs);
        }
      }
    },
    format: (d) => {
      const parts = [`table=${d.table_id}`];
      for (const k of ['idle_timeout', 'hard_timeout', 'fin_idle_timeout', 'fin_hard_timeout']) if (d[k]) parts.push(`${k}=${d[k]}`);
      if (d.priority !== 0x8000) parts.push(`priority=${d.priority}`);
      if (d.cookie) parts.push(`cookie=${hex(d.cookie as number)}`);
      const flags = d.flags as number;
      if (flags & 1) parts.push('send_flow_rem');
      if (flags & 2) parts.push('delete_learned');
      for (const obj of d.specs as RyuDict[]) {
        const [cls, s] = Object.entries(obj)[0] as [string, RyuDict];
        const n = s.n_bits as number;
        const src = Array.isArray(s.src) ? ovsSubfield(fieldHeader(s.src[0]), s.src[1] as number, n) : imm(s.src);
        const dst = Array.isArray(s.dst) ? ovsSubfield(fieldHeader(s.dst[0]), s.dst[1] as number, n) : '';
        if (cls === 'NXFlowSpecOutput') parts.push(`output:${src}`);
        else if (cls === 'NXFlowSpecLoad') parts.push(`load:${src}->${dst}`);
        else parts.push(src === dst ? dst : `${dst}=${src}`);
      }
      return `learn(${parts.join(',')})`;
    },
  },
  {
    subtype: 17,
    name: 'NXActionExit',
    decode: (r) => {
      r.skip(6);
      return {};
    },
    encode: (w) => w.zeros(6),
    format: () => 'exit',
  },
  {
    subtype: 18,
    name: 'NXActionDecTtl',
    decode: (r) => {
      r.skip(6);
      return {};
    },
    encode: (w) => w.zeros(6),
    format: () => 'dec_ttl',
  },
  {
    subtype: 19,
    name: 'NXActionFinTimeout',
    decode: (r) => {
      const d = { fin_idle_timeout: r.u16(), fin_hard_timeout: r.u16() };
      r.skip(2);
      return d;
    },
    encode: (w, d) => {
      w.u16(int(d, 'fin_idle_timeout', 16));
      w.u16(int(d, 'fin_hard_timeout', 16));
      w.u16(0);
    },
    format: (d) =>
      `fin_timeout(${[d.fin_idle_timeout ? `idle_timeout=${d.fin_idle_timeout}` : '', d.fin_hard_timeout ? `hard_timeout=${d.fin_hard_timeout}` : ''].filter(Boolean).join(',')})`,
  },
  {
    subtype: 20,
    name: 'NXActionController',
    decode: (r) => {
      const d = { max_len: r.u16(), controller_id: r.u16(), reason: r.u8() };
      r.skip(1);
      return d;
    },
    encode: (w, d) => {
      w.u16(int(d, 'max_len', 16));
      w.u16(int(d, 'controller_id', 16));
      w.u8(int(d, 'reason', 8));
      w.u8(0);
    },
    format: (d) => formatController(d),
  },
  {
    subtype: 21,
    name: 'NXActionDecTtlCntIds',
    decode: (r) => {
      const n = r.u16();
      r.skip(4);
      const ids: number[] = [];
      for (let i = 0; i < n; i++) ids.push(r.u16());
      return { cnt_ids: ids };
    },
    encode: (w, d) => {
      const ids = jArr(d, 'cnt_ids').map((x) => jUint({ x }, 'x', 16));
      w.u16(ids.length);
      w.u32(0);
      for (const id of ids) w.u16(id);
    },
    format: (d) => `dec_ttl(${(d.cnt_ids as number[]).join(',')})`,
  },
  ...(
    [
      [27, 'NXActionStackPush', 'push'],
      [28, 'NXActionStackPop', 'pop'],
    ] as const
  ).map(([subtype, name, verb]): NxCodec => ({
    subtype,
    name,
    decode: (r) => {
      const start = r.u16();
      const field = fieldName(r.u32());
      const nBits = r.u16();
      r.skip(6);
      return { end: start + nBits - 1, field, start };
    },
    encode: (w, d) => {
      const start = int(d, 'start', 16);
      w.u16(start);
      w.u32(fieldHeader(d.field));
      w.u16(int(d, 'end', 16) - start + 1);
      w.zeros(6);
    },
    format: (d) => `${verb}:${ovsSubfield(fieldHeader(d.field), d.start as number, (d.end as number) - (d.start as number) + 1)}`,
  })),
  ...(
    [
      [29, 'NXActionSample'],
      [38, 'NXActionSample2'],
    ] as const
  ).map(([subtype, name]): NxCodec => ({
    subtype,
    name,
    decode: (r) => {
      const d: RyuDict = { probability: r.u16(), collector_set_id: r.u32(), obs_domain_id: r.u32(), obs_point_id: r.u32() };
      if (subtype === 38) {
        d.sampling_port = r.u16();
        r.skip(6);
      }
      return d;
    },
    encode: (w, d) => {
      w.u16(int(d, 'probability', 16));
      w.u32(int(d, 'collector_set_id', 32));
      w.u32(int(d, 'obs_domain_id', 32));
      w.u32(int(d, 'obs_point_id', 32));
      if (subtype === 38) {
        w.u16(int(d, 'sampling_port', 16));
        w.zeros(6);
      }
    },
    format: (d) =>
      `sample(probability=${d.probability},collector_set_id=${d.collector_set_id},obs_domain_id=${d.obs_domain_id},` +
      `obs_point_id=${d.obs_point_id}${subtype === 38 ? `,sampling_port=${d.sampling_port}` : ''})`,
  })),
  {
    subtype: 34,
    name: 'NXActionConjunction',
    decode: (r) => ({ clause: r.u8(), n_clauses: r.u8(), id: r.u32() }),
    encode: (w, d) => {
      w.u8(int(d, 'clause', 8));
      w.u8(int(d, 'n_clauses', 8));
      w.u32(int(d, 'id', 32));
    },
    format: (d) => `conjunction(${d.id},${(d.clause as number) + 1}/${d.n_clauses})`,
  },
  {
    subtype: 35,
    name: 'NXActionCT',
    decode: (r) => {
      const flags = r.u16();
      const zoneSrc = r.u32();
      const d: RyuDict = { flags, zone_src: zoneSrc === 0 ? '' : fieldName(zoneSrc), zone_ofs_nbits: r.u16(), recirc_table: r.u8() };
      r.skip(3);
      d.alg = r.u16();
      d.actions = actionsToRyu(readActions(r, r.remaining));
      return d;
    },
    encode: (w, d) => {
      w.u16(int(d, 'flags', 16));
      w.u32(d.zone_src === '' || d.zone_src === undefined || d.zone_src === null ? 0 : fieldHeader(d.zone_src));
      w.u16(int(d, 'zone_ofs_nbits', 16));
      w.u8(jUint(d, 'recirc_table', 8, 255));
      w.u24(0);
      w.u16(int(d, 'alg', 16));
      writeActions(w, actionsFromRyu(jArr(d, 'actions')));
    },
    format: (d) => {
      const flags = d.flags as number;
      const parts: string[] = [];
      if (flags & 1) parts.push('commit');
      if (flags & 2) parts.push('force');
      if (d.recirc_table !== 255) parts.push(`table=${d.recirc_table}`);
      if (d.zone_src !== '') {
        const [ofs, n] = bitsOf(d.zone_ofs_nbits as number);
        parts.push(`zone=${ovsSubfield(fieldHeader(d.zone_src), ofs, n)}`);
      } else if (d.zone_ofs_nbits) parts.push(`zone=${d.zone_ofs_nbits}`);
      // Nested NAT actions print on their own; the others inside exec(...).
      const nested = actionsFromRyu(d.actions as unknown[]);
      const isNat = (a: Action) =>
        a.type === 'experimenter' && a.experimenter === NX_EXPERIMENTER_ID && a.data.length >= 2 && a.data.readUInt16BE(0) === 36;
      const exec = nested.filter((a) => !isNat(a)).map(formatAction);
      if (exec.length) parts.push(`exec(${exec.join(',')})`);
      for (const a of nested.filter(isNat)) parts.push(formatAction(a));
      if (d.alg) parts.push(d.alg === 21 ? 'alg=ftp' : d.alg === 69 ? 'alg=tftp' : `alg=${d.alg}`);
      return parts.length ? `ct(${parts.join(',')})` : 'ct';
    },
  },
  nat,
  {
    subtype: 37,
    name: 'NXActionController2',
    decode: (r) => {
      r.skip(6);
      const d: RyuDict = { controller_id: null, max_len: null, pause: false, reason: null, userdata: null };
      while (r.remaining > 0) {
        const type = r.u16();
        const len = r.u16();
        if (len < 4) throw new Error('bad property length');
        const body = r.sub(len - 4);
        r.skip(((len + 7) & ~7) - len);
        switch (type) {
          case 0:
            d.max_len = body.u16();
            body.skip(2);
            break;
          case 1:
            d.controller_id = body.u16();
            body.skip(2);
            break;
          case 2:
            d.reason = body.u8();
            break;
          case 3:
            d.userdata = [...body.rest()];
            break;
          case 4:
            d.pause = true;
            break;
          default:
            throw new Error(`unknown controller2 property ${type}`);
        }
        if (body.remaining) throw new Error('bad property length');
      }
      return d;
    },
    encode: (w, d) => {
      w.zeros(6);
      const prop = (type: number, body: () => void) => {
        const start = w.pos;
        w.u16(type);
        w.u16(0);
        body();
        w.setU16(start + 2, w.pos - start);
        w.pad8(start);
      };
      if (d.max_len !== null && d.max_len !== undefined)
        prop(0, () => {
          w.u16(jUint(d, 'max_len', 16));
          w.u16(0);
        });
      if (d.controller_id !== null && d.controller_id !== undefined)
        prop(1, () => {
          w.u16(jUint(d, 'controller_id', 16));
          w.u16(0);
        });
      if (d.reason !== null && d.reason !== undefined) prop(2, () => w.u8(jUint(d, 'reason', 8)));
      if (Array.isArray(d.userdata)) prop(3, () => w.bytes(Buffer.from((d.userdata as unknown[]).map((x) => jUint({ x }, 'x', 8)))));
      if (d.pause === true) prop(4, () => {});
    },
    format: (d) => formatController(d),
  },
  {
    subtype: 39,
    name: 'NXActionOutputTrunc',
    decode: (r) => ({ port: r.u16(), max_len: r.u32() }),
    encode: (w, d) => {
      w.u16(int(d, 'port', 16));
      w.u32(int(d, 'max_len', 32));
    },
    format: (d) => `output(port=${d.port},max_len=${d.max_len})`,
  },
  {
    subtype: 43,
    name: 'NXActionCTClear',
    decode: (r) => {
      r.skip(6);
      return {};
    },
    encode: (w) => w.zeros(6),
    format: () => 'ct_clear',
  },
];

function formatController(d: RyuDict): string {
  const parts: string[] = [];
  if (d.reason !== null && d.reason !== undefined && d.reason !== 1) parts.push(`reason=${REASONS[d.reason as number] ?? d.reason}`);
  if (d.max_len !== null && d.max_len !== undefined && d.max_len !== 0xffff) parts.push(`max_len=${d.max_len}`);
  if (d.controller_id) parts.push(`id=${d.controller_id}`);
  if (Array.isArray(d.userdata)) parts.push(`userdata=${(d.userdata as number[]).map((x) => x.toString(16).padStart(2, '0')).join('.')}`);
  if (d.pause === true) parts.push('pause');
  return parts.length ? `controller(${parts.join(',')})` : 'controller';
}

const BY_SUBTYPE = new Map(CODECS.map((c) => [c.subtype, c]));
const BY_NAME = new Map(CODECS.map((c) => [c.name, c]));

function encodeBody(c: NxCodec, d: RyuDict): Buffer {
  const w = new Writer(64);
  w.u16(c.subtype);
  c.encode(w, d);
  w.pad8(0); // 8-byte header + data: a multiple of 8 exactly when the data is
  return w.toBuffer();
}

/** Decodes a known subtype's fields, only if they encode back to the very same bytes. */
function decodeExact(data: Buffer): [NxCodec, RyuDict] | undefined {
  const c = BY_SUBTYPE.get(data.readUInt16BE(0));
  if (!c) return undefined;
  try {
    const d = c.decode(new Reader(data, 2));
    return encodeBody(c, d).equals(data) ? [c, d] : undefined;
  } catch {
    return undefined; // malformed or unusual (nonzero padding, experimenter fields...): shown raw
  }
}

/** Ryu's dict for a Nicira action, or undefined if the bytes are too short to hold a subtype. */
function nxToRyu(data: Buffer, len: number): RyuDict | undefined {
  if (data.length < 2) return undefined;
  const std = { experimenter: NX_EXPERIMENTER_ID, len, subtype: data.readUInt16BE(0), type: OFPAT.EXPERIMENTER };
  const known = decodeExact(data);
  if (known) return { [known[0].name]: { ...known[1], ...std } };
  return { NXActionUnknown: { data: b64(data.subarray(2)), ...std } };
}

/** The experimenter data (subtype first) for a Ryu NXAction* dict. */
function nxFromRyu(name: string, d: RyuDict): Buffer {
  if (name === 'NXActionUnknown') {
    const body = jBytes(d, 'data');
    const out = Buffer.alloc(2 + body.length);
    out.writeUInt16BE(jUint(d, 'subtype', 16), 0);
    body.copy(out, 2);
    return out;
  }
  const c = BY_NAME.get(name);
  if (!c) return bad(`unsupported Nicira action class ${name}`);
  return encodeBody(c, d);
}

/** ovs-ofctl's text for a Nicira action, or undefined to fall back to the generic experimenter text. */
function formatNx(data: Buffer): string | undefined {
  if (data.length < 2) return undefined;
  const known = decodeExact(data);
  if (!known?.[0].format) return undefined;
  try {
    return known[0].format(known[1]);
  } catch {
    return undefined;
  }
}

registerExperimenterActions({ experimenter: NX_EXPERIMENTER_ID, ryuPrefix: 'NXAction', toRyu: nxToRyu, fromRyu: nxFromRyu, format: formatNx });
