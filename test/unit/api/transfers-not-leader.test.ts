// A cluster leader deposed while a transfer is being granted: its store refuses the lease's commit (the fence,
// api/cluster/leader-election.ts). The lease is revoked, and the client is told to retry (503 DMZ_NO_LEADER with
// Retry-After), not that the state is broken (500).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { NotLeaderError } from '../../../api/cluster/not-leader.js';
import type { StateRecord } from '../../../api/state/state-store.js';
import { startHarness, transferBody, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

it('a lease commit refused as not the leader: revoked, and 503 DMZ_NO_LEADER with Retry-After', async () => {
  const tok = await h.token();
  const commit = h.store.commit.bind(h.store);
  h.store.commit = (batch: readonly StateRecord[]) =>
    batch.some((r) => r.kind === 'lease.put' && r.lease.state === 'active')
      ? Promise.reject(new NotLeaderError('its etcd lease may have lapsed'))
      : commit(batch);
  const r = await h.api.inject({ method: 'POST', url: '/api/v1/transfers', headers: h.auth(tok), payload: transferBody() });
  expect(r.statusCode).toBe(503);
  expect(r.json()).toMatchObject({ code: 'DMZ_NO_LEADER' });
  expect(r.headers['retry-after']).toBe('1');
  expect(h.app.book.active()).toHaveLength(0);
});
