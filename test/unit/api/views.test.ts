// Read-only views (switches, a switch's flows, the audit trail) and operations (health, readiness, metrics).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, transferBody, type Harness } from './harness.js';

describe('views', () => {
  let h: Harness;
  let tok: string;
  let admin: string;
  let listening = true;
  beforeAll(async () => {
    h = await startHarness({ api: { controllerListening: () => listening } });
    tok = await h.token();
    admin = await h.token({ project: 'ops', scopes: ['admin'] });
    expect((await h.api.inject({ method: 'POST', url: '/api/v1/transfers', headers: h.auth(tok), payload: transferBody() })).statusCode).toBe(201);
    expect(
      (await h.api.inject({ method: 'POST', url: '/api/v1/transfers', headers: h.auth(tok), payload: transferBody({ dtn: 'dtn2' }) })).statusCode,
    ).toBe(503);
  });
  afterAll(async () => h.close());

  it('/switches: connection state, ports with roles, flows counted by the switch and desired', async () => {
    const r = await h.api.inject({ url: '/api/v1/switches', headers: h.auth(tok) });
    expect(r.statusCode).toBe(200);
    const [s1, s2] = r.json().switches;
    expect(s1).toMatchObject({ dpid: '0000000000000001', name: 'dmz1', connected: true });
    expect(s1.remote).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(s1.ports).toHaveLength(6);
    expect(s1.ports[0]).toMatchObject({ port_no: 1, role: 'wan-routed', link_up: true, admin_up: true });
    expect(s1.flows.on_switch).toBe(h.sw.flowCount());
    expect(s1.flows.desired).toBe(h.sw.flowCount());
    expect(s1.flows.by_owner['dmz-leases']).toBeGreaterThan(0);
    expect(s1.flows.by_owner['dmz-pipeline']).toBeGreaterThan(0);
    expect(s2).toMatchObject({ dpid: '0000000000000002', name: 'dmz2', connected: false, flows: { on_switch: null } });
    expect(s2.ports.map((p: { role: string }) => p.role)).toContain('dtn');
  });

  it('/switches/{dpid}/flows: what the switch holds, admin only', async () => {
    const r = await h.api.inject({ url: '/api/v1/switches/0000000000000001/flows', headers: h.auth(admin) });
    expect(r.statusCode).toBe(200);
    const { flows } = r.json();
    expect(flows).toHaveLength(h.sw.flowCount());
    const lease = flows.find((f: { owner: string }) => f.owner === 'dmz-leases');
    expect(lease).toMatchObject({ table_id: 0, priority: 40000, cookie: expect.stringMatching(/^0xd1/) });
    expect(lease.match.OFPMatch.oxm_fields.length).toBeGreaterThan(3);
    expect(lease.text).toMatch(/cookie=0xd1.*priority=40000.*actions=/);
    expect(lease.hard_timeout).toBeGreaterThan(500);
    // The same switch in other spellings.
    for (const spelling of ['1', '0x1', '00:00:00:00:00:00:00:01']) {
      expect((await h.api.inject({ url: `/api/v1/switches/${spelling}/flows`, headers: h.auth(admin) })).statusCode).toBe(200);
    }
    const down = await h.api.inject({ url: '/api/v1/switches/2/flows', headers: h.auth(admin) });
    expect(down.statusCode).toBe(404);
    expect(down.json().code).toBe('DMZ_SWITCH_NOT_FOUND');
    const bad = await h.api.inject({ url: '/api/v1/switches/xyz/flows', headers: h.auth(admin) });
    expect(bad.statusCode).toBe(400);
    expect((await h.api.inject({ url: '/api/v1/switches/1/flows', headers: h.auth(tok) })).statusCode).toBe(403);
  });

  it('/audit: every decision with its code, filterable, admin only', async () => {
    const r = await h.api.inject({ url: '/api/v1/audit', headers: h.auth(admin) });
    expect(r.statusCode).toBe(200);
    const { entries, last_id } = r.json();
    expect(entries.some((e: { action: string; decision: string }) => e.action === 'transfer.create' && e.decision === 'granted')).toBe(true);
    expect(entries.find((e: { code?: string }) => e.code === 'DMZ_SWITCH_DOWN')).toMatchObject({
      decision: 'refused',
      project: 'astro',
      actor: expect.stringMatching(/^token:\d+$/),
      client: '127.0.0.1',
    });
    expect(entries.some((e: { action: string }) => e.action === 'token.create')).toBe(true);
    expect(new Date(entries[0].at).toISOString()).toBe(entries[0].at);
    const refused = (await h.api.inject({ url: '/api/v1/audit?decision=refused', headers: h.auth(admin) })).json().entries;
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((e: { decision: string }) => e.decision === 'refused')).toBe(true);
    const after = (await h.api.inject({ url: `/api/v1/audit?after=${last_id}`, headers: h.auth(admin) })).json().entries;
    expect(after.every((e: { id: number }) => e.id > last_id)).toBe(true);
    const page = (await h.api.inject({ url: '/api/v1/audit?limit=1&action=transfer.create', headers: h.auth(admin) })).json().entries;
    expect(page).toHaveLength(1);
    expect((await h.api.inject({ url: '/api/v1/audit', headers: h.auth(tok) })).json().code).toBe('DMZ_SCOPE_DENIED');
    // A filter's value inside another field (a reason, a nested detail) is not a match.
    const entry = h.store.view.newAudit({
      actor: 'system',
      action: 'probe',
      decision: 'done',
      reason: '"decision":"granted"',
      details: { decision: 'granted', project: 'astro' },
    });
    await h.store.commit([{ kind: 'audit.append', entry }]);
    const probe = (await h.api.inject({ url: '/api/v1/audit?action=probe', headers: h.auth(admin) })).json().entries;
    expect(probe).toHaveLength(1);
    for (const q of ['decision=granted', 'project=astro']) {
      const got = (await h.api.inject({ url: `/api/v1/audit?${q}&after=${probe[0].id - 1}`, headers: h.auth(admin) })).json().entries;
      expect(got).toEqual([]);
    }
  });

  it('/healthz, and /readyz once the store is loaded and the controller listens', async () => {
    expect((await h.api.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await h.api.inject({ url: '/readyz' })).json()).toEqual({ status: 'ready', store: true, controller: true });
    listening = false;
    const r = await h.api.inject({ url: '/readyz' });
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ code: 'DMZ_NOT_READY', message: 'the controller is not listening' });
    listening = true;
  });

  it('/readyz asks the Controller itself by default', async () => {
    const other = await startHarness();
    try {
      expect((await other.api.inject({ url: '/readyz' })).statusCode).toBe(200);
      await other.controller.close();
      expect((await other.api.inject({ url: '/readyz' })).statusCode).toBe(503);
    } finally {
      await other.close();
    }
  });

  it('/metrics in the Prometheus text format', async () => {
    const r = await h.api.inject({ url: '/metrics' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    const m = r.body;
    expect(m).toMatch(/^dmzgate_switches_connected 1$/m);
    expect(m).toMatch(/^dmzgate_leases_active\{project="astro"\} 1$/m);
    expect(m).toMatch(/^dmzgate_flows\{dpid="0000000000000001",owner="dmz-leases"\} \d+$/m);
    expect(m).toMatch(/^dmzgate_lease_bytes\{lease="\d+",project="astro",direction="in"\} 0$/m);
    expect(m).toMatch(/^# TYPE dmzgate_openflow_errors_total counter$/m);
    expect(m).toMatch(/^dmzgate_api_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/api\/v1\/transfers",status="201"\} \d+$/m);
    expect(m).toMatch(/^dmzgate_store_write_seconds_count [1-9]/m);
  });

  it('/api/v1/events without an upgrade is 426', async () => {
    const r = await h.api.inject({ url: '/api/v1/events' });
    expect(r.statusCode).toBe(426);
    expect(r.json().code).toBe('DMZ_UPGRADE_REQUIRED');
  });
});
