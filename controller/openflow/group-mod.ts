// OFPT_GROUP_MOD (OF1.3.5 §7.3.4.2): add, modify or delete a group and its buckets.
//
//   struct ofp_group_mod {
//     struct ofp_header header;
//     uint16_t command;         OFPGC_*
//     uint8_t type;             OFPGT_*
//     uint8_t pad;
//     uint32_t group_id;
//     struct ofp_bucket buckets[0];   the rest of the message
//   };                          16 bytes
import { OFPT, OFPGC, OFPGT } from './constants.js';
import { register } from './registry.js';
import { Bucket, readBuckets, writeBuckets, bucketsToRyu, bucketsFromRyu, formatBuckets } from './bucket.js';
import { jArr, jUint } from './ryu-json.js';

export interface GroupModMsg {
  type: 'groupMod';
  xid: number;
  /** OFPGC_* */
  command: number;
  /** OFPGT_* (Ryu's key for it is `type`). */
  groupType: number;
  groupId: number;
  buckets: Bucket[];
}

const COMMANDS = ['ADD', 'MOD', 'DEL'];
const TYPES = ['all', 'select', 'indirect', 'ff'];

register<GroupModMsg>({
  type: 'groupMod',
  ofpType: OFPT.GROUP_MOD,
  ryuName: 'OFPGroupMod',
  ofpName: 'OFPT_GROUP_MOD',
  decode: (r, xid) => {
    const command = r.u16();
    const groupType = r.u8();
    r.skip(1);
    const groupId = r.u32();
    const buckets = readBuckets(r, r.remaining);
    return { type: 'groupMod', xid, command, groupType, groupId, buckets };
  },
  encode: (w, m) => {
    w.u16(m.command);
    w.u8(m.groupType);
    w.u8(0);
    w.u32(m.groupId);
    writeBuckets(w, m.buckets);
  },
  toRyu: (m) => ({ buckets: bucketsToRyu(m.buckets), command: m.command, group_id: m.groupId, type: m.groupType }),
  // Ryu's OFPGroupMod defaults: command ADD, type ALL, group_id 0.
  fromRyu: (d, xid) => ({
    type: 'groupMod',
    xid,
    command: jUint(d, 'command', 16, OFPGC.ADD),
    groupType: jUint(d, 'type', 8, OFPGT.ALL),
    groupId: jUint(d, 'group_id', 32, 0),
    buckets: bucketsFromRyu(jArr(d, 'buckets')),
  }),
  // ovs-ofctl: `ADD group_id=1,type=all,bucket=weight:1,watch_port:1,watch_group:1,actions=output:2`.
  format: (m) => {
    const cmd = COMMANDS[m.command] ?? `cmd:${m.command}`;
    const type = TYPES[m.groupType] ?? `type:${m.groupType}`;
    const buckets = m.buckets.length ? `,${formatBuckets(m.buckets, m.groupType)}` : '';
    return `${cmd} group_id=${m.groupId},type=${type}${buckets}`;
  },
});
