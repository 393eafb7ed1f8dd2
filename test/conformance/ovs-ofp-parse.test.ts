// An independent decoder for what we send: every message type a controller sends is built with our encode(),
// written to one file and read back by Open vSwitch (`ovs-ofctl ofp-parse FILE`, which decodes a file of binary
// OpenFlow messages as a stream and prints one block per message). OVS must decode every one without error, and
// where our format() and OVS's text print the same field (`key=value` / `key:value`: match fields, the action
// list, priority, table, cookie, timeouts...), they must print the same value.
//
// Messages are realistic (what a controller would send to OVS), because OVS also checks semantics: a goto-table
// must go forward, a set-field needs its match prerequisites, group buckets must fit the group type.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  encode,
  format,
  OFPP,
  OFPG,
  OFPM,
  OFPTT,
  OFPFC,
  OFPFF,
  OFPGC,
  OFPGT,
  OFPMC,
  OFPMF,
  OFPPC,
  OFPPF,
  OFPCR_ROLE,
  OFP_NO_BUFFER,
  OFPCML,
  OFPQ_ALL,
  NX_EXPERIMENTER_ID,
} from '../../controller/openflow/index.js';
import type { OfpMessage, Match, Instruction } from '../../controller/openflow/index.js';

const which = spawnSync('ovs-ofctl', ['--version'], { encoding: 'utf8' });
if (which.error || which.status !== 0) {
  throw new Error('ovs-ofctl is not installed: this suite needs it as an independent OpenFlow decoder (install openvswitch-common)');
}

// --- a real Ethernet frame for the packet-out: TCP SYN 192.0.2.10:49152 -> 198.51.100.20:443 ----------------------

function inetChecksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length % 2) sum += b[b.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function tcpSyn(): Buffer {
  const src = [192, 0, 2, 10];
  const dst = [198, 51, 100, 20];
  const ip = Buffer.from([0x45, 0, 0, 44, 0x1c, 0x46, 0x40, 0, 64, 6, 0, 0, ...src, ...dst]);
  ip.writeUInt16BE(inetChecksum(ip), 10);
  const tcp = Buffer.from([0xc0, 0x00, 0x01, 0xbb, 0x1a, 0x2b, 0x3c, 0x4d, 0, 0, 0, 0, 0x60, 0x02, 0xfa, 0xf0, 0, 0, 0, 0, 2, 4, 0x05, 0xb4]);
  const pseudo = Buffer.concat([Buffer.from([...src, ...dst, 0, 6, 0, tcp.length]), tcp]);
  tcp.writeUInt16BE(inetChecksum(pseudo), 16);
  const eth = Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
  return Buffer.concat([eth, ip, tcp]);
}

// --- the messages ------------------------------------------------------------------------------------------------

const tcp4: Match = [
  { field: 'in_port', value: 1 },
  { field: 'eth_type', value: 0x0800 },
  { field: 'ip_proto', value: 6 },
  { field: 'ipv4_src', value: '192.0.2.0', mask: '255.255.255.0' },
  { field: 'ipv4_dst', value: '198.51.100.20' },
  // Masked L4 ports: not in OF1.3.5's table, but OVS accepts and emits them (oxm.ts decodes them).
  { field: 'tcp_src', value: 0x0400, mask: 0xfc00 },
  { field: 'tcp_dst', value: 443 },
];

const tcp6: Match = [
  { field: 'eth_type', value: 0x86dd },
  { field: 'ip_proto', value: 6 },
  { field: 'ipv6_src', value: '2001:db8::', mask: 'ffff:ffff:ffff:ffff::' },
  { field: 'ipv6_dst', value: '2001:db8:1::20' },
  { field: 'tcp_dst', value: 22 },
];

const udp4: Match = [
  { field: 'eth_type', value: 0x0800 },
  { field: 'ip_proto', value: 17 },
  { field: 'ipv4_dst', value: '198.51.100.53' },
  { field: 'udp_dst', value: 0x0035, mask: 0xffff },
];

const vlan100: Match = [
  { field: 'in_port', value: 3 },
  { field: 'vlan_vid', value: 0x1000 | 100 },
  { field: 'eth_type', value: 0x0806 },
];

const flowModBase = {
  type: 'flowMod',
  cookie: 0n,
  cookieMask: 0n,
  tableId: 0,
  idleTimeout: 0,
  hardTimeout: 0,
  priority: 1000,
  bufferId: OFP_NO_BUFFER,
  outPort: OFPP.ANY,
  outGroup: OFPG.ANY,
  flags: 0,
} as const;

const fullInstructions: Instruction[] = [
  { type: 'meter', meterId: 1 },
  {
    type: 'applyActions',
    actions: [
      { type: 'setField', field: { field: 'eth_dst', value: '02:00:00:00:00:99' } },
      { type: 'setField', field: { field: 'ipv4_dst', value: '198.51.100.21' } },
      { type: 'output', port: 2, maxLen: 0 },
    ],
  },
  { type: 'writeMetadata', metadata: 0x10n, metadataMask: 0xffn },
  { type: 'gotoTable', tableId: 1 },
];

interface Case {
  name: string;
  msg: OfpMessage;
  /** The header OVS prints when it is not ours (experimenter messages OVS knows by their Nicira name). */
  ovsHeader?: string;
  /** Keys that both texts must print (with equal values), so that the comparison cannot pass vacuously. */
  shared?: string[];
}

let xid = 0x100;
const next = () => ++xid;

const cases: Case[] = [
  { name: 'hello', msg: { type: 'hello', xid: next(), elements: [{ type: 'versionBitmap', versions: [4] }] } },
  { name: 'echo request', msg: { type: 'echoRequest', xid: next(), data: Buffer.from('dmzgate keepalive') } },
  { name: 'echo reply', msg: { type: 'echoReply', xid: next(), data: Buffer.from('dmzgate keepalive') } },
  { name: 'features request', msg: { type: 'featuresRequest', xid: next() } },
  { name: 'get-config request', msg: { type: 'getConfigRequest', xid: next() } },
  { name: 'set-config', msg: { type: 'setConfig', xid: next(), flags: 0, missSendLen: 128 }, shared: ['frags', 'miss_send_len'] },
  {
    name: 'packet-out (TCP SYN frame)',
    msg: {
      type: 'packetOut',
      xid: next(),
      bufferId: OFP_NO_BUFFER,
      inPort: OFPP.CONTROLLER,
      actions: [{ type: 'output', port: 2, maxLen: 0 }],
      data: tcpSyn(),
    },
    shared: ['in_port', 'actions', 'data_len'],
  },
  {
    name: 'flow-mod ADD: IPv4 5-tuple, masked ports; meter, apply [set-field, output], write-metadata, goto-table',
    msg: {
      ...flowModBase,
      xid: next(),
      command: OFPFC.ADD,
      cookie: 0x1234n,
      idleTimeout: 60,
      hardTimeout: 300,
      flags: OFPFF.SEND_FLOW_REM,
      match: tcp4,
      instructions: fullInstructions,
    },
    shared: ['priority', 'in_port', 'nw_src', 'nw_dst', 'tp_src', 'tp_dst', 'cookie', 'idle', 'hard', 'actions'],
  },
  {
    name: 'flow-mod ADD: IPv6 match; push-vlan, set vlan_vid, output; write-actions [group]',
    msg: {
      ...flowModBase,
      xid: next(),
      command: OFPFC.ADD,
      tableId: 1,
      priority: 2000,
      match: tcp6,
      instructions: [
        {
          type: 'applyActions',
          actions: [
            { type: 'pushVlan', ethertype: 0x8100 },
            { type: 'setField', field: { field: 'vlan_vid', value: 0x1000 | 10 } },
            { type: 'output', port: 3, maxLen: 0 },
          ],
        },
        { type: 'writeActions', actions: [{ type: 'group', groupId: 1 }] },
      ],
    },
    shared: ['table', 'priority', 'ipv6_src', 'ipv6_dst', 'tp_dst', 'actions'],
  },
  {
    name: 'flow-mod MODIFY: UDP, masked port; pop-vlan, output to controller',
    msg: {
      ...flowModBase,
      xid: next(),
      command: OFPFC.MODIFY,
      match: udp4,
      instructions: [{ type: 'applyActions', actions: [{ type: 'output', port: OFPP.CONTROLLER, maxLen: OFPCML.NO_BUFFER }] }],
    },
    shared: ['nw_dst', 'tp_dst', 'actions'],
  },
  {
    name: 'flow-mod MODIFY_STRICT: VLAN + ARP; pop-vlan, output',
    msg: {
      ...flowModBase,
      xid: next(),
      command: OFPFC.MODIFY_STRICT,
      priority: 500,
      match: vlan100,
      instructions: [{ type: 'applyActions', actions: [{ type: 'popVlan' }, { type: 'output', port: 4, maxLen: 0 }] }],
    },
    shared: ['priority', 'in_port', 'dl_vlan', 'actions'],
  },
  {
    name: 'flow-mod DELETE: all tables, by out_port and cookie mask',
    msg: {
      ...flowModBase,
      xid: next(),
      command: OFPFC.DELETE,
      tableId: OFPTT.ALL,
      outPort: 2,
      cookie: 0x1200n,
      cookieMask: 0xff00n,
      match: [],
      instructions: [],
    },
    shared: ['table', 'out_port', 'cookie'],
  },
  {
    name: 'flow-mod DELETE_STRICT: the IPv4 flow',
    msg: { ...flowModBase, xid: next(), command: OFPFC.DELETE_STRICT, match: tcp4, instructions: [] },
    shared: ['priority', 'in_port', 'nw_src', 'nw_dst', 'tp_src', 'tp_dst'],
  },
  {
    name: 'group-mod ADD all',
    msg: {
      type: 'groupMod',
      xid: next(),
      command: OFPGC.ADD,
      groupType: OFPGT.ALL,
      groupId: 1,
      buckets: [
        { weight: 0, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [{ type: 'output', port: 1, maxLen: 0 }] },
        { weight: 0, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [{ type: 'output', port: 2, maxLen: 0 }] },
      ],
    },
    shared: ['group_id', 'type', 'bucket'],
  },
  {
    name: 'group-mod ADD select (weights)',
    msg: {
      type: 'groupMod',
      xid: next(),
      command: OFPGC.ADD,
      groupType: OFPGT.SELECT,
      groupId: 2,
      buckets: [
        {
          weight: 70,
          watchPort: OFPP.ANY,
          watchGroup: OFPG.ANY,
          actions: [
            { type: 'setField', field: { field: 'eth_dst', value: '02:00:00:00:01:01' } },
            { type: 'output', port: 1, maxLen: 0 },
          ],
        },
        { weight: 30, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [{ type: 'output', port: 2, maxLen: 0 }] },
      ],
    },
    shared: ['group_id', 'type', 'bucket'],
  },
  {
    name: 'group-mod MODIFY fast-failover (watch ports)',
    msg: {
      type: 'groupMod',
      xid: next(),
      command: OFPGC.MODIFY,
      groupType: OFPGT.FF,
      groupId: 3,
      buckets: [
        { weight: 0, watchPort: 1, watchGroup: OFPG.ANY, actions: [{ type: 'output', port: 1, maxLen: 0 }] },
        { weight: 0, watchPort: 2, watchGroup: OFPG.ANY, actions: [{ type: 'output', port: 2, maxLen: 0 }] },
      ],
    },
    shared: ['group_id', 'type', 'bucket'],
  },
  {
    name: 'port-mod',
    msg: {
      type: 'portMod',
      xid: next(),
      portNo: 1,
      hwAddr: '02:00:00:00:00:01',
      config: OFPPC.NO_PACKET_IN,
      mask: OFPPC.NO_PACKET_IN,
      advertise: OFPPF['1GB_FD'] | OFPPF.COPPER,
    },
  },
  { name: 'table-mod', msg: { type: 'tableMod', xid: next(), tableId: 1, config: 0 } },
  {
    name: 'meter-mod ADD: drop + dscp remark bands',
    msg: {
      type: 'meterMod',
      xid: next(),
      command: OFPMC.ADD,
      flags: OFPMF.KBPS | OFPMF.BURST | OFPMF.STATS,
      meterId: 1,
      bands: [
        { type: 'drop', rate: 10_000, burstSize: 1_000 },
        { type: 'dscpRemark', rate: 5_000, burstSize: 500, precLevel: 1 },
      ],
    },
    shared: ['meter', 'rate', 'burst_size'],
  },
  { name: 'multipart: desc request', msg: { type: 'descStatsRequest', xid: next(), flags: 0 } },
  {
    name: 'multipart: flow stats request',
    msg: {
      type: 'flowStatsRequest',
      xid: next(),
      flags: 0,
      tableId: OFPTT.ALL,
      outPort: OFPP.ANY,
      outGroup: OFPG.ANY,
      cookie: 0n,
      cookieMask: 0n,
      match: tcp4.slice(1),
    },
    shared: ['nw_src', 'nw_dst', 'tp_dst'],
  },
  {
    name: 'multipart: aggregate stats request',
    msg: {
      type: 'aggregateStatsRequest',
      xid: next(),
      flags: 0,
      tableId: 0,
      outPort: 2,
      outGroup: OFPG.ANY,
      cookie: 0n,
      cookieMask: 0n,
      match: udp4,
    },
    shared: ['nw_dst', 'tp_dst'],
  },
  { name: 'multipart: table stats request', msg: { type: 'tableStatsRequest', xid: next(), flags: 0 } },
  { name: 'multipart: port stats request', msg: { type: 'portStatsRequest', xid: next(), flags: 0, portNo: OFPP.ANY }, shared: ['port_no'] },
  {
    name: 'multipart: queue stats request',
    msg: { type: 'queueStatsRequest', xid: next(), flags: 0, portNo: 1, queueId: OFPQ_ALL },
    shared: ['port', 'queue'],
  },
  { name: 'multipart: group stats request', msg: { type: 'groupStatsRequest', xid: next(), flags: 0, groupId: OFPG.ALL }, shared: ['group_id'] },
  { name: 'multipart: group desc request', msg: { type: 'groupDescStatsRequest', xid: next(), flags: 0 } },
  { name: 'multipart: group features request', msg: { type: 'groupFeaturesStatsRequest', xid: next(), flags: 0 } },
  { name: 'multipart: meter stats request', msg: { type: 'meterStatsRequest', xid: next(), flags: 0, meterId: OFPM.ALL }, shared: ['meter'] },
  { name: 'multipart: meter config request', msg: { type: 'meterConfigStatsRequest', xid: next(), flags: 0, meterId: 1 }, shared: ['meter'] },
  { name: 'multipart: meter features request', msg: { type: 'meterFeaturesStatsRequest', xid: next(), flags: 0 } },
  { name: 'multipart: table features request (query)', msg: { type: 'tableFeaturesStatsRequest', xid: next(), flags: 0, body: [] } },
  { name: 'multipart: port desc request', msg: { type: 'portDescStatsRequest', xid: next(), flags: 0 } },
  {
    name: 'multipart: experimenter request (Nicira IPFIX bridge stats)',
    msg: { type: 'experimenterStatsRequest', xid: next(), flags: 0, experimenter: NX_EXPERIMENTER_ID, expType: 3, data: Buffer.alloc(0) },
    ovsHeader: 'NXST_IPFIX_BRIDGE request',
  },
  { name: 'barrier request', msg: { type: 'barrierRequest', xid: next() } },
  { name: 'queue-get-config request', msg: { type: 'queueGetConfigRequest', xid: next(), port: 1 }, shared: ['port'] },
  { name: 'role request', msg: { type: 'roleRequest', xid: next(), role: OFPCR_ROLE.MASTER, generationId: 7n }, shared: ['role', 'generation_id'] },
  { name: 'get-async request', msg: { type: 'getAsyncRequest', xid: next() } },
  {
    name: 'set-async',
    msg: { type: 'setAsync', xid: next(), packetInMask: [0b011, 0b000], portStatusMask: [0b111, 0b111], flowRemovedMask: [0b1111, 0b0000] },
  },
  {
    name: 'experimenter (Nicira NXT_SET_CONTROLLER_ID)',
    // struct nx_controller_id { uint8_t zero[6]; ovs_be16 controller_id; }
    msg: { type: 'experimenter', xid: next(), experimenter: NX_EXPERIMENTER_ID, expType: 20, data: Buffer.from([0, 0, 0, 0, 0, 0, 0, 7]) },
    ovsHeader: 'NXT_SET_CONTROLLER_ID',
  },
];

// --- tokens of the two texts ----------------------------------------------------------------------------------------

/** Splits at `sep` characters outside parentheses/brackets. */
function splitTop(s: string, sep: RegExp): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') depth = Math.max(0, depth - 1);
    if (depth === 0 && sep.test(ch)) {
      if (cur) out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

/**
 * `key -> values` for the `key=value` and `key:value` tokens of a text. An action list (`actions=...`) is one
 * token: its commas separate actions, not fields.
 */
function fieldTokens(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const add = (k: string, v: string) => {
    if (!out.has(k)) out.set(k, new Set());
    out.get(k)!.add(v);
  };
  for (const word of splitTop(text, /\s/)) {
    const actions = /^actions=(.*)$/.exec(word);
    if (actions) {
      add('actions', actions[1]!);
      continue;
    }
    for (const tok of splitTop(word, /,/)) {
      const m = /^([a-z_][a-z0-9_]*)([=:])(.+)$/.exec(tok);
      if (m) add(m[1]!, m[3]!);
    }
  }
  return out;
}

// --- run OVS once over all the messages --------------------------------------------------------------------------

interface Parsed {
  header: string;
  text: string;
}
const blocks = new Map<number, Parsed>();
let ovsStderr = '';
let ovsBlockCount = 0;
let dir = '';
const onlyOurs: string[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmzgate-ovs-'));
  const file = join(dir, 'messages.bin');
  writeFileSync(file, Buffer.concat(cases.map((c) => encode(c.msg))));
  const r = spawnSync('ovs-ofctl', ['ofp-parse', file], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`ovs-ofctl ofp-parse failed: ${r.error?.message ?? r.stderr}`);
  ovsStderr = r.stderr;
  // A block starts with `NAME (OF1.3) (xid=0x..):`; following lines (indented or not) belong to it.
  let cur: { xid: number; lines: string[]; header: string } | undefined;
  const flush = () => {
    if (cur) blocks.set(cur.xid, { header: cur.header, text: cur.lines.join('\n') });
  };
  for (const line of r.stdout.split('\n')) {
    const h = /^(\S+(?: request| reply)?) \(OF1\.3\) \(xid=0x([0-9a-f]+)\):/.exec(line);
    if (h) {
      flush();
      ovsBlockCount++;
      cur = { xid: parseInt(h[2]!, 16), header: h[1]!, lines: [line] };
    } else if (cur) cur.lines.push(line);
  }
  flush();
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (onlyOurs.length) console.log(`[ovs-ofp-parse] fields only our format() prints (not compared):\n  ${onlyOurs.join('\n  ')}`);
});

describe('ovs-ofctl ofp-parse decodes every message type a controller sends', () => {
  it('prints one block per message and no warnings', () => {
    expect(ovsBlockCount).toBe(cases.length);
    expect(ovsStderr.trim(), 'ovs-ofctl warnings').toBe('');
  });

  for (const c of cases) {
    it(c.name, () => {
      const block = blocks.get(c.msg.xid);
      expect(block, `no OVS output block for xid 0x${c.msg.xid.toString(16)}`).toBeDefined();
      const ovs = block!.text;
      expect(ovs).not.toMatch(/decode error/i);
      expect(ovs).not.toContain('***');

      // A generic experimenter message: OVS knows it by its Nicira name and prints its own decoding of the body.
      if (c.ovsHeader) {
        expect(block!.header).toBe(c.ovsHeader);
        return;
      }
      // `OFPT_FLOW_MOD (OF1.3) (xid=0x107):` — the same name, version and xid in both.
      const ours = format(c.msg);
      const headerOf = (t: string) => /^.*? \(OF1\.3\) \(xid=0x[0-9a-f]+\):/.exec(t)?.[0];
      expect(headerOf(ours), 'header line').toBe(headerOf(ovs));

      // Bodies: every field both texts print has the same value(s).
      const ourBody = ours.slice(ours.indexOf('):') + 2);
      const ovsBody = ovs.slice(ovs.indexOf('):') + 2);
      const mine = fieldTokens(ourBody);
      const theirs = fieldTokens(ovsBody);
      const differing: string[] = [];
      for (const [k, vs] of mine) {
        const t = theirs.get(k);
        if (!t) {
          onlyOurs.push(`${c.name}: ${k}=${[...vs].join('|')}`);
          continue;
        }
        for (const v of vs) if (!t.has(v)) differing.push(`${k}: ours ${v}, OVS ${[...t].join(' | ')}`);
      }
      expect(differing, `fields printed differently\n  ours: ${ours}\n  OVS:  ${ovs}`).toStrictEqual([]);
      for (const k of c.shared ?? []) {
        expect(mine.has(k) && theirs.has(k), `both print ${k}\n  ours: ${ours}\n  OVS:  ${ovs}`).toBe(true);
      }
    });
  }
});
