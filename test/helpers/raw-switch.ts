// A hand-driven OpenFlow "switch" for fault injection: it does just enough of the OF1.3 handshake to become
// ready at the controller, then lets a test misbehave (go silent, stop reading, send garbage, reuse a dpid).
// Real Open vSwitch is the proof of the protocol; this exists for what OVS will not do on request.
import { connect, Socket } from 'node:net';
import { Framer, decode, encode, OFPP, type OfpMessage, type Port } from '../../controller/openflow/index.js';

export interface RawSwitchOptions {
  dpid: bigint;
  nPorts?: number;
  /** Answer echo requests (true until `goSilent()`). */
  answerEcho?: boolean;
  /**
   * A load generator that does not wait for its reader: once it has answered the chunk that held the features
   * request, it queues this many bytes of packet-ins, and as many again before answering each later chunk.
   */
  floodBytes?: number;
}

export class RawSwitch {
  readonly socket: Socket;
  /** Every message the controller sent, decoded (undecodable frames are kept raw in `rawFrames`). */
  readonly received: OfpMessage[] = [];
  readonly rawFrames: Buffer[] = [];
  /** Resolves when the controller closes the connection (EOF or reset). */
  readonly closed: Promise<void>;
  private readonly framer = new Framer();
  private silent = false;
  private flooding = false;
  private answeredFeatures = false;
  private waiters: { pred: (m: OfpMessage) => boolean; resolve: (m: OfpMessage) => void }[] = [];

  private constructor(
    socket: Socket,
    private readonly opts: RawSwitchOptions,
  ) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {}); // a reset by the controller is an expected outcome in these tests
    socket.on('data', (chunk: Buffer) => {
      if (this.flooding) this.flood();
      for (const frame of this.framer.push(chunk)) this.onFrame(frame);
      if (this.answeredFeatures && opts.floodBytes && !this.flooding) {
        this.flooding = true;
        this.flood();
      }
    });
  }

  /** Connects and sends a HELLO (OF1.3 unless `helloBytes` replaces it). */
  static async connect(port: number, opts: RawSwitchOptions, helloBytes?: Buffer): Promise<RawSwitch> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const sw = new RawSwitch(socket, opts);
    socket.write(helloBytes ?? encode({ type: 'hello', xid: 1, elements: [{ type: 'versionBitmap', versions: [4] }] }));
    return sw;
  }

  /** Connects and completes the handshake: resolves once the controller's port description request is answered. */
  static async ready(port: number, opts: RawSwitchOptions): Promise<RawSwitch> {
    const sw = await RawSwitch.connect(port, opts);
    await sw.waitFor((m) => m.type === 'portDescStatsRequest');
    return sw;
  }

  private flood(): void {
    const one = encode({
      type: 'packetIn',
      xid: 0,
      bufferId: 0xffffffff,
      totalLen: 60,
      reason: 0,
      tableId: 0,
      cookie: 0xffffffffffffffffn,
      match: [{ field: 'in_port', value: 1 }],
      data: Buffer.alloc(60, 0xab),
    });
    const n = Math.ceil(this.opts.floodBytes! / one.length);
    const bytes = Buffer.allocUnsafe(n * one.length);
    for (let i = 0; i < n; i++) one.copy(bytes, i * one.length);
    this.socket.write(bytes);
  }

  /** Stops answering anything (a hung switch whose TCP connection stays up). */
  goSilent(): void {
    this.silent = true;
  }

  send(msg: OfpMessage): void {
    this.socket.write(encode(msg));
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The first message (already received or still to come) that satisfies `pred`. */
  waitFor(pred: (m: OfpMessage) => boolean, ms = 10_000): Promise<OfpMessage> {
    const have = this.received.find(pred);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`raw switch: no matching message within ${ms} ms`)), ms);
      this.waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onFrame(frame: Buffer): void {
    let msg: OfpMessage;
    try {
      msg = decode(frame);
    } catch {
      this.rawFrames.push(Buffer.from(frame));
      return;
    }
    this.received.push(msg);
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred(msg)) return true;
      w.resolve(msg);
      return false;
    });
    if (this.silent) return;
    // Answered after the waiters ran, so that `ready()` resolves before the controller's 'ready'.
    this.answer(msg);
  }

  private answer(msg: OfpMessage): void {
    switch (msg.type) {
      case 'featuresRequest':
        this.send({ type: 'featuresReply', xid: msg.xid, datapathId: this.opts.dpid, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0x4f });
        this.answeredFeatures = true;
        return;
      case 'portDescStatsRequest': {
        const body: Port[] = [];
        for (let i = 1; i <= (this.opts.nPorts ?? 2); i++) {
          body.push({
            portNo: i,
            hwAddr: `02:00:00:00:00:${i.toString(16).padStart(2, '0')}`,
            name: `p${i}`,
            config: 0,
            state: 4,
            curr: 0x2820,
            advertised: 0,
            supported: 0,
            peer: 0,
            currSpeed: 10_000_000,
            maxSpeed: 0,
          });
        }
        body.push({
          portNo: OFPP.LOCAL,
          hwAddr: '02:00:00:00:00:fe',
          name: 'raw',
          config: 0,
          state: 0,
          curr: 0,
          advertised: 0,
          supported: 0,
          peer: 0,
          currSpeed: 0,
          maxSpeed: 0,
        });
        this.send({ type: 'portDescStatsReply', xid: msg.xid, flags: 0, body });
        return;
      }
      case 'barrierRequest':
        this.send({ type: 'barrierReply', xid: msg.xid });
        return;
      case 'echoRequest':
        if (this.opts.answerEcho !== false) this.send({ type: 'echoReply', xid: msg.xid, data: msg.data });
        return;
      default:
    }
  }
}
