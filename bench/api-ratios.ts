// bench:api's ratios, printed first (bench/ratios.ts): dmzgate with its state on disk over each other system, req/s
// taken per repetition from rounds adjacent in time (the VM's speed drifts within a minute), and p99 at
// concurrency 10 pooled. The floor is the bare REST app (dmzgate's stack, nothing kept), paced to dmzgate's rate
// for the p99 (the same offered load); and for a durable answer's p99, the disk's own append + fdatasync.
import { GOAL_STORE_RATIO, NO_STATE, pool, quantile, ratiosByRep, type SystemRun } from './api-report.js';
import type { Ratio } from './ratios.js';

export function apiRatios(runs: SystemRun[], diskSyncMs?: readonly number[]): Ratio[] {
  const has = (r: SystemRun | undefined) => (r && r.rounds.length ? r : undefined);
  const disk = has(runs.find((r) => r.system === 'dmzgate' && r.state.startsWith('disk')));
  if (!disk) return [];
  const none = has(runs.find((r) => r.system === 'dmzgate' && r.state === NO_STATE));
  const tmpfs = has(runs.find((r) => r.system === 'dmzgate' && r.state.startsWith('tmpfs')));
  const bare = has(runs.find((r) => r.system === 'bare'));
  const osken = has(runs.find((r) => r.system === 'os-ken'));
  const out: Ratio[] = [];
  const cs = [...new Set(disk.rounds.map((r) => r.c))];
  const perRep = (other: SystemRun | undefined, versus: string, goal?: number) => {
    if (!other) return;
    for (const c of cs)
      out.push({ measure: `req/s, concurrency ${c}`, versus, dmzgate: NaN, other: NaN, better: 'higher', goal, byRep: ratiosByRep(disk, other, c) });
  };
  // The goal "state writes never the bottleneck": with its state on disk, dmzgate keeps this share of its rate.
  perRep(none, 'dmzgate, writes off', GOAL_STORE_RATIO);
  perRep(tmpfs, 'dmzgate, state on tmpfs');
  perRep(bare, 'floor: bare REST app');
  perRep(osken, 'os-ken REST app');
  const p99At10 = (r: SystemRun) => {
    const rounds = r.rounds.filter((x) => x.c === 10);
    return rounds.length ? pool(rounds).p99 : NaN;
  };
  const d10 = p99At10(disk);
  if (bare?.paced?.length)
    out.push({ measure: 'p99, concurrency 10', versus: 'floor: bare app paced', dmzgate: d10, other: pool(bare.paced).p99, better: 'lower' });
  if (bare) out.push({ measure: 'p99, concurrency 10', versus: 'floor: bare REST app', dmzgate: d10, other: p99At10(bare), better: 'lower' });
  if (osken) out.push({ measure: 'p99, concurrency 10', versus: 'os-ken REST app', dmzgate: d10, other: p99At10(osken), better: 'lower' });
  // What a durable answer waits on at the least: the disk's own append + fdatasync (bench/disk-sync.ts).
  if (diskSyncMs?.length)
    out.push({
      measure: 'p99, concurrency 10',
      versus: "floor: the disk's fdatasync",
      dmzgate: d10,
      other: quantile(diskSyncMs, 0.99),
      better: 'lower',
    });
  return out;
}
