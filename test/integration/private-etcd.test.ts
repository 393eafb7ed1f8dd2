// The private etcd of the tests and labs (lab/private-etcd.ts): a 3-member cluster on free loopback ports that
// keeps a quorum with one member killed, loses it with two, gets it back when they restart, and ends only its own
// processes.
import { Etcd3 } from 'etcd3';
import { afterAll, expect, it } from 'vitest';
import { PrivateEtcd } from '../../lab/private-etcd.js';

const etcd = new PrivateEtcd({ members: 3 });
let client: Etcd3 | undefined;
afterAll(async () => {
  client?.close();
  await etcd.stop();
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
/** A write through member `i` alone (given `ms` to be answered, if set). */
const put = async (i: number, key: string, ms?: number): Promise<void> => {
  const one = new Etcd3({ hosts: etcd.endpoints[i]! });
  try {
    await one
      .put(key)
      .value('v')
      .options(ms ? { deadline: Date.now() + ms } : undefined);
  } finally {
    one.close();
  }
};

it('3 members: a write survives one member killed, none is accepted with two, and all resume after restarts', async () => {
  await etcd.start();
  expect(new Set(etcd.members.flatMap((m) => [m.clientPort, m.peerPort])).size).toBe(6);
  client = new Etcd3({ hosts: etcd.endpoints });
  await client.put('/lab/a').value('1');
  const pids = [0, 1, 2].map((i) => etcd.pid(i)!);

  await etcd.kill(0);
  expect(alive(pids[0]!)).toBe(false);
  await etcd.healthy(1); // a leader among the survivors (member 0 may have been it)
  await put(1, '/lab/b');
  expect(await client.get('/lab/a').string()).toBe('1');

  await etcd.kill(1);
  await expect(put(2, '/lab/c', 1_500)).rejects.toThrow();

  await etcd.restart(0);
  await etcd.restart(1);
  await put(0, '/lab/d');
  expect(await client.getAll().prefix('/lab/').keys()).toEqual(expect.arrayContaining(['/lab/a', '/lab/b', '/lab/d']));

  const running = [0, 1, 2].map((i) => etcd.pid(i)!);
  await etcd.stop();
  for (const pid of running) expect(alive(pid)).toBe(false);
}, 90_000);
