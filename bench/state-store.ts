// `npm run bench:state`: commit latency and throughput of the StateStore backends, measured in one run: the
// embedded journal (fsync on: the default) as the peer, the etcd backend on a private 1-member and 3-member
// etcd (loopback). Each batch is what a lease change commits: a lease, an event and an audit entry. Printed:
// sequential p50/p99 and commits/s, then N commits made at once (the API under load), and each etcd figure as
// a ratio to the journal's.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEtcdStore } from '../api/state/etcd-store.js';
import { openJournalStore } from '../api/state/journal-store.js';
import type { StateRecord, StateStore } from '../api/state/state-store.js';
import type { LeaseRecord } from '../apps/dmz/records.js';
import { PrivateEtcd } from '../lab/private-etcd.js';

const N = Number(process.env.BENCH_STATE_COMMITS ?? 500);

interface Figures {
  p50: number;
  p99: number;
  sequentialPerS: number;
  concurrentPerS: number;
}

const lease = (id: number, v: number): LeaseRecord => ({
  id,
  project: 'bench',
  dtn: 'dtn1',
  remote: '192.0.2.0/24',
  protocol: 'tcp',
  localPorts: [{ lo: 50000, hi: 51000 }],
  remotePorts: [{ lo: 0, hi: 65535 }],
  path: 'routed',
  start: 1,
  end: 2,
  state: 'active',
  createdAt: 1,
  counters: { packetsIn: v, bytesIn: v, packetsOut: 0, bytesOut: 0 },
});

async function measure(store: StateStore): Promise<Figures> {
  const at = (await store.load()).nextIds;
  let event = at.event;
  let audit = at.audit;
  const batch = (i: number): StateRecord[] => [
    { kind: 'lease.put', lease: lease((i % 100) + 1, i) },
    { kind: 'event.append', event: { id: event++, at: Date.now(), type: 'lease.extended', data: { i } } },
    { kind: 'audit.append', entry: { id: audit++, at: Date.now(), actor: 'system', action: 'bench', decision: 'done' } },
  ];
  const latencies: number[] = [];
  let t = performance.now();
  for (let i = 0; i < N; i++) {
    const s = performance.now();
    await store.commit(batch(i));
    latencies.push(performance.now() - s);
  }
  const sequential = performance.now() - t;
  latencies.sort((a, b) => a - b);
  t = performance.now();
  await Promise.all(Array.from({ length: N }, (_, i) => store.commit(batch(N + i))));
  const concurrent = performance.now() - t;
  await store.close();
  return {
    p50: latencies[N >> 1]!,
    p99: latencies[Math.floor(N * 0.99)]!,
    sequentialPerS: (N / sequential) * 1000,
    concurrentPerS: (N / concurrent) * 1000,
  };
}

async function onEtcd(members: 1 | 3): Promise<Figures> {
  const etcd = new PrivateEtcd({ members });
  await etcd.start();
  try {
    return await measure(await openEtcdStore({ hosts: etcd.endpoints, prefix: '/dmzgate/bench/' }));
  } finally {
    await etcd.stop();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'dmzgate-bench-state-'));
let journal: Figures;
try {
  journal = await measure(await openJournalStore(dir));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const rows: [string, Figures][] = [
  ['journal (fsync)', journal],
  ['etcd, 1 member', await onEtcd(1)],
  ['etcd, 3 members', await onEtcd(3)],
];
console.log(`StateStore commits (${N} sequential, then ${N} at once; a batch = lease + event + audit entry)`);
for (const [name, f] of rows) {
  const ratio = name.startsWith('etcd')
    ? `  | p50 x${(f.p50 / journal.p50).toFixed(1)} of the journal's, at once x${(f.concurrentPerS / journal.concurrentPerS).toFixed(3)}`
    : '';
  console.log(
    `${name.padEnd(16)} p50 ${f.p50.toFixed(2)} ms  p99 ${f.p99.toFixed(2)} ms  ${f.sequentialPerS.toFixed(0)}/s sequential  ${f.concurrentPerS.toFixed(0)}/s at once${ratio}`,
  );
}
