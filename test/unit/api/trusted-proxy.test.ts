// X-Forwarded-For names the client only when the peer is a trusted proxy: the failure limit (and the audit
// trail) then key real clients behind it; from anyone else the header is ignored, so that rotating it does not
// escape the limit. HTTP requests and the event stream's handshakes alike.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';
import { refusedHandshake } from './ws-client.js';

const LIMIT = { burst: 2, perMinute: 1 };

const guess = (h: Harness, remoteAddress: string, forwardedFor: string) =>
  h.api.inject({ url: '/api/v1/transfers', headers: { authorization: 'Bearer guess', 'x-forwarded-for': forwardedFor }, remoteAddress });

describe('with a trusted proxy', () => {
  let h: Harness;
  let url: string;
  beforeAll(async () => {
    h = await startHarness({ api: { authLimit: LIMIT, trustedProxies: ['10.0.0.0/8', '127.0.0.1'] } });
    await h.api.listen({ port: 0, host: '127.0.0.1' });
    url = `ws://127.0.0.1:${(h.api.server.address() as { port: number }).port}/api/v1/events`;
  });
  afterAll(async () => h.close());

  it('limits the client the proxy names, not the proxy', async () => {
    for (let i = 0; i < 2; i++) expect((await guess(h, '10.0.0.1', '203.0.113.5')).statusCode).toBe(401);
    expect((await guess(h, '10.0.0.1', '203.0.113.5')).statusCode).toBe(429);
    expect((await guess(h, '10.0.0.1', '203.0.113.6')).statusCode).toBe(401);
    // A client's own X-Forwarded-For before the proxy's hop is not believed: the proxy's hop counts.
    expect((await guess(h, '10.0.0.1', '198.51.100.1, 203.0.113.5')).statusCode).toBe(429);
  });

  it("the event stream's handshakes read it alike", async () => {
    const from = (client: string) => refusedHandshake(`${url}?token=guess`, { headers: { 'x-forwarded-for': client } });
    for (let i = 0; i < 2; i++) expect(await from('192.0.2.77')).toMatchObject({ status: 401 });
    expect(await from('192.0.2.77')).toMatchObject({ status: 429 });
    expect(await from('192.0.2.78')).toMatchObject({ status: 401 });
  });
});

describe('without a trusted proxy', () => {
  let h: Harness;
  let url: string;
  beforeAll(async () => {
    h = await startHarness({ api: { authLimit: LIMIT } });
    await h.api.listen({ port: 0, host: '127.0.0.1' });
    url = `ws://127.0.0.1:${(h.api.server.address() as { port: number }).port}/api/v1/events`;
  });
  afterAll(async () => h.close());

  it('X-Forwarded-For is ignored: a new one per guess does not escape the limit', async () => {
    for (let i = 0; i < 2; i++) expect((await guess(h, '10.0.0.1', `203.0.113.${i}`)).statusCode).toBe(401);
    expect((await guess(h, '10.0.0.1', '203.0.113.99')).statusCode).toBe(429);
  });

  it("nor in the event stream's handshakes", async () => {
    const from = (client: string) => refusedHandshake(`${url}?token=guess`, { headers: { 'x-forwarded-for': client } });
    for (let i = 0; i < 2; i++) expect(await from(`192.0.2.${i}`)).toMatchObject({ status: 401 });
    expect(await from('192.0.2.99')).toMatchObject({ status: 429 });
  });
});
