// One switch's OpenFlow channel: framing, the OF1.3 handshake, echo liveness, xid-matched requests, batched
// writes with a bounded queue. Protocol violations end only this connection; nothing a switch sends can throw
// out of here.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import {
  Writer,
  decode,
  encodeInto,
  OfpError,
  OFPET,
  OFPHFC,
  OFP_VERSION,
  OFPT,
  OFPCML,
  type OfpMessage,
  type MessageOf,
  type Port,
} from './openflow/index.js';
import { RequestTable } from './requests.js';
import { writeBundleAdd } from './bundle-wire.js';
import { FrameReader } from './frame-reader.js';
import { SentLog } from './sent-log.js';
import { SwitchError, ConnectionClosedError, dpidText } from './errors.js';
import { ROLE_CODES, NotMasterError, RoleRefusedError, modifiesSwitch, roleName, type ControllerRole, type RoleClaim } from './role.js';
import type { Logger } from './log.js';

export interface ConnectionOptions {
  /** Interval between echo requests; a switch that misses one echoTimeoutMs later is declared down. */
  echoIntervalMs: number;
  echoTimeoutMs: number;
  requestTimeoutMs: number;
  handshakeTimeoutMs: number;
  /** Bytes queued for a switch (ours plus the socket's) past which a stalled switch is disconnected. */
  maxQueueBytes: number;
  missSendLen: number;
}

export const DEFAULT_CONNECTION_OPTIONS: ConnectionOptions = {
  echoIntervalMs: 5_000,
  echoTimeoutMs: 5_000,
  requestTimeoutMs: 15_000,
  handshakeTimeoutMs: 10_000,
  maxQueueBytes: 16 * 1024 * 1024,
  missSendLen: OFPCML.NO_BUFFER,
};

/** What the owner of a connection is asked and told during its life. */
export interface ConnectionHooks {
  /**
   * Called with each message from the ready switch before the 'message' event: the controller's own dispatch,
   * one call per packet-in rather than an event hop.
   */
  onMessage?: (msg: OfpMessage) => void;
  /**
   * Called once the features reply has named the datapath, before the switch is ready: resolves with the reason
   * to refuse it, or undefined to let it in.
   */
  admit?: (conn: SwitchConnection) => Promise<string | undefined>;
  /**
   * Called once admitted, before the switch is ready: the role to claim on it, or undefined to stay in the
   * default equal role without asking (OF1.3.5 §6.3.5).
   */
  role?: () => RoleClaim | undefined;
}

/** The parts of a switch's TLS certificate that identify it (node:tls names). */
export interface SwitchCertificate {
  subject: Record<string, string | string[]>;
  /** SHA-1 and SHA-256 fingerprints, colon-separated upper-case hex. */
  fingerprint: string;
  fingerprint256: string;
}

type State = 'hello' | 'handshake' | 'ready' | 'closed';

const BATCH_INITIAL_BYTES = 16 * 1024;
/** A connection's first batch holds its handshake: small, as thousands of connections may be handshaking. */
const HANDSHAKE_BATCH_BYTES = 512;
const HANDSHAKE_SENT_LOG = 16;
const BATCH_KEEP_BYTES = 1024 * 1024;
/** A batch this large is written at once rather than when the current code yields. */
const FLUSH_BYTES = 64 * 1024;
/** Bytes waiting for the switch past which bulk senders pause (see backlogged). */
const BULK_HIGH_WATER = 1024 * 1024;

export interface ConnectionEvents {
  ready: [];
  message: [OfpMessage];
  /** An OFPT_ERROR that answers no outstanding request (e.g. a fire-and-forget flow-mod). */
  switchError: [SwitchError];
  /** A role claim the switch refused (the connection stays up, unable to change the switch). */
  roleRefused: [RoleRefusedError];
  close: [string];
}

// OF1.3.5 §7.3.10: which asynchronous messages this (master or equal) controller wants.
const ALL_PACKET_IN_REASONS = 0b111; // NO_MATCH | ACTION | INVALID_TTL
const ALL_PORT_REASONS = 0b111; // ADD | DELETE | MODIFY
const ALL_FLOW_REMOVED_REASONS = 0b1111; // IDLE | HARD | DELETE | GROUP_DELETE

export class SwitchConnection extends EventEmitter<ConnectionEvents> {
  state: State = 'hello';
  dpid: bigint | undefined;
  features: MessageOf<'featuresReply'> | undefined;
  readonly ports = new Map<number, Port>();
  readonly remote: string;
  readonly log: Logger;
  /** The certificate a TLS switch presented (set by the controller before the handshake). */
  certificate: SwitchCertificate | undefined;
  /** Packet-ins that arrived before the switch was ready: dropped undecoded (they cannot hold up the handshake). */
  packetInsBeforeReady = 0;
  private readonly frames = new FrameReader();
  /** The messages sent lately, to name the one an unsolicited OFPT_ERROR refers to. */
  private readonly sent = new SentLog(HANDSHAKE_SENT_LOG, HANDSHAKE_SENT_LOG);
  private readonly requests: RequestTable;
  private out = new Writer(HANDSHAKE_BATCH_BYTES);
  private flushScheduled = false;
  private echoTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private closeReason = '';
  /** Closed for a reason its owner reports (throttled) itself: the close is logged at debug only. */
  private refused = false;
  /** The role the switch last confirmed; undefined until a role request was answered (the switch says equal). */
  role: ControllerRole | undefined;
  /** Whether a role was ever claimed on this connection (so that a role change reaches it). */
  roleClaimed = false;
  /** Why messages that change the switch are refused here; undefined while this controller may send them. */
  private notMaster: string | undefined;
  /** Role requests outstanding: only the latest one's answer sets the role. */
  private roleSeq = 0;

  constructor(
    private readonly socket: Socket,
    private readonly opts: ConnectionOptions,
    log: Logger,
    private readonly hooks: ConnectionHooks = {},
  ) {
    super();
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.log = log.child({ remote: this.remote });
    this.requests = new RequestTable(() => this.dpid, opts.requestTimeoutMs);
    // Every concurrent atomic group listens for this switch's errors: many listeners at once are normal here.
    this.setMaxListeners(0);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.close(`socket error: ${e.message}`));
    socket.on('close', () => this.close('socket closed by peer'));
    this.handshakeTimer = setTimeout(() => this.close('handshake timed out'), opts.handshakeTimeoutMs);
    this.handshakeTimer.unref();
    // OF1.3.5 §6.3.1: each side sends HELLO at once; ours offers only OpenFlow 1.3.
    this.send({ type: 'hello', xid: this.requests.allocXid(), elements: [{ type: 'versionBitmap', versions: [OFP_VERSION] }] });
  }

  get dpidText(): string {
    return dpidText(this.dpid);
  }

  /** Bytes waiting to reach the switch: our batch plus what the socket has not yet written. */
  get queuedBytes(): number {
    return this.out.pos + this.socket.writableLength;
  }

  /**
   * Whether a bulk sender (atomic.ts) should wait for drained() before sending more: over 1 MB waits for the
   * switch, or a quarter of maxQueueBytes if that is smaller, so that a bulk send never comes near the bound at
   * which a switch is taken for stalled and disconnected.
   */
  get backlogged(): boolean {
    return this.queuedBytes > Math.min(BULK_HIGH_WATER, this.opts.maxQueueBytes / 4);
  }

  /** A fresh xid (never 0, never an outstanding request's), for messages whose xid must be known before sending. */
  allocXid(): number {
    return this.requests.allocXid();
  }

  get outstandingRequests(): number {
    return this.requests.size;
  }

  /** Sends without waiting for an answer; an xid of 0 is replaced by a fresh one. Returns the xid. */
  send(msg: OfpMessage): number {
    if (this.notMaster !== undefined && modifiesSwitch(msg)) throw new NotMasterError(this.dpid, msg.type, this.notMaster);
    if (this.state === 'closed') return msg.xid;
    const xid = msg.xid === 0 ? this.requests.allocXid() : msg.xid;
    this.queue(msg, xid);
    return xid;
  }

  /**
   * Sends `msg` into the open bundle `bundleId` (an ONF EXT-230 bundle add with `flags`, under a fresh xid that
   * the inner message carries too). Returns the xid. Written straight into the batch: no wrapper object.
   */
  sendBundleAdd(bundleId: number, flags: number, msg: OfpMessage): number {
    if (this.notMaster !== undefined && modifiesSwitch(msg)) throw new NotMasterError(this.dpid, msg.type, this.notMaster);
    const xid = this.requests.allocXid();
    if (this.state === 'closed') return xid;
    const start = this.out.pos;
    writeBundleAdd(this.out, xid, bundleId, flags, msg);
    this.sent.note(xid, start);
    this.queued();
    return xid;
  }

  /**
   * Resolves when what was sent so far has been handed to the kernel (at once if nothing waits in the socket), or
   * the connection closed. Bulk senders wait on it once queuedBytes grows, instead of queueing without bound.
   */
  drained(): Promise<void> {
    if (this.state === 'closed' || !this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.on('close', done);
    });
  }

  /**
   * Queues a message under `xid` (an xid of 0 stays 0: replies such as echo and error must carry the switch's xid,
   * even 0). The message is encoded now, into the batch; encodeInto leaves nothing behind if it throws.
   */
  private queue(msg: OfpMessage, xid = msg.xid): void {
    if (this.state === 'closed') return;
    const start = this.out.pos;
    encodeInto(this.out, msg);
    if (xid !== msg.xid) {
      const b = this.out.buf; // the header's xid (OF1.3.5 §7.1), for a message given with xid 0
      b[start + 4] = xid >>> 24;
      b[start + 5] = xid >>> 16;
      b[start + 6] = xid >>> 8;
      b[start + 7] = xid;
    }
    this.sent.note(xid, start);
    this.queued();
  }

  /**
   * After each queued message: a batch that reached FLUSH_BYTES is written at once (a bulk sender's bytes start
   * moving while it encodes the rest, and no megabytes pile up in the batch); otherwise one write is scheduled
   * for when the current code yields (a microtask), so that everything one callback sends (the answers to a whole
   * chunk of packet-ins) goes in one write, and a lone message is still written without waiting for another turn
   * of the event loop.
   */
  private queued(): void {
    if (this.out.pos >= FLUSH_BYTES) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushTask);
    }
    if (this.queuedBytes > this.opts.maxQueueBytes) {
      this.log.warn(
        { dpid: this.dpidText, queued: this.queuedBytes, bound: this.opts.maxQueueBytes },
        'switch is not reading: send queue over its bound, disconnecting',
      );
      this.out.reset(); // a switch that reads nothing will not read this batch either
      this.close('send queue over its bound (switch stalled)');
    }
  }

  private readonly flushTask = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  /** Sends a request and resolves with its reply (all parts of a multipart reply), rejecting on OFPT_ERROR. */
  async request(msg: OfpMessage, timeoutMs?: number): Promise<OfpMessage[]> {
    if (this.isClosed()) throw new ConnectionClosedError(this.dpid, this.closeReason);
    const xid = msg.xid === 0 ? this.requests.allocXid() : msg.xid;
    const withXid = { ...msg, xid };
    // Sent before it is registered: an unencodable message throws here with nothing left waiting for a reply,
    // and a send that overflows the queue closes the connection, which must reject this request at once.
    // (No reply can arrive before add(): replies come in a later event-loop turn.)
    this.send(withXid);
    if (this.isClosed()) throw new ConnectionClosedError(this.dpid, this.closeReason);
    return this.requests.add(withXid, timeoutMs);
  }

  /** A multipart request; resolves with the concatenated bodies of every reply part. */
  async multipart<T>(msg: OfpMessage, timeoutMs?: number): Promise<T[]> {
    const parts = await this.request(msg, timeoutMs);
    const out: T[] = [];
    for (const p of parts) {
      const body = (p as { body?: T | T[] }).body;
      if (Array.isArray(body)) for (const b of body) out.push(b);
      else if (body !== undefined) out.push(body);
    }
    return out;
  }

  /** Whether this controller may send messages that change the switch (not a slave, no refused master claim). */
  get mayModify(): boolean {
    return this.notMaster === undefined;
  }

  /**
   * Claims a role on this switch (OF1.3.5 §6.3.5, §7.3.9) and checks the reply. Leaving master takes effect
   * locally at once; becoming master only once the switch agreed. Rejects with a RoleRefusedError (stale for a
   * master claim older than one the switch has seen; this connection may then change nothing) or the request's error.
   */
  async requestRole(claim: RoleClaim, timeoutMs?: number): Promise<void> {
    const seq = ++this.roleSeq;
    this.roleClaimed = true;
    if (claim.role === 'slave') this.notMaster = 'this controller is slave';
    if (claim.generationId === undefined) {
      if (claim.role !== 'slave') throw new Error(`a ${claim.role} claim needs a generation id`);
      return; // slave here only: nothing asked of the switch (role.ts RoleClaim)
    } else if (claim.role === 'master' && this.role !== 'master') this.notMaster ??= 'the master role is not yet confirmed';
    let reply: OfpMessage | undefined;
    try {
      [reply] = await this.request({ type: 'roleRequest', xid: 0, role: ROLE_CODES[claim.role], generationId: claim.generationId }, timeoutMs);
    } catch (e) {
      if (!(e instanceof SwitchError)) throw e;
      const refused = RoleRefusedError.fromSwitchError(e, claim);
      if (seq === this.roleSeq && claim.role === 'master') this.notMaster = `the switch refused our master claim (${refused.message})`;
      throw refused;
    }
    if (reply?.type !== 'roleReply' || reply.role !== ROLE_CODES[claim.role]) {
      const got = reply?.type === 'roleReply' ? `role ${roleName(reply.role) ?? reply.role}` : reply?.type;
      if (seq === this.roleSeq && claim.role === 'master') this.notMaster = `the switch answered our master claim with ${got}`;
      throw new RoleRefusedError(this.dpid, claim, false, `answered with ${got}`);
    }
    if (seq !== this.roleSeq) return;
    this.role = claim.role;
    this.notMaster = claim.role === 'slave' ? 'this controller is slave' : undefined;
    this.log.info({ dpid: this.dpidText, role: claim.role, generationId: String(claim.generationId) }, 'role confirmed by switch');
  }

  /** Resolves once the switch has processed everything sent before it (OF1.3.5 §6.2). */
  async barrier(timeoutMs?: number): Promise<void> {
    await this.request({ type: 'barrierRequest', xid: 0 }, timeoutMs);
  }

  close(reason: string): void {
    if (this.state === 'closed') return;
    const wasReady = this.state === 'ready';
    this.state = 'closed';
    this.closeReason = reason;
    clearInterval(this.echoTimer);
    clearTimeout(this.handshakeTimer);
    if (this.out.pos > 0 && !this.socket.destroyed) this.write(this.out.toBuffer());
    this.socket.end();
    this.socket.destroySoon?.();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.requests.failAll(reason);
    this.log[this.refused ? 'debug' : wasReady ? 'info' : 'warn']({ dpid: this.dpidText, reason }, 'switch connection closed');
    this.emit('close', reason);
  }

  /** A method, not a field read, so that TypeScript does not narrow `state` across awaits and callbacks. */
  isClosed(): boolean {
    return this.state === 'closed';
  }

  private flush(): void {
    if (this.state === 'closed' || this.out.pos === 0) return;
    this.write(this.out.toBuffer());
    // A burst (a whole policy in one turn) grows the batch writer; do not keep megabytes per switch after it.
    if (this.out.buf.length > BATCH_KEEP_BYTES) this.out = new Writer(BATCH_INITIAL_BYTES);
    else this.out.reset();
  }

  /** Writes one batch (the batch writer's copy): the sent log keeps it to name messages errors refer to. */
  private write(bytes: Buffer): void {
    this.socket.write(bytes);
    this.sent.written(bytes);
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    if (this.state === 'hello' && this.frames.buffered === 0 && chunk.length >= 2 && chunk[1] !== OFPT.HELLO) {
      // Not OpenFlow at all (a port scan, an HTTP probe) or not starting with HELLO: refuse now rather than
      // wait for whatever length its first bytes happen to spell, or for the handshake timeout.
      this.refuse(`expected HELLO, got message type ${chunk[1]}`, chunk.length >= 8 ? chunk.readUInt32BE(4) : 0);
      return;
    }
    const broken = this.frames.push(chunk, this.onFrameInStream);
    // A length below the header size: the stream cannot be resynchronised.
    if (broken && !this.isClosed()) this.protocolError(broken, 'broken framing');
  }

  /** Each message of the stream, in order; false once the connection is closed (a message's handling may close it). */
  private readonly onFrameInStream = (frame: Buffer): boolean => {
    this.onFrame(frame);
    return this.state !== 'closed';
  };

  private onFrame(frame: Buffer): void {
    if (this.state === 'hello') {
      this.onHello(frame);
      return;
    }
    if (this.state !== 'ready' && frame[1] === OFPT.PACKET_IN) {
      // A switch may send packet-ins from its first reply on; nobody takes them before it is ready, and the
      // handshake's replies may be queued behind thousands of them: skipping them undecoded is what lets it
      // come up under any packet-in load.
      this.packetInsBeforeReady++;
      return;
    }
    let msg: OfpMessage;
    try {
      msg = decode(frame);
    } catch (e) {
      if (!(e instanceof OfpError)) {
        this.protocolError(e, 'decoder failure');
        return;
      }
      // Tell the switch what was wrong with its message (OF1.3.5 §7.4.4), and carry on with the next one.
      const xid = frame.readUInt32BE(4);
      this.log.warn({ dpid: this.dpidText, xid, err: e.message }, 'undecodable message from switch');
      this.queue({ type: 'error', xid, errType: e.errType, code: e.code, data: frame.subarray(0, Math.min(frame.length, 64)) });
      return;
    }
    this.dispatch(msg);
  }

  private dispatch(msg: OfpMessage): void {
    if (msg.type === 'echoRequest') {
      this.queue({ type: 'echoReply', xid: msg.xid, data: msg.data });
      return;
    }
    if (this.requests.size !== 0 && this.requests.settle(msg)) return; // (most messages answer nothing)
    if (msg.type === 'error') {
      const err = new SwitchError(this.dpid, msg.errType, msg.code, this.sent.find(msg.xid), msg.data);
      this.log.warn({ dpid: this.dpidText, xid: msg.xid, err: err.message }, 'OFPT_ERROR from switch');
      this.emit('switchError', err);
      return;
    }
    if (msg.type === 'portStatus') {
      if (msg.reason === 1) this.ports.delete(msg.desc.portNo);
      else this.ports.set(msg.desc.portNo, msg.desc);
    }
    if (this.state !== 'ready') return;
    this.hooks.onMessage?.(msg);
    if (this.listenerCount('message') !== 0) this.emit('message', msg); // (emit allocates its arguments)
  }

  /** Version negotiation (OF1.3.5 §6.3.1): the highest version both bitmaps hold, else both headers' minimum. */
  private onHello(frame: Buffer): void {
    const version = frame[0]!;
    if (frame[1] !== OFPT.HELLO) {
      this.refuse(`expected HELLO, got message type ${frame[1]}`, frame.readUInt32BE(4));
      return;
    }
    let versions: number[] | undefined;
    try {
      // Our decoder only accepts 1.3 headers; a HELLO's body layout is the same in every version.
      const copy = Buffer.from(frame);
      copy[0] = OFP_VERSION;
      const hello = decode(copy);
      if (hello.type === 'hello') {
        for (const el of hello.elements) if (el.type === 'versionBitmap') versions = el.versions;
      }
    } catch {
      versions = undefined; // an unreadable body leaves the header version to decide
    }
    const ok = versions ? versions.includes(OFP_VERSION) : version >= OFP_VERSION;
    if (!ok) {
      this.refuse(
        `switch offers OpenFlow version 0x${version.toString(16)}${versions ? ` (bitmap ${versions.join(',')})` : ''}, we speak only 1.3 (0x04)`,
        frame.readUInt32BE(4),
      );
      return;
    }
    this.state = 'handshake';
    void this.handshake();
  }

  /** OF1.3.5 §6.3.1: OFPET_HELLO_FAILED/OFPHFC_INCOMPATIBLE with an ASCII reason, answering the HELLO's xid. */
  private refuse(why: string, xid: number): void {
    this.log.warn({ why }, 'refusing switch: incompatible OpenFlow version');
    this.queue({ type: 'error', xid, errType: OFPET.HELLO_FAILED, code: OFPHFC.INCOMPATIBLE, data: Buffer.from(why, 'ascii') });
    this.close(`hello failed: ${why}`);
  }

  /**
   * The whole set-up goes out in one write, so that every reply it needs follows the features reply closely:
   * a switch that floods packet-ins from its first reply on would otherwise queue each later request's reply
   * behind everything it sent meanwhile. No closing barrier: nothing waits on setConfig or setAsync taking
   * effect, and an error for either comes as a switchError.
   */
  private async handshake(): Promise<void> {
    try {
      const featuresReply = this.request({ type: 'featuresRequest', xid: 0 });
      this.send({ type: 'setConfig', xid: 0, flags: 0, missSendLen: this.opts.missSendLen });
      const portsReply = this.multipart<Port>({ type: 'portDescStatsRequest', xid: 0, flags: 0 });
      portsReply.catch(() => undefined); // awaited below, unless the features reply already failed the handshake
      this.send({
        type: 'setAsync',
        xid: 0,
        packetInMask: [ALL_PACKET_IN_REASONS, 0],
        portStatusMask: [ALL_PORT_REASONS, ALL_PORT_REASONS],
        flowRemovedMask: [ALL_FLOW_REMOVED_REASONS, 0],
      });
      const [features] = await featuresReply;
      if (features?.type !== 'featuresReply') throw new Error(`unexpected ${features?.type} to FEATURES_REQUEST`);
      this.features = features;
      this.dpid = features.datapathId;
      if (features.auxiliaryId !== 0) throw new Error(`auxiliary connection ${features.auxiliaryId} (not supported)`);
      const refusal = this.hooks.admit ? await this.hooks.admit(this) : undefined;
      if (this.isClosed()) return;
      if (refusal !== undefined) {
        this.refuseDatapath(refusal, features.xid);
        return;
      }
      for (const p of await portsReply) this.ports.set(p.portNo, p);
      const claim = this.hooks.role?.();
      if (claim) {
        await this.requestRole(claim).catch((e: unknown) => {
          if (!(e instanceof RoleRefusedError)) throw e;
          // The connection stays: a refused master still sees port status and counters, and may be told a newer role.
          this.log.warn({ dpid: this.dpidText, err: e.message }, 'role refused by switch');
          this.emit('roleRefused', e);
        });
      }
    } catch (e) {
      this.log.warn({ dpid: this.dpidText, err: (e as Error).message }, 'handshake failed');
      this.close(`handshake failed: ${(e as Error).message}`);
      return;
    }
    if (this.isClosed()) return; // closed while awaiting the handshake's replies
    clearTimeout(this.handshakeTimer);
    this.state = 'ready';
    this.sent.grow();
    this.startEcho();
    this.log.info(
      {
        dpid: this.dpidText,
        ports: this.ports.size,
        tables: this.features?.nTables,
        ...(this.packetInsBeforeReady ? { packetInsBeforeReady: this.packetInsBeforeReady } : {}),
      },
      'switch connected',
    );
    this.emit('ready');
  }

  /**
   * A switch the controller will not take (its datapath id is held by a live connection, or its certificate is
   * not that datapath's): OFPET_HELLO_FAILED/OFPHFC_EPERM, the connection set-up's "permissions error"
   * (OF1.3.5 §7.4.4.1), with the reason in ASCII for the switch's log.
   */
  private refuseDatapath(why: string, xid: number): void {
    this.queue({ type: 'error', xid, errType: OFPET.HELLO_FAILED, code: OFPHFC.EPERM, data: Buffer.from(why, 'ascii') });
    this.refused = true;
    this.close(`refused: ${why}`);
  }

  private startEcho(): void {
    this.echoTimer = setInterval(() => {
      this.request({ type: 'echoRequest', xid: 0, data: Buffer.alloc(0) }, this.opts.echoTimeoutMs).catch((e: Error) => {
        if (this.state !== 'closed') this.close(`echo: ${e.message}`);
      });
    }, this.opts.echoIntervalMs);
    this.echoTimer.unref();
  }

  private protocolError(e: unknown, what: string): void {
    const msg = e instanceof Error ? e.message : String(e);
    this.log.error({ dpid: this.dpidText, err: msg }, `protocol error from switch (${what}), closing its connection`);
    if (e instanceof OfpError) {
      // Answer with the offending message's xid when its header is at hand (the frame reader includes it).
      const xid = e.data && e.data.length >= 8 ? e.data.readUInt32BE(4) : 0;
      this.queue({ type: 'error', xid, errType: e.errType, code: e.code, data: e.data ?? Buffer.alloc(0) });
    }
    this.close(`${what}: ${msg}`);
  }
}
