// /metrics behind a token of scope `metrics` (metricsAuth, `dmzgate controller --metrics-auth`); public otherwise.
// The docs and the OpenAPI document stay public either way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

describe('/metrics with metricsAuth', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ api: { metricsAuth: true } });
  });
  afterAll(async () => h.close());

  it('needs a token of scope metrics (or admin); a transfers token is 403', async () => {
    const none = await h.api.inject({ url: '/metrics' });
    expect(none.statusCode).toBe(401);
    expect(none.json().code).toBe('DMZ_TOKEN_MISSING');
    const transfers = await h.api.inject({ url: '/metrics', headers: h.auth(await h.token()) });
    expect(transfers.statusCode).toBe(403);
    expect(transfers.json().code).toBe('DMZ_SCOPE_DENIED');
    for (const scopes of [['metrics'], ['admin']] as const) {
      const r = await h.api.inject({ url: '/metrics', headers: h.auth(await h.token({ project: 'prometheus', scopes: [...scopes] })) });
      expect(r.statusCode, scopes[0]).toBe(200);
      expect(r.body).toContain('dmzgate_switches_connected 1');
    }
  });

  it('a metrics token reads nothing else', async () => {
    const t = await h.token({ project: 'prometheus', scopes: ['metrics'] });
    expect((await h.api.inject({ url: '/api/v1/transfers', headers: h.auth(t) })).statusCode).toBe(403);
    expect((await h.api.inject({ url: '/api/v1/audit', headers: h.auth(t) })).statusCode).toBe(403);
  });

  it('/docs, /openapi.json and /healthz stay public; the document says /metrics needs the bearer', async () => {
    expect((await h.api.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await h.api.inject({ url: '/docs/' })).statusCode).toBe(200);
    const doc = await h.api.inject({ url: '/openapi.json' });
    expect(doc.statusCode).toBe(200);
    expect(doc.json().paths['/metrics'].get.security).toEqual([{ bearer: [] }]);
  });
});

describe('/metrics without metricsAuth', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  it('is public', async () => {
    expect((await h.api.inject({ url: '/metrics' })).statusCode).toBe(200);
  });
});
