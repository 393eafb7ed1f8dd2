/**
 * The controller's connection layer against real Open vSwitch (a private ovsdb-server + ovs-vswitchd per
 * lab/private-ovs.ts, userspace datapath): handshake, flow programming, errors, multipart reassembly, echo
 * liveness, reconnects, mutual TLS, version negotiation, and robustness against a misbehaving peer.
 * OVS is the independent judge: what it reports (ovs-vsctl is_connected, ovs-ofctl dump-flows) is the proof.
 */
import { execFile } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller, type Refusal } from '../../controller/controller.js';
import { SwitchError } from '../../controller/errors.js';
import type { SwitchConnection } from '../../controller/switch-connection.js';
import type { Logger } from '../../controller/log.js';
import { OFPET, OFPBRC, OFPHFC, OFPFC, OFPP, OFPG, OFPMPF_REPLY_MORE, type MessageOf } from '../../controller/openflow/index.js';
import type { FlowStats } from '../../controller/openflow/multipart/flow.js';
import { PrivateOvs } from '../../lab/private-ovs.js';
import { parseSiteConfig } from '../../apps/dmz/config.js';
import { refuseClaim } from '../../apps/dmz/switch-identity.js';
import { RawSwitch } from '../helpers/raw-switch.js';

const run = promisify(execFile);

type LogLine = { level: number; msg: string; [k: string]: unknown };

/** A JSON-lines logger whose output the test can read. */
function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write: (s: string) => {
        lines.push(JSON.parse(s) as LogLine);
      },
    },
  );
  return { logger, lines };
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The ready connection for `dpid`, now or when it comes up. */
function switchUp(ctl: Controller, dpid: bigint, ms = 15_000): Promise<SwitchConnection> {
  const have = ctl.get(dpid);
  if (have) return Promise.resolve(have);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ctl.off('switchUp', on);
      reject(new Error(`switch ${dpid.toString(16)} did not come up within ${ms} ms`));
    }, ms);
    const on = (c: SwitchConnection) => {
      if (c.dpid !== dpid) return;
      clearTimeout(timer);
      ctl.off('switchUp', on);
      resolve(c);
    };
    ctl.on('switchUp', on);
  });
}

function switchDown(ctl: Controller, conn: SwitchConnection, ms = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`switch ${conn.dpidText} not declared down within ${ms} ms`)), ms);
    const on = (c: SwitchConnection, reason: string) => {
      if (c !== conn) return;
      clearTimeout(timer);
      ctl.off('switchDown', on);
      resolve(reason);
    };
    ctl.on('switchDown', on);
  });
}

/** Established TCP connections whose local (controller) port is `port`, as the kernel sees them. */
async function establishedTo(port: number): Promise<number> {
  const { stdout } = await run('ss', ['-tnH', 'state', 'established', `( sport = :${port} )`]);
  return stdout.split('\n').filter((l) => l.trim()).length;
}

interface IdleConnection {
  socket: Socket;
  closed: boolean;
}

/** A TCP connection from `localAddress` that sends nothing (it reads, so that it sees the controller close it). */
function idleConnection(port: number, localAddress: string): Promise<IdleConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    const c: IdleConnection = { socket, closed: false };
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      c.closed = true;
    });
    socket.once('connect', () => resolve(c));
    socket.once('error', reject);
  });
}

function flowMod(over: Partial<MessageOf<'flowMod'>>): MessageOf<'flowMod'> {
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
    bufferId: 0xffffffff,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: 0,
    match: [],
    instructions: [],
    ...over,
  };
}

const DPID_MAIN = 0x00000000000000a1n;
const ECHO_INTERVAL_MS = 1000;
const TAKEOVER_ECHO_MS = 500;
const DPID_RAW_NEIGHBOUR = 0x00000000000000a2n;

describe('controller against Open vSwitch', () => {
  let ovs: PrivateOvs; // made in beforeAll: a describe that -t filters out runs no hooks, and would leak its dir
  const { logger, lines } = captureLogger();
  const ctl = new Controller({
    port: 0,
    host: '127.0.0.1',
    logger,
    echoIntervalMs: ECHO_INTERVAL_MS,
    echoTimeoutMs: 2000,
    takeoverEchoMs: TAKEOVER_ECHO_MS,
  });
  let port = 0;
  let main: SwitchConnection;

  beforeAll(async () => {
    ovs = new PrivateOvs();
    await ovs.start();
    port = (await ctl.listen()).port!;
  });

  afterAll(async () => {
    await ctl.close();
    await ovs?.stop();
  });

  it('a bridge connects over TCP: handshake, dpid and ports at switchUp, is_connected in OVSDB', async () => {
    const up = switchUp(ctl, DPID_MAIN);
    await ovs.addBridge('br-main', DPID_MAIN, { controller: `tcp:127.0.0.1:${port}`, ports: ['p1', 'p2', 'p3'] });
    main = await up;
    expect(main.state).toBe('ready');
    expect(main.dpid).toBe(DPID_MAIN);
    expect(main.dpidText).toBe('00000000000000a1');
    expect(main.features?.auxiliaryId).toBe(0);
    expect(main.features?.nTables).toBeGreaterThan(1);
    // Three internal ports plus the bridge's LOCAL port, named as OVS named them.
    const names = new Map([...main.ports.values()].map((p) => [p.portNo, p.name]));
    expect(names).toEqual(
      new Map([
        [1, 'p1'],
        [2, 'p2'],
        [3, 'p3'],
        [OFPP.LOCAL, 'br-main'],
      ]),
    );
    await until('OVSDB is_connected', () => ovs.isConnected('br-main'));
    expect(ctl.switches()).toEqual([main]);
    expect(lines.some((l) => l.msg === 'switch connected' && l.dpid === '00000000000000a1')).toBe(true);
  });

  it('a flow-mod sent by the controller is installed (ovs-ofctl dump-flows shows it)', async () => {
    main.send(
      flowMod({
        tableId: 0,
        priority: 1234,
        cookie: 0xc0ffeen,
        match: [
          { field: 'eth_type', value: 0x0800 },
          { field: 'ipv4_dst', value: '10.1.2.3' },
        ],
        instructions: [{ type: 'applyActions', actions: [{ type: 'output', port: 2, maxLen: 0 }] }],
      }),
    );
    await main.barrier();
    const flows = await ovs.ofctl('dump-flows', 'br-main');
    const line = flows.split('\n').find((l) => l.includes('priority=1234'));
    expect(line).toBeDefined();
    expect(line).toContain('cookie=0xc0ffee');
    expect(line).toMatch(/priority=1234,ip,nw_dst=10\.1\.2\.3 actions=output:(2|"p2")/);
  });

  it('a flow-mod OVS refuses rejects its request with the decoded OFPT_ERROR, and is reported as switchError when sent fire-and-forget', async () => {
    // OF1.3.5 §5.1: goto_table must go forward; table 3 -> table 3 is refused with OFPBIC_BAD_TABLE_ID.
    const bad = flowMod({ tableId: 3, priority: 7, instructions: [{ type: 'gotoTable', tableId: 3 }] });
    const err = await main.request(bad, 5000).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SwitchError);
    const se = err as SwitchError;
    expect(se.errType).toBe(OFPET.BAD_INSTRUCTION);
    expect(se.message).toContain('OFPET_BAD_INSTRUCTION/OFPBIC_BAD_TABLE_ID');
    expect(se.message).toContain('00000000000000a1');
    expect(se.request?.type).toBe('flowMod');
    // The switch echoes the start of the refused message (OF1.3.5 §7.4.4): it must be our flow-mod's header.
    expect(se.data[1]).toBe(14);

    const reported = new Promise<SwitchError>((resolve) => ctl.once('switchError', (_c, e) => resolve(e)));
    const xid = main.send(bad);
    const e2 = await reported;
    expect(e2.message).toContain('OFPET_BAD_INSTRUCTION/OFPBIC_BAD_TABLE_ID');
    expect(e2.request?.xid).toBe(xid);
    expect(e2.request?.type).toBe('flowMod');
    expect((await ovs.ofctl('dump-flows', 'br-main', 'table=3')).trim().split('\n').slice(1)).toEqual([]);
  });

  it('reassembles a multipart flow-stats reply of > 64 KB across OFPMPF_REPLY_MORE parts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmzgate-flows-'));
    try {
      const n = 3000;
      const text: string[] = [];
      for (let i = 0; i < n; i++) text.push(`table=1,priority=100,ip,nw_dst=10.${i >> 8}.${i & 255}.1,actions=output:1`);
      writeFileSync(join(dir, 'flows.txt'), text.join('\n') + '\n');
      await ovs.ofctl('add-flows', 'br-main', join(dir, 'flows.txt'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const req: MessageOf<'flowStatsRequest'> = {
      type: 'flowStatsRequest',
      xid: 0,
      flags: 0,
      tableId: 1,
      outPort: OFPP.ANY,
      outGroup: OFPG.ANY,
      cookie: 0n,
      cookieMask: 0n,
      match: [],
    };
    const parts = await main.request(req, 10_000);
    expect(parts.length).toBeGreaterThan(1); // 3000 entries of ~88 bytes cannot fit one 64 KB message
    for (const [i, p] of parts.entries()) {
      expect(p.type).toBe('flowStatsReply');
      expect(((p as { flags: number }).flags & OFPMPF_REPLY_MORE) !== 0).toBe(i < parts.length - 1);
    }
    const flows = await main.multipart<FlowStats>(req, 10_000);
    expect(flows).toHaveLength(3000);
    const dsts = new Set(flows.map((f) => f.match.find((m) => m.field === 'ipv4_dst')?.value));
    expect(dsts.size).toBe(3000);
    expect(dsts.has('10.11.183.1')).toBe(true); // flow 2999
    expect(flows.every((f) => f.tableId === 1 && f.priority === 100)).toBe(true);
  });

  it('refuses a bridge that offers only OpenFlow 1.0 (HELLO_FAILED): it never becomes connected', async () => {
    await ovs.vsctl(
      'add-br',
      'br-v10',
      '--',
      'set',
      'bridge',
      'br-v10',
      'datapath_type=netdev',
      'protocols=OpenFlow10',
      'fail_mode=secure',
      'other-config:datapath-id=00000000000000b0',
    );
    await ovs.setController('br-v10', `tcp:127.0.0.1:${port}`);
    await until('the controller to refuse the OF1.0 switch', () => lines.some((l) => l.msg === 'refusing switch: incompatible OpenFlow version'));
    // OVS retries (max_backoff 1 s): it must stay refused, never connected.
    for (let i = 0; i < 6; i++) {
      expect(await ovs.isConnected('br-v10')).toBe(false);
      await sleep(500);
    }
    expect(ctl.get(0xb0n)).toBeUndefined();
    expect(lines.filter((l) => l.msg === 'refusing switch: incompatible OpenFlow version').length).toBeGreaterThan(1);
    await ovs.vsctl('del-br', 'br-v10');
  });

  it('answers a version-1 HELLO with OFPT_ERROR HELLO_FAILED/INCOMPATIBLE, then closes', async () => {
    const hello10 = Buffer.from([0x01, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x07]);
    const raw = await RawSwitch.connect(port, { dpid: 0xb1n }, hello10);
    const err = await raw.waitFor((m) => m.type === 'error', 3000);
    expect(err).toMatchObject({ type: 'error', errType: OFPET.HELLO_FAILED, code: OFPHFC.INCOMPATIBLE });
    await raw.closed; // EOF from the controller
    expect(raw.received.filter((m) => m.type !== 'hello' && m.type !== 'error')).toEqual([]);
  });

  it('bad input from one switch gets OFPT_ERROR or closes only that connection; the others stay up', async () => {
    const raw = await RawSwitch.ready(port, { dpid: DPID_RAW_NEIGHBOUR });
    await until('raw switch ready', () => ctl.get(DPID_RAW_NEIGHBOUR) !== undefined);

    // An unknown message type: OFPBRC_BAD_TYPE, carrying our xid, connection kept.
    raw.sendRaw(Buffer.from([0x04, 0xc8, 0x00, 0x08, 0x00, 0x00, 0x0a, 0x01]));
    const e1 = await raw.waitFor((m) => m.type === 'error' && m.xid === 0x0a01);
    expect(e1).toMatchObject({ errType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_TYPE });

    // A truncated body: a PACKET_IN of 12 bytes (the fixed part alone is 32). OFPBRC_BAD_LEN, kept.
    raw.sendRaw(Buffer.from([0x04, 0x0a, 0x00, 0x0c, 0x00, 0x00, 0x0a, 0x02, 0xff, 0xff, 0xff, 0xff]));
    const e2 = await raw.waitFor((m) => m.type === 'error' && m.xid === 0x0a02);
    expect(e2).toMatchObject({ errType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN });

    // A wrong version after the handshake: OFPBRC_BAD_VERSION, kept.
    raw.sendRaw(Buffer.from([0x05, 0x02, 0x00, 0x08, 0x00, 0x00, 0x0a, 0x03]));
    const e3 = await raw.waitFor((m) => m.type === 'error' && m.xid === 0x0a03);
    expect(e3).toMatchObject({ errType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_VERSION });

    // An inner length that lies (a port-status whose port is cut short) — still just an error.
    raw.sendRaw(Buffer.from([0x04, 0x0c, 0x00, 0x18, 0x00, 0x00, 0x0a, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]));
    const e4 = await raw.waitFor((m) => m.type === 'error' && m.xid === 0x0a04);
    expect(e4).toMatchObject({ errType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN });

    // Still up and answering the controller.
    const rawConn = ctl.get(DPID_RAW_NEIGHBOUR)!;
    expect(rawConn.state).toBe('ready');
    await rawConn.barrier(3000);

    // A header length below 8 cannot be framed past: OFPBRC_BAD_LEN, then this connection (only) is closed.
    const down = switchDown(ctl, rawConn);
    raw.sendRaw(Buffer.from([0x04, 0x02, 0x00, 0x04, 0x00, 0x00, 0x0a, 0x05, 0xde, 0xad, 0xbe, 0xef]));
    const e5 = await raw.waitFor((m) => m.type === 'error' && m.xid === 0x0a05, 3000);
    expect(e5).toMatchObject({ errType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN });
    expect(await down).toMatch(/broken framing/);
    await raw.closed;

    // The neighbour (real OVS) never noticed.
    expect(ctl.get(DPID_MAIN)).toBe(main);
    expect(main.state).toBe('ready');
    await main.barrier(3000);
    expect(await ovs.isConnected('br-main')).toBe(true);
  });

  it("replies carry the switch's xid, even 0; requests fail cleanly on unencodable messages and closed connections", async () => {
    const dpid = 0xb4n;
    const raw = await RawSwitch.ready(port, { dpid });
    const conn = await switchUp(ctl, dpid);
    // OF1.3.5 §7.5.2/§7.5.3: an echo reply carries the request's xid; 0 is a valid xid and must not be renumbered.
    raw.send({ type: 'echoRequest', xid: 0, data: Buffer.from('ping') });
    const reply = await raw.waitFor((m) => m.type === 'echoReply' && m.data.toString() === 'ping');
    expect(reply.xid).toBe(0);
    raw.sendRaw(Buffer.from([0x04, 0xc9, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00])); // unknown type, xid 0
    const err = await raw.waitFor((m) => m.type === 'error' && m.code === OFPBRC.BAD_TYPE);
    expect(err.xid).toBe(0);

    // A message the codec cannot encode rejects its request at once and leaves nothing waiting (a leftover
    // entry would time out later as an unhandled rejection, which fails this run).
    const bad = flowMod({ match: [{ field: 'no_such_field', value: 1 }] });
    await expect(conn.request(bad, 200)).rejects.toThrow();
    expect(conn.outstandingRequests).toBe(0);
    await sleep(400);

    // A request on a closed connection rejects at once with the reason, not after the request timeout.
    conn.close('closed by the test');
    const t0 = Date.now();
    const closedErr = await conn.barrier(10_000).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(closedErr?.name).toBe('ConnectionClosedError');
    expect(closedErr?.message).toContain('closed by the test');
    expect(Date.now() - t0).toBeLessThan(100);
    await raw.closed;
  });

  it('garbage straight after connecting (no HELLO) is refused at once without harm', async () => {
    const t0 = Date.now();
    // Not OpenFlow: "GE" is version 0x47, type 0x45; refused on sight, not after the handshake timeout.
    const raw = await RawSwitch.connect(port, { dpid: 0xb2n }, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await raw.closed;
    expect(raw.received.find((m) => m.type === 'error')).toMatchObject({ errType: OFPET.HELLO_FAILED, code: OFPHFC.INCOMPATIBLE });
    // A HELLO whose length (0) is shorter than its header.
    const raw2 = await RawSwitch.connect(port, { dpid: 0xb3n }, Buffer.from([0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09]));
    await raw2.closed;
    expect(raw2.received.find((m) => m.type === 'error')).toMatchObject({ xid: 9, errType: OFPET.BAD_REQUEST, code: OFPBRC.BAD_LEN });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(ctl.get(DPID_MAIN)).toBe(main);
    await main.barrier(3000);
  });

  it('a rogue connection claiming a connected datapath id is refused (HELLO_FAILED/EPERM, logged, a refused event); the bridge keeps its channel and its flows', async () => {
    const refusals: Refusal[] = [];
    const onRefused = (r: Refusal) => refusals.push(r);
    ctl.on('refused', onRefused);
    const flowsBefore = await ovs.ofctl('dump-flows', 'br-main');
    expect(flowsBefore).toContain('priority=1234');
    // Plain TCP, the right protocol, the bridge's datapath id: today's impersonation.
    const rogue = await RawSwitch.connect(port, { dpid: DPID_MAIN });
    await rogue.closed;
    const err = rogue.received.find((m) => m.type === 'error');
    expect(err).toMatchObject({ errType: OFPET.HELLO_FAILED, code: OFPHFC.EPERM });
    expect((err as MessageOf<'error'>).data.toString('ascii')).toMatch(
      /^datapath 00000000000000a1 is connected from 127\.0\.0\.1:\d+, which still answers echo requests$/,
    );
    expect(refusals).toEqual([
      expect.objectContaining({ reason: 'datapath-in-use', dpid: DPID_MAIN, remote: expect.stringMatching(/127\.0\.0\.1:\d+$/) }),
    ]);
    expect(lines.some((l) => l.msg === 'switch connection refused' && l.reason === 'datapath-in-use' && l.dpid === '00000000000000a1')).toBe(true);
    // That throttled line is the warning; the refused connection's close is only a debug line.
    expect(lines.filter((l) => l.msg === 'switch connection closed' && /^refused: /.test(String(l.reason))).map((l) => l.level)).toEqual([20]);
    // The real bridge is still the datapath: what the controller sends lands on it, and the rogue got nothing.
    expect(ctl.get(DPID_MAIN)).toBe(main);
    expect(main.state).toBe('ready');
    main.send(flowMod({ priority: 4321, match: [{ field: 'in_port', value: 3 }], instructions: [] }));
    await main.barrier();
    const flows = await ovs.ofctl('dump-flows', 'br-main');
    expect(flows).toContain('priority=1234');
    expect(flows).toMatch(/priority=4321,in_port=(3|"?p3"?) actions=drop/);
    expect(rogue.received.filter((m) => m.type === 'flowMod')).toEqual([]);
    expect(await ovs.isConnected('br-main')).toBe(true);
    ctl.off('refused', onRefused);
  });

  it('a datapath whose old connection no longer answers echoes is taken over by its new connection within the takeover echo deadline', async () => {
    const dpid = 0x00000000000000c1n;
    const old = await RawSwitch.ready(port, { dpid });
    const oldConn = await switchUp(ctl, dpid);
    const oldDown = switchDown(ctl, oldConn);
    const ups: SwitchConnection[] = [];
    const onUp = (c: SwitchConnection) => {
      if (c.dpid === dpid) ups.push(c);
    };
    ctl.on('switchUp', onUp);
    // The datapath comes back (rebooted: no FIN reached us) while the old channel's TCP connection looks alive.
    old.goSilent();
    const t0 = Date.now();
    await ovs.addBridge('br-re', dpid, { controller: `tcp:127.0.0.1:${port}`, ports: ['q1'] });
    await until('the new connection to come up', () => ups.length === 1);
    expect(Date.now() - t0).toBeLessThan(TAKEOVER_ECHO_MS + 1500);
    expect(await oldDown).toMatch(/^replaced by a new connection from the same datapath \(no echo reply within \d+ ms\)$/);
    await old.closed; // the old socket was closed by the controller
    const now = ctl.switches().filter((c) => c.dpid === dpid);
    expect(now).toHaveLength(1);
    expect(now[0]).toBe(ups[0]);
    expect(now[0]).not.toBe(oldConn);
    expect([...now[0]!.ports.values()].map((p) => p.name).sort()).toEqual(['br-re', 'q1']);
    expect(oldConn.isClosed()).toBe(true);
    await until('br-re is_connected', () => ovs.isConnected('br-re'));
    ctl.off('switchUp', onUp);
    // No duplicate across the whole registry either.
    const dpids = ctl.switches().map((c) => c.dpid);
    expect(new Set(dpids).size).toBe(dpids.length);
    await ovs.vsctl('del-br', 'br-re');
  });

  it('connections over the caps on unfinished handshakes are closed at once (overall, per source); idle ones end at the deadline; then a bridge connects', async () => {
    const capLog = captureLogger();
    const HANDSHAKE_MS = 3000;
    const capped = new Controller({
      port: 0,
      host: '127.0.0.1',
      logger: capLog.logger,
      maxPending: 50,
      maxPendingPerSource: 20,
      handshakeTimeoutMs: HANDSHAKE_MS,
    });
    const refusals: Refusal[] = [];
    capped.on('refused', (r) => refusals.push(r));
    const cport = (await capped.listen()).port!;
    try {
      const held: IdleConnection[] = [];
      // Three source addresses (all loopback), 30 idle connections each, one address after the other.
      for (const [from, pendingAfter] of [
        ['127.0.0.2', 20],
        ['127.0.0.3', 40],
        ['127.0.0.4', 50],
      ] as const) {
        held.push(...(await Promise.all(Array.from({ length: 30 }, () => idleConnection(cport, from)))));
        await until(
          `${pendingAfter} pending connections`,
          () => capped.pendingConnections === pendingAfter && refusals.length === held.length - pendingAfter,
          5000,
        );
      }
      await until('the refused connections to be closed', () => held.filter((c) => c.closed).length === 40, 3000);
      expect(refusals.filter((r) => r.reason === 'pending-cap-per-source').map((r) => r.remote.replace(/:\d+$/, ''))).toEqual([
        ...Array(10).fill('127.0.0.2'),
        ...Array(10).fill('127.0.0.3'),
      ]);
      expect(refusals.filter((r) => r.reason === 'pending-cap')).toHaveLength(20);
      // Logged once per reason, not once per connection.
      expect(
        capLog.lines
          .filter((l) => l.msg === 'switch connection refused')
          .map((l) => l.reason)
          .sort(),
      ).toEqual(['pending-cap', 'pending-cap-per-source']);

      // A real bridge is refused too while the caps are full, and gets in once the idle ones reach the deadline.
      const up = switchUp(capped, 0xcafen, HANDSHAKE_MS + 8000);
      await ovs.addBridge('br-cap', 0xcafen, { controller: `tcp:127.0.0.1:${cport}` });
      const conn = await up;
      expect(held.every((c) => c.closed)).toBe(true);
      expect(conn.state).toBe('ready');
      expect(capped.pendingConnections).toBe(0);
      await ovs.vsctl('del-br', 'br-cap');
    } finally {
      await capped.close();
    }
  });

  it('a restarted ovs-vswitchd reconnects its bridge within the echo interval', async () => {
    const down = switchDown(ctl, main);
    await ovs.stopVswitchd();
    await down;
    const up = switchUp(ctl, DPID_MAIN);
    await ovs.startVswitchd();
    const t0 = Date.now();
    main = await up;
    expect(Date.now() - t0).toBeLessThan(ECHO_INTERVAL_MS);
    expect(main.state).toBe('ready');
    expect(ctl.switches().filter((c) => c.dpid === DPID_MAIN)).toEqual([main]);
  });
});

describe('echo liveness against a hung Open vSwitch (SIGSTOP)', () => {
  let ovs: PrivateOvs; // made in beforeAll: a describe that -t filters out runs no hooks, and would leak its dir
  const { logger, lines } = captureLogger();
  const ECHO_INTERVAL = 400;
  const ECHO_TIMEOUT = 400;
  const ctl = new Controller({ port: 0, host: '127.0.0.1', logger, echoIntervalMs: ECHO_INTERVAL, echoTimeoutMs: ECHO_TIMEOUT });
  let stopped: number | undefined;

  beforeAll(async () => {
    ovs = new PrivateOvs();
    await ovs.start();
  });

  afterAll(async () => {
    if (stopped) process.kill(stopped, 'SIGCONT');
    await ctl.close();
    await ovs?.stop();
  });

  it('declares a switch that stops answering down within the echo interval + timeout, closes its socket, and takes it back when it wakes', async () => {
    const port = (await ctl.listen()).port!;
    const dpid = 0xe1n;
    const up = switchUp(ctl, dpid);
    await ovs.addBridge('br-echo', dpid, { controller: `tcp:127.0.0.1:${port}` });
    const conn = await up;
    await sleep(3 * ECHO_INTERVAL);
    expect(conn.state).toBe('ready'); // a live switch answers its echoes and stays up
    expect(await establishedTo(port)).toBe(1);

    const pid = ovs.vswitchdPid!;
    expect(pid).toBeGreaterThan(0);
    const down = switchDown(ctl, conn, 5000);
    const t0 = Date.now();
    process.kill(pid, 'SIGSTOP');
    stopped = pid;
    const reason = await down;
    const took = Date.now() - t0;
    expect(reason).toMatch(/^echo: .*did not answer echoRequest/);
    expect(took).toBeLessThanOrEqual(ECHO_INTERVAL + ECHO_TIMEOUT + 400); // + timer and scheduling slack
    expect(ctl.switches()).toEqual([]);
    expect(lines.some((l) => l.msg === 'switch connection closed' && l.dpid === '00000000000000e1')).toBe(true);
    // Our end of the TCP connection is gone (the stopped peer's kernel still acknowledges the FIN).
    await until('the controller side of the socket to close', async () => (await establishedTo(port)) === 0, 3000);

    process.kill(pid, 'SIGCONT');
    stopped = undefined;
    const back = await switchUp(ctl, dpid, 15_000);
    expect(back).not.toBe(conn);
    expect(ctl.switches()).toEqual([back]);
  });
});

// ------------------------------------------------------------------------------------------------------------
// Mutual TLS. Certificates are made at test time with openssl: a CA that signs the controller's and the
// switch's certificates, and a second, unrelated CA that signs a rogue switch's certificate.

async function openssl(cwd: string, ...args: string[]): Promise<void> {
  await run('openssl', args, { cwd });
}

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
  );
}

async function makeLeaf(dir: string, name: string, ca: string): Promise<void> {
  await openssl(
    dir,
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
  );
  await openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    `${name}.crt`,
  );
}

describe('mutual TLS with Open vSwitch', () => {
  let certs = '';
  // One OVS (two userspace-datapath instances cannot coexist): its SSL settings are global, so the good and
  // the rogue switch take turns.
  let ovs: PrivateOvs; // made in beforeAll: a describe that -t filters out runs no hooks, and would leak its dir
  const { logger, lines } = captureLogger();
  let ctl: Controller;
  let tlsPort = 0;
  const tlsFailures = () => lines.filter((l) => l.msg === 'TLS handshake with switch failed');

  beforeAll(async () => {
    certs = mkdtempSync(join(tmpdir(), 'dmzgate-pki-'));
    await makeCa(certs, 'ca');
    await makeCa(certs, 'other-ca');
    await makeLeaf(certs, 'controller', 'ca');
    await makeLeaf(certs, 'switch', 'ca');
    await makeLeaf(certs, 'rogue', 'other-ca');
    const read = (f: string) => readFileSync(join(certs, f));
    ctl = new Controller({
      port: null,
      logger,
      echoIntervalMs: 1000,
      echoTimeoutMs: 2000,
      tls: { port: 0, host: '127.0.0.1', key: read('controller.key'), cert: read('controller.crt'), ca: read('ca.crt') },
    });
    tlsPort = (await ctl.listen()).tlsPort!;
    ovs = new PrivateOvs();
    await ovs.start();
  });

  afterAll(async () => {
    await ctl?.close();
    await ovs?.stop();
    if (certs) rmSync(certs, { recursive: true, force: true });
  });

  it('a switch with a certificate from our CA connects over ssl:', async () => {
    await ovs.vsctl('set-ssl', join(certs, 'switch.key'), join(certs, 'switch.crt'), join(certs, 'ca.crt'));
    const up = switchUp(ctl, 0xf1n);
    await ovs.addBridge('br-tls', 0xf1n, { controller: `ssl:127.0.0.1:${tlsPort}`, ports: ['t1'] });
    const conn = await up;
    expect(conn.ports.get(1)?.name).toBe('t1');
    await until('OVSDB is_connected over TLS', () => ovs.isConnected('br-tls'));
    conn.send(flowMod({ priority: 42, match: [{ field: 'in_port', value: 1 }], instructions: [] }));
    await conn.barrier();
    expect(await ovs.ofctl('dump-flows', 'br-tls')).toMatch(/priority=42,in_port=(1|t1) actions=drop/);
    expect(tlsFailures()).toEqual([]);
    const down = switchDown(ctl, conn);
    await ovs.vsctl('del-br', 'br-tls');
    await down;
  });

  it('a switch whose certificate another CA signed is refused (never connected; the controller logs the TLS failure)', async () => {
    // The rogue switch trusts our CA, so the failure is ours to detect: its certificate is not from our CA.
    await ovs.vsctl('set-ssl', join(certs, 'rogue.key'), join(certs, 'rogue.crt'), join(certs, 'ca.crt'));
    await ovs.addBridge('br-rogue', 0xf2n, { controller: `ssl:127.0.0.1:${tlsPort}` });
    await until('a TLS failure in the log', () => tlsFailures().length > 0);
    for (let i = 0; i < 6; i++) {
      expect(await ovs.isConnected('br-rogue')).toBe(false);
      await sleep(500);
    }
    expect(ctl.get(0xf2n)).toBeUndefined();
    expect(tlsFailures().length).toBeGreaterThan(1); // OVS kept retrying, and kept being refused
    const fail = tlsFailures()[0]!;
    expect(String(fail.err)).toMatch(/^switch certificate rejected: (UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/);
    expect(String(fail.remote)).toMatch(/^127\.0\.0\.1:\d+$/);

    // Control: the same bridge with a certificate from our CA is let in, so the certificate was the reason.
    const up = switchUp(ctl, 0xf2n);
    await ovs.vsctl('set-ssl', join(certs, 'switch.key'), join(certs, 'switch.crt'), join(certs, 'ca.crt'));
    await up;
    await until('br-rogue is_connected with a good certificate', () => ovs.isConnected('br-rogue'));
  });
});

// ------------------------------------------------------------------------------------------------------------
// Certificates bound to datapath ids (the site config's switches[].certificate), made with ovs-pki as the README
// tells an operator to: a switch CA and a controller CA, a certificate per switch.

describe('switch certificates bound to datapath ids (ovs-pki)', () => {
  let pki = '';
  let ovs: PrivateOvs; // made in beforeAll: a describe that -t filters out runs no hooks, and would leak its dir
  const { logger, lines } = captureLogger();
  let ctl: Controller;
  let tlsPort = 0;
  let tcpPort = 0;
  const refusals: Refusal[] = [];
  const file = (f: string) => join(pki, f);

  beforeAll(async () => {
    pki = mkdtempSync(join(tmpdir(), 'dmzgate-ovs-pki-'));
    const ovsPki = (...args: string[]) => run('ovs-pki', [`--dir=${file('pki')}`, `--log=${file('ovs-pki.log')}`, ...args], { cwd: pki });
    await ovsPki('init');
    await ovsPki('req+sign', 'controller', 'controller');
    await ovsPki('req+sign', 'sw1', 'switch');
    await ovsPki('req+sign', 'sw2', 'switch');
    // What an operator copies into the site config: `ovs-pki fingerprint sw1-cert.pem`, and sw2's subject CN.
    const { stdout } = await ovsPki('fingerprint', file('sw1-cert.pem'));
    const sha1 = /fingerprint ([0-9A-Fa-f]{40})/.exec(stdout)![1]!;
    const cn2 = /^CN=(.*)$/m.exec(new X509Certificate(readFileSync(file('sw2-cert.pem'))).subject)![1]!;
    const ports = '[{ port: 1, role: wan-routed }, { port: 2, role: fw-outside }, { port: 3, role: fw-inside }]';
    const site = parseSiteConfig(
      `site: pki
switches:
  - { name: sw1, dpid: "1", ports: ${ports}, certificate: { fingerprint: "${sha1}" } }
  - { name: sw2, dpid: "2", ports: ${ports}, certificate: { subject: "CN=${cn2}" } }
`,
      'pki-site.yaml',
    );
    ctl = new Controller({
      port: 0,
      host: '127.0.0.1',
      logger,
      echoIntervalMs: 1000,
      echoTimeoutMs: 2000,
      authorize: (claim) => refuseClaim(site, claim),
      tls: {
        port: 0,
        key: readFileSync(file('controller-privkey.pem')),
        cert: readFileSync(file('controller-cert.pem')),
        ca: readFileSync(file('pki/switchca/cacert.pem')),
      },
    });
    ctl.on('refused', (r) => refusals.push(r));
    ({ port: tcpPort, tlsPort } = (await ctl.listen()) as { port: number; tlsPort: number });
    ovs = new PrivateOvs();
    await ovs.start();
  });

  afterAll(async () => {
    await ctl?.close();
    await ovs?.stop();
    if (pki) rmSync(pki, { recursive: true, force: true });
  });

  it("a switch with the certificate made for dpid 2 cannot connect as dpid 1; with dpid 1's it can; plain TCP cannot claim dpid 1", async () => {
    await ovs.vsctl('set-ssl', file('sw2-privkey.pem'), file('sw2-cert.pem'), file('pki/controllerca/cacert.pem'));
    await ovs.addBridge('br-one', 1n, { controller: `ssl:127.0.0.1:${tlsPort}` });
    await until('a refusal for dpid 1', () => refusals.some((r) => r.dpid === 1n));
    // OVS keeps retrying (after its backoff), and keeps being refused.
    await until('a second refusal for dpid 1', () => refusals.filter((r) => r.dpid === 1n).length > 1, 15_000);
    expect(await ovs.isConnected('br-one')).toBe(false);
    expect(ctl.get(1n)).toBeUndefined();
    expect(refusals[0]).toMatchObject({ reason: 'identity', dpid: 1n });
    expect(refusals[0]!.detail).toMatch(/^datapath 0000000000000001 \(sw1\) is bound to another certificate than CN=sw2 id:/);
    expect(lines.some((l) => l.msg === 'switch connection refused' && l.reason === 'identity' && l.dpid === '0000000000000001')).toBe(true);

    // Control: the same bridge with dpid 1's certificate is let in, so the binding was the reason.
    const up = switchUp(ctl, 1n);
    await ovs.vsctl('set-ssl', file('sw1-privkey.pem'), file('sw1-cert.pem'), file('pki/controllerca/cacert.pem'));
    const conn = await up;
    expect(conn.state).toBe('ready');
    await until('br-one is_connected', () => ovs.isConnected('br-one'));

    // Plain TCP may not claim a datapath id bound to a certificate (it is connected, but that is not the reason).
    refusals.length = 0;
    const raw = await RawSwitch.connect(tcpPort, { dpid: 1n });
    await raw.closed;
    expect(refusals).toEqual([
      expect.objectContaining({ reason: 'identity', dpid: 1n, detail: expect.stringMatching(/cannot connect over plain TCP/) }),
    ]);
    expect(ctl.get(1n)).toBe(conn);
  });

  it('close() ends connections still in their TLS handshake at once (it does not wait for their deadline)', async () => {
    const idle = await idleConnection(tlsPort, '127.0.0.1'); // TCP up, no TLS ClientHello
    await until('the idle connection to be pending', () => ctl.pendingConnections === 1);
    const t0 = Date.now();
    await ctl.close();
    expect(Date.now() - t0).toBeLessThan(1000);
    await until('the idle connection to be closed', () => idle.closed, 2000);
  });
});
