// An OpenFlow 1.3 switch, emulated on our codec, for tests and benchmarks of the controller. As far as a controller
// can see it behaves like Open vSwitch: the handshake (§6.3.1, §7.5.1), configuration, roles with generation ids
// (§6.3.6), flow/group/meter programming (§6.4, flow-table.ts), statistics split over OFPMPF_REPLY_MORE replies
// (multipart.ts), ONF bundles (bundle.ts), flow expiry with OFPT_FLOW_REMOVED, and OFPT_ERROR with the spec's
// type/code for whatever it cannot decode or does not support. It sends packet-ins on demand or at a rate
// (traffic.ts), and can stop reading its socket (`stall()`) to make a controller's writes back up.
//
// Memory: one switch holds a framer, a small output writer and maps that grow with the flows it is given, so a
// hundred of them fit in one test process. Replies are batched: everything answered while handling one socket
// chunk goes out in one write.
import net from 'node:net';
import tls from 'node:tls';
import { EventEmitter } from 'node:events';
import {
  decode,
  encodeInto,
  format,
  Framer,
  Writer,
  OfpError,
  OFPET,
  OFPBRC,
  OFPHFC,
  OFPRRFC,
  OFPTMFC,
  OFPT,
  OFPCR_ROLE,
  OFPC,
  OFPR,
  OFPPC,
  OFPTT,
  OFPFF,
  OFPCML,
  OFP_VERSION,
  OFP_NO_BUFFER,
  ONF_EXPERIMENTER_ID,
} from '../controller/openflow/index.js';
import type { OfpMessage, MessageOf, Port, Match } from '../controller/openflow/index.js';
import { Pipeline, FlowEntry, durationOf } from './flow-table.js';
import { Dataplane, InjectResult, PacketInRequest, PortSpec } from './dataplane.js';
import type { PacketFields } from './match.js';
import { PortState, StatsSource, SwitchDesc, answerMultipart, answerQueueConfig } from './multipart.js';
import { OnfBundles } from './bundle-state.js';
import { Traffic, TrafficOptions, LatencyRecorder, PacketInSink } from './traffic.js';

export type { PortSpec, InjectResult } from './dataplane.js';

export interface EmulatedSwitchOptions {
  dpid: bigint;
  /** A number of ports (numbered 1..n), or their descriptions. Default 4. */
  ports?: number | PortSpec[];
  host?: string;
  port?: number;
  /** Default 254 (tables 0..253). */
  nTables?: number;
  tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer; rejectUnauthorized?: boolean; servername?: string };
  desc?: Partial<SwitchDesc>;
  maxFlowsPerTable?: number;
  /** Whether the switch takes ONF bundles (EXT-230); false: it answers them as an unknown experimenter. Default true. */
  bundles?: boolean;
  /**
   * Answer OFPMP_TABLE_FEATURES requests with this max_entries for every table (no properties), as a switch with a
   * fixed table size does. Default: the request is refused as unsupported (OFPBRC_BAD_MULTIPART).
   */
  reportTableSize?: number;
  /** Body bytes per multipart reply before it is split (default: as much as a message holds). */
  maxReplyBody?: number;
  /** Send an echo request after this long without input, and drop the connection after twice as long. 0: never. */
  echoIntervalMs?: number;
  /** Reconnect this long after losing the connection (not after disconnect()). Default: no reconnection. */
  reconnectDelayMs?: number;
  connectTimeoutMs?: number;
  /** Gets every message in (`<- `) and out (`-> `) as ovs-ofctl-like text (format()); packet-ins excepted (they can be millions). */
  trace?: (line: string) => void;
}

export interface SwitchCounters {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  packetInsSent: number;
  packetInsDropped: number;
  flowModsReceived: number;
  packetOutsReceived: number;
  errorsSent: number;
  flowRemovedSent: number;
  /** Flow-mods found byte-identical (xid aside) to the one set with expectFlowMods(), and so not decoded. */
  flowModsAsExpected: number;
}

type Deferred = { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void };

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((a, b) => {
    resolve = a;
    reject = b;
  });
  promise.catch(() => {}); // nobody may be waiting
  return { promise, resolve, reject };
}

const ALL_ONES_64 = 0xffffffffffffffffn;
const CAPABILITIES = OFPC.FLOW_STATS | OFPC.TABLE_STATS | OFPC.PORT_STATS | OFPC.GROUP_STATS;

/** One controller connection: what OpenFlow scopes to it (role, async config, bundles). */
class Conn {
  framer = new Framer();
  out = new Writer(2048);
  flushQueued = false;
  closed = false;
  helloDone = false;
  handshakeDone = false;
  error: Error | undefined;
  role: number = OFPCR_ROLE.EQUAL;
  // Async masks (§7.3.10), [master/equal, slave], with Open vSwitch's defaults: a slave gets port status only.
  packetInMask: [number, number] = [0x7, 0];
  portStatusMask: [number, number] = [0x7, 0x7];
  flowRemovedMask: [number, number] = [0xf, 0];
  readonly bundles = new OnfBundles();
  lastRx = performance.now();
  echoTimer: NodeJS.Timeout | undefined;
  readonly hello = deferred();
  readonly handshake = deferred();
  constructor(readonly socket: net.Socket) {}

  /** Index into the async masks for this connection's role. */
  get maskIndex(): number {
    return this.role === OFPCR_ROLE.SLAVE ? 1 : 0;
  }
}

/**
 * Events: 'connect' (TCP/TLS up, HELLO sent), 'handshake' (features request answered), 'message' (every message
 * decoded from the controller), 'protocolError' ({ xid, errType, code, message } of each OFPT_ERROR sent),
 * 'flowRemoved' (entry, OFPRR_* reason; whether or not the controller is told), 'disconnect' (error, if any),
 * 'internalError' (a bug of the emulator, also answered with OFPBRC_EPERM).
 */
export class EmulatedSwitch extends EventEmitter {
  readonly dpid: bigint;
  readonly pipeline: Pipeline;
  readonly dataplane: Dataplane;
  readonly counters: SwitchCounters = {
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    packetInsSent: 0,
    packetInsDropped: 0,
    flowModsReceived: 0,
    packetOutsReceived: 0,
    errorsSent: 0,
    flowRemovedSent: 0,
    flowModsAsExpected: 0,
  };
  /** packet-in -> flow-mod/packet-out round trips, when exactly one packet-in was outstanding. */
  readonly latency = new LatencyRecorder();
  /** OFPT_SET_CONFIG state (switch-wide, kept across connections). */
  configFlags = 0;
  missSendLen = 128;
  private readonly opts: EmulatedSwitchOptions;
  private readonly stats: StatsSource;
  private conn: Conn | undefined;
  private generationId: bigint | undefined;
  private wantConnected = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private isStalled = false;
  private traffic: Traffic | undefined;
  private outstanding = 0;
  private probeAt = 0;
  private template: { frame: Buffer; inPort: number; missSendLen: number; bytes: Buffer } | undefined;
  private expectedFlowMod: Buffer | undefined;

  constructor(opts: EmulatedSwitchOptions) {
    super();
    this.opts = opts;
    this.dpid = opts.dpid;
    this.pipeline = new Pipeline({
      nTables: opts.nTables ?? 254,
      maxFlows: opts.maxFlowsPerTable,
      onRemoved: (e, reason) => this.onFlowRemoved(e, reason),
    });
    const specs = typeof opts.ports === 'object' ? opts.ports : Array.from({ length: opts.ports ?? 4 }, (_, i) => ({ portNo: i + 1 }));
    this.dataplane = new Dataplane(opts.dpid, specs, this.pipeline, {
      packetIn: (p) => this.sendPacketIn(p),
      portStatus: (reason, desc) => this.sendPortStatus(reason, desc),
    });
    const hexDpid = opts.dpid.toString(16).padStart(16, '0');
    this.stats = {
      pipeline: this.pipeline,
      ports: this.dataplane.ports,
      maxReplyBody: opts.maxReplyBody,
      tableSize: opts.reportTableSize,
      desc: {
        mfrDesc: 'dmzgate',
        hwDesc: 'emulated OpenFlow 1.3 switch',
        swDesc: 'dmzgate test emulator',
        serialNum: hexDpid,
        dpDesc: `emulated switch dpid ${hexDpid}`,
        ...opts.desc,
      },
    };
  }

  // ---- connection ----

  get connected(): boolean {
    return this.conn !== undefined && !this.conn.closed;
  }

  /** The controller has sent its features request (the OpenFlow handshake is done). */
  get handshaken(): boolean {
    return this.connected && this.conn!.handshakeDone;
  }

  /** This connection's role (OFPCR_ROLE_*). */
  get role(): number {
    return this.conn?.role ?? OFPCR_ROLE.EQUAL;
  }

  /**
   * Connects and sends HELLO; resolves when the controller's features request has been answered ('handshake'),
   * when its HELLO has arrived ('hello'), or as soon as TCP/TLS is up ('tcp').
   */
  async connect(opts: { waitFor?: 'tcp' | 'hello' | 'handshake' } = {}): Promise<void> {
    if (this.connected) throw new Error(`switch ${this.dpid} is already connected`);
    this.wantConnected = true;
    clearTimeout(this.reconnectTimer);
    const host = this.opts.host ?? '127.0.0.1';
    const port = this.opts.port ?? 6653;
    const t = this.opts.tls;
    const socket = t
      ? tls.connect({
          host,
          port,
          key: t.key,
          cert: t.cert,
          ca: t.ca,
          rejectUnauthorized: t.rejectUnauthorized ?? true,
          servername: t.servername ?? (net.isIP(host) ? undefined : host),
        })
      : net.connect({ host, port });
    const conn = new Conn(socket);
    this.conn = conn;
    this.isStalled = false;
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('error', (e) => {
      conn.error = e;
    });
    socket.on('close', () => this.onClose(conn));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => socket.destroy(new Error(`connect to ${host}:${port} timed out`)), this.opts.connectTimeoutMs ?? 10_000);
      const done = (e?: Error) => {
        clearTimeout(timer);
        socket.off('close', onClose);
        if (e) reject(e);
        else resolve();
      };
      const onClose = () => done(conn.error ?? new Error(`connection to ${host}:${port} closed`));
      socket.once(t ? 'secureConnect' : 'connect', () => done());
      socket.once('close', onClose);
    });
    socket.setNoDelay(true);
    // §6.3.1: both sides send HELLO at once; ours offers only OpenFlow 1.3.
    this.send({ type: 'hello', xid: 0, elements: [{ type: 'versionBitmap', versions: [OFP_VERSION] }] }, conn);
    if (this.opts.echoIntervalMs) this.startEcho(conn, this.opts.echoIntervalMs);
    this.emit('connect');
    if (opts.waitFor === 'tcp') return;
    await (opts.waitFor === 'hello' ? conn.hello.promise : conn.handshake.promise);
  }

  /** Resolves once the current connection's handshake is done. */
  whenHandshake(): Promise<void> {
    if (!this.conn) return Promise.reject(new Error('not connected'));
    return this.conn.handshake.promise;
  }

  /** Closes the connection (the flow tables stay, as on a real switch). */
  async disconnect(): Promise<void> {
    this.wantConnected = false;
    clearTimeout(this.reconnectTimer);
    this.stopPacketIns();
    const c = this.conn;
    if (!c || c.closed) return;
    this.flush(c);
    await new Promise<void>((resolve) => {
      c.socket.once('close', () => resolve());
      if (this.isStalled) c.socket.destroy();
      else c.socket.end();
      setTimeout(() => c.socket.destroy(), 500).unref();
    });
  }

  async reconnect(opts?: { waitFor?: 'tcp' | 'hello' | 'handshake' }): Promise<void> {
    await this.disconnect();
    await this.connect(opts);
  }

  /** Disconnects and stops the flow expiry timer: the switch is done with. */
  async close(): Promise<void> {
    await this.disconnect();
    this.pipeline.close();
  }

  /** Stops reading from the socket, so that the controller's writes back up in its own queue. */
  stall(): void {
    this.isStalled = true;
    this.conn?.socket.pause();
  }

  resume(): void {
    this.isStalled = false;
    this.conn?.socket.resume();
  }

  get stalled(): boolean {
    return this.isStalled;
  }

  private onClose(conn: Conn): void {
    conn.closed = true;
    clearInterval(conn.echoTimer);
    const err = conn.error ?? new Error('connection closed');
    conn.hello.reject(err);
    conn.handshake.reject(err);
    if (this.conn !== conn) return;
    this.outstanding = 0;
    this.emit('disconnect', conn.error);
    if (this.wantConnected && this.opts.reconnectDelayMs !== undefined) this.scheduleReconnect(this.opts.reconnectDelayMs);
  }

  private scheduleReconnect(delay: number): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      if (!this.wantConnected || this.connected) return;
      this.connect({ waitFor: 'tcp' }).catch(() => this.scheduleReconnect(delay));
    }, delay);
    this.reconnectTimer.unref();
  }

  private startEcho(conn: Conn, interval: number): void {
    let xid = 0x7e000000;
    conn.echoTimer = setInterval(() => {
      const idle = performance.now() - conn.lastRx;
      if (idle > 2 * interval) conn.socket.destroy(new Error('controller inactive'));
      else if (idle > interval) this.send({ type: 'echoRequest', xid: xid++, data: Buffer.alloc(0) }, conn);
    }, interval / 2);
    conn.echoTimer.unref();
  }

  /**
   * For load generation: from now on, a flow-mod whose bytes equal `expected` (its xid aside) is counted
   * (flowModsReceived, flowModsAsExpected) and timed as an answer, but not decoded, emitted or applied to the
   * tables: a byte comparison checks all of it at a fraction of a decode's cost, so that a benchmark's emulated
   * switches are not what limits the controller under test. Any other flow-mod takes the full path. undefined:
   * back to the full path for all.
   */
  expectFlowMods(expected: Buffer | undefined): void {
    this.expectedFlowMod = expected;
  }

  /** Whether `raw` is the expected flow-mod (every byte but the xid's). */
  private isExpectedFlowMod(raw: Buffer): boolean {
    const e = this.expectedFlowMod!;
    return raw.length === e.length && raw.compare(e, 0, 4, 0, 4) === 0 && raw.compare(e, 8, e.length, 8, raw.length) === 0;
  }

  // ---- output ----

  /** Sends a message on the current connection; false if there is none. Replies are batched per input chunk. */
  send(msg: OfpMessage, conn = this.conn): boolean {
    if (!conn || conn.closed) return false;
    encodeInto(conn.out, msg);
    this.opts.trace?.(`${this.dpid} -> ${format(msg)}`);
    this.counters.messagesOut++;
    this.scheduleFlush(conn);
    return true;
  }

  private scheduleFlush(conn: Conn): void {
    if (conn.flushQueued) return;
    conn.flushQueued = true;
    queueMicrotask(() => this.flush(conn));
  }

  private flush(conn: Conn): void {
    conn.flushQueued = false;
    if (conn.closed || conn.out.pos === 0) return;
    const buf = conn.out.toBuffer();
    conn.out.reset();
    if (conn.out.buf.length > 1 << 18) conn.out = new Writer(2048); // give back a burst's memory
    this.counters.bytesOut += buf.length;
    conn.socket.write(buf);
  }

  private sendError(conn: Conn, xid: number, e: OfpError, data: Buffer): void {
    const experimenter = (e as OfpError & { experimenter?: number }).experimenter;
    const msg: MessageOf<'error'> = { type: 'error', xid, errType: e.errType, code: e.code, data };
    if (e.errType === OFPET.EXPERIMENTER) Object.assign(msg, { expType: e.code, experimenter: experimenter ?? 0 });
    this.counters.errorsSent++;
    this.send(msg, conn);
    this.emit('protocolError', { xid, errType: e.errType, code: e.code, message: e.message });
  }

  /** Answers a request that failed: the OfpError's type/code, and the request's first 64 bytes (§7.4.4). */
  private replyError(conn: Conn, raw: Buffer, e: unknown): void {
    const xid = raw.readUInt32BE(4);
    if (e instanceof OfpError) return this.sendError(conn, xid, e, e.data ?? raw.subarray(0, Math.min(raw.length, 64)));
    // A bug of the emulator: tell the controller something failed, and the test through an event.
    this.emit('internalError', e);
    this.sendError(conn, xid, new OfpError(OFPET.BAD_REQUEST, OFPBRC.EPERM, String(e)), raw.subarray(0, Math.min(raw.length, 64)));
  }

  // ---- input ----

  private onData(conn: Conn, chunk: Buffer): void {
    if (conn.closed) return;
    this.counters.bytesIn += chunk.length;
    conn.lastRx = performance.now();
    let frames: Buffer[];
    try {
      frames = conn.framer.push(chunk);
    } catch (e) {
      // A length below the header size: the stream cannot be framed past it, so the connection ends.
      const err = e as OfpError;
      const data = err.data ?? Buffer.alloc(0);
      this.sendError(conn, data.length >= 8 ? data.readUInt32BE(4) : 0, err, data);
      this.flush(conn);
      conn.socket.end();
      conn.closed = true;
      return;
    }
    for (const raw of frames) {
      if (conn.closed) return;
      this.counters.messagesIn++;
      if (!conn.helloDone) {
        this.onHello(conn, raw);
        continue;
      }
      if (raw[1] === OFPT.FLOW_MOD && this.expectedFlowMod && conn.role !== OFPCR_ROLE.SLAVE && this.isExpectedFlowMod(raw)) {
        this.counters.flowModsReceived++;
        this.counters.flowModsAsExpected++;
        this.noteAnswer();
        continue;
      }
      let msg: OfpMessage;
      try {
        msg = decode(raw);
      } catch (e) {
        this.replyError(conn, raw, e);
        continue;
      }
      this.emit('message', msg);
      this.opts.trace?.(`${this.dpid} <- ${format(msg)}`);
      try {
        this.dispatch(conn, msg, raw);
      } catch (e) {
        this.replyError(conn, raw, e);
      }
    }
  }

  /** §6.3.1 version negotiation: a common version in the bitmap, or without one the lower of the two versions. */
  private onHello(conn: Conn, raw: Buffer): void {
    if (raw[1] !== OFPT.HELLO) return this.helloFailed(conn, raw, 'the first message was not OFPT_HELLO');
    let versions: number[] | undefined;
    try {
      // The codec decodes OpenFlow 1.3 only; a hello's body is the same in every version.
      const copy = Buffer.from(raw);
      copy[0] = OFP_VERSION;
      const hello = decode(copy);
      if (hello.type === 'hello') {
        for (const e of hello.elements) if (e.type === 'versionBitmap') versions = e.versions;
        this.emit('message', hello);
      }
    } catch (e) {
      this.replyError(conn, raw, e);
      return this.helloFailed(conn, raw, 'unreadable hello');
    }
    const ok = versions ? versions.includes(OFP_VERSION) : raw[0]! >= OFP_VERSION;
    if (!ok)
      return this.helloFailed(
        conn,
        raw,
        `no common version: we support 0x04, peer ${versions ? `offers ${versions.join(',')}` : `sent 0x${raw[0]!.toString(16)}`}`,
      );
    conn.helloDone = true;
    conn.hello.resolve();
  }

  private helloFailed(conn: Conn, raw: Buffer, text: string): void {
    this.sendError(conn, raw.readUInt32BE(4), new OfpError(OFPET.HELLO_FAILED, OFPHFC.INCOMPATIBLE, text), Buffer.from(text, 'latin1'));
    this.flush(conn);
    conn.socket.end();
    conn.closed = true;
  }

  /** Messages that change the switch, refused to a slave controller (§6.3.6). */
  private requireWrite(conn: Conn): void {
    if (conn.role === OFPCR_ROLE.SLAVE) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.IS_SLAVE, 'the controller is a slave');
  }

  private dispatch(conn: Conn, msg: OfpMessage, raw: Buffer): void {
    const xid = msg.xid;
    switch (msg.type) {
      case 'hello':
      case 'error':
      case 'echoReply':
        return; // a second hello is harmless; an error is never answered with one
      case 'echoRequest':
        this.send({ type: 'echoReply', xid, data: msg.data }, conn);
        return;
      case 'featuresRequest':
        this.send(
          {
            type: 'featuresReply',
            xid,
            datapathId: this.dpid,
            nBuffers: 0,
            nTables: this.pipeline.nTables,
            auxiliaryId: 0,
            capabilities: CAPABILITIES,
          },
          conn,
        );
        if (!conn.handshakeDone) {
          conn.handshakeDone = true;
          conn.handshake.resolve();
          this.emit('handshake');
        }
        return;
      case 'getConfigRequest':
        this.send({ type: 'getConfigReply', xid, flags: this.configFlags, missSendLen: this.missSendLen }, conn);
        return;
      case 'setConfig':
        this.configFlags = msg.flags;
        this.missSendLen = msg.missSendLen;
        return;
      case 'barrierRequest':
        // Messages are applied in order as they arrive, so everything before the barrier is done.
        this.send({ type: 'barrierReply', xid }, conn);
        return;
      case 'roleRequest':
        return this.onRole(conn, msg);
      case 'getAsyncRequest':
        this.send(
          {
            type: 'getAsyncReply',
            xid,
            packetInMask: [...conn.packetInMask],
            portStatusMask: [...conn.portStatusMask],
            flowRemovedMask: [...conn.flowRemovedMask],
          },
          conn,
        );
        return;
      case 'setAsync':
        conn.packetInMask = [...msg.packetInMask];
        conn.portStatusMask = [...msg.portStatusMask];
        conn.flowRemovedMask = [...msg.flowRemovedMask];
        return;
      case 'flowMod':
        this.counters.flowModsReceived++;
        this.noteAnswer();
        this.requireWrite(conn);
        this.pipeline.flowMod(msg);
        return;
      case 'packetOut':
        this.counters.packetOutsReceived++;
        this.noteAnswer();
        this.requireWrite(conn);
        return this.dataplane.packetOut(msg);
      case 'groupMod':
        this.requireWrite(conn);
        return this.pipeline.groupMod(msg);
      case 'meterMod':
        this.requireWrite(conn);
        return this.pipeline.meterMod(msg);
      case 'portMod':
        this.requireWrite(conn);
        return this.dataplane.portMod(msg);
      case 'tableMod':
        this.requireWrite(conn);
        if (msg.tableId !== OFPTT.ALL && msg.tableId >= this.pipeline.nTables) {
          throw new OfpError(OFPET.TABLE_MOD_FAILED, OFPTMFC.BAD_TABLE, `table ${msg.tableId}`);
        }
        return;
      case 'queueGetConfigRequest':
        this.send(answerQueueConfig(this.stats, msg), conn);
        return;
      case 'experimenter':
        if (msg.experimenter !== ONF_EXPERIMENTER_ID || this.opts.bundles === false) {
          throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_EXPERIMENTER, `experimenter 0x${msg.experimenter.toString(16)}`);
        }
        this.requireWrite(conn);
        for (const reply of conn.bundles.handle(msg, raw, this.pipeline, (xid2, e, data) => this.sendError(conn, xid2, e, data))) {
          this.send(reply, conn);
        }
        return;
      default: {
        const replies = answerMultipart(this.stats, msg);
        if (!replies) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_TYPE, `a switch does not take ${msg.type}`);
        for (const r of replies) this.send(r, conn);
      }
    }
  }

  /**
   * §6.3.6: master and slave claims carry a generation id, refused as OFPRRFC_STALE if it is older (in 64-bit
   * wrapping order) than the newest one seen; equal and nochange ignore it. The reply carries the role and the
   * switch's generation id (all ones while none has been set).
   */
  private onRole(conn: Conn, msg: MessageOf<'roleRequest'>): void {
    if (msg.role > OFPCR_ROLE.SLAVE) throw new OfpError(OFPET.ROLE_REQUEST_FAILED, OFPRRFC.BAD_ROLE, `role ${msg.role}`);
    if (msg.role === OFPCR_ROLE.MASTER || msg.role === OFPCR_ROLE.SLAVE) {
      if (this.generationId !== undefined && BigInt.asIntN(64, msg.generationId - this.generationId) < 0n) {
        throw new OfpError(OFPET.ROLE_REQUEST_FAILED, OFPRRFC.STALE, `generation id ${msg.generationId} < ${this.generationId}`);
      }
      this.generationId = msg.generationId;
    }
    if (msg.role !== OFPCR_ROLE.NOCHANGE) conn.role = msg.role;
    this.send({ type: 'roleReply', xid: msg.xid, role: conn.role, generationId: this.generationId ?? ALL_ONES_64 }, conn);
  }

  // ---- ports ----

  get ports(): Map<number, PortState> {
    return this.dataplane.ports;
  }

  private sendPortStatus(reason: number, desc: Port): void {
    const c = this.conn;
    if (!c || c.closed || !c.helloDone || !(c.portStatusMask[c.maskIndex]! & (1 << reason))) return;
    this.send({ type: 'portStatus', xid: 0, reason, desc: { ...desc } }, c);
  }

  /** Adds a port and tells the controller (OFPPR_ADD). */
  addPort(spec: PortSpec): void {
    this.dataplane.addPort(spec);
  }

  /** Removes a port and tells the controller (OFPPR_DELETE). */
  removePort(portNo: number): void {
    this.dataplane.removePort(portNo);
  }

  /** Link up/down, as a cable plugged or pulled: OFPPS_LIVE/LINK_DOWN and OFPPR_MODIFY. */
  setLink(portNo: number, up: boolean): void {
    this.dataplane.setLink(portNo, up);
  }

  /** Plugs a cable into a port (see cable.ts; undefined unplugs it). */
  setCable(portNo: number, deliver: ((frame: Buffer) => void) | undefined): void {
    this.dataplane.setCable(portNo, deliver);
  }

  // ---- packets ----

  /**
   * Sends a packet-in (unless the async config, the role or the port's NO_PACKET_IN says not to). A table-miss
   * packet-in carries at most miss_send_len bytes of the frame, an action one at most max_len (§7.4.1);
   * total_len is always the frame's length. Returns whether it was sent.
   */
  sendPacketIn(p: Partial<PacketInRequest> & { frame: Buffer; match?: Match }): boolean {
    const c = this.conn;
    const inPort = p.inPort ?? 1;
    const reason = p.reason ?? OFPR.NO_MATCH;
    const port = this.ports.get(inPort);
    if (!c || c.closed || !c.helloDone || !(c.packetInMask[c.maskIndex]! & (1 << reason)) || (port && port.desc.config & OFPPC.NO_PACKET_IN)) {
      this.counters.packetInsDropped++;
      return false;
    }
    const limit = reason === OFPR.NO_MATCH ? this.missSendLen : (p.maxLen ?? OFPCML.NO_BUFFER);
    const simple = reason === OFPR.NO_MATCH && p.tableId === undefined && p.cookie === undefined && p.match === undefined;
    const t = this.template;
    if (simple && t && t.frame === p.frame && t.inPort === inPort && t.missSendLen === this.missSendLen) {
      // The benchmark path: the same frame again, so the same bytes (async messages have xid 0).
      c.out.bytes(t.bytes);
    } else {
      const start = c.out.pos;
      encodeInto(c.out, {
        type: 'packetIn',
        xid: 0,
        bufferId: OFP_NO_BUFFER,
        totalLen: p.frame.length,
        reason,
        tableId: p.tableId ?? 0,
        cookie: p.cookie ?? ALL_ONES_64,
        match: [{ field: 'in_port', value: inPort }, ...(p.match ?? [])],
        data: limit === OFPCML.NO_BUFFER || limit >= p.frame.length ? p.frame : p.frame.subarray(0, limit),
      });
      if (simple) this.template = { frame: p.frame, inPort, missSendLen: this.missSendLen, bytes: c.out.toBuffer(start) };
    }
    if (port && p.countRx !== false) {
      port.rxPackets++;
      port.rxBytes += p.frame.length;
    }
    this.counters.messagesOut++;
    this.counters.packetInsSent++;
    if (this.outstanding++ === 0) this.probeAt = performance.now();
    this.scheduleFlush(c);
    return true;
  }

  /** A flow-mod or packet-out arrived: if exactly one packet-in was outstanding, this answered it. */
  private noteAnswer(): void {
    if (this.outstanding === 1) this.latency.record(performance.now() - this.probeAt);
    this.outstanding = 0;
  }

  /**
   * Runs a packet received on `inPort` (with its fields given) through the flow tables; outputs are counted, and
   * those to CONTROLLER become packet-ins. See Dataplane.inject.
   */
  injectPacket(inPort: number, frame: Buffer, fields: PacketFields = {}): InjectResult {
    return this.dataplane.inject(inPort, frame, fields);
  }

  // ---- packet-in load ----

  /** Starts sending packet-ins at `rate` per second, or as fast as the socket drains ('flood'). */
  startPacketIns(opts: TrafficOptions): Traffic {
    this.stopPacketIns();
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the sink's getters have their own `this`
    const self = this;
    const sink: PacketInSink = {
      emitPacketIn: (frame, inPort) => this.sendPacketIn({ frame, inPort }),
      get queuedBytes() {
        return self.queuedBytes;
      },
      get connected() {
        return self.connected && self.conn!.helloDone;
      },
      whenDrained: (cb) => this.whenDrained(cb),
      noteDropped: () => void this.counters.packetInsDropped++,
    };
    this.traffic = new Traffic(sink, opts).start();
    return this.traffic;
  }

  stopPacketIns(): void {
    this.traffic?.stop();
    this.traffic = undefined;
  }

  /** Bytes queued towards the controller and not yet taken by the kernel. */
  get queuedBytes(): number {
    const c = this.conn;
    return c && !c.closed ? c.socket.writableLength + c.out.pos : 0;
  }

  private whenDrained(cb: () => void): void {
    const c = this.conn;
    if (!c || c.closed) return void setImmediate(cb);
    this.flush(c);
    if (c.socket.writableLength === 0) return void setImmediate(cb);
    let called = false;
    const once = () => {
      if (called) return;
      called = true;
      c.socket.off('drain', once);
      c.socket.off('close', once);
      cb();
    };
    c.socket.on('drain', once);
    c.socket.on('close', once);
  }

  // ---- flow removal ----

  private onFlowRemoved(e: FlowEntry, reason: number): void {
    this.emit('flowRemoved', e, reason);
    const c = this.conn;
    if (!c || c.closed || !c.helloDone || !(e.flags & OFPFF.SEND_FLOW_REM)) return;
    if (!(c.flowRemovedMask[c.maskIndex]! & (1 << reason))) return;
    const d = durationOf(e.created);
    this.send(
      {
        type: 'flowRemoved',
        xid: 0,
        cookie: e.cookie,
        priority: e.priority,
        reason,
        tableId: e.tableId,
        durationSec: d.sec,
        durationNsec: d.nsec,
        idleTimeout: e.idleTimeout,
        hardTimeout: e.hardTimeout,
        packetCount: BigInt(e.packetCount),
        byteCount: BigInt(e.byteCount),
        match: e.match,
      },
      c,
    );
    this.counters.flowRemovedSent++;
  }

  // ---- for tests ----

  /** The highest-priority entry of a table (default 0) that a packet with these fields hits. */
  lookup(fields: PacketFields, opts: { tableId?: number; bytes?: number } = {}): FlowEntry | undefined {
    return this.pipeline.lookup(fields, opts.tableId ?? 0, opts.bytes);
  }

  flows(tableId?: number): FlowEntry[] {
    return this.pipeline.flows(tableId);
  }

  flowCount(tableId?: number): number {
    return this.pipeline.flowCount(tableId);
  }
}
