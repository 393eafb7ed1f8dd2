// Flow budgets (per request and per switch), circuit admission control and dry runs, through the API against the
// switch emulator: a refusal names the numbers behind it and leaves nothing on the switch or in the state; a dry
// run answers the flows a real request then installs, and changes nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { baseFlows } from '../../../apps/dmz/pipeline.js';
import { OWNER } from '../../../apps/dmz/owners.js';
import { ownerCookie, ownerIdOf } from '../../../controller/cookie.js';
import { parseSiteConfig } from '../../../apps/dmz/config.js';
import { formatFlowEntry } from '../../../controller/openflow/multipart/flow.js';
import { startHarness, transferBody, SITE_YAML, type Harness } from './harness.js';

const BUDGET_SITE = SITE_YAML.replace(
  '  protocols: [tcp, udp]\n',
  `  protocols: [tcp, udp]
  lease-flow-budget: 8
  switch-flow-budget: 12
  circuit-default-rate-mbps: 200
`,
);

/** dtn1 has one IPv4 address and one local port is one mask: a transfer takes 2 flows per remote port. */
const remotePorts = (n: number) => Array.from({ length: n }, (_, i) => String(1000 + 2 * i));

const leaseFlowsOn = (h: Harness) => h.sw.flows().filter((f) => ownerIdOf(f.cookie) === OWNER.LEASES);
const auditCount = (h: Harness) => [...h.store.view.auditTextsAfter()].length;

describe('flow budgets and circuit admission', () => {
  let h: Harness;
  let tok: string;
  let blockTok: string;
  beforeAll(async () => {
    h = await startHarness({ siteYaml: BUDGET_SITE });
    tok = await h.token();
    blockTok = await h.token({ scopes: ['blocks:write'] });
  });
  afterAll(async () => h.close());
  afterEach(async () => {
    for (const l of h.app.book.active()) await h.app.releaseLease(l.id);
    for (const b of h.app.book.activeBlocks()) await h.app.removeBlock(b.id);
  });

  const post = (body: Record<string, unknown>, token = tok, query = '') =>
    h.api.inject({ method: 'POST', url: `/api/v1/transfers${query}`, headers: h.auth(token), payload: body });
  const transfer = (ports: number, over: Record<string, unknown> = {}) =>
    transferBody({ local_ports: ['50000'], remote_ports: remotePorts(ports), ...over });
  const block = (body: Record<string, unknown>) =>
    h.api.inject({ method: 'POST', url: '/api/v1/blocks', headers: h.auth(blockTok), payload: { reason: 'test', ...body } });

  it('a transfer over the per-request budget is 422 with the flows it would take and the budget', async () => {
    const leases = h.app.book.leases().length;
    const r = await post(transfer(5));
    expect(r.statusCode).toBe(422);
    expect(r.json()).toMatchObject({ code: 'DMZ_REQUEST_FLOW_BUDGET', reason: 'request-flow-budget', limit: { flows: 10, budget: 8 } });
    expect(leaseFlowsOn(h)).toEqual([]);
    expect(h.app.book.leases().length).toBe(leases);
    // At the budget exactly: granted.
    expect((await post(transfer(4))).statusCode).toBe(201);
    expect(leaseFlowsOn(h)).toHaveLength(8);
  });

  it('the switch budget counts every transfer and block on the switch; what ends frees its share', async () => {
    const a = await post(transfer(4, { remote: '192.0.2.1' }));
    expect(a.statusCode).toBe(201);
    const b = await post(transfer(3, { remote: '192.0.2.2' }));
    expect(b.statusCode).toBe(422);
    expect(b.json()).toMatchObject({ code: 'DMZ_SWITCH_FLOW_BUDGET', limit: { flows: 6, budget: 12, in_use: 8, switch: 'dmz1' } });
    expect(b.json().message).toContain('holds 8 of its 12');
    expect((await post(transfer(2, { remote: '192.0.2.3' }))).statusCode).toBe(201); // 12 of 12
    // A block (2 drop flows on every switch) no longer fits either.
    const full = await block({ prefix: '198.51.100.66' });
    expect(full.statusCode).toBe(422);
    expect(full.json()).toMatchObject({ code: 'DMZ_SWITCH_FLOW_BUDGET', limit: { flows: 2, in_use: 12, switch: 'dmz1' } });
    expect(h.app.book.activeBlocks()).toEqual([]);

    expect((await h.api.inject({ method: 'DELETE', url: `/api/v1/transfers/${a.json().id}`, headers: h.auth(tok) })).statusCode).toBe(200);
    expect((await post(transfer(3, { remote: '192.0.2.2' }))).statusCode).toBe(201); // 4 + 6
    expect((await block({ prefix: '198.51.100.66' })).statusCode).toBe(201); // 12 with the block
    expect((await post(transfer(1, { remote: '192.0.2.4' }))).statusCode).toBe(422);
  });

  it('a block over the per-request budget on each switch is 422', async () => {
    // tcp, 3 single ports: each as source and destination port, of the prefix as source and destination: 12 flows.
    const r = await block({ prefix: '198.51.100.66', protocol: 'tcp', ports: ['1', '3', '5'] });
    expect(r.statusCode).toBe(422);
    expect(r.json()).toMatchObject({ code: 'DMZ_REQUEST_FLOW_BUDGET', limit: { flows: 12, budget: 8 } });
    expect(h.sw.flows().filter((f) => ownerIdOf(f.cookie) === OWNER.BLOCKS)).toEqual([]);
  });

  it('a dry run answers the flows a request would install, and installs, records and audits nothing', async () => {
    const onSwitch = h.sw.flowCount();
    const audits = auditCount(h);
    const leases = h.app.book.leases().length;
    const events = h.store.view.lastEventId;
    const dry = await post(transfer(3), tok, '?dry_run=true');
    expect(dry.statusCode).toBe(200);
    const plan = dry.json();
    expect(plan).toMatchObject({
      dry_run: true,
      switch: 'dmz1',
      flow_count: 6,
      rate_mbps: 1000,
      flow_budget: { request: 8, switch: 12, switch_in_use: 0 },
    });
    expect(plan.flows).toHaveLength(6);
    for (const f of plan.flows)
      expect(f).toMatch(/^cookie=0xd1[0-9a-f]+, hard_timeout=600, send_flow_rem priority=40000,tcp,in_port=[15],.* actions=meter:\d+,output:[15]$/);
    // Nothing changed: the switch, the app, the state (leases, audit trail, events).
    expect(h.sw.flowCount()).toBe(onSwitch);
    expect(h.app.book.leases().length).toBe(leases);
    expect(h.app.book.active()).toEqual([]);
    expect(auditCount(h)).toBe(audits);
    expect(h.store.view.lastEventId).toBe(events);
    await h.store.commit([]);
    expect(Object.keys(h.store.data.leases)).toHaveLength(leases);

    // The real request installs exactly those flows (the same lease id and meter id: nothing was taken meanwhile).
    const real = await post(transfer(3));
    expect(real.statusCode).toBe(201);
    const installed = leaseFlowsOn(h).map((f) => formatFlowEntry(f));
    expect(installed.sort()).toEqual([...plan.flows].sort());
    expect(plan.flows[0]).toContain(`cookie=0x${ownerCookie(OWNER.LEASES, real.json().id).toString(16)},`);
  });

  it('a dry run makes every check a real request makes, and audits none of its refusals', async () => {
    const widePorts = await h.token({ ports: ['1-65535'] });
    const audits = auditCount(h);
    const over = await post(transfer(5), tok, '?dry_run=true');
    expect(over.statusCode).toBe(422);
    expect(over.json()).toMatchObject({ code: 'DMZ_REQUEST_FLOW_BUDGET', limit: { flows: 10, budget: 8 } });
    const denied = await post(transfer(1, { remote: '203.0.113.0/24' }), tok, '?dry_run=true');
    expect(denied.json()).toMatchObject({ code: 'DMZ_REMOTE_DENIED', constraint: 'remote' });
    const policy = await post(transfer(1, { local_ports: ['80'] }), widePorts, '?dry_run=true');
    expect(policy.json()).toMatchObject({ code: 'DMZ_POLICY_PORTS' });
    const down = await post(transfer(1, { dtn: 'dtn2' }), tok, '?dry_run=true');
    expect(down.json()).toMatchObject({ code: 'DMZ_SWITCH_DOWN' });
    expect(auditCount(h)).toBe(audits);

    expect((await post(transfer(4))).statusCode).toBe(201);
    const overlap = await post(transfer(1), tok, '?dry_run=true');
    expect(overlap.statusCode).toBe(409);
    expect(overlap.json()).toMatchObject({ code: 'DMZ_LEASE_OVERLAP' });
    const switchFull = await post(transfer(3, { remote: '198.51.100.0/24' }), tok, '?dry_run=true');
    expect(switchFull.json()).toMatchObject({ code: 'DMZ_SWITCH_FLOW_BUDGET', limit: { flows: 6, in_use: 8, budget: 12 } });

    // The scope is the route's: a read-only token may not dry-run a create either.
    const readOnly = await post(transfer(1), await h.token({ scopes: ['transfers:read'] }), '?dry_run=true');
    expect(readOnly.statusCode).toBe(403);
    expect(readOnly.json()).toMatchObject({ code: 'DMZ_SCOPE_DENIED' });
  });

  it('the rates of the transfers on a circuit never sum past its capacity; the 409 names the capacity left', async () => {
    const uncapped = await h.token({ maxRateMbps: undefined });
    const circuit = (remote: string, rate?: number) =>
      post(transferBody({ remote, path: 'circuit:esnet', local_ports: ['50000'], ...(rate !== undefined ? { rate_mbps: rate } : {}) }), uncapped);

    // No rate asked on a circuit with a capacity: the policy's default, enforced by a meter like any rate.
    const first = await circuit('192.0.2.1');
    expect(first.statusCode).toBe(201);
    expect(first.json().rate_mbps).toBe(200);
    const meter = h.sw.pipeline.meters.get(h.app.lease(first.json().id)!.meterId!);
    expect(meter?.bands[0]?.rate).toBe(200_000);
    expect((await circuit('192.0.2.2', 250)).statusCode).toBe(201);

    const full = await circuit('192.0.2.3', 100);
    expect(full.statusCode).toBe(409);
    expect(full.json()).toMatchObject({
      code: 'DMZ_CIRCUIT_CAPACITY',
      reason: 'circuit-capacity',
      limit: { circuit: 'esnet', capacity_mbps: 500, capacity_left_mbps: 50, rate_mbps: 100 },
    });
    expect(full.json().message).toContain('50 Mbit/s of its 500 left');
    const dry = await post(
      transferBody({ remote: '192.0.2.3', path: 'circuit:esnet', local_ports: ['50000'], rate_mbps: 100 }),
      uncapped,
      '?dry_run=true',
    );
    expect(dry.json()).toMatchObject({ code: 'DMZ_CIRCUIT_CAPACITY', limit: { capacity_left_mbps: 50 } });

    expect((await circuit('192.0.2.3', 50)).statusCode).toBe(201); // exactly full
    expect((await circuit('192.0.2.4', 1)).statusCode).toBe(409);
    // The routed path has no capacity to share: a rateless transfer there stays rateless.
    const routed = await post(transferBody({ remote: '192.0.2.5', local_ports: ['50000'] }), uncapped);
    expect(routed.statusCode).toBe(201);
    expect(routed.json().rate_mbps).toBeUndefined();

    await h.app.releaseLease(first.json().id);
    expect((await circuit('192.0.2.4', 200)).statusCode).toBe(201);
  });
});

describe('after a restart', () => {
  it('the restored transfers and blocks hold their share of the budgets and of the circuit', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'dmzgate-api-budgets-'));
    try {
      const h = await startHarness({ siteYaml: BUDGET_SITE, dataDir });
      const tok = await h.token({ maxRateMbps: undefined });
      const body = (remote: string, ports: number, over: Record<string, unknown> = {}) =>
        transferBody({ remote, local_ports: ['50000'], remote_ports: remotePorts(ports), ...over });
      const post = (hh: Harness, b: Record<string, unknown>, query = '') =>
        hh.api.inject({ method: 'POST', url: `/api/v1/transfers${query}`, headers: hh.auth(tok), payload: b });
      expect((await post(h, body('192.0.2.1', 3))).statusCode).toBe(201); // 6 flows
      expect((await post(h, body('192.0.2.2', 1, { path: 'circuit:esnet', rate_mbps: 400 }))).statusCode).toBe(201); // 2 flows
      await h.app.addBlock({ prefix: '198.51.100.9', reason: 'test' }); // 2 flows
      await h.store.commit([]);
      await h.close();

      const h2 = await startHarness({ siteYaml: BUDGET_SITE, dataDir });
      try {
        const dry = await post(h2, body('192.0.2.3', 1), '?dry_run=true');
        expect(dry.json()).toMatchObject({ flow_count: 2, flow_budget: { switch: 12, switch_in_use: 10 } });
        expect((await post(h2, body('192.0.2.3', 2))).json()).toMatchObject({ code: 'DMZ_SWITCH_FLOW_BUDGET', limit: { in_use: 10 } });
        const circuit = await post(h2, body('192.0.2.4', 1, { path: 'circuit:esnet', rate_mbps: 150 }));
        expect(circuit.json()).toMatchObject({ code: 'DMZ_CIRCUIT_CAPACITY', limit: { capacity_left_mbps: 100 } });
      } finally {
        await h2.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('the switch budget under a table size the switch reports', () => {
  let h: Harness;
  afterAll(async () => h?.close());

  it('is the configured budget capped by the reported size less the pipeline flows', async () => {
    const site = BUDGET_SITE.replace('lease-flow-budget: 8', 'lease-flow-budget: 100').replace('switch-flow-budget: 12', 'switch-flow-budget: 1000');
    const parsed = parseSiteConfig(site);
    const pipeline = baseFlows(parsed, parsed.switches[0]!).length;
    h = await startHarness({ siteYaml: site, reportTableSize: pipeline + 10 });
    // Read once the switch is up (OFPMP_TABLE_FEATURES), beside the connect-time reconcile.
    for (const stop = Date.now() + 5000; h.app.switchBudget(1n).budget !== 10 && Date.now() < stop;) await new Promise((r) => setTimeout(r, 5));
    expect(h.app.switchBudget(1n).budget).toBe(10);
    // A switch that reports nothing has the configured budget.
    expect(h.app.switchBudget(2n).budget).toBe(1000);
    const tok = await h.token();
    const post = (remote: string, n: number) =>
      h.api.inject({
        method: 'POST',
        url: '/api/v1/transfers',
        headers: h.auth(tok),
        payload: transferBody({ remote, local_ports: ['50000'], remote_ports: remotePorts(n) }),
      });
    expect((await post('192.0.2.1', 4)).statusCode).toBe(201);
    const r = await post('192.0.2.2', 2);
    expect(r.statusCode).toBe(422);
    expect(r.json()).toMatchObject({ code: 'DMZ_SWITCH_FLOW_BUDGET', limit: { flows: 4, in_use: 8, budget: 10 } });
  });
});
