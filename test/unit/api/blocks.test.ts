// /api/v1/blocks against the switch emulator: drops installed before the answer, winning over a transfer;
// scopes and prefix constraints; expiry; removal.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWNER } from '../../../apps/dmz/owners.js';
import { cookieId, ownerIdOf } from '../../../controller/cookie.js';
import { startHarness, transferBody, type Harness } from './harness.js';

describe('blocks', () => {
  let h: Harness;
  let ids: string;
  let admin: string;
  beforeAll(async () => {
    h = await startHarness();
    ids = await h.token({ project: 'ids', scopes: ['blocks:write'], remotes: ['0.0.0.0/0', '::/0'] });
    admin = await h.token({ project: 'ops', scopes: ['admin'], remotes: [] });
  });
  afterAll(async () => h.close());

  const blockFlows = (id?: number) =>
    h.sw.flows().filter((f) => ownerIdOf(f.cookie) === OWNER.BLOCKS && (id === undefined || cookieId(f.cookie) === id));
  const post = (payload: Record<string, unknown>, token = ids) =>
    h.api.inject({ method: 'POST', url: '/api/v1/blocks', headers: h.auth(token), payload });
  const wanPacket = () =>
    h.sw.injectPacket(1, Buffer.alloc(100), {
      eth_type: 0x0800,
      ipv4_src: '192.0.2.7',
      ipv4_dst: '10.10.1.10',
      ip_proto: 6,
      tcp_src: 33333,
      tcp_dst: 50050,
    });

  it('installs a drop that wins over an active transfer, answered after the switch has it', async () => {
    const xfer = await h.api.inject({ method: 'POST', url: '/api/v1/transfers', headers: h.auth(await h.token()), payload: transferBody() });
    expect(xfer.statusCode).toBe(201);
    expect(wanPacket().outputs).toEqual([5]);
    const r = await post({ prefix: '192.0.2.7', reason: 'zeek: scan detected' });
    expect(r.statusCode).toBe(201);
    const b = r.json();
    expect(b).toMatchObject({ prefix: '192.0.2.7/32', reason: 'zeek: scan detected', state: 'active' });
    expect(b.end).toBeUndefined();
    expect(blockFlows(b.id).length).toBe(2); // as source and as destination
    expect(wanPacket().outputs).toEqual([]);
    expect(h.store.data.blocks[b.id]).toMatchObject({ state: 'active' });
    expect(h.store.data.audit.at(-1)).toMatchObject({ action: 'block.create', decision: 'granted', block: b.id, project: 'ids' });

    const list = (await h.api.inject({ url: '/api/v1/blocks?state=active', headers: h.auth(ids) })).json();
    expect(list.blocks.map((x: { id: number }) => x.id)).toContain(b.id);

    const del = await h.api.inject({ method: 'DELETE', url: `/api/v1/blocks/${b.id}`, headers: h.auth(ids) });
    expect(del.statusCode).toBe(200);
    expect(del.json().state).toBe('removed');
    expect(blockFlows(b.id)).toHaveLength(0);
    expect(wanPacket().outputs).toEqual([5]);
    const again = await h.api.inject({ method: 'DELETE', url: `/api/v1/blocks/${b.id}`, headers: h.auth(ids) });
    expect(again.statusCode).toBe(404);
    expect(again.json().code).toBe('DMZ_BLOCK_NOT_FOUND');
  });

  it("two blocks of the same prefix: removing one leaves the other's drop on the switch", async () => {
    const first = (await post({ prefix: '192.0.2.7', reason: 'zeek: scan' })).json();
    const second = await post({ prefix: '192.0.2.7', reason: 'operator: keep out' });
    expect(second.statusCode).toBe(201);
    expect(wanPacket().outputs).toEqual([]);
    expect((await h.api.inject({ method: 'DELETE', url: `/api/v1/blocks/${first.id}`, headers: h.auth(ids) })).statusCode).toBe(200);
    expect(wanPacket().outputs).toEqual([]);
    expect(blockFlows().length).toBeGreaterThan(0);
    expect((await h.api.inject({ method: 'DELETE', url: `/api/v1/blocks/${second.json().id}`, headers: h.auth(ids) })).statusCode).toBe(200);
    expect(blockFlows()).toHaveLength(0);
    expect(wanPacket().outputs).toEqual([5]);
  });

  it('two blocks of the same prefix survive a restart: the controller starts, and the switch drops the prefix', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'dmzgate-blocks-restart-'));
    const h1 = await startHarness({ dataDir });
    const tok = await h1.token({ project: 'ids', scopes: ['blocks:write'], remotes: ['0.0.0.0/0'] });
    for (const reason of ['zeek: scan', 'operator: keep out']) {
      const r = await h1.api.inject({ method: 'POST', url: '/api/v1/blocks', headers: h1.auth(tok), payload: { prefix: '192.0.2.9', reason } });
      expect(r.statusCode).toBe(201);
    }
    await h1.close();
    const h2 = await startHarness({ dataDir });
    try {
      const packet = () =>
        h2.sw.injectPacket(1, Buffer.alloc(100), {
          eth_type: 0x0800,
          ipv4_src: '192.0.2.9',
          ipv4_dst: '10.10.1.10',
          ip_proto: 6,
          tcp_src: 33333,
          tcp_dst: 50050,
        });
      expect(packet().outputs).toEqual([]);
    } finally {
      await h2.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('takes a protocol and ports, and a duration after which it expires by itself', async () => {
    const r = await post({ prefix: '198.51.100.0/24', protocol: 'tcp', ports: ['22'], duration: 1, reason: 'ssh brute force' });
    expect(r.statusCode).toBe(201);
    const b = r.json();
    expect(b).toMatchObject({ protocol: 'tcp', ports: ['22'] });
    expect(blockFlows(b.id).length).toBeGreaterThan(0);
    expect(blockFlows(b.id).every((f) => f.hardTimeout === 1)).toBe(true);
    await new Promise((res) => setTimeout(res, 1500));
    expect(h.app.book.blocks.get(b.id)!.state).toBe('expired');
    expect(blockFlows(b.id)).toHaveLength(0);
    expect(h.store.data.audit.some((a) => a.actor === 'system' && a.action === 'block.expired' && a.block === b.id)).toBe(true);
  });

  it("refuses without blocks:write (403 scope) and outside the token's prefixes (403 remote); admin blocks anything", async () => {
    const xfer = await h.token();
    const a = await post({ prefix: '192.0.2.1', reason: 'x' }, xfer);
    expect(a.statusCode).toBe(403);
    expect(a.json()).toMatchObject({ code: 'DMZ_SCOPE_DENIED', constraint: 'scope' });
    const narrow = await h.token({ project: 'ids2', scopes: ['blocks:write'], remotes: ['203.0.113.0/24'] });
    const b = await post({ prefix: '192.0.2.0/24', reason: 'x' }, narrow);
    expect(b.statusCode).toBe(403);
    expect(b.json()).toMatchObject({ code: 'DMZ_REMOTE_DENIED', constraint: 'remote' });
    const c = await post({ prefix: '10.10.1.30', reason: 'quarantine a LAN host' }, admin);
    // A token of the same project whose prefixes do not hold it cannot remove it either (403 remote).
    const sameNarrow = await h.token({ project: 'ops', scopes: ['blocks:write'], remotes: ['203.0.113.0/24'] });
    const e = await h.api.inject({ method: 'DELETE', url: `/api/v1/blocks/${c.json().id}`, headers: h.auth(sameNarrow) });
    expect(e.json()).toMatchObject({ code: 'DMZ_REMOTE_DENIED' });
    expect(c.statusCode).toBe(201);
    // The narrow token cannot remove it (another project's: not found).
    const d = await h.api.inject({ method: 'DELETE', url: `/api/v1/blocks/${c.json().id}`, headers: h.auth(narrow) });
    expect(d.statusCode).toBe(404);
    expect((await h.api.inject({ method: 'DELETE', url: `/api/v1/blocks/${c.json().id}`, headers: h.auth(admin) })).statusCode).toBe(200);
  });

  it('validates: ports without protocol, both duration and end, an end in the past, bad prefixes, no reason', async () => {
    const cases: [Record<string, unknown>, number, string][] = [
      [{ prefix: '192.0.2.1', ports: ['22'], reason: 'x' }, 400, 'DMZ_INVALID_FIELD'],
      [{ prefix: '192.0.2.1', duration: 5, end: new Date(Date.now() + 9e5).toISOString(), reason: 'x' }, 400, 'DMZ_INVALID_FIELD'],
      [{ prefix: '192.0.2.1', end: new Date(Date.now() - 1000).toISOString(), reason: 'x' }, 422, 'DMZ_END_IN_PAST'],
      [{ prefix: '192.0.2.1/40', reason: 'x' }, 400, 'DMZ_INVALID_FIELD'],
      [{ prefix: 'evil.example.com', reason: 'x' }, 400, 'DMZ_INVALID_FIELD'],
      [{ prefix: '192.0.2.1' }, 400, 'DMZ_INVALID_FIELD'],
      [{ prefix: '192.0.2.1', reason: '' }, 400, 'DMZ_INVALID_FIELD'],
      [{ prefix: '192.0.2.1', reason: 'x'.repeat(201) }, 400, 'DMZ_INVALID_FIELD'],
      [{ prefix: '192.0.2.1', reason: 'x', action: 'allow' }, 400, 'DMZ_UNKNOWN_FIELD'],
    ];
    const before = h.sw.flowCount();
    for (const [body, status, code] of cases) {
      const r = await post(body);
      expect(r.statusCode, JSON.stringify(body)).toBe(status);
      expect(r.json().code).toBe(code);
    }
    expect(h.sw.flowCount()).toBe(before);
  });

  it('a block on an IPv6 prefix', async () => {
    const r = await post({ prefix: '2001:db8:bad::/48', reason: 'ids' });
    expect(r.statusCode).toBe(201);
    expect(r.json().prefix).toBe('2001:db8:bad::/48');
    expect(blockFlows(r.json().id).length).toBe(2);
  });
});
