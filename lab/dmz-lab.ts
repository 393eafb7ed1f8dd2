// The whole system for end-to-end runs: the built `dmzgate controller` (Running) on a data directory of its own,
// the Mininet lab (Lab, mininet/lab.py --serve) whose DMZ switch connects to it, the controller's REST API, and
// what the scenarios read off the switch (ovs-ofctl dump-flows) and the hosts. Used by test/e2e/scenarios.test.ts
// and bench/lab-report.ts.
//
// The controller is started here rather than by the lab (--controller-cmd) so that a test can SIGKILL it and start
// it again on the same data directory and OpenFlow port while the lab runs: the switch reaches it through the
// lab's relay, and Mininet's switch retries every second at most (max_backoff 1000).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI, ROOT, Running, until, type LogLine } from './dmzgate-process.js';
import { Lab, type LabOptions } from './mininet-lab.js';
import { ownerCookie, ownerIdOf } from '../controller/cookie.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One flow of `ovs-ofctl dump-flows`, with the fields the scenarios look at. */
export interface DumpedFlow {
  cookie: bigint;
  duration: number;
  packets: number;
  bytes: number;
  priority: number;
  line: string;
}

export function parseFlows(text: string): DumpedFlow[] {
  const out: DumpedFlow[] = [];
  for (const line of text.split('\n')) {
    const cookie = /cookie=(0x[0-9a-f]+)/.exec(line);
    if (!cookie) continue;
    out.push({
      cookie: BigInt(cookie[1]!),
      duration: Number(/duration=([\d.]+)s/.exec(line)?.[1] ?? NaN),
      packets: Number(/n_packets=(\d+)/.exec(line)?.[1] ?? NaN),
      bytes: Number(/n_bytes=(\d+)/.exec(line)?.[1] ?? NaN),
      priority: Number(/priority=(\d+)/.exec(line)?.[1] ?? 32768),
      line: line.trim(),
    });
  }
  return out;
}

export const sumFlows = (flows: DumpedFlow[]): { packets: number; bytes: number; flows: number } =>
  flows.reduce((a, f) => ({ packets: a.packets + f.packets, bytes: a.bytes + f.bytes, flows: a.flows + 1 }), { packets: 0, bytes: 0, flows: 0 });

/**
 * A counter read once the switch has settled: Open vSwitch's userspace datapath pushes its flow statistics to the
 * OpenFlow rules periodically (revalidators, ~0.5 s), so a read right after traffic can be short. Reads until two
 * reads 700 ms apart agree (compared by `key`), or `ms` has passed.
 */
export async function settled<T>(read: () => Promise<T>, key: (v: T) => string, ms = 6000): Promise<T> {
  const deadline = Date.now() + ms;
  let prev = await read();
  for (;;) {
    await sleep(700);
    const cur = await read();
    if (key(cur) === key(prev) || Date.now() > deadline) return cur;
    prev = cur;
  }
}

export interface ApiAnswer<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export interface TransferView {
  id: number;
  state: string;
  path: string;
  dtn: string;
  remote: string;
  local_ports: string[];
  end: string;
  counters: { bytes_in: number; bytes_out: number; packets_in: number; packets_out: number };
  [k: string]: unknown;
}

export interface DmzLabOptions extends Omit<LabOptions, 'controllerPort' | 'controllerCmd' | 'noController' | 'staticFlows'> {
  /** Passed to `dmzgate controller` (e.g. ['--log-level', 'debug']). */
  controllerArgs?: string[];
  /** Changes the topology's site config (sitegen.py's text) before the controller reads it. */
  editSite?: (yaml: string) => string;
}

export class DmzLab {
  /** Every controller process started (the current one last). */
  readonly controllers: Running[] = [];
  api = '';

  private constructor(
    readonly lab: Lab,
    readonly work: string,
    readonly data: string,
    readonly ofPort: number,
    private readonly args: string[],
  ) {}

  /** Starts the controller on the lab topology's site config, then the lab; resolves once every switch is reconciled. */
  static async start(opts: DmzLabOptions = {}): Promise<DmzLab> {
    const work = mkdtempSync(join(tmpdir(), 'dmzgate-e2e-'));
    const data = join(work, 'data');
    const site = join(work, 'site.yaml');
    const { controllerArgs, editSite, ...labOpts } = opts;
    let controller: Running | undefined;
    let lab: Lab | undefined;
    try {
      // The site config of the topology, as the lab writes it (mininet/sitegen.py); the lab's own copy only
      // exists once the lab runs, and the controller must be up before the switch.
      await run(PYTHON, [
        join(ROOT, 'mininet', 'sitegen.py'),
        '--topo',
        labOpts.topo ?? 'prototype',
        ...(labOpts.projects !== undefined ? ['--projects', String(labOpts.projects)] : []),
        ...(labOpts.fibreRtt !== undefined ? ['--fibre-rtt', String(labOpts.fibreRtt)] : []),
        '-o',
        site,
      ]);
      if (editSite) writeFileSync(site, editSite(readFileSync(site, 'utf8')));
      const ofPort = await freePort();
      const args = ['--openflow-port', String(ofPort), '--api-port', '0', '--data', data, '--config', site, ...(controllerArgs ?? [])];
      controller = new Running(args, work);
      const ready = await controller.line((l) => l.msg === 'controller ready', 'controller ready', 30_000);
      lab = await Lab.start({ ...labOpts, controllerPort: ofPort });
      const d = new DmzLab(lab, work, data, ofPort, args);
      d.controllers.push(controller);
      d.api = ready.api as string;
      for (const sw of lab.info.switches)
        await controller.line((l) => l.msg === 'reconciled switch' && l.dpid === sw.dpid, `switch ${sw.name} reconciled`, 60_000);
      return d;
    } catch (e) {
      await lab?.stop().catch(() => undefined);
      if (controller?.running) controller.signal('SIGKILL');
      rmSync(work, { recursive: true, force: true });
      throw e;
    }
  }

  get controller(): Running {
    return this.controllers[this.controllers.length - 1]!;
  }

  /** Every JSON log line of every controller process started. */
  get logLines(): LogLine[] {
    return this.controllers.flatMap((c) => c.lines);
  }

  get adminToken(): string {
    return readFileSync(join(this.data, 'admin.token'), 'utf8').trim();
  }

  /** `dmzgate token create --data DATA ... --json` (through the running controller's API): the secret. */
  async createToken(...args: string[]): Promise<{ id: number; token: string }> {
    const { stdout } = await run(process.execPath, [CLI, 'token', 'create', '--data', this.data, ...args, '--json'], { timeout: 30_000 });
    return JSON.parse(stdout) as { id: number; token: string };
  }

  async request<T = Record<string, unknown>>(method: string, path: string, token: string, body?: unknown): Promise<ApiAnswer<T>> {
    const res = await fetch(new URL(path, this.api), {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  /** GET /api/v1/transfers/:id (live counters). */
  async transfer(id: number, token: string): Promise<TransferView> {
    const r = await this.request<TransferView>('GET', `/api/v1/transfers/${id}`, token);
    if (r.status !== 200) throw new Error(`GET transfer ${id}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  /** The lease's counters once the switch has settled (see settled()). */
  settledTransfer(id: number, token: string, ms = 6000): Promise<TransferView> {
    return settled(
      () => this.transfer(id, token),
      (t) => JSON.stringify(t.counters),
      ms,
    );
  }

  async flows(): Promise<DumpedFlow[]> {
    return parseFlows(await this.lab.dumpFlows());
  }

  async flowsOf(owner: number, id?: number): Promise<DumpedFlow[]> {
    const all = await this.flows();
    return all.filter((f) => (id === undefined ? ownerIdOf(f.cookie) === owner : f.cookie === ownerCookie(owner, id)));
  }

  /** dump-flows counters of an owner's flows once the switch has settled (see settled()). */
  settledFlowsOf(owner: number, id?: number, ms = 6000): Promise<DumpedFlow[]> {
    return settled(
      () => this.flowsOf(owner, id),
      (f) => JSON.stringify(sumFlows(f)),
      ms,
    );
  }

  /** SIGKILL to the running controller; resolves when it is gone. */
  async killController(): Promise<void> {
    const c = this.controller;
    c.signal('SIGKILL');
    const { signal } = await c.exited;
    if (signal !== 'SIGKILL') throw new Error(`the controller exited with ${signal}, not SIGKILL`);
  }

  /** A new controller process on the same data directory, OpenFlow port and site config. */
  async restartController(): Promise<Running> {
    const c = new Running(this.args, this.work);
    this.controllers.push(c);
    const ready = await c.line((l) => l.msg === 'controller ready', 'controller ready (restart)', 30_000);
    this.api = ready.api as string;
    return c;
  }

  /** Stops the lab (it removes everything it made), then the controller with SIGTERM; removes the work dir. */
  async stop(): Promise<{ lab: number | null; controller: { code: number | null; signal: NodeJS.Signals | null } | undefined }> {
    const labCode = await this.lab.stop();
    let controller;
    if (this.controller.running) {
      this.controller.signal('SIGTERM');
      controller = await this.controller.exited;
    }
    for (const c of this.controllers) if (c.running) c.signal('SIGKILL');
    rmSync(this.work, { recursive: true, force: true });
    return { lab: labCode, controller };
  }

  /**
   * Waits until a host has no TCP connection left but listeners and TIME-WAIT ones, then for what is still in
   * flight (the WAN's delay and its buffer of one bandwidth-delay product, a DTN's RSTs to it) to arrive. iperf3
   * reports when the receiver stops counting, and its sender's kernel may still hold megabytes to send until the
   * server process is gone: without this, a transfer's tail would run into the next measurement (or onto a lease
   * made next).
   */
  drained(host: string, ms = 10_000): Promise<void> {
    return drained(this.lab, host, ms);
  }

  /**
   * TCP handshake round trips from src to dst:port, ms (connect() time: SYN out, SYN-ACK back), with a listener
   * started on dst for the purpose. Leases are TCP or UDP, never ICMP, so this is the RTT a lease's traffic sees.
   */
  async tcpRtt(src: string, dst: string, port: number, count = 15): Promise<{ median: number; min: number; rtts: number[] }> {
    const addr = this.lab.info.hosts[dst]!.ipv4;
    const listener = this.lab.cmd(
      dst,
      `exec ${PYTHON} -c ${shq(
        `import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('0.0.0.0',${port}))\n` +
          `s.listen(64)\ns.settimeout(20)\nfor i in range(${count}):\n  c,_=s.accept()\n  c.close()\n`,
      )}`,
      30,
    );
    await until(`a listener on ${dst}:${port}`, async () => new RegExp(`:${port}\\s`).test((await this.lab.cmd(dst, 'ss -H -tln')).out), 5000);
    const probe = await this.lab.cmd(
      src,
      `${PYTHON} -c ${shq(
        `import socket,time,json\nr=[]\nfor i in range(${count}):\n  s=socket.socket()\n  s.settimeout(5)\n  t=time.perf_counter()\n` +
          `  s.connect(('${addr}',${port}))\n  r.append((time.perf_counter()-t)*1000)\n  s.close()\n  time.sleep(0.05)\nprint(json.dumps(r))\n`,
      )}`,
      60,
    );
    const l = await listener;
    if (probe.rc !== 0) throw new Error(`tcp rtt probe ${src} -> ${dst}:${port} failed: ${probe.err}`);
    if (l.rc !== 0) throw new Error(`listener on ${dst}:${port} failed: ${l.err}`);
    const rtts = JSON.parse(probe.out) as number[];
    const sorted = [...rtts].sort((a, b) => a - b);
    return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, rtts: rtts.map((x) => Math.round(x * 100) / 100) };
  }
}

/** DmzLab.drained for any lab (one whose controllers the lab spawned itself, a cluster's for instance). */
export async function drained(lab: Lab, host: string, ms = 10_000): Promise<void> {
  await until(
    `${host}'s connections to close`,
    async () => {
      const out = (await lab.cmd(host, 'ss -Htna')).out;
      return out.split('\n').every((l) => !l.trim() || /^(LISTEN|TIME-WAIT)\s/.test(l.trim()));
    },
    ms,
  );
  await sleep(Math.max(250, 3 * Number(lab.info.rtt_ms)));
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

// --- what exists on the machine, before and after --------------------------------------------------------------

export interface HostSnapshot {
  /** net namespace id -> a PID in it. */
  netns: Map<string, number>;
  links: Set<string>;
  procs: Map<number, string>;
}

export function snapshot(): HostSnapshot {
  const netns = new Map<string, number>();
  const procs = new Map<number, string>();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const ns = readlinkSync(`/proc/${p}/ns/net`);
      if (!netns.has(ns)) netns.set(ns, Number(p));
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (cmd) procs.set(Number(p), cmd);
    } catch {
      // gone meanwhile
    }
  }
  if (existsSync('/run/netns')) for (const n of readdirSync('/run/netns')) netns.set(`named:${n}`, 0);
  return { netns, links: new Set(readdirSync('/sys/class/net')), procs };
}

/** The lab's processes now: the lab runner (found by its namespace) and everything below it, with their namespaces. */
export function labProcesses(labNetns: string): { pids: Map<number, string>; netns: Set<string> } {
  const parent = new Map<number, number>();
  const cmd = new Map<number, string>();
  const ns = new Map<number, string>();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      parent.set(Number(p), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      cmd.set(Number(p), readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').trim());
      ns.set(Number(p), readlinkSync(`/proc/${p}/ns/net`));
    } catch {
      // gone meanwhile
    }
  }
  const roots = [...ns].filter(([pid, n]) => n === labNetns && /lab\.py/.test(cmd.get(pid) ?? '')).map(([pid]) => pid);
  const pids = new Map<number, string>();
  const todo = [...roots];
  while (todo.length) {
    const pid = todo.pop()!;
    if (pids.has(pid)) continue;
    pids.set(pid, cmd.get(pid) ?? '');
    for (const [child, pp] of parent) if (pp === pid) todo.push(child);
  }
  return { pids, netns: new Set([...pids.keys()].map((p) => ns.get(p)!).filter(Boolean)) };
}
