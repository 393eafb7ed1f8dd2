// The pure parts of flow ownership and reconciliation: normalisation, identity, the diff and its wire order, the
// desired state's ownership rules. (Their behaviour against a real switch is in test/integration/flow-manager.)
import { describe, expect, it } from 'vitest';
import {
  normaliseMatch,
  normaliseInstructions,
  normaliseFlow,
  flowKey,
  flowKeyMatch,
  flowKeyText,
  instructionsKey,
  meterKey,
  type FlowEntry,
  type GroupEntry,
  type MeterEntry,
} from '../../../controller/flow-entry.js';
import { cookieId, ownerCookie, ownerIdOf } from '../../../controller/cookie.js';
import { compareFlow, diffFlows, diffMeters, diffGroups, planPhases, groupsInDependencyOrder } from '../../../controller/reconcile.js';
import { DesiredState, OwnershipConflictError } from '../../../controller/desired-state.js';
import {
  OFPFC,
  OFPMC,
  OFPGC,
  OFPGT,
  OFPMF,
  OFPFF,
  OFPP,
  OFPG,
  Writer,
  canonicalMatchKey as matchKey,
  type Match,
  type Instruction,
  type OfpMessage,
} from '../../../controller/openflow/index.js';
import type { FlowStats } from '../../../controller/openflow/multipart/flow.js';
import { writeOxm } from '../../../controller/openflow/oxm.js';

/**
 * The reference the codec's one-pass canonicalMatchKey (imported here as matchKey) is checked against: the same
 * definition spelt plainly, a string per TLV, sorted and joined. Each TLV is encoded, value bits outside its mask
 * are cleared, an all-ones mask is dropped, a field whose mask is all zeros is dropped.
 */
function canonicalMatchKey(match: Match): string {
  return canonicalTlvStrings(match).sort().join('.');
}

function canonicalTlvStrings(match: Match): string[] {
  const w = new Writer(64);
  const keys: string[] = [];
  for (const f of match) {
    w.reset();
    writeOxm(w, f);
    const b = w.view();
    const hasMask = (b[2]! & 1) !== 0;
    if (!hasMask) {
      keys.push(b.toString('hex'));
      continue;
    }
    const cls = (b[0]! << 8) | b[1]!;
    const headerLen = cls === 0xffff ? 8 : 4;
    const half = (b.length - headerLen) / 2;
    const value = Buffer.from(b.subarray(headerLen, headerLen + half));
    const mask = b.subarray(headerLen + half);
    let allOnes = true;
    for (let i = 0; i < half; i++) {
      value[i]! &= mask[i]!;
      if (mask[i] !== 0xff) allOnes = false;
    }
    if (mask.every((x) => x === 0)) continue;
    const head = Buffer.from(b.subarray(0, headerLen));
    if (allOnes) {
      head[2] = head[2]! & 0xfe;
      head[3] = head[3]! - half;
      keys.push(head.toString('hex') + value.toString('hex'));
    } else {
      keys.push(head.toString('hex') + value.toString('hex') + mask.toString('hex'));
    }
  }
  return keys;
}

/** A deterministic pseudo-random integer below n (an LCG's high bits: its low bits only alternate). */
function random(seed: number): (n: number) => number {
  return (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return Math.floor(seed / 65536) % n;
  };
}

const C1 = ownerCookie(1);
const out = (port: number) => ({ type: 'output' as const, port, maxLen: 0 });
const apply = (port: number): Instruction => ({ type: 'applyActions', actions: [out(port)] });

function entry(over: Partial<FlowEntry> = {}): FlowEntry {
  return normaliseFlow({ tableId: 0, priority: 100, match: [{ field: 'in_port', value: 1 }], instructions: [apply(2)], cookie: C1, ...over });
}

/** What a switch reports for an entry: same content, its own field order, counters and timeouts. */
function stats(e: FlowEntry, over: Partial<FlowStats> = {}): FlowStats {
  return {
    tableId: e.tableId,
    priority: e.priority,
    match: [...e.match].reverse(),
    instructions: e.instructions,
    cookie: e.cookie,
    flags: e.flags,
    idleTimeout: e.idleTimeout,
    hardTimeout: e.hardTimeout,
    durationSec: 5,
    durationNsec: 0,
    packetCount: 9n,
    byteCount: 900n,
    ...over,
  };
}

const keyed = (...l: FlowEntry[]) => new Map(l.map((e) => [flowKey(e), e]));

describe('normalisation', () => {
  it('orders match fields so that prerequisites come first (OVS refuses them otherwise)', () => {
    const m: Match = [
      { field: 'tcp_dst', value: 80 },
      { field: 'ipv4_dst', value: '10.0.0.1' },
      { field: 'ip_proto', value: 6 },
      { field: 'eth_type', value: 0x800 },
      { field: 'in_port', value: 3 },
    ];
    expect(normaliseMatch(m).map((f) => f.field)).toEqual(['in_port', 'eth_type', 'ip_proto', 'ipv4_dst', 'tcp_dst']);
  });

  it('keeps experimenter (Nicira) fields after the basic ones, in their own order', () => {
    const m: Match = [
      { field: 'reg1', value: 1 },
      { field: 'ct_state', value: 0x21, mask: 0x21 },
      { field: 'in_port', value: 1 },
    ];
    expect(normaliseMatch(m).map((f) => f.field)).toEqual(['in_port', 'reg1', 'ct_state']);
  });

  it('clears value bits outside the mask, drops all-ones masks and all-zero-mask fields', () => {
    const m = normaliseMatch([
      { field: 'eth_type', value: 0x800 },
      { field: 'ipv4_dst', value: '10.0.0.77', mask: '255.255.255.0' },
      { field: 'ipv4_src', value: '10.1.2.3', mask: '255.255.255.255' },
      { field: 'metadata', value: 0x1234n, mask: 0xff00n },
      { field: 'eth_src', value: '02:00:00:00:00:01', mask: '00:00:00:00:00:00' },
    ]);
    // In field-number order: metadata (2), eth_type (5), ipv4_src (11), ipv4_dst (12).
    expect(m).toEqual([
      { field: 'metadata', value: 0x1200n, mask: 0xff00n },
      { field: 'eth_type', value: 0x800 },
      { field: 'ipv4_src', value: '10.1.2.3' },
      { field: 'ipv4_dst', value: '10.0.0.0', mask: '255.255.255.0' },
    ]);
  });

  it("returns a new array (never the caller's) and leaves the caller's match as it was, sorted or not", () => {
    const sorted: Match = [
      { field: 'in_port', value: 1 },
      { field: 'eth_type', value: 0x800 },
      { field: 'ip_proto', value: 6 },
    ];
    const unsorted: Match = [
      { field: 'ipv4_dst', value: '10.0.0.77', mask: '255.255.255.0' },
      { field: 'eth_type', value: 0x800 },
      { field: 'in_port', value: 2 },
    ];
    const before = structuredClone(unsorted);
    const a = normaliseMatch(sorted);
    const b = normaliseMatch(unsorted);
    expect(a).not.toBe(sorted);
    expect(a).toEqual(sorted);
    expect(b).not.toBe(unsorted);
    expect(unsorted).toEqual(before);
    sorted.push({ field: 'tcp_dst', value: 80 });
    expect(a).toHaveLength(3);
    // A second masked match right after does not see the first one's bytes (one shared encoding buffer).
    expect(
      normaliseMatch([
        { field: 'ipv4_src', value: '10.9.9.9', mask: '255.0.0.0' },
        { field: 'eth_type', value: 0x800 },
      ]),
    ).toEqual([
      { field: 'eth_type', value: 0x800 },
      { field: 'ipv4_src', value: '10.0.0.0', mask: '255.0.0.0' },
    ]);
    expect(b).toEqual([
      { field: 'in_port', value: 2 },
      { field: 'eth_type', value: 0x800 },
      { field: 'ipv4_dst', value: '10.0.0.0', mask: '255.255.255.0' },
    ]);
    // A frozen array (nobody can change it) that needs no change is kept; a frozen one that does is not changed.
    const frozen = Object.freeze([
      { field: 'in_port', value: 1 },
      { field: 'eth_type', value: 0x800 },
    ]) as Match;
    expect(normaliseMatch(frozen)).toBe(frozen);
    const frozenUnsorted = Object.freeze([
      { field: 'eth_type', value: 0x800 },
      { field: 'in_port', value: 1 },
    ]) as Match;
    expect(normaliseMatch(frozenUnsorted)).toEqual([
      { field: 'in_port', value: 1 },
      { field: 'eth_type', value: 0x800 },
    ]);
    const list = Object.freeze([
      { type: 'applyActions', actions: [] },
      { type: 'gotoTable', tableId: 1 },
    ]) as Instruction[];
    expect(normaliseInstructions(list)).toEqual([{ type: 'gotoTable', tableId: 1 }]);
    const kept = Object.freeze([{ type: 'gotoTable', tableId: 1 }]) as Instruction[];
    expect(normaliseInstructions(kept)).toBe(kept);
    const open = [{ type: 'gotoTable', tableId: 1 }] as Instruction[];
    expect(normaliseInstructions(open)).not.toBe(open);
  });

  it('puts instructions in execution order and drops an empty apply-actions', () => {
    const list: Instruction[] = [
      { type: 'gotoTable', tableId: 2 },
      { type: 'writeMetadata', metadata: 1n, metadataMask: 1n },
      apply(1),
      { type: 'meter', meterId: 3 },
      { type: 'applyActions', actions: [] },
      { type: 'writeActions', actions: [out(4)] },
      { type: 'clearActions' },
    ];
    expect(normaliseInstructions(list).map((i) => i.type)).toEqual([
      'meter',
      'applyActions',
      'clearActions',
      'writeActions',
      'writeMetadata',
      'gotoTable',
    ]);
    expect(instructionsKey(list)).toBe(instructionsKey(normaliseInstructions(list)));
    expect(instructionsKey([{ type: 'applyActions', actions: [] }])).toBe(instructionsKey([]));
  });

  it('a flow identity is the same whatever the match order or mask spelling', () => {
    const a = entry({
      match: [
        { field: 'eth_type', value: 0x800 },
        { field: 'ipv4_dst', value: '10.0.0.0', mask: '255.255.255.0' },
      ],
    });
    const b = {
      ...a,
      match: [
        { field: 'ipv4_dst', value: '10.0.0.9', mask: '255.255.255.0' },
        { field: 'eth_type', value: 0x800 },
      ],
    };
    expect(flowKey(b)).toBe(flowKey(a));
    expect(flowKey({ ...a, priority: 101 })).not.toBe(flowKey(a));
    expect(flowKey({ ...a, tableId: 1 })).not.toBe(flowKey(a));
  });

  it("flowKey is canonicalMatchKey's key in bytes, spelt back by flowKeyText, for any field order, masks and classes", () => {
    // A deterministic pseudo-random walk over basic, Nicira and ONF experimenter fields, masked and not.
    const rnd = random(7);
    const pick = [
      () => ({ field: 'in_port', value: 1 + rnd(5) }),
      () => ({ field: 'eth_type', value: 0x0800 }),
      () => ({ field: 'ip_proto', value: 6 }),
      () => ({
        field: 'ipv4_src',
        value: `10.0.0.${rnd(255)}`,
        ...(rnd(2) ? { mask: ['255.255.255.0', '255.255.255.255', '0.0.0.0', '255.0.255.0'][rnd(4)] } : {}),
      }),
      () => ({ field: 'eth_dst', value: `02:00:00:00:00:0${rnd(9)}`, ...(rnd(2) ? { mask: 'ff:ff:ff:ff:ff:ff' } : {}) }),
      () => ({ field: 'reg1', value: rnd(1000), ...(rnd(2) ? { mask: 0xff } : {}) }),
      () => ({ field: 'ct_state', value: 0x21, mask: 0x21 }),
      () => ({ field: 'tcp_dst', value: 443 }),
      () => ({ field: 'vlan_vid', value: 0x1005, ...(rnd(3) === 0 ? { mask: 0x1fff } : {}) }),
      () => ({ field: 'pbb_uca', value: 1 }),
      () => ({ field: 'metadata', value: 0x1234n, ...(rnd(2) ? { mask: 0xffffn } : {}) }),
    ];
    for (let t = 0; t < 3000; t++) {
      const match = Array.from({ length: rnd(7) }, () => pick[rnd(pick.length)]!()) as Match;
      const f = { tableId: rnd(255), priority: rnd(65536), match };
      const text = `${f.tableId}/${f.priority}/${canonicalMatchKey(match)}`;
      const want =
        String.fromCharCode(f.tableId, f.priority >> 8, f.priority & 0xff) +
        Buffer.from(canonicalMatchKey(match).replaceAll('.', ''), 'hex').toString('latin1');
      expect(flowKey(f)).toBe(want);
      expect(flowKeyText(flowKey(f))).toBe(text);
      // The key holds the whole match: read back, it keys the same, and in the order normaliseMatch gives.
      const back = flowKeyMatch(flowKey(f));
      expect(flowKey({ ...f, match: back })).toBe(want);
      expect(back.map((m) => m.field)).toEqual(normaliseMatch(back).map((m) => m.field));
      expect(flowKey({ ...f, match: [...match].reverse() })).toBe(want); // whatever the order
      expect(matchKey(match)).toBe(canonicalMatchKey(match));
    }
    // A long match grows the shared buffers.
    const long: Match = Array.from({ length: 80 }, (_, i) => ({ field: `reg${i % 16}`, value: i }));
    expect(matchKey(long)).toBe(canonicalMatchKey(long));
  });

  it('normaliseMatch canonicalises each field as canonicalMatchKey does, and orders them for prerequisites', () => {
    const rnd = random(11);
    const masked = <T>(f: { field: string; value: unknown }, masks: T[]) => (rnd(2) ? { ...f, mask: masks[rnd(masks.length)] } : f);
    const pick = [
      () => ({ field: 'in_port', value: 1 + rnd(5) }),
      () => ({ field: 'eth_type', value: 0x0800 }),
      () => masked({ field: 'ipv4_src', value: `10.${rnd(255)}.0.${rnd(255)}` }, ['255.255.255.0', '255.255.255.255', '0.0.0.0', '255.0.255.0']),
      () =>
        masked({ field: 'ipv6_dst', value: `2001:db8::${rnd(65535).toString(16)}` }, [
          'ffff:ffff::',
          '::',
          'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
        ]),
      () => masked({ field: 'eth_dst', value: `02:00:00:00:00:0${rnd(9)}` }, ['ff:ff:ff:ff:ff:ff', 'ff:ff:ff:00:00:00', '00:00:00:00:00:00']),
      () => masked({ field: 'reg1', value: rnd(1000) }, [0xff, 0, 0xffffffff]),
      () => ({ field: 'ct_state', value: 0x21, mask: 0x21 }),
      () => masked({ field: 'tcp_dst', value: rnd(65536) }, [0xff00, 0xffff, 0]),
      () => masked({ field: 'metadata', value: BigInt(rnd(1 << 30)) }, [0xffffn, 0n, 0xffffffffffffffffn]),
      () => ({ field: 'pbb_uca', value: 1 }),
    ];
    const rank = (field: string) => ['in_port', 'metadata', 'eth_dst', 'eth_type', 'ipv4_src', 'tcp_dst', 'ipv6_dst'].indexOf(field);
    for (let t = 0; t < 3000; t++) {
      const match = Array.from({ length: rnd(7) }, () => pick[rnd(pick.length)]!()) as Match;
      const m = normaliseMatch(match);
      // Every field is already canonical, none was lost or added, and the key is unchanged.
      expect(m.map((f) => canonicalTlvStrings([f])[0])).toEqual(
        m.map((f) => {
          const w = new Writer(64);
          writeOxm(w, f);
          return w.view().toString('hex');
        }),
      );
      expect(canonicalTlvStrings(m).sort()).toEqual(canonicalTlvStrings(match).sort());
      expect(matchKey(m)).toBe(matchKey(match));
      expect(normaliseMatch(m)).toEqual(m);
      // OpenFlow-basic fields in field-number order (prerequisites first), the Nicira and ONF ones after them.
      const basic = m.filter((f) => rank(f.field) >= 0).map((f) => rank(f.field));
      expect(basic).toEqual([...basic].sort((a, b) => a - b));
      const firstNx = m.findIndex((f) => rank(f.field) < 0);
      if (firstNx >= 0) expect(m.slice(firstNx).every((f) => rank(f.field) < 0)).toBe(true);
    }
  });

  it('normalising a match or instructions that need nothing copies them (the caller keeps its arrays)', () => {
    const match: Match = [
      { field: 'in_port', value: 1 },
      { field: 'eth_type', value: 0x800 },
    ];
    const ins: Instruction[] = [apply(1), { type: 'gotoTable', tableId: 1 }];
    const e = normaliseFlow({ match, instructions: ins });
    expect(e.match).toEqual(match);
    expect(e.match).not.toBe(match);
    expect(e.instructions).toEqual(ins);
    expect(e.instructions).not.toBe(ins);
  });

  it('fills defaults and checks ranges', () => {
    const e = normaliseFlow({ match: [] }, C1);
    expect(e).toEqual({ tableId: 0, priority: 0x8000, match: [], instructions: [], cookie: C1, idleTimeout: 0, hardTimeout: 0, flags: 0 });
    expect(() => normaliseFlow({ match: [], tableId: 255 })).toThrow(RangeError);
    expect(() => normaliseFlow({ match: [], priority: 70000 })).toThrow(RangeError);
  });

  it('owner cookies carry the owner id in the top 16 bits', () => {
    expect(ownerCookie(2, 7n)).toBe(0x0002000000000007n);
    expect(ownerIdOf(0x0002000000000007n)).toBe(2);
    expect(() => ownerCookie(0)).toThrow(RangeError);
    expect(() => ownerCookie(0xffff)).toThrow(RangeError);
    expect(() => ownerCookie(1, 1n << 48n)).toThrow(RangeError);
    expect(ownerCookie(0xd1, 0xffffffffffff)).toBe(0x00d1ffffffffffffn);
    expect(cookieId(0x00d1ffffffffffffn)).toBe(0xffffffffffff);
    expect(cookieId(ownerCookie(3, 42))).toBe(42);
  });
});

describe('diffFlows', () => {
  it('a correct entry is unchanged even if its timeouts, counters and match order differ', () => {
    const e = entry({ hardTimeout: 300 });
    const d = diffFlows(keyed(e), [stats(e, { hardTimeout: 300, durationSec: 120 })]);
    expect(d.unchanged).toHaveLength(1);
    expect(d.add.length + d.modify.length + d.replace.length + d.remove.length).toBe(0);
    // Timeouts are not compared.
    expect(compareFlow(e, stats({ ...e, hardTimeout: 10, idleTimeout: 5 }))).toBe('unchanged');
  });

  it('instructions only -> modify; cookie or flags -> replace; reordered instructions -> unchanged', () => {
    const e = entry({ instructions: [apply(2), { type: 'gotoTable', tableId: 3 }] });
    expect(compareFlow(e, stats(e, { instructions: [apply(3), { type: 'gotoTable', tableId: 3 }] }))).toBe('modify');
    expect(compareFlow(e, stats(e, { cookie: C1 + 1n }))).toBe('replace');
    expect(compareFlow(e, stats(e, { flags: OFPFF.SEND_FLOW_REM }))).toBe('replace');
    expect(compareFlow(e, stats(e, { instructions: [{ type: 'gotoTable', tableId: 3 }, apply(2)] }))).toBe('unchanged');
  });

  it('sorts every entry into add / modify / replace / remove / unchanged', () => {
    const same = entry({ priority: 1 });
    const changed = entry({ priority: 2 });
    const recookied = entry({ priority: 3 });
    const missing = entry({ priority: 4 });
    const stale = stats(entry({ priority: 5, cookie: 0n }));
    const d = diffFlows(keyed(same, changed, recookied, missing), [
      stats(same),
      stats(changed, { instructions: [apply(9)] }),
      stats(recookied, { cookie: ownerCookie(1, 5n) }),
      stale,
    ]);
    expect(d.unchanged.map((p) => p.entry.priority)).toEqual([1]);
    expect(d.modify.map((p) => p.entry.priority)).toEqual([2]);
    expect(d.replace.map((p) => p.entry.priority)).toEqual([3]);
    expect(d.add.map((e) => e.priority)).toEqual([4]);
    expect(d.remove.map((f) => f.priority)).toEqual([5]);
  });

  it('an empty desired state makes everything on the switch stale', () => {
    const d = diffFlows(new Map(), [stats(entry({ priority: 1 })), stats(entry({ priority: 2 }))]);
    expect(d.remove).toHaveLength(2);
  });
});

describe('meters and groups', () => {
  const meter = (over: Partial<MeterEntry> = {}): MeterEntry => ({
    meterId: 1,
    flags: OFPMF.KBPS,
    bands: [{ type: 'drop', rate: 1000, burstSize: 0 }],
    ...over,
  });

  it('ignores a burst size without OFPMF_BURST (OVS reports the rate there), compares it with', () => {
    expect(meterKey(meter())).toBe(meterKey(meter({ bands: [{ type: 'drop', rate: 1000, burstSize: 1000 }] })));
    const burst = meter({ flags: OFPMF.KBPS | OFPMF.BURST, bands: [{ type: 'drop', rate: 1000, burstSize: 10 }] });
    expect(meterKey(burst)).not.toBe(meterKey({ ...burst, bands: [{ type: 'drop', rate: 1000, burstSize: 11 }] }));
  });

  it('diffMeters: add, modify, remove, unchanged', () => {
    const d = diffMeters(
      new Map([
        [1, meter()],
        [2, meter({ meterId: 2 })],
        [3, meter({ meterId: 3 })],
      ]),
      [
        { meterId: 1, flags: OFPMF.KBPS, bands: [{ type: 'drop', rate: 1000, burstSize: 1000 }] },
        { meterId: 2, flags: OFPMF.KBPS, bands: [{ type: 'drop', rate: 2000, burstSize: 2000 }] },
        { meterId: 9, flags: OFPMF.PKTPS, bands: [] },
      ],
    );
    expect({
      add: d.add.map((m) => m.meterId),
      modify: d.modify.map((m) => m.meterId),
      remove: d.remove,
      unchanged: d.unchanged.map((m) => m.meterId),
    }).toEqual({ add: [3], modify: [2], remove: [9], unchanged: [1] });
  });

  const group = (groupId: number, ...targets: number[]): GroupEntry => ({
    groupId,
    groupType: OFPGT.ALL,
    buckets: [
      {
        weight: 0,
        watchPort: OFPP.ANY,
        watchGroup: OFPG.ANY,
        actions: targets.length ? targets.map((g) => ({ type: 'group' as const, groupId: g })) : [out(1)],
      },
    ],
  });

  it('diffGroups compares type and buckets', () => {
    const d = diffGroups(
      new Map([
        [1, group(1)],
        [2, group(2)],
      ]),
      [
        { groupId: 1, groupType: OFPGT.ALL, buckets: group(1).buckets },
        { groupId: 2, groupType: OFPGT.INDIRECT, buckets: group(2).buckets },
      ],
    );
    expect(d.unchanged.map((g) => g.groupId)).toEqual([1]);
    expect(d.modify.map((g) => g.groupId)).toEqual([2]);
  });

  it('orders chained groups so a referenced group exists first', () => {
    const order = groupsInDependencyOrder([group(3, 2), group(2, 1), group(1), group(4, 1, 3)]).map((g) => g.groupId);
    expect(order.indexOf(1)).toBeLessThan(order.indexOf(2));
    expect(order.indexOf(2)).toBeLessThan(order.indexOf(3));
    expect(order.indexOf(3)).toBeLessThan(order.indexOf(4));
    // A cycle does not hang.
    expect(groupsInDependencyOrder([group(5, 6), group(6, 5)])).toHaveLength(2);
  });
});

describe('planPhases: the wire order', () => {
  it('meters/groups first, then stale flow deletes, then flow changes, then meter/group deletes', () => {
    const keep = entry({ priority: 1 });
    const mod = entry({ priority: 2 });
    const rep = entry({ priority: 3 });
    const add = entry({ priority: 4, hardTimeout: 300 });
    const staleCookie = ownerCookie(5, 1n);
    const stale = stats(entry({ priority: 5, cookie: staleCookie }));
    const flows = diffFlows(keyed(keep, mod, rep, add), [stats(keep), stats(mod, { instructions: [apply(7)] }), stats(rep, { cookie: 0n }), stale]);
    const phases = planPhases({
      flows,
      meters: {
        add: [{ meterId: 1, flags: OFPMF.KBPS, bands: [] }],
        modify: [{ meterId: 2, flags: OFPMF.KBPS, bands: [] }],
        remove: [9],
        unchanged: [],
      },
      groups: {
        add: [
          {
            groupId: 2,
            groupType: OFPGT.INDIRECT,
            buckets: [{ weight: 0, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [{ type: 'group', groupId: 1 }] }],
          },
          { groupId: 1, groupType: OFPGT.ALL, buckets: [] },
        ],
        modify: [],
        remove: [7, 8],
        unchanged: [],
      },
      currentGroups: [
        { groupId: 7, groupType: OFPGT.ALL, buckets: [] },
        {
          groupId: 8,
          groupType: OFPGT.INDIRECT,
          buckets: [{ weight: 0, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [{ type: 'group', groupId: 7 }] }],
        },
      ],
      hardTimeoutFor: () => 120,
    });
    const brief = (m: OfpMessage): string => {
      if (m.type === 'flowMod') return `flow ${['add', 'mod', 'modstrict', 'del', 'delstrict'][m.command]} ${m.priority}`;
      if (m.type === 'meterMod') return `meter ${['add', 'mod', 'del'][m.command]} ${m.meterId}`;
      if (m.type === 'groupMod') return `group ${['add', 'mod', 'del'][m.command]} ${m.groupId}`;
      return m.type;
    };
    expect(phases.map((ph) => ph.map((p) => brief(p.msg)))).toEqual([
      ['meter add 1', 'meter mod 2', 'group add 1', 'group add 2'],
      ['flow delstrict 5'],
      ['flow add 3', 'flow modstrict 2', 'flow add 4'],
      ['group del 8', 'group del 7', 'meter del 9'],
    ]);
    const [del] = phases[1]!;
    // A stale entry is deleted exactly: strict, and only while it still carries the cookie it was read with.
    expect(del!.msg).toMatchObject({ command: OFPFC.DELETE_STRICT, cookie: staleCookie, cookieMask: 0xffffffffffffffffn, tableId: 0, priority: 5 });
    const [replace, modify, added] = phases[2]!.map((p) => p.msg as Extract<OfpMessage, { type: 'flowMod' }>);
    expect(replace).toMatchObject({ command: OFPFC.ADD, cookie: C1 });
    expect(modify).toMatchObject({ command: OFPFC.MODIFY_STRICT, cookie: C1, instructions: mod.instructions });
    expect(added).toMatchObject({ command: OFPFC.ADD, hardTimeout: 120 });
    expect(phases[0]![0]!.msg).toMatchObject({ command: OFPMC.ADD });
    expect(phases[3]![0]!.msg).toMatchObject({ command: OFPGC.DELETE });
  });

  it('nothing to do -> no phases (no barrier round trips)', () => {
    const e = entry();
    expect(planPhases({ flows: diffFlows(keyed(e), [stats(e)]) })).toEqual([]);
  });
});

describe('DesiredState', () => {
  it("checks cookies against the owner, duplicates and other owners' identities", () => {
    const s = new DesiredState();
    const e = entry();
    expect(() => s.setFlows(1n, 2, [e])).toThrow(OwnershipConflictError); // cookie names owner 1
    s.setFlows(1n, 1, [e]);
    expect(() => s.setFlows(1n, 1, [e, e])).toThrow(/twice/);
    const other = { ...e, cookie: ownerCookie(2) };
    expect(() => s.setFlows(1n, 2, [other])).toThrow(/belongs to owner 1/);
    expect(() => s.updateFlows(1n, 2, [], [flowKey(e)])).toThrow(OwnershipConflictError);
    s.setFlows(1n, 2, [{ ...other, priority: 7 }]);
    expect(s.get(1n).ownerFlows(1)).toHaveLength(1);
    expect(s.get(1n).ownerFlows(2)).toHaveLength(1);
    s.setFlows(1n, 1, []);
    expect(s.get(1n).flowMap().size).toBe(1);
  });

  it("keeps a flow's install time while it stays the same entry (same cookie)", () => {
    const s = new DesiredState();
    const e = entry({ hardTimeout: 60 });
    s.setFlows(1n, 1, [e]);
    s.get(1n).flows.get(flowKey(e))!.since = 1000;
    s.setFlows(1n, 1, [{ ...e, instructions: [apply(5)] }]);
    expect(s.get(1n).flows.get(flowKey(e))!.since).toBe(1000);
    s.updateFlows(1n, 1, [{ ...e, cookie: ownerCookie(1, 2n) }], []);
    expect(s.get(1n).flows.get(flowKey(e))!.since).toBeUndefined();
  });
});
