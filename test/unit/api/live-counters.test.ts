// LiveCounters: the rate of GET /transfers/{id} is the byte delta between the last two reads of a lease (a poll's
// or a request's) over the time between them; reads are rate-limited per lease.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { LiveCounters } from '../../../api/live-counters.js';
import type { DmzApp } from '../../../apps/dmz/dmz-app.js';
import type { LeaseRecord } from '../../../apps/dmz/lease-book.js';

const rec = (id: number, bytesIn: number, bytesOut: number, state: LeaseRecord['state'] = 'active'): LeaseRecord => ({
  id,
  project: 'p',
  dtn: 'dtn1',
  remote: '192.0.2.0/24',
  protocol: 'tcp',
  localPorts: [],
  remotePorts: [],
  path: 'routed',
  start: 0,
  end: 1,
  state,
  createdAt: 0,
  counters: { packetsIn: 0, bytesIn, packetsOut: 0, bytesOut },
});

function setup(readable: (l: LeaseRecord) => boolean = () => true) {
  const app = new EventEmitter() as EventEmitter & { pollCounters: (l: LeaseRecord[]) => Promise<void> };
  let polls = 0;
  app.pollCounters = async () => {
    polls++;
  };
  let now = 1_000_000;
  const live = new LiveCounters(app as unknown as DmzApp, readable, 250, () => now);
  return {
    live,
    poll: (...ls: LeaseRecord[]) => app.emit('counters', ls),
    at: (t: number) => {
      now = t;
    },
    polls: () => polls,
  };
}

describe('LiveCounters', () => {
  it('gives no rate before a read, no interval after one, then the delta of the last two reads', () => {
    const s = setup();
    expect(s.live.rate(1)).toBeUndefined();
    s.poll(rec(1, 100, 10));
    expect(s.live.rate(1)).toEqual({ sampled_at: new Date(1_000_000).toISOString(), interval_seconds: null, bps_in: null, bps_out: null });
    s.at(1_002_000);
    s.poll(rec(1, 1100, 10), rec(2, 5, 5));
    expect(s.live.rate(1)).toEqual({ sampled_at: new Date(1_002_000).toISOString(), interval_seconds: 2, bps_in: 4000, bps_out: 0 });
    // The third read is measured from the second, not the first.
    s.at(1_006_000);
    s.poll(rec(1, 1500, 9)); // bytes out went down (counters reset): no rate that way
    expect(s.live.rate(1)).toEqual({ sampled_at: new Date(1_006_000).toISOString(), interval_seconds: 4, bps_in: 800, bps_out: null });
    expect(s.live.rate(2)).toMatchObject({ interval_seconds: null });
    // Two reads at the same instant: no interval.
    s.poll(rec(1, 1600, 9));
    expect(s.live.rate(1)).toMatchObject({ interval_seconds: null, bps_in: null });
  });

  it('forgets a lease once it is no longer active, and skips leases whose switch is not connected', () => {
    let up = true;
    const s = setup(() => up);
    s.poll(rec(1, 100, 10));
    up = false;
    s.at(1_001_000);
    s.poll(rec(1, 900, 10));
    expect(s.live.rate(1)).toMatchObject({ sampled_at: new Date(1_000_000).toISOString(), interval_seconds: null });
    s.poll(rec(1, 900, 10, 'released'));
    expect(s.live.rate(1)).toBeUndefined();
  });

  it('reads a lease from its switch at most once per interval', async () => {
    const s = setup();
    await s.live.refresh(rec(1, 0, 0));
    expect(s.polls()).toBe(1);
    s.poll(rec(1, 0, 0));
    await s.live.refresh(rec(1, 0, 0));
    expect(s.polls()).toBe(1); // read just now
    s.at(1_000_300);
    await s.live.refresh(rec(1, 0, 0));
    expect(s.polls()).toBe(2);
  });
});
