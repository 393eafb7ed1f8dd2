// The pure core's cost per command as the live leases grow: decide() for a request and its `installed`, then a
// release, each on a state holding N live leases (100, 1,000, 10,000: every command starts from the same state,
// so N stays N). A command's cost should not grow with N; the ratio to the 100-lease figure, measured in the same
// run, says whether it does.
//
// Usage: node dist/bench/core.js [--commands N]   (npm run bench:core; default 3,000 timed commands per size)
import { defaultSite } from '../apps/dmz/config.js';
import { parsePrefix } from '../apps/dmz/addresses.js';
import { decide } from '../apps/dmz/core/decide.js';
import type { LeaseSpec } from '../apps/dmz/core/commands.js';
import { initialState, type State } from '../apps/dmz/core/state.js';

const argv = process.argv.slice(2);
const at = argv.indexOf('--commands');
const COMMANDS = at >= 0 ? Number(argv[at + 1]) : 3_000;
const SIZES = [100, 1_000, 10_000];
const NOW = Date.UTC(2026, 0, 1);
const BY = { actor: 'token:1' } as const;

/** The i-th lease: its own /32 in 198.18.0.0/15 (the DTN's ports the same: only the remote tells them apart). */
function spec(i: number): LeaseSpec {
  return {
    project: 'bench',
    dtn: 'dtn1',
    remote: parsePrefix(`198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`),
    protocol: 'tcp',
    localPorts: [{ lo: 50000, hi: 50000 }],
    remotePorts: [{ lo: 0, hi: 65535 }],
    path: 'routed',
    end: NOW + 40_000_000,
  };
}

function granted(state: State, i: number): State {
  const d = decide(state, { type: 'request', by: BY, lease: spec(i) }, NOW);
  if (d.plan.refused) throw new Error(d.plan.refused.message);
  return decide(d.state, { type: 'installed', id: state.nextId.lease }, NOW).state;
}

function stateWith(n: number): State {
  const site = defaultSite();
  let state = decide(initialState(site), { type: 'switch-up', dpid: site.switches[0]!.dpid }, NOW).state;
  for (let i = 0; i < n; i++) state = granted(state, i);
  return state;
}

/** µs per call of `run(k)`, the best of three rounds of COMMANDS calls (the machine is shared). */
function perCall(run: (k: number) => void): number {
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < COMMANDS; k++) run(k);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1000 / COMMANDS);
  }
  return best;
}

const rows: { n: number; request: number; release: number }[] = [];
// The first size is measured twice, the first time to warm up (code optimised): only the second counts.
for (const [i, n] of [SIZES[0]!, ...SIZES].entries()) {
  const state = stateWith(n);
  if (state.rules.size !== n) throw new Error(`${state.rules.size} rules, not ${n}`);
  // New remotes past the live ones: each request is granted on the state of n leases.
  const request = perCall((k) => granted(state, n + 1 + (k % 50_000)));
  const release = perCall((k) => {
    const d = decide(state, { type: 'release', by: BY, id: 1 + (k % n), state: 'released', reason: 'bench' }, NOW);
    if (d.plan.refused) throw new Error(d.plan.refused.message);
  });
  if (i > 0) rows.push({ n, request, release });
}

const first = rows[0]!;
console.log(`decide() per command on a state of N live leases (best of 3 x ${COMMANDS} commands)`);
console.log('  live leases   request+installed µs  (x of 100)   release µs  (x of 100)');
for (const r of rows) {
  console.log(
    `  ${String(r.n).padStart(11)}   ${r.request.toFixed(1).padStart(19)}  ${(r.request / first.request).toFixed(2).padStart(10)}x` +
      `   ${r.release.toFixed(1).padStart(10)}  ${(r.release / first.release).toFixed(2).padStart(10)}x`,
  );
}
