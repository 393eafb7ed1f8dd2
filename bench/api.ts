// REST API benchmark: POST /api/v1/transfers -> 201, dmzgate beside a bare REST app on its own stack and an os-ken
// REST app, in one run.
//
// Each 201 means the transfer's flows are on a private Open vSwitch bridge (lab/private-ovs.ts; the default
// site's switch: dpid 1, 7 ports, apps/dmz/default-site.ts), confirmed by the switch: dmzgate answers after its
// bundle commit (ONF EXT-230, atomic) and the state write; the bare and os-ken apps after the barrier reply
// following their two flow-mods. All install the same two flows per transfer (each direction of the 5-tuple,
// priority 40000, hard timeout, send_flow_rem); the bench compares their shape on the switch.
//
// The systems (bench/api-servers.ts starts them):
//   dmzgate, state on disk    the built `dmzgate controller` command (dist/bin/dmzgate.js), its data directory on
//                             ext4 (/var/tmp): api/state/journal-store.ts's journal records (one write + fdatasync per group
//                             commit) and folds into the state document, as deployed;
//   dmzgate, state on tmpfs   the same on /dev/shm (full run only): the same writes without the I/O wait;
//   dmzgate, writes off       the same command (bench/api-server.ts) with the journal's appends and fdatasyncs and
//                             the folds replaced by nothing (the records' text is still made): what dmzgate does
//                             when its state writes cost nothing;
//   bare REST app             bench/bare-rest-app.ts: the os-ken app's program on dmzgate's stack (fastify and
//                             controller/), nothing kept: the least a server built on that stack does, measured
//                             in the same run (also paced to dmzgate's rate: pacedRound), so a goal dmzgate misses
//                             can be read against what this machine gives any server on that stack;
//   os-ken REST app           bench/osken_rest_app.py under os_ken.cmd.manager (no durable state at all).
// And the disk alone (bench/disk-sync.ts): 1 KB appends, each followed by fdatasync, in the on-disk system's
// directory before the rounds and after them. A 201 from the system on disk waits for such a write (its journal
// record), so that write's p99 is a floor under its p99 that no server can go below here.
//
// Why the rounds are interleaved: on a shared VM the machine's speed drifts by up to 1.5x within a minute (two
// runs two minutes apart once gave disk / writes-off ratios of 0.67x and 1.20x), so systems measured one after
// the other, a minute apart, mostly compare the drift. So all the servers run from the start, each on its own
// bridge of the one switch, and at each concurrency the bench makes R repetitions (3; 1 with --quick) of one
// short round per system in turn, every other repetition in reverse order (a steady drift then favours no
// system). Two systems' rounds of one repetition are seconds apart: the goals that compare systems (state on disk
// against writes off) take the ratio per repetition and check its median; the other figures pool each system's
// rounds at a concurrency (percentiles of all their latencies, req/s as all requests over all time). The ratios of
// dmzgate (state on disk) to every other system are printed first (bench/api-ratios.ts): goals are read from them.
//
// Cores: the server being measured is alone on CPU 1; the others wait on CPU 0 (taskset -a, every thread, checked),
// where this process (the load generator) and ovs-vswitchd run. The idle servers take no requests; their CPU
// time during each round is noted, and a round starts only once every server has been idle for 200 ms (settle).
// Each system gets a warm-up (concurrency 10) before any round is timed: 4 cycles of up to 3,000 requests or 2.5 s,
// each then released as a round's are (--quick: 2 of 1,500 or 1 s). Why that
// long: V8 goes on optimising a server's code for about ten thousand requests, on background threads that, with
// every thread of the server on one core, take that core from the request path (measured with every thread's CPU
// time from /proc: 0.13 ms per request in those threads after a 1,500-request warm-up, 131 functions optimised
// during the next 3,000 requests; 0.01 ms and 14 after 12,000), and their work also made the scavenges' parallel
// tasks wait (minor GC mean 3.9-4.6 ms, then 2.7). Why in cycles: after one 12,000-request warm-up and its release,
// 44 functions were still (re)optimised during the next 2,500 creations (the release path had changed what the
// shared code saw: deopts on "wrong map"); after four cycles of 3,000, 10. A scheduler trace showed those
// background compilations taking the server's core for up to 4.7 ms at a time while requests waited.
// A controller runs for days: what is measured is the steady state it reaches. Every system gets the same warm-up.
// This process times the requests, so its own GC pauses would count into them: it runs with a fixed 64 MB
// semi-space (GENERATOR_NODE_FLAGS), and the report gives the pauses it still had during the timed rounds.
//
// A round: N loops over keep-alive connections (bench/http-conn.ts, opened before the clock starts), each request a new
// transfer (its own remote /32 in 198.18.0.0/15, within the token's limits), timed from the request's start to
// its answer's end. It lasts a fixed time or a fixed count, whichever ends first (the systems differ by more than
// 10x); its transfers stay active until it ends. Then the switch's lease flows on the system's bridge are counted
// (2 per 201, or the run fails) and the round's transfers released (DELETE, not timed into the figures).
//
// Store: dmzgate's /metrics before and after each round (dmzgate_store_write_seconds: journal records, each a
// write + fdatasync holding every change made while the previous one was under way;
// dmzgate_store_journal_written_bytes_total; dmzgate_store_fold_seconds: folds of the journal into the state
// document) give the records, their mean time and size, their busy share (record time / round time: records are
// written one at a time, so a share near 100% means requests wait for whole records) and the folds; beside them
// the state document's and the journal's sizes, what the state is made of (read as a restart would: the document
// with the journal replayed, api/state/journal-store.ts readState), and the goal: the rate with writes kept within 10% of the
// rate with writes off.
//
// The machine may be shared: the other load on each core during each round is noted (like bench/controller.ts),
// and each server's CPU time per request is given (the figure other load disturbs least).
//
// Usage: npm run bench:api [-- --quick] [--profile] [--verbose] [--keep]
//   --cluster  instead: a 3-instance controller cluster beside a single instance, and the failover time
//              (bench/api-cluster.ts)
//   --quick    one repetition of short rounds, no tmpfs system (~30 s on an idle machine; full: 2.5-3 min)
//   --profile  then also runs dmzgate (state on disk, and writes off) under `node --cpu-prof`, interleaved the
//              same way, and summarises the samples taken during its concurrency-10 and -100 rounds (separate
//              servers: the figures above are not taken under the profiler). V8 samples by wall clock: on the one
//              core the server is pinned to, a system call that wakes another thread (a socket or file write)
//              tends to be charged with the time that thread then runs, so natives like writeString and
//              writeBuffer are over-counted (making pino's writes asynchronous, 12% writeString here, saved no CPU
//              time): decide between versions of the code by their CPU time per request, not by these shares
//   --verbose  progress on stderr
//   --keep     keep the servers' logs, state directories and profiles (their paths go to stderr)
import { PerformanceObserver } from 'node:perf_hooks';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { coreBusySeconds, cpuSeconds, pinSelf, waitUntilIdle, type IdleWait } from './cores.js';
import { PrivateOvs } from '../lab/private-ovs.js';
import { readState } from '../api/index.js';
import { summariseProfile, type CpuProfile } from './controller-profile.js';
import { HttpConnection, requestOnce } from './http-conn.js';
import { CLI, NO_WRITES, fsType, oskenVersion, placeOnCore, startBare, startDmzgate, startOsken, type Launch, type Server } from './api-servers.js';
import { apiRatios } from './api-ratios.js';
import { clusterBench } from './api-cluster.js';
import { printRatios } from './ratios.js';
import { fdatasyncLatencies } from './disk-sync.js';
import { GC_KINDS, NO_STATE, pct, report, type GcKind, type Round, type Span, type StoreFigures, type SystemRun, type Usage } from './api-report.js';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const PROFILE = argv.includes('--profile');
const GEN_CORE = '0';
const SRV_CORE = '1';
const ROLES = ['wan', 'trunk', 'fwout', 'fwin', 'dtn1', 'ps1', 'lan1']; // the default site's ports 1-7
const LEASE_COOKIE = '0x00d1000000000000/0xffff000000000000'; // every system: owner 0xd1 << 48 | transfer id

/**
 * A round ends after `seconds` (no request starts later; it ends with the last answer) or `max` requests. With
 * `pace` (requests/s), request i starts no earlier than i / pace seconds into the round (a paced round).
 */
interface Limits {
  seconds: number;
  max: number;
  pace?: number;
}

/**
 * Time-bound as well as count-bound, because the systems differ by more than 10x in rate; dmzgate's rounds mostly
 * end on the count, so its variants hold as many transfers at a round's end. The full run's 3 repetitions of
 * shorter rounds take about as long as its one round per system and concurrency did (5000 requests or 10 s, about
 * 90 s in all): fewer requests at concurrency 1 (one at a time, the slowest), more at 10 and 100, whose rounds
 * would otherwise be over in half a second, too short to average out the machine's jitter.
 */
const CFG: { warm: Limits & { cycles: number }; rounds: Array<{ c: number } & Limits>; reps: number; tmpfs: boolean } = QUICK
  ? { warm: { cycles: 2, seconds: 1, max: 1500 }, rounds: [1, 10, 100].map((c) => ({ c, seconds: 1, max: 500 })), reps: 1, tmpfs: false }
  : {
      warm: { cycles: 4, seconds: 2.5, max: 3000 },
      rounds: [
        { c: 1, seconds: 3, max: 1000 },
        { c: 10, seconds: 3, max: 2500 },
        { c: 100, seconds: 3, max: 2500 },
      ],
      reps: 3,
      tmpfs: true,
    };
const PROFILED_CONCURRENCIES = [10, 100];
/** The concurrency at which the bare app also gets a round paced to dmzgate's rate (the p99 goal's). */
const PACED_AT = 10;
const RELEASE_CONCURRENCY = 10;
/** Idle before a round: each server under 5% of a core over 200 ms (a tick of /proc CPU time is 10 ms), waiting at most 5 s. */
const IDLE = { busyShare: 0.05, windowMs: 200, maxMs: 5000 };
const T0 = performance.now();
const log = (what: string) => {
  if (argv.includes('--verbose')) console.error(`[${((performance.now() - T0) / 1000).toFixed(1)} s] ${what}`);
};

// ---- the systems of a run -----------------------------------------------------------------------------------------

/** A system to run: how to start its server, where its rounds come in a repetition (`turn`), its bridge's `key`. */
interface Spec {
  key: string;
  label: string;
  turn: number;
  start(at: Launch): Promise<Server>;
  profileDir?: string;
}

/** A running system and what it has measured so far. */
interface Contender {
  spec: Spec;
  srv: Server;
  bridge: string;
  core: string;
  /** The number of its next transfer (each transfer its own remote address). */
  next: number;
  rounds: Round[];
  /** The bare app's rounds paced to dmzgate's rate (PACED_AT), one per repetition. */
  paced: Round[];
  warmRate: number;
  shape: string[];
}

const bridgeOf = (key: string) => `br-${key}`;

/** Puts `measured` alone on the server core and every other server on the generator's core. */
function placeFor(measured: Contender, all: Contender[]): void {
  for (const x of all) {
    const core = x === measured ? SRV_CORE : GEN_CORE;
    if (x.core === core) continue;
    placeOnCore(x.srv.pid, core);
    x.core = core;
  }
}

/** The order of the rounds in repetition `rep`: by turn, reversed every other time so a steady drift favours no one. */
function turnOrder(all: Contender[], rep: number): Contender[] {
  const order = [...all].sort((a, b) => a.spec.turn - b.spec.turn);
  return rep % 2 ? order.reverse() : order;
}

// ---- CPU use --------------------------------------------------------------------------------------------------

/** CPU use of our processes and of each core, to tell our work from other load. */
interface Mark {
  t: number;
  srv: number;
  ovs: number;
  gen: number;
  idle: number;
  cores: [number, number];
}

function mark(srvPid: number, ovsPid: number, idlePids: number[]): Mark {
  const u = process.cpuUsage();
  return {
    t: performance.now(),
    srv: cpuSeconds(srvPid),
    ovs: cpuSeconds(ovsPid),
    gen: (u.user + u.system) / 1e6,
    idle: idlePids.reduce((a, pid) => a + cpuSeconds(pid), 0),
    cores: coreBusySeconds(),
  };
}

function usage(a: Mark, b: Mark): Usage {
  const s = (b.t - a.t) / 1000;
  const per = (k: 'srv' | 'ovs' | 'gen' | 'idle') => (b[k] - a[k]) / s;
  const c0 = (b.cores[0] - a.cores[0]) / s;
  const c1 = (b.cores[1] - a.cores[1]) / s;
  return {
    srv: per('srv'),
    ovs: per('ovs'),
    gen: per('gen'),
    idle: per('idle'),
    other: [Math.max(0, c0 - per('ovs') - per('gen') - per('idle')), Math.max(0, c1 - per('srv'))],
  };
}

// ---- the load generator -----------------------------------------------------------------------------------------

/** `n` keep-alive connections to a server's API, with its token. */
function connections(srv: Server, n: number): HttpConnection[] {
  return Array.from({ length: n }, () => new HttpConnection(srv.api, `Bearer ${srv.token}`));
}

/** Transfer number k: its own remote /32 in 198.18.0.0/15, a DTN-side port and a remote port. */
function transferBody(k: number): string {
  const remote = `198.${18 + ((k >> 16) & 1)}.${(k >> 8) & 0xff}.${k & 0xff}`;
  return JSON.stringify({
    dtn: 'dtn1',
    remote,
    protocol: 'tcp',
    local_ports: [String(50000 + (k % 1001))],
    remote_ports: [String(33000 + (k % 20000))],
    path: 'routed',
    duration: 600,
  });
}

/** Runs up to `n` jobs from `c` loops, none started after `until` (performance.now()); job i gets its own index and its loop's. Returns how many ran. */
async function loops(c: number, n: number, job: (i: number, loop: number) => Promise<void>, until = Infinity): Promise<number> {
  let next = 0;
  await Promise.all(
    Array.from({ length: c }, async (_, loop) => {
      for (let i = next++; i < n && performance.now() < until; i = next++) await job(i, loop);
    }),
  );
  return Math.min(next - c, n); // each loop took one index it did not run
}

const monoUs = () => Number(process.hrtime.bigint() / 1000n);

/** Waits until performance.now() reaches `t` (timers fire on whole milliseconds: paced requests start in small bursts). */
async function sleepUntil(t: number): Promise<void> {
  const wait = t - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

/** This process's GC pauses (start, as performance.now(), and duration in ms), to count those inside timed rounds. */
const gcPauses: Array<[number, number]> = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.push([e.startTime, e.duration]);
}).observe({ entryTypes: ['gc'] });

/** The GC pauses that began between two performance.now() times. */
function gcBetween(t0: number, t1: number): { n: number; ms: number; max: number } {
  const within = gcPauses.filter(([t]) => t >= t0 && t <= t1).map(([, d]) => d);
  return { n: within.length, ms: within.reduce((a, d) => a + d, 0), max: Math.max(0, ...within) };
}

/** What the timed part of a round saw: each answer's latency and time, the transfers made, the CPU marks. */
interface Drive {
  n: number;
  lat: Float64Array;
  done: Float64Array;
  ids: number[];
  m0: Mark;
  m1: Mark;
  window: [number, number];
  genGc: Round['genGc'];
}

/** The timed part of a round: creations from c loops until the time or the count runs out; all must be 201. */
async function drive(x: Contender, conns: HttpConnection[], c: number, limits: Limits, ovsPid: number, idlePids: number[]): Promise<Drive> {
  const lat = new Float64Array(limits.max);
  const done = new Float64Array(limits.max);
  const ids: number[] = [];
  const errors: string[] = [];
  const m0 = mark(x.srv.pid, ovsPid, idlePids);
  const w0 = monoUs();
  const n = await loops(
    c,
    limits.max,
    async (i, loop) => {
      const body = transferBody(x.next + i);
      if (limits.pace) await sleepUntil(m0.t + (i * 1000) / limits.pace);
      const t0 = performance.now();
      const r = await conns[loop]!.request('POST', '/api/v1/transfers', body);
      done[i] = performance.now();
      lat[i] = done[i] - t0;
      if (r.status === 201) ids.push((JSON.parse(r.body) as { id: number }).id);
      else if (errors.length < 5) errors.push(`${r.status} ${r.body.slice(0, 300)}`);
      else errors.push('');
    },
    m0.t + limits.seconds * 1000,
  );
  const window: [number, number] = [w0, monoUs()];
  const m1 = mark(x.srv.pid, ovsPid, idlePids);
  x.next += n;
  if (errors.length)
    throw new Error(`${x.spec.key}: ${errors.length} of ${n} requests at concurrency ${c} were not 201: ${errors.filter(Boolean).join(' | ')}`);
  return { n, lat: lat.slice(0, n).sort(), done: done.slice(0, n).sort(), ids, m0, m1, window, genGc: gcBetween(m0.t, m1.t) };
}

/** The first and the last quarter of a round's answers, as counts over times. */
function quarters(d: Drive): { firstQ: Span; lastQ: Span } {
  const k = Math.max(1, Math.floor(d.n / 4));
  return {
    firstQ: { n: k, seconds: (d.done[k - 1]! - d.m0.t) / 1000 },
    lastQ: { n: k, seconds: (d.done[d.n - 1]! - d.done[d.n - 1 - k]!) / 1000 },
  };
}

/** One round of system x at concurrency c: driven, its flows checked on the switch, then released. */
async function round(x: Contender, all: Contender[], ovs: PrivateOvs, c: number, rep: number, limits: Limits, withParts = false): Promise<Round> {
  placeFor(x, all);
  const conns = connections(x.srv, c);
  try {
    // The connections are opened before the clock starts.
    await loops(c, c, async (_, loop) => {
      await conns[loop]!.request('GET', '/api/v1/switches');
    });
    const quiet = await settle(all);
    const before = x.srv.system === 'dmzgate' ? await storeMetrics(x.srv) : undefined;
    (globalThis as { gc?: () => void }).gc?.(); // this process's own garbage, collected before the clock starts
    const d = await drive(
      x,
      conns,
      c,
      limits,
      ovs.vswitchdPid!,
      all.filter((y) => y !== x).map((y) => y.srv.pid),
    );
    const seconds = (d.m1.t - d.m0.t) / 1000;
    const after = before ? await storeMetrics(x.srv) : undefined;
    const store = before && after ? storeFigures(before, after, withParts ? await stateParts(x.srv.dataDir!) : undefined) : undefined;
    // Every 201 stands for two flows on the switch.
    const onSwitch = await leaseFlowCount(ovs, x.bridge);
    if (onSwitch !== 2 * d.n) throw new Error(`${x.spec.key}: after ${d.n} transfers the switch holds ${onSwitch} lease flows, not ${2 * d.n}`);
    const release = await releaseAll(x, ovs, d.ids);
    return {
      c,
      rep,
      n: d.n,
      lat: d.lat,
      seconds,
      ...quarters(d),
      use: usage(d.m0, d.m1),
      window: d.window,
      release,
      genGc: d.genGc,
      settle: quiet,
      ...(store ? { store } : {}),
      ...(before && after ? { srvGc: gcBetweenScrapes(before, after) } : {}),
    };
  } finally {
    for (const k of conns) k.close();
  }
}

/**
 * Waits until every server is idle before a round (bench/cores.ts waitUntilIdle). Why: a server does work of its
 * own after its round (dmzgate folds its journal into the state document at the first quiet moment once it is
 * past 8 MiB: 50-60 ms of CPU), and that landed in the next system's round, on the core the load generator and
 * ovs-vswitchd share (up to 14% of that core, noted as the idle servers' CPU).
 */
function settle(all: Contender[]): Promise<IdleWait> {
  return waitUntilIdle(
    all.map((x) => ({ pid: x.srv.pid, name: x.spec.key })),
    IDLE,
  );
}

/** Releases the transfers (DELETE) and checks that the bridge holds no lease flows. */
async function releaseAll(x: Contender, ovs: PrivateOvs, ids: number[]): Promise<Span> {
  const conns = connections(x.srv, RELEASE_CONCURRENCY);
  try {
    const bad: string[] = [];
    const t0 = performance.now();
    await loops(RELEASE_CONCURRENCY, ids.length, async (i, loop) => {
      const r = await conns[loop]!.request('DELETE', `/api/v1/transfers/${ids[i]}`);
      if (r.status !== 200 && bad.length < 5) bad.push(`${r.status} ${r.body.slice(0, 200)}`);
    });
    const seconds = (performance.now() - t0) / 1000;
    if (bad.length) throw new Error(`${x.spec.key}: release refused: ${bad.join(' | ')}`);
    const left = await leaseFlowCount(ovs, x.bridge);
    if (left !== 0) throw new Error(`${x.spec.key}: ${left} lease flows left on the switch after the releases`);
    return { n: ids.length, seconds };
  } finally {
    for (const k of conns) k.close();
  }
}

async function leaseFlowCount(ovs: PrivateOvs, bridge: string): Promise<number> {
  const out = await ovs.ofctl('dump-aggregate', bridge, `cookie=${LEASE_COOKIE}`);
  const m = /flow_count=(\d+)/.exec(out);
  if (!m) throw new Error(`dump-aggregate: ${out}`);
  return Number(m[1]);
}

/** The two flows of one transfer as the switch holds them, with what differs per transfer and per system blanked. */
async function flowShape(ovs: PrivateOvs, bridge: string): Promise<string[]> {
  const out = await ovs.ofctl('dump-flows', bridge, `cookie=${LEASE_COOKIE}`);
  const lines = out.split('\n').filter((l) => l.includes('cookie='));
  const first = /cookie=(0x[0-9a-f]+)/.exec(lines[0] ?? '')?.[1];
  return lines
    .filter((l) => l.includes(`cookie=${first},`))
    .map((l) =>
      l
        .replace(/cookie=0x[0-9a-f]+, duration=[\d.]+s, /, '')
        .replace(/n_packets=\d+, n_bytes=\d+, /, '')
        .replace(/hard_timeout=\d+/, 'hard_timeout=T')
        .replace(/198\.1[89]\.\d+\.\d+/g, 'REMOTE')
        .replace(/tp_(src|dst)=\d+/g, 'tp_$1=P')
        .trim(),
    )
    .sort();
}

/** One transfer made on the system's switch, to compare the flows the systems install. */
async function shapeOf(x: Contender, ovs: PrivateOvs): Promise<string[]> {
  const r = await requestOnce(x.srv.api, `Bearer ${x.srv.token}`, 'POST', '/api/v1/transfers', transferBody(x.next++));
  if (r.status !== 201) throw new Error(`${x.spec.key}: ${r.status} ${r.body}`);
  return flowShape(ovs, x.bridge);
}

// ---- dmzgate's state ------------------------------------------------------------------------------------------

interface StoreMetrics {
  sum: number;
  count: number;
  written: number;
  foldSum: number;
  folds: number;
  bytes: number;
  journal: number;
  gc: Record<GcKind, { n: number; ms: number }>;
}

/** dmzgate's store figures and its own GC so far, from /metrics (no token needed). */
async function storeMetrics(srv: Server): Promise<StoreMetrics> {
  const r = await requestOnce(srv.api, `Bearer ${srv.token}`, 'GET', '/metrics');
  const num = (name: string) => Number(new RegExp(`^${name} ([\\d.e+-]+)$`, 'm').exec(r.body)?.[1] ?? NaN);
  return {
    sum: num('dmzgate_store_write_seconds_sum'),
    count: num('dmzgate_store_write_seconds_count'),
    written: num('dmzgate_store_journal_written_bytes_total'),
    foldSum: num('dmzgate_store_fold_seconds_sum'),
    folds: num('dmzgate_store_fold_seconds_count'),
    bytes: num('dmzgate_store_bytes'),
    journal: num('dmzgate_store_journal_bytes'),
    gc: Object.fromEntries(
      GC_KINDS.map((k) => [
        k,
        {
          n: num(`dmzgate_nodejs_gc_duration_seconds_count\\{kind="${k}"\\}`) || 0,
          ms: (num(`dmzgate_nodejs_gc_duration_seconds_sum\\{kind="${k}"\\}`) || 0) * 1000,
        },
      ]),
    ) as StoreMetrics['gc'],
  };
}

/** The server's GC between two scrapes of its /metrics. */
function gcBetweenScrapes(a: StoreMetrics, b: StoreMetrics): Round['srvGc'] {
  return Object.fromEntries(GC_KINDS.map((k) => [k, { n: b.gc[k].n - a.gc[k].n, ms: b.gc[k].ms - a.gc[k].ms }])) as Round['srvGc'];
}

function storeFigures(a: StoreMetrics, b: StoreMetrics, parts: string | undefined): StoreFigures {
  return {
    writes: b.count - a.count,
    writeSeconds: b.sum - a.sum,
    writtenBytes: b.written - a.written,
    folds: b.folds - a.folds,
    foldSeconds: b.foldSum - a.foldSum,
    docBytes: b.bytes,
    journalBytes: b.journal,
    ...(parts ? { parts } : {}),
  };
}

/** What the state is made of after the round, read as a restart would read it (document + journal). */
async function stateParts(dataDir: string): Promise<string> {
  const st = (await readState(dataDir)) as unknown as Record<string, unknown>;
  const size = (v: unknown) => JSON.stringify(v).length;
  const total = size(st);
  const count = (v: unknown) => (Array.isArray(v) ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0);
  return Object.entries(st)
    .map(([k, v]) => ({ k, n: count(v), share: size(v) / total }))
    .filter((x) => x.share >= 0.01)
    .sort((a, b) => b.share - a.share)
    .map((x) => `${x.k} ${x.n} (${pct(x.share)})`)
    .join(', ');
}

// ---- a run of several systems ---------------------------------------------------------------------------------

/** Starts every system's server (all at once, on the server core: start-up is not measured), each with its bridge. */
async function startAll(ovs: PrivateOvs, specs: Spec[], at: Launch): Promise<Contender[]> {
  const started = await Promise.allSettled(specs.map((s) => s.start(at)));
  const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(servers.map((s) => s.stop()));
    throw failed.reason;
  }
  const all = specs.map((spec, i): Contender => ({
    spec,
    srv: servers[i]!,
    bridge: bridgeOf(spec.key),
    core: at.core,
    next: 1,
    rounds: [],
    paced: [],
    warmRate: 0,
    shape: [],
  }));
  try {
    for (const x of all) {
      // Interface names are host-wide (the userspace datapath's taps): each bridge's ports get the system's key.
      await ovs.addBridge(x.bridge, 1n, { controller: `tcp:127.0.0.1:${x.srv.ofPort}`, ports: ROLES.map((r) => `${x.spec.key}-${r}`) });
    }
    await Promise.all(all.map((x) => x.srv.switchReady()));
  } catch (e) {
    await stopAll(ovs, all);
    throw e;
  }
  log(`${all.map((x) => x.spec.key).join(', ')}: switches ready`);
  return all;
}

async function stopAll(ovs: PrivateOvs, all: Contender[]): Promise<void> {
  await Promise.all(all.map((x) => x.srv.stop()));
  for (const x of all) await ovs.vsctl('--if-exists', 'del-br', x.bridge);
}

/** Runs `specs` together: a warm-up each, then at each concurrency the repetitions of one round per system in turn. */
async function runTogether(ovs: PrivateOvs, specs: Spec[], at: Launch, rounds: Array<{ c: number } & Limits>): Promise<Contender[]> {
  const all = await startAll(ovs, specs, at);
  try {
    for (const x of all) {
      // The server's code is optimised before anything is timed. Not a repetition: its figures are not pooled.
      // In cycles of creations and their release, as the rounds go: code that only one of the two runs would
      // otherwise still be (re)optimised in the first timed rounds.
      let n = 0;
      let seconds = 0;
      for (let k = 0; k < CFG.warm.cycles; k++) {
        const warm = await round(x, all, ovs, 10, -1, CFG.warm);
        n += warm.n;
        seconds += warm.seconds;
      }
      x.warmRate = n / seconds;
      log(`${x.spec.key}: warm-up ${x.warmRate.toFixed(0)}/s`);
    }
    for (const limits of rounds) {
      const c = limits.c;
      for (let rep = 0; rep < CFG.reps; rep++) {
        for (const x of turnOrder(all, rep)) {
          const finalRound = limits === rounds.at(-1) && rep === CFG.reps - 1; // the state is read (slow) once, at the end
          const r = await round(x, all, ovs, c, rep, limits, finalRound);
          x.rounds.push(r);
          logRound(x, r);
        }
        await pacedRound(all, ovs, limits, rep);
      }
    }
    for (const x of all) x.shape = await shapeOf(x, ovs);
  } finally {
    await stopAll(ovs, all); // a profiled server writes its profile as it exits
  }
  return all;
}

function logRound(x: Contender, r: Round, what = ''): void {
  log(
    `${x.spec.key}${what}: c=${r.c} repetition ${r.rep + 1}: p50 ${r.lat[r.n >> 1]!.toFixed(2)} ms, ${(r.n / r.seconds).toFixed(0)}/s; idle servers ${pct(r.use.idle)} CPU; waited ${r.settle.ms.toFixed(0)} ms for idle servers${r.settle.busy.length ? ` (${r.settle.busy.join(', ')} busy)` : ''}`,
  );
}

/**
 * After each repetition at concurrency PACED_AT: one more round of the bare app, paced to the rate dmzgate (state
 * on disk) had in that repetition. Why: unpaced, the bare app runs at twice dmzgate's rate or more, and that load
 * (its own, ovs-vswitchd's and the generator's, which share a core) makes its tail; paced, it answers what this
 * machine gives a server on dmzgate's stack at the same offered load, the floor under dmzgate's p99 there.
 */
async function pacedRound(all: Contender[], ovs: PrivateOvs, limits: { c: number } & Limits, rep: number): Promise<void> {
  const bare = all.find((x) => x.spec.key === 'bare');
  const disk = all.find((x) => x.spec.key === 'disk')?.rounds.find((r) => r.c === limits.c && r.rep === rep);
  if (limits.c !== PACED_AT || !bare || !disk) return;
  const r = await round(bare, all, ovs, limits.c, rep, { ...limits, pace: disk.n / disk.seconds });
  bare.paced.push(r);
  logRound(bare, r, ' (paced)');
}

function toRun(x: Contender): SystemRun {
  const profile = x.spec.profileDir ? profileSummary(x.spec.profileDir, x.rounds) : undefined;
  return {
    label: x.spec.label,
    system: x.srv.system,
    state: x.srv.state,
    rounds: x.rounds,
    warmRate: x.warmRate,
    shape: x.shape,
    ...(x.paced.length ? { paced: x.paced } : {}),
    ...(profile ? { profile } : {}),
  };
}

// ---- profiles -----------------------------------------------------------------------------------------------------

/** The samples of a --cpu-prof profile taken within the rounds' windows, as a profile of its own. */
function cut(p: CpuProfile, windows: Array<[number, number]>): CpuProfile {
  // V8 profile times and process.hrtime are both CLOCK_MONOTONIC microseconds.
  const samples: number[] = [];
  const deltas: number[] = [];
  let t = p.startTime;
  let last = 0;
  let lastWindow: [number, number] | undefined;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    const w = windows.find(([a, b]) => t >= a && t <= b);
    if (!w) continue;
    if (w !== lastWindow) last = w[0]; // the time between windows is not this sample's
    samples.push(p.samples[i]!);
    deltas.push(t - last);
    last = t;
    lastWindow = w;
  }
  return { ...p, samples, timeDeltas: deltas };
}

/** The profile's samples within each concurrency's rounds, summarised. */
function profileSummary(dir: string, rounds: Round[]): string {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return 'no profile was written';
  const p = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
  const out: string[] = [];
  for (const c of [...new Set(rounds.map((r) => r.c))]) {
    const at = rounds.filter((r) => r.c === c);
    const part = cut(
      p,
      at.map((r) => r.window),
    );
    const n = at.reduce((a, r) => a + r.n, 0);
    const seconds = at.reduce((a, r) => a + r.seconds, 0);
    if (part.samples.length === 0) {
      out.push(`concurrency ${c}: no samples in its rounds' windows (profile ${p.startTime}..${p.endTime} us)`);
      continue;
    }
    out.push(`concurrency ${c} (${at.length} round${at.length === 1 ? '' : 's'}, ${n} requests, ${(n / seconds).toFixed(0)}/s under the profiler):`);
    out.push(summariseProfile(part, 22));
  }
  return out.join('\n');
}

// ---- main -------------------------------------------------------------------------------------------------------

/**
 * The systems compared, in the report's order; `turn` puts disk between writes-off and tmpfs, adjacent to both,
 * and the bare app next to writes-off (dmzgate's least work), two rounds from disk.
 */
function systems(work: string, shm: string): Spec[] {
  const diskState = `disk (${fsType(work)})`;
  const shmState = `tmpfs (${fsType(shm)})`;
  return [
    { key: 'disk', label: 'dmzgate', turn: 1, start: (at) => startDmzgate(at, join(work, 'data-disk'), diskState) },
    ...(CFG.tmpfs ? [{ key: 'tmpfs', label: 'dmzgate', turn: 2, start: (at: Launch) => startDmzgate(at, join(shm, 'data-tmpfs'), shmState) }] : []),
    { key: 'none', label: 'dmzgate', turn: 0, start: (at) => startDmzgate(at, join(work, 'data-none'), NO_STATE, [], NO_WRITES) },
    { key: 'bare', label: 'bare REST app', turn: -1, start: startBare },
    { key: 'osken', label: 'os-ken REST app', turn: 3, start: startOsken },
  ];
}

/** dmzgate under the profiler, state on disk and writes off: separate servers, so the figures above are not profiled. */
function profiledSystems(work: string): Spec[] {
  return (
    [
      ['disk', `disk (${fsType(work)})`, CLI],
      ['none', NO_STATE, NO_WRITES],
    ] as const
  ).map(([key, state, entry], turn) => {
    const profileDir = join(work, `prof-${key}`, 'cpuprof');
    return {
      key: `p${key}`,
      label: 'dmzgate (profiled)',
      turn,
      profileDir,
      start: (at: Launch) => startDmzgate(at, join(work, `prof-${key}`, 'data'), state, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`], entry),
    };
  });
}

/** "3 s or 1000 requests at concurrency 1, ...", or one phrase when every concurrency has the same limits. */
function limitsText(rounds: Array<{ c: number } & Limits>): string {
  const text = (r: Limits) => `${r.seconds} s or ${r.max} requests`;
  const all = new Set(rounds.map(text));
  return all.size === 1 ? [...all][0]! : rounds.map((r) => `${text(r)} at concurrency ${r.c}`).join(', ');
}

/**
 * The load generator's young generation, fixed at 64 MB a semi-space: a request's latency is timed in this process,
 * so its own scavenges count into every request in flight. With V8's default (growing from 1 MB) it paused 12 times
 * in 5,000 requests at concurrency 10 (mean 2.0 ms, up to 5.8), which put ~2% of the latencies 2 ms late, every
 * system's alike, right where p99 is read; with this, 2 pauses. And a full collection before each timed round
 * (--expose-gc): with the fixed semi-space alone, pauses of up to 8.5 ms were still left in rounds (their kind not
 * recorded; with little surviving, a scavenge of 64 MB is short, so most likely old-generation work); with it, none.
 */
const GENERATOR_NODE_FLAGS = ['--min-semi-space-size=64', '--max-semi-space-size=64', '--expose-gc'];

async function main(): Promise<void> {
  pinSelf(GEN_CORE, GENERATOR_NODE_FLAGS);
  const [oskenV, pythonV] = oskenVersion();
  console.log(`dmzgate REST API benchmark (${QUICK ? 'quick' : 'full'} run): node ${process.version}; os-ken ${oskenV} on python ${pythonV}\n`);
  const work = mkdtempSync(join('/var/tmp', 'dmzgate-bench-api-')); // on disk: /tmp may be tmpfs elsewhere
  const shm = mkdtempSync(join('/dev/shm', 'dmzgate-bench-api-'));
  const at: Launch = { work, core: SRV_CORE };
  const ovs = new PrivateOvs();
  try {
    await ovs.start();
    placeOnCore(ovs.vswitchdPid!, GEN_CORE);
    const version = spawnSync('ovs-vswitchd', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
    const specs = systems(work, shm);
    const diskBefore = fdatasyncLatencies(work);
    const runs = (await runTogether(ovs, specs, at, CFG.rounds)).map(toRun);
    const diskSync = { dir: work, before: diskBefore, after: fdatasyncLatencies(work) };
    if (PROFILE) {
      const profiled = (
        await runTogether(
          ovs,
          profiledSystems(work),
          at,
          CFG.rounds.filter((r) => PROFILED_CONCURRENCIES.includes(r.c)),
        )
      ).map(toRun);
      runs.push(...profiled.map((r) => ({ ...r, rounds: [] }))); // their figures, taken under the profiler, are not reported
    }
    const order = [...specs]
      .sort((a, b) => a.turn - b.turn)
      .map((s) => (s.key === 'osken' ? 'os-ken' : s.key === 'bare' ? 'bare' : `dmzgate ${s.key}`));
    printRatios(
      apiRatios(
        runs,
        [...diskSync.before, ...diskSync.after].sort((a, b) => a - b),
      ),
    );
    report(runs, {
      ovsNote: `${version} (private, userspace datapath), a bridge per system: dpid 1, 7 ports`,
      serverCore: SRV_CORE,
      genCore: GEN_CORE,
      warmCycles: CFG.warm.cycles,
      warmSeconds: CFG.warm.seconds,
      warmMax: CFG.warm.max,
      reps: CFG.reps,
      order,
      limits: limitsText(CFG.rounds),
      idle: IDLE,
      diskSync,
    });
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

(argv.includes('--cluster') ? clusterBench(argv) : main()).then(
  () => process.exit(0),
  (e: Error) => {
    console.error(`bench: ${e.stack ?? e.message}`);
    process.exit(1);
  },
);
