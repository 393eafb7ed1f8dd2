// SwitchConnection's send path against a scripted socket: when bytes are written (a lone message at once, one
// write per callback, a large batch without waiting), what the bytes are (fresh xids, bundle adds), how an error
// names the bundled message that caused it, and the flow control bulk senders use. (The handshake and liveness
// against real switches: test/integration/controller-ovs.test.ts.)
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { SwitchConnection, DEFAULT_CONNECTION_OPTIONS } from '../../../controller/switch-connection.js';
import { SwitchError } from '../../../controller/errors.js';
import { silentLogger } from '../../../controller/log.js';
import {
  Framer,
  decode,
  encode,
  bundleAddMsg,
  parseBundleAdd,
  isBundleMsg,
  OFPBF,
  OFPET,
  OFPBIC,
  OFPFC,
  OFPP,
  OFPG,
  OFP_NO_BUFFER,
  ONFT_BUNDLE_ADD_MESSAGE,
  type OfpMessage,
  type MessageOf,
} from '../../../controller/openflow/index.js';

/** Records every write; `needDrain` plays a socket whose buffer is over its high-water mark. */
class ScriptedSocket extends EventEmitter {
  remoteAddress = '192.0.2.1';
  remotePort = 6653;
  destroyed = false;
  writableLength = 0;
  writableNeedDrain = false;
  writes: Buffer[] = [];
  setNoDelay(): void {}
  write(b: Buffer): boolean {
    this.writes.push(Buffer.from(b));
    return true;
  }
  end(): void {}
  destroy(): void {
    this.destroyed = true;
  }
  destroySoon(): void {}
  /** Every message written so far, decoded, in order. */
  messages(): OfpMessage[] {
    const f = new Framer();
    return this.writes.flatMap((w) => f.push(w)).map((fr) => decode(fr));
  }
}

function connection(): { conn: SwitchConnection; sock: ScriptedSocket } {
  const sock = new ScriptedSocket();
  const conn = new SwitchConnection(sock as unknown as Socket, { ...DEFAULT_CONNECTION_OPTIONS, handshakeTimeoutMs: 60_000 }, silentLogger());
  return { conn, sock };
}

/** Plays the switch's side of the handshake (hello, features reply, port description) until `conn` is ready. */
async function makeReady(conn: SwitchConnection, sock: ScriptedSocket): Promise<void> {
  sock.emit('data', encode({ type: 'hello', xid: 1, elements: [{ type: 'versionBitmap', versions: [4] }] }));
  await microtasks();
  const sent = sock.messages();
  const features = sent.find((m) => m.type === 'featuresRequest')!;
  const ports = sent.find((m) => m.type === 'portDescStatsRequest')!;
  const ready = new Promise<void>((r) => conn.once('ready', r));
  sock.emit(
    'data',
    Buffer.concat([
      encode({ type: 'featuresReply', xid: features.xid, datapathId: 7n, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0 }),
      encode({ type: 'portDescStatsReply', xid: ports.xid, flags: 0, body: [] }),
    ]),
  );
  await ready;
}

/** Lets the microtasks queued so far run (not a turn of the event loop: no I/O, no timers, no setImmediate). */
const microtasks = () => new Promise<void>((r) => queueMicrotask(r));
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

const flowMod = (priority: number): MessageOf<'flowMod'> => ({
  type: 'flowMod',
  xid: 0,
  cookie: 1n,
  cookieMask: 0n,
  tableId: 0,
  command: OFPFC.ADD,
  idleTimeout: 0,
  hardTimeout: 0,
  priority,
  bufferId: OFP_NO_BUFFER,
  outPort: OFPP.ANY,
  outGroup: OFPG.ANY,
  flags: 0,
  match: [
    { field: 'in_port', value: 1 },
    { field: 'eth_dst', value: '02:00:00:00:00:02' },
  ],
  instructions: [{ type: 'applyActions', actions: [{ type: 'output', port: 2, maxLen: 0 }] }],
});

describe('SwitchConnection writes', () => {
  it('writes a lone message as soon as the code that sent it yields, not a turn of the event loop later', async () => {
    const { conn, sock } = connection();
    await nextTurn();
    sock.writes = []; // our HELLO
    conn.send(flowMod(1));
    expect(sock.writes).toHaveLength(0); // not inside send(): the rest of this callback may send more
    await microtasks();
    expect(sock.writes).toHaveLength(1);
  });

  it("sends everything one callback sends in one write, in order, each under a fresh xid (the caller's object untouched)", async () => {
    const { conn, sock } = connection();
    await nextTurn();
    sock.writes = [];
    const msgs = Array.from({ length: 50 }, (_, i) => flowMod(i));
    const xids = msgs.map((m) => conn.send(m));
    await microtasks();
    expect(sock.writes).toHaveLength(1);
    const sent = sock.messages();
    expect(sent.map((m) => (m.type === 'flowMod' ? m.priority : -1))).toEqual(msgs.map((m) => m.priority));
    expect(sent.map((m) => m.xid)).toEqual(xids);
    expect(new Set(xids).size).toBe(50);
    expect(xids).not.toContain(0);
    expect(msgs.every((m) => m.xid === 0)).toBe(true);
    // An xid given by the caller is kept.
    expect(conn.send({ type: 'barrierRequest', xid: 4242 })).toBe(4242);
    await microtasks();
    expect(sock.messages().at(-1)).toEqual({ type: 'barrierRequest', xid: 4242 });
  });

  it("writes a batch at once when it reaches 64 KB (a bulk sender's bytes start moving while it encodes the rest)", async () => {
    const { conn, sock } = connection();
    await nextTurn();
    sock.writes = [];
    const one = encode(flowMod(1)).length;
    const n = Math.ceil((64 * 1024) / one) + 10;
    for (let i = 0; i < n; i++) conn.send(flowMod(i));
    expect(sock.writes).toHaveLength(1); // before yielding
    expect(sock.writes[0]!.length).toBeGreaterThanOrEqual(64 * 1024);
    await microtasks();
    expect(sock.writes).toHaveLength(2); // the rest
    expect(sock.messages()).toHaveLength(n);
  });

  it('sendBundleAdd writes the bytes of bundleAddMsg, inner xid = outer xid, and an error for it names the bundle add', async () => {
    const { conn, sock } = connection();
    await nextTurn();
    sock.writes = [];
    const inner = flowMod(7);
    const xid = conn.sendBundleAdd(33, OFPBF.ATOMIC, inner);
    await microtasks();
    expect(Buffer.concat(sock.writes)).toEqual(encode(bundleAddMsg(xid, 33, OFPBF.ATOMIC, inner)));
    const [sent] = sock.messages();
    expect(isBundleMsg(sent!, ONFT_BUNDLE_ADD_MESSAGE) && parseBundleAdd(sent).message.xid).toBe(xid);
    // The switch takes the HELLO, then refuses the add: the unsolicited error carries the add as its request.
    sock.emit('data', encode({ type: 'hello', xid: 1, elements: [{ type: 'versionBitmap', versions: [4] }] }));
    const errors: SwitchError[] = [];
    conn.on('switchError', (e) => errors.push(e));
    sock.emit('data', encode({ type: 'error', xid, errType: OFPET.BAD_INSTRUCTION, code: OFPBIC.BAD_TABLE_ID, data: Buffer.alloc(0) }));
    expect(errors).toHaveLength(1);
    const req = errors[0]!.request!;
    expect(req.xid).toBe(xid);
    expect(isBundleMsg(req, ONFT_BUNDLE_ADD_MESSAGE) && parseBundleAdd(req)).toMatchObject({
      bundleId: 33,
      flags: OFPBF.ATOMIC,
      message: { type: 'flowMod', priority: 7, xid },
    });
    conn.close('test over');
  });

  it('an unsolicited error names the fire-and-forget message it refers to (sent with xid 0, under a fresh one)', async () => {
    const { conn, sock } = connection();
    await nextTurn();
    await makeReady(conn, sock);
    const xids = Array.from({ length: 300 }, (_, i) => conn.send(flowMod(i)));
    await microtasks();
    const errors: SwitchError[] = [];
    conn.on('switchError', (e) => errors.push(e));
    sock.emit('data', encode({ type: 'error', xid: xids[17]!, errType: OFPET.BAD_INSTRUCTION, code: OFPBIC.BAD_TABLE_ID, data: Buffer.alloc(0) }));
    expect(errors[0]!.request).toMatchObject({ type: 'flowMod', xid: xids[17], priority: 17 });
    // An xid never sent: no request (the error's own data is all there is).
    sock.emit('data', encode({ type: 'error', xid: 999_999, errType: OFPET.BAD_INSTRUCTION, code: OFPBIC.BAD_TABLE_ID, data: Buffer.alloc(0) }));
    expect(errors[1]!.request).toBeUndefined();
    conn.close('test over');
  });

  it('an unencodable message throws from send() and leaves nothing half-written in the batch', async () => {
    const { conn, sock } = connection();
    await nextTurn();
    sock.writes = [];
    const bad = { ...flowMod(1), match: [{ field: 'no_such_field', value: 1 }] } as MessageOf<'flowMod'>;
    expect(() => conn.send(bad)).toThrow();
    expect(() => conn.sendBundleAdd(1, OFPBF.ATOMIC, bad)).toThrow();
    conn.send(flowMod(2));
    await microtasks();
    expect(sock.messages().map((m) => m.type)).toEqual(['flowMod']);
  });

  it('is backlogged for bulk senders past 1 MB waiting, or a quarter of a smaller maxQueueBytes', async () => {
    const { conn, sock } = connection();
    const small = new SwitchConnection(
      new ScriptedSocket() as unknown as Socket,
      { ...DEFAULT_CONNECTION_OPTIONS, maxQueueBytes: 400_000 },
      silentLogger(),
    );
    await nextTurn(); // the HELLOs written
    sock.writableLength = 1024 * 1024;
    expect(conn.backlogged).toBe(false);
    sock.writableLength = 1024 * 1024 + 1;
    expect(conn.backlogged).toBe(true);
    const s2 = (small as unknown as { socket: ScriptedSocket }).socket;
    s2.writableLength = 100_001;
    expect(small.backlogged).toBe(true);
    conn.close('test over');
    small.close('test over');
  });

  it('drained() resolves at once when the socket is not backed up, else on its drain event (or when the connection closes)', async () => {
    const { conn, sock } = connection();
    await conn.drained();
    sock.writableNeedDrain = true;
    let done = false;
    const p = conn.drained().then(() => {
      done = true;
    });
    await nextTurn();
    expect(done).toBe(false);
    sock.writableNeedDrain = false;
    sock.emit('drain');
    await p;
    sock.writableNeedDrain = true;
    const q = conn.drained();
    conn.close('gone');
    await q; // resolves; the caller's next request fails with ConnectionClosedError
  });
});
