// The multipart requests and replies (OF1.3.5 §7.3.5), in controller/openflow/multipart/.
// Checked against Ryu's golden messages four ways, plus hand-built round trips, every table-feature property
// type, and corrupted inputs.
//
// index.ts loads every family and cannot load until all exist, so this imports the registry and the multipart
// families directly.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse } from 'lossless-json';
import { decode, encode, toRyuJson, fromRyuJson, format } from '../../../controller/openflow/registry.js';
import '../../../controller/openflow/multipart/desc.js';
import '../../../controller/openflow/multipart/flow.js';
import '../../../controller/openflow/multipart/aggregate.js';
import '../../../controller/openflow/multipart/table.js';
import '../../../controller/openflow/multipart/port-stats.js';
import '../../../controller/openflow/multipart/queue.js';
import '../../../controller/openflow/multipart/group.js';
import '../../../controller/openflow/multipart/group-desc.js';
import '../../../controller/openflow/multipart/group-features.js';
import '../../../controller/openflow/multipart/meter.js';
import '../../../controller/openflow/multipart/meter-config.js';
import '../../../controller/openflow/multipart/meter-features.js';
import '../../../controller/openflow/multipart/table-features.js';
import '../../../controller/openflow/multipart/port-desc.js';
import '../../../controller/openflow/multipart/onf-flow-monitor.js';
import '../../../controller/openflow/multipart/experimenter.js';
import type { MultipartMsg, FlowStats, TableFeatures, TableFeatureProp } from '../../../controller/openflow/multipart/index.js';
import { OfpError, OFPET, OFPBRC, OFPBMC, OFPBIC, OFPTFFC } from '../../../controller/openflow/errors.js';
import {
  OFP_SIZES,
  OFPMP,
  OFPMPF_REPLY_MORE,
  OFPMPF_REQ_MORE,
  OFPP,
  OFPG,
  OFPM,
  OFPTT,
  OFPTFPT,
  OFPIT,
  OFPAT,
  OFPQ_ALL,
  ONF_EXPERIMENTER_ID,
} from '../../../controller/openflow/constants.js';
import type { OfpMessage } from '../../../controller/openflow/messages.js';
import { RYU_GOLDENS as GOLDEN } from '../../helpers/ryu-goldens.js';

const readBytes = (name: string) => readFileSync(new URL(`packets/${name}`, GOLDEN));
const readJson = (name: string): unknown =>
  parse(readFileSync(new URL(`json/${name}.json`, GOLDEN), 'utf8'), undefined, (s) => {
    const n = Number(s);
    return Number.isSafeInteger(n) || !/^-?\d+$/.test(s) ? n : BigInt(s);
  });

/** Every `len`/`length` key removed, at any depth: Ryu's from_jsondict input without computed lengths. */
function withoutLengths(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutLengths);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => k !== 'len' && k !== 'length')
        .map(([k, x]) => [k, withoutLengths(x)]),
    );
  }
  return v;
}

const GOLDENS: [file: string, ofpName: string][] = [
  ['4-24-ofp_desc_request.packet', 'OFPST_DESC request'],
  ['4-0-ofp_desc_reply.packet', 'OFPST_DESC reply'],
  ['4-11-ofp_flow_stats_request.packet', 'OFPST_FLOW request'],
  ['4-12-ofp_flow_stats_reply.packet', 'OFPST_FLOW reply'],
  ['4-25-ofp_aggregate_stats_request.packet', 'OFPST_AGGREGATE request'],
  ['4-26-ofp_aggregate_stats_reply.packet', 'OFPST_AGGREGATE reply'],
  ['4-27-ofp_table_stats_request.packet', 'OFPST_TABLE request'],
  ['4-28-ofp_table_stats_reply.packet', 'OFPST_TABLE reply'],
  ['4-29-ofp_port_stats_request.packet', 'OFPST_PORT request'],
  ['4-30-ofp_port_stats_reply.packet', 'OFPST_PORT reply'],
  ['4-31-ofp_group_features_request.packet', 'OFPST_GROUP_FEATURES request'],
  ['4-32-ofp_group_features_reply.packet', 'OFPST_GROUP_FEATURES reply'],
  ['4-33-ofp_group_desc_request.packet', 'OFPST_GROUP_DESC request'],
  ['4-34-ofp_group_desc_reply.packet', 'OFPST_GROUP_DESC reply'],
  ['4-37-ofp_queue_stats_request.packet', 'OFPST_QUEUE request'],
  ['4-38-ofp_queue_stats_reply.packet', 'OFPST_QUEUE reply'],
  ['4-47-ofp_meter_config_request.packet', 'OFPST_METER_CONFIG request'],
  ['4-48-ofp_meter_config_reply.packet', 'OFPST_METER_CONFIG reply'],
  ['4-49-ofp_meter_stats_request.packet', 'OFPST_METER request'],
  ['4-50-ofp_meter_stats_reply.packet', 'OFPST_METER reply'],
  ['4-51-ofp_meter_features_request.packet', 'OFPST_METER_FEATURES request'],
  ['4-52-ofp_meter_features_reply.packet', 'OFPST_METER_FEATURES reply'],
  ['4-53-ofp_port_desc_request.packet', 'OFPST_PORT_DESC request'],
  ['4-54-ofp_port_desc_reply.packet', 'OFPST_PORT_DESC reply'],
  ['4-55-ofp_table_features_request.packet', 'OFPST_TABLE_FEATURES request'],
  ['4-56-ofp_table_features_reply.packet', 'OFPST_TABLE_FEATURES reply'],
  ['4-57-ofp_group_stats_request.packet', 'OFPST_GROUP request'],
  ['4-58-ofp_group_stats_reply.packet', 'OFPST_GROUP reply'],
  ['4-61-ofp_experimenter_request.packet', 'OFPST_EXPERIMENTER request'],
  ['4-62-ofp_experimenter_reply.packet', 'OFPST_EXPERIMENTER reply'],
  ['4-63-onf_flow_monitor_request.packet', 'ONFST_FLOW_MONITOR request'],
];

function expectOfpError(f: () => unknown, errType?: number, code?: number): OfpError {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected an OfpError').toBeInstanceOf(OfpError);
  const e = err as OfpError;
  if (errType !== undefined) expect(e.errType, e.message).toBe(errType);
  if (code !== undefined) expect(e.code, e.message).toBe(code);
  return e;
}

const hex = (b: Buffer) => b.toString('hex');

describe.each(GOLDENS)('golden %s', (file, ofpName) => {
  const bytes = readBytes(file);
  const json = readJson(file);
  const xid = bytes.readUInt32BE(4);

  it('decodes to Ryu JSON', () => {
    expect(toRyuJson(decode(bytes))).toEqual(json);
  });

  it('encodes from Ryu JSON to the same bytes', () => {
    expect(hex(encode(fromRyuJson(json, xid)))).toBe(hex(bytes));
  });

  it('encodes from Ryu JSON without len/length keys to the same bytes', () => {
    expect(hex(encode(fromRyuJson(withoutLengths(json), xid)))).toBe(hex(bytes));
  });

  it('re-encodes its decoding byte for byte', () => {
    expect(hex(encode(decode(bytes)))).toBe(hex(bytes));
  });

  it('formats as one line naming the message type', () => {
    const text = format(decode(bytes));
    expect(text.startsWith(`${ofpName} (OF1.3) (xid=0x${xid.toString(16)}):`)).toBe(true);
    expect(text).not.toContain('\n');
  });

  it('rejects every truncation with OfpError', () => {
    for (let cut = 0; cut < bytes.length; cut++) {
      expectOfpError(() => decode(bytes.subarray(0, cut)), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);
    }
  });

  it('given a truncation with a matching header length, fails with OfpError or decodes losslessly', () => {
    let failures = 0;
    for (let cut = 8; cut < bytes.length; cut++) {
      const b = Buffer.from(bytes.subarray(0, cut));
      b.writeUInt16BE(cut, 2);
      let msg: OfpMessage | undefined;
      try {
        msg = decode(b);
      } catch (e) {
        expect(e).toBeInstanceOf(OfpError);
        failures++;
        continue;
      }
      // A shorter well-formed message (fewer entries, less experimenter data): it must re-encode exactly.
      expect(hex(encode(msg))).toBe(hex(b));
    }
    expect(failures).toBeGreaterThan(0);
  });
});

/** decode(encode(m)) and fromRyuJson(toRyuJson(m)) both give m back, and format names the type. */
function roundTrip(m: MultipartMsg, ofpName: string): Buffer {
  const bytes = encode(m);
  expect(bytes.readUInt16BE(2)).toBe(bytes.length);
  expect(bytes[1]).toBe(m.type.endsWith('Request') ? 18 : 19);
  expect(bytes.readUInt16BE(10)).toBe(m.flags);
  expect(decode(bytes)).toEqual(m);
  expect(fromRyuJson(toRyuJson(m), m.xid)).toEqual(m);
  // Ryu JSON without computed lengths gives the same message.
  expect(fromRyuJson(withoutLengths(toRyuJson(m)), m.xid)).toEqual(m);
  const text = format(m);
  expect(text.startsWith(`${ofpName} (OF1.3) (xid=0x${m.xid.toString(16)}):`)).toBe(true);
  if (m.flags & 1) expect(text).toContain('flags=[more]');
  expect(text).not.toContain('\n');
  return bytes;
}

/** The body after the 16-byte multipart header. */
const body = (b: Buffer) => b.subarray(16);

const match = [
  { field: 'in_port', value: 1 },
  { field: 'eth_type', value: 0x800 },
  { field: 'ipv4_dst', value: '10.0.0.0', mask: '255.0.0.0' },
];

describe('hand-built round trips', () => {
  it('desc', () => {
    expect(body(roundTrip({ type: 'descStatsRequest', xid: 1, flags: 0 }, 'OFPST_DESC request')).length).toBe(0);
    const b = roundTrip(
      {
        type: 'descStatsReply',
        xid: 2,
        flags: 0,
        mfrDesc: 'Nicira, Inc.',
        hwDesc: 'Open vSwitch',
        swDesc: '3.3.0',
        serialNum: 'None',
        dpDesc: 'br0',
      },
      'OFPST_DESC reply',
    );
    expect(body(b).length).toBe(OFP_SIZES.desc);
    expect(body(b).subarray(0, 13).toString('latin1')).toBe('Nicira, Inc.\0');
  });

  it('flow stats request and aggregate request', () => {
    const filter = { tableId: 3, outPort: 2, outGroup: OFPG.ANY, cookie: 0x1234n, cookieMask: 0xffffn, match };
    const b = roundTrip({ type: 'flowStatsRequest', xid: 3, flags: OFPMPF_REQ_MORE, ...filter }, 'OFPST_FLOW request');
    expect(body(b).subarray(0, 32).toString('hex')).toBe('0300000000000002ffffffff000000000000000000001234000000000000ffff');
    const empty = { tableId: OFPTT.ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: 0n, cookieMask: 0n, match: [] };
    expect(body(roundTrip({ type: 'flowStatsRequest', xid: 4, flags: 0, ...empty }, 'OFPST_FLOW request')).length).toBe(OFP_SIZES.flowStatsRequest);
    roundTrip({ type: 'aggregateStatsRequest', xid: 5, flags: 0, ...filter }, 'OFPST_AGGREGATE request');
    expect(format({ type: 'flowStatsRequest', xid: 3, flags: 0, ...filter })).toBe(
      'OFPST_FLOW request (OF1.3) (xid=0x3): table=3 out_port=2 cookie=0x1234/0xffff ip,in_port=1,nw_dst=10.0.0.0/8',
    );
    // Ryu's defaults when the selector is left out.
    expect(fromRyuJson({ OFPFlowStatsRequest: { flags: 0 } })).toEqual({ type: 'flowStatsRequest', xid: 0, flags: 0, ...empty });
  });

  it('flow stats reply, with REPLY_MORE', () => {
    const entries: FlowStats[] = [
      {
        tableId: 0,
        durationSec: 10,
        durationNsec: 500000000,
        priority: 100,
        idleTimeout: 30,
        hardTimeout: 0,
        flags: 1,
        cookie: 0xfedcba9876543210n,
        packetCount: 12n,
        byteCount: 3400n,
        match,
        instructions: [
          { type: 'applyActions', actions: [{ type: 'output', port: 2, maxLen: 0 }] },
          { type: 'gotoTable', tableId: 1 },
        ],
      },
      {
        tableId: 1,
        durationSec: 0,
        durationNsec: 0,
        priority: 0x8000,
        idleTimeout: 0,
        hardTimeout: 0,
        flags: 0,
        cookie: 0n,
        packetCount: 0n,
        byteCount: 0n,
        match: [],
        instructions: [],
      },
    ];
    const b = roundTrip({ type: 'flowStatsReply', xid: 6, flags: OFPMPF_REPLY_MORE, body: entries }, 'OFPST_FLOW reply');
    // The second entry is the minimal one: 48 fixed bytes and an empty match padded to 8.
    expect(b.length - 16 - b.readUInt16BE(16)).toBe(OFP_SIZES.flowStats);
    const ryu = toRyuJson({ type: 'flowStatsReply', xid: 6, flags: 1, body: entries }) as {
      OFPFlowStatsReply: { body: { OFPFlowStats: { length: number } }[] };
    };
    expect(ryu.OFPFlowStatsReply.body.map((e) => e.OFPFlowStats.length)).toEqual([b.readUInt16BE(16), 56]);
    expect(format({ type: 'flowStatsReply', xid: 6, flags: 1, body: entries })).toBe(
      'OFPST_FLOW reply (OF1.3) (xid=0x6): flags=[more] 2 flows: cookie=0xfedcba9876543210, duration=10.5s, table=0, n_packets=12, ' +
        'n_bytes=3400, idle_timeout=30, send_flow_rem priority=100,ip,in_port=1,nw_dst=10.0.0.0/8 actions=output:2,goto_table:1; ' +
        'cookie=0x0, duration=0s, table=1, n_packets=0, n_bytes=0, actions=drop',
    );
    roundTrip({ type: 'flowStatsReply', xid: 7, flags: 0, body: [] }, 'OFPST_FLOW reply');
    expect(format({ type: 'flowStatsReply', xid: 7, flags: 0, body: [] })).toBe('OFPST_FLOW reply (OF1.3) (xid=0x7): 0 flows');
  });

  it('aggregate reply', () => {
    const b = roundTrip(
      { type: 'aggregateStatsReply', xid: 8, flags: 0, packetCount: 2n ** 64n - 1n, byteCount: 5n, flowCount: 3 },
      'OFPST_AGGREGATE reply',
    );
    expect(body(b).length).toBe(OFP_SIZES.aggregateStatsReply);
  });

  it('table stats', () => {
    roundTrip({ type: 'tableStatsRequest', xid: 9, flags: 0 }, 'OFPST_TABLE request');
    const b = roundTrip(
      {
        type: 'tableStatsReply',
        xid: 10,
        flags: OFPMPF_REPLY_MORE,
        body: [
          { tableId: 0, activeCount: 5, lookupCount: 100n, matchedCount: 90n },
          { tableId: 254, activeCount: 0, lookupCount: 0n, matchedCount: 0n },
        ],
      },
      'OFPST_TABLE reply',
    );
    expect(body(b).length).toBe(2 * OFP_SIZES.tableStats);
  });

  it('port stats', () => {
    roundTrip({ type: 'portStatsRequest', xid: 11, flags: 0, portNo: OFPP.ANY }, 'OFPST_PORT request');
    const p = {
      portNo: 1,
      rxPackets: 1n,
      txPackets: 2n,
      rxBytes: 3n,
      txBytes: 4n,
      rxDropped: 5n,
      txDropped: 6n,
      rxErrors: 7n,
      txErrors: 8n,
      rxFrameErr: 9n,
      rxOverErr: 10n,
      rxCrcErr: 11n,
      collisions: 2n ** 64n - 1n,
      durationSec: 12,
      durationNsec: 13,
    };
    const b = roundTrip({ type: 'portStatsReply', xid: 12, flags: OFPMPF_REPLY_MORE, body: [p, { ...p, portNo: OFPP.LOCAL }] }, 'OFPST_PORT reply');
    expect(body(b).length).toBe(2 * OFP_SIZES.portStats);
    expect(body(b).readBigUInt64BE(8)).toBe(1n); // rx_packets right after port_no and its padding
    expect(format(decode(b))).toContain('coll=?');
  });

  it('queue stats', () => {
    roundTrip({ type: 'queueStatsRequest', xid: 13, flags: 0, portNo: OFPP.ANY, queueId: OFPQ_ALL }, 'OFPST_QUEUE request');
    const b = roundTrip(
      {
        type: 'queueStatsReply',
        xid: 14,
        flags: 0,
        body: [{ portNo: 1, queueId: 2, txBytes: 3n, txPackets: 4n, txErrors: 5n, durationSec: 6, durationNsec: 7 }],
      },
      'OFPST_QUEUE reply',
    );
    expect(body(b).length).toBe(OFP_SIZES.queueStats);
  });

  it('group stats', () => {
    roundTrip({ type: 'groupStatsRequest', xid: 15, flags: 0, groupId: OFPG.ALL }, 'OFPST_GROUP request');
    const b = roundTrip(
      {
        type: 'groupStatsReply',
        xid: 16,
        flags: OFPMPF_REPLY_MORE,
        body: [
          {
            groupId: 1,
            refCount: 2,
            packetCount: 3n,
            byteCount: 4n,
            durationSec: 5,
            durationNsec: 6,
            bucketStats: [
              { packetCount: 7n, byteCount: 8n },
              { packetCount: 9n, byteCount: 10n },
            ],
          },
          { groupId: 2, refCount: 0, packetCount: 0n, byteCount: 0n, durationSec: 0, durationNsec: 0, bucketStats: [] },
        ],
      },
      'OFPST_GROUP reply',
    );
    expect(b.readUInt16BE(16)).toBe(OFP_SIZES.groupStats + 2 * OFP_SIZES.bucketCounter);
  });

  it('group desc', () => {
    roundTrip({ type: 'groupDescStatsRequest', xid: 17, flags: 0 }, 'OFPST_GROUP_DESC request');
    const b = roundTrip(
      {
        type: 'groupDescStatsReply',
        xid: 18,
        flags: OFPMPF_REPLY_MORE,
        body: [
          {
            groupType: 1,
            groupId: 7,
            buckets: [{ weight: 10, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [{ type: 'output', port: 3, maxLen: 0 }] }],
          },
          { groupType: 0, groupId: 8, buckets: [] },
        ],
      },
      'OFPST_GROUP_DESC reply',
    );
    expect(b.readUInt16BE(16)).toBe(OFP_SIZES.groupDesc + OFP_SIZES.bucket + 16);
  });

  it('group features', () => {
    roundTrip({ type: 'groupFeaturesStatsRequest', xid: 19, flags: 0 }, 'OFPST_GROUP_FEATURES request');
    const b = roundTrip(
      {
        type: 'groupFeaturesStatsReply',
        xid: 20,
        flags: 0,
        types: 0xf,
        capabilities: 5,
        maxGroups: [1, 2, 3, 4],
        actions: [0x1, 0x400001, 0, 0xffffffff],
      },
      'OFPST_GROUP_FEATURES reply',
    );
    expect(body(b).length).toBe(OFP_SIZES.groupFeatures);
    expectOfpError(() =>
      encode({ type: 'groupFeaturesStatsReply', xid: 0, flags: 0, types: 0, capabilities: 0, maxGroups: [1], actions: [0, 0, 0, 0] }),
    );
  });

  it('meter stats', () => {
    roundTrip({ type: 'meterStatsRequest', xid: 21, flags: 0, meterId: OFPM.ALL }, 'OFPST_METER request');
    const b = roundTrip(
      {
        type: 'meterStatsReply',
        xid: 22,
        flags: OFPMPF_REPLY_MORE,
        body: [
          {
            meterId: 1,
            flowCount: 2,
            packetInCount: 3n,
            byteInCount: 4n,
            durationSec: 5,
            durationNsec: 6,
            bandStats: [{ packetBandCount: 7n, byteBandCount: 8n }],
          },
          { meterId: 2, flowCount: 0, packetInCount: 0n, byteInCount: 0n, durationSec: 0, durationNsec: 0, bandStats: [] },
        ],
      },
      'OFPST_METER reply',
    );
    expect(b.readUInt16BE(16 + 4)).toBe(OFP_SIZES.meterStats + OFP_SIZES.meterBandStats);
  });

  it('meter config', () => {
    roundTrip({ type: 'meterConfigStatsRequest', xid: 23, flags: 0, meterId: 5 }, 'OFPST_METER_CONFIG request');
    const b = roundTrip(
      {
        type: 'meterConfigStatsReply',
        xid: 24,
        flags: OFPMPF_REPLY_MORE,
        body: [
          {
            flags: 0b1001,
            meterId: 5,
            bands: [
              { type: 'drop', rate: 1000, burstSize: 0 },
              { type: 'dscpRemark', rate: 10, burstSize: 1, precLevel: 2 },
            ],
          },
          { flags: 0, meterId: 6, bands: [] },
        ],
      },
      'OFPST_METER_CONFIG reply',
    );
    expect(b.readUInt16BE(16)).toBe(OFP_SIZES.meterConfig + 32);
  });

  it('meter features', () => {
    roundTrip({ type: 'meterFeaturesStatsRequest', xid: 25, flags: 0 }, 'OFPST_METER_FEATURES request');
    const b = roundTrip(
      {
        type: 'meterFeaturesStatsReply',
        xid: 26,
        flags: 0,
        body: [{ maxMeter: 100, bandTypes: 6, capabilities: 0xf, maxBands: 2, maxColor: 1 }],
      },
      'OFPST_METER_FEATURES reply',
    );
    expect(body(b).length).toBe(OFP_SIZES.meterFeatures);
  });

  it('port desc', () => {
    roundTrip({ type: 'portDescStatsRequest', xid: 27, flags: 0 }, 'OFPST_PORT_DESC request');
    const port = {
      portNo: 3,
      hwAddr: '0a:1b:2c:3d:4e:5f',
      name: 'eth3',
      config: 0,
      state: 4,
      curr: 0x2820,
      advertised: 0x2820,
      supported: 0x283f,
      peer: 0,
      currSpeed: 1_000_000,
      maxSpeed: 10_000_000,
    };
    const b = roundTrip(
      { type: 'portDescStatsReply', xid: 28, flags: OFPMPF_REPLY_MORE, body: [port, { ...port, portNo: OFPP.LOCAL, name: 'br0' }] },
      'OFPST_PORT_DESC reply',
    );
    expect(body(b).length).toBe(2 * OFP_SIZES.port);
  });

  it('experimenter request and reply', () => {
    const b = roundTrip(
      {
        type: 'experimenterStatsRequest',
        xid: 29,
        flags: OFPMPF_REQ_MORE,
        experimenter: 0x2320,
        expType: 7,
        data: Buffer.from('0102', 'hex'),
      },
      'OFPST_EXPERIMENTER request',
    );
    expect(hex(body(b))).toBe('00002320000000070102');
    roundTrip(
      { type: 'experimenterStatsReply', xid: 30, flags: OFPMPF_REPLY_MORE, experimenter: 1, expType: 2, data: Buffer.alloc(0) },
      'OFPST_EXPERIMENTER reply',
    );
    // An ONF id with another exp_type stays a generic experimenter request.
    roundTrip(
      { type: 'experimenterStatsRequest', xid: 31, flags: 0, experimenter: ONF_EXPERIMENTER_ID, expType: 1871, data: Buffer.alloc(0) },
      'OFPST_EXPERIMENTER request',
    );
  });

  it('ONF flow monitor request', () => {
    const m: MultipartMsg = {
      type: 'onfFlowMonitorRequest',
      xid: 32,
      flags: 0,
      body: [
        { id: 1, flags: 0xf, outPort: OFPP.ANY, tableId: OFPTT.ALL, match: [] },
        { id: 2, flags: 0x3, outPort: 5, tableId: 1, match: [{ field: 'eth_type', value: 0x806 }] },
      ],
    };
    const b = roundTrip(m, 'ONFST_FLOW_MONITOR request');
    // mp header, ONF id, exp_type 1870, then 16 + 0 and 16 + (6 padded to 8).
    expect(b.length).toBe(16 + 8 + 16 + 24);
    expect(hex(b.subarray(16, 24))).toBe('4f4e46000000074e');
    expect(b.readUInt16BE(24 + 16 + 6)).toBe(6); // match_len excludes the padding
    // The generic form of the same bytes, built from Ryu JSON, decodes as the ONF message.
    const generic = encode({
      type: 'experimenterStatsRequest',
      xid: 32,
      flags: 0,
      experimenter: ONF_EXPERIMENTER_ID,
      expType: 1870,
      data: b.subarray(24),
    });
    expect(decode(generic)).toEqual(m);
    expect(format(m)).toBe(
      'ONFST_FLOW_MONITOR request (OF1.3) (xid=0x20): id=1 flags=initial,add,delete,modify; id=2 flags=initial,add out_port=5 table=1 arp',
    );
  });
});

// ---- table features: every property type ----

const everyProp: TableFeatureProp[] = [
  {
    kind: 'instructions',
    type: OFPTFPT.INSTRUCTIONS,
    instructionIds: [
      { type: OFPIT.GOTO_TABLE },
      { type: OFPIT.APPLY_ACTIONS },
      { type: 0xffff, experimenter: 0x2320 },
      { type: 0xffff, experimenter: 0xabcdef, data: Buffer.from('0102030405', 'hex') },
    ],
  },
  { kind: 'instructions', type: OFPTFPT.INSTRUCTIONS_MISS, instructionIds: [] },
  { kind: 'nextTables', type: OFPTFPT.NEXT_TABLES, tableIds: [1, 2, 3, 200] },
  { kind: 'nextTables', type: OFPTFPT.NEXT_TABLES_MISS, tableIds: [] },
  { kind: 'actions', type: OFPTFPT.WRITE_ACTIONS, actionIds: [{ type: OFPAT.OUTPUT }, { type: OFPAT.SET_FIELD }] },
  { kind: 'actions', type: OFPTFPT.WRITE_ACTIONS_MISS, actionIds: [{ type: 0xffff, experimenter: 0x2320, data: Buffer.from('0026', 'hex') }] },
  { kind: 'actions', type: OFPTFPT.APPLY_ACTIONS, actionIds: [{ type: OFPAT.GROUP }] },
  { kind: 'actions', type: OFPTFPT.APPLY_ACTIONS_MISS, actionIds: [] },
  {
    kind: 'oxm',
    type: OFPTFPT.MATCH,
    oxmIds: [
      { field: 'in_port', hasMask: false, length: 0 },
      { field: 'eth_dst', hasMask: true, length: 0 },
      { field: 'reg3', hasMask: false, length: 0 },
    ],
  },
  { kind: 'oxm', type: OFPTFPT.WILDCARDS, oxmIds: [{ field: 'ipv4_src', hasMask: false, length: 0 }] },
  { kind: 'oxm', type: OFPTFPT.WRITE_SETFIELD, oxmIds: [{ field: 'field_8388480', experimenter: ONF_EXPERIMENTER_ID, hasMask: false, length: 0 }] },
  { kind: 'oxm', type: OFPTFPT.WRITE_SETFIELD_MISS, oxmIds: [{ field: 'field_649', hasMask: true, length: 0 }] },
  { kind: 'oxm', type: OFPTFPT.APPLY_SETFIELD, oxmIds: [{ field: 'vlan_vid', hasMask: false, length: 0 }] },
  { kind: 'oxm', type: OFPTFPT.APPLY_SETFIELD_MISS, oxmIds: [] },
  { kind: 'experimenter', type: OFPTFPT.EXPERIMENTER, experimenter: 101, expType: 5, data: [1, 0xffffffff] },
  { kind: 'experimenter', type: OFPTFPT.EXPERIMENTER_MISS, experimenter: 102, expType: 6, data: [] },
  { kind: 'unknown', type: 9, data: Buffer.from('abcdef', 'hex') },
  { kind: 'unknown', type: 0x7777, data: Buffer.alloc(0) },
];

const table = (tableId: number, properties: TableFeatureProp[]): TableFeatures => ({
  tableId,
  name: `table ${tableId}`,
  metadataMatch: 0xffffffffffffffffn,
  metadataWrite: 0n,
  config: 3,
  maxEntries: 1000,
  properties,
});

/** The bytes of one table features entry holding exactly `prop`. */
function propBytes(prop: TableFeatureProp): Buffer {
  const b = encode({ type: 'tableFeaturesStatsReply', xid: 0, flags: 0, body: [table(0, [prop])] });
  return b.subarray(16 + OFP_SIZES.tableFeatures);
}

describe('table features', () => {
  it('round-trips every property type, in a request and in a reply with REPLY_MORE', () => {
    roundTrip({ type: 'tableFeaturesStatsRequest', xid: 40, flags: 0, body: [] }, 'OFPST_TABLE_FEATURES request');
    roundTrip({ type: 'tableFeaturesStatsRequest', xid: 41, flags: 0, body: [table(0, everyProp)] }, 'OFPST_TABLE_FEATURES request');
    const b = roundTrip(
      {
        type: 'tableFeaturesStatsReply',
        xid: 42,
        flags: OFPMPF_REPLY_MORE,
        body: [table(0, everyProp), table(1, []), table(2, everyProp.slice(3, 9))],
      },
      'OFPST_TABLE_FEATURES reply',
    );
    expect(b.readUInt16BE(16 + b.readUInt16BE(16))).toBe(OFP_SIZES.tableFeatures); // the empty table
  });

  it('encodes each property with its unpadded length, then pads to 8', () => {
    const cases: [TableFeatureProp, string][] = [
      [everyProp[0]!, '00000021' + '00010004' + '00040004' + 'ffff0008' + '00002320' + 'ffff000d' + '00abcdef' + '0102030405' + '00000000000000'],
      [everyProp[1]!, '00010004' + '00000000'],
      [everyProp[2]!, '00020008' + '010203c8'],
      [everyProp[5]!, '0005000e' + 'ffff000a' + '00002320' + '0026' + '0000'],
      [everyProp[8]!, '00080010' + '80000000' + '80000700' + '00010600'],
      [everyProp[10]!, '000c000c' + 'ffff0000' + '4f4e4600' + '00000000'],
      [everyProp[11]!, '000d0008' + '00051300'],
      [everyProp[14]!, 'fffe0014' + '00000065' + '00000005' + '00000001' + 'ffffffff' + '00000000'],
      [everyProp[15]!, 'ffff000c' + '00000066' + '00000006' + '00000000'],
      [everyProp[16]!, '00090007' + 'abcdef' + '00'],
      [everyProp[17]!, '77770004' + '00000000'],
    ];
    for (const [prop, want] of cases) expect(hex(propBytes(prop)), prop.kind).toBe(want);
  });

  it('gives Ryu JSON in Ryu class names', () => {
    const j = toRyuJson({ type: 'tableFeaturesStatsReply', xid: 0, flags: 0, body: [table(0, everyProp)] }) as {
      OFPTableFeaturesStatsReply: { body: { OFPTableFeaturesStats: { properties: Record<string, Record<string, unknown>>[] } }[] };
    };
    const props = j.OFPTableFeaturesStatsReply.body[0]!.OFPTableFeaturesStats.properties;
    expect(props[0]).toEqual({
      OFPTableFeaturePropInstructions: {
        type: 0,
        length: 33,
        instruction_ids: [
          { OFPInstructionId: { type: 1, len: 4 } },
          { OFPInstructionId: { type: 4, len: 4 } },
          { OFPInstructionId: { type: 0xffff, len: 8, experimenter: 0x2320 } },
          { OFPInstructionId: { type: 0xffff, len: 13, experimenter: 0xabcdef, data: 'AQIDBAU=' } },
        ],
      },
    });
    expect(props[2]).toEqual({ OFPTableFeaturePropNextTables: { type: 2, length: 8, table_ids: [1, 2, 3, 200] } });
    expect(props[4]).toEqual({
      OFPTableFeaturePropActions: { type: 4, length: 12, action_ids: [{ OFPActionId: { type: 0, len: 4 } }, { OFPActionId: { type: 25, len: 4 } }] },
    });
    expect(props[8]).toEqual({
      OFPTableFeaturePropOxm: {
        type: 8,
        length: 16,
        oxm_ids: [
          { OFPOxmId: { type: 'in_port', hasmask: 0, length: 0 } },
          { OFPOxmId: { type: 'eth_dst', hasmask: 1, length: 0 } },
          { OFPOxmId: { type: 'reg3', hasmask: 0, length: 0 } },
        ],
      },
    });
    expect(props[10]).toEqual({
      OFPTableFeaturePropOxm: {
        type: 12,
        length: 12,
        oxm_ids: [{ OFPExperimenterOxmId: { type: 'field_8388480', exp_id: ONF_EXPERIMENTER_ID, hasmask: 0, length: 0 } }],
      },
    });
    expect(props[14]).toEqual({
      OFPTableFeaturePropExperimenter: { type: 0xfffe, length: 20, experimenter: 101, exp_type: 5, data: [1, 0xffffffff] },
    });
    expect(props[16]).toEqual({ OFPTableFeaturePropUnknown: { type: 9, length: 7, data: 'q83v' } });
  });

  it('keeps the length byte of OXM ids as sent (Ryu sends 0, others the payload length)', () => {
    const ids = [
      { field: 'eth_dst', hasMask: true, length: 12 },
      { field: 'field_8388485', experimenter: 0x2320, hasMask: false, length: 8 },
    ];
    const m: MultipartMsg = {
      type: 'tableFeaturesStatsReply',
      xid: 0,
      flags: 0,
      body: [table(0, [{ kind: 'oxm', type: OFPTFPT.MATCH, oxmIds: ids }])],
    };
    const b = encode(m);
    expect(hex(b.subarray(16 + 64))).toBe('0008' + '0010' + '8000070c' + 'ffff0a08' + '00002320');
    expect(decode(b)).toEqual(m);
    expect(fromRyuJson(toRyuJson(m))).toEqual(m);
    // Without a length key, Ryu's 0.
    const noLen = fromRyuJson(withoutLengths(toRyuJson(m))) as MultipartMsg & { body: TableFeatures[] };
    expect(noLen.body[0]!.properties[0]).toMatchObject({ oxmIds: [{ length: 0 }, { length: 0 }] });
  });

  it('keeps a UTF-8 table name, cutting a long one at a character boundary', () => {
    const long = 'テーブル'.repeat(4); // 48 bytes of UTF-8
    const m: MultipartMsg = { type: 'tableFeaturesStatsReply', xid: 0, flags: 0, body: [{ ...table(0, []), name: long }] };
    const d = decode(encode(m)) as MultipartMsg & { body: TableFeatures[] };
    expect(d.body[0]!.name).toBe('テーブル'.repeat(2) + 'テー'); // 30 bytes: the 31st would split a character
  });

  it('rejects a property whose type does not fit its kind', () => {
    expectOfpError(
      () =>
        encode({
          type: 'tableFeaturesStatsReply',
          xid: 0,
          flags: 0,
          body: [table(0, [{ kind: 'nextTables', type: OFPTFPT.MATCH, tableIds: [] }])],
        }),
      OFPET.TABLE_FEATURES_FAILED,
      OFPTFFC.BAD_TYPE,
    );
    expectOfpError(() =>
      fromRyuJson({
        OFPTableFeaturesStatsReply: {
          flags: 0,
          body: [{ OFPTableFeaturesStats: { ...ryuTable, properties: [{ OFPTableFeaturePropUnknown: { type: 0, data: '' } }] } }],
        },
      }),
    );
    expectOfpError(
      () =>
        encode({
          type: 'tableFeaturesStatsReply',
          xid: 0,
          flags: 0,
          body: [table(0, [{ kind: 'oxm', type: OFPTFPT.MATCH, oxmIds: [{ field: 'no_such', hasMask: false, length: 0 }] }])],
        }),
      OFPET.BAD_MATCH,
      OFPBMC.BAD_FIELD,
    );
  });
});

const ryuTable = { table_id: 0, name: 'x', metadata_match: 0, metadata_write: 0, config: 0, max_entries: 0 };

// ---- corrupted input ----

/** A multipart message of the given OFPT/OFPMP type with `bodyHex` as its body. */
function mp(ofpType: number, mpType: number, bodyHex: string): Buffer {
  const body = Buffer.from(bodyHex, 'hex');
  const b = Buffer.alloc(16 + body.length);
  b.writeUInt8(4, 0);
  b.writeUInt8(ofpType, 1);
  b.writeUInt16BE(b.length, 2);
  b.writeUInt16BE(mpType, 8);
  body.copy(b, 16);
  return b;
}

const featuresEntry = (propsHex: string, length?: number) => {
  const props = Buffer.from(propsHex, 'hex');
  const e = Buffer.alloc(64 + props.length);
  e.writeUInt16BE(length ?? e.length, 0);
  props.copy(e, 64);
  return e.toString('hex');
};

describe('corrupted input', () => {
  it('rejects a request body longer than the struct', () => {
    expectOfpError(() => decode(mp(18, OFPMP.DESC, '00')), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);
    expectOfpError(() => decode(mp(18, OFPMP.PORT_STATS, 'ffffffff0000000000')), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);
  });

  it('rejects an unknown multipart type', () => {
    expectOfpError(() => decode(mp(19, 99, '')), OFPET.BAD_REQUEST, OFPBRC.BAD_MULTIPART);
  });

  it('rejects flow stats entries with lying lengths, without looping', () => {
    const golden = readBytes('4-12-ofp_flow_stats_reply.packet');
    for (const len of [0, 8, 55, 0xffff]) {
      const b = Buffer.from(golden);
      b.writeUInt16BE(len, 16);
      expectOfpError(() => decode(b), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);
    }
    // An entry length that cuts the instructions short: the instruction list no longer fits.
    const b = Buffer.from(golden);
    const second = 16 + b.readUInt16BE(16);
    b.writeUInt16BE(b.readUInt16BE(second) - 8, second);
    expect(() => decode(b)).toThrow(OfpError);
    // A match length reaching beyond the entry.
    const c = Buffer.from(golden);
    c.writeUInt16BE(200, 16 + 48 + 2);
    expectOfpError(() => decode(c), OFPET.BAD_MATCH, OFPBMC.BAD_LEN);
    // An instruction of length 0 inside an entry.
    const d = Buffer.from(golden);
    d.writeUInt16BE(0, second + 48 + 16 + 2);
    expectOfpError(() => decode(d), OFPET.BAD_INSTRUCTION, OFPBIC.BAD_LEN);
  });

  it('rejects group and meter stats whose length is not the struct plus whole counters', () => {
    const g = Buffer.from(readBytes('4-58-ofp_group_stats_reply.packet'));
    g.writeUInt16BE(48, 16);
    expectOfpError(() => decode(g), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);
    g.writeUInt16BE(0, 16);
    expectOfpError(() => decode(g), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);
    const m = Buffer.from(readBytes('4-50-ofp_meter_stats_reply.packet'));
    m.writeUInt16BE(44, 16 + 4);
    expectOfpError(() => decode(m), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);
    m.writeUInt16BE(0, 16 + 4);
    expectOfpError(() => decode(m), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);
  });

  it('rejects group desc and meter config entries with lying lengths', () => {
    for (const [file, bad] of [
      ['4-34-ofp_group_desc_reply.packet', [0, 4, 41]],
      ['4-48-ofp_meter_config_reply.packet', [0, 7, 25]],
    ] as const) {
      for (const len of bad) {
        const b = Buffer.from(readBytes(file));
        b.writeUInt16BE(len, 16);
        expect(() => decode(b)).toThrow(OfpError);
      }
    }
  });

  it('rejects table feature entries and properties with lying lengths', () => {
    const ok = mp(19, OFPMP.TABLE_FEATURES, featuresEntry('0002000501000000'));
    expect(decode(ok)).toMatchObject({ body: [{ properties: [{ kind: 'nextTables', tableIds: [1] }] }] });
    // Entry length below 64, or beyond the message.
    expectOfpError(() => decode(mp(19, OFPMP.TABLE_FEATURES, featuresEntry('', 63))), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);
    expectOfpError(() => decode(mp(19, OFPMP.TABLE_FEATURES, featuresEntry('', 72))), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);
    const bad: string[] = [
      '00020000' + '00000000', // length 0 would loop
      '00020003' + '00000000', // below the header
      '00020011' + '00000000', // beyond the entry
      '00020005' + '01', // padding missing
      'fffe0008' + '00000065', // experimenter property without its exp_type
      'fffe000e' + '00000065000000010102' + '0000', // experimenter data not whole u32s
      '00000008' + '00010008', // instruction id longer than the property
      '00000008' + '00010000', // instruction id of length 0
      '00000006' + '0001' + '0000', // half an instruction id
      '00080006' + '8000' + '0000', // half an OXM id
      '000c0008' + 'ffff0007', // experimenter OXM id without its experimenter
      '0004000a' + '0000' + '0003000000000000', // action id below its header
    ];
    for (const props of bad) {
      expectOfpError(() => decode(mp(19, OFPMP.TABLE_FEATURES, featuresEntry(props))), OFPET.TABLE_FEATURES_FAILED, OFPTFFC.BAD_LEN);
    }
  });

  it('rejects an ONF flow monitor whose match overruns the message', () => {
    const b = Buffer.from(readBytes('4-63-onf_flow_monitor_request.packet'));
    b.writeUInt16BE(0x200, 24 + 16 + 6);
    expectOfpError(() => decode(b), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);
  });

  it('rejects malformed Ryu JSON with OfpError', () => {
    const bad: unknown[] = [
      { OFPPortStatsRequest: { flags: 0, port_no: 2 ** 32 } },
      { OFPPortStatsRequest: { flags: 0, port_no: -1 } },
      { OFPTableStatsReply: { flags: 0, body: [{ OFPPortStats: {} }] } },
      { OFPTableStatsReply: { flags: 0, body: [{ OFPTableStats: { table_id: 256, active_count: 0, lookup_count: 0, matched_count: 0 } }] } },
      { OFPDescStatsReply: { flags: 0, body: [] } },
      {
        OFPGroupFeaturesStatsReply: {
          flags: 0,
          body: { OFPGroupFeaturesStats: { types: 0, capabilities: 0, max_groups: [1, 2, 3], actions: [0, 0, 0, 0] } },
        },
      },
      {
        OFPTableFeaturesStatsReply: {
          flags: 0,
          body: [{ OFPTableFeaturesStats: { ...ryuTable, properties: [{ OFPTableFeaturePropNextTables: { type: 2, table_ids: [256] } }] } }],
        },
      },
      {
        OFPTableFeaturesStatsReply: {
          flags: 0,
          body: [
            { OFPTableFeaturesStats: { ...ryuTable, properties: [{ OFPTableFeaturePropOxm: { type: 8, oxm_ids: [{ OFPOxmId: { type: 7 } }] } }] } },
          ],
        },
      },
      {
        OFPTableFeaturesStatsReply: {
          flags: 0,
          body: [
            {
              OFPTableFeaturesStats: {
                ...ryuTable,
                properties: [{ OFPTableFeaturePropInstructions: { type: 0, instruction_ids: [{ OFPInstructionId: { type: 1, experimenter: 5 } }] } }],
              },
            },
          ],
        },
      },
      { OFPTableFeaturesStatsReply: { flags: 0, body: [{ OFPTableFeaturesStats: { ...ryuTable, properties: [{ OFPNoSuchProp: { type: 0 } }] } }] } },
      { ONFFlowMonitorStatsRequest: { flags: 0, experimenter: 1, exp_type: 1870, body: [] } },
      { OFPFlowStatsReply: { flags: 0, body: [{ OFPFlowStats: { table_id: 0 } }] } },
    ];
    for (const j of bad) expect(() => encode(fromRyuJson(j)), JSON.stringify(j)).toThrow(OfpError);
  });
});

// ---- the hot path ----

describe('flow stats reply decoding speed', () => {
  it('decodes a 100-entry reply quickly', () => {
    const entries: FlowStats[] = Array.from({ length: 100 }, (_, i) => ({
      tableId: i % 4,
      durationSec: i,
      durationNsec: 1000 * i,
      priority: 100 + i,
      idleTimeout: 0,
      hardTimeout: 0,
      flags: 0,
      cookie: BigInt(i),
      packetCount: BigInt(i * 10),
      byteCount: BigInt(i * 1000),
      match: [
        { field: 'in_port', value: i + 1 },
        { field: 'eth_type', value: 0x800 },
        { field: 'ipv4_src', value: `10.0.${i}.1` },
      ],
      instructions: [{ type: 'applyActions', actions: [{ type: 'output', port: (i % 8) + 1, maxLen: 0 }] }],
    }));
    const b = encode({ type: 'flowStatsReply', xid: 1, flags: 0, body: entries });
    expect((decode(b) as { body: FlowStats[] }).body).toEqual(entries);
    const n = 2000;
    for (let i = 0; i < 200; i++) decode(b);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) decode(b);
    const usPerReply = Number(process.hrtime.bigint() - t0) / 1000 / n;
    // Generous bound for slow CI machines; the benchmark (bench/) measures it properly.
    expect(usPerReply).toBeLessThan(2000);
  });
});
