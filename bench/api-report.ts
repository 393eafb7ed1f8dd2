// The output of bench/api.ts: the table of rounds with the goals beside them, dmzgate's state writes, the goals,
// the flows each system installed, the profiles, and which figures other load on the machine disturbed.

/** CPU use over a round, each as a fraction of one core: the server, ovs-vswitchd, the load generator; other load on CPU 0, 1. */
export interface Usage { srv: number; ovs: number; gen: number; other: [number, number] }

export interface Round {
  c: number;
  n: number;
  p50: number;
  p99: number;
  max: number;
  rate: number;
  /** Rates over the first and the last quarter of the round's answers (the transfers accumulate as it goes). */
  firstQ: number;
  lastQ: number;
  seconds: number;
  use: Usage;
  /** hrtime (µs, CLOCK_MONOTONIC) of the round's start and end, to cut a CPU profile. */
  window: [number, number];
  store?: StoreFigures;
  releaseRate: number;
}

export interface StoreFigures {
  /** Journal records written in the round, their mean time (write + fdatasync, ms) and size, busy share. */
  writes: number;
  writeMs: number;
  busy: number;
  recordBytes: number;
  /** Folds of the journal into the document in the round, and their mean time (ms). */
  folds: number;
  foldMs: number;
  /** The state document's size (at its last fold) and the journal's, after the round. */
  docBytes: number;
  journalBytes: number;
  /** What the state is made of. */
  parts: string;
}

/** The label of the reference run without state writes. */
export const NO_STATE = 'none (writes off)';

export interface SystemRun { label: string; system: string; state: string; rounds: Round[]; warmRate: number; shape: string[]; profile?: string }

export const GOAL_P99_MS = 5;
export const GOAL_RATE = 1000;
/** "State writes never the bottleneck": with its state on disk dmzgate keeps this fraction of its rate without writes. */
export const GOAL_STORE_RATIO = 0.9;

/** How the run was set up, for the header. */
export interface Setup { ovsNote: string; serverCore: string; genCore: string; warmSeconds: number; seconds: number; max: number }

function printTable(rows: string[][], leftCols = 2): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  rows.forEach((r, k) => {
    console.log(r.map((cell, i) => (i < leftCols || i === r.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd());
    if (k === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  });
}

export const pct = (x: number) => `${Math.round(x * 100)}%`;
export const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

export function report(runs: SystemRun[], setup: Setup): void {
  console.log(`POST /api/v1/transfers -> 201 with the flows confirmed by ${setup.ovsNote}`);
  console.log(`server under test on CPU ${setup.serverCore}; load generator (this process, node http.Agent keep-alive) and ovs-vswitchd on CPU ${setup.genCore}`);
  console.log(`after a warm-up (${setup.warmSeconds} s at concurrency 10), a round at each concurrency: ${setup.seconds} s or ${setup.max} requests,`);
  console.log('whichever comes first; each request a new transfer, all of a round\'s active until it ends, then released\n');
  const rows = [['system', 'state', 'concurrency', 'requests', 'p50 ms', 'p99 ms', 'max ms', 'req/s', 'first/last 1/4', 'server CPU', 'CPU ms/req', 'ovs CPU', 'gen CPU', 'goal', 'met']];
  const disturbed: string[] = [];
  for (const run of runs) {
    for (const r of run.rounds) {
      let goal = '';
      let met = '';
      if (run.system === 'dmzgate' && run.state !== NO_STATE) {
        const g: string[] = [];
        const ok: boolean[] = [];
        if (r.c === 10) { g.push(`p99 <= ${GOAL_P99_MS} ms`); ok.push(r.p99 <= GOAL_P99_MS); }
        if (r.c >= 10) { g.push(`>= ${GOAL_RATE} req/s`); ok.push(r.rate >= GOAL_RATE); }
        goal = g.join(', ');
        met = ok.length ? ok.map((x) => (x ? 'yes' : 'NO')).join(', ') : '';
      }
      rows.push([run.label, run.state || '-', String(r.c), String(r.n), ms(r.p50), ms(r.p99), ms(r.max), r.rate.toFixed(0),
        `${r.firstQ.toFixed(0)}/${r.lastQ.toFixed(0)}`, pct(r.use.srv), ms((r.use.srv * r.seconds * 1000) / r.n), pct(r.use.ovs), pct(r.use.gen), goal, met]);
      if (r.use.other[0] > 0.1 || r.use.other[1] > 0.1) disturbed.push(`${run.label} ${run.state} concurrency ${r.c}: other load CPU0 ${pct(r.use.other[0])}, CPU1 ${pct(r.use.other[1])}`);
    }
  }
  printTable(rows);
  console.log('\n  server CPU: the server process\'s CPU time over the round (one core = 100%), and per request (CPU time is');
  console.log('  the figure other load on the machine disturbs least); ovs CPU: ovs-vswitchd\'s;');
  console.log('  gen CPU: this load generator\'s (ovs and gen share a core). first/last 1/4: req/s over the first and the last');
  console.log('  quarter of the round\'s answers (the round\'s transfers stay active until it ends). Releases (DELETE,');
  console.log('  concurrency 10, between rounds, not timed above), per second:');
  for (const r of runs) if (r.rounds.length) console.log(`    ${r.label}${r.state ? ` (${r.state})` : ''}: ${r.rounds.map((x) => `${x.releaseRate.toFixed(0)} after c=${x.c}`).join(', ')}`);

  const dmz = runs.filter((r) => r.system === 'dmzgate');
  if (dmz.length) {
    console.log('\ndmzgate state writes (from /metrics: dmzgate_store_write_seconds, _journal_written_bytes_total, _fold_seconds):');
    const srows = [['state', 'concurrency', 'records', 'requests/record', 'ms/record', 'record busy', 'bytes/record', 'folds', 'ms/fold', 'document bytes', 'journal bytes']];
    for (const run of dmz.filter((r) => r.state !== NO_STATE)) {
      for (const r of run.rounds) {
        const s = r.store!;
        srows.push([run.state, String(r.c), String(s.writes), (r.n / Math.max(1, s.writes)).toFixed(1), ms(s.writeMs), pct(s.busy), s.recordBytes.toFixed(0),
          String(s.folds), s.folds ? ms(s.foldMs) : '-', String(s.docBytes), String(s.journalBytes)]);
      }
    }
    printTable(srows, 1);
    for (const run of dmz.filter((r) => r.state !== NO_STATE)) {
      const last = run.rounds.at(-1)?.store;
      if (last) console.log(`  the state (${run.state}) after the last round, document + journal: ${last.parts}`);
    }
    console.log('  records: journal records, each one write + fdatasync holding every change made while the previous one was');
    console.log('  under way (group commit); a request is answered after the record holding its changes. record busy:');
    console.log('  record time / round time (records go one at a time: near 100%, requests wait for whole records). folds:');
    console.log('  the journal folded into the state document (written whole, fsync, rename) past its size threshold (8 MiB),');
    console.log('  beside the records; document bytes: its size at its last fold (or read).');
  }

  // Goals, for dmzgate with its state on disk (the deployment).
  const disk = dmz.find((r) => r.state.startsWith('disk'));
  const tmpfs = dmz.find((r) => r.state.startsWith('tmpfs'));
  if (disk) {
    console.log('\ngoals (dmzgate, state on disk):');
    const at = (run: SystemRun, c: number) => run.rounds.find((r) => r.c === c);
    const c10 = at(disk, 10);
    const best = disk.rounds.reduce((a, b) => (b.rate > a.rate ? b : a));
    const grows: string[][] = [['goal', 'measured', 'met']];
    if (c10) grows.push([`p99 <= ${GOAL_P99_MS} ms at concurrency 10`, `${ms(c10.p99)} ms`, c10.p99 <= GOAL_P99_MS ? 'yes' : 'NO']);
    grows.push([`>= ${GOAL_RATE.toLocaleString('en')} requests/s sustained`, `${best.rate.toFixed(0)}/s (concurrency ${best.c}, ${best.n} requests in ${best.seconds.toFixed(1)} s)`, best.rate >= GOAL_RATE ? 'yes' : 'NO']);
    const none = dmz.find((r) => r.state === NO_STATE);
    if (none) {
      const ratios = disk.rounds.map((r) => ({ c: r.c, ratio: r.rate / (at(none, r.c)?.rate ?? NaN) }));
      const worst = ratios.reduce((a, b) => (b.ratio < a.ratio ? b : a));
      const maxBusy = Math.max(...disk.rounds.map((r) => r.store!.busy));
      grows.push([`state writes never the bottleneck: req/s >= ${GOAL_STORE_RATIO}x without writes`,
        `${ratios.map((x) => `${x.ratio.toFixed(2)}x (c=${x.c})`).join(', ')}; record busy up to ${pct(maxBusy)}`,
        worst.ratio >= GOAL_STORE_RATIO ? 'yes' : 'NO']);
      if (tmpfs) {
        grows.push(['  (state on tmpfs instead of disk, req/s)', tmpfs.rounds.map((r) => `${(r.rate / (at(disk, r.c)?.rate ?? NaN)).toFixed(2)}x disk (c=${r.c})`).join(', '), '']);
      }
    }
    printTable(grows, 1);
  }

  console.log('\nflows of one transfer on the switch (cookie, timers, counters, addresses and ports blanked):');
  for (const run of runs.filter((r) => r.rounds.length)) {
    console.log(`  ${run.label}${run.state ? ` (${run.state})` : ''}:`);
    for (const l of run.shape) console.log(`    ${l}`);
  }
  const shapes = new Set(runs.map((r) => r.shape.join('\n')));
  console.log(shapes.size === 1 ? '  the same on every system' : '  NOTE: the systems install different flows (above)');

  for (const run of runs) if (run.profile) console.log(`\ndmzgate CPU profile, state ${run.state} (samples within each round; a separate run):\n${run.profile}`);
  if (disturbed.length) {
    console.log('\nWARNING: other processes (or the hypervisor) took over 10% of a benchmark core during these rounds; their');
    console.log('figures are pessimistic. Rerun on an idle machine:');
    for (const d of disturbed) console.log(`  ${d}`);
  }
}

