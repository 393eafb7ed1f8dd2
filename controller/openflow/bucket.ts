// Group buckets (OF1.3.5 §7.3.4.2): one set of actions of a group, with its weight (select groups) and the port
// and group whose liveness decides whether it can be used (fast-failover groups).
//
//   struct ofp_bucket { uint16_t len; uint16_t weight; uint32_t watch_port; uint32_t watch_group; uint8_t pad[4];
//                       struct ofp_action_header actions[0]; };                  16 bytes + actions
import { Reader, Writer } from './buffer.js';
import { OfpError, OFPET, OFPGMFC } from './errors.js';
import { OFPP, OFPG, OFPGT } from './constants.js';
import { Action, readActions, writeActions, actionsLength, actionsToRyu, actionsFromRyu, formatAction } from './actions.js';
import './nx-actions.js'; // registers the Nicira actions a list may hold (experimenter-actions.ts)
import { RyuDict, bad, unwrap, jArr, jUint } from './ryu-json.js';
import { formatPortNo } from './port.js';

export interface Bucket {
  weight: number;
  watchPort: number;
  watchGroup: number;
  actions: Action[];
}

const BUCKET_LEN = 16;

function badBucket(detail: string): never {
  throw new OfpError(OFPET.GROUP_MOD_FAILED, OFPGMFC.BAD_BUCKET, detail);
}

/** Decodes exactly `len` bytes of buckets. */
export function readBuckets(r: Reader, len: number): Bucket[] {
  if (len < 0 || len > r.remaining) badBucket(`bucket list of ${len} bytes, only ${r.remaining} left`);
  const b = r.buf;
  const end = r.pos + len;
  const out: Bucket[] = [];
  while (r.pos < end) {
    const p = r.pos;
    if (end - p < BUCKET_LEN) badBucket(`truncated bucket: ${end - p} bytes`);
    const blen = (b[p]! << 8) | b[p + 1]!;
    // Checked before use: a short length would loop or misread, an overlong one would read past the list.
    if (blen < BUCKET_LEN || blen % 8 !== 0) badBucket(`bucket length ${blen}`);
    if (blen > end - p) badBucket(`bucket of length ${blen} overruns its list (${end - p} left)`);
    const weight = (b[p + 2]! << 8) | b[p + 3]!;
    const watchPort = b.readUInt32BE(p + 4);
    const watchGroup = b.readUInt32BE(p + 8);
    r.pos = p + BUCKET_LEN;
    const actions = readActions(r, blen - BUCKET_LEN);
    out.push({ weight, watchPort, watchGroup, actions });
  }
  return out;
}

export function writeBuckets(w: Writer, list: Bucket[]): void {
  for (const bk of list) {
    const start = w.pos;
    w.u16(0);
    w.u16(bk.weight);
    w.u32(bk.watchPort);
    w.u32(bk.watchGroup);
    w.u32(0);
    writeActions(w, bk.actions);
    const len = w.pos - start;
    if (len > 0xffff) {
      w.pos = start;
      badBucket(`bucket of ${len} bytes`);
    }
    w.setU16(start, len);
  }
}

export function bucketLength(bk: Bucket): number {
  return BUCKET_LEN + actionsLength(bk.actions);
}

export function bucketsLength(list: Bucket[]): number {
  let n = 0;
  for (const bk of list) n += bucketLength(bk);
  return n;
}

export function bucketsToRyu(list: Bucket[]): RyuDict[] {
  return list.map((bk) => ({
    OFPBucket: {
      actions: actionsToRyu(bk.actions),
      len: bucketLength(bk),
      watch_group: bk.watchGroup,
      watch_port: bk.watchPort,
      weight: bk.weight,
    },
  }));
}

export function bucketsFromRyu(list: unknown[]): Bucket[] {
  if (!Array.isArray(list)) bad('buckets is not a list');
  return list.map((obj) => {
    const [, d] = unwrap(obj, 'OFPBucket');
    // Ryu's defaults: weight 0, watch_port OFPP_ANY, watch_group OFPG_ANY.
    return {
      weight: jUint(d, 'weight', 16, 0),
      watchPort: jUint(d, 'watch_port', 32, OFPP.ANY),
      watchGroup: jUint(d, 'watch_group', 32, OFPG.ANY),
      actions: actionsFromRyu(jArr(d, 'actions')),
    };
  });
}

/**
 * ovs-ofctl style: `bucket=weight:1,watch_port:1,watch_group:1,actions=output:2,bucket=...`. ovs-ofctl always
 * shows the weight of a select group's buckets, and other groups' only when it is not 0.
 */
export function formatBuckets(list: Bucket[], groupType?: number): string {
  return list
    .map((bk) => {
      let s = 'bucket=';
      if (bk.weight !== 0 || groupType === OFPGT.SELECT) s += `weight:${bk.weight},`;
      if (bk.watchPort !== OFPP.ANY) s += `watch_port:${formatPortNo(bk.watchPort)},`;
      if (bk.watchGroup !== OFPG.ANY) s += `watch_group:${bk.watchGroup},`;
      return `${s}actions=${bk.actions.length === 0 ? 'drop' : bk.actions.map(formatAction).join(',')}`;
    })
    .join(',');
}
