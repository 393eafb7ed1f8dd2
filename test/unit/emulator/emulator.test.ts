// The switch emulator, driven by a tiny controller written here with net.createServer and our codec: handshake,
// flow-mod semantics, expiry, multipart reassembly, barriers, bundles, errors for bad bytes, roles, packet-in load,
// stalling, fleets, reconnection and TLS.
import net from 'node:net';
import tls from 'node:tls';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  decode,
  encode,
  Framer,
  OFPET,
  OFPBRC,
  OFPBAC,
  OFPBMC,
  OFPFMFC,
  OFPGMFC,
  OFPMMFC,
  OFPPMFC,
  OFPHFC,
  OFPRRFC,
  OFPFC,
  OFPFF,
  OFPRR,
  OFPR,
  OFPP,
  OFPG,
  OFPM,
  OFPMC,
  OFPMF,
  OFPPC,
  OFPPR,
  OFPPS,
  OFPTT,
  OFPCR_ROLE,
  OFPGC,
  OFPGT,
  OFP_NO_BUFFER,
  ONF_EXPERIMENTER_ID,
} from '../../../controller/openflow/index.js';
import type { OfpMessage, MessageOf, Match, Instruction } from '../../../controller/openflow/index.js';
import {
  EmulatedSwitch,
  EmulatedSwitchOptions,
  Fleet,
  OFPBCT,
  OFPBF,
  ONFBFC,
  bundleAddMsg,
  bundleCtrlMsg,
  asBundleCtrl,
} from '../../../emulator/index.js';

type FlowMod = MessageOf<'flowMod'>;
interface Entry {
  msg: OfpMessage;
  len: number;
  seq: number;
}
type Pred = (m: OfpMessage) => boolean;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The controller end of one switch connection. */
class Peer {
  readonly inbox: Entry[] = [];
  private waiters: { pred: Pred; resolve: (e: Entry) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  private framer = new Framer();
  private seq = 0;
  private nextXid = 1;
  /** Sees every message first; returning true consumes it (flood tests answer packet-ins here). */
  onMessage: ((m: OfpMessage) => boolean) | undefined;
  readonly closed: Promise<void>;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const raw of this.framer.push(chunk)) this.deliver({ msg: decode(raw), len: raw.length, seq: this.seq++ });
    });
    socket.on('error', () => {});
    this.closed = new Promise((r) => socket.on('close', () => r()));
  }

  private deliver(e: Entry): void {
    if (this.onMessage?.(e.msg)) return;
    const i = this.waiters.findIndex((w) => w.pred(e.msg));
    if (i < 0) return void this.inbox.push(e);
    const [w] = this.waiters.splice(i, 1);
    clearTimeout(w!.timer);
    w!.resolve(e);
  }

  xid(): number {
    return this.nextXid++;
  }

  send(...msgs: OfpMessage[]): void {
    this.socket.write(Buffer.concat(msgs.map((m) => encode(m))));
  }

  nextEntry(pred: Pred, timeoutMs = 5000): Promise<Entry> {
    const i = this.inbox.findIndex((e) => pred(e.msg));
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new Error(`no matching message within ${timeoutMs} ms; inbox: ${this.inbox.map((e) => e.msg.type).join(',')}`));
      }, timeoutMs);
      this.waiters.push({ pred, resolve, reject, timer });
    });
  }

  async next<T extends OfpMessage['type']>(type: T, pred: (m: MessageOf<T>) => boolean = () => true, timeoutMs?: number): Promise<MessageOf<T>> {
    return (await this.nextEntry((m) => m.type === type && pred(m as MessageOf<T>), timeoutMs)).msg as MessageOf<T>;
  }

  /** Sends with a fresh xid and waits for the message (reply or error) with that xid. */
  async request(msg: OfpMessage): Promise<OfpMessage> {
    const xid = this.xid();
    this.send({ ...msg, xid });
    return (await this.nextEntry((m) => m.xid === xid)).msg;
  }

  /** A multipart request: every reply up to the one without OFPMPF_REPLY_MORE, with their encoded lengths. */
  async multipart(msg: OfpMessage): Promise<Entry[]> {
    const xid = this.xid();
    this.send({ ...msg, xid });
    const out: Entry[] = [];
    for (;;) {
      const e = await this.nextEntry((m) => m.xid === xid);
      out.push(e);
      if (e.msg.type === 'error' || !((e.msg as { flags?: number }).flags! & 1)) return out;
    }
  }

  async barrier(): Promise<Entry> {
    const xid = this.xid();
    this.send({ type: 'barrierRequest', xid });
    return this.nextEntry((m) => m.type === 'barrierReply' && m.xid === xid);
  }

  async handshake(): Promise<MessageOf<'featuresReply'>> {
    this.send({ type: 'hello', xid: this.xid(), elements: [{ type: 'versionBitmap', versions: [4] }] });
    await this.next('hello');
    return (await this.request({ type: 'featuresRequest', xid: 0 })) as MessageOf<'featuresReply'>;
  }

  errors(): MessageOf<'error'>[] {
    return this.inbox.filter((e) => e.msg.type === 'error').map((e) => e.msg as MessageOf<'error'>);
  }
}

/** A listening "controller" handing out a Peer per accepted connection. */
class TestController {
  readonly peers: Peer[] = [];
  private waiting: ((p: Peer) => void)[] = [];
  onPeer: ((p: Peer) => void) | undefined;

  private constructor(readonly server: net.Server) {}

  static async start(tlsOpts?: tls.TlsOptions): Promise<TestController> {
    const accept = (s: net.Socket) => {
      const p = new Peer(s);
      ctl.peers.push(p);
      ctl.onPeer?.(p);
      const w = ctl.waiting.shift();
      if (w) w(p);
    };
    const server = tlsOpts ? tls.createServer(tlsOpts, accept) : net.createServer(accept);
    const ctl = new TestController(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return ctl;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** The next connection not yet handed out. */
  nextPeer(): Promise<Peer> {
    return new Promise((r) => this.waiting.push(r));
  }

  async close(): Promise<void> {
    for (const p of this.peers) p.socket.destroy();
    await new Promise((r) => this.server.close(() => r(undefined)));
  }
}

// ---- message builders ----

const ipv4Dst = (addr: string, mask?: string): Match => [
  { field: 'eth_type', value: 0x0800 },
  mask ? { field: 'ipv4_dst', value: addr, mask } : { field: 'ipv4_dst', value: addr },
];
const output = (port: number): Instruction[] => [{ type: 'applyActions', actions: [{ type: 'output', port, maxLen: 0xffe5 }] }];

function flowMod(p: Partial<FlowMod>): FlowMod {
  return {
    type: 'flowMod',
    xid: 0,
    cookie: 0n,
    cookieMask: 0n,
    tableId: 0,
    command: OFPFC.ADD,
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 100,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: 0,
    match: [],
    instructions: [],
    ...p,
  };
}

const outPortOf = (e: { instructions: Instruction[] } | undefined): number | undefined => {
  const i = e?.instructions[0];
  return i?.type === 'applyActions' && i.actions[0]?.type === 'output' ? i.actions[0].port : undefined;
};

// ---- fixtures ----

let ctl: TestController;
const switches: EmulatedSwitch[] = [];

async function connected(opts: Partial<EmulatedSwitchOptions> = {}): Promise<{ sw: EmulatedSwitch; peer: Peer }> {
  const sw = new EmulatedSwitch({ dpid: 0x42n, ports: 4, port: ctl.port, ...opts });
  switches.push(sw);
  const peerP = ctl.nextPeer();
  const done = sw.connect();
  const peer = await peerP;
  await peer.handshake();
  await done;
  return { sw, peer };
}

beforeAll(async () => {
  ctl = await TestController.start();
});

afterEach(async () => {
  await Promise.all(switches.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await ctl.close();
});

describe('EmulatedSwitch', () => {
  it('does the handshake and answers configuration, description and echo requests', async () => {
    const sw = new EmulatedSwitch({ dpid: 0x1234n, ports: 3, port: ctl.port });
    switches.push(sw);
    const handshakes: number[] = [];
    sw.on('handshake', () => handshakes.push(1));
    const peerP = ctl.nextPeer();
    const done = sw.connect();
    const peer = await peerP;
    const hello = await peer.next('hello');
    expect(hello.elements).toEqual([{ type: 'versionBitmap', versions: [4] }]);
    // A peer offering 1.3 among others in a newer header: the bitmap decides.
    const helloBytes = encode({ type: 'hello', xid: 1, elements: [{ type: 'versionBitmap', versions: [1, 4, 6] }] });
    helloBytes[0] = 6;
    peer.socket.write(helloBytes);
    const features = (await peer.request({ type: 'featuresRequest', xid: 0 })) as MessageOf<'featuresReply'>;
    await done;
    expect(sw.handshaken).toBe(true);
    expect(handshakes).toEqual([1]);
    expect(features).toMatchObject({ type: 'featuresReply', datapathId: 0x1234n, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0xf });

    const ports = await peer.multipart({ type: 'portDescStatsRequest', xid: 0, flags: 0 });
    const body = (ports[0]!.msg as MessageOf<'portDescStatsReply'>).body;
    expect(body.map((p) => p.portNo)).toEqual([1, 2, 3]);
    expect(new Set(body.map((p) => p.hwAddr)).size).toBe(3);
    const desc = (await peer.request({ type: 'descStatsRequest', xid: 0, flags: 0 })) as MessageOf<'descStatsReply'>;
    expect(desc.serialNum).toBe('0000000000001234');

    peer.send({ type: 'setConfig', xid: peer.xid(), flags: 0, missSendLen: 0xffff });
    expect(await peer.request({ type: 'getConfigRequest', xid: 0 })).toMatchObject({ type: 'getConfigReply', flags: 0, missSendLen: 0xffff });
    peer.send({ type: 'echoRequest', xid: 77, data: Buffer.from('ping') });
    expect(await peer.next('echoReply')).toEqual({ type: 'echoReply', xid: 77, data: Buffer.from('ping') });
    expect(await peer.request({ type: 'getAsyncRequest', xid: 0 })).toMatchObject({
      packetInMask: [7, 0],
      portStatusMask: [7, 7],
      flowRemovedMask: [15, 0],
    });
    peer.send({ type: 'setAsync', xid: peer.xid(), packetInMask: [1, 0], portStatusMask: [0, 0], flowRemovedMask: [4, 4] });
    expect(await peer.request({ type: 'getAsyncRequest', xid: 0 })).toMatchObject({ packetInMask: [1, 0], flowRemovedMask: [4, 4] });
    expect(peer.errors()).toEqual([]);
  });

  it('refuses a controller without OpenFlow 1.3 (OFPHFC_INCOMPATIBLE) and closes', async () => {
    const sw = new EmulatedSwitch({ dpid: 1n, port: ctl.port });
    switches.push(sw);
    const peerP = ctl.nextPeer();
    const done = sw.connect();
    const peer = await peerP;
    peer.send({ type: 'hello', xid: 9, elements: [{ type: 'versionBitmap', versions: [1, 5] }] });
    const err = await peer.next('error');
    expect(err).toMatchObject({ xid: 9, errType: OFPET.HELLO_FAILED, code: OFPHFC.INCOMPATIBLE });
    await expect(done).rejects.toThrow();
    await peer.closed;
  });

  it('applies flow-mods with OF1.3.5 §6.4 semantics', async () => {
    const { sw, peer } = await connected();
    const removed: MessageOf<'flowRemoved'>[] = [];
    peer.onMessage = (m) => (m.type === 'flowRemoved' ? (removed.push(m), true) : false);
    peer.send(
      flowMod({ xid: 1, match: ipv4Dst('10.0.0.1'), cookie: 0x11n, instructions: output(1) }),
      flowMod({ xid: 2, match: ipv4Dst('10.0.0.0', '255.255.255.0'), cookie: 0x12n, flags: OFPFF.SEND_FLOW_REM, instructions: output(2) }),
      flowMod({ xid: 3, match: ipv4Dst('10.0.0.1'), priority: 200, cookie: 0x21n, instructions: output(3) }),
    );
    await peer.barrier();
    expect(sw.flowCount()).toBe(3);
    // Lookup: highest priority first, masks honoured, prerequisites as fields.
    expect(outPortOf(sw.lookup({ in_port: 1, eth_type: 0x0800, ipv4_dst: '10.0.0.1' }))).toBe(3);
    expect(outPortOf(sw.lookup({ eth_type: 0x0800, ipv4_dst: '10.0.0.77' }))).toBe(2);
    expect(sw.lookup({ eth_type: 0x0800, ipv4_dst: '10.0.1.1' })).toBeUndefined();
    expect(sw.lookup({ eth_type: 0x86dd })).toBeUndefined();

    // CHECK_OVERLAP: same priority and a packet could match both -> OVERLAP; disjoint is fine.
    const overlap = await peer.request(
      flowMod({ match: ipv4Dst('10.0.0.128', '255.255.255.128'), flags: OFPFF.CHECK_OVERLAP, instructions: output(4) }),
    );
    expect(overlap).toMatchObject({ type: 'error', errType: OFPET.FLOW_MOD_FAILED, code: OFPFMFC.OVERLAP });
    peer.send(flowMod({ xid: 5, match: ipv4Dst('10.0.1.0', '255.255.255.0'), flags: OFPFF.CHECK_OVERLAP, instructions: output(4) }));
    // An identical match and priority replaces the entry (and keeps its counters).
    sw.lookup({ eth_type: 0x0800, ipv4_dst: '10.0.0.1' }, { bytes: 60 });
    peer.send(flowMod({ xid: 6, match: ipv4Dst('10.0.0.1'), priority: 200, cookie: 0x21n, instructions: output(5) }));
    await peer.barrier();
    expect(sw.flowCount()).toBe(4);
    const replaced = sw.lookup({ eth_type: 0x0800, ipv4_dst: '10.0.0.1' })!;
    expect(outPortOf(replaced)).toBe(5);
    expect(replaced.packetCount).toBe(1);

    // MODIFY (non-strict) with a cookie mask: every IPv4 entry whose cookie is 0x1?.
    peer.send(
      flowMod({
        xid: 7,
        command: OFPFC.MODIFY,
        match: [{ field: 'eth_type', value: 0x0800 }],
        cookie: 0x10n,
        cookieMask: 0xf0n,
        instructions: output(7),
      }),
    );
    await peer.barrier();
    const byCookie = () => new Map(sw.flows().map((e) => [e.cookie, outPortOf(e)]));
    expect(byCookie()).toEqual(
      new Map([
        [0x21n, 5],
        [0x11n, 7],
        [0x12n, 7],
        [0n, 4],
      ]),
    );
    // MODIFY_STRICT needs the same match and priority.
    peer.send(
      flowMod({ xid: 8, command: OFPFC.MODIFY_STRICT, match: ipv4Dst('10.0.0.0', '255.255.255.0'), priority: 101, instructions: output(8) }),
      flowMod({ xid: 9, command: OFPFC.MODIFY_STRICT, match: ipv4Dst('10.0.0.0', '255.255.255.0'), priority: 100, instructions: output(9) }),
    );
    await peer.barrier();
    expect(byCookie()).toEqual(
      new Map([
        [0x21n, 5],
        [0x11n, 7],
        [0x12n, 9],
        [0n, 4],
      ]),
    );

    // DELETE_STRICT: wrong priority deletes nothing; DELETE with out_port; DELETE with a cookie mask.
    peer.send(flowMod({ xid: 10, command: OFPFC.DELETE_STRICT, match: ipv4Dst('10.0.0.1'), priority: 99 }));
    peer.send(flowMod({ xid: 11, command: OFPFC.DELETE_STRICT, match: ipv4Dst('10.0.0.1'), priority: 100 }));
    await peer.barrier();
    expect([...byCookie().keys()].sort()).toEqual([0n, 0x12n, 0x21n]);
    peer.send(flowMod({ xid: 12, command: OFPFC.DELETE, tableId: OFPTT.ALL, outPort: 5 }));
    await peer.barrier();
    expect([...byCookie().keys()].sort()).toEqual([0n, 0x12n]);
    expect(removed).toEqual([]); // none of those had SEND_FLOW_REM
    peer.send(flowMod({ xid: 13, command: OFPFC.DELETE, tableId: OFPTT.ALL, cookie: 0x12n, cookieMask: 0xffn }));
    await peer.barrier();
    expect([...byCookie().keys()]).toEqual([0n]);
    expect(removed).toHaveLength(1);
    expect(removed[0]).toMatchObject({ reason: OFPRR.DELETE, cookie: 0x12n, priority: 100, tableId: 0, match: ipv4Dst('10.0.0.0', '255.255.255.0') });

    // Errors: bad table ids, a missing prerequisite, an unknown group, an unknown buffer.
    const err = async (m: FlowMod) => (await peer.request(m)) as MessageOf<'error'>;
    expect(await err(flowMod({ tableId: 254, instructions: output(1) }))).toMatchObject({
      errType: OFPET.FLOW_MOD_FAILED,
      code: OFPFMFC.BAD_TABLE_ID,
    });
    expect(await err(flowMod({ tableId: OFPTT.ALL, instructions: output(1) }))).toMatchObject({
      errType: OFPET.FLOW_MOD_FAILED,
      code: OFPFMFC.BAD_TABLE_ID,
    });
    expect(await err(flowMod({ match: [{ field: 'ipv4_dst', value: '1.2.3.4' }] }))).toMatchObject({
      errType: OFPET.BAD_MATCH,
      code: OFPBMC.BAD_PREREQ,
    });
    expect(await err(flowMod({ instructions: [{ type: 'applyActions', actions: [{ type: 'group', groupId: 5 }] }] }))).toMatchObject({
      errType: OFPET.BAD_ACTION,
      code: OFPBAC.BAD_OUT_GROUP,
    });
    expect(await err(flowMod({ bufferId: 7 }))).toMatchObject({ errType: OFPET.BAD_REQUEST, code: OFPBRC.BUFFER_UNKNOWN });
    expect(sw.flowCount()).toBe(1);
    // With the group in place the same flow-mod is accepted.
    peer.send({
      type: 'groupMod',
      xid: peer.xid(),
      command: OFPGC.ADD,
      groupType: OFPGT.ALL,
      groupId: 5,
      buckets: [{ weight: 0, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [{ type: 'output', port: 1, maxLen: 0 }] }],
    });
    peer.send(flowMod({ xid: peer.xid(), priority: 1, instructions: [{ type: 'applyActions', actions: [{ type: 'group', groupId: 5 }] }] }));
    expect(await peer.request({ type: 'groupMod', xid: 0, command: OFPGC.ADD, groupType: OFPGT.ALL, groupId: 5, buckets: [] })).toMatchObject({
      errType: OFPET.GROUP_MOD_FAILED,
      code: 0,
    });
    await peer.barrier();
    expect(sw.flowCount()).toBe(2);
    expect(peer.errors()).toEqual([]);
  });

  it('keeps groups and meters, with the spec errors, and reports ports', async () => {
    const { sw, peer } = await connected();
    const bucket = (port: number) => ({
      weight: 1,
      watchPort: OFPP.ANY,
      watchGroup: OFPG.ANY,
      actions: [{ type: 'output' as const, port, maxLen: 0 }],
    });
    const group = (command: number, groupId: number, ports: number[]): MessageOf<'groupMod'> => ({
      type: 'groupMod',
      xid: 0,
      command,
      groupType: OFPGT.SELECT,
      groupId,
      buckets: ports.map(bucket),
    });
    const meter = (command: number, meterId: number, rate = 1000): MessageOf<'meterMod'> => ({
      type: 'meterMod',
      xid: 0,
      command,
      flags: OFPMF.KBPS,
      meterId,
      bands: [{ type: 'drop', rate, burstSize: 0 }],
    });
    peer.send({ ...group(OFPGC.ADD, 1, [1, 2]), xid: peer.xid() }, { ...meter(OFPMC.ADD, 3), xid: peer.xid() });
    expect(await peer.request(group(OFPGC.ADD, 1, [3]))).toMatchObject({ errType: OFPET.GROUP_MOD_FAILED, code: OFPGMFC.GROUP_EXISTS });
    expect(await peer.request(group(OFPGC.MODIFY, 2, [3]))).toMatchObject({ errType: OFPET.GROUP_MOD_FAILED, code: OFPGMFC.UNKNOWN_GROUP });
    expect(await peer.request(group(OFPGC.ADD, OFPG.ALL, [3]))).toMatchObject({ errType: OFPET.GROUP_MOD_FAILED, code: OFPGMFC.INVALID_GROUP });
    expect(await peer.request(meter(OFPMC.ADD, 3))).toMatchObject({ errType: OFPET.METER_MOD_FAILED, code: OFPMMFC.METER_EXISTS });
    expect(await peer.request(meter(OFPMC.MODIFY, 4))).toMatchObject({ errType: OFPET.METER_MOD_FAILED, code: OFPMMFC.UNKNOWN_METER });
    expect(await peer.request(meter(OFPMC.ADD, 0))).toMatchObject({ errType: OFPET.METER_MOD_FAILED, code: OFPMMFC.INVALID_METER });
    expect(await peer.request(meter(OFPMC.ADD, 5, 0))).toMatchObject({ errType: OFPET.METER_MOD_FAILED, code: OFPMMFC.BAD_RATE });
    expect(await peer.request(flowMod({ instructions: [{ type: 'meter', meterId: 9 }] }))).toMatchObject({
      errType: OFPET.METER_MOD_FAILED,
      code: OFPMMFC.INVALID_METER,
    });
    peer.send({ ...group(OFPGC.MODIFY, 1, [2, 3, 4]), xid: peer.xid() }, { ...meter(OFPMC.MODIFY, 3, 2000), xid: peer.xid() });
    peer.send(
      flowMod({
        xid: peer.xid(),
        priority: 5,
        flags: OFPFF.SEND_FLOW_REM,
        instructions: [
          { type: 'meter', meterId: 3 },
          { type: 'applyActions', actions: [{ type: 'group', groupId: 1 }] },
        ],
      }),
    );
    const groups = (await peer.request({ type: 'groupDescStatsRequest', xid: 0, flags: 0 })) as MessageOf<'groupDescStatsReply'>;
    expect(groups.body).toEqual([{ groupType: OFPGT.SELECT, groupId: 1, buckets: [bucket(2), bucket(3), bucket(4)] }]);
    expect(await peer.request({ type: 'groupStatsRequest', xid: 0, flags: 0, groupId: OFPG.ALL })).toMatchObject({
      body: [{ groupId: 1, refCount: 1 }],
    });
    const meters = (await peer.request({
      type: 'meterConfigStatsRequest',
      xid: 0,
      flags: 0,
      meterId: OFPM.ALL,
    })) as MessageOf<'meterConfigStatsReply'>;
    expect(meters.body).toEqual([{ flags: OFPMF.KBPS, meterId: 3, bands: [{ type: 'drop', rate: 2000, burstSize: 0 }] }]);
    expect(await peer.request({ type: 'meterConfigStatsRequest', xid: 0, flags: 0, meterId: 8 })).toMatchObject({
      errType: OFPET.METER_MOD_FAILED,
      code: OFPMMFC.UNKNOWN_METER,
    });
    // Deleting a group takes the flows that use it along (reason GROUP_DELETE).
    peer.send({ ...group(OFPGC.DELETE, 1, []), xid: peer.xid() });
    expect(await peer.next('flowRemoved')).toMatchObject({ reason: OFPRR.GROUP_DELETE, priority: 5 });
    expect(sw.flowCount()).toBe(0);
    expect(sw.pipeline.meters.size).toBe(1);

    // Ports: port-mod (with the port's address), link changes, OFPT_PORT_STATUS.
    const p2 = sw.ports.get(2)!.desc;
    peer.send({ type: 'portMod', xid: peer.xid(), portNo: 2, hwAddr: p2.hwAddr, config: OFPPC.NO_PACKET_IN, mask: OFPPC.NO_PACKET_IN, advertise: 0 });
    expect(await peer.next('portStatus')).toMatchObject({ reason: OFPPR.MODIFY, desc: { portNo: 2, config: OFPPC.NO_PACKET_IN } });
    expect(sw.sendPacketIn({ frame: Buffer.alloc(60), inPort: 2 })).toBe(false);
    expect(await peer.request({ type: 'portMod', xid: 0, portNo: 9, hwAddr: p2.hwAddr, config: 0, mask: 0, advertise: 0 })).toMatchObject({
      errType: OFPET.PORT_MOD_FAILED,
      code: OFPPMFC.BAD_PORT,
    });
    expect(await peer.request({ type: 'portMod', xid: 0, portNo: 3, hwAddr: p2.hwAddr, config: 0, mask: 0, advertise: 0 })).toMatchObject({
      errType: OFPET.PORT_MOD_FAILED,
      code: OFPPMFC.BAD_HW_ADDR,
    });
    sw.setLink(3, false);
    expect(await peer.next('portStatus')).toMatchObject({ reason: OFPPR.MODIFY, desc: { portNo: 3, state: OFPPS.LINK_DOWN } });
    sw.addPort({ portNo: 7 });
    expect(await peer.next('portStatus')).toMatchObject({ reason: OFPPR.ADD, desc: { portNo: 7, state: OFPPS.LIVE } });
    // A packet-out to CONTROLLER comes back as an ACTION packet-in; outputs count as transmitted.
    peer.send({
      type: 'packetOut',
      xid: peer.xid(),
      bufferId: OFP_NO_BUFFER,
      inPort: OFPP.CONTROLLER,
      actions: [
        { type: 'output', port: OFPP.CONTROLLER, maxLen: 10 },
        { type: 'output', port: OFPP.FLOOD, maxLen: 0 },
      ],
      data: Buffer.alloc(100),
    });
    expect(await peer.next('packetIn')).toMatchObject({ reason: OFPR.ACTION, totalLen: 100, data: Buffer.alloc(10) });
    expect([...sw.ports.values()].map((p) => p.txPackets)).toEqual([1, 1, 0, 1, 1]); // port 3 is down
    expect(await peer.request({ type: 'packetOut', xid: 0, bufferId: 5, inPort: 1, actions: [], data: Buffer.alloc(0) })).toMatchObject({
      errType: OFPET.BAD_REQUEST,
      code: OFPBRC.BUFFER_UNKNOWN,
    });
    expect(peer.errors()).toEqual([]);
  });

  it('expires entries on hard and idle timeouts with FLOW_REMOVED', async () => {
    const { sw, peer } = await connected();
    const t0 = Date.now();
    peer.send(
      flowMod({ xid: 1, match: ipv4Dst('10.1.0.1'), hardTimeout: 1, cookie: 1n, flags: OFPFF.SEND_FLOW_REM, instructions: output(1) }),
      flowMod({ xid: 2, match: ipv4Dst('10.1.0.2'), idleTimeout: 1, cookie: 2n, flags: OFPFF.SEND_FLOW_REM, instructions: output(1) }),
      flowMod({ xid: 3, match: ipv4Dst('10.1.0.3'), hardTimeout: 1 }), // no SEND_FLOW_REM: goes silently
    );
    const hard = await peer.next('flowRemoved', (m) => m.cookie === 1n, 4000);
    const idle = await peer.next('flowRemoved', (m) => m.cookie === 2n, 4000);
    const elapsed = Date.now() - t0;
    expect(hard).toMatchObject({ reason: OFPRR.HARD_TIMEOUT, hardTimeout: 1, durationSec: 1, match: ipv4Dst('10.1.0.1') });
    expect(idle).toMatchObject({ reason: OFPRR.IDLE_TIMEOUT, idleTimeout: 1 });
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(2500);
    await sleep(150);
    expect(sw.flowCount()).toBe(0);
    expect(peer.inbox.filter((e) => e.msg.type === 'flowRemoved')).toEqual([]);
  });

  it('splits flow stats over REPLY_MORE replies that reassemble to all 3,000 flows', async () => {
    const { sw, peer } = await connected();
    const mods: FlowMod[] = [];
    for (let i = 0; i < 3000; i++) {
      mods.push(
        flowMod({
          xid: i + 1,
          cookie: BigInt(i),
          match: [{ field: 'in_port', value: 1 + (i % 4) }, ...ipv4Dst(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`)],
          instructions: output(2),
        }),
      );
    }
    peer.send(...mods);
    await peer.barrier();
    expect(sw.flowCount()).toBe(3000);
    const replies = await peer.multipart({
      type: 'flowStatsRequest',
      xid: 0,
      flags: 0,
      tableId: OFPTT.ALL,
      outPort: OFPP.ANY,
      outGroup: OFPG.ANY,
      cookie: 0n,
      cookieMask: 0n,
      match: [],
    });
    expect(replies.length).toBeGreaterThan(3);
    for (const [i, r] of replies.entries()) {
      expect(r.msg.type).toBe('flowStatsReply');
      expect(r.len).toBeLessThanOrEqual(65535);
      expect((r.msg as MessageOf<'flowStatsReply'>).flags).toBe(i < replies.length - 1 ? 1 : 0);
    }
    const all = replies.flatMap((r) => (r.msg as MessageOf<'flowStatsReply'>).body);
    expect(all).toHaveLength(3000);
    expect(new Set(all.map((f) => f.cookie)).size).toBe(3000);
    expect(all[0]).toMatchObject({ tableId: 0, priority: 100, instructions: output(2) });
    // Filters: a cookie mask and a match select a subset.
    const some = await peer.multipart({
      type: 'flowStatsRequest',
      xid: 0,
      flags: 0,
      tableId: 0,
      outPort: OFPP.ANY,
      outGroup: OFPG.ANY,
      cookie: 0n,
      cookieMask: 0n,
      match: [{ field: 'in_port', value: 3 }],
    });
    expect(some.flatMap((r) => (r.msg as MessageOf<'flowStatsReply'>).body)).toHaveLength(750);
    const agg = (await peer.request({
      type: 'aggregateStatsRequest',
      xid: 0,
      flags: 0,
      tableId: OFPTT.ALL,
      outPort: OFPP.ANY,
      outGroup: OFPG.ANY,
      cookie: 0x100n,
      cookieMask: 0xf00n,
      match: [],
    })) as MessageOf<'aggregateStatsReply'>;
    expect(agg.flowCount).toBe(256);
    const tables = await peer.multipart({ type: 'tableStatsRequest', xid: 0, flags: 0 });
    const tbody = tables.flatMap((r) => (r.msg as MessageOf<'tableStatsReply'>).body);
    expect(tbody).toHaveLength(254);
    expect(tbody[0]).toMatchObject({ tableId: 0, activeCount: 3000 });
    const stats = await peer.multipart({ type: 'portStatsRequest', xid: 0, flags: 0, portNo: OFPP.ANY });
    expect((stats[0]!.msg as MessageOf<'portStatsReply'>).body.map((p) => p.portNo)).toEqual([1, 2, 3, 4]);
  });

  it('answers a barrier only after everything before it, errors included', async () => {
    const { sw, peer } = await connected();
    const mods = Array.from({ length: 200 }, (_, i) =>
      flowMod({ xid: 1000 + i, tableId: i === 100 ? 254 : 0, match: ipv4Dst(`10.2.${i >> 8}.${i & 255}`), instructions: output(1) }),
    );
    let countAtBarrier = -1;
    peer.onMessage = (m) => {
      if (m.type === 'barrierReply') countAtBarrier = sw.flowCount();
      return false;
    };
    peer.send(...mods, { type: 'barrierRequest', xid: 5000 });
    const barrier = await peer.nextEntry((m) => m.type === 'barrierReply' && m.xid === 5000);
    const error = await peer.nextEntry((m) => m.type === 'error');
    expect(countAtBarrier).toBe(199);
    expect(error.msg).toMatchObject({ xid: 1100, errType: OFPET.FLOW_MOD_FAILED, code: OFPFMFC.BAD_TABLE_ID });
    expect(error.seq).toBeLessThan(barrier.seq);
    // The error carries the start of the offending request.
    expect((error.msg as MessageOf<'error'>).data).toEqual(encode(mods[100]!).subarray(0, 64));
  });

  it('commits ONF bundles all or nothing', async () => {
    const { sw, peer } = await connected();
    const ctrl = async (bundleId: number, type: number, flags: number = OFPBF.ATOMIC) => peer.request(bundleCtrlMsg(0, bundleId, type, flags));
    // A bundle add's inner xid must equal its own, so it cannot go through request()'s xid rewrite.
    const addReq = async (bundleId: number, inner: OfpMessage, flags = 0) => {
      const xid = peer.xid();
      peer.send(bundleAddMsg(xid, bundleId, inner, flags));
      return (await peer.nextEntry((m) => m.xid === xid)).msg;
    };
    peer.send(flowMod({ xid: peer.xid(), match: ipv4Dst('10.9.9.9'), cookie: 0x99n, flags: OFPFF.SEND_FLOW_REM, instructions: output(1) }));
    await peer.barrier();

    // Bundle 1: delete the existing flow, add two, and one that will fail at commit (unknown group).
    expect(asBundleCtrl(await ctrl(1, OFPBCT.OPEN_REQUEST))).toEqual({ bundleId: 1, ctrlType: OFPBCT.OPEN_REPLY, flags: 0 });
    const adds = [
      flowMod({ command: OFPFC.DELETE, tableId: OFPTT.ALL, cookie: 0x99n, cookieMask: ~0n & 0xffffffffffffffffn }),
      flowMod({ match: ipv4Dst('10.3.0.1'), instructions: output(1) }),
      flowMod({ match: ipv4Dst('10.3.0.2'), instructions: output(2) }),
      flowMod({ match: ipv4Dst('10.3.0.3'), instructions: [{ type: 'applyActions', actions: [{ type: 'group', groupId: 77 }] }] }),
    ];
    const addXids = adds.map(() => peer.xid());
    peer.send(...adds.map((m, i) => bundleAddMsg(addXids[i]!, 1, m, OFPBF.ATOMIC)));
    // A flow-mod that is wrong in itself is refused when it is added (as Open vSwitch does).
    const badAdd = await addReq(1, flowMod({ tableId: 254, match: ipv4Dst('10.3.0.4') }), OFPBF.ATOMIC);
    expect(badAdd).toMatchObject({ type: 'error', errType: OFPET.FLOW_MOD_FAILED, code: OFPFMFC.BAD_TABLE_ID });
    expect(asBundleCtrl(await ctrl(1, OFPBCT.CLOSE_REQUEST))?.ctrlType).toBe(OFPBCT.CLOSE_REPLY);
    expect(sw.flowCount()).toBe(1); // nothing applied before the commit
    const commitXid = peer.xid();
    peer.send(bundleCtrlMsg(commitXid, 1, OFPBCT.COMMIT_REQUEST, OFPBF.ATOMIC));
    const failing = await peer.nextEntry((m) => m.type === 'error' && m.xid === addXids[3]);
    const commitErr = await peer.nextEntry((m) => m.xid === commitXid);
    expect(failing.msg).toMatchObject({ errType: OFPET.BAD_ACTION, code: OFPBAC.BAD_OUT_GROUP });
    expect(commitErr.msg).toMatchObject({
      type: 'error',
      errType: OFPET.EXPERIMENTER,
      expType: ONFBFC.MSG_FAILED,
      experimenter: ONF_EXPERIMENTER_ID,
    });
    expect(failing.seq).toBeLessThan(commitErr.seq);
    await peer.barrier();
    expect(sw.flows().map((e) => e.cookie)).toEqual([0x99n]); // the delete was rolled back too
    expect(peer.inbox.some((e) => e.msg.type === 'flowRemoved')).toBe(false);
    // The bundle is gone after a failed commit.
    expect(await ctrl(1, OFPBCT.COMMIT_REQUEST)).toMatchObject({ errType: OFPET.EXPERIMENTER, expType: ONFBFC.BAD_ID });

    // Bundle 2 (opened implicitly by its first add): all good, so all applied at once.
    peer.send(...adds.slice(0, 3).map((m) => bundleAddMsg(peer.xid(), 2, m)));
    await peer.barrier();
    expect(sw.flowCount()).toBe(1);
    expect(asBundleCtrl(await ctrl(2, OFPBCT.COMMIT_REQUEST, 0))?.ctrlType).toBe(OFPBCT.COMMIT_REPLY);
    expect(
      sw
        .flows()
        .map((e) => outPortOf(e))
        .sort(),
    ).toEqual([1, 2]);
    expect(await peer.next('flowRemoved')).toMatchObject({ cookie: 0x99n, reason: OFPRR.DELETE });

    // Discard, unknown ids, mismatched flags, unknown control types, unbundlable messages.
    expect(asBundleCtrl(await ctrl(3, OFPBCT.OPEN_REQUEST))?.ctrlType).toBe(OFPBCT.OPEN_REPLY);
    expect(asBundleCtrl(await ctrl(3, OFPBCT.DISCARD_REQUEST))?.ctrlType).toBe(OFPBCT.DISCARD_REPLY);
    expect(await ctrl(3, OFPBCT.DISCARD_REQUEST)).toMatchObject({ expType: ONFBFC.BAD_ID });
    expect(asBundleCtrl(await ctrl(4, OFPBCT.OPEN_REQUEST))?.ctrlType).toBe(OFPBCT.OPEN_REPLY);
    expect(await ctrl(4, OFPBCT.CLOSE_REQUEST, 0)).toMatchObject({ expType: ONFBFC.BAD_FLAGS });
    expect(await ctrl(5, OFPBCT.OPEN_REPLY)).toMatchObject({ expType: ONFBFC.BAD_TYPE });
    expect(await addReq(6, { type: 'echoRequest', xid: 0, data: Buffer.alloc(0) })).toMatchObject({ expType: ONFBFC.MSG_UNSUP });
    // The inner xid must be the outer one.
    const wrongXid = bundleAddMsg(0, 6, flowMod({}));
    wrongXid.data.writeUInt32BE(0xdead, 8 + 4);
    expect(await peer.request(wrongXid)).toMatchObject({ expType: ONFBFC.MSG_BAD_XID });
    expect(peer.errors()).toEqual([]);
  });

  it('answers bad bytes with OFPT_ERROR and keeps going', async () => {
    const { peer } = await connected();
    const raw = (bytes: number[] | Buffer) => peer.socket.write(Buffer.from(bytes));
    const errorFor = (xid: number) => peer.next('error', (m) => m.xid === xid);
    raw([4, 99, 0, 8, 0, 0, 0, 1]);
    expect(await errorFor(1)).toMatchObject({ errType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_TYPE, data: Buffer.from([4, 99, 0, 8, 0, 0, 0, 1]) });
    raw([5, 2, 0, 8, 0, 0, 0, 2]);
    expect(await errorFor(2)).toMatchObject({ errType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_VERSION });
    // A flow-mod whose instruction claims 12 bytes.
    const fm = encode(flowMod({ xid: 3, instructions: output(1) }));
    fm.writeUInt16BE(12, 56 + 2);
    raw(fm);
    expect(await errorFor(3)).toMatchObject({ errType: OFPET.BAD_INSTRUCTION, code: 7 /* OFPBIC_BAD_LEN */ });
    // A flow-mod cut short (header length fixed up to match).
    const cut = encode(flowMod({ xid: 4 })).subarray(0, 40);
    cut.writeUInt16BE(40, 2);
    raw(cut);
    expect(await errorFor(4)).toMatchObject({ errType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN });
    // An unknown multipart type, an unknown experimenter, a message only switches send.
    raw([4, 18, 0, 16, 0, 0, 0, 5, 0, 99, 0, 0, 0, 0, 0, 0]);
    expect(await errorFor(5)).toMatchObject({ errType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_MULTIPART });
    peer.send({ type: 'experimenter', xid: 6, experimenter: 0x1234, expType: 1, data: Buffer.alloc(0) });
    expect(await errorFor(6)).toMatchObject({ errType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_EXPERIMENTER });
    peer.send({ type: 'experimenter', xid: 7, experimenter: ONF_EXPERIMENTER_ID, expType: 1, data: Buffer.alloc(0) });
    expect(await errorFor(7)).toMatchObject({ errType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_EXP_TYPE });
    peer.send({
      type: 'packetIn',
      xid: 8,
      bufferId: OFP_NO_BUFFER,
      totalLen: 0,
      reason: 0,
      tableId: 0,
      cookie: 0n,
      match: [],
      data: Buffer.alloc(0),
    });
    expect(await errorFor(8)).toMatchObject({ errType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_TYPE });
    peer.send({ type: 'tableFeaturesStatsRequest', xid: 9, flags: 0, body: [] });
    expect(await errorFor(9)).toMatchObject({ errType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_MULTIPART });
    // Still talking.
    expect(await peer.request({ type: 'echoRequest', xid: 0, data: Buffer.from('ok') })).toMatchObject({ type: 'echoReply' });
    // A length below the header size cannot be framed past: error, then the switch hangs up.
    raw([4, 2, 0, 4, 0, 0, 0, 10]);
    expect(await errorFor(10)).toMatchObject({ errType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN });
    await peer.closed;
  });

  it('follows role requests and generation ids (OF1.3.5 §6.3.6)', async () => {
    const { sw, peer } = await connected();
    const role = (r: number, gen: bigint) => peer.request({ type: 'roleRequest', xid: 0, role: r, generationId: gen });
    expect(await role(OFPCR_ROLE.NOCHANGE, 0n)).toMatchObject({ type: 'roleReply', role: OFPCR_ROLE.EQUAL, generationId: 0xffffffffffffffffn });
    expect(await role(OFPCR_ROLE.MASTER, 10n)).toMatchObject({ type: 'roleReply', role: OFPCR_ROLE.MASTER, generationId: 10n });
    expect(await role(OFPCR_ROLE.SLAVE, 9n)).toMatchObject({ type: 'error', errType: OFPET.ROLE_REQUEST_FAILED, code: OFPRRFC.STALE });
    expect(await role(OFPCR_ROLE.NOCHANGE, 0n)).toMatchObject({ role: OFPCR_ROLE.MASTER, generationId: 10n });
    expect(await role(OFPCR_ROLE.SLAVE, 11n)).toMatchObject({ role: OFPCR_ROLE.SLAVE, generationId: 11n });
    expect(sw.role).toBe(OFPCR_ROLE.SLAVE);
    // A slave may not change the switch, and gets no packet-ins by default.
    expect(await peer.request(flowMod({}))).toMatchObject({ type: 'error', errType: OFPET.BAD_REQUEST, code: OFPBRC.IS_SLAVE });
    expect(sw.sendPacketIn({ frame: Buffer.alloc(60) })).toBe(false);
    // Equal ignores the generation id.
    expect(await role(OFPCR_ROLE.EQUAL, 3n)).toMatchObject({ role: OFPCR_ROLE.EQUAL, generationId: 11n });
    // Generation ids compare in wrapping 64-bit order: 2^64-2 is "before" 11, 2^63+5 after it, and 3 after that.
    expect(await role(OFPCR_ROLE.MASTER, 0xfffffffffffffffen)).toMatchObject({ type: 'error', code: OFPRRFC.STALE });
    expect(await role(OFPCR_ROLE.MASTER, (1n << 63n) + 5n)).toMatchObject({ role: OFPCR_ROLE.MASTER, generationId: (1n << 63n) + 5n });
    expect(await role(OFPCR_ROLE.MASTER, 3n)).toMatchObject({ role: OFPCR_ROLE.MASTER, generationId: 3n });
    expect(await role(7, 3n)).toMatchObject({ type: 'error', errType: OFPET.ROLE_REQUEST_FAILED, code: OFPRRFC.BAD_ROLE });
    // The generation id outlives the connection; the role does not.
    const peerP = ctl.nextPeer();
    const again = sw.reconnect();
    const peer2 = await peerP;
    await peer2.handshake();
    await again;
    expect(await peer2.request({ type: 'roleRequest', xid: 0, role: OFPCR_ROLE.NOCHANGE, generationId: 0n })).toMatchObject({
      role: OFPCR_ROLE.EQUAL,
      generationId: 3n,
    });
    expect(await peer2.request({ type: 'roleRequest', xid: 0, role: OFPCR_ROLE.MASTER, generationId: 2n })).toMatchObject({ code: OFPRRFC.STALE });
  });

  it('sends packet-ins at a rate and in flood mode, and measures packet-in -> flow-mod latency', async () => {
    const { sw, peer } = await connected();
    let packetIns = 0;
    let answer = 0;
    peer.onMessage = (m) => {
      if (m.type !== 'packetIn') return false;
      packetIns++;
      // A learning-switch-like answer: one flow-mod per packet-in.
      peer.send(
        flowMod({
          xid: ++answer,
          match: [
            { field: 'in_port', value: 1 },
            { field: 'eth_dst', value: '00:00:00:00:00:01' },
          ],
          instructions: output(2),
        }),
      );
      return true;
    };
    const frame = Buffer.alloc(60, 0xab);
    // Every packet-in sent has reached the controller and its answer has been applied.
    const settled = async () => {
      const until = Date.now() + 5000;
      while (packetIns < sw.counters.packetInsSent && Date.now() < until) await sleep(10);
      await peer.barrier();
    };
    const rated = sw.startPacketIns({ rate: 200, frame, durationMs: 500 });
    await rated.done;
    await settled();
    expect(rated.sent).toBe(100); // 200/s for 0.5 s
    expect(rated.dropped).toBe(0);
    expect(packetIns).toBe(rated.sent);
    expect(sw.counters.flowModsReceived).toBe(rated.sent);
    const lat = sw.latency.summary();
    expect(lat.count).toBeGreaterThan(50); // at 200/s each packet-in is answered before the next
    expect(lat.p50).toBeGreaterThan(0);
    expect(lat.p50).toBeLessThan(50);

    const flood = sw.startPacketIns({ rate: 'flood', frame, durationMs: 300 });
    await flood.done;
    await settled();
    expect(flood.sent).toBeGreaterThan(200);
    expect(packetIns).toBe(rated.sent + flood.sent);
    expect(sw.counters.packetInsSent).toBe(rated.sent + flood.sent);
    expect(sw.counters.flowModsReceived).toBe(packetIns);

    // miss_send_len truncates a table-miss packet-in; total_len stays the frame's length.
    peer.onMessage = undefined;
    peer.send({ type: 'setConfig', xid: peer.xid(), flags: 0, missSendLen: 64 });
    await peer.barrier();
    expect(sw.sendPacketIn({ frame: Buffer.alloc(200, 1), inPort: 3 })).toBe(true);
    const pin = await peer.next('packetIn');
    expect(pin).toMatchObject({ reason: OFPR.NO_MATCH, totalLen: 200, bufferId: OFP_NO_BUFFER, match: [{ field: 'in_port', value: 3 }] });
    expect(pin.data.length).toBe(64);
    // A packet through the pipeline: the table-miss entry sends it to the controller, a hit forwards it.
    peer.send(
      flowMod({ xid: peer.xid(), priority: 0, instructions: output(OFPP.CONTROLLER) }),
      flowMod({ xid: peer.xid(), priority: 10, match: [{ field: 'in_port', value: 4 }], instructions: output(1) }),
    );
    await peer.barrier();
    expect(sw.injectPacket(2, Buffer.alloc(80))).toMatchObject({ packetIn: true, outputs: [] });
    expect(await peer.next('packetIn')).toMatchObject({ reason: OFPR.NO_MATCH, totalLen: 80 });
    expect(sw.injectPacket(4, Buffer.alloc(80))).toMatchObject({ packetIn: false, outputs: [1] });
  });

  it('expectFlowMods: byte-identical flow-mods (xid aside) are counted as answers without decoding; others take the full path', async () => {
    const { sw, peer } = await connected();
    const answer = flowMod({
      xid: 0,
      match: [
        { field: 'in_port', value: 1 },
        { field: 'eth_dst', value: '00:00:00:00:00:01' },
      ],
      instructions: output(2),
    });
    sw.expectFlowMods(encode(answer));
    let emitted = 0;
    sw.on('message', (m: OfpMessage) => {
      if (m.type === 'flowMod') emitted++;
    });
    for (let i = 0; i < 20; i++) peer.send({ ...answer, xid: 100 + i });
    // Differing in one byte (the output port), or in length: full path, applied to the table.
    const other = flowMod({
      xid: 0,
      match: [
        { field: 'in_port', value: 1 },
        { field: 'eth_dst', value: '00:00:00:00:00:01' },
      ],
      instructions: output(3),
    });
    peer.send({ ...other, xid: 200 }, { ...other, xid: 201, match: [{ field: 'in_port', value: 1 }] });
    await peer.barrier();
    expect(sw.counters.flowModsReceived).toBe(22);
    expect(sw.counters.flowModsAsExpected).toBe(20);
    expect(emitted).toBe(2);
    expect(sw.pipeline.flowCount(0)).toBe(2); // the two others only: the expected ones were not applied
    sw.expectFlowMods(undefined);
    peer.send({ ...answer, xid: 300 });
    await peer.barrier();
    expect(sw.counters.flowModsAsExpected).toBe(20);
    expect(emitted).toBe(3);
  });

  it("stalls: stops reading so that the controller's writes back up, then catches up", async () => {
    const { sw, peer } = await connected();
    sw.stall();
    const data = Buffer.alloc(60_000, 7);
    const n = 400;
    for (let i = 0; i < n; i++) peer.send({ type: 'echoRequest', xid: 10_000 + i, data });
    await sleep(300);
    expect(peer.socket.writableLength).toBeGreaterThan(1_000_000);
    const before = sw.counters.messagesIn;
    await sleep(100);
    expect(sw.counters.messagesIn).toBe(before);
    let replies = 0;
    peer.onMessage = (m) => (m.type === 'echoReply' ? (replies++, true) : false);
    sw.resume();
    const until = Date.now() + 10_000;
    while (replies < n && Date.now() < until) await sleep(20);
    expect(replies).toBe(n);
    expect(peer.socket.writableLength).toBe(0);
  });

  it('starts a fleet of switches, each with its own dpid, and stops it', async () => {
    const fleetCtl = await TestController.start();
    const seen: bigint[] = [];
    fleetCtl.onPeer = (p) => {
      p.handshake().then(
        (f) => seen.push(f.datapathId),
        () => {},
      );
    };
    const fleet = new Fleet({ count: 25, port: fleetCtl.port, ports: 2 });
    try {
      await fleet.start();
      expect(fleet.switches.every((s) => s.handshaken)).toBe(true);
      await sleep(20);
      expect(seen.sort((a, b) => Number(a - b))).toEqual(Array.from({ length: 25 }, (_, i) => BigInt(i + 1)));
      expect(fleet.get(7n)?.dpid).toBe(7n);
      expect(fleet.totals().messagesOut).toBeGreaterThanOrEqual(50); // hello + features reply each
    } finally {
      await fleet.stop();
      await Promise.all(fleetCtl.peers.map((p) => p.closed));
      await fleetCtl.close();
    }
    expect(fleet.switches.some((s) => s.connected)).toBe(false);
  });

  it('keeps its flows across a reconnection, and reconnects by itself when asked to', async () => {
    const { sw, peer } = await connected({ reconnectDelayMs: 50 });
    peer.send(flowMod({ xid: 1, match: ipv4Dst('10.4.0.1'), instructions: output(1) }));
    await peer.barrier();
    const peerP = ctl.nextPeer();
    peer.socket.destroy(); // the controller goes away
    const peer2 = await peerP;
    await peer2.handshake();
    const stats = await peer2.multipart({
      type: 'flowStatsRequest',
      xid: 0,
      flags: 0,
      tableId: OFPTT.ALL,
      outPort: OFPP.ANY,
      outGroup: OFPG.ANY,
      cookie: 0n,
      cookieMask: 0n,
      match: [],
    });
    expect((stats[0]!.msg as MessageOf<'flowStatsReply'>).body.map((f) => f.match)).toEqual([ipv4Dst('10.4.0.1')]);
    expect(sw.handshaken).toBe(true);
  });

  describe('over TLS', () => {
    let dir: string;
    const pem = (name: string) => readFileSync(join(dir, name));

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'dmzgate-emu-tls-'));
      const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
      const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
      ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=test-ca', '-days', '1');
      writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
      for (const who of ['ctl', 'sw']) {
        ssl('req', ...ec, '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who}`);
        ssl(
          'x509',
          '-req',
          '-in',
          `${who}.csr`,
          '-CA',
          'ca.crt',
          '-CAkey',
          'ca.key',
          '-CAcreateserial',
          '-out',
          `${who}.crt`,
          '-days',
          '1',
          '-extfile',
          'san.ext',
        );
      }
    });

    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('does the handshake with mutual authentication', async () => {
      const tctl = await TestController.start({
        key: pem('ctl.key'),
        cert: pem('ctl.crt'),
        ca: pem('ca.crt'),
        requestCert: true,
        rejectUnauthorized: true,
      });
      const sw = new EmulatedSwitch({ dpid: 5n, port: tctl.port, tls: { key: pem('sw.key'), cert: pem('sw.crt'), ca: pem('ca.crt') } });
      switches.push(sw);
      try {
        const peerP = tctl.nextPeer();
        const done = sw.connect();
        const peer = await peerP;
        expect((await peer.handshake()).datapathId).toBe(5n);
        await done;
        expect((peer.socket as tls.TLSSocket).getPeerCertificate().subject?.CN).toBe('sw');
      } finally {
        await sw.close();
        await tctl.close();
      }
    });
  });
});
