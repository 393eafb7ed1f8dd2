// Hostile input: oversized bodies, wrong types, unknown fields, malformed JSON, prototype pollution, injection
// strings; missing, malformed, forged, expired, revoked and wrong-scope tokens; brute force (429, Retry-After).
// Every refusal carries a stable code, and nothing reaches the switch or the state.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeToken, createToken } from '../../../api/index.js';
import { startHarness, transferBody, WIDE, type Harness } from './harness.js';

describe('hostile requests', () => {
  let h: Harness;
  let tok: string;
  let flowsBefore: number;
  beforeAll(async () => {
    h = await startHarness();
    tok = await h.token();
    flowsBefore = h.sw.flowCount();
  });
  afterAll(async () => {
    // None of it installed anything.
    expect(h.sw.flowCount()).toBe(flowsBefore);
    expect(h.app.book.leases().length).toBe(0);
    await h.close();
  });

  const post = (payload: unknown, headers: Record<string, string> = {}) =>
    h.api.inject({ method: 'POST', url: '/api/v1/transfers', headers: { ...h.auth(tok), ...headers }, payload: payload as string });

  it('an oversized body is 413 DMZ_BODY_TOO_LARGE', async () => {
    const r = await post(transferBody({ dtn: 'x'.repeat(20_000) }));
    expect(r.statusCode).toBe(413);
    expect(r.json()).toMatchObject({ code: 'DMZ_BODY_TOO_LARGE', status: 413 });
  });

  it('without a token, even an oversized body is a 401 (authentication comes before the body is read)', async () => {
    const r = await h.api.inject({ method: 'POST', url: '/api/v1/transfers', payload: transferBody({ dtn: 'x'.repeat(20_000) }) });
    expect(r.statusCode).toBe(401);
    expect(r.json().code).toBe('DMZ_TOKEN_MISSING');
  });

  const invalid: [string, Record<string, unknown>, string][] = [
    ['duration as a string', { duration: '600' }, '/body/duration'],
    ['a fractional duration', { duration: 1.5 }, '/body/duration'],
    ['a negative duration', { duration: -5 }, '/body/duration'],
    ['a duration over 16 bits', { duration: 70000 }, '/body/duration'],
    ['a zero rate', { rate_mbps: 0 }, '/body/rate_mbps'],
    ['a rate as a string', { rate_mbps: '100' }, '/body/rate_mbps'],
    ['ports as a string', { local_ports: '50000-51000' }, '/body/local_ports'],
    ['ports as numbers', { local_ports: [50000] }, '/body/local_ports/0'],
    ['no ports', { local_ports: [] }, '/body/local_ports'],
    ['too many port ranges', { local_ports: Array.from({ length: 17 }, (_, i) => String(50000 + i)) }, '/body/local_ports'],
    ['a reversed port range', { local_ports: ['51000-50000'] }, '/local_ports/0'],
    ['a port beyond 65535', { local_ports: ['70000'] }, '/local_ports/0'],
    ['an unknown protocol', { protocol: 'icmp' }, '/body/protocol'],
    ['a bad address', { remote: '999.1.1.1' }, '/remote'],
    ['a bad prefix length', { remote: '192.0.2.0/33' }, '/remote'],
    ['a bad IPv6 prefix length', { remote: '2001:db8::/129' }, '/remote'],
    ['a missing field', { dtn: undefined }, '/body'],
    ['a null', { dtn: null }, '/body/dtn'],
    ['an object for a string', { dtn: { $ne: null } }, '/body/dtn'],
    ['an array for a string', { path: ['routed'] }, '/body/path'],
    ['a bad end', { duration: undefined, end: 'tomorrow' }, '/body/end'],
  ];
  for (const [what, over, path] of invalid) {
    it(`${what} is 400 DMZ_INVALID_FIELD naming ${path}`, async () => {
      const r = await post(transferBody(over));
      expect(r.statusCode).toBe(400);
      expect(r.json().code).toBe('DMZ_INVALID_FIELD');
      expect(r.json().details.map((d: { path: string }) => d.path)).toContain(path);
    });
  }

  it('unknown fields are 400 DMZ_UNKNOWN_FIELD, top level and in the query', async () => {
    const r = await post(transferBody({ project: 'bio' })); // the project comes from the token, never the body
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ code: 'DMZ_UNKNOWN_FIELD', details: [{ path: '/body/project', message: 'unknown field' }] });
    const q = await h.api.inject({ url: '/api/v1/transfers?admin=true', headers: h.auth(tok) });
    expect(q.statusCode).toBe(400);
    expect(q.json().code).toBe('DMZ_UNKNOWN_FIELD');
    const long = await post(transferBody({ ['k'.repeat(500)]: 1 }));
    expect(long.json().details[0].path.length).toBeLessThan(100); // echoed names are clipped
  });

  const injections = [
    "dtn1'; DROP TABLE leases;--",
    '../../etc/passwd',
    '<script>alert(1)</script>',
    'dtn1\u0000',
    '${jndi:ldap://x/a}',
    'dtn1\nX-Injected: 1',
    '{{7*7}}',
    'dtn1 OR 1=1',
    'ｄｔｎ１',
    ' ',
  ];
  for (const s of injections) {
    it(`an injection string in a name (${JSON.stringify(s).slice(0, 30)}) is a 400`, async () => {
      for (const body of [{ dtn: s }, { path: `circuit:${s}` }, { remote: `192.0.2.0/24${s}` }, { local_ports: [`5201${s}`] }]) {
        const r = await post(transferBody(body));
        expect(r.statusCode).toBe(400);
        expect(['DMZ_INVALID_FIELD', 'DMZ_UNKNOWN_FIELD']).toContain(r.json().code);
        expect(r.headers['x-injected']).toBeUndefined();
      }
    });
  }

  it('malformed JSON, an empty JSON body and prototype pollution are 400 DMZ_MALFORMED_JSON', async () => {
    const json = { 'content-type': 'application/json' };
    for (const payload of [
      '{"dtn": "dtn1",',
      '',
      'null x',
      '{"__proto__": {"scopes": ["admin"]}, "dtn": "dtn1"}',
      '{"constructor": {"prototype": {"admin": true}}}',
    ]) {
      const r = await post(payload, json);
      expect(r.statusCode, payload).toBe(400);
      expect(r.json().code, payload).toBe('DMZ_MALFORMED_JSON');
    }
    expect(({} as Record<string, unknown>).scopes).toBeUndefined();
  });

  it('deeply nested JSON is refused, not a crash', async () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const r = await post(`{"dtn": ${deep}}`, { 'content-type': 'application/json' });
    expect(r.statusCode).toBe(400);
  });

  it('a body that is not JSON is 415 DMZ_UNSUPPORTED_MEDIA_TYPE', async () => {
    for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) {
      const r = await post('dtn=dtn1', { 'content-type': ct });
      expect(r.statusCode, ct).toBe(415);
      expect(r.json().code).toBe('DMZ_UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('bad path parameters and query values are 400', async () => {
    for (const url of [
      '/api/v1/transfers/abc',
      '/api/v1/transfers/0',
      '/api/v1/transfers/1.5',
      '/api/v1/transfers/99999999999999999999',
      '/api/v1/transfers/1;DROP',
      '/api/v1/transfers?limit=0',
      '/api/v1/transfers?limit=abc',
      '/api/v1/transfers?limit=100000',
      '/api/v1/transfers?state=exploded',
      '/api/v1/transfers?project=../x',
    ]) {
      const r = await h.api.inject({ url, headers: h.auth(tok) });
      expect(r.statusCode, url).toBe(400);
      expect(r.json().code, url).toBe('DMZ_INVALID_FIELD');
    }
  });

  it('an unknown route or method is 404 DMZ_ROUTE_NOT_FOUND', async () => {
    for (const [method, url] of [
      ['GET', '/api/v2/transfers'],
      ['PUT', '/api/v1/transfers'],
      ['GET', '/..%2f..%2fetc/passwd'],
    ] as const) {
      const r = await h.api.inject({ method, url, headers: h.auth(tok) });
      expect(r.statusCode).toBe(404);
      expect(r.json().code).toBe('DMZ_ROUTE_NOT_FOUND');
    }
  });

  describe('tokens', () => {
    const get = (authorization?: string) =>
      h.api.inject({ url: '/api/v1/transfers', headers: authorization === undefined ? {} : { authorization }, remoteAddress: '198.18.0.1' });

    it('no token: 401 DMZ_TOKEN_MISSING with WWW-Authenticate', async () => {
      const r = await get();
      expect(r.statusCode).toBe(401);
      expect(r.json().code).toBe('DMZ_TOKEN_MISSING');
      expect(r.headers['www-authenticate']).toBe('Bearer realm="dmzgate"');
    });

    it('malformed, unknown, forged or wrong-scheme tokens: 401 DMZ_TOKEN_INVALID, counted, not in the audit trail', async () => {
      const auditBefore = h.store.data.audit.length;
      const [, id, secret] = /^dmzgate_(\d+)_(.+)$/.exec(tok)!;
      const flipped = secret!.slice(0, -1) + (secret!.endsWith('A') ? 'B' : 'A');
      const other = (await createToken(h.store, { ...WIDE, project: 'bio' })).token;
      const cases = [
        `Bearer ${tok.slice(0, -1)}`,
        `Bearer dmzgate_${id}_${flipped}`,
        `Bearer dmzgate_99999_${secret}`,
        `Bearer dmzgate_${/^dmzgate_(\d+)_/.exec(other)![1]}_${secret}`,
        `Basic ${Buffer.from('a:b').toString('base64')}`,
        `Bearer ${'x'.repeat(4000)}`,
        'Bearer',
        `bearer ${tok}x`,
        `Bearer dmzgate_0_${secret}`,
      ];
      for (const c of cases) {
        const r = await h.api.inject({ url: '/api/v1/transfers', headers: { authorization: c }, remoteAddress: `198.18.1.${cases.indexOf(c)}` });
        expect(r.statusCode, c.slice(0, 40)).toBe(401);
        expect(r.json().code).toBe('DMZ_TOKEN_INVALID');
        expect(r.headers['www-authenticate']).toContain('invalid_token');
      }
      // Anyone can make these: stored, they would push out the entries that matter.
      expect(h.store.data.audit.length).toBe(auditBefore + 1); // the token made above
      expect(h.store.data.audit.some((a) => a.action === 'auth')).toBe(false);
      const metrics = (await h.api.inject({ url: '/metrics' })).body;
      expect(Number(/dmzgate_api_auth_failures_total\{code="DMZ_TOKEN_INVALID"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(cases.length);
      // The scheme is case-insensitive (RFC 7235 §2.1).
      expect((await h.api.inject({ url: '/api/v1/transfers', headers: { authorization: `bearer ${tok}` } })).statusCode).toBe(200);
    });

    it('an expired token: 401 DMZ_TOKEN_EXPIRED; a revoked one: 401 DMZ_TOKEN_REVOKED', async () => {
      const expired = (await createToken(h.store, { ...WIDE, expiresAt: Date.now() - 1 })).token;
      const r = await h.api.inject({ url: '/api/v1/transfers', headers: h.auth(expired), remoteAddress: '198.18.2.1' });
      expect(r.statusCode).toBe(401);
      expect(r.json().code).toBe('DMZ_TOKEN_EXPIRED');
      const soon = await createToken(h.store, { ...WIDE, expiresAt: Date.now() + 60_000 });
      expect((await h.api.inject({ url: '/api/v1/transfers', headers: h.auth(soon.token) })).statusCode).toBe(200);
      await revokeToken(h.store, soon.id);
      const rv = await h.api.inject({ url: '/api/v1/transfers', headers: h.auth(soon.token), remoteAddress: '198.18.2.2' });
      expect(rv.statusCode).toBe(401);
      expect(rv.json().code).toBe('DMZ_TOKEN_REVOKED');
    });

    it('the state document and its journal hold only hashes of the secrets', async () => {
      const { readFileSync } = await import('node:fs');
      await h.store.foldNow(); // the document, with every token in it
      await revokeToken(h.store, (await createToken(h.store, { ...WIDE })).id); // and records in the journal
      const text = readFileSync(h.store.file, 'utf8') + readFileSync(h.store.journalFile, 'utf8');
      expect(text).toMatch(/"hash":"[0-9a-f]{64}"/);
      expect(text).not.toContain(/^dmzgate_\d+_(.+)$/.exec(tok)![1]!);
      expect(Object.values(h.store.data.tokens).every((t) => /^[0-9a-f]{64}$/.test(t.hash))).toBe(true);
    });

    it('wrong scope: 403 DMZ_SCOPE_DENIED on every route that needs another', async () => {
      const ro = await h.token({ scopes: ['transfers:read'] });
      const blocks = await h.token({ scopes: ['blocks:write'] });
      const cases: [string, string, string, unknown?][] = [
        [ro, 'POST', '/api/v1/transfers', transferBody()],
        [ro, 'PATCH', '/api/v1/transfers/1', { duration: 5 }],
        [ro, 'DELETE', '/api/v1/transfers/1'],
        [ro, 'POST', '/api/v1/blocks', { prefix: '192.0.2.1', reason: 'x' }],
        [ro, 'GET', '/api/v1/blocks'],
        [ro, 'GET', '/api/v1/audit'],
        [ro, 'GET', '/api/v1/switches/1/flows'],
        [blocks, 'GET', '/api/v1/transfers'],
        [blocks, 'GET', '/api/v1/transfers/1'],
        [tok, 'GET', '/api/v1/audit'],
      ];
      for (const [t, method, url, payload] of cases) {
        const r = await h.api.inject({ method: method as 'GET', url, headers: h.auth(t), ...(payload ? { payload } : {}) });
        expect(r.statusCode, `${method} ${url}`).toBe(403);
        expect(r.json()).toMatchObject({ code: 'DMZ_SCOPE_DENIED', constraint: 'scope' });
      }
    });
  });
});

describe('failed authentication is limited per client address', () => {
  let h: Harness;
  let now = 1_000_000;
  const lines: Array<Record<string, unknown>> = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
        done();
      },
    });
    h = await startHarness({ logger: pino({ level: 'info' }, sink), api: { authLimit: { burst: 3, perMinute: 6, now: () => now } } });
  });
  afterAll(async () => h.close());

  it('over the limit, requests without a valid token get 429 with Retry-After; a valid token from there still works', async () => {
    const good = await h.token();
    const from = (remoteAddress: string, authorization: string) =>
      h.api.inject({ url: '/api/v1/transfers', headers: { authorization }, remoteAddress });
    for (let i = 0; i < 3; i++) expect((await from('203.0.113.9', 'Bearer dmzgate_1_guess')).statusCode).toBe(401);
    const limited = await from('203.0.113.9', 'Bearer dmzgate_1_guess');
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe('DMZ_AUTH_RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBe(10); // one failure back at 6/min
    // A DTN behind the same NAT as the guesser is not locked out.
    expect((await from('203.0.113.9', `Bearer ${good}`)).statusCode).toBe(200);
    expect((await from('203.0.113.10', 'Bearer dmzgate_1_guess')).statusCode).toBe(401);
    // Public routes stay open.
    expect((await h.api.inject({ url: '/healthz', remoteAddress: '203.0.113.9' })).statusCode).toBe(200);
    // Refused attempts do not drain it further: one failure's refill later, the next guess is a 401 again.
    for (let i = 0; i < 5; i++) expect((await from('203.0.113.9', 'Bearer nope')).statusCode).toBe(429);
    now += 10_000;
    expect((await from('203.0.113.9', 'Bearer nope')).statusCode).toBe(401);
    expect((await from('203.0.113.9', 'Bearer nope')).statusCode).toBe(429);
    expect((await from('203.0.113.9', `Bearer ${good}`)).statusCode).toBe(200);
    const metrics = (await h.api.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(/dmzgate_api_auth_failures_total\{code="DMZ_AUTH_RATE_LIMITED"\} 7/);
    expect(metrics).toMatch(/dmzgate_api_auth_failures_total\{code="DMZ_TOKEN_INVALID"\} 5/);
    expect(h.store.data.audit.some((a) => a.action === 'auth')).toBe(false);
  });

  it('failures are logged at most once per interval, with the count of those not logged', async () => {
    const refused = () => lines.filter((l) => /^authentication refused/.test(l.msg as string));
    const before = refused().length;
    now += 60_000;
    for (let i = 0; i < 50; i++)
      await h.api.inject({ url: '/api/v1/transfers', headers: { authorization: 'Bearer flood' }, remoteAddress: `198.18.7.${i}` });
    now += 10_000;
    await h.api.inject({ url: '/api/v1/transfers', headers: { authorization: 'Bearer flood' }, remoteAddress: '198.18.8.1' });
    const logged = refused().slice(before);
    expect(logged.length).toBe(2);
    expect(logged[0]).toMatchObject({ level: 40, client: '198.18.7.0', code: 'DMZ_TOKEN_INVALID' });
    expect(logged[1]).toMatchObject({ client: '198.18.8.1', unlogged: 49, unloggedClients: 49 });
  });
});

describe('requests are limited per token', () => {
  let h: Harness;
  let now = 5_000_000;
  beforeAll(async () => {
    h = await startHarness({ api: { requestLimit: { burst: 3, perSecond: 0.5, now: () => now } } });
  });
  afterAll(async () => h.close());

  it('a token past its burst gets 429 DMZ_TOO_MANY_REQUESTS with Retry-After; other tokens are not affected', async () => {
    const busy = await h.token();
    const other = await h.token();
    const get = (t: string) => h.api.inject({ url: '/api/v1/transfers', headers: h.auth(t) });
    for (let i = 0; i < 3; i++) expect((await get(busy)).statusCode).toBe(200);
    const r = await get(busy);
    expect(r.statusCode).toBe(429);
    expect(r.json().code).toBe('DMZ_TOO_MANY_REQUESTS');
    expect(r.headers['retry-after']).toBe('2');
    expect((await get(other)).statusCode).toBe(200);
    now += 2_000;
    expect((await get(busy)).statusCode).toBe(200);
    expect((await get(busy)).statusCode).toBe(429);
    expect((await h.api.inject({ url: '/metrics' })).body).toMatch(/dmzgate_api_auth_failures_total\{code="DMZ_TOO_MANY_REQUESTS"\} 2/);
  });
});
