// bench:api's ratios block: which systems dmzgate is divided by, per repetition for req/s, pooled for p99.
import { describe, expect, it } from 'vitest';
import { apiRatios } from '../../../bench/api-ratios.js';
import { NO_STATE, type Round, type SystemRun } from '../../../bench/api-report.js';
import { metOf, ratioOf } from '../../../bench/ratios.js';

/** A round of `n` requests in `seconds`, every latency `ms`. */
function round(c: number, rep: number, n: number, seconds: number, ms: number): Round {
  const span = { n, seconds };
  return {
    c,
    rep,
    n,
    lat: new Float64Array(n).fill(ms),
    seconds,
    firstQ: span,
    lastQ: span,
    use: { srv: 0.5, ovs: 0.1, gen: 0.2, idle: 0, other: [0, 0] },
    window: [0, 0],
    release: span,
    genGc: { n: 0, ms: 0, max: 0 },
    settle: { ms: 0, busy: [], quiet: true },
  };
}

const run = (system: SystemRun['system'], state: string, rounds: Round[], paced?: Round[]): SystemRun => ({
  label: system,
  system,
  state,
  rounds,
  warmRate: 0,
  shape: [],
  ...(paced ? { paced } : {}),
});

describe('apiRatios', () => {
  const disk = run('dmzgate', 'disk (ext4)', [round(10, 0, 1000, 1, 4), round(10, 1, 1200, 1, 4)]);
  const none = run('dmzgate', NO_STATE, [round(10, 0, 1000, 0.9, 2), round(10, 1, 1000, 1, 2)]);
  const bare = run('bare', '', [round(10, 0, 2000, 1, 1), round(10, 1, 2000, 1, 1)], [round(10, 0, 1000, 1, 2)]);
  const osken = run('os-ken', '', [round(10, 0, 100, 1, 40), round(10, 1, 200, 1, 40)]);

  it('takes req/s per repetition against writes off (the goal), the bare app and os-ken', () => {
    const rs = apiRatios([disk, none, bare, osken]);
    const get = (versus: string, measure = 'req/s, concurrency 10') => rs.find((r) => r.versus === versus && r.measure === measure)!;
    expect(get('dmzgate, writes off').byRep).toEqual([0.9, 1.2]);
    expect(get('dmzgate, writes off').goal).toBe(0.9);
    expect(metOf(get('dmzgate, writes off'))).toBe('yes'); // median 1.05
    expect(get('floor: bare REST app').byRep).toEqual([0.5, 0.6]);
    expect(get('os-ken REST app').byRep).toEqual([10, 6]);
    expect(ratioOf(get('floor: bare app paced', 'p99, concurrency 10'))).toBe(2);
    expect(ratioOf(get('os-ken REST app', 'p99, concurrency 10'))).toBe(0.1);
  });

  it("sets the p99 beside the disk's own fdatasync p99 when it was measured", () => {
    const syncs = Array.from({ length: 100 }, (_, i) => (i < 98 ? 0.5 : 2)); // p99: rank floor(0.99 * 100), the 100th, 2 ms
    const r = apiRatios([disk, none, bare], syncs).find((x) => x.versus === "floor: the disk's fdatasync")!;
    expect(r.other).toBe(2);
    expect(ratioOf(r)).toBe(2); // dmzgate's p99 4 ms
    expect(apiRatios([disk, none, bare]).some((x) => x.versus === "floor: the disk's fdatasync")).toBe(false);
  });

  it('misses the goal when writes cost dmzgate more than a tenth of its rate', () => {
    const slow = run('dmzgate', 'disk (ext4)', [round(10, 0, 800, 1, 4), round(10, 1, 850, 1, 4)]);
    const r = apiRatios([slow, none]).find((x) => x.versus === 'dmzgate, writes off')!;
    expect(metOf(r)).toBe('NO'); // 0.72 and 0.85
  });

  it('has nothing to say without dmzgate on disk', () => {
    expect(apiRatios([none, bare])).toEqual([]);
  });
});
