// The floor of the fabric benchmarks: a bare OpenFlow server that does nothing of the controller's work. It
// answers HELLO, asks for features, and then writes flow-mods (plainly, or in ONF bundles) encoded before the
// clock starts, each batch ended by a barrier whose reply (type byte and xid only) says the switch has done it.
import { createServer, type Server, type Socket } from 'node:net';
import {
  bundleAddMsg,
  bundleControlMsg,
  encode,
  Framer,
  OFPBCT,
  OFPBF,
  OFPFC,
  OFPG,
  OFPP,
  OFPT,
  OFPTT,
  OFP_NO_BUFFER,
  type MessageOf,
} from '../controller/openflow/index.js';
import type { FlowEntry } from '../emulator/flow-table.js';

type FlowModMsg = MessageOf<'flowMod'>;

/** Bytes to write to one switch, ended by a barrier whose reply is awaited. */
export interface Batch {
  bytes: Buffer;
  xid: number;
}

export class BareOpenflow {
  private readonly sockets = new Map<bigint, Socket>();
  private readonly waiting = new Map<number, () => void>();
  private xid = 0x1000;
  private bundleId = 0;
  /** OFPT_ERRORs the switches sent: a floor run is only a floor if there were none. */
  errors = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async listen(): Promise<BareOpenflow> {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const bare = new BareOpenflow(server, (server.address() as { port: number }).port);
    server.on('connection', (socket) => bare.accept(socket));
    return bare;
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    const framer = new Framer();
    socket.on('data', (chunk: Buffer) => {
      for (const m of framer.push(chunk)) {
        if (m[1] === OFPT.FEATURES_REPLY) this.sockets.set(m.readBigUInt64BE(8), socket);
        else if (m[1] === OFPT.ERROR) this.errors++;
        else if (m[1] === OFPT.BARRIER_REPLY) {
          const xid = m.readUInt32BE(4);
          this.waiting.get(xid)?.();
          this.waiting.delete(xid);
        }
      }
    });
    socket.write(Buffer.concat([encode({ type: 'hello', xid: 1, elements: [] }), encode({ type: 'featuresRequest', xid: 2 })]));
  }

  async whenConnected(dpids: bigint[], ms = 10_000): Promise<void> {
    const until = performance.now() + ms;
    while (!dpids.every((d) => this.sockets.has(d))) {
      if (performance.now() > until) throw new Error('switches did not connect to the bare server');
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Flow-mods (encoded) and a barrier after them, ready to write to one switch. */
  batch(flowMods: FlowModMsg[]): Batch {
    return this.ended(flowMods.map((f) => encode(f)));
  }

  /**
   * The flow-mods in one atomic ONF bundle (EXT-230), as dmzgate sends one: `prepare` opens it, adds them and
   * closes it (the barrier's reply: every add taken), `commit` commits it.
   */
  bundle(flowMods: FlowModMsg[]): { prepare: Batch; commit: Batch } {
    const id = ++this.bundleId;
    const control = (type: number): Buffer => encode(bundleControlMsg(++this.xid, id, type, OFPBF.ATOMIC));
    const adds = flowMods.map((f) => encode(bundleAddMsg(++this.xid, id, OFPBF.ATOMIC, f)));
    return {
      prepare: this.ended([control(OFPBCT.OPEN_REQUEST), ...adds, control(OFPBCT.CLOSE_REQUEST)]),
      commit: this.ended([control(OFPBCT.COMMIT_REQUEST)]),
    };
  }

  private ended(messages: Buffer[]): Batch {
    const xid = ++this.xid;
    return { bytes: Buffer.concat([...messages, encode({ type: 'barrierRequest', xid })]), xid };
  }

  /** Writes a batch to a switch; resolves at its barrier's reply. */
  send(dpid: bigint, batch: Batch): Promise<void> {
    const socket = this.sockets.get(dpid);
    if (!socket) throw new Error(`switch ${dpid} is not connected to the bare server`);
    const replied = new Promise<void>((r) => this.waiting.set(batch.xid, r));
    socket.write(batch.bytes);
    return replied;
  }

  close(): Promise<void> {
    for (const s of this.sockets.values()) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** An add of exactly an emulated switch's entry. */
export function addOf(e: FlowEntry): FlowModMsg {
  return {
    type: 'flowMod',
    xid: 0,
    command: OFPFC.ADD,
    cookie: e.cookie,
    cookieMask: 0n,
    tableId: e.tableId,
    priority: e.priority,
    idleTimeout: e.idleTimeout,
    hardTimeout: e.hardTimeout,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: e.flags,
    match: e.match,
    instructions: e.instructions,
  };
}

/** A delete of every flow with this cookie, in every table. */
export function deleteCookie(cookie: bigint): FlowModMsg {
  return {
    type: 'flowMod',
    xid: 0,
    command: OFPFC.DELETE,
    cookie,
    cookieMask: 0xffff_ffff_ffff_ffffn,
    tableId: OFPTT.ALL,
    priority: 0,
    idleTimeout: 0,
    hardTimeout: 0,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: 0,
    match: [],
    instructions: [],
  };
}
