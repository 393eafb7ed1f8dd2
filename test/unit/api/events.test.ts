// The WebSocket event stream on a listening server: the three ways to authenticate, what each token sees,
// events in order with consecutive ids, written to the state file before they are sent, resumed after a
// reconnect (`since=`, Last-Event-ID) and across a controller restart, gaps reported, refused handshakes with
// the API's error bodies, and streams ended when their token is revoked.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, readState, revokeToken } from '../../../api/index.js';
import { startHarness, transferBody, WIDE, type Harness } from './harness.js';
import { connectEvents, refusedHandshake, type EventClient, type Msg } from './ws-client.js';
import { join } from 'node:path';

async function listen(h: Harness): Promise<string> {
  await h.api.listen({ port: 0, host: '127.0.0.1' });
  const addr = h.api.server.address() as { port: number };
  return `ws://127.0.0.1:${addr.port}/api/v1/events`;
}

const types = (c: EventClient) => c.events.map((e) => e.type);

describe('event stream', () => {
  let h: Harness;
  let url: string;
  let tok: string;
  let admin: string;
  let ids: string;
  let bio: string;
  beforeAll(async () => {
    h = await startHarness();
    url = await listen(h);
    tok = await h.token();
    admin = await h.token({ project: 'ops', scopes: ['admin'] });
    ids = await h.token({ project: 'ids', scopes: ['blocks:write'], remotes: ['0.0.0.0/0'] });
    bio = await h.token({ project: 'bio', scopes: ['transfers:read'] });
  });
  afterAll(async () => h.close());

  const api = (method: string, path: string, token: string, payload?: object) =>
    h.api.inject({ method: method as 'GET', url: path, headers: h.auth(token), ...(payload ? { payload } : {}) });

  it('authenticates by header, subprotocol or query; each token sees what it may; ids are consecutive', async () => {
    const astro = await connectEvents(url, { headers: h.auth(tok) });
    const ops = await connectEvents(url, { protocols: ['dmzgate.v1', `bearer.${admin}`] });
    expect(ops.ws.protocol).toBe('dmzgate.v1'); // the token is never echoed
    const zeek = await connectEvents(`${url}?token=${encodeURIComponent(ids)}`);
    const other = await connectEvents(url, { headers: h.auth(bio) });
    expect(astro.messages[0]).toMatchObject({ control: 'hello', last_event_id: h.store.view.lastEventId });

    const t = (await api('POST', '/api/v1/transfers', tok, transferBody())).json();
    await astro.until((c) => c.events.length === 1);
    // Sent only after the write: the state on disk (document and journal) already has it.
    const disk = await readState(h.dataDir);
    expect(disk.events.map((e) => e.id)).toContain(astro.events[0]!.id);
    expect(astro.events[0]).toMatchObject({ type: 'lease.created', transfer: { id: t.id, project: 'astro', state: 'active' } });
    expect(new Date(astro.events[0]!.at as string).toISOString()).toBe(astro.events[0]!.at);

    expect((await api('PATCH', `/api/v1/transfers/${t.id}`, tok, { duration: 900 })).statusCode).toBe(200);
    const b = (await api('POST', '/api/v1/blocks', ids, { prefix: '203.0.113.66', reason: 'scanner' })).json();
    expect((await api('DELETE', `/api/v1/transfers/${t.id}`, tok)).statusCode).toBe(200);
    await h.sw.disconnect();
    await ops.until((c) => c.events.some((e) => e.type === 'switch.down'));
    const up = new Promise<void>((resolve) => h.flows.once('reconciled', () => resolve()));
    await h.sw.connect();
    await up;
    await ops.until((c) => c.events.some((e) => e.type === 'switch.up'));
    await astro.until((c) => c.events.some((e) => e.type === 'switch.up'));
    await zeek.until((c) => c.events.some((e) => e.type === 'switch.up'));
    await other.until((c) => c.events.some((e) => e.type === 'switch.up'));

    expect(types(ops)).toEqual(['lease.created', 'lease.extended', 'block.created', 'lease.closed', 'switch.down', 'switch.up']);
    const idsSeen = ops.events.map((e) => e.id!);
    expect(idsSeen).toEqual(idsSeen.map((_, i) => idsSeen[0]! + i));
    expect(types(astro)).toEqual(['lease.created', 'lease.extended', 'lease.closed', 'switch.down', 'switch.up']);
    expect(types(zeek)).toEqual(['block.created', 'switch.down', 'switch.up']);
    expect(zeek.events[0]!.block).toMatchObject({ id: b.id });
    expect(types(other)).toEqual(['switch.down', 'switch.up']); // another project's lease events are not its business
    expect(ops.events.find((e) => e.type === 'switch.down')!.switch).toMatchObject({ dpid: '0000000000000001' });
    expect(astro.events.find((e) => e.type === 'lease.closed')!.transfer).toMatchObject({ state: 'released' });
    for (const c of [astro, ops, zeek, other]) await c.close();
  });

  it('a client that reconnects with since= (or Last-Event-ID) gets what it missed, in order, then live events', async () => {
    const c1 = await connectEvents(url, { headers: h.auth(tok) });
    const t = (await api('POST', '/api/v1/transfers', tok, transferBody())).json();
    await c1.until((c) => c.events.length === 1);
    const seen = c1.events[0]!.id!;
    await c1.close();
    // Missed while away:
    await api('PATCH', `/api/v1/transfers/${t.id}`, tok, { duration: 700 });
    await api('DELETE', `/api/v1/transfers/${t.id}`, tok);
    const c2 = await connectEvents(`${url}?since=${seen}`, { headers: h.auth(tok) });
    await c2.until((c) => c.events.length === 2);
    expect(c2.events.map((e) => [e.type, e.transfer?.id])).toEqual([
      ['lease.extended', t.id],
      ['lease.closed', t.id],
    ]);
    expect(c2.events[0]!.id).toBeGreaterThan(seen);
    expect(c2.events[1]!.id).toBeGreaterThan(c2.events[0]!.id!);
    // Then live ones, after the replayed ones.
    const t2 = (await api('POST', '/api/v1/transfers', tok, transferBody())).json();
    await c2.until((c) => c.events.length === 3);
    expect(c2.events[2]).toMatchObject({ type: 'lease.created', transfer: { id: t2.id } });
    const c3 = await connectEvents(url, { headers: { ...h.auth(tok), 'last-event-id': String(seen) } });
    await c3.until((c) => c.events.length === 3);
    expect(c3.events.map((e) => e.id)).toEqual(c2.events.map((e) => e.id));
    await api('DELETE', `/api/v1/transfers/${t2.id}`, tok);
    await c2.close();
    await c3.close();
  });

  it("refused handshakes answer with the API's error bodies", async () => {
    expect(await refusedHandshake(url)).toMatchObject({ status: 401, body: { code: 'DMZ_TOKEN_MISSING' } });
    const forged = await refusedHandshake(url, { headers: { authorization: `Bearer ${tok.slice(0, -2)}xx` } });
    expect(forged).toMatchObject({ status: 401, body: { code: 'DMZ_TOKEN_INVALID' } });
    expect(forged.headers['www-authenticate']).toContain('invalid_token');
    expect(await refusedHandshake(`${url}?token=nonsense`)).toMatchObject({ status: 401, body: { code: 'DMZ_TOKEN_INVALID' } });
    expect(await refusedHandshake(url, { protocols: ['dmzgate.v1', 'bearer.dmzgate_1_AAAA'] })).toMatchObject({ status: 401 });
    expect(await refusedHandshake(`${url}?since=abc`, { headers: h.auth(tok) })).toMatchObject({ status: 400, body: { code: 'DMZ_INVALID_FIELD' } });
    expect(await refusedHandshake(`${url}?since=1&admin=1`, { headers: h.auth(tok) })).toMatchObject({ status: 400 });
    expect(await refusedHandshake(url, { headers: { ...h.auth(tok), 'last-event-id': '-3' } })).toMatchObject({ status: 400 });
    expect(await refusedHandshake(url.replace('/events', '/nope'), { headers: h.auth(tok) })).toMatchObject({
      status: 404,
      body: { code: 'DMZ_ROUTE_NOT_FOUND' },
    });
    const expired = (await createToken(h.store, { ...WIDE, expiresAt: Date.now() - 5 })).token;
    expect(await refusedHandshake(url, { headers: h.auth(expired) })).toMatchObject({ status: 401, body: { code: 'DMZ_TOKEN_EXPIRED' } });
  });

  it('a stream ends (4401) when its token is revoked', async () => {
    const { id, token } = await createToken(h.store, { ...WIDE, project: 'tmp' });
    const c = await connectEvents(url, { headers: h.auth(token) });
    await revokeToken(h.store, id);
    // The next event it would be sent ends it (the periodic sweep would within 5 s anyway).
    await h.sw.disconnect();
    await c.until((x) => x.closed !== undefined);
    expect(c.closed).toEqual({ code: 4401, reason: 'DMZ_TOKEN_REVOKED' });
    const up = new Promise<void>((resolve) => h.flows.once('reconciled', () => resolve()));
    await h.sw.connect();
    await up;
  });
});

describe('event stream across restarts and pruning', () => {
  it('ids continue after a restart; a client resumes across it; a too-old since gets a gap notice', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'dmzgate-api-restart-'));
    const h1 = await startHarness({ dataDir, store: { maxEvents: 6 } });
    const url1 = await listen(h1);
    const tok = await h1.token();
    const c = await connectEvents(url1, { headers: h1.auth(tok) });
    const t = (await h1.api.inject({ method: 'POST', url: '/api/v1/transfers', headers: h1.auth(tok), payload: transferBody() })).json();
    await c.until((x) => x.events.length === 1);
    const seen = c.events[0]!.id!;
    await c.close();
    // The controller goes away (its switch goes down with it); the lease stays in the state.
    await h1.close().catch(() => undefined);

    const h2 = await startHarness({ dataDir, store: { maxEvents: 6 } });
    try {
      expect(h2.app.lease(t.id)).toMatchObject({ state: 'active' });
      const url2 = await listen(h2);
      // The restored lease is released: its events get ids after everything before the restart.
      const del = await h2.api.inject({ method: 'DELETE', url: `/api/v1/transfers/${t.id}`, headers: h2.auth(tok) });
      expect(del.statusCode).toBe(200);
      const c2 = await connectEvents(`${url2}?since=${seen}`, { headers: h2.auth(tok) });
      await c2.until((x) => x.events.some((e: Msg) => e.type === 'lease.closed'));
      const evs = c2.events;
      expect(evs[0]!.id).toBe(seen + 1);
      expect(evs.map((e) => e.id)).toEqual(evs.map((_, i) => seen + 1 + i));
      expect(evs.map((e) => e.type)).toContain('switch.up');
      expect(evs.at(-1)).toMatchObject({ type: 'lease.closed', transfer: { id: t.id } });
      await c2.close();
      // More events than the store keeps: a client far behind is told it missed some.
      for (let i = 0; i < 4; i++) {
        const x = (await h2.api.inject({ method: 'POST', url: '/api/v1/transfers', headers: h2.auth(tok), payload: transferBody() })).json();
        await h2.api.inject({ method: 'DELETE', url: `/api/v1/transfers/${x.id}`, headers: h2.auth(tok) });
      }
      await h2.store.commit([]);
      const c3 = await connectEvents(`${url2}?since=${seen}`, { headers: h2.auth(tok) });
      await c3.until((x) => x.events.length > 0);
      const gap = c3.messages.find((m) => m.control === 'gap');
      expect(gap).toMatchObject({ since: seen, oldest: h2.store.view.oldestEventId });
      expect(c3.events[0]!.id).toBe(h2.store.view.oldestEventId);
      await c3.close();
    } finally {
      await h2.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('event stream handshakes and the failure limit', () => {
  let h: Harness;
  let url: string;
  beforeAll(async () => {
    h = await startHarness({ api: { authLimit: { burst: 2, perMinute: 1 } } });
    url = await listen(h);
  });
  afterAll(async () => h.close());

  it('an address over the limit gets 429 without a valid token, and its valid token still subscribes', async () => {
    const tok = await h.token();
    for (let i = 0; i < 2; i++) expect(await refusedHandshake(`${url}?token=guess${i}`)).toMatchObject({ status: 401 });
    const limited = await refusedHandshake(`${url}?token=guess`);
    expect(limited).toMatchObject({ status: 429, body: { code: 'DMZ_AUTH_RATE_LIMITED' } });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    const c = await connectEvents(url, { headers: h.auth(tok) });
    await c.close();
    expect(h.store.data.audit.some((a) => a.action === 'auth')).toBe(false);
  });
});
