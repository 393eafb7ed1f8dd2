// Retained memory per active lease: the V8 heap in use after N transfers are granted and held, minus before, per
// transfer, after full collections (node --expose-gc). In one process: the API (fastify inject, no sockets), the
// transfers service, the DMZ app and controller, the state on tmpfs (/dev/shm, no fsync: the journal's text is
// kept, its I/O costs nothing), a private Open vSwitch bridge as the switch (its memory is its own process's).
// Beside it the same N leases in the pure core alone (apps/dmz/core: decide), which holds a lease's parsed rule
// and nothing else.
//
// Then again from a full history: the N released, and N others granted and held (the API's rings of recent audit
// entries, events and closed leases are bounded: at their caps, their memory no longer grows with the leases).
//
// Then the cost of reading them: GET /api/v1/transfers (the newest 1000 of the N held: every active lease's record
// is built from the app's rules when read, none is kept) beside GET /api/v1/transfers/:id, one lease, as the
// floor of a request's own cost.
//
// With --breakdown, after the figures: where the whole's bytes are, per structure (bench/heap-breakdown.ts: the
// size each retains alone in a heap snapshot taken once the leases are held, per lease held, warm-up included).
//
// Usage: node --expose-gc dist/bench/lease-heap.js [--leases N] [--breakdown]   (npm run bench:lease-heap; default 10,000)
import { mkdtempSync, rmSync } from 'node:fs';
import { PrivateOvs } from '../lab/private-ovs.js';
import { Controller } from '../controller/controller.js';
import { FlowManager } from '../controller/flow-manager.js';
import { silentLogger } from '../controller/log.js';
import { DmzApp } from '../apps/dmz/dmz-app.js';
import { defaultSite } from '../apps/dmz/config.js';
import { parsePrefix } from '../apps/dmz/addresses.js';
import { decide } from '../apps/dmz/core/decide.js';
import { initialState, type State } from '../apps/dmz/core/state.js';
import { buildApi, openJournalStore, createToken } from '../api/index.js';
import { heapBreakdown, type Retained } from './heap-breakdown.js';

const argv = process.argv.slice(2);
const at = argv.indexOf('--leases');
const N = at >= 0 ? Number(argv[at + 1]) : 10_000;
const CONCURRENCY = 10;
const WARM_UP = 500;
const BREAKDOWN = argv.includes('--breakdown');
/** The structures the breakdown measures: the controller's desired state, the app, the API's state and services. */
const STRUCTURES = ['DesiredState', 'DmzApp', 'StateView', 'JournalStateStore', 'EventHub', 'LiveCounters', 'TransfersService'];
let breakdown: Retained[] = [];
/** StateView's rings of the newest audit entries and events (bounded: see the note the breakdown prints). */
const RINGS = ['auditTexts', 'auditIds', 'events'];
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

function heap(): number {
  for (let i = 0; i < 4; i++) gc!();
  return process.memoryUsage().heapUsed;
}

/** The i-th remote: its own /32 in 198.18.0.0/15. */
const remote = (i: number): string => `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;

async function viaApi(): Promise<number> {
  const logger = silentLogger();
  const dataDir = mkdtempSync('/dev/shm/dmzgate-lease-heap-');
  const ovs = await new PrivateOvs().start();
  try {
    const store = await openJournalStore(dataDir, { fsync: false });
    const controller = new Controller({ port: 0, host: '127.0.0.1', logger });
    const flows = new FlowManager(controller, { logger });
    const app = new DmzApp({ site: defaultSite(), controller, flows, logger, pollIntervalMs: 0 });
    const api = buildApi({ app, controller, flows, store, logger, requestLimit: false });
    await app.start(await store.load());
    const { port } = await controller.listen();
    const reconciled = new Promise<void>((resolve) => flows.once('reconciled', () => resolve()));
    await ovs.addBridge('br-heap', 1n, {
      controller: `tcp:127.0.0.1:${port}`,
      ports: ['heap-p1', 'heap-p2', 'heap-p3', 'heap-p4', 'heap-p5', 'heap-p6', 'heap-p7'],
    });
    await reconciled;
    const { token } = await createToken(store, {
      project: 'bench',
      dtns: ['dtn1'],
      remotes: ['198.18.0.0/15'],
      ports: ['50000-51000'],
      paths: ['routed'],
      maxDurationSeconds: 43200,
      scopes: ['transfers:write'],
    });
    const headers = { authorization: `Bearer ${token}` };
    const held: number[] = [];
    const post = async (i: number): Promise<void> => {
      const r = await api.inject({
        method: 'POST',
        url: '/api/v1/transfers',
        headers,
        payload: { dtn: 'dtn1', remote: remote(i), protocol: 'tcp', local_ports: ['50000'], path: 'routed', duration: 40000 },
      });
      if (r.statusCode !== 201) throw new Error(`transfer ${i}: ${r.statusCode} ${r.body}`);
      held.push(r.json<{ id: number }>().id);
    };
    const releaseAll = async (): Promise<void> => {
      const ids = held.splice(0);
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          for (let id = ids.pop(); id !== undefined; id = ids.pop()) {
            const r = await api.inject({ method: 'DELETE', url: `/api/v1/transfers/${id}`, headers });
            if (r.statusCode !== 200) throw new Error(`release ${id}: ${r.statusCode} ${r.body}`);
          }
        }),
      );
      await store.commit([]);
    };
    const run = async (from: number, to: number): Promise<void> => {
      let next = from;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < to) await post(next++);
        }),
      );
      await store.commit([]);
    };
    await run(N, N + WARM_UP); // warm-up: code optimised, pools and caches at their steady size
    const before = heap();
    await run(0, N);
    const after = heap();
    if (BREAKDOWN) breakdown = heapBreakdown(`${dataDir}/lease-heap.heapsnapshot`, STRUCTURES);
    reads = await timeReads(async (url) => {
      const r = await api.inject({ method: 'GET', url, headers });
      if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body}`);
    });
    // Again with the history full: the bounded rings of audit entries and events (and of closed leases) at their
    // caps, as on a controller that has run a while, so that only what each active lease holds is counted.
    await releaseAll();
    const base = heap();
    await run(0, N);
    steady = (heap() - base) / N;
    app.stop();
    await api.close();
    flows.close();
    await controller.close();
    return (after - before) / N;
  } finally {
    await ovs.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

let reads = { list: 0, one: 0 };
let steady = 0;

/** Milliseconds per GET of the list (1000 of the N leases) and of one lease, after a warm-up of each. */
async function timeReads(get: (url: string) => Promise<void>): Promise<{ list: number; one: number }> {
  const per = async (url: string, times: number): Promise<number> => {
    for (let i = 0; i < 5; i++) await get(url);
    const t0 = performance.now();
    for (let i = 0; i < times; i++) await get(url);
    return (performance.now() - t0) / times;
  };
  return { list: await per('/api/v1/transfers?limit=1000', 50), one: await per(`/api/v1/transfers/${N}`, 500) };
}

function coreOnly(): number {
  const site = defaultSite();
  const dpid = site.switches[0]!.dpid;
  let state: State = initialState(site);
  state = decide(state, { type: 'switch-up', dpid }, 0).state;
  const before = heap();
  const now = Date.UTC(2026, 0, 1);
  for (let i = 0; i < N; i++) {
    const lease = {
      project: 'bench',
      dtn: 'dtn1',
      remote: parsePrefix(remote(i)),
      protocol: 'tcp' as const,
      localPorts: [{ lo: 50000, hi: 50000 }],
      remotePorts: [{ lo: 0, hi: 65535 }],
      path: 'routed' as const,
      end: now + 40_000_000,
    };
    const d = decide(state, { type: 'request', by: { actor: 'token:1' }, lease }, now);
    if (d.plan.refused) throw new Error(d.plan.refused.message);
    state = decide(d.state, { type: 'installed', id: i + 1 }, now).state;
  }
  const after = heap();
  if (state.rules.size !== N) throw new Error('leases lost');
  return (after - before) / N;
}

const core = coreOnly();
const full = await viaApi();
console.log(`retained heap per active lease (${N} leases)`);
console.log(`  dmzgate (API + transfers service + DMZ app + controller + state on tmpfs): ${(full / 1024).toFixed(2)} KB`);
console.log(`  the same, the history already full (${N} leases granted and released before):     ${(steady / 1024).toFixed(2)} KB`);
console.log(
  `  the pure core's state alone (apps/dmz/core):                                ${(core / 1024).toFixed(2)} KB  (${(core / full).toFixed(2)}x of the whole)`,
);
console.log(
  `GET /api/v1/transfers?limit=1000 of ${N} active: ${reads.list.toFixed(2)} ms per request (${(reads.list / reads.one).toFixed(1)}x GET of one transfer, ${reads.one.toFixed(2)} ms)`,
);

if (BREAKDOWN) {
  const held = N + WARM_UP;
  const kb = (bytes: number): string => (bytes / held / 1024).toFixed(2).padStart(6);
  console.log(`where it is (retained alone, per lease held: ${held} with the warm-up's)`);
  let listed = 0;
  for (const r of breakdown.sort((a, b) => b.bytes - a.bytes)) {
    if (r.bytes / held < 8) continue;
    listed += r.bytes;
    console.log(`  ${kb(r.bytes)} KB  ${r.name}`);
    for (const f of r.fields) if (f.bytes / held >= 8) console.log(`  ${kb(f.bytes)} KB    .${f.name}`);
  }
  console.log(`  ${kb(full * held - listed)} KB  elsewhere (held by several of these, code, caches)`);
  // The API's rings of recent audit entries and events are bounded (Retention in api/state/state-view.ts): one
  // audit entry and one event come with each grant, so up to their caps they grow with the leases, then stop.
  const rings = breakdown
    .filter((r) => r.name === 'StateView')
    .flatMap((r) => r.fields)
    .filter((f) => RINGS.includes(f.name))
    .reduce((sum, f) => sum + f.bytes, 0);
  console.log(
    `bounded, not per lease past their caps: ${RINGS.map((f) => `.${f}`).join(', ')} (the newest 10,000 audit entries, 1,000 events): ` +
      `${kb(rings).trim()} KB of the ${(full / 1024).toFixed(2)} KB here; per active lease without them: ${((full - rings / held) / 1024).toFixed(2)} KB`,
  );
}
