// The output of bench/api.ts after its ratios (bench/api-ratios.ts): the table of each system's figures per
// concurrency (pooled over its interleaved rounds) with the goals beside them, dmzgate's state writes, the absolute
// goals, the flows each system installed, the profiles, and which figures other load on the machine disturbed.
import type { IdleWait } from './cores.js';

/**
 * CPU use over a round, each as a fraction of one core: the server, ovs-vswitchd, the load generator, the other
 * (idle) servers of the run; other load on CPU 0, 1.
 */
export interface Usage {
  srv: number;
  ovs: number;
  gen: number;
  idle: number;
  other: [number, number];
}

/** A count over a time: requests answered, releases made. */
export interface Span {
  n: number;
  seconds: number;
}

export interface Round {
  c: number;
  /** Which repetition (0-based): rounds of the same repetition and concurrency are adjacent in time. */
  rep: number;
  n: number;
  /** Every request's latency (ms), sorted. */
  lat: Float64Array;
  seconds: number;
  /** The first and the last quarter of the round's answers (the transfers accumulate as it goes). */
  firstQ: Span;
  lastQ: Span;
  use: Usage;
  /** hrtime (µs, CLOCK_MONOTONIC) of the round's start and end, to cut a CPU profile. */
  window: [number, number];
  store?: StoreFigures;
  /** The releases (DELETE) after the round, not timed into its figures. */
  release: Span;
  /** This load generator's GC pauses during the timed part (they delay every answer then in flight). */
  genGc: { n: number; ms: number; max: number };
  /** dmzgate's own GC during the round (its /metrics before and after), by V8's kind: pauses and their total ms. */
  srvGc?: Record<GcKind, { n: number; ms: number }>;
  /** The wait, before the round, for every server to be idle (bench/api.ts settle). */
  settle: IdleWait;
}

export const GC_KINDS = ['minor', 'major', 'incremental'] as const;
export type GcKind = (typeof GC_KINDS)[number];

export interface StoreFigures {
  /** Journal records written in the round, their total time (write + fdatasync) and bytes. */
  writes: number;
  writeSeconds: number;
  writtenBytes: number;
  /** Folds of the journal into the document in the round, and their total time. */
  folds: number;
  foldSeconds: number;
  /** The state document's size (at its last fold) and the journal's, after the round. */
  docBytes: number;
  journalBytes: number;
  /** What the state is made of (read after the run's last round only). */
  parts?: string;
}

/** The label of the reference run without state writes. */
export const NO_STATE = 'none (writes off)';

export interface SystemRun {
  label: string;
  system: string;
  state: string;
  rounds: Round[];
  warmRate: number;
  shape: string[];
  profile?: string;
  /** The bare app's rounds paced to dmzgate's rate (state on disk) in the same repetition (bench/api.ts pacedRound). */
  paced?: Round[];
}

/** The state column of the bare app's paced rounds. */
const PACED = "paced to disk's req/s";

export const GOAL_P99_MS = 5;
export const GOAL_RATE = 1000;
/** "State writes never the bottleneck": with its state on disk dmzgate keeps this fraction of its rate without writes. */
export const GOAL_STORE_RATIO = 0.9;

/** How the run was set up, for the header. */
export interface Setup {
  ovsNote: string;
  serverCore: string;
  genCore: string;
  warmCycles: number;
  warmSeconds: number;
  warmMax: number;
  reps: number;
  /** How long a round lasts at each concurrency: a time or a count, whichever ends first. */
  limits: string;
  /** The systems in the order of a repetition's rounds (reversed every other repetition). */
  order: string[];
  /** What counted as idle in the wait before each round. */
  idle: { busyShare: number; windowMs: number };
  /** The disk's own append + fdatasync times (ms, sorted) in the on-disk state's directory, before and after the rounds. */
  diskSync?: { dir: string; before: number[]; after: number[] };
}

/** One system's rounds at one concurrency, pooled. */
export interface Pooled {
  c: number;
  rounds: Round[];
  n: number;
  seconds: number;
  p50: number;
  p99: number;
  max: number;
  /** All requests / all time. */
  rate: number;
  firstQ: number;
  lastQ: number;
  /** CPU use weighted by each round's time. */
  use: Usage;
  cpuMsPerReq: number;
  releaseRate: number;
  store?: StoreFigures;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const spanRate = (xs: Span[]) => sum(xs.map((x) => x.n)) / sum(xs.map((x) => x.seconds));

/** The latencies of all the rounds in one sorted array. */
function allLatencies(rounds: Round[]): Float64Array {
  const all = new Float64Array(sum(rounds.map((r) => r.n)));
  let at = 0;
  for (const r of rounds) {
    all.set(r.lat, at);
    at += r.n;
  }
  return all.sort();
}

function pooledStore(rounds: Round[]): StoreFigures | undefined {
  const s = rounds.map((r) => r.store).filter((x): x is StoreFigures => x !== undefined);
  if (s.length === 0) return undefined;
  const last = s.at(-1)!; // the rounds are in time order
  const total = (k: 'writes' | 'writeSeconds' | 'writtenBytes' | 'folds' | 'foldSeconds') => sum(s.map((x) => x[k]));
  const parts = s
    .map((x) => x.parts)
    .filter(Boolean)
    .at(-1);
  return {
    writes: total('writes'),
    writeSeconds: total('writeSeconds'),
    writtenBytes: total('writtenBytes'),
    folds: total('folds'),
    foldSeconds: total('foldSeconds'),
    docBytes: last.docBytes,
    journalBytes: last.journalBytes,
    ...(parts ? { parts } : {}),
  };
}

/** Pools rounds at one concurrency: percentiles of all their latencies, rates as all counts over all time. */
export function pool(rounds: Round[]): Pooled {
  const n = sum(rounds.map((r) => r.n));
  const seconds = sum(rounds.map((r) => r.seconds));
  const lat = allLatencies(rounds);
  const q = (x: number) => quantile(lat, x);
  const weighted = (f: (u: Usage) => number) => sum(rounds.map((r) => f(r.use) * r.seconds)) / seconds;
  const use: Usage = {
    srv: weighted((u) => u.srv),
    ovs: weighted((u) => u.ovs),
    gen: weighted((u) => u.gen),
    idle: weighted((u) => u.idle),
    other: [weighted((u) => u.other[0]), weighted((u) => u.other[1])],
  };
  const store = pooledStore(rounds);
  return {
    c: rounds[0]!.c,
    rounds,
    n,
    seconds,
    p50: q(0.5),
    p99: q(0.99),
    max: lat[n - 1]!,
    rate: n / seconds,
    firstQ: spanRate(rounds.map((r) => r.firstQ)),
    lastQ: spanRate(rounds.map((r) => r.lastQ)),
    use,
    cpuMsPerReq: (use.srv * seconds * 1000) / n,
    releaseRate: spanRate(rounds.map((r) => r.release)),
    ...(store ? { store } : {}),
  };
}

function concurrencies(run: SystemRun): number[] {
  return [...new Set(run.rounds.map((r) => r.c))];
}

function pooledAt(run: SystemRun, c: number): Pooled | undefined {
  const rounds = run.rounds.filter((r) => r.c === c);
  return rounds.length ? pool(rounds) : undefined;
}

/** rate(a) / rate(b) in each repetition at concurrency c: two rounds adjacent in time, so the machine's drift cancels. */
export function ratiosByRep(a: SystemRun, b: SystemRun, c: number): number[] {
  const out: number[] = [];
  for (const ra of a.rounds.filter((r) => r.c === c)) {
    const rb = b.rounds.find((r) => r.c === c && r.rep === ra.rep);
    if (rb) out.push(ra.n / ra.seconds / (rb.n / rb.seconds));
  }
  return out;
}

/** The q-quantile of sorted values: the value at rank floor(q * n), the last for q = 1. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function printTable(rows: string[][], leftCols = 2): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  rows.forEach((r, k) => {
    console.log(
      r
        .map((cell, i) => (i < leftCols || i === r.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
        .join('  ')
        .trimEnd(),
    );
    if (k === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  });
}

export const pct = (x: number) => `${Math.round(x * 100)}%`;
export const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
const named = (run: SystemRun) => `${run.label}${run.state ? ` (${run.state})` : ''}`;
const isDisk = (run: SystemRun) => run.system === 'dmzgate' && run.state.startsWith('disk');

function printHeader(setup: Setup): void {
  console.log(`POST /api/v1/transfers -> 201 with the flows confirmed by ${setup.ovsNote}`);
  console.log(`all servers running at once, each on its own bridge; the one measured alone on CPU ${setup.serverCore}, the others`);
  console.log(`idle on CPU ${setup.genCore} with the load generator (this process: keep-alive connections, bench/http-conn.ts) and ovs-vswitchd`);
  console.log(
    `after a warm-up each (${setup.warmCycles} cycles of ${setup.warmSeconds} s or ${setup.warmMax} requests at concurrency 10, then their release), at each concurrency ${plural(setup.reps, 'repetition')}`,
  );
  console.log(`of one round per system in turn (${setup.order.join(', ')}${setup.reps > 1 ? '; every other repetition in reverse' : ''}).`);
  console.log(`a round: ${setup.limits}, whichever comes first;`);
  console.log("each request a new transfer, all of a round's active until it ends, then released. Figures pooled over a");
  console.log("system's rounds at a concurrency; ratios between systems taken per repetition\n");
}

/** The goals on dmzgate's row with its state on disk, from its pooled figures. */
function rowGoal(run: SystemRun, p: Pooled): [string, string] {
  if (!isDisk(run)) return ['', ''];
  const g: string[] = [];
  const ok: boolean[] = [];
  if (p.c === 10) {
    g.push(`p99 <= ${GOAL_P99_MS} ms`);
    ok.push(p.p99 <= GOAL_P99_MS);
  }
  if (p.c >= 10) {
    g.push(`>= ${GOAL_RATE} req/s`);
    ok.push(p.rate >= GOAL_RATE);
  }
  return [g.join(', '), ok.map((x) => (x ? 'yes' : 'NO')).join(', ')];
}

function printRounds(runs: SystemRun[]): void {
  const rows = [
    [
      'system',
      'state',
      'concurrency',
      'rounds',
      'requests',
      'p50 ms',
      'p99 ms',
      'max ms',
      'req/s',
      'req/s by round',
      'first/last 1/4',
      'server CPU',
      'CPU ms/req',
      'ovs CPU',
      'gen CPU',
      'goal',
      'met',
    ],
  ];
  const row = (run: SystemRun, state: string, p: Pooled, [goal, met]: [string, string]) =>
    rows.push([
      run.label,
      state,
      String(p.c),
      String(p.rounds.length),
      String(p.n),
      ms(p.p50),
      ms(p.p99),
      ms(p.max),
      p.rate.toFixed(0),
      p.rounds.map((r) => (r.n / r.seconds).toFixed(0)).join(' '),
      `${p.firstQ.toFixed(0)}/${p.lastQ.toFixed(0)}`,
      pct(p.use.srv),
      ms(p.cpuMsPerReq),
      pct(p.use.ovs),
      pct(p.use.gen),
      goal,
      met,
    ]);
  for (const run of runs) {
    for (const c of concurrencies(run)) {
      const p = pooledAt(run, c)!;
      row(run, run.state || '-', p, rowGoal(run, p));
    }
    if (run.paced?.length) row(run, PACED, pool(run.paced), ['', '']);
  }
  printTable(rows);
  console.log("\n  p50/p99/max: of all the requests of the system's rounds at that concurrency; req/s: all of them over all");
  console.log("  the rounds' time (req/s by round: each round's, in time order, to see the drift). server CPU: the server");
  console.log("  process's CPU time over the rounds (one core = 100%), and per request (CPU time is the figure other load on");
  console.log("  the machine disturbs least); ovs CPU: ovs-vswitchd's; gen CPU: this load generator's (ovs and gen share a");
  console.log("  core). first/last 1/4: req/s over the first and the last quarter of each round's answers (the round's");
  console.log("  transfers stay active until it ends). The bare app's paced rounds (one after each repetition at concurrency");
  console.log('  10): request i starts no earlier than i / R s into the round, R the req/s of dmzgate (state on disk) in that');
  console.log('  repetition. Releases (DELETE, concurrency 10, after each round, not timed above),');
  console.log('  per second:');
  for (const run of runs) {
    if (run.rounds.length)
      console.log(
        `    ${named(run)}: ${concurrencies(run)
          .map((c) => `${pooledAt(run, c)!.releaseRate.toFixed(0)} after c=${c}`)
          .join(', ')}`,
      );
  }
  console.log("  This load generator's own GC pauses during the timed rounds (each delays the answers then in flight; its");
  console.log('  young generation is fixed at 64 MB a semi-space to keep them rare), count / longest:');
  for (const run of runs) {
    if (!run.rounds.length) continue;
    const at = (c: number) => {
      const rs = run.rounds.filter((r) => r.c === c);
      return `${rs.reduce((a, r) => a + r.genGc.n, 0)} / ${Math.max(0, ...rs.map((r) => r.genGc.max)).toFixed(1)} ms at c=${c}`;
    };
    console.log(`    ${named(run)}: ${concurrencies(run).map(at).join(', ')}`);
  }
  console.log("  The server's own GC during the timed rounds (dmzgate's /metrics, nodejs_gc_duration_seconds; each pause");
  console.log('  delays the requests then in flight), scavenges (minor) and mark-compacts (major): count, mean ms; incremental');
  console.log('  marking steps: total ms:');
  for (const run of runs) {
    if (!run.rounds.some((r) => r.srvGc)) continue;
    const at = (c: number) => {
      const rs = run.rounds.filter((r) => r.c === c && r.srvGc);
      const sum = (k: GcKind) => rs.reduce((a, r) => ({ n: a.n + r.srvGc![k].n, ms: a.ms + r.srvGc![k].ms }), { n: 0, ms: 0 });
      const mean = (g: { n: number; ms: number }) => `${g.n} / ${g.n ? (g.ms / g.n).toFixed(1) : '-'}`;
      return `c=${c}: minor ${mean(sum('minor'))}, major ${mean(sum('major'))}, incremental ${sum('incremental').ms.toFixed(0)} ms`;
    };
    console.log(`    ${named(run)}: ${concurrencies(run).map(at).join('; ')}`);
  }
}

function printStore(dmz: SystemRun[]): void {
  console.log('\ndmzgate state writes (from /metrics: dmzgate_store_write_seconds, _journal_written_bytes_total, _fold_seconds):');
  const rows = [
    [
      'state',
      'concurrency',
      'records',
      'requests/record',
      'ms/record',
      'record busy',
      'bytes/record',
      'folds',
      'ms/fold',
      'document bytes',
      'journal bytes',
    ],
  ];
  for (const run of dmz) {
    for (const c of concurrencies(run)) {
      const p = pooledAt(run, c)!;
      const s = p.store!;
      const per = (x: number) => x / Math.max(1, s.writes);
      rows.push([
        run.state,
        String(c),
        String(s.writes),
        per(p.n).toFixed(1),
        ms(per(s.writeSeconds) * 1000),
        pct(s.writeSeconds / p.seconds),
        per(s.writtenBytes).toFixed(0),
        String(s.folds),
        s.folds ? ms((s.foldSeconds * 1000) / s.folds) : '-',
        String(s.docBytes),
        String(s.journalBytes),
      ]);
    }
  }
  printTable(rows, 1);
  for (const run of dmz) {
    const parts = run.rounds
      .map((r) => r.store?.parts)
      .filter(Boolean)
      .at(-1);
    if (parts) console.log(`  the state (${run.state}) after the last round, document + journal: ${parts}`);
  }
  console.log('  records: journal records, each one write + fdatasync holding every change made while the previous one was');
  console.log('  under way (group commit); a request is answered after the record holding its changes. record busy:');
  console.log('  record time / round time (records go one at a time: near 100%, requests wait for whole records). folds:');
  console.log('  the journal folded into the state document (written whole, fsync, rename) past 8 MiB once records pause (or at 32 MiB),');
  console.log("  beside the records; document and journal bytes: after the last round at that concurrency (the document's");
  console.log('  size at its last fold, or as read).');
}

function printGoals(disk: SystemRun, none: SystemRun | undefined, bare: SystemRun | undefined, diskSync: Setup['diskSync']): void {
  console.log('\ngoals (dmzgate, state on disk):');
  const cs = concurrencies(disk);
  const pooled = cs.map((c) => pooledAt(disk, c)!);
  const c10 = pooled.find((p) => p.c === 10);
  const best = pooled.reduce((a, b) => (b.rate > a.rate ? b : a));
  const rows: string[][] = [['goal', 'measured', 'met']];
  if (c10)
    rows.push([
      `p99 <= ${GOAL_P99_MS} ms at concurrency 10`,
      `${ms(c10.p99)} ms (${c10.n} requests in ${plural(c10.rounds.length, 'round')})`,
      c10.p99 <= GOAL_P99_MS ? 'yes' : 'NO',
    ]);
  const bareC10 = bare && pooledAt(bare, 10);
  const floor = (what: string, p: Pooled) =>
    rows.push([
      `  (the bare REST app, ${what})`,
      `p99 ${ms(p.p99)} ms (p50 ${ms(p.p50)} ms, ${p.rate.toFixed(0)} req/s); dmzgate's p99 ${(c10!.p99 / p.p99).toFixed(2)}x`,
      p.p99 <= GOAL_P99_MS ? '' : `over ${GOAL_P99_MS} ms too`,
    ]);
  if (c10 && bare?.paced?.length) floor(`paced to dmzgate's rate`, pool(bare.paced));
  if (c10 && bareC10) floor('unpaced, concurrency 10', bareC10);
  if (c10 && diskSync) {
    const all = [...diskSync.before, ...diskSync.after].sort((a, b) => a - b);
    const p99 = quantile(all, 0.99);
    rows.push([
      `  (the disk's own 1 KB append + fdatasync)`,
      `p99 ${ms(p99)} ms (p50 ${ms(quantile(all, 0.5))} ms; before the rounds p99 ${ms(quantile(diskSync.before, 0.99))}, after ${ms(quantile(diskSync.after, 0.99))}); dmzgate's p99 ${(c10.p99 / p99).toFixed(2)}x`,
      p99 <= GOAL_P99_MS ? '' : `over ${GOAL_P99_MS} ms too`,
    ]);
  }
  rows.push([
    `>= ${GOAL_RATE.toLocaleString('en')} requests/s sustained`,
    `${best.rate.toFixed(0)}/s (concurrency ${best.c}, ${best.n} requests in ${best.seconds.toFixed(1)} s)`,
    best.rate >= GOAL_RATE ? 'yes' : 'NO',
  ]);
  if (none) {
    const maxBusy = Math.max(...pooled.map((p) => p.store!.writeSeconds / p.seconds));
    rows.push([
      `state writes never the bottleneck: req/s >= ${GOAL_STORE_RATIO}x without writes`,
      `a ratio: in RATIOS above; record busy up to ${pct(maxBusy)}`,
      '',
    ]);
  }
  printTable(rows, 1);
  console.log("  RATIOS above: the two systems' req/s in the same repetition (adjacent rounds), median over the repetitions");
  console.log('  (their range beside it); the goal is checked on the median at each concurrency.');
  if (bareC10) {
    console.log('  the bare REST app: two flow-mods and a barrier behind fastify and controller/, nothing kept (bench/bare-rest-app.ts):');
    console.log("  what this machine gives any server on dmzgate's stack. Paced to dmzgate's rate (the same offered load),");
    console.log('  a p99 over the goal leaves the goal out of reach of any server on that stack here: each does at least that.');
  }
  if (diskSync) {
    console.log(
      `  the disk's own append + fdatasync (${diskSync.before.length} before the rounds and ${diskSync.after.length} after, in ${diskSync.dir}): a 201`,
    );
    console.log("  waits for the journal record holding its change, one such write: the disk's p99 is the least a durable answer's is.");
  }
}

function printShapes(runs: SystemRun[]): void {
  console.log('\nflows of one transfer on the switch (cookie, timers, counters, addresses and ports blanked):');
  for (const run of runs.filter((r) => r.rounds.length)) {
    console.log(`  ${named(run)}:`);
    for (const l of run.shape) console.log(`    ${l}`);
  }
  const shapes = new Set(runs.map((r) => r.shape.join('\n')));
  console.log(shapes.size === 1 ? '  the same on every system' : '  NOTE: the systems install different flows (above)');
}

/** Every timed round of every run, the bare app's paced ones too, each with the words that name it. */
function timedRounds(runs: SystemRun[]): Array<{ r: Round; at: string }> {
  const label = (run: SystemRun, paced: boolean) => (r: Round) => ({
    r,
    at: `${named(run)}${paced ? ' paced' : ''} concurrency ${r.c} repetition ${r.rep + 1}`,
  });
  return runs.flatMap((run) => [...run.rounds.map(label(run, false)), ...(run.paced ?? []).map(label(run, true))]);
}

/** Rounds where other load took over 10% of a benchmark core, or the idle servers over 5% of CPU 0. */
function printDisturbed(runs: SystemRun[], setup: Setup): void {
  const disturbed: string[] = [];
  const idle: string[] = [];
  for (const { r, at } of timedRounds(runs)) {
    if (r.use.other[0] > 0.1 || r.use.other[1] > 0.1) disturbed.push(`${at}: other load CPU0 ${pct(r.use.other[0])}, CPU1 ${pct(r.use.other[1])}`);
    if (r.use.idle > 0.05) idle.push(`${at}: the idle servers used ${pct(r.use.idle)} of CPU 0`);
  }
  if (disturbed.length) {
    console.log('\nWARNING: other processes (or the hypervisor) took over 10% of a benchmark core during these rounds; their');
    console.log('figures are pessimistic. Rerun on an idle machine:');
    for (const d of disturbed) console.log(`  ${d}`);
  }
  if (idle.length) {
    console.log("\nNOTE: the servers not being measured used CPU during these rounds (on the generator's core):");
    for (const d of idle) console.log(`  ${d}`);
  }
  printSettles(runs, setup);
}

/** The waits for idle servers before the rounds: how long, and the rounds whose wait found a server busy. */
function printSettles(runs: SystemRun[], setup: Setup): void {
  const all = timedRounds(runs);
  if (!all.length) return;
  const waits = all.map(({ r }) => r.settle.ms).sort((a, b) => a - b);
  const busy = all.filter(({ r }) => r.settle.busy.length);
  console.log(
    `\nBefore each round the bench waited for every server to be idle (under ${pct(setup.idle.busyShare)} of a core over ${setup.idle.windowMs} ms): median ${waits[waits.length >> 1]!.toFixed(0)} ms, longest ${waits.at(-1)!.toFixed(0)} ms; a server was busy before ${busy.length} of ${all.length} rounds${busy.length ? ':' : ''}`,
  );
  for (const { r, at } of busy)
    console.log(
      `  before ${at}: ${r.settle.busy.join(', ')} busy, ${r.settle.ms.toFixed(0)} ms${r.settle.quiet ? '' : ' (still busy when the wait gave up)'}`,
    );
}

export function report(runs: SystemRun[], setup: Setup): void {
  printHeader(setup);
  printRounds(runs);
  const dmz = runs.filter((r) => r.system === 'dmzgate' && r.rounds.length);
  const written = dmz.filter((r) => r.state !== NO_STATE);
  if (written.length) printStore(written);
  const disk = dmz.find(isDisk);
  if (disk)
    printGoals(
      disk,
      dmz.find((r) => r.state === NO_STATE),
      runs.find((r) => r.system === 'bare' && r.rounds.length),
      setup.diskSync,
    );
  printShapes(runs);
  for (const run of runs)
    if (run.profile) console.log(`\ndmzgate CPU profile, state ${run.state} (samples within its rounds; a separate run):\n${run.profile}`);
  printDisturbed(runs, setup);
}
