// OFPMP_GROUP_FEATURES (OF1.3.5 §7.3.5.11): what the group table supports. The request has no body.
//
//   struct ofp_group_features { uint32_t types; uint32_t capabilities; uint32_t max_groups[4];
//                               uint32_t actions[4]; };                                          (40 bytes)
// Both arrays are indexed by group type (OFPGT_ALL, SELECT, INDIRECT, FF); actions[] are bitmaps of OFPAT_*.
import { OFPT, OFPMP } from '../constants.js';
import { register } from '../registry.js';
import { RyuDict, bad, hex, jArr } from '../ryu-json.js';
import { actionBitsText, bodyOne, jU32 } from './common.js';

export interface GroupFeaturesStatsRequestMsg {
  type: 'groupFeaturesStatsRequest';
  xid: number;
  flags: number;
}

export interface GroupFeaturesStatsReplyMsg {
  type: 'groupFeaturesStatsReply';
  xid: number;
  flags: number;
  types: number;
  capabilities: number;
  /** Four entries each, indexed by group type. */
  maxGroups: number[];
  actions: number[];
}

const GROUP_TYPES = ['all', 'select', 'indirect', 'fast failover'];

function four(d: RyuDict, key: string): number[] {
  const v = jArr(d, key);
  if (v.length !== 4) bad(`${key} must have 4 entries, has ${v.length}`);
  return v.map((x) => jU32({ [key]: x }, key));
}

function writeFour(w: { u32(v: number): void }, v: number[], key: string): void {
  if (v.length !== 4) bad(`${key} must have 4 entries, has ${v.length}`);
  for (const x of v) w.u32(x);
}

register<GroupFeaturesStatsRequestMsg>({
  type: 'groupFeaturesStatsRequest',
  ofpType: OFPT.MULTIPART_REQUEST,
  mpType: OFPMP.GROUP_FEATURES,
  ryuName: 'OFPGroupFeaturesStatsRequest',
  ofpName: 'OFPST_GROUP_FEATURES request',
  decode: (_r, xid, flags) => ({ type: 'groupFeaturesStatsRequest', xid, flags }),
  encode: () => {},
  toRyu: () => ({}),
  fromRyu: (_d, xid, flags) => ({ type: 'groupFeaturesStatsRequest', xid, flags }),
  format: () => '',
});

register<GroupFeaturesStatsReplyMsg>({
  type: 'groupFeaturesStatsReply',
  ofpType: OFPT.MULTIPART_REPLY,
  mpType: OFPMP.GROUP_FEATURES,
  ryuName: 'OFPGroupFeaturesStatsReply',
  ofpName: 'OFPST_GROUP_FEATURES reply',
  decode: (r, xid, flags) => ({
    type: 'groupFeaturesStatsReply',
    xid,
    flags,
    types: r.u32(),
    capabilities: r.u32(),
    maxGroups: [r.u32(), r.u32(), r.u32(), r.u32()],
    actions: [r.u32(), r.u32(), r.u32(), r.u32()],
  }),
  encode: (w, m) => {
    w.u32(m.types);
    w.u32(m.capabilities);
    writeFour(w, m.maxGroups, 'maxGroups');
    writeFour(w, m.actions, 'actions');
  },
  toRyu: (m) => ({
    body: { OFPGroupFeaturesStats: { types: m.types, capabilities: m.capabilities, max_groups: [...m.maxGroups], actions: [...m.actions] } },
  }),
  fromRyu: (d, xid, flags) => {
    const b = bodyOne(d, 'OFPGroupFeaturesStats');
    return {
      type: 'groupFeaturesStatsReply',
      xid,
      flags,
      types: jU32(b, 'types'),
      capabilities: jU32(b, 'capabilities'),
      maxGroups: four(b, 'max_groups'),
      actions: four(b, 'actions'),
    };
  },
  format: (m) => {
    const groups = GROUP_TYPES.filter((_, i) => m.types & (1 << i)).map((name) => {
      const i = GROUP_TYPES.indexOf(name);
      return `${name} group: max_groups=${hex(m.maxGroups[i] ?? 0)} actions: ${actionBitsText(m.actions[i] ?? 0)}`;
    });
    return [`Types: ${hex(m.types)} Capabilities: ${hex(m.capabilities)}`, ...groups].join('; ');
  },
});
