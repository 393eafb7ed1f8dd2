/**
 * A switch that stops reading must not make the controller's memory grow without bound: once what is queued
 * for it (our batch plus the socket's unsent bytes) passes maxQueueBytes, the controller disconnects it and
 * logs why. A raw client plays the stalled switch (it handshakes, then socket.pause()), since a real switch
 * cannot be told to stop reading. The kernel's socket buffers absorb some megabytes first; after that every
 * byte would be the controller's. A negative control (no bound) shows the measurement would catch growth.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Controller } from '../../controller/controller.js';
import type { SwitchConnection } from '../../controller/switch-connection.js';
import type { Logger } from '../../controller/log.js';
import { OFPFC, OFPP, OFPG, type MessageOf } from '../../controller/openflow/index.js';
import { RawSwitch } from '../helpers/raw-switch.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

type LogLine = { level: number; msg: string; [k: string]: unknown };

function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    logger: pino(
      { level: 'info' },
      {
        write: (s: string) => {
          lines.push(JSON.parse(s) as LogLine);
        },
      },
    ),
    lines,
  };
}

/** Live memory after a full collection: what the process really holds, not garbage awaiting collection. */
function liveBytes(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

const turn = () => new Promise((r) => setImmediate(r));
const MB = 1024 * 1024;

function flowMod(i: number): MessageOf<'flowMod'> {
  return {
    type: 'flowMod',
    xid: 0,
    cookie: BigInt(i),
    cookieMask: 0n,
    tableId: 0,
    command: OFPFC.ADD,
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 100,
    bufferId: 0xffffffff,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: 0,
    match: [
      { field: 'eth_type', value: 0x0800 },
      { field: 'ipv4_dst', value: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
    ],
    instructions: [{ type: 'applyActions', actions: [{ type: 'output', port: 1, maxLen: 0 }] }],
  };
}

async function readyPair(ctl: Controller, port: number, dpid: bigint): Promise<{ raw: RawSwitch; conn: SwitchConnection }> {
  const up = new Promise<SwitchConnection>((resolve) =>
    ctl.on('switchUp', (c) => {
      if (c.dpid === dpid) resolve(c);
    }),
  );
  const raw = await RawSwitch.ready(port, { dpid });
  return { raw, conn: await up };
}

describe('a stalled switch and the send-queue bound', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  it('disconnects a switch that stops reading once its queue passes maxQueueBytes, and memory stays bounded', async () => {
    const BOUND = 1 * MB;
    const { logger, lines } = captureLogger();
    const ctl = new Controller({ port: 0, host: '127.0.0.1', logger, maxQueueBytes: BOUND, echoIntervalMs: 600_000 });
    cleanup.push(() => ctl.close());
    const port = (await ctl.listen()).port!;
    const stalled = await readyPair(ctl, port, 0x57a11n);
    cleanup.push(() => stalled.raw.destroy());
    const healthy = await readyPair(ctl, port, 0x600dn);
    cleanup.push(() => healthy.raw.destroy());

    const down = new Promise<string>((resolve) =>
      ctl.on('switchDown', (c, why) => {
        if (c === stalled.conn) resolve(why);
      }),
    );
    stalled.raw.socket.pause(); // from here on the switch reads nothing

    const baseline = liveBytes();
    let peak = 0;
    let sent = 0;
    let maxQueued = 0;
    // 500 flow-mods (~50 KB) per event-loop turn, as an app programming a big policy would; a sample each 20 turns.
    for (let batch = 0; !stalled.conn.isClosed(); batch++) {
      if (sent > 2_000_000) throw new Error('2M flow-mods (~200 MB) queued and the stalled switch is still connected');
      for (let i = 0; i < 500 && !stalled.conn.isClosed(); i++) {
        stalled.conn.send(flowMod(sent++));
        maxQueued = Math.max(maxQueued, stalled.conn.queuedBytes);
      }
      await turn();
      if (batch % 20 === 0) peak = Math.max(peak, liveBytes() - baseline);
    }
    expect(await down).toBe('send queue over its bound (switch stalled)');
    peak = Math.max(peak, liveBytes() - baseline);

    // It took megabytes the kernel absorbed before the bound was reached: the queue really was stalled.
    expect(sent).toBeGreaterThan(BOUND / 100);
    expect(maxQueued).toBeLessThanOrEqual(BOUND + 1024); // never past the bound by more than one message
    const log = lines.find((l) => l.msg === 'switch is not reading: send queue over its bound, disconnecting');
    expect(log).toMatchObject({ dpid: '0000000000057a11', bound: BOUND });
    expect(log!.queued as number).toBeGreaterThan(BOUND);
    expect(ctl.get(0x57a11n)).toBeUndefined();

    // Sending to the closed connection afterwards costs nothing.
    const queuedAtClose = stalled.conn.queuedBytes; // the socket's unsent bytes, until it is destroyed
    for (let i = 0; i < 50_000; i++) stalled.conn.send(flowMod(i));
    expect(stalled.conn.queuedBytes).toBe(queuedAtClose);
    await new Promise((r) => setTimeout(r, 1200)); // the socket is destroyed at the latest 1 s after close
    expect(stalled.conn.queuedBytes).toBe(0);
    const after = liveBytes() - baseline;

    // The bound on the controller's memory: the queue bound plus slack for the runtime (JIT code, pino, the
    // writer's grown buffer). Measured: under 2 MB in all.
    const LIMIT = BOUND + 8 * MB;
    expect(peak).toBeLessThan(LIMIT);
    expect(after).toBeLessThan(LIMIT);

    // The other switch never noticed.
    expect(ctl.get(0x600dn)).toBe(healthy.conn);
    await healthy.conn.barrier(3000);
  });

  it('negative control: with no effective bound the same stall grows memory past that limit (the meter works)', async () => {
    const ctl = new Controller({ port: 0, host: '127.0.0.1', maxQueueBytes: 2 ** 40, echoIntervalMs: 600_000 });
    cleanup.push(() => ctl.close());
    const port = (await ctl.listen()).port!;
    const stalled = await readyPair(ctl, port, 0xbadn);
    cleanup.push(() => stalled.raw.destroy());
    stalled.raw.socket.pause();
    const baseline = liveBytes();
    let sent = 0;
    while (stalled.conn.queuedBytes < 64 * MB) {
      for (let i = 0; i < 2000; i++) stalled.conn.send(flowMod(sent++));
      await turn();
    }
    const grown = liveBytes() - baseline;
    expect(grown).toBeGreaterThan(4 * (1 * MB + 8 * MB));
    expect(stalled.conn.isClosed()).toBe(false);
    stalled.conn.close('test done');
  });
});
