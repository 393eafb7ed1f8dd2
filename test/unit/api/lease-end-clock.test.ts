// The DMZ app on an injected clock: a lease's end fires when the clock says so (no sleep), and the transfers
// service records and audits the close as the system's.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../../helpers/fake-clock.js';
import { startHarness, type Harness } from './harness.js';

describe("a lease on the app's clock", () => {
  let h: Harness;
  const clock = new FakeClock(Date.now());
  beforeAll(async () => {
    h = await startHarness({ clock });
  });
  afterAll(async () => {
    await h.close();
  });

  it("ends when the clock passes its end, not before, and is audited as the system's", async () => {
    const rec = await h.app.requestLease({
      project: 'astro',
      dtn: 'dtn1',
      remote: '198.51.100.7/32',
      protocol: 'tcp',
      localPorts: [{ lo: 50010, hi: 50010 }],
      remotePorts: [{ lo: 40000, hi: 40000 }],
      path: 'routed',
      durationSeconds: 3600,
    });
    expect(rec.end).toBe(clock.now() + 3_600_000);
    clock.advance(3_599_000);
    await new Promise((r) => setImmediate(r));
    expect(h.app.lease(rec.id)!.state).toBe('active');
    clock.advance(1_000);
    await vi.waitFor(() => expect(h.app.lease(rec.id)!.state).toBe('expired'));
    await h.store.commit([]);
    expect(h.store.view.lease(rec.id)!.state).toBe('expired');
    expect(h.store.data.audit.some((a) => a.actor === 'system' && a.action === 'transfer.expired' && a.transfer === rec.id)).toBe(true);
  });
});
