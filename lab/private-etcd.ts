// A private etcd cluster for tests and labs (Debian's etcd-server): 1 or 3 members, each in its own temp dir on
// free loopback ports, so runs never touch a system etcd (the package enables one on 2379/2380). Members can be
// killed, stopped (SIGSTOP), resumed and restarted one by one, for failover tests; stop() ends only the PIDs it
// started and removes the temp dirs.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_BIN = process.env.DMZGATE_ETCD ?? '/usr/bin/etcd';

export interface PrivateEtcdOptions {
  /** Members: 1 or 3 (default 1). */
  members?: 1 | 3;
  /** How long start() and restart() wait for the cluster to answer healthy (ms). Default 20000. */
  readyMs?: number;
}

export interface EtcdMember {
  name: string;
  dataDir: string;
  clientPort: number;
  peerPort: number;
  /** The running process, if any (undefined once killed or stopped). */
  process: ChildProcess | undefined;
}

/** The kernel's range of ports for outgoing connections (their source ports). */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi) return [lo, hi];
  } catch {
    // not Linux: the IANA range
  }
  return [49152, 65535];
}

/**
 * A loopback port free right now, below the ephemeral range: a member's port must stay ours while the member is
 * down (a restart binds it again), and a port in that range can meanwhile become the source port of some outgoing
 * connection, a client's reconnection to that very port included (TCP's self-connect on loopback).
 */
export async function freePort(): Promise<number> {
  const [ephemeralLow] = ephemeralRange();
  const lo = Math.min(20_000, ephemeralLow - 2_000);
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = lo + Math.floor(Math.random() * (ephemeralLow - lo));
    if (await canBind(port)) return port;
  }
  throw new Error(`no free loopback port found in ${lo}-${ephemeralLow - 1}`);
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export class PrivateEtcd {
  readonly dir: string;
  readonly members: EtcdMember[] = [];
  private readonly opts: Required<PrivateEtcdOptions>;
  private readonly clusterToken: string;

  constructor(opts: PrivateEtcdOptions = {}) {
    this.opts = { members: 1, readyMs: 20_000, ...opts };
    this.dir = mkdtempSync(join(tmpdir(), 'dmzgate-etcd-'));
    this.clusterToken = `dmzgate-${process.pid}-${Date.now()}`;
  }

  /** `http://127.0.0.1:PORT` of every member, for a client. */
  get endpoints(): string[] {
    return this.members.map((m) => `http://127.0.0.1:${m.clientPort}`);
  }

  /** The `HOST:PORT,HOST:PORT` form of the endpoints (as `--state etcd://...` takes them). */
  get hosts(): string {
    return this.members.map((m) => `127.0.0.1:${m.clientPort}`).join(',');
  }

  /** Starts every member and waits until each answers healthy (a quorum exists). */
  async start(): Promise<void> {
    for (let i = 0; i < this.opts.members; i++) {
      this.members.push({
        name: `m${i}`,
        dataDir: join(this.dir, `m${i}`),
        clientPort: await freePort(),
        peerPort: await freePort(),
        process: undefined,
      });
    }
    try {
      for (const m of this.members) this.spawn(m);
      await Promise.all(this.members.map((m) => this.waitHealthy(m)));
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /** SIGKILLs member `i` (a crash); its data dir stays for restart(). */
  async kill(i: number): Promise<void> {
    await this.end(this.member(i), 'SIGKILL');
  }

  /** Ends member `i` cleanly (SIGTERM). */
  async stopMember(i: number): Promise<void> {
    await this.end(this.member(i), 'SIGTERM');
  }

  /** Freezes member `i` (SIGSTOP: alive, silent, as if cut off), or thaws it. */
  pause(i: number): void {
    this.member(i).process?.kill('SIGSTOP');
  }

  resume(i: number): void {
    this.member(i).process?.kill('SIGCONT');
  }

  /** Starts member `i` again on its data dir and ports, and waits until it answers healthy. */
  async restart(i: number): Promise<void> {
    const m = this.member(i);
    if (m.process) throw new Error(`etcd member ${m.name} still runs (pid ${m.process.pid})`);
    this.spawn(m);
    await this.waitHealthy(m);
  }

  /** PID of member `i`'s process, if it runs. */
  pid(i: number): number | undefined {
    return this.member(i).process?.pid;
  }

  /** Ends every member this instance started (their PIDs only) and removes the temp dir. */
  async stop(): Promise<void> {
    for (const m of this.members) {
      m.process?.kill('SIGCONT'); // a paused member must run to take SIGTERM
      await this.end(m, 'SIGTERM');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The last lines of member `i`'s log (for a test's failure message). */
  log(i: number, lines = 20): string {
    try {
      return readFileSync(join(this.dir, `${this.member(i).name}.log`), 'utf8')
        .split('\n')
        .slice(-lines)
        .join('\n');
    } catch {
      return '';
    }
  }

  private member(i: number): EtcdMember {
    const m = this.members[i];
    if (!m) throw new Error(`no etcd member ${i} (the cluster has ${this.members.length})`);
    return m;
  }

  private spawn(m: EtcdMember): void {
    const peers = this.members.map((p) => `${p.name}=http://127.0.0.1:${p.peerPort}`).join(',');
    const log = openSync(join(this.dir, `${m.name}.log`), 'a');
    const child = spawn(
      ETCD_BIN,
      [
        '--name',
        m.name,
        '--data-dir',
        m.dataDir,
        '--listen-client-urls',
        `http://127.0.0.1:${m.clientPort}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${m.clientPort}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${m.peerPort}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${m.peerPort}`,
        // Read only on the first start (a data dir that exists holds the membership).
        '--initial-cluster',
        peers,
        '--initial-cluster-state',
        'new',
        '--initial-cluster-token',
        this.clusterToken,
        // Loopback: shorter than the defaults (100/1000 ms), so a killed member's absence shows quickly in tests.
        '--heartbeat-interval',
        '50',
        '--election-timeout',
        '500',
        // A counter poll's batch puts every lease that moved, one operation each (etcd's default allows 128).
        '--max-txn-ops',
        '16384',
        '--max-request-bytes',
        String(16 * 1024 * 1024),
        // Old revisions of every key are kept until compacted.
        '--auto-compaction-mode',
        'periodic',
        '--auto-compaction-retention',
        '1h',
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    child.once('exit', () => {
      if (m.process === child) m.process = undefined;
    });
    m.process = child;
  }

  private async end(m: EtcdMember, signal: NodeJS.Signals): Promise<void> {
    const child = m.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      m.process = undefined;
      return;
    }
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    m.process = undefined;
  }

  /** Waits until member `i` answers healthy: it sees a leader (after a kill, once the survivors elected one). */
  async healthy(i: number): Promise<void> {
    await this.waitHealthy(this.member(i));
  }

  /** Waits until member `m` answers GET /health with health true (it sees a leader: a quorum exists). */
  private async waitHealthy(m: EtcdMember): Promise<void> {
    const until = Date.now() + this.opts.readyMs;
    let last = '';
    while (Date.now() < until) {
      if (!m.process) throw new Error(`etcd member ${m.name} exited: ${this.log(this.members.indexOf(m))}`);
      try {
        const res = await fetch(`http://127.0.0.1:${m.clientPort}/health`, { signal: AbortSignal.timeout(1_000) });
        last = await res.text();
        if (res.ok && (JSON.parse(last) as { health?: string }).health === 'true') return;
      } catch (e) {
        last = (e as Error).message;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`etcd member ${m.name} not healthy after ${this.opts.readyMs} ms (${last}): ${this.log(this.members.indexOf(m))}`);
  }
}
