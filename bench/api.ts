// REST API benchmark: POST /api/v1/transfers -> 201, dmzgate beside an os-ken REST app, in one run.
//
// Each 201 means the transfer's flows are on a private Open vSwitch bridge (test/helpers/ovs.ts; the default
// site's switch: dpid 1, 7 ports, apps/dmz/default-site.ts), confirmed by the switch: dmzgate answers after its
// bundle commit (ONF EXT-230, atomic) and the state write; the os-ken app (bench/osken_rest_app.py) after
// the barrier reply following its two flow-mods. Both install the same two flows per transfer (each direction of
// the 5-tuple, priority 40000, hard timeout, send_flow_rem); the bench compares their shape on the switch.
//
// The servers under test, one at a time, each alone on CPU 1 (taskset; this process, the load generator, and
// ovs-vswitchd share CPU 0):
//   dmzgate, state on disk    the built `dmzgate controller` command (dist/bin/dmzgate.js), its data directory on
//                             ext4 (/var/tmp): api/store.ts's journal records (one write + fdatasync per group
//                             commit) and folds into the state document, as deployed;
//   dmzgate, state on tmpfs   the same on /dev/shm (full run only): the same writes without the I/O wait;
//   dmzgate, writes off       the same command (bench/api-server.ts) with the journal's appends and fdatasyncs and
//                             the folds replaced by nothing (the records' text is still made): what dmzgate does
//                             when its state writes cost nothing;
//   os-ken REST app           bench/osken_rest_app.py under os_ken.cmd.manager (no durable state at all).
// Per system: a warm-up, then a round at each concurrency (1, 10, 100): N loops over keep-alive connections
// (http.Agent), each request a new transfer (its own remote /32 in 198.18.0.0/15, within the token's limits),
// timed from the request's start to its answer's end. A round lasts a fixed time or a fixed count, whichever
// ends first (the systems differ by more than 10x); its transfers stay active until it ends. Then the switch's
// lease flows are counted (2 per 201, or the run fails) and the round's transfers released (DELETE, not timed
// into the figures).
//
// Store: dmzgate's /metrics before and after each round (dmzgate_store_write_seconds: journal records, each a
// write + fdatasync holding every change made while the previous one was under way;
// dmzgate_store_journal_written_bytes_total; dmzgate_store_fold_seconds: folds of the journal into the state
// document) give the records, their mean time and size, their busy share (record time / round time: records are
// written one at a time, so a share near 100% means requests wait for whole records) and the folds; beside them
// the state document's and the journal's sizes, what the state is made of (read as a restart would: the document
// with the journal replayed, api/store.ts readState), and the goal: the rate with writes kept within 10% of the
// rate with writes off.
//
// The machine may be shared: the other load on each core during each round is noted (like bench/controller.ts),
// and each server's CPU time per request is given (the figure other load disturbs least).
//
// Usage: npm run bench:api [-- --quick] [--profile] [--verbose] [--keep]
//   --quick    short rounds, no tmpfs run (~25 s on an idle machine)
//   --profile  also runs dmzgate (state on disk, and writes off) under `node --cpu-prof` and summarises the
//              samples taken during its concurrency-10 and -100 rounds (separate runs: the figures above are
//              not taken under the profiler). V8 samples by wall clock: on the one core the server is pinned to,
//              a system call that wakes another thread (a socket or file write) tends to be charged with the
//              time that thread then runs, so natives like writeString and writeBuffer are over-counted (making
//              pino's writes asynchronous, 12% writeString here, saved no CPU time): decide between versions of
//              the code by their CPU time per request, not by these shares
//   --verbose  progress on stderr
//   --keep     keep the servers' logs, state directories and profiles (their paths go to stderr)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allowedCpus, coreBusySeconds, cpuSeconds, pinSelf } from './cores.js';
import { PrivateOvs } from '../test/helpers/ovs.js';
import { openStore, createToken, readState } from '../api/index.js';
import { summariseProfile, type CpuProfile } from './controller-profile.js';
import { NO_STATE, pct, report, type Round, type StoreFigures, type SystemRun, type Usage } from './api-report.js';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const PROFILE = argv.includes('--profile');
const PYTHON = '/usr/bin/python3'; // Debian's python3-os-ken, not a pyenv shim
const GEN_CORE = '0';
const SRV_CORE = '1';
const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = join(HERE, '..', 'bin', 'dmzgate.js');
const NO_WRITES = join(HERE, 'api-server.js'); // the same command with the state file's writes off
const BRIDGE = 'br-api';
const PORTS = ['wan', 'trunk', 'fwout', 'fwin', 'dtn1', 'ps1', 'lan1']; // the default site's roles, ports 1-7
const LEASE_COOKIE = '0x00d1000000000000/0xffff000000000000'; // both systems: owner 0xd1 << 48 | transfer id

/**
 * Rounds last `seconds` (no request starts after that; the round ends with the last answer) or `max` requests,
 * whichever comes first. Time-bound, because the systems differ by more than 10x in rate.
 */
const CFG = QUICK
  ? { warm: { seconds: 0.5, max: 300 }, rounds: [1, 10, 100], seconds: 1, max: 500, tmpfs: false }
  : { warm: { seconds: 5, max: 2000 }, rounds: [1, 10, 100], seconds: 10, max: 5000, tmpfs: true };
const RELEASE_CONCURRENCY = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const T0 = performance.now();
const log = (what: string) => { if (argv.includes('--verbose')) console.error(`[${((performance.now() - T0) / 1000).toFixed(1)} s] ${what}`); };

// ---- processes, cores, load ---------------------------------------------------------------------------------------

/** CPU use of our processes and of each core, to tell our work from other load. */
interface Mark { t: number; srv: number; ovs: number; gen: number; cores: [number, number] }

function mark(srvPid: number, ovsPid: number): Mark {
  const u = process.cpuUsage();
  return { t: performance.now(), srv: cpuSeconds(srvPid), ovs: cpuSeconds(ovsPid), gen: (u.user + u.system) / 1e6, cores: coreBusySeconds() };
}

function usage(a: Mark, b: Mark): Usage {
  const s = (b.t - a.t) / 1000;
  const srv = (b.srv - a.srv) / s;
  const ovs = (b.ovs - a.ovs) / s;
  const gen = (b.gen - a.gen) / s;
  const c0 = (b.cores[0] - a.cores[0]) / s;
  const c1 = (b.cores[1] - a.cores[1]) / s;
  return { srv, ovs, gen, other: [Math.max(0, c0 - ovs - gen), Math.max(0, c1 - srv)] };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

async function stopProc(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const done = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM'); // our own child, by its handle
  const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  await done;
  clearTimeout(t);
}

function fsType(dir: string): string {
  const r = spawnSync('findmnt', ['-n', '-o', 'FSTYPE', '-T', dir], { encoding: 'utf8' });
  return r.stdout?.trim().split('\n')[0] || spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).stdout?.trim() || '?';
}

// ---- the servers under test -------------------------------------------------------------------------------------

interface Server {
  system: string;
  /** Where its state lives ('' for none). */
  state: string;
  pid: number;
  api: number;
  ofPort: number;
  token: string;
  proc: ChildProcess;
  logFile: string;
  dataDir?: string;
  /** Resolves when the bridge is connected and the app's initial flows are in. */
  switchReady(): Promise<void>;
  stop(): Promise<void>;
}

function logText(s: { logFile: string }): string {
  try {
    return readFileSync(s.logFile, 'utf8');
  } catch {
    return '';
  }
}

/** The first JSON log line (dmzgate's pino output) that `pred` accepts. */
function logLine(s: { logFile: string }, pred: (l: Record<string, unknown>) => boolean): Record<string, unknown> | undefined {
  for (const text of logText(s).split('\n')) {
    if (!text.startsWith('{')) continue;
    try {
      const l = JSON.parse(text) as Record<string, unknown>;
      if (pred(l)) return l;
    } catch {
      // a line being written
    }
  }
  return undefined;
}

async function waitFor(what: string, srv: { proc: ChildProcess; logFile: string }, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (srv.proc.exitCode !== null || srv.proc.signalCode !== null) throw new Error(`${what}: the server exited (${srv.proc.exitCode ?? srv.proc.signalCode}):\n${logText(srv).slice(-3000)}`);
    if (Date.now() > until) throw new Error(`${what}: not within ${ms} ms:\n${logText(srv).slice(-3000)}`);
    await sleep(50);
  }
}

async function startDmzgate(work: string, dataDir: string, state: string, nodeArgs: string[] = [], entry = CLI): Promise<Server> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`);
  mkdirSync(dataDir, { recursive: true });
  // A project token as an operator would make it (dmzgate token create), before the controller claims the directory.
  const store = await openStore(dataDir);
  const { token } = await createToken(store, {
    project: 'bench', dtns: ['dtn1'], remotes: ['198.18.0.0/15'], ports: ['50000-51000'], paths: ['routed'],
    maxDurationSeconds: 3600, scopes: ['transfers:write'], description: 'bench/api.ts',
  });
  await store.close();
  const ofPort = await freePort();
  const logFile = join(work, `dmzgate-${state.replace(/\W+/g, '-')}.log`);
  const fd = openSync(logFile, 'w');
  // Logs at the default level (info) to a file: what a deployment pays, without a pipe this process must drain.
  const args = entry === CLI ? [CLI, 'controller'] : [entry];
  const proc = spawn('taskset', ['-c', SRV_CORE, process.execPath, ...nodeArgs, ...args, '--openflow-port', String(ofPort),
    '--api-port', '0', '--data', dataDir], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const srv = { proc, logFile };
  let api = 0;
  try {
    await waitFor('dmzgate controller ready', srv, () => {
      const ready = logLine(srv, (l) => l.msg === 'controller ready');
      const url = /:(\d+)$/.exec(String(ready?.api ?? ''));
      if (url) api = Number(url[1]);
      return api > 0;
    });
  } catch (e) {
    await stopProc(proc);
    throw e;
  }
  return {
    system: 'dmzgate', state, pid: proc.pid!, api, ofPort, token, proc, logFile, dataDir,
    switchReady: () => waitFor('dmzgate: switch reconciled', srv, () => logLine(srv, (l) => l.msg === 'reconciled switch' && l.dpid === '0000000000000001') !== undefined),
    stop: () => stopProc(proc),
  };
}

function appPath(name: string): string {
  // Python files are not compiled: from dist/bench/ look in the source tree's bench/.
  const p = [join(HERE, name), join(HERE, '../../bench', name)].find((f) => existsSync(f));
  if (!p) throw new Error(`${name} not found next to ${HERE}`);
  return p;
}

async function startOsken(work: string): Promise<Server> {
  const ofPort = await freePort();
  const api = await freePort();
  const token = randomBytes(32).toString('base64url');
  const logFile = join(work, 'osken.log');
  const fd = openSync(logFile, 'w');
  const proc = spawn('taskset', ['-c', SRV_CORE, PYTHON, '-m', 'os_ken.cmd.manager', '--ofp-listen-host', '127.0.0.1',
    '--ofp-tcp-listen-port', String(ofPort), appPath('osken_rest_app.py')], {
    stdio: ['ignore', fd, fd], env: { ...process.env, OSKEN_BENCH_HTTP_PORT: String(api), OSKEN_BENCH_TOKEN: token },
  });
  closeSync(fd);
  const srv = { proc, logFile };
  try {
    await waitFor('os-ken REST app listening', srv, () => canConnect(api));
  } catch (e) {
    await stopProc(proc);
    throw new Error(`${(e as Error).message}\nIs python3-os-ken installed? (apt-get install python3-os-ken; ${PYTHON})`);
  }
  return {
    system: 'os-ken', state: '', pid: proc.pid!, api, ofPort, token, proc, logFile,
    switchReady: () => waitFor('os-ken: switch connected', srv, () => logText(srv).includes('"ready": true')),
    stop: () => stopProc(proc),
  };
}

// ---- the load generator -----------------------------------------------------------------------------------------

interface Answer { status: number; body: string }

function call(agent: Agent, srv: Server, method: string, path: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { authorization: `Bearer ${srv.token}` };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const req = request({ host: '127.0.0.1', port: srv.api, method, path, agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Transfer number k: its own remote /32 in 198.18.0.0/15, a DTN-side port and a remote port. */
function transferBody(k: number): string {
  const remote = `198.${18 + ((k >> 16) & 1)}.${(k >> 8) & 0xff}.${k & 0xff}`;
  return JSON.stringify({
    dtn: 'dtn1', remote, protocol: 'tcp', local_ports: [String(50000 + (k % 1001))], remote_ports: [String(33000 + (k % 20000))],
    path: 'routed', duration: 600,
  });
}

/** Runs up to `n` jobs from `c` loops, none started after `until` (performance.now()); job i gets its own index. Returns how many ran. */
async function loops(c: number, n: number, job: (i: number) => Promise<void>, until = Infinity): Promise<number> {
  let next = 0;
  await Promise.all(Array.from({ length: c }, async () => {
    for (let i = next++; i < n && performance.now() < until; i = next++) await job(i);
  }));
  return Math.min(next - c, n); // each loop took one index it did not run
}

const monoUs = () => Number(process.hrtime.bigint() / 1000n);

/** One round: creations from c loops for `seconds` (at most `max`), checked on the switch, then released. `base` numbers the transfers. */
async function round(srv: Server, ovs: PrivateOvs, c: number, seconds: number, max: number, base: number): Promise<Round> {
  const agent = new Agent({ keepAlive: true, maxSockets: c });
  try {
    // The connections are opened before the clock starts.
    await loops(c, c, async () => { await call(agent, srv, 'GET', '/api/v1/switches'); });
    const lat = new Float64Array(max);
    const done = new Float64Array(max);
    const ids: number[] = [];
    const errors: string[] = [];
    const before = srv.system === 'dmzgate' ? await storeMetrics(srv) : undefined;
    const m0 = mark(srv.pid, ovs.vswitchdPid!);
    const w0 = monoUs();
    const n = await loops(c, max, async (i) => {
      const body = transferBody(base + i);
      const t0 = performance.now();
      const r = await call(agent, srv, 'POST', '/api/v1/transfers', body);
      done[i] = performance.now();
      lat[i] = done[i]! - t0;
      if (r.status === 201) ids.push((JSON.parse(r.body) as { id: number }).id);
      else if (errors.length < 5) errors.push(`${r.status} ${r.body.slice(0, 300)}`);
      else errors.push('');
    }, m0.t + seconds * 1000);
    const w1 = monoUs();
    const m1 = mark(srv.pid, ovs.vswitchdPid!);
    if (errors.length) throw new Error(`${srv.system}: ${errors.length} of ${n} requests at concurrency ${c} were not 201: ${errors.filter(Boolean).join(' | ')}`);
    const after = before ? await storeMetrics(srv) : undefined;
    const took = (m1.t - m0.t) / 1000;
    let store: StoreFigures | undefined;
    if (before && after) {
      const writes = after.count - before.count;
      const folds = after.folds - before.folds;
      store = {
        writes, writeMs: writes ? ((after.sum - before.sum) * 1000) / writes : 0, busy: (after.sum - before.sum) / took,
        recordBytes: writes ? (after.written - before.written) / writes : 0, folds, foldMs: folds ? ((after.foldSum - before.foldSum) * 1000) / folds : 0,
        docBytes: after.bytes, journalBytes: after.journal, parts: await stateParts(srv.dataDir!),
      };
    }
    // Every 201 stands for two flows on the switch.
    const onSwitch = await leaseFlowCount(ovs);
    if (onSwitch !== 2 * n) throw new Error(`${srv.system}: after ${n} transfers the switch holds ${onSwitch} lease flows, not ${2 * n}`);
    const latN = lat.subarray(0, n).sort();
    const doneN = done.subarray(0, n).sort();
    const q = (x: number) => latN[Math.min(n - 1, Math.floor(x * n))]!;
    const k = Math.max(1, Math.floor(n / 4));
    const firstQ = (k * 1000) / (doneN[k - 1]! - m0.t);
    const lastQ = (k * 1000) / (doneN[n - 1]! - doneN[n - 1 - k]!);
    const releaseRate = await release(srv, ovs, ids);
    return { c, n, p50: q(0.5), p99: q(0.99), max: latN[n - 1]!, rate: n / took, firstQ, lastQ, seconds: took, use: usage(m0, m1), window: [w0, w1], releaseRate, ...(store ? { store } : {}) };
  } finally {
    agent.destroy();
  }
}

/** Releases the transfers (DELETE) and checks that the switch holds no lease flows; returns releases per second. */
async function release(srv: Server, ovs: PrivateOvs, ids: number[]): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: RELEASE_CONCURRENCY });
  try {
    const bad: string[] = [];
    const t0 = performance.now();
    await loops(RELEASE_CONCURRENCY, ids.length, async (i) => {
      const r = await call(agent, srv, 'DELETE', `/api/v1/transfers/${ids[i]}`);
      if (r.status !== 200 && bad.length < 5) bad.push(`${r.status} ${r.body.slice(0, 200)}`);
    });
    const rate = (ids.length * 1000) / (performance.now() - t0);
    if (bad.length) throw new Error(`${srv.system}: release refused: ${bad.join(' | ')}`);
    const left = await leaseFlowCount(ovs);
    if (left !== 0) throw new Error(`${srv.system}: ${left} lease flows left on the switch after the releases`);
    return rate;
  } finally {
    agent.destroy();
  }
}

async function leaseFlowCount(ovs: PrivateOvs): Promise<number> {
  const out = await ovs.ofctl('dump-aggregate', BRIDGE, `cookie=${LEASE_COOKIE}`);
  const m = /flow_count=(\d+)/.exec(out);
  if (!m) throw new Error(`dump-aggregate: ${out}`);
  return Number(m[1]);
}

/** The two flows of one transfer as the switch holds them, with what differs per transfer and per system blanked. */
async function flowShape(ovs: PrivateOvs): Promise<string[]> {
  const out = await ovs.ofctl('dump-flows', BRIDGE, `cookie=${LEASE_COOKIE}`);
  const lines = out.split('\n').filter((l) => l.includes('cookie='));
  const first = /cookie=(0x[0-9a-f]+)/.exec(lines[0] ?? '')?.[1];
  return lines.filter((l) => l.includes(`cookie=${first},`)).map((l) => l
    .replace(/cookie=0x[0-9a-f]+, duration=[\d.]+s, /, '')
    .replace(/n_packets=\d+, n_bytes=\d+, /, '')
    .replace(/hard_timeout=\d+/, 'hard_timeout=T')
    .replace(/198\.1[89]\.\d+\.\d+/g, 'REMOTE')
    .replace(/tp_(src|dst)=\d+/g, 'tp_$1=P')
    .trim()).sort();
}

/** dmzgate's store figures from /metrics (no token needed). */
async function storeMetrics(srv: Server): Promise<{ sum: number; count: number; written: number; foldSum: number; folds: number; bytes: number; journal: number }> {
  const agent = new Agent({ keepAlive: false });
  try {
    const r = await call(agent, srv, 'GET', '/metrics');
    const num = (name: string) => Number(new RegExp(`^${name} ([\\d.e+-]+)$`, 'm').exec(r.body)?.[1] ?? NaN);
    return {
      sum: num('dmzgate_store_write_seconds_sum'), count: num('dmzgate_store_write_seconds_count'),
      written: num('dmzgate_store_journal_written_bytes_total'),
      foldSum: num('dmzgate_store_fold_seconds_sum'), folds: num('dmzgate_store_fold_seconds_count'),
      bytes: num('dmzgate_store_bytes'), journal: num('dmzgate_store_journal_bytes'),
    };
  } finally {
    agent.destroy();
  }
}

/** What the state is made of after the round, read as a restart would read it (document + journal). */
async function stateParts(dataDir: string): Promise<string> {
  const st = await readState(dataDir) as unknown as Record<string, unknown>;
  const size = (v: unknown) => JSON.stringify(v).length;
  const total = size(st);
  const count = (v: unknown) => (Array.isArray(v) ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0);
  return Object.entries(st).map(([k, v]) => ({ k, n: count(v), share: size(v) / total }))
    .filter((x) => x.share >= 0.01).sort((a, b) => b.share - a.share)
    .map((x) => `${x.k} ${x.n} (${pct(x.share)})`).join(', ');
}

// ---- one system ---------------------------------------------------------------------------------------------------

async function runSystem(ovs: PrivateOvs, start: () => Promise<Server>, label: string, opts: { profile?: boolean } = {}): Promise<SystemRun> {
  const srv = await start();
  let stopped = false;
  try {
    await ovs.addBridge(BRIDGE, 1n, { controller: `tcp:127.0.0.1:${srv.ofPort}`, ports: PORTS });
    await srv.switchReady();
    log(`${label}: switch ready`);
    let base = 1;
    // Warm-up: the server's code is optimised before anything is timed (and the connections exist).
    const warm = await round(srv, ovs, 10, CFG.warm.seconds, CFG.warm.max, base);
    base += warm.n;
    log(`${label}: warm-up ${warm.rate.toFixed(0)}/s`);
    const rounds: Round[] = [];
    let shape: string[] = [];
    for (const c of CFG.rounds) {
      if (opts.profile && c === 1) continue;
      const r = await round(srv, ovs, c, CFG.seconds, CFG.max, base);
      base += r.n;
      rounds.push(r);
      log(`${label}: concurrency ${c}: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ${r.rate.toFixed(0)}/s; released at ${r.releaseRate.toFixed(0)}/s`);
    }
    // One transfer on the switch, to compare the flows the two systems install.
    {
      const agent = new Agent({ keepAlive: false });
      const r = await call(agent, srv, 'POST', '/api/v1/transfers', transferBody(base));
      agent.destroy();
      if (r.status !== 201) throw new Error(`${label}: ${r.status} ${r.body}`);
      shape = await flowShape(ovs);
    }
    let profile: string | undefined;
    if (opts.profile) {
      await srv.stop(); // the profile is written at exit
      stopped = true;
      profile = profileSummary(join(srv.dataDir!, '..', 'cpuprof'), rounds);
    }
    return { label, system: srv.system, state: srv.state, rounds, warmRate: warm.rate, shape, ...(profile ? { profile } : {}) };
  } finally {
    if (!stopped) await srv.stop();
    await ovs.vsctl('--if-exists', 'del-br', BRIDGE);
  }
}

/** The samples of a --cpu-prof profile taken within each round's window, summarised. */
function profileSummary(dir: string, rounds: Round[]): string {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return 'no profile was written';
  const p = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
  const out: string[] = [];
  for (const r of rounds) {
    // V8 profile times and process.hrtime are both CLOCK_MONOTONIC microseconds.
    const samples: number[] = [];
    const deltas: number[] = [];
    let t = p.startTime;
    let last = r.window[0];
    for (let i = 0; i < p.samples.length; i++) {
      t += p.timeDeltas[i] ?? 0;
      if (t < r.window[0] || t > r.window[1]) continue;
      samples.push(p.samples[i]!);
      deltas.push(t - last);
      last = t;
    }
    if (samples.length === 0) {
      out.push(`concurrency ${r.c}: no samples in the round's window (profile ${p.startTime}..${p.endTime} us, round ${r.window[0]}..${r.window[1]} us)`);
      continue;
    }
    out.push(`concurrency ${r.c} (${r.n} requests, ${r.rate.toFixed(0)}/s under the profiler):`);
    out.push(summariseProfile({ ...p, samples, timeDeltas: deltas }, 22));
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  pinSelf(GEN_CORE);
  const osken = spawnSync(PYTHON, ['-c', 'import os_ken, sys; print(os_ken.__version__, sys.version.split()[0])'], { encoding: 'utf8' }).stdout.trim().split(' ');
  console.log(`dmzgate REST API benchmark (${QUICK ? 'quick' : 'full'} run): node ${process.version}; os-ken ${osken[0] ?? '?'} on python ${osken[1] ?? '?'}\n`);
  const work = mkdtempSync(join('/var/tmp', 'dmzgate-bench-api-')); // on disk: /tmp may be tmpfs elsewhere
  const shm = mkdtempSync(join('/dev/shm', 'dmzgate-bench-api-'));
  const ovs = new PrivateOvs();
  const runs: SystemRun[] = [];
  try {
    await ovs.start();
    const pin = spawnSync('taskset', ['-a', '-cp', GEN_CORE, String(ovs.vswitchdPid)], { encoding: 'utf8' });
    if (pin.status !== 0) throw new Error(`taskset -a -cp ${GEN_CORE} ${ovs.vswitchdPid}: ${pin.stderr}`);
    const version = spawnSync('ovs-vswitchd', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
    const ovsNote = `${version} (private, userspace datapath) bridge dpid 1, 7 ports`;
    const diskDir = join(work, 'data-disk');
    const shmDir = join(shm, 'data-tmpfs');
    const diskState = `disk (${fsType(work)})`;
    const shmState = `tmpfs (${fsType(shm)})`;
    runs.push(await runSystem(ovs, () => startDmzgate(work, diskDir, diskState), 'dmzgate'));
    if (CFG.tmpfs) runs.push(await runSystem(ovs, () => startDmzgate(work, shmDir, shmState), 'dmzgate'));
    runs.push(await runSystem(ovs, () => startDmzgate(work, join(work, 'data-none'), NO_STATE, [], NO_WRITES), 'dmzgate'));
    runs.push(await runSystem(ovs, () => startOsken(work), 'os-ken REST app'));
    if (PROFILE) {
      // Separate runs (the figures above are not taken under the profiler): state on disk, and without writes.
      for (const [key, state, entry] of [['disk', diskState, CLI], ['none', NO_STATE, NO_WRITES]] as const) {
        const profDir = join(work, `prof-${key}`);
        const profiled = await runSystem(ovs, () => startDmzgate(work, join(profDir, 'data'), state,
          ['--cpu-prof', `--cpu-prof-dir=${join(profDir, 'cpuprof')}`], entry), 'dmzgate (profiled)', { profile: true });
        runs.push({ ...profiled, rounds: [] }); // its figures, taken under the profiler, are not reported
      }
    }
    report(runs, { ovsNote, serverCore: SRV_CORE, genCore: GEN_CORE, warmSeconds: CFG.warm.seconds, seconds: CFG.seconds, max: CFG.max });
  } finally {
    await ovs.stop();
    if (argv.includes('--keep')) {
      console.error(`bench: kept the servers' logs and state in ${work} and ${shm}`);
    } else {
      rmSync(work, { recursive: true, force: true });
      rmSync(shm, { recursive: true, force: true });
    }
  }
}

main().then(() => process.exit(0), (e: Error) => {
  console.error(`bench: ${e.stack ?? e.message}`);
  process.exit(1);
});
