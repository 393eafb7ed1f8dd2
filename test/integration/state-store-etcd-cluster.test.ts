// The etcd state backend on a 3-member cluster: a member killed while commits go on changes nothing for the
// store (its client moves to another member; a transaction whose answer was lost is found applied or sent again).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openEtcdStore } from '../../api/state/etcd-store.js';
import type { LeaseRecord } from '../../apps/dmz/records.js';
import { PrivateEtcd } from '../../lab/private-etcd.js';

const etcd = new PrivateEtcd({ members: 3 });
beforeAll(() => etcd.start());
afterAll(() => etcd.stop());

const lease = (id: number, bytesIn: number): LeaseRecord => ({
  id,
  project: 'p',
  dtn: 'dtn1',
  remote: '192.0.2.0/24',
  protocol: 'tcp',
  localPorts: [{ lo: 1, hi: 2 }],
  remotePorts: [{ lo: 0, hi: 65535 }],
  path: 'routed',
  start: 1,
  end: 2,
  state: 'active',
  createdAt: 1,
  counters: { packetsIn: 0, bytesIn, packetsOut: 0, bytesOut: 0 },
});

it('commits go on while one member after another is killed and restarted (a quorum always left)', async () => {
  // Every acknowledged event is checked, so none may be pruned by the event cap (1,000 by default).
  const store = await openEtcdStore({ hosts: etcd.endpoints, prefix: '/dmzgate/cluster/', maxEvents: 1_000_000 });
  const acked: number[] = [];
  let stop = false;
  const writer = (async () => {
    for (let i = 1; !stop; i++) {
      await store.commit([
        { kind: 'lease.put', lease: lease(1, i) },
        { kind: 'event.append', event: { id: i, at: 1, type: 'switch.up', data: {} } },
      ]);
      acked.push(i);
    }
  })();
  for (const m of [0, 1, 2]) {
    await new Promise((r) => setTimeout(r, 300));
    await etcd.kill(m);
    await new Promise((r) => setTimeout(r, 700));
    await etcd.restart(m);
  }
  // Commits went on through the kills (an etcd leader's loss holds them for an election, longer on a loaded
  // host), and go on after them.
  const duringKills = acked.length;
  const resumed = Date.now() + 15_000;
  while (acked.length < duringKills + 10 && Date.now() < resumed) await new Promise((r) => setTimeout(r, 50));
  stop = true;
  await writer;
  const snap = await store.load();
  console.log(`${duringKills} commits acknowledged while members were killed and restarted, ${acked.length - duringKills} after`);
  expect(duringKills).toBeGreaterThan(0);
  expect(acked.length).toBeGreaterThanOrEqual(duringKills + 10);
  expect(snap.leases[0]!.counters.bytesIn).toBe(acked.at(-1));
  expect(snap.events.map((e) => e.id)).toEqual(acked);
  await store.close();
}, 60_000);
