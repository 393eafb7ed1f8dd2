// Soak: dmzgate's memory under a held load, and whether it plateaus.
//
// One real controller (the built `dmzgate controller`, state on disk: bench/api-servers.ts) and one bridge of a
// private Open vSwitch. Ten loops churn transfers: each creates one (POST), reads it with live counters (GET) and
// releases the oldest while more than ~200 are active (DELETE); every 30 s a block is added and the previous one
// removed, every 60 s a transfer is extended (PATCH). Every sample the load pauses, the server's RSS
// (/proc/PID/status) and V8 heap in use (its /metrics) are read, and the API's active transfers and blocks are
// compared with the flows the switch holds (2 per transfer, 2 per block): any difference is reported.
//
// The figure: the slope of RSS and of heap over the second half of the run (least squares against the requests
// made, KB per 1,000 requests, with its standard error and r^2), beside the run's request count. Goal: no growth,
// i.e. a slope within noise of zero (|slope| <= 2 standard errors), below it, or, if the fit is tight enough to
// make a tiny slope significant, less than 2 MB over the second half.
//
// Usage: npm run bench:soak [-- --minutes N] [--sample-seconds S] [--verbose]   (default 10 minutes, samples every 10 s)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrivateOvs } from '../lab/private-ovs.js';
import { OWNER } from '../apps/dmz/owners.js';
import { cookieId, ownerIdOf } from '../controller/cookie.js';
import { allowedCpus } from './cores.js';
import { HttpConnection, type Answer } from './http-conn.js';
import { CLI, startDmzgate, type Server } from './api-servers.js';

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
};
const MINUTES = Number(opt('--minutes') ?? 10);
const SAMPLE_MS = Number(opt('--sample-seconds') ?? 10) * 1000;
if (!(MINUTES > 0) || !(SAMPLE_MS >= 1000)) throw new Error('usage: bench/soak.js [--minutes N > 0] [--sample-seconds S >= 1] [--verbose]');
const CONCURRENCY = 10;
const ACTIVE = 200;
const BLOCK_EVERY_MS = 30_000;
const EXTEND_EVERY_MS = 60_000;
const BRIDGE = 'br-soak';
const PORTS = ['wan', 'trunk', 'fwout', 'fwin', 'dtn1', 'ps1', 'lan1'].map((r) => `soak-${r}`); // the default site's ports 1-7
const T0 = performance.now();
const log = (what: string) => {
  if (argv.includes('--verbose')) console.error(`[${((performance.now() - T0) / 1000).toFixed(1)} s] ${what}`);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sample {
  t: number;
  requests: number;
  rssKb: number;
  heapKb: number;
  active: number;
  blocks: number;
  agree: string;
}

/** Request counts by outcome; a non-2xx stops nothing but is reported (with the first few answers). */
class Tally {
  ok = 0;
  bad = 0;
  readonly firstBad: string[] = [];
  note(what: string, a: Answer): Answer {
    if (a.status >= 200 && a.status < 300) this.ok++;
    else {
      this.bad++;
      if (this.firstBad.length < 5) this.firstBad.push(`${what}: ${a.status} ${a.body.slice(0, 200)}`);
    }
    return a;
  }
}

/** Transfer number k: its own remote /32 in 198.18.0.0/15 (released long before the addresses come round again). */
function transferBody(k: number): string {
  const n = k % 131072;
  const remote = `198.${18 + ((n >> 16) & 1)}.${(n >> 8) & 0xff}.${n & 0xff}`;
  return JSON.stringify({ dtn: 'dtn1', remote, protocol: 'tcp', local_ports: [String(50000 + (k % 1001))], path: 'routed', duration: 600 });
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

/** A metric's value from Prometheus text (the first series of that name). */
function metric(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`${name} is not in /metrics`);
  return Number(m[1]);
}

/** Owner and id of each flow on the bridge (from its cookie), counted. */
async function flowsByOwner(ovs: PrivateOvs): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of (await ovs.ofctl('dump-flows', BRIDGE)).matchAll(/cookie=0x([0-9a-f]+),/g)) {
    const c = BigInt(`0x${m[1]}`);
    const key = `${ownerIdOf(c)}:${cookieId(c)}`;
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

/** What the API calls active against what the switch holds: '' when they agree, else the differences. */
async function agreement(admin: HttpConnection, ovs: PrivateOvs, tally: Tally): Promise<{ active: number; blocks: number; diff: string }> {
  const xfers = JSON.parse(tally.note('list transfers', await admin.request('GET', '/api/v1/transfers?state=active&limit=1000')).body) as {
    transfers: { id: number }[];
    total: number;
  };
  const blocks = JSON.parse(tally.note('list blocks', await admin.request('GET', '/api/v1/blocks?state=active&limit=1000')).body) as {
    blocks: { id: number }[];
  };
  const flows = await flowsByOwner(ovs);
  const diff: string[] = [];
  const want = new Map<string, number>();
  for (const x of xfers.transfers) want.set(`${OWNER.LEASES}:${x.id}`, 2);
  for (const b of blocks.blocks) want.set(`${OWNER.BLOCKS}:${b.id}`, 2);
  for (const [k, n] of want) if (flows.get(k) !== n) diff.push(`${k} active, ${flows.get(k) ?? 0} flows`);
  for (const [k, n] of flows) {
    const owner = Number(k.split(':')[0]);
    if ((owner === OWNER.LEASES || owner === OWNER.BLOCKS) && !want.has(k)) diff.push(`${k}: ${n} flows, not active`);
  }
  if (xfers.total !== xfers.transfers.length) diff.push(`more than 1000 active transfers (${xfers.total})`);
  return { active: xfers.transfers.length, blocks: blocks.blocks.length, diff: diff.slice(0, 5).join('; ') };
}

/** Least squares y = a + b x: slope b, its standard error, r^2. */
function fit(xs: number[], ys: number[]): { slope: number; se: number; r2: number } {
  const n = xs.length;
  const mx = xs.reduce((s, v) => s + v, 0) / n;
  const my = ys.reduce((s, v) => s + v, 0) / n;
  let sxx = 0,
    sxy = 0,
    syy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    syy += (ys[i]! - my) ** 2;
  }
  const slope = sxy / sxx;
  const resid = Math.max(0, syy - slope * sxy);
  return { slope, se: n > 2 ? Math.sqrt(resid / (n - 2) / sxx) : Infinity, r2: syy > 0 ? (slope * sxy) / syy : 0 };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'dmzgate-soak-'));
  const ovs = await new PrivateOvs().start();
  let srv: Server | undefined;
  try {
    srv = await startDmzgate({ work, core: allowedCpus() }, join(work, 'data'), 'state on disk', [], CLI, { admin: true });
    await ovs.addBridge(BRIDGE, 1n, { controller: `tcp:127.0.0.1:${srv.ofPort}`, ports: PORTS });
    await srv.switchReady();
    log(`dmzgate pid ${srv.pid} ready`);
    const s = srv;
    const admin = new HttpConnection(s.api, `Bearer ${s.adminToken!}`);
    const tally = new Tally();
    const active: number[] = []; // oldest first
    let next = 0;
    let stopping = false;
    // The gate: closed for a sample; loops wait at the top of an iteration, and the sample waits until none is inside one.
    let gate: Promise<void> | undefined;
    let inside = 0;
    let idle: (() => void) | undefined;

    const loop = async (conn: HttpConnection): Promise<void> => {
      while (!stopping) {
        if (gate) {
          await gate;
          continue;
        }
        inside++;
        try {
          const k = next++;
          const created = tally.note('create', await conn.request('POST', '/api/v1/transfers', transferBody(k)));
          if (created.status === 201) {
            const id = (JSON.parse(created.body) as { id: number }).id;
            active.push(id);
            tally.note('read', await conn.request('GET', `/api/v1/transfers/${id}`));
          }
          while (active.length > ACTIVE) tally.note('release', await conn.request('DELETE', `/api/v1/transfers/${active.shift()!}`));
        } finally {
          if (--inside === 0) idle?.();
        }
      }
    };
    const ops = async (conn: HttpConnection): Promise<void> => {
      let block: number | undefined;
      let b = 0;
      let lastBlock = -Infinity;
      let lastExtend = performance.now();
      while (!stopping) {
        await sleep(250);
        if (gate) continue;
        const now = performance.now();
        if (now - lastBlock >= BLOCK_EVERY_MS) {
          lastBlock = now;
          const r = tally.note(
            'block',
            await conn.request('POST', '/api/v1/blocks', JSON.stringify({ prefix: `203.0.113.${b++ % 256}`, duration: 3600, reason: 'soak' })),
          );
          if (block !== undefined) tally.note('unblock', await conn.request('DELETE', `/api/v1/blocks/${block}`));
          block = r.status === 201 ? (JSON.parse(r.body) as { id: number }).id : undefined;
        }
        if (now - lastExtend >= EXTEND_EVERY_MS && active.length > 0) {
          lastExtend = now;
          // The newest transfer: the loops release the oldest, so it is not released under the PATCH.
          tally.note('extend', await conn.request('PATCH', `/api/v1/transfers/${active[active.length - 1]!}`, JSON.stringify({ duration: 900 })));
        }
      }
    };

    const samples: Sample[] = [];
    let start = performance.now();
    const takeSample = async (): Promise<void> => {
      let open!: () => void;
      gate = new Promise<void>((r) => {
        open = r;
      });
      if (inside > 0)
        await new Promise<void>((r) => {
          idle = r;
        });
      idle = undefined;
      const t = (performance.now() - start) / 1000;
      const requests = tally.ok + tally.bad;
      const rss = rssKb(s.pid);
      const heap = metric(tally.note('metrics', await admin.request('GET', '/metrics')).body, 'dmzgate_nodejs_heap_size_used_bytes') / 1024;
      const a = await agreement(admin, ovs, tally);
      samples.push({ t, requests, rssKb: rss, heapKb: heap, active: a.active, blocks: a.blocks, agree: a.diff });
      log(
        `${t.toFixed(0)} s: ${requests} requests, RSS ${(rss / 1024).toFixed(1)} MB, heap ${(heap / 1024).toFixed(1)} MB, ${a.active} active${a.diff ? `, DIFFER: ${a.diff}` : ''}`,
      );
      gate = undefined;
      open();
    };

    const conns = Array.from({ length: CONCURRENCY }, () => new HttpConnection(s.api, `Bearer ${s.token}`));
    const opsConn = new HttpConnection(s.api, `Bearer ${s.adminToken!}`);
    start = performance.now();
    await takeSample();
    const running = [...conns.map(loop), ops(opsConn)];
    const end = start + MINUTES * 60_000;
    for (let at = start + SAMPLE_MS; at <= end; at += SAMPLE_MS) {
      await sleep(at - performance.now());
      await takeSample();
    }
    stopping = true;
    await Promise.all(running);
    const seconds = (performance.now() - start) / 1000;
    for (const id of active.splice(0)) tally.note('release', await conns[0]!.request('DELETE', `/api/v1/transfers/${id}`));
    for (const c of [...conns, opsConn, admin]) c.close();
    report(samples, tally, seconds);
  } finally {
    await srv?.stop();
    await ovs.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

function report(samples: Sample[], tally: Tally, seconds: number): void {
  const mb = (kb: number) => (kb / 1024).toFixed(1);
  const lines = [
    `bench:soak: ${MINUTES} min, concurrency ${CONCURRENCY}, ~${ACTIVE} active transfers churned (create, read, release), a block added and removed every ${BLOCK_EVERY_MS / 1000} s, an extend every ${EXTEND_EVERY_MS / 1000} s; one dmzgate (state on disk), one OVS bridge`,
    '',
    '  load s   requests   RSS MB  heap MB  active  blocks  API = switch',
    ...samples.map(
      (x) =>
        `${x.t.toFixed(0).padStart(8)} ${String(x.requests).padStart(10)} ${mb(x.rssKb).padStart(8)} ${mb(x.heapKb).padStart(8)} ${String(x.active).padStart(7)} ${String(x.blocks).padStart(7)}  ${x.agree ? `NO: ${x.agree}` : 'yes'}`,
    ),
    '',
  ];
  const requests = tally.ok + tally.bad;
  const disagree = samples.filter((x) => x.agree).length;
  lines.push(
    `requests: ${requests.toLocaleString('en-US')} in ${seconds.toFixed(0)} s (${(requests / seconds).toFixed(0)} req/s), ${tally.bad === 0 ? 'all 2xx' : `${tally.bad} not 2xx: ${tally.firstBad.join(' | ')}`}`,
  );
  lines.push(
    `API and switch: ${disagree === 0 ? `in agreement at all ${samples.length} samples` : `DIFFERENT at ${disagree} of ${samples.length} samples`}`,
  );
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  lines.push(`RSS:  ${mb(first.rssKb)} MB at the start, ${mb(last.rssKb)} MB at the end, ${mb(Math.max(...samples.map((x) => x.rssKb)))} MB at most`);
  lines.push(
    `heap: ${mb(first.heapKb)} MB at the start, ${mb(last.heapKb)} MB at the end, ${mb(Math.max(...samples.map((x) => x.heapKb)))} MB at most`,
  );
  const half = samples.filter((x) => x.t >= last.t / 2);
  let met = true;
  if (half.length < 3) {
    lines.push('second half: too few samples for a slope (run longer or sample more often)');
    met = false;
  } else {
    const span = half[half.length - 1]!.requests - half[0]!.requests;
    lines.push(`second half (${half[0]!.t.toFixed(0)}-${last.t.toFixed(0)} s, ${half.length} samples, ${span.toLocaleString('en-US')} requests):`);
    for (const [name, key] of [
      ['RSS ', 'rssKb'],
      ['heap', 'heapKb'],
    ] as const) {
      const f = fit(
        half.map((x) => x.requests / 1000),
        half.map((x) => x[key]),
      );
      const growthMb = (f.slope * span) / 1000 / 1024;
      const verdict = Math.abs(f.slope) <= 2 * f.se ? 'within noise of zero' : growthMb < 0 ? 'shrinking' : growthMb < 2 ? 'under 2 MB' : 'GROWING';
      met &&= verdict !== 'GROWING';
      lines.push(
        `  ${name} slope ${f.slope.toFixed(2)} KB per 1,000 requests (standard error ${f.se.toFixed(2)}, r^2 ${f.r2.toFixed(2)}): ${growthMb.toFixed(1)} MB over the half: ${verdict}`,
      );
    }
  }
  lines.push(`goal: no growth over the second half (slope within noise of zero, negative, or under 2 MB in all): ${met ? 'met' : 'NO'}`);
  if (tally.bad > 0 || disagree > 0) lines.push('goal: every request 2xx and API = switch at every sample: NO');
  else lines.push('goal: every request 2xx and API = switch at every sample: met');
  console.log(lines.join('\n'));
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exitCode = 1;
});
