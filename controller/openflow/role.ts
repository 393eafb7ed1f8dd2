// OFPT_ROLE_REQUEST / OFPT_ROLE_REPLY (OF1.3.5 §7.3.9, §6.3.5): a controller claims the master, slave or equal
// role; the generation id orders competing master claims (it is ignored for equal and nochange).
//
//   struct ofp_role_request { ofp_header header; uint32_t role; uint8_t pad[4]; uint64_t generation_id; }; // 24
import { OFPT, OFPCR_ROLE } from './constants.js';
import { register } from './registry.js';
import type { Reader, Writer } from './buffer.js';
import { RyuDict, jInt, jU64, u64ToJson } from './ryu-json.js';

interface Role {
  /** OFPCR_ROLE_* */
  role: number;
  generationId: bigint;
}

export interface RoleRequestMsg extends Role {
  type: 'roleRequest';
  xid: number;
}
export interface RoleReplyMsg extends Role {
  type: 'roleReply';
  xid: number;
}

const NO_GENERATION_ID = 0xffffffffffffffffn;

// ovs-ofctl's names (it calls master and slave primary and secondary).
const ROLE_NAMES: Record<number, string> = {
  [OFPCR_ROLE.NOCHANGE]: 'nochange',
  [OFPCR_ROLE.EQUAL]: 'equal',
  [OFPCR_ROLE.MASTER]: 'primary',
  [OFPCR_ROLE.SLAVE]: 'secondary',
};

function readRole<T extends 'roleRequest' | 'roleReply'>(type: T, r: Reader, xid: number) {
  const role = r.u32();
  r.skip(4);
  const generationId = r.u64();
  return { type, xid, role, generationId };
}

function writeRole(w: Writer, m: Role): void {
  w.u32(m.role);
  w.zeros(4);
  w.u64(m.generationId);
}

const roleToRyu = (m: Role): RyuDict => ({ role: m.role, generation_id: u64ToJson(m.generationId) });

function formatRole(m: Role): string {
  const parts: string[] = [];
  parts.push(`role=${ROLE_NAMES[m.role] ?? m.role}`);
  if (m.generationId !== NO_GENERATION_ID) parts.push(`generation_id=${m.generationId}`);
  return parts.join(' ');
}

register<RoleRequestMsg>({
  type: 'roleRequest',
  ofpType: OFPT.ROLE_REQUEST,
  ryuName: 'OFPRoleRequest',
  ofpName: 'OFPT_ROLE_REQUEST',
  decode: (r, xid) => readRole('roleRequest', r, xid),
  encode: writeRole,
  toRyu: roleToRyu,
  fromRyu: (d, xid) => ({ type: 'roleRequest', xid, role: jInt(d, 'role'), generationId: jU64(d, 'generation_id', 0n) }),
  format: formatRole,
});

register<RoleReplyMsg>({
  type: 'roleReply',
  ofpType: OFPT.ROLE_REPLY,
  ryuName: 'OFPRoleReply',
  ofpName: 'OFPT_ROLE_REPLY',
  decode: (r, xid) => readRole('roleReply', r, xid),
  encode: writeRole,
  toRyu: roleToRyu,
  fromRyu: (d, xid) => ({ type: 'roleReply', xid, role: jInt(d, 'role'), generationId: jU64(d, 'generation_id', 0n) }),
  format: formatRole,
});
