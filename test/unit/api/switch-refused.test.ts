// A connection the controller refuses is visible to operators: a switch.refused event on the stream (admin tokens
// only: it names peers' addresses), throttled so that a flood of refusals is one event with a count, and the
// Prometheus counter dmzgate_openflow_refused_total by reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmulatedSwitch } from '../../../emulator/index.js';
import { startHarness, type Harness } from './harness.js';
import { connectEvents } from './ws-client.js';

describe('refused switch connections', () => {
  let h: Harness;
  let url: string;
  beforeAll(async () => {
    h = await startHarness();
    await h.api.listen({ port: 0, host: '127.0.0.1' });
    url = `ws://127.0.0.1:${(h.api.server.address() as { port: number }).port}/api/v1/events`;
  });
  afterAll(async () => h.close());

  it("a connection claiming dmz1's datapath id: one switch.refused event for admins (later ones counted), the metric by reason", async () => {
    const admin = await connectEvents(url, { headers: h.auth(await h.token({ project: 'ops', scopes: ['admin'] })) });
    const user = await connectEvents(url, { headers: h.auth(await h.token()) });
    const real = h.controller.get(1n)!;
    const rogues = [new EmulatedSwitch({ dpid: 1n, port: h.controllerPort }), new EmulatedSwitch({ dpid: 1n, port: h.controllerPort })];
    for (const r of rogues) {
      const gone = new Promise<void>((resolve) => r.once('disconnect', () => resolve()));
      await r.connect({ waitFor: 'tcp' });
      await gone;
    }
    await admin.until((c) => c.events.length === 1);
    expect(admin.events[0]).toMatchObject({
      type: 'switch.refused',
      switch: { dpid: '0000000000000001', name: 'dmz1' },
      refused: {
        reason: 'datapath-in-use',
        remote: expect.stringMatching(/127\.0\.0\.1:\d+$/),
        count: 1,
        detail: expect.stringContaining('still answers echo requests'),
      },
    });
    // The second refusal, within the 10 s window, is counted for the next event rather than sent at once.
    const metrics = (await h.api.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(/dmzgate_openflow_refused_total\{reason="datapath-in-use"\} 2\n/);
    expect(metrics).toMatch(/dmzgate_openflow_refused_total\{reason="pending-cap"\} 0\n/);
    expect(metrics).toMatch(/dmzgate_openflow_pending_connections 0\n/);
    expect(admin.events).toHaveLength(1);
    expect(user.events).toEqual([]);
    // The real switch was never displaced.
    expect(h.controller.get(1n)).toBe(real);
    expect(h.controller.switches()).toEqual([real]);
    await Promise.all(rogues.map((r) => r.close()));
    await admin.close();
    await user.close();
  });
});
