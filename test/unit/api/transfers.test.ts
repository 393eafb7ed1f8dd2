// /api/v1/transfers against the switch emulator: grants confirmed on the switch and on disk, every refusal with
// its code (token constraints, site policy, overlap, switch down, switch refusal), live counters, extension,
// release with final counters.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readState } from '../../../api/index.js';
import { OWNER } from '../../../apps/dmz/owners.js';
import { cookieId, ownerIdOf } from '../../../controller/cookie.js';
import { parseSiteConfig } from '../../../apps/dmz/config.js';
import { startHarness, transferBody, SITE_YAML, type Harness } from './harness.js';

const leaseFlows = (h: Harness, id?: number) =>
  h.sw.flows().filter((f) => ownerIdOf(f.cookie) === OWNER.LEASES && (id === undefined || cookieId(f.cookie) === id));

/** What a restart would read from the data directory (the state document and its journal). */
const onDisk = (h: Harness) => readState(h.dataDir);

/** The id of the one active lease in the state on disk, once there is one (polled: the write is under way). */
async function activeOnDisk(h: Harness, dataDir = h.dataDir): Promise<number> {
  for (const stop = Date.now() + 5000; Date.now() < stop; await new Promise((r) => setTimeout(r, 5))) {
    const active = Object.values((await readState(dataDir)).leases).filter((l) => l.state === 'active');
    if (active.length === 1) return active[0]!.id;
  }
  throw new Error('no active lease reached the state file');
}

/** A packet of a lease on 192.0.2.0/24 <-> dtn1 (10.10.1.10), WAN to DTN or back. */
function inject(h: Harness, dir: 'in' | 'out', bytes: number, dstPort = 50050): void {
  const f =
    dir === 'in'
      ? { eth_type: 0x0800, ipv4_src: '192.0.2.7', ipv4_dst: '10.10.1.10', ip_proto: 6, tcp_src: 33333, tcp_dst: dstPort }
      : { eth_type: 0x0800, ipv4_src: '10.10.1.10', ipv4_dst: '192.0.2.7', ip_proto: 6, tcp_src: dstPort, tcp_dst: 33333 };
  const r = h.sw.injectPacket(dir === 'in' ? 1 : 5, Buffer.alloc(bytes), f);
  expect(r.outputs).toEqual([dir === 'in' ? 5 : 1]); // the bypass, not the firewall
}

describe('transfers', () => {
  let h: Harness;
  let tok: string;
  beforeAll(async () => {
    h = await startHarness();
    tok = await h.token();
  });
  afterAll(async () => h.close());
  afterEach(async () => {
    // Each test starts with no active lease.
    for (const l of h.app.book.active()) await h.app.releaseLease(l.id);
  });

  const post = (body: Record<string, unknown>, token = tok) =>
    h.api.inject({ method: 'POST', url: '/api/v1/transfers', headers: h.auth(token), payload: body });

  it('grants a transfer once the switch holds its flows and the state file holds it', async () => {
    const before = h.sw.flowCount();
    const r = await post(transferBody());
    expect(r.statusCode).toBe(201);
    const t = r.json();
    expect(t).toMatchObject({
      project: 'astro',
      dtn: 'dtn1',
      remote: '192.0.2.0/24',
      protocol: 'tcp',
      local_ports: ['50000-50100'],
      remote_ports: ['0-65535'],
      path: 'routed',
      state: 'active',
      rate_mbps: 1000,
    });
    expect(Date.parse(t.end) - Date.parse(t.start)).toBe(600_000);
    // Answered after the switch confirmed: the flows are there now, both directions, with the lease's cookie.
    expect(leaseFlows(h, t.id).length).toBeGreaterThan(0);
    expect(h.sw.flowCount()).toBe(before + leaseFlows(h, t.id).length);
    expect(h.sw.pipeline.meters.has(h.app.lease(t.id)!.meterId!)).toBe(true);
    // ... and after the write: the state on disk has the lease and the audit entry.
    let disk = await onDisk(h);
    expect(disk.leases[t.id]).toMatchObject({ id: t.id, state: 'active', project: 'astro' });
    expect(
      disk.audit.some(
        (a: { action: string; decision: string; transfer?: number }) =>
          a.action === 'transfer.create' && a.decision === 'granted' && a.transfer === t.id,
      ),
    ).toBe(true);
    // Its lease.created event comes after the switch's answer, in a later write (the 201 does not wait for it).
    await h.store.commit([]);
    disk = await onDisk(h);
    expect(
      disk.events.some((e: { type: string; data: { transfer?: { id: number } } }) => e.type === 'lease.created' && e.data.transfer?.id === t.id),
    ).toBe(true);
    // The store holds the app's record as it is (its lease.created is not put again: the record went in as sent).
    expect(h.store.view.lease(t.id)).toEqual(JSON.parse(JSON.stringify(h.app.lease(t.id))));
    expect(disk.leases[t.id]).toEqual(JSON.parse(JSON.stringify(h.app.lease(t.id))));
  });

  it('a lease requested from the app without a record callback is stored by its lease.created event', async () => {
    const rec = await h.app.requestLease({
      project: 'astro',
      dtn: 'dtn1',
      remote: '198.51.100.7/32',
      protocol: 'tcp',
      localPorts: [{ lo: 50010, hi: 50010 }],
      remotePorts: [{ lo: 40000, hi: 40000 }],
      path: 'routed',
      durationSeconds: 60,
    });
    expect(h.store.view.lease(rec.id)).toEqual(JSON.parse(JSON.stringify(rec)));
    await h.store.commit([]);
    expect((await onDisk(h)).leases[rec.id]).toEqual(JSON.parse(JSON.stringify(rec)));
  });

  it('writes the lease to the state file while the switch installs its flows, and answers when both are done', async () => {
    // (No rate: a meter would be installed, and confirmed, before the flows and their record are sent.)
    const unmetered = await h.token({ maxRateMbps: undefined });
    h.sw.stall(); // the switch reads nothing: the bundle waits in the socket
    let answered = false;
    const pending = post(transferBody(), unmetered).then((r) => {
      answered = true;
      return r;
    });
    const id = await activeOnDisk(h);
    expect(answered).toBe(false);
    expect(leaseFlows(h, id)).toHaveLength(0);
    const disk = await onDisk(h);
    expect(disk.audit.at(-1)).toMatchObject({ action: 'transfer.create', decision: 'granted', transfer: id });
    h.sw.resume();
    const r = await pending;
    expect(r.statusCode).toBe(201);
    expect(r.json().id).toBe(id);
    expect(leaseFlows(h, id).length).toBeGreaterThan(0);
  });

  it('takes `end` instead of `duration`, and a circuit path', async () => {
    const end = new Date(Date.now() + 120_000).toISOString();
    const r = await post(transferBody({ duration: undefined, end, path: 'circuit:esnet', rate_mbps: 100 }));
    expect(r.statusCode).toBe(201);
    expect(r.json()).toMatchObject({ path: 'circuit:esnet', rate_mbps: 100 });
    expect(Math.abs(Date.parse(r.json().end) - Date.parse(end))).toBeLessThan(1500);
  });

  it('refuses an overlapping transfer with 409 DMZ_LEASE_OVERLAP, and audits it', async () => {
    expect((await post(transferBody())).statusCode).toBe(201);
    const r = await post(transferBody({ remote: '192.0.2.128/25', local_ports: ['50050-50060'] }));
    expect(r.statusCode).toBe(409);
    expect(r.json()).toMatchObject({ code: 'DMZ_LEASE_OVERLAP', status: 409 });
    const last = h.store.data.audit.at(-1)!;
    expect(last).toMatchObject({ action: 'transfer.create', decision: 'refused', code: 'DMZ_LEASE_OVERLAP', project: 'astro' });
    // Other ports do not overlap.
    expect((await post(transferBody({ local_ports: ['50200-50300'] }))).statusCode).toBe(201);
  });

  it("answers 503 DMZ_SWITCH_DOWN when the DTN's switch is not connected, installing nothing", async () => {
    const r = await post(transferBody({ dtn: 'dtn2' }));
    expect(r.statusCode).toBe(503);
    expect(r.json().code).toBe('DMZ_SWITCH_DOWN');
    expect(h.app.book.active()).toHaveLength(0);
  });

  describe('token constraints: 403 naming the constraint', () => {
    const cases: [string, Record<string, unknown>, Record<string, unknown>, string, string][] = [
      ['a DTN beyond its DTNs', { dtns: ['dtn6'] }, {}, 'DMZ_DTN_DENIED', 'dtn'],
      ['a remote beyond its prefixes', {}, { remote: '203.0.113.0/24' }, 'DMZ_REMOTE_DENIED', 'remote'],
      ['a remote wider than its prefix', { remotes: ['192.0.2.0/25'] }, { remote: '192.0.2.0/24' }, 'DMZ_REMOTE_DENIED', 'remote'],
      ['ports beyond its ranges', { ports: ['50000-50050'] }, { local_ports: ['50000-50100'] }, 'DMZ_PORTS_DENIED', 'ports'],
      ['a second range beyond', { ports: ['50000-50100'] }, { local_ports: ['50000-50010', '5201'] }, 'DMZ_PORTS_DENIED', 'ports'],
      ['a path beyond its paths', { paths: ['routed'] }, { path: 'circuit:esnet' }, 'DMZ_PATH_DENIED', 'path'],
      ['a duration beyond its maximum', { maxDurationSeconds: 300 }, { duration: 301 }, 'DMZ_DURATION_DENIED', 'duration'],
      [
        'an end beyond its maximum',
        { maxDurationSeconds: 300 },
        { duration: undefined, end: new Date(Date.now() + 3_600_000).toISOString() },
        'DMZ_DURATION_DENIED',
        'duration',
      ],
      ['a rate beyond its maximum', { maxRateMbps: 100 }, { rate_mbps: 100.5 }, 'DMZ_RATE_DENIED', 'rate'],
      ['a read-only token', { scopes: ['transfers:read'] }, {}, 'DMZ_SCOPE_DENIED', 'scope'],
      ['a blocks-only token', { scopes: ['blocks:write'] }, {}, 'DMZ_SCOPE_DENIED', 'scope'],
    ];
    for (const [what, spec, body, code, constraint] of cases) {
      it(`refuses ${what}`, async () => {
        const t = await h.token(spec);
        const before = h.sw.flowCount();
        const r = await post(transferBody(body), t);
        expect(r.statusCode).toBe(403);
        expect(r.json()).toMatchObject({ code, constraint, status: 403 });
        expect(h.sw.flowCount()).toBe(before);
        const last = h.store.data.audit.at(-1)!;
        expect(last).toMatchObject({ decision: 'refused', code });
      });
    }

    it('a token with a rate cap gives a transfer without rate_mbps its cap', async () => {
      const t = await h.token({ maxRateMbps: 50 });
      const r = await post(transferBody(), t);
      expect(r.statusCode).toBe(201);
      expect(r.json().rate_mbps).toBe(50);
    });

    it('a token without a rate cap takes any rate, and none', async () => {
      const t = await h.token({ dtns: ['*'], paths: ['*'], maxRateMbps: undefined });
      const r = await post(transferBody({ local_ports: ['5201'] }), t);
      expect(r.statusCode).toBe(201);
      expect(r.json().rate_mbps).toBeUndefined();
    });
  });

  describe('site policy: 422 with the rule', () => {
    const cases: [string, Record<string, unknown>, Record<string, unknown>, string][] = [
      ['a DTN the site does not have', { dtns: ['*'] }, { dtn: 'nosuch' }, 'DMZ_UNKNOWN_DTN'],
      ['a circuit the site does not have', { paths: ['*'] }, { path: 'circuit:nosuch' }, 'DMZ_UNKNOWN_PATH'],
      ['ports outside the site policy', { ports: ['40000-60000'] }, { local_ports: ['40000-40010'] }, 'DMZ_POLICY_PORTS'],
      ["longer than the site's max-lease", { maxDurationSeconds: 86400 }, { duration: 14401 }, 'DMZ_POLICY_DURATION'],
      ['a remote covering an inside host', { remotes: ['10.0.0.0/8'] }, { remote: '10.10.1.0/24' }, 'DMZ_REMOTE_IS_LOCAL'],
      ['IPv6 for a DTN without IPv6', {}, { dtn: 'dtn6', remote: '2001:db8::/64' }, 'DMZ_FAMILY_MISMATCH'],
    ];
    for (const [what, spec, body, code] of cases) {
      it(`refuses ${what}`, async () => {
        const t = await h.token(spec);
        const r = await post(transferBody(body), t);
        expect(r.statusCode).toBe(422);
        expect(r.json().code).toBe(code);
        expect(r.json().reason).toBeTruthy();
      });
    }

    it('refuses an end in the past with 422 DMZ_END_IN_PAST', async () => {
      const r = await post(transferBody({ duration: undefined, end: new Date(Date.now() - 1000).toISOString() }));
      expect(r.statusCode).toBe(422);
      expect(r.json().code).toBe('DMZ_END_IN_PAST');
    });

    it('needs exactly one of duration and end (400)', async () => {
      const both = await post(transferBody({ end: new Date(Date.now() + 60_000).toISOString() }));
      expect(both.statusCode).toBe(400);
      expect(both.json()).toMatchObject({ code: 'DMZ_INVALID_FIELD', details: [{ path: '/end' }] });
      const neither = await post(transferBody({ duration: undefined }));
      expect(neither.statusCode).toBe(400);
      expect(neither.json().code).toBe('DMZ_INVALID_FIELD');
    });
  });

  describe('reading', () => {
    it("lists a token's own project only; admin sees all and can filter", async () => {
      const mine = (await post(transferBody())).json();
      const other = await h.token({ project: 'bio' });
      const theirs = (await post(transferBody({ local_ports: ['50500-50600'] }), other)).json();
      const admin = await h.token({ project: 'ops', scopes: ['admin'] });

      const a = (await h.api.inject({ url: '/api/v1/transfers?state=active', headers: h.auth(tok) })).json();
      expect(a.transfers.map((t: { id: number }) => t.id)).toEqual([mine.id]);
      const b = (await h.api.inject({ url: '/api/v1/transfers', headers: h.auth(other) })).json();
      expect(b.transfers.every((t: { project: string }) => t.project === 'bio')).toBe(true);
      const all = (await h.api.inject({ url: '/api/v1/transfers?state=active', headers: h.auth(admin) })).json();
      expect(all.transfers.map((t: { id: number }) => t.id)).toEqual([theirs.id, mine.id]); // newest first
      const bio = (await h.api.inject({ url: '/api/v1/transfers?project=bio&state=active', headers: h.auth(admin) })).json();
      expect(bio.transfers.map((t: { id: number }) => t.id)).toEqual([theirs.id]);

      const peek = await h.api.inject({ url: '/api/v1/transfers?project=bio', headers: h.auth(tok) });
      expect(peek.statusCode).toBe(403);
      expect(peek.json()).toMatchObject({ code: 'DMZ_PROJECT_DENIED', constraint: 'project' });
      // Another project's transfer answers as a missing one would: the id's existence is not told.
      const one = await h.api.inject({ url: `/api/v1/transfers/${theirs.id}`, headers: h.auth(tok) });
      const missing = await h.api.inject({ url: '/api/v1/transfers/777777', headers: h.auth(tok) });
      expect(one.statusCode).toBe(404);
      expect(one.json()).toMatchObject({ code: 'DMZ_TRANSFER_NOT_FOUND', message: `no transfer ${theirs.id}` });
      expect({ ...one.json(), message: undefined, request_id: undefined }).toEqual({ ...missing.json(), message: undefined, request_id: undefined });
      expect((await h.api.inject({ url: `/api/v1/transfers/${theirs.id}`, headers: h.auth(admin) })).statusCode).toBe(200);

      const closed = (await h.api.inject({ url: '/api/v1/transfers?state=released&limit=2', headers: h.auth(admin) })).json();
      expect(closed.transfers.length).toBeLessThanOrEqual(2);
      expect(closed.transfers.every((t: { state: string }) => t.state === 'released')).toBe(true);
    });

    it('a read-only token reads; an unknown id is 404 DMZ_TRANSFER_NOT_FOUND', async () => {
      const ro = await h.token({ scopes: ['transfers:read'] });
      expect((await h.api.inject({ url: '/api/v1/transfers', headers: h.auth(ro) })).statusCode).toBe(200);
      const r = await h.api.inject({ url: '/api/v1/transfers/99999', headers: h.auth(ro) });
      expect(r.statusCode).toBe(404);
      expect(r.json().code).toBe('DMZ_TRANSFER_NOT_FOUND');
    });

    it('reads live counters from the switch and gives the rate since the previous read', async () => {
      const t = (await post(transferBody())).json();
      const get = async () => (await h.api.inject({ url: `/api/v1/transfers/${t.id}`, headers: h.auth(tok) })).json();
      for (let i = 0; i < 3; i++) inject(h, 'in', 1000);
      inject(h, 'out', 200);
      const first = await get();
      expect(first.counters).toEqual({ bytes_in: 3000, packets_in: 3, bytes_out: 200, packets_out: 1 });
      expect(first.rate).toMatchObject({ interval_seconds: null, bps_in: null });
      for (let i = 0; i < 5; i++) inject(h, 'in', 1500);
      await new Promise((r) => setTimeout(r, 400));
      const second = await get();
      expect(second.counters).toMatchObject({ bytes_in: 3000 + 7500, packets_in: 8 });
      const secs = second.rate.interval_seconds as number;
      expect(secs).toBeGreaterThanOrEqual(0.35);
      expect(second.rate.bps_in).toBeCloseTo((7500 * 8) / secs, 3);
      expect(second.rate.bps_out).toBe(0);
    });
  });

  describe('extending', () => {
    it("moves the end within the token's limit; beyond it is 403 DMZ_DURATION_DENIED", async () => {
      const t = await h.token({ maxDurationSeconds: 900 });
      const lease = (await post(transferBody({ duration: 300 }), t)).json();
      const ok = await h.api.inject({ method: 'PATCH', url: `/api/v1/transfers/${lease.id}`, headers: h.auth(t), payload: { duration: 800 } });
      expect(ok.statusCode).toBe(200);
      expect(Date.parse(ok.json().end) - Date.now()).toBeGreaterThan(790_000);
      // The switch's hard timeouts were re-armed.
      expect(leaseFlows(h, lease.id).every((f) => f.hardTimeout >= 799)).toBe(true);
      const far = await h.api.inject({ method: 'PATCH', url: `/api/v1/transfers/${lease.id}`, headers: h.auth(t), payload: { duration: 901 } });
      expect(far.statusCode).toBe(403);
      expect(far.json()).toMatchObject({ code: 'DMZ_DURATION_DENIED', constraint: 'duration' });
      expect(h.store.data.audit.at(-1)).toMatchObject({ action: 'transfer.extend', decision: 'refused', transfer: lease.id });
    });

    it("refuses beyond the site's max-lease (422), another project's (404), an ended one (409)", async () => {
      const big = await h.token({ maxDurationSeconds: 86400 });
      const lease = (await post(transferBody(), big)).json();
      const site = await h.api.inject({ method: 'PATCH', url: `/api/v1/transfers/${lease.id}`, headers: h.auth(big), payload: { duration: 14401 } });
      expect(site.statusCode).toBe(422);
      expect(site.json().code).toBe('DMZ_POLICY_DURATION');
      const other = await h.token({ project: 'bio' });
      const foreign = await h.api.inject({
        method: 'PATCH',
        url: `/api/v1/transfers/${lease.id}`,
        headers: h.auth(other),
        payload: { duration: 60 },
      });
      expect(foreign.statusCode).toBe(404);
      expect(foreign.json().code).toBe('DMZ_TRANSFER_NOT_FOUND');
      await h.app.releaseLease(lease.id);
      const ended = await h.api.inject({ method: 'PATCH', url: `/api/v1/transfers/${lease.id}`, headers: h.auth(big), payload: { duration: 60 } });
      expect(ended.statusCode).toBe(409);
      expect(ended.json().code).toBe('DMZ_TRANSFER_NOT_ACTIVE');
      const empty = await h.api.inject({ method: 'PATCH', url: `/api/v1/transfers/${lease.id}`, headers: h.auth(big), payload: {} });
      expect(empty.statusCode).toBe(409); // the state is checked first
    });
  });

  describe('releasing', () => {
    it('answers once the flows are gone, with the final counters', async () => {
      const t = (await post(transferBody())).json();
      inject(h, 'in', 700);
      inject(h, 'out', 300);
      const r = await h.api.inject({ method: 'DELETE', url: `/api/v1/transfers/${t.id}`, headers: h.auth(tok) });
      expect(r.statusCode).toBe(200);
      expect(r.json()).toMatchObject({ id: t.id, state: 'released', counters: { bytes_in: 700, bytes_out: 300, packets_in: 1, packets_out: 1 } });
      expect(r.json().close_reason).toMatch(/released by token/);
      expect(leaseFlows(h, t.id)).toHaveLength(0);
      expect((await onDisk(h)).leases[t.id]!.state).toBe('released');
      expect(h.store.data.audit.at(-1)).toMatchObject({ action: 'transfer.release', decision: 'done', transfer: t.id });
      const again = await h.api.inject({ method: 'DELETE', url: `/api/v1/transfers/${t.id}`, headers: h.auth(tok) });
      expect(again.statusCode).toBe(409);
      expect(again.json().code).toBe('DMZ_TRANSFER_NOT_ACTIVE');
    });

    it('another project may not release it; an admin revokes it', async () => {
      const t = (await post(transferBody())).json();
      const other = await h.token({ project: 'bio' });
      const r = await h.api.inject({ method: 'DELETE', url: `/api/v1/transfers/${t.id}`, headers: h.auth(other) });
      expect(r.statusCode).toBe(404);
      expect(r.json().code).toBe('DMZ_TRANSFER_NOT_FOUND');
      expect(h.app.lease(t.id)!.state).toBe('active');
      const admin = await h.token({ project: 'ops', scopes: ['admin'] });
      const rv = await h.api.inject({ method: 'DELETE', url: `/api/v1/transfers/${t.id}`, headers: h.auth(admin) });
      expect(rv.statusCode).toBe(200);
      expect(rv.json().state).toBe('revoked');
      const none = await h.api.inject({ method: 'DELETE', url: '/api/v1/transfers/424242', headers: h.auth(admin) });
      expect(none.statusCode).toBe(404);
    });

    it("a lease that ends by itself is closed and audited as the system's", async () => {
      const t = (await post(transferBody({ duration: 1 }))).json();
      await new Promise((r) => setTimeout(r, 1600));
      expect(h.app.lease(t.id)!.state).toBe('expired');
      await h.store.commit([]);
      expect((await onDisk(h)).leases[t.id]!.state).toBe('expired');
      expect(h.store.data.audit.some((a) => a.actor === 'system' && a.action === 'transfer.expired' && a.transfer === t.id)).toBe(true);
    });
  });
});

describe('a switch that refuses the flows', () => {
  let h: Harness;
  beforeAll(async () => {
    // Room for the pipeline and a small lease, not a large one.
    h = await startHarness({ maxFlowsPerTable: 24 });
  });
  afterAll(async () => h.close());

  it("answers 502 with the switch's error names, leaving nothing half-installed", async () => {
    const tok = await h.token();
    const small = await h.api.inject({
      method: 'POST',
      url: '/api/v1/transfers',
      headers: h.auth(tok),
      payload: transferBody({ local_ports: ['5201'], rate_mbps: undefined }),
    });
    expect(small.statusCode).toBe(201);
    const before = h.sw
      .flows()
      .map((f) => f.cookie)
      .sort();
    const meters = h.sw.pipeline.meters.size;
    const r = await h.api.inject({
      method: 'POST',
      url: '/api/v1/transfers',
      headers: h.auth(tok),
      payload: transferBody({ local_ports: ['50000-51000'] }),
    });
    expect(r.statusCode).toBe(502);
    expect(r.json()).toMatchObject({
      code: 'DMZ_SWITCH_REFUSED',
      switch_error: { dpid: '0000000000000001', type: 'OFPET_FLOW_MOD_FAILED', code: 'OFPFMFC_TABLE_FULL' },
    });
    expect(
      h.sw
        .flows()
        .map((f) => f.cookie)
        .sort(),
    ).toEqual(before);
    expect(h.sw.pipeline.meters.size).toBe(meters);
    expect(h.app.book.active()).toHaveLength(1);
    // It was written while the switch had the flows, so it stays, revoked, in the app and on disk (and after a
    // restart); the audit trail has the grant and then the switch's refusal.
    const gone = h.app.book.leases().find((l) => l.state !== 'active')!;
    expect(gone).toMatchObject({ state: 'revoked', closeReason: expect.stringContaining('not installed') });
    expect((await onDisk(h)).leases[gone.id]).toMatchObject({ state: 'revoked', closeReason: gone.closeReason });
    expect(h.store.data.audit.at(-2)).toMatchObject({ action: 'transfer.create', decision: 'granted', transfer: gone.id });
    expect(h.store.data.audit.at(-1)).toMatchObject({
      decision: 'refused',
      code: 'DMZ_SWITCH_REFUSED',
      transfer: gone.id,
      details: { switch_error: { code: 'OFPFMFC_TABLE_FULL' } },
    });
    const view = await h.api.inject({ method: 'GET', url: `/api/v1/transfers/${gone.id}`, headers: h.auth(tok) });
    expect(view.json()).toMatchObject({ id: gone.id, state: 'revoked' });
  });
});

describe('a crash while the switch installs a recorded lease', () => {
  it('leaves the lease on disk, and the restart installs it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'dmzgate-api-crash-'));
    const crashDir = mkdtempSync(join(tmpdir(), 'dmzgate-api-crash-copy-'));
    const h = await startHarness({ dataDir });
    let h2: Harness | undefined;
    try {
      const tok = await h.token({ maxRateMbps: undefined }); // (no meter: see above)
      h.sw.stall();
      const pending = h.api.inject({ method: 'POST', url: '/api/v1/transfers', headers: h.auth(tok), payload: transferBody() });
      const id = await activeOnDisk(h);
      // What a kill -9 at this instant leaves: the data directory as it is now (the 201 not sent, no flows).
      cpSync(dataDir, crashDir, { recursive: true });
      h.sw.resume();
      expect((await pending).statusCode).toBe(201);
      await h.close();
      h2 = await startHarness({ dataDir: crashDir });
      expect(h2.app.lease(id)).toMatchObject({ state: 'active' });
      expect(leaseFlows(h2, id).length).toBeGreaterThan(0);
    } finally {
      await h2?.close();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(crashDir, { recursive: true, force: true });
    }
  });
});

describe('the log of a transfer', () => {
  const INFO = 30;
  const DEBUG = 20;
  let h: Harness;
  let tok: string;
  const lines: Array<Record<string, unknown>> = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
        done();
      },
    });
    h = await startHarness({ logger: pino({ level: 'debug' }, sink) });
    tok = await h.token();
  });
  afterAll(async () => h.close());
  /** The lines about transfer `id`: the app's (lease) and the audit entries (transfer). */
  const about = (id: number) => lines.filter((l) => l.lease === id || (l.audit as { transfer?: number } | undefined)?.transfer === id);
  const infoMsgs = (id: number) =>
    about(id)
      .filter((l) => (l.level as number) >= INFO)
      .map((l) => l.msg);
  const debugMsgs = (id: number) =>
    about(id)
      .filter((l) => l.level === DEBUG)
      .map((l) => l.msg);
  const create = async (extra: Record<string, unknown> = {}) => {
    const r = await h.api.inject({ method: 'POST', url: '/api/v1/transfers', headers: h.auth(tok), payload: transferBody(extra) });
    expect(r.statusCode).toBe(201);
    return r.json().id as number;
  };

  it("a grant is one info line, the audit entry with who asked; the app's own line is at debug", async () => {
    const id = await create();
    expect(infoMsgs(id)).toEqual(['audit: transfer.create granted']);
    expect(about(id).find((l) => l.msg === 'audit: transfer.create granted')!.audit).toMatchObject({
      actor: expect.stringMatching(/^token:/),
      transfer: id,
      details: { dtn: 'dtn1', remote: '192.0.2.0/24', path: 'routed' },
    });
    expect(debugMsgs(id)).toContain('lease installed');
    const r = await h.api.inject({ method: 'DELETE', url: `/api/v1/transfers/${id}`, headers: h.auth(tok) });
    expect(r.statusCode).toBe(200);
    expect(infoMsgs(id)).toEqual(['audit: transfer.create granted', 'audit: transfer.release done']);
    expect(debugMsgs(id)).toContain('lease closed');
  });

  it("an expiry is one info line too: the system's audit entry, with the reason and the final counters", async () => {
    const id = await create({ duration: 1, remote: '192.0.2.77' });
    await new Promise((r) => setTimeout(r, 1600));
    expect(h.app.lease(id)!.state).toBe('expired');
    expect(infoMsgs(id)).toEqual(['audit: transfer.create granted', 'audit: transfer.expired done']);
    expect(about(id).find((l) => l.msg === 'audit: transfer.expired done')!.audit).toMatchObject({
      actor: 'system',
      transfer: id,
      reason: expect.stringContaining('ended'),
      details: { state: 'expired', counters: { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 } },
    });
  });
});

describe('requests in flight at once', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  it('get distinct ids and meters, and of overlapping ones exactly one is granted', async () => {
    const tok = await h.token();
    const post = (body: Record<string, unknown>) => h.api.inject({ method: 'POST', url: '/api/v1/transfers', headers: h.auth(tok), payload: body });
    const rs = await Promise.all(
      Array.from({ length: 40 }, (_, i) => post(transferBody({ remote: `192.0.2.${i + 1}`, local_ports: ['5201'], rate_mbps: 10 }))),
    );
    expect(rs.map((r) => r.statusCode)).toEqual(rs.map(() => 201));
    const ids = rs.map((r) => r.json().id as number);
    expect(new Set(ids).size).toBe(40);
    expect(h.app.book.active()).toHaveLength(40);
    expect(new Set(h.app.book.active().map((l) => l.meterId)).size).toBe(40);
    for (const id of ids) expect(leaseFlows(h, id)).toHaveLength(2);
    const clash = await Promise.all(Array.from({ length: 10 }, () => post(transferBody({ remote: '198.51.100.0/24' }))));
    expect(clash.filter((r) => r.statusCode === 201)).toHaveLength(1);
    expect(clash.filter((r) => r.statusCode === 409).every((r) => r.json().code === 'DMZ_LEASE_OVERLAP')).toBe(true);
  });
});

describe('a state file that cannot be written', () => {
  it('a transfer granted on the switch but not recorded is revoked: 500 DMZ_STORE_FAILED', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'dmzgate-api-rofs-'));
    const h = await startHarness({ dataDir });
    try {
      const tok = await h.token();
      rmSync(dataDir, { recursive: true, force: true }); // every write fails from now on
      const r = await h.api.inject({ method: 'POST', url: '/api/v1/transfers', headers: h.auth(tok), payload: transferBody() });
      expect(r.statusCode).toBe(500);
      expect(r.json().code).toBe('DMZ_STORE_FAILED');
      expect(h.app.book.active()).toHaveLength(0);
      expect(h.app.book.leases()[0]).toMatchObject({ state: 'revoked', closeReason: 'the state could not be saved' });
      expect(leaseFlows(h)).toHaveLength(0);
    } finally {
      await h.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('other sites and switches', () => {
  it('a protocol the site does not allow is 422 DMZ_POLICY_PROTOCOL', async () => {
    const h = await startHarness({ siteYaml: SITE_YAML.replace('protocols: [tcp, udp]', 'protocols: [tcp]') });
    try {
      const r = await h.api.inject({
        method: 'POST',
        url: '/api/v1/transfers',
        headers: h.auth(await h.token()),
        payload: transferBody({ protocol: 'udp' }),
      });
      expect(r.statusCode).toBe(422);
      expect(r.json()).toMatchObject({ code: 'DMZ_POLICY_PROTOCOL', reason: 'protocol' });
    } finally {
      await h.close();
    }
  });

  it('a switch that does not answer is 504 DMZ_SWITCH_TIMEOUT', async () => {
    const h = await startHarness({ requestTimeoutMs: 300 });
    try {
      const tok = await h.token({ maxRateMbps: undefined }); // no meter: the flows' bundle is what times out
      h.sw.stall();
      const r = await h.api.inject({
        method: 'POST',
        url: '/api/v1/transfers',
        headers: h.auth(tok),
        payload: transferBody({ rate_mbps: undefined }),
      });
      expect(r.statusCode).toBe(504);
      expect(r.json().code).toBe('DMZ_SWITCH_TIMEOUT');
      expect(h.app.book.active()).toHaveLength(0);
      // Recorded while the switch was asked, so recorded as revoked before the 504.
      expect(Object.values((await readState(h.dataDir)).leases)).toMatchObject([
        { state: 'revoked', closeReason: expect.stringContaining('not installed') },
      ]);
      h.sw.resume();
    } finally {
      await h.close();
    }
  });
});

describe('a site reload (what SIGHUP runs)', () => {
  it('revokes at once a lease the new config refuses, with the reason in the audit trail; keeps the others', async () => {
    const h = await startHarness();
    try {
      const tok = await h.token();
      const post = (body: Record<string, unknown>) => h.api.inject({ method: 'POST', url: '/api/v1/transfers', headers: h.auth(tok), payload: body });
      const refused = (await post(transferBody())).json();
      const kept = (await post(transferBody({ local_ports: ['5201'] }))).json();
      expect([refused.state, kept.state]).toEqual(['active', 'active']);

      const { revoked } = await h.app.reloadSite(parseSiteConfig(SITE_YAML.replace('ports: [50000-51000, 5201]', 'ports: [5201]'), '(reloaded)'));
      expect(revoked).toEqual([refused.id]);
      expect(leaseFlows(h, refused.id)).toEqual([]);
      expect(leaseFlows(h, kept.id).length).toBeGreaterThan(0);

      const shown = (await h.api.inject({ method: 'GET', url: `/api/v1/transfers/${refused.id}`, headers: h.auth(tok) })).json();
      expect(shown.state).toBe('revoked');
      expect(h.app.lease(kept.id)!.state).toBe('active');
      expect(h.store.data.audit).toContainEqual(
        expect.objectContaining({
          actor: 'system',
          action: 'transfer.revoked',
          transfer: refused.id,
          reason: expect.stringMatching(/reloaded site config: .*port/),
        }),
      );
      await h.store.commit([]);
      expect((await onDisk(h)).leases[refused.id]).toMatchObject({ state: 'revoked', closeReason: expect.stringContaining('reloaded site config') });
    } finally {
      await h.close();
    }
  });
});
