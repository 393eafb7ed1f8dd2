// /api/v1/tokens (admin): what `dmzgate token ...` uses while the controller holds the state file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, transferBody, type Harness } from './harness.js';

describe('token routes', () => {
  let h: Harness;
  let admin: string;
  beforeAll(async () => {
    h = await startHarness();
    admin = await h.token({ project: 'ops', scopes: ['admin'] });
  });
  afterAll(async () => h.close());

  const spec = {
    project: 'astro',
    dtns: ['dtn1'],
    remotes: ['192.0.2.0/24'],
    ports: ['50000-51000'],
    paths: ['routed'],
    maxDurationSeconds: 600,
    scopes: ['transfers:write'],
  };

  it('creates a token that works at once, lists it without secrets, revokes it', async () => {
    const c = await h.api.inject({ method: 'POST', url: '/api/v1/tokens', headers: h.auth(admin), payload: spec });
    expect(c.statusCode).toBe(201);
    const { id, token } = c.json();
    expect(token).toMatch(new RegExp(`^dmzgate_${id}_`));
    expect((await h.api.inject({ method: 'POST', url: '/api/v1/transfers', headers: h.auth(token), payload: transferBody() })).statusCode).toBe(201);
    const list = await h.api.inject({ url: '/api/v1/tokens', headers: h.auth(admin) });
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(token.slice(-20));
    expect(list.json().find((t: { id: number }) => t.id === id)).toMatchObject({ project: 'astro', scopes: ['transfers:write'] });
    expect(list.json().every((t: Record<string, unknown>) => !('hash' in t))).toBe(true);
    const del = await h.api.inject({ method: 'DELETE', url: `/api/v1/tokens/${id}`, headers: h.auth(admin) });
    expect(del.json()).toEqual({ id, revoked: true });
    expect((await h.api.inject({ url: '/api/v1/transfers', headers: h.auth(token) })).json().code).toBe('DMZ_TOKEN_REVOKED');
    const none = await h.api.inject({ method: 'DELETE', url: '/api/v1/tokens/99999', headers: h.auth(admin) });
    expect(none.statusCode).toBe(404);
    expect(none.json().code).toBe('DMZ_TOKEN_NOT_FOUND');
  });

  it('only admin; bad specs are 400', async () => {
    const user = await h.token();
    const r = await h.api.inject({ method: 'POST', url: '/api/v1/tokens', headers: h.auth(user), payload: { ...spec, scopes: ['admin'] } });
    expect(r.statusCode).toBe(403);
    expect(r.json().code).toBe('DMZ_SCOPE_DENIED');
    for (const bad of [
      { ...spec, remotes: ['nope'] },
      { ...spec, scopes: ['root'] },
      { ...spec, hash: 'x' },
      { ...spec, maxDurationSeconds: 0 },
    ]) {
      const b = await h.api.inject({ method: 'POST', url: '/api/v1/tokens', headers: h.auth(admin), payload: bad });
      expect(b.statusCode, JSON.stringify(bad)).toBe(400);
    }
  });
});
