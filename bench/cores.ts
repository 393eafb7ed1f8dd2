// What the benchmarks share about cores: pinning a process to one, and reading CPU time per process and per core
// from /proc, so that each can say which core did what and how much other load there was.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The CPUs a process may run on, as /proc prints them ("0", "0-1"). */
export function allowedCpus(pid: number | 'self' = 'self'): string {
  return /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
}

/**
 * Re-executes this process under `taskset -c core` (and with `nodeFlags`, Node options it must run with) unless it
 * already runs so, and exits with the child's status. Refuses (exit 2) rather than report figures from a process
 * that could not be pinned.
 */
export function pinSelf(core: string, nodeFlags: readonly string[] = []): void {
  const missing = nodeFlags.filter((f) => !process.execArgv.includes(f));
  if (allowedCpus() === core && missing.length === 0) return;
  if (process.env.DMZGATE_BENCH_PINNED) {
    console.error(
      `bench: still on CPUs ${allowedCpus()} after taskset -c ${core} (or without ${missing.join(' ')}); refusing to report these figures`,
    );
    process.exit(2);
  }
  const r = spawnSync('taskset', ['-c', core, process.execPath, ...process.execArgv, ...missing, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, DMZGATE_BENCH_PINNED: '1' },
  });
  if (r.error) {
    console.error(`bench: cannot run taskset (${r.error.message}); install util-linux`);
    process.exit(2);
  }
  process.exit(r.status ?? 1);
}

/** CPU seconds (user + system, all threads) a process has used so far; NaN once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
  } catch {
    return NaN;
  }
}

/** Busy seconds (user, nice, system, steal) of CPUs 0 and 1 since boot. */
export function coreBusySeconds(): [number, number] {
  const out: [number, number] = [0, 0];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu([01]) (\d+) (\d+) (\d+) \d+ \d+ \d+ \d+ (\d+)/.exec(line);
    if (m) out[Number(m[1])] = (Number(m[2]) + Number(m[3]) + Number(m[4]) + Number(m[5])) / 100;
  }
  return out;
}

/** How long waitUntilIdle waited, the processes seen busy meanwhile, and whether it ended with all of them idle. */
export interface IdleWait {
  ms: number;
  busy: string[];
  quiet: boolean;
}

/**
 * Waits until none of `procs` used more than `busyShare` of a core over the last `windowMs` (CPU time from /proc,
 * in 10 ms ticks: a window should span several), or until `maxMs` have passed. A process that is gone counts as idle.
 */
export async function waitUntilIdle(
  procs: ReadonlyArray<{ pid: number; name: string }>,
  opts: { busyShare: number; windowMs: number; maxMs: number },
): Promise<IdleWait> {
  const t0 = performance.now();
  const busy = new Set<string>();
  for (;;) {
    const before = procs.map((p) => cpuSeconds(p.pid));
    await new Promise((r) => setTimeout(r, opts.windowMs));
    const still = procs.filter((p, i) => (cpuSeconds(p.pid) - before[i]!) / (opts.windowMs / 1000) > opts.busyShare);
    for (const p of still) busy.add(p.name);
    const ms = performance.now() - t0;
    if (still.length === 0 || ms >= opts.maxMs) return { ms, busy: [...busy], quiet: still.length === 0 };
  }
}
