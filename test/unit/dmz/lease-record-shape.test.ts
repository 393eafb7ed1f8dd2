// Every lease record has one hidden class (V8 map), whether or not the lease has a rate, after it closes too:
// a spread-built record took its own map and descriptor array per lease (~0.5 KB each, kept for the lease's
// life). Checked with V8's own %HaveSameMap (natives syntax, enabled for this worker only).
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { type LeaseRecord, type LeaseRequest } from '../../../apps/dmz/lease-book.js';
import { leaseRecordOf } from '../../../apps/dmz/core/records.js';
import { defaultSite } from '../../../apps/dmz/config.js';
import { decide } from '../../../apps/dmz/core/decide.js';
import { SYSTEM } from '../../../apps/dmz/core/commands.js';
import { initialState, leaseOf, type State } from '../../../apps/dmz/core/state.js';
import { leaseSpecOf } from '../../../apps/dmz/lease-rules.js';

v8.setFlagsFromString('--allow-natives-syntax');
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- %-natives syntax only parses in code compiled after the flag
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

const req = (k: number, rate: boolean): LeaseRequest => ({
  project: 'p',
  dtn: 'dtn1',
  remote: `198.18.${k >> 8}.${k & 0xff}`,
  protocol: k % 2 ? 'tcp' : 'udp',
  localPorts: [{ lo: 50000 + k, hi: 50000 + k }],
  remotePorts: [{ lo: 0, hi: 65535 }],
  path: 'routed',
  durationSeconds: 60,
  ...(rate ? { rateMbps: 10 + k } : {}),
});

/**
 * The records the app reads (asked for at `now`, confirmed at `at`): an active lease's built from the core's rule
 * with its counters set, as DmzApp builds them when read.
 */
function granting(): ((r: LeaseRequest, now: number, at: number) => LeaseRecord) & { close: (rec: LeaseRecord) => LeaseRecord } {
  const site = defaultSite();
  let state: State = { ...initialState(site), up: new Set([site.switches[0]!.dpid]) };
  const grant = (r: LeaseRequest, now: number, at: number): LeaseRecord => {
    const d = decide(state, { type: 'request', by: SYSTEM, lease: leaseSpecOf(site, r, now) }, now);
    const id = (d.plan.records[0]!.record as LeaseRecord).id;
    state = decide(d.state, { type: 'installed', id }, at).state;
    const rec = leaseRecordOf(leaseOf(state, id)!);
    rec.counters = { packetsIn: 1, bytesIn: 2, packetsOut: 3, bytesOut: 4 };
    return rec;
  };
  /** The core's record of a close, its counters set (as DmzApp.closed keeps it). */
  const close = (rec: LeaseRecord): LeaseRecord => {
    const c = leaseRecordOf(leaseOf(state, rec.id)!, { state: 'released', at: 2000, reason: 'test' });
    c.counters = { ...rec.counters };
    return c;
  };
  return Object.assign(grant, { close });
}

describe('lease record shape', () => {
  it('is the same for every record, with and without a rate', () => {
    const grant = granting();
    const recs = Array.from({ length: 40 }, (_, k) => grant(req(k, k % 3 === 0), 1000 + k, 1000 + k));
    expect(recs.filter((r) => r.rateMbps !== undefined).length).toBeGreaterThan(0);
    expect(recs.filter((r) => r.rateMbps === undefined).length).toBeGreaterThan(0);
    for (const r of recs) expect(haveSameMap(r, recs[0]!)).toBe(true);
    // Closed ones too: the core's record of the close, its counters set (DmzApp.closed).
    const closed = recs.slice(0, 10).map((r) => grant.close(r));
    for (const r of closed) expect(haveSameMap(r, recs[0]!)).toBe(true);
  });

  it('keeps what a lease says: absent rate and meter read as undefined, present ones as given', () => {
    const grant = granting();
    const plain = grant(req(1, false), 5, 6);
    const rated = grant(req(2, true), 5, 6);
    expect(plain).toMatchObject({ id: 1, remote: '198.18.0.1/32', state: 'active', createdAt: 5, start: 5, end: 60_005 });
    expect(plain.rateMbps).toBeUndefined();
    expect(plain.meterId).toBeUndefined();
    expect(JSON.parse(JSON.stringify(plain))).not.toHaveProperty('rateMbps');
    expect(rated).toMatchObject({ id: 2, rateMbps: 12, meterId: 1 });
  });
});
