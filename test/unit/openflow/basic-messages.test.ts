// The basic (non-multipart) message families: hello, error, echo, experimenter, features, switch config, role,
// async config, queue config, packet-in, flow-removed, port-status, port-mod, table-mod.
// Checked against Ryu's golden messages four ways, plus hand-built round trips and corrupted inputs.
//
// index.ts loads every family and cannot load until all exist, so this imports the registry and these families.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse } from 'lossless-json';
import { decode, encode, toRyuJson, fromRyuJson, format } from '../../../controller/openflow/registry.js';
import '../../../controller/openflow/hello.js';
import '../../../controller/openflow/error-msg.js';
import '../../../controller/openflow/echo.js';
import '../../../controller/openflow/experimenter.js';
import '../../../controller/openflow/features.js';
import '../../../controller/openflow/switch-config.js';
import '../../../controller/openflow/role.js';
import '../../../controller/openflow/async-config.js';
import '../../../controller/openflow/queue-config.js';
import '../../../controller/openflow/packet-in.js';
import '../../../controller/openflow/flow-removed.js';
import '../../../controller/openflow/port-status.js';
import '../../../controller/openflow/port-mod.js';
import '../../../controller/openflow/table-mod.js';
import { OfpError, OFPET, OFPBRC, OFPBMC, OFPBAC } from '../../../controller/openflow/errors.js';
import { OFP_SIZES, OFP_NO_BUFFER } from '../../../controller/openflow/constants.js';
import { Reader, Writer } from '../../../controller/openflow/buffer.js';
import { Port, readPort, writePort, portToRyu, portFromRyu, formatPort } from '../../../controller/openflow/port.js';
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
  ['4-4-ofp_packet_in.packet', 'OFPT_PACKET_IN'],
  ['4-59-ofp_packet_in.packet', 'OFPT_PACKET_IN'],
  ['4-5-ofp_features_request.packet', 'OFPT_FEATURES_REQUEST'],
  ['4-6-ofp_features_reply.packet', 'OFPT_FEATURES_REPLY'],
  ['4-7-ofp_set_config.packet', 'OFPT_SET_CONFIG'],
  ['4-8-ofp_get_config_request.packet', 'OFPT_GET_CONFIG_REQUEST'],
  ['4-9-ofp_get_config_reply.packet', 'OFPT_GET_CONFIG_REPLY'],
  ['4-10-ofp_hello.packet', 'OFPT_HELLO'],
  ['4-13-ofp_echo_request.packet', 'OFPT_ECHO_REQUEST'],
  ['4-14-ofp_echo_reply.packet', 'OFPT_ECHO_REPLY'],
  ['4-15-ofp_error_msg.packet', 'OFPT_ERROR'],
  ['4-41-ofp_error_msg_experimenter.packet', 'OFPT_ERROR'],
  ['4-16-ofp_experimenter.packet', 'OFPT_EXPERIMENTER'],
  ['4-19-ofp_role_request.packet', 'OFPT_ROLE_REQUEST'],
  ['4-20-ofp_role_reply.packet', 'OFPT_ROLE_REPLY'],
  ['4-22-ofp_port_mod.packet', 'OFPT_PORT_MOD'],
  ['4-23-ofp_table_mod.packet', 'OFPT_TABLE_MOD'],
  ['4-35-ofp_queue_get_config_request.packet', 'OFPT_QUEUE_GET_CONFIG_REQUEST'],
  ['4-36-ofp_queue_get_config_reply.packet', 'OFPT_QUEUE_GET_CONFIG_REPLY'],
  ['4-39-ofp_port_status.packet', 'OFPT_PORT_STATUS'],
  ['4-40-ofp_flow_removed.packet', 'OFPT_FLOW_REMOVED'],
  ['4-42-ofp_get_async_request.packet', 'OFPT_GET_ASYNC_REQUEST'],
  ['4-43-ofp_get_async_reply.packet', 'OFPT_GET_ASYNC_REPLY'],
  ['4-44-ofp_set_async.packet', 'OFPT_SET_ASYNC'],
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
  if (errType !== undefined) expect(e.errType).toBe(errType);
  if (code !== undefined) expect(e.code).toBe(code);
  return e;
}

describe.each(GOLDENS)('golden %s', (file, ofpName) => {
  const bytes = readBytes(file);
  const json = readJson(file);

  it('decodes to Ryu JSON', () => {
    expect(toRyuJson(decode(bytes))).toEqual(json);
  });

  it('encodes from Ryu JSON to the same bytes', () => {
    expect(encode(fromRyuJson(json, bytes.readUInt32BE(4))).toString('hex')).toBe(bytes.toString('hex'));
  });

  it('encodes from Ryu JSON without len/length keys to the same bytes', () => {
    expect(encode(fromRyuJson(withoutLengths(json), bytes.readUInt32BE(4))).toString('hex')).toBe(bytes.toString('hex'));
  });

  it('re-encodes its decoding byte for byte', () => {
    expect(encode(decode(bytes)).toString('hex')).toBe(bytes.toString('hex'));
  });

  it('formats as one line naming the message type', () => {
    const text = format(decode(bytes));
    expect(text.startsWith(`${ofpName} (OF1.3) (xid=0x0):`)).toBe(true);
    expect(text).not.toContain('\n');
    expect(text.length).toBeGreaterThan(ofpName.length);
  });

  it('rejects every truncation with OfpError', () => {
    for (let cut = 0; cut < bytes.length; cut++) {
      expectOfpError(() => decode(bytes.subarray(0, cut)), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);
    }
  });

  it('given a truncation with a matching header length, fails with OfpError or decodes losslessly', () => {
    for (let cut = 8; cut < bytes.length; cut++) {
      const b = Buffer.from(bytes.subarray(0, cut));
      b.writeUInt16BE(cut, 2);
      let msg: OfpMessage | undefined;
      try {
        msg = decode(b);
      } catch (e) {
        expect(e).toBeInstanceOf(OfpError);
        continue;
      }
      // A shorter but well-formed message (e.g. less packet data): it must re-encode exactly.
      expect(encode(msg).toString('hex')).toBe(b.toString('hex'));
    }
  });
});

/** decode(encode(m)) and fromRyuJson(toRyuJson(m)) both give m back, and format names the type. */
function roundTrip(m: OfpMessage, ofpName: string): Buffer {
  const bytes = encode(m);
  expect(bytes.readUInt16BE(2)).toBe(bytes.length);
  expect(decode(bytes)).toEqual(m);
  expect(fromRyuJson(toRyuJson(m), m.xid)).toEqual(m);
  const text = format(m);
  expect(text.startsWith(`${ofpName} (OF1.3) (xid=0x${m.xid.toString(16)}):`)).toBe(true);
  expect(text).not.toContain('\n');
  return bytes;
}

const port: Port = {
  portNo: 3,
  hwAddr: '0a:1b:2c:3d:4e:5f',
  name: 'eth3',
  config: 0x41,
  state: 0x5,
  curr: 0x2820,
  advertised: 0x2820,
  supported: 0x283f,
  peer: 0x2020,
  currSpeed: 1_000_000,
  maxSpeed: 10_000_000,
};

describe('hand-built round trips', () => {
  it('hello', () => {
    roundTrip({ type: 'hello', xid: 1, elements: [{ type: 'versionBitmap', versions: [1, 4] }] }, 'OFPT_HELLO');
    roundTrip({ type: 'hello', xid: 1, elements: [] }, 'OFPT_HELLO');
    // Two bitmap words: version 33 needs the second; the element is 12 bytes, padded to 16.
    const b = roundTrip({ type: 'hello', xid: 2, elements: [{ type: 'versionBitmap', versions: [4, 33] }] }, 'OFPT_HELLO');
    expect(b.toString('hex')).toBe('04000018000000020001000c000000100000000200000000');
  });

  it('hello with an unknown element keeps it losslessly', () => {
    const bytes = Buffer.from(
      '04000020000000070007000761626300' + // unknown element type 7, "abc", padded to 8
        '0001000800000010' + // version bitmap {4}
        '0009000c0102030405060708', // unknown element type 9, 8 bytes, unpadded at the end
      'hex',
    );
    bytes.writeUInt16BE(bytes.length, 2);
    const m = decode(bytes);
    expect(m).toEqual({
      type: 'hello',
      xid: 7,
      elements: [
        { type: 'unknown', elemType: 7, data: Buffer.from('abc') },
        { type: 'versionBitmap', versions: [4] },
        { type: 'unknown', elemType: 9, data: Buffer.from('0102030405060708', 'hex') },
      ],
    });
    const re = roundTrip(m, 'OFPT_HELLO');
    // The missing final padding is added on re-encoding.
    expect(re.toString('hex')).toBe(`${bytes.toString('hex').replace(/^(....)..../, '$10028')}00000000`);
    expect(toRyuJson(m)).toEqual({
      OFPHello: {
        elements: [
          { OFPHelloElemUnknown: { data: 'YWJj', length: 7, type: 7 } },
          { OFPHelloElemVersionBitmap: { length: 8, type: 1, versions: [4] } },
          { OFPHelloElemUnknown: { data: 'AQIDBAUGBwg=', length: 12, type: 9 } },
        ],
      },
    });
  });

  it('hello with an element length below its header is rejected', () => {
    expectOfpError(() => decode(Buffer.from('04000010000000000001000000000000', 'hex')), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);
    expectOfpError(() => decode(Buffer.from('04000010000000000001000700000000', 'hex')), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);
  });

  it('error', () => {
    const m = { type: 'error' as const, xid: 9, errType: OFPET.BAD_ACTION, code: OFPBAC.BAD_OUT_PORT, data: Buffer.from('040e0050', 'hex') };
    roundTrip(m, 'OFPT_ERROR');
    expect(format(m)).toBe('OFPT_ERROR (OF1.3) (xid=0x9): OFPBAC_BAD_OUT_PORT data_len=4 data=040e0050');
    const hello = { type: 'error' as const, xid: 0, errType: OFPET.HELLO_FAILED, code: 0, data: Buffer.from('no common version') };
    roundTrip(hello, 'OFPT_ERROR');
    expect(format(hello)).toContain('OFPHFC_INCOMPATIBLE "no common version"');
  });

  it('experimenter error', () => {
    const m = { type: 'error' as const, xid: 3, errType: OFPET.EXPERIMENTER, code: 5, expType: 5, experimenter: 0x2320, data: Buffer.from('xyz') };
    const b = roundTrip(m, 'OFPT_ERROR');
    expect(b.toString('hex')).toBe(`040100130000000` + `3ffff000500002320${Buffer.from('xyz').toString('hex')}`);
    expect(toRyuJson(m)).toEqual({ OFPErrorMsg: { code: null, data: 'eHl6', exp_type: 5, experimenter: 0x2320, type: 0xffff } });
    expect(format(m)).toContain('OFPET_EXPERIMENTER exp_type=5 experimenter=0x2320');
    // Too short for exp_type + experimenter.
    expectOfpError(() => decode(Buffer.from('0401000e00000000ffff00050000', 'hex')), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);
  });

  it('echo and experimenter', () => {
    roundTrip({ type: 'echoRequest', xid: 0x10, data: Buffer.from('ping') }, 'OFPT_ECHO_REQUEST');
    roundTrip({ type: 'echoReply', xid: 0x10, data: Buffer.alloc(0) }, 'OFPT_ECHO_REPLY');
    roundTrip({ type: 'experimenter', xid: 4, experimenter: 0x2320, expType: 0xffffffff, data: Buffer.from([1, 2, 3]) }, 'OFPT_EXPERIMENTER');
  });

  it('features', () => {
    roundTrip({ type: 'featuresRequest', xid: 5 }, 'OFPT_FEATURES_REQUEST');
    const m = {
      type: 'featuresReply' as const,
      xid: 5,
      datapathId: 0xfedcba9876543210n,
      nBuffers: 256,
      nTables: 254,
      auxiliaryId: 0,
      capabilities: 0x14f,
    };
    expect(roundTrip(m, 'OFPT_FEATURES_REPLY').length).toBe(OFP_SIZES.switchFeatures);
    expect(toRyuJson(m)).toEqual({
      OFPSwitchFeatures: { auxiliary_id: 0, capabilities: 0x14f, datapath_id: 0xfedcba9876543210n, n_buffers: 256, n_tables: 254 },
    });
    expect(format(m)).toContain(
      'dpid:fedcba9876543210 n_tables:254, n_buffers:256 capabilities: FLOW_STATS TABLE_STATS PORT_STATS GROUP_STATS QUEUE_STATS PORT_BLOCKED',
    );
  });

  it('switch config', () => {
    roundTrip({ type: 'getConfigRequest', xid: 6 }, 'OFPT_GET_CONFIG_REQUEST');
    expect(roundTrip({ type: 'getConfigReply', xid: 6, flags: 2, missSendLen: 0xffff }, 'OFPT_GET_CONFIG_REPLY').length).toBe(OFP_SIZES.switchConfig);
    roundTrip({ type: 'setConfig', xid: 6, flags: 1, missSendLen: 1500 }, 'OFPT_SET_CONFIG');
    expect(format({ type: 'setConfig', xid: 6, flags: 1, missSendLen: 1500 })).toContain('frags=drop miss_send_len=1500');
  });

  it('role', () => {
    expect(roundTrip({ type: 'roleRequest', xid: 7, role: 1, generationId: 0n }, 'OFPT_ROLE_REQUEST').length).toBe(OFP_SIZES.roleRequest);
    roundTrip({ type: 'roleReply', xid: 7, role: 2, generationId: 0xffffffffffffffffn }, 'OFPT_ROLE_REPLY');
    expect(format({ type: 'roleReply', xid: 7, role: 2, generationId: 12n })).toContain('role=primary generation_id=12');
  });

  it('async config', () => {
    roundTrip({ type: 'getAsyncRequest', xid: 8 }, 'OFPT_GET_ASYNC_REQUEST');
    const cfg = {
      packetInMask: [3, 0] as [number, number],
      portStatusMask: [7, 7] as [number, number],
      flowRemovedMask: [0xffffffff, 0] as [number, number],
    };
    expect(roundTrip({ type: 'getAsyncReply', xid: 8, ...cfg }, 'OFPT_GET_ASYNC_REPLY').length).toBe(OFP_SIZES.asyncConfig);
    roundTrip({ type: 'setAsync', xid: 8, ...cfg }, 'OFPT_SET_ASYNC');
    expectOfpError(() => fromRyuJson({ OFPSetAsync: { packet_in_mask: [1], port_status_mask: [0, 0], flow_removed_mask: [0, 0] } }));
  });

  it('queue config', () => {
    expect(roundTrip({ type: 'queueGetConfigRequest', xid: 9, port: 1 }, 'OFPT_QUEUE_GET_CONFIG_REQUEST').length).toBe(
      OFP_SIZES.queueGetConfigRequest,
    );
    const m = {
      type: 'queueGetConfigReply' as const,
      xid: 9,
      port: 1,
      queues: [
        { queueId: 0, port: 1, properties: [] },
        {
          queueId: 1,
          port: 1,
          properties: [
            { type: 'minRate' as const, rate: 100 },
            { type: 'maxRate' as const, rate: 0xffff },
            { type: 'experimenter' as const, experimenter: 0x2320, data: Buffer.from('abcdefgh') },
            { type: 'unknown' as const, property: 77, data: Buffer.from([9, 9, 9, 9, 9, 9, 9, 9]) },
          ],
        },
      ],
    };
    expect(roundTrip(m, 'OFPT_QUEUE_GET_CONFIG_REPLY').length).toBe(16 + 16 + 16 + 16 + 16 + 24 + 16);
    expect(format(m)).toContain('queue 1: min_rate:10.0% experimenter=0x2320(8 bytes)');
  });

  it('queue config rejects lying lengths without looping', () => {
    const good = encode({
      type: 'queueGetConfigReply',
      xid: 0,
      port: 1,
      queues: [{ queueId: 1, port: 1, properties: [{ type: 'minRate', rate: 5 }] }],
    });
    for (const [at, value] of [
      [24, 0],
      [24, 15],
      [24, 40],
      [34, 0],
      [34, 4],
      [34, 8],
      [34, 24],
    ] as const) {
      const b = Buffer.from(good);
      b.writeUInt16BE(value, at);
      expectOfpError(() => decode(b), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);
    }
  });

  it('packet-in', () => {
    const m = {
      type: 'packetIn' as const,
      xid: 0x1234,
      bufferId: OFP_NO_BUFFER,
      totalLen: 64,
      reason: 0,
      tableId: 3,
      cookie: 0xffffffffffffffffn,
      match: [
        { field: 'in_port', value: 7 },
        { field: 'eth_type', value: 0x0800 },
        { field: 'ipv4_src', value: '10.1.2.3' },
      ],
      data: Buffer.alloc(64, 0xab),
    };
    roundTrip(m, 'OFPT_PACKET_IN');
    expect(format(m)).toBe(
      'OFPT_PACKET_IN (OF1.3) (xid=0x1234): table_id=3 total_len=64 ip,in_port=7,nw_src=10.1.2.3 (via no_match) data_len=64 (unbuffered)',
    );
    for (const cookie of [0n, 1n, 0x8000000000000000n, 0xfffffffffffffffen, 0x00000001ffffffffn]) roundTrip({ ...m, cookie }, 'OFPT_PACKET_IN');
    const empty = { ...m, match: [], data: Buffer.alloc(0) };
    expect(roundTrip(empty, 'OFPT_PACKET_IN').length).toBe(OFP_SIZES.packetIn);
    // data is a view of the input, not a copy.
    const bytes = encode(m);
    const d = decode(bytes) as typeof m;
    expect(d.data.buffer).toBe(bytes.buffer);
  });

  it('packet-in cookies decode exactly once the decoder is optimized', () => {
    // The cookie reader relies on V8 compiling BigInt.asUintN(64, ...) to 64-bit arithmetic: check it against
    // Buffer.readBigUInt64BE over enough decodes for the optimizing compiler to have taken over.
    const bytes = encode({
      type: 'packetIn',
      xid: 0,
      bufferId: 1,
      totalLen: 0,
      reason: 1,
      tableId: 0,
      cookie: 0n,
      match: [{ field: 'in_port', value: 1 }],
      data: Buffer.alloc(0),
    });
    let seed = 12345;
    const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < 50_000; i++) {
      bytes.writeUInt32BE(rand(), 16);
      bytes.writeUInt32BE(i % 7 === 0 ? 0xffffffff : rand(), 20);
      const m = decode(bytes) as { cookie: bigint };
      if (m.cookie !== bytes.readBigUInt64BE(16)) expect(m.cookie).toBe(bytes.readBigUInt64BE(16));
    }
  });

  it('packet-in with a bad match length is a match error', () => {
    const bytes = encode({
      type: 'packetIn',
      xid: 0,
      bufferId: 1,
      totalLen: 0,
      reason: 1,
      tableId: 0,
      cookie: 0n,
      match: [{ field: 'in_port', value: 1 }],
      data: Buffer.alloc(0),
    });
    const b = Buffer.from(bytes);
    b.writeUInt16BE(3, 26); // ofp_match.length < 4
    expectOfpError(() => decode(b), OFPET.BAD_MATCH, OFPBMC.BAD_LEN);
    b.writeUInt16BE(200, 26);
    expectOfpError(() => decode(b), OFPET.BAD_MATCH, OFPBMC.BAD_LEN);
  });

  it('flow-removed', () => {
    const m = {
      type: 'flowRemoved' as const,
      xid: 11,
      cookie: 0xabcdef0123456789n,
      priority: 100,
      reason: 2,
      tableId: 5,
      durationSec: 10,
      durationNsec: 500_000_000,
      idleTimeout: 0,
      hardTimeout: 30,
      packetCount: 2n ** 60n,
      byteCount: 12345n,
      match: [{ field: 'eth_dst', value: '00:00:00:00:00:01', mask: 'ff:ff:ff:00:00:00' }],
    };
    roundTrip(m, 'OFPT_FLOW_REMOVED');
    expect(format(m)).toBe(
      'OFPT_FLOW_REMOVED (OF1.3) (xid=0xb): priority=100,dl_dst=00:00:00:00:00:01/ff:ff:ff:00:00:00 reason=delete table_id=5 ' +
        'cookie:0xabcdef0123456789 duration10.500s idle0 hard30 pkts1152921504606846976 bytes12345',
    );
    expect(roundTrip({ ...m, match: [] }, 'OFPT_FLOW_REMOVED').length).toBe(OFP_SIZES.flowRemoved);
  });

  it('port-status, port-mod, table-mod', () => {
    expect(roundTrip({ type: 'portStatus', xid: 12, reason: 2, desc: port }, 'OFPT_PORT_STATUS').length).toBe(OFP_SIZES.portStatus);
    expect(format({ type: 'portStatus', xid: 12, reason: 2, desc: port })).toBe(
      'OFPT_PORT_STATUS (OF1.3) (xid=0xc): MOD: 3(eth3): addr:0a:1b:2c:3d:4e:5f config: PORT_DOWN NO_PACKET_IN state: LINK_DOWN LIVE ' +
        'current: 1GB-FD COPPER AUTO_NEG advertised: 1GB-FD COPPER AUTO_NEG ' +
        'supported: 10MB-HD 10MB-FD 100MB-HD 100MB-FD 1GB-HD 1GB-FD COPPER AUTO_NEG peer: 1GB-FD AUTO_NEG speed: 1000 Mbps now, 10000 Mbps max',
    );
    const pm = { type: 'portMod' as const, xid: 13, portNo: 0xfffffffe, hwAddr: 'aa:bb:cc:dd:ee:ff', config: 1, mask: 1, advertise: 0 };
    expect(roundTrip(pm, 'OFPT_PORT_MOD').length).toBe(OFP_SIZES.portMod);
    expect(format(pm)).toContain('port: LOCAL: addr:aa:bb:cc:dd:ee:ff config: PORT_DOWN mask: PORT_DOWN advertise: UNCHANGED');
    expect(roundTrip({ type: 'tableMod', xid: 14, tableId: 1, config: 3 }, 'OFPT_TABLE_MOD').length).toBe(OFP_SIZES.tableMod);
  });
});

describe('ofp_port', () => {
  const enc = (p: Port) => {
    const w = new Writer(64);
    writePort(w, p);
    return w.toBuffer();
  };

  it('is 64 bytes and round-trips through bytes and Ryu JSON', () => {
    const b = enc(port);
    expect(b.length).toBe(64);
    expect(readPort(new Reader(b))).toEqual(port);
    expect(portFromRyu(portToRyu(port))).toEqual(port);
    expect(formatPort(port)).toContain('3(eth3): addr:0a:1b:2c:3d:4e:5f');
  });

  it('keeps UTF-8 names, cut at a character boundary with room for the NUL', () => {
    const p = { ...port, name: 'ポートポートポート' }; // 27 bytes of UTF-8
    const got = readPort(new Reader(enc(p)));
    expect(got.name).toBe('ポートポー'); // 5 characters of 3 bytes fit in 15
    expect(enc(p)[8 + 8 + 15]).toBe(0);
  });

  it('reads a name that is not UTF-8 as latin1', () => {
    const b = enc(port);
    b.set([0x65, 0xff, 0x66], 16);
    expect(readPort(new Reader(b)).name).toBe('e\xff\x663');
  });

  it('a truncated port is OFPBRC_BAD_LEN', () => {
    const b = enc(port);
    for (let n = 0; n < 64; n++) expectOfpError(() => readPort(new Reader(b, 0, n)), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);
  });
});

describe('fixed message sizes', () => {
  it('match OFP_SIZES', () => {
    expect(encode({ type: 'error', xid: 0, errType: 1, code: 6, data: Buffer.alloc(0) }).length).toBe(OFP_SIZES.errorMsg);
    expect(encode({ type: 'experimenter', xid: 0, experimenter: 1, expType: 1, data: Buffer.alloc(0) }).length).toBe(OFP_SIZES.experimenterHeader);
    expect(encode({ type: 'queueGetConfigReply', xid: 0, port: 1, queues: [] }).length).toBe(OFP_SIZES.queueGetConfigReply);
    expect(encode({ type: 'queueGetConfigReply', xid: 0, port: 1, queues: [{ queueId: 1, port: 1, properties: [] }] }).length).toBe(
      OFP_SIZES.queueGetConfigReply + OFP_SIZES.packetQueue,
    );
  });

  it('fixed-size bodies reject trailing bytes', () => {
    const b = Buffer.concat([readBytes('4-6-ofp_features_reply.packet'), Buffer.alloc(8)]);
    b.writeUInt16BE(b.length, 2);
    expectOfpError(() => decode(b), OFPET.BAD_REQUEST, OFPBRC.BAD_LEN);
  });
});
