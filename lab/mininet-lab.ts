// A client for the Mininet lab (mininet/lab.py --serve): starts the lab as a child process and drives it over its
// JSON-lines protocol (mininet/serve.py documents the ops). The lab runs in its own network namespace with its own
// Open vSwitch; the DMZ switch connects to a controller on 127.0.0.1:controllerPort in this namespace (relayed),
// or to one the lab spawns with controllerCmd, or to every member of a controller cluster the lab spawns (cluster).
// stop() makes the lab remove everything it made.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { ROOT } from './dmzgate-process.js';
import type { ClusterView } from './dmzgate-cluster.js';

const LAB_PY = join(ROOT, 'mininet', 'lab.py');
const PYTHON = '/usr/bin/python3'; // Debian's mininet is a system-python package

export interface LabOptions {
  /** One switch: prototype, circuit, multiproject; fabrics of several: supercomputer, datasite, distributed. */
  topo?: 'prototype' | 'circuit' | 'multiproject' | 'supercomputer' | 'datasite' | 'distributed';
  /** Routed WAN round-trip time, ms (default 88). */
  rtt?: number;
  circuitRtt?: number;
  projects?: number;
  /** distributed: the dark fibre's round-trip time, ms (default 20). */
  fibreRtt?: number;
  /** Fabrics: the first link's second end is cabled to its port + 10 (or the next free one); the config keeps the planned one. */
  miscable?: boolean;
  /** Enterprise-path loss, "1/N" (default 1/22000; "0": none). */
  loss?: string;
  lossDir?: 'in' | 'out' | 'both';
  wanRate?: number;
  fwRate?: number;
  /** The hosts' default congestion control (iperf3 picks its own per test). */
  cc?: 'bbr' | 'reno';
  controllerPort?: number;
  /** Spawned by the lab before the switch starts, stopped at the end; {port}, {site}, {workdir} substituted. */
  controllerCmd?: string;
  noController?: boolean;
  /** N built dmzgate controllers (c1..cN) on a private etcd of N members, every switch listing them all. */
  cluster?: 1 | 3;
  /** Install the enterprise-path flows with ovs-ofctl (for labs without the DMZ app). */
  staticFlows?: boolean;
  extraArgs?: string[];
  /** ms to wait for the lab to come up (default 120 s). */
  startTimeout?: number;
}

export interface LabHost {
  role: string;
  port?: number;
  mac: string;
  ipv4: string;
  ipv6: string;
}

export interface LabInfo {
  topo: string;
  site: string;
  switch: string;
  dpid: string;
  /** Every switch of the lab (the DMZ switch, or a fabric's first switch, first). */
  switches: { name: string; dpid: string }[];
  /** The fabric links' names as the site config writes them (`SWITCH:PORT-SWITCH:PORT`). */
  links: string[];
  /** With miscable: the configured link whose second end is cabled to another port of its switch. */
  miscabled: { link: string; cabled_to: number } | null;
  rtt_ms: number;
  emulation: 'netem' | 'delayline';
  hosts: Record<string, LabHost>;
  circuits: { name: string; trunk_port: number; vlan: number; far_end_mac: string; remote: string; rtt_ms: number }[];
  site_file: string;
  workdir: string;
  /** host:port of each controller the switches list, comma-separated. */
  controller: string | null;
  cluster: LabCluster | null;
  ovs_dir: string;
  [k: string]: unknown;
}

/** A controller of the lab's cluster (mininet/labcluster.py). */
export interface LabMember {
  name: string;
  /** Its REST API, `http://127.0.0.1:PORT`, reachable from the lab's caller. */
  api: string;
  openflow_port: number;
  /** null once killed. */
  pid: number | null;
  running: boolean;
  /** Its data directory (the leader writes admin.token there). */
  data: string;
  log: string;
}

export interface LabCluster {
  /** The `etcd://HOST:PORT,...` the members share. */
  etcd: string;
  etcd_pids: Record<string, number>;
  members: LabMember[];
}

export interface LabClusterState extends LabCluster {
  /** Each member with its own answer to GET /api/v1/cluster (null if it does not run or answer). */
  members: (LabMember & { view: ClusterView | null })[];
  /** The member every running member names as leader, if they agree. */
  leader: string | null;
  /** Each switch's controllers as OVS reports them, by target (`tcp:127.0.0.1:PORT`). */
  switches: Record<string, Record<string, { connected: boolean; role: 'master' | 'slave' | 'other' | null }>>;
}

export interface PingResult {
  sent: number;
  received: number;
  loss: number;
  min?: number;
  avg?: number;
  max?: number;
  mdev?: number;
  median?: number;
  rtts: number[];
}
export interface IperfResult {
  ok: boolean;
  error?: string;
  sent_mbps?: number;
  received_mbps?: number;
  retransmits?: number;
  cc?: string;
  intervals_mbps?: number[];
  /** iperf3's own end-of-test sums (its JSON `end`). */
  raw?: { sum_sent?: { bytes: number; retransmits?: number }; sum_received?: { bytes: number } };
}
export interface Counter {
  packets: number;
  bytes: number;
}
export interface FwCounters {
  forwarded: { in: Counter; out: Counter; packets: number; bytes: number };
  dropped: Record<'in_dropped' | 'invalid' | 'tagged_dropped' | 'unknown_dropped' | 'lost_in' | 'lost_out', Counter>;
  counters: Record<string, Counter>;
}

export class LabError extends Error {
  override name = 'LabError';
}

export class Lab {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    public info: LabInfo,
    private readonly stderr: { text: string },
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async start(opts: LabOptions = {}): Promise<Lab> {
    const args = [LAB_PY, '--serve', '--topo', opts.topo ?? 'prototype'];
    const add = (flag: string, v: string | number | undefined) => v !== undefined && args.push(flag, String(v));
    add('--rtt', opts.rtt);
    add('--circuit-rtt', opts.circuitRtt);
    add('--projects', opts.projects);
    add('--fibre-rtt', opts.fibreRtt);
    if (opts.miscable) args.push('--miscable');
    add('--loss', opts.loss);
    add('--loss-dir', opts.lossDir);
    add('--wan-rate', opts.wanRate);
    add('--fw-rate', opts.fwRate);
    add('--cc', opts.cc);
    add('--controller-port', opts.controllerPort);
    add('--controller-cmd', opts.controllerCmd);
    if (opts.noController) args.push('--no-controller');
    add('--cluster', opts.cluster);
    // A port without a command: the caller runs the controller itself (the lab would otherwise spawn dmzgate).
    if (opts.controllerPort !== undefined && !opts.controllerCmd && !opts.noController) args.push('--external-controller');
    if (opts.staticFlows) args.push('--static-flows');
    args.push(...(opts.extraArgs ?? []));
    const child = spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const log = { text: '' };
    child.stderr.on('data', (b: Buffer) => (log.text = (log.text + b.toString()).slice(-20_000)));
    const lines = createInterface({ input: child.stdout });
    let lab: Lab | undefined;
    const ready = new Promise<Lab>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGTERM');
        reject(new LabError(`the lab did not come up in ${opts.startTimeout ?? 120_000} ms:\n${log.text.slice(-3000)}`));
      }, opts.startTimeout ?? 120_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new LabError(`the lab exited (${code}) before it was ready:\n${log.text.slice(-3000)}`));
      });
      lines.on('line', (line) => {
        let msg: { event?: string; info?: LabInfo; id?: number; ok?: boolean; result?: unknown; error?: string };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          return;
        }
        if (msg.event === 'ready' && msg.info) {
          clearTimeout(timer);
          lab = new Lab(child, msg.info, log);
          resolve(lab);
          return;
        }
        const p = msg.id !== undefined ? lab?.pending.get(msg.id) : undefined;
        if (!p) return;
        lab!.pending.delete(msg.id!);
        if (msg.ok) p.resolve(msg.result);
        else p.reject(new LabError(msg.error ?? 'lab request failed'));
      });
    });
    const l = await ready;
    child.once('exit', (code) => {
      for (const p of l.pending.values()) p.reject(new LabError(`the lab exited (${code}):\n${log.text.slice(-3000)}`));
      l.pending.clear();
    });
    return l;
  }

  /** The lab's standard error so far (Mininet, delay lines, tracebacks): for failure messages. */
  get log(): string {
    return this.stderr.text;
  }

  request<T>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.stdin.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  cmd(host: string, command: string, timeout = 60): Promise<{ rc: number | null; out: string; err: string }> {
    return this.request('cmd', { host, command, timeout });
  }

  ping(src: string, dst: string, opts: { count?: number; interval?: number; family?: 4 | 6 } = {}): Promise<PingResult> {
    return this.request('ping', { src, dst, ...opts });
  }

  iperf3(
    src: string,
    dst: string,
    opts: {
      port?: number;
      seconds?: number;
      cc?: string;
      reverse?: boolean;
      parallel?: number;
      udp?: boolean;
      bitrate?: string;
      family?: 4 | 6;
      /** More iperf3 client arguments (e.g. ['--interval', '0.5']). */
      extra?: string[];
    } = {},
  ): Promise<IperfResult> {
    return this.request('iperf3', { src, dst, ...opts });
  }

  fwCounters(): Promise<FwCounters> {
    return this.request('fw_counters');
  }

  /** dump-flows of the DMZ switch (in fabrics: the first one), or of the named one. */
  dumpFlows(sw?: string): Promise<string> {
    return this.request('dump_flows', sw ? { switch: sw } : {});
  }

  connected(): Promise<boolean> {
    return this.request('connected');
  }

  /** Moves what is cabled to a switch's port onto another port of that switch (the switch reports both). */
  recable(sw: string, port: number, toPort: number): Promise<{ switch: string; interface: string; port: number }> {
    return this.request('recable', { switch: sw, port, to_port: toPort });
  }

  /** The controller cluster now: members, views, leader, each switch's controller roles. */
  clusterState(): Promise<LabClusterState> {
    return this.request('cluster_state');
  }

  /** SIGKILLs a cluster member by its PID; resolves once it is gone. */
  killMember(name: string): Promise<{ name: string; pid: number; signal: 'SIGKILL' }> {
    return this.request('kill_member', { name });
  }

  /** Starts a killed member again on its data directory and ports; resolves once its API answers. */
  restartMember(name: string): Promise<LabMember> {
    return this.request('restart_member', { name });
  }

  /** Waits until every switch of the lab is connected to its controller (a cluster's: every member that runs). */
  async waitConnected(ms = 30_000): Promise<void> {
    const until = Date.now() + ms;
    while (!(await this.connected())) {
      if (Date.now() > until) throw new LabError(`the switches did not connect to the controller in ${ms} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Stops the lab (it removes its namespaces, veths, bridges, OVS and spawned controller) and waits for it. */
  async stop(ms = 60_000): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.stdin.write(`${JSON.stringify({ id: this.nextId++, op: 'stop' })}\n`);
      this.child.stdin.end();
      const timer = setTimeout(() => this.child.kill('SIGTERM'), ms);
      const code = await this.exited;
      clearTimeout(timer);
      return code;
    }
    return this.exited;
  }
}
