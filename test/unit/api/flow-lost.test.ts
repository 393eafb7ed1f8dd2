// A switch that reports flows removed while they should still be there (forged, or lost by the switch): the
// controller re-installs them and raises an alarm (event, metric), and never forgets them, so that a reconcile
// does not lift a block and the API never calls active what the switch does not hold. Also: a block of any
// duration the API takes lasts that long, and nothing kept per lease outlives its lease.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWNER } from '../../../apps/dmz/owners.js';
import { cookieId, ownerIdOf } from '../../../controller/cookie.js';
import { OFPRR } from '../../../controller/openflow/index.js';
import type { FlowEntry } from '../../../controller/flow-entry.js';
import { addFlowMsg, deleteFlowMsg } from '../../../controller/reconcile.js';
import { LiveCounters } from '../../../api/live-counters.js';
import type { DmzEvent } from '../../../apps/dmz/dmz-app-shapes.js';
import { startHarness, transferBody, type Harness } from './harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('flow-removed for flows that should still exist', () => {
  let h: Harness;
  let ids: string;
  let admin: string;
  beforeAll(async () => {
    h = await startHarness();
    ids = await h.token({ project: 'ids', scopes: ['blocks:write'], remotes: ['0.0.0.0/0', '::/0'] });
    admin = await h.token({ project: 'ops', scopes: ['admin'], remotes: [] });
  });
  afterAll(async () => h.close());

  const owned = (owner: number, id: number) => h.sw.flows().filter((f) => ownerIdOf(f.cookie) === owner && cookieId(f.cookie) === id);
  /** What a switch (or a rogue one on its connection) would say: this flow is gone. */
  const forge = (f: FlowEntry, reason: number) =>
    h.sw.send({
      type: 'flowRemoved',
      xid: 0,
      cookie: f.cookie,
      priority: f.priority,
      reason,
      tableId: f.tableId,
      durationSec: 5,
      durationNsec: 0,
      idleTimeout: f.idleTimeout,
      hardTimeout: f.hardTimeout,
      packetCount: 0n,
      byteCount: 0n,
      match: [...f.match],
    });
  const wanPacket = (src: string) =>
    h.sw.injectPacket(1, Buffer.alloc(100), { eth_type: 0x0800, ipv4_src: src, ipv4_dst: '10.10.1.10', ip_proto: 6, tcp_src: 33333, tcp_dst: 50050 });
  const metric = async (): Promise<string> => (await h.api.inject({ url: '/metrics', headers: h.auth(admin) })).body;

  it('a forged hard timeout or delete of a due block is answered by re-installing it, with an alarm', async () => {
    const lost: DmzEvent[] = [];
    h.app.on('event', (e) => {
      if (e.type === 'flow.lost') lost.push(e);
    });
    const b = (
      await h.api.inject({
        method: 'POST',
        url: '/api/v1/blocks',
        headers: h.auth(ids),
        payload: { prefix: '192.0.2.66', duration: 600, reason: 'scan' },
      })
    ).json();
    const flows = owned(OWNER.BLOCKS, b.id);
    expect(flows).toHaveLength(2);
    expect(wanPacket('192.0.2.66').outputs).toEqual([]);
    forge(flows[0]!, OFPRR.HARD_TIMEOUT); // 600 s early
    forge(flows[1]!, OFPRR.DELETE); // we sent no delete
    await sleep(100);
    // A full reconcile after the reports (what a reconnect or a reload does) keeps the drops on the switch.
    await h.flows.reconcile(1n);
    expect(owned(OWNER.BLOCKS, b.id)).toHaveLength(2);
    expect(wanPacket('192.0.2.66').outputs).toEqual([]);
    expect(h.flows.desiredFlows(1n, 'dmz-blocks').filter((f) => Number(f.cookie & 0xffffn) === b.id)).toHaveLength(2);
    const list = (await h.api.inject({ url: '/api/v1/blocks?state=active', headers: h.auth(ids) })).json();
    expect(list.blocks.map((x: { id: number }) => x.id)).toContain(b.id);
    expect(lost.map((e) => e.type === 'flow.lost' && [e.owner, e.block, e.reason])).toEqual([
      ['dmz-blocks', b.id, expect.stringMatching(/hard timeout 60\d s before its time/)],
      ['dmz-blocks', b.id, 'deleted, but not by us'],
    ]);
    expect(await metric()).toMatch(/dmzgate_flows_lost_total\{dpid="0000000000000001",owner="dmz-blocks"\} 2/);
    expect(h.store.data.events.filter((e) => e.type === 'flow.lost').map((e) => e.data)).toEqual([
      expect.objectContaining({ block: b.id, owner: 'dmz-blocks', reinstalled: true }),
      expect.objectContaining({ block: b.id, owner: 'dmz-blocks', reinstalled: true }),
    ]);
  });

  it('a block that really was lost by the switch comes back at once, not at the next reconcile', async () => {
    const b = (
      await h.api.inject({ method: 'POST', url: '/api/v1/blocks', headers: h.auth(ids), payload: { prefix: '192.0.2.67', reason: 'scan' } })
    ).json();
    const [f] = owned(OWNER.BLOCKS, b.id);
    // The switch loses it (a delete that did not come from us, reported as such), then reports it timed out,
    // which a block without end cannot.
    h.sw.pipeline.flowMod(deleteFlowMsg(f!, f!.cookie));
    expect(owned(OWNER.BLOCKS, b.id)).toHaveLength(1);
    await sleep(100);
    expect(owned(OWNER.BLOCKS, b.id)).toHaveLength(2);
    forge(f!, OFPRR.HARD_TIMEOUT);
    await sleep(100);
    expect(owned(OWNER.BLOCKS, b.id)).toHaveLength(2);
    expect(wanPacket('192.0.2.67').outputs).toEqual([]);
  });

  it('a forged hard timeout of an active lease keeps it on the switch, active, with its counts', async () => {
    const t = await h.token();
    const x = (
      await h.api.inject({
        method: 'POST',
        url: '/api/v1/transfers',
        headers: h.auth(t),
        payload: transferBody({ remote: '198.51.100.0/24', duration: 600 }),
      })
    ).json();
    const flows = owned(OWNER.LEASES, x.id);
    expect(flows.length).toBeGreaterThan(0);
    for (const f of flows)
      h.sw.send({
        type: 'flowRemoved',
        xid: 0,
        cookie: f.cookie,
        priority: f.priority,
        reason: OFPRR.HARD_TIMEOUT,
        tableId: f.tableId,
        durationSec: 600,
        durationNsec: 0,
        idleTimeout: 0,
        hardTimeout: f.hardTimeout,
        packetCount: 10n ** 9n,
        byteCount: 10n ** 12n,
        match: [...f.match],
      });
    await sleep(100);
    await h.flows.reconcile(1n);
    expect(owned(OWNER.LEASES, x.id)).toHaveLength(flows.length);
    expect(h.app.lease(x.id)).toMatchObject({ state: 'active', counters: { bytesIn: 0, bytesOut: 0 } });
    const got = (await h.api.inject({ url: `/api/v1/transfers/${x.id}`, headers: h.auth(t) })).json();
    expect(got.state).toBe('active');
    // Released as usual afterwards: its flows go, and it closes.
    expect((await h.api.inject({ method: 'DELETE', url: `/api/v1/transfers/${x.id}`, headers: h.auth(t) })).statusCode).toBe(200);
    expect(owned(OWNER.LEASES, x.id)).toHaveLength(0);
  });

  it('a block of any duration the API takes (a year) stays until its end', async () => {
    for (const duration of [2_147_484, 31_536_000]) {
      const b = (
        await h.api.inject({
          method: 'POST',
          url: '/api/v1/blocks',
          headers: h.auth(ids),
          payload: { prefix: '192.0.2.68', protocol: 'udp', ports: [String(duration % 60000)], duration, reason: 'long' },
        })
      ).json();
      expect(b.state).toBe('active');
      await sleep(50);
      expect(h.app.book.blocks.get(b.id)!.state).toBe('active');
      expect(owned(OWNER.BLOCKS, b.id).length).toBeGreaterThan(0);
    }
  });
});

describe('a lost flow the switch refuses back', () => {
  let h: Harness;
  const MAX = 300;
  beforeAll(async () => {
    h = await startHarness({ maxFlowsPerTable: MAX });
  });
  afterAll(async () => h.close());

  it('revokes its lease (the API does not call active what the switch does not hold)', async () => {
    const t = await h.token();
    const x = (await h.api.inject({ method: 'POST', url: '/api/v1/transfers', headers: h.auth(t), payload: transferBody() })).json();
    const mine = () => h.sw.flows().filter((f) => ownerIdOf(f.cookie) === OWNER.LEASES && cookieId(f.cookie) === x.id);
    const [lostFlow] = mine();
    const filler = (i: number) =>
      addFlowMsg({
        tableId: 0,
        priority: 1 + i,
        match: [{ field: 'in_port', value: 7 }],
        instructions: [],
        cookie: 0n,
        idleTimeout: 0,
        hardTimeout: 0,
        flags: 0,
      });
    let i = 0;
    while (h.sw.flowCount(0) < MAX) h.sw.pipeline.flowMod(filler(i++));
    // The switch drops one of the lease's flows (and says so), and its table fills up before the flow comes back.
    h.sw.pipeline.flowMod(deleteFlowMsg(lostFlow!, lostFlow!.cookie));
    h.sw.pipeline.flowMod(filler(i));
    for (let n = 0; n < 40 && h.app.lease(x.id)!.state === 'active'; n++) await sleep(50);
    expect(h.app.lease(x.id)).toMatchObject({ state: 'revoked', closeReason: expect.stringMatching(/refused it back.*TABLE_FULL/) as string });
    expect(mine()).toHaveLength(0);
    expect((await h.api.inject({ url: `/api/v1/transfers/${x.id}`, headers: h.auth(t) })).json().state).toBe('revoked');
  });
});

describe('per-lease state', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  it('returns to its baseline once churned leases closed (app, book, live counters)', async () => {
    const live = new LiveCounters(h.app, () => true, 0);
    const t = await h.token({ maxRateMbps: 1000 });
    const churn = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const r = await h.api.inject({
          method: 'POST',
          url: '/api/v1/transfers',
          headers: h.auth(t),
          payload: transferBody({ remote: `198.51.100.${i % 200}`, rate_mbps: i % 2 ? 100 : undefined }),
        });
        expect(r.statusCode).toBe(201);
        const id = r.json().id as number;
        await live.refresh(h.app.lease(id)!);
        await h.app.pollCounters();
        expect((await h.api.inject({ method: 'DELETE', url: `/api/v1/transfers/${id}`, headers: h.auth(t) })).statusCode).toBe(200);
      }
    };
    await churn(5);
    const sizes = (): Record<string, number> => ({ ...h.app.internalSizes(), live: live.size, desired: h.flows.desiredFlows(1n).length });
    const base = sizes();
    await churn(60);
    const after = sizes();
    // The book keeps closed records up to a bound (KEEP_CLOSED): those grow by the churn, nothing else does.
    expect({ ...after, leases: 0, closedLeases: 0 }).toEqual({ ...base, leases: 0, closedLeases: 0 });
    expect(after['flowCounters']).toBe(0);
    expect(after.live).toBe(0);
    live.detach();
  });
});
