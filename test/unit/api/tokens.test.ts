// Tokens (creation, validation, verification, constraints) and the failed-authentication limiter, as units.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createToken,
  listTokens,
  openJournalStore,
  revokeToken,
  validateTokenSpec,
  ApiError,
  type JournalStateStore,
  type TokenSpec,
} from '../../../api/index.js';
import { checkBlock, checkExtension, checkTransfer, hasScope, verifyToken } from '../../../api/tokens.js';
import { FailureLimiter } from '../../../api/rate-limit.js';
import { parsePrefix } from '../../../apps/dmz/addresses.js';
import type { LeaseRecord } from '../../../apps/dmz/lease-book.js';
import { defaultSite } from '../../../apps/dmz/config.js';

const site = defaultSite();

const SPEC: TokenSpec = {
  project: 'astro',
  dtns: ['dtn1'],
  remotes: ['192.0.2.0/24', '2001:db8::/32'],
  ports: ['50000-51000'],
  paths: ['routed'],
  maxDurationSeconds: 3600,
  maxRateMbps: 100,
  scopes: ['transfers:write'],
};

const codeOf = (f: () => void): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return (e as ApiError).code;
  }
};

describe('tokens', () => {
  let dir: string;
  let store: JournalStateStore;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dmzgate-tokens-'));
    store = await openJournalStore(dir, { fsync: false });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('createToken returns the secret once; the store keeps its sha256; verify finds it', async () => {
    const { id, token, record } = await createToken(store, { ...SPEC, description: 'globus endpoint' });
    expect(token).toMatch(/^dmzgate_\d+_[A-Za-z0-9_-]{43}$/);
    expect(record).toMatchObject({ id, project: 'astro', scopes: ['transfers:write'], remotes: ['192.0.2.0/24', '2001:db8::/32'] });
    expect(JSON.stringify(store.data)).not.toContain(/^dmzgate_\d+_(.+)$/.exec(token)![1]!);
    expect(verifyToken(store.view, token)).toMatchObject({ id });
    expect(listTokens(store.view).find((t) => t.id === id)).not.toHaveProperty('hash');
    expect(store.data.audit.some((a) => a.action === 'token.create')).toBe(true);
    expect(await revokeToken(store, id)).toBe(true);
    expect((verifyToken(store.view, token) as ApiError).code).toBe('DMZ_TOKEN_REVOKED');
    expect(await revokeToken(store, 9999)).toBe(false);
  });

  it('verify refuses malformed, unknown, forged and expired tokens', async () => {
    const { token } = await createToken(store, SPEC);
    const { token: old } = await createToken(store, { ...SPEC, expiresAt: new Date(Date.now() + 1000) });
    for (const t of [
      '',
      'x',
      token.slice(0, -1),
      `${token}A`,
      token.replace(/_(\d+)_/, '_999_'),
      token.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
    ]) {
      expect((verifyToken(store.view, t) as ApiError).code, t).toBe('DMZ_TOKEN_INVALID');
    }
    expect(verifyToken(store.view, old, Date.now())).not.toBeInstanceOf(ApiError);
    expect((verifyToken(store.view, old, Date.now() + 2000) as ApiError).code).toBe('DMZ_TOKEN_EXPIRED');
  });

  it('validates specs with messages a CLI can print', () => {
    const bad: [Partial<TokenSpec>, RegExp][] = [
      [{ project: '' }, /project/],
      [{ project: 'a b' }, /project/],
      [{ scopes: [] }, /scope/],
      [{ scopes: ['root' as never] }, /unknown scope/],
      [{ remotes: ['10.0.0.0/33'] }, /remotes/],
      [{ ports: ['9-1'] }, /ports/],
      [{ paths: ['circuit:'] }, /path/],
      [{ maxDurationSeconds: 0 }, /maxDurationSeconds/],
      [{ maxDurationSeconds: 1.5 }, /maxDurationSeconds/],
      [{ maxRateMbps: -1 }, /maxRateMbps/],
      [{ dtns: ['a/b'] }, /DTN/],
      [{ expiresAt: Number.NaN }, /expiresAt/],
    ];
    for (const [over, msg] of bad) expect(() => validateTokenSpec({ ...SPEC, ...over }), JSON.stringify(over)).toThrow(msg);
    expect(() => validateTokenSpec({ ...SPEC, dtns: ['*'], paths: ['*', 'circuit:esnet'] })).not.toThrow();
  });

  it('scopes: admin holds all, transfers:write includes transfers:read', async () => {
    const t = (await createToken(store, SPEC)).record;
    expect(hasScope(t, 'transfers:read')).toBe(true);
    expect(hasScope(t, 'blocks:write')).toBe(false);
    const a = (await createToken(store, { ...SPEC, scopes: ['admin'] })).record;
    for (const s of ['transfers:read', 'transfers:write', 'blocks:write', 'admin'] as const) expect(hasScope(a, s)).toBe(true);
    const r = (await createToken(store, { ...SPEC, scopes: ['transfers:read'] })).record;
    expect(hasScope(r, 'transfers:write')).toBe(false);
  });

  it('constraints: each refusal names its constraint', async () => {
    const t = (await createToken(store, SPEC)).record;
    const ask = {
      dtn: 'dtn1',
      remote: parsePrefix('192.0.2.128/25'),
      localPorts: [{ lo: 50000, hi: 50010 }],
      path: 'routed',
      durationSeconds: 60,
      rateMbps: 10,
    };
    expect(codeOf(() => checkTransfer(t, ask))).toBeUndefined();
    expect(codeOf(() => checkTransfer(t, { ...ask, remote: parsePrefix('2001:db8:1::/48') }))).toBeUndefined();
    expect(codeOf(() => checkTransfer(t, { ...ask, remote: parsePrefix('2001:db9::/48') }))).toBe('DMZ_REMOTE_DENIED');
    expect(codeOf(() => checkTransfer(t, { ...ask, remote: parsePrefix('0.0.0.0/0') }))).toBe('DMZ_REMOTE_DENIED');
    expect(codeOf(() => checkTransfer(t, { ...ask, localPorts: [{ lo: 49999, hi: 50000 }] }))).toBe('DMZ_PORTS_DENIED');
    expect(codeOf(() => checkTransfer(t, { ...ask, rateMbps: 101 }))).toBe('DMZ_RATE_DENIED');
    expect(codeOf(() => checkTransfer(t, { ...ask, durationSeconds: 3601 }))).toBe('DMZ_DURATION_DENIED');
    const lease = { project: 'astro', start: Date.now() - 3000_000 } as LeaseRecord;
    expect(codeOf(() => checkExtension(t, lease, Date.now() + 500_000))).toBeUndefined();
    expect(codeOf(() => checkExtension(t, lease, Date.now() + 700_000))).toBe('DMZ_DURATION_DENIED');
    expect(codeOf(() => checkExtension(t, { ...lease, project: 'bio' }, Date.now()))).toBe('DMZ_PROJECT_DENIED');
    expect(codeOf(() => checkBlock(t, parsePrefix('192.0.2.1'), site))).toBe('DMZ_SCOPE_DENIED');
    const ids = (await createToken(store, { ...SPEC, scopes: ['blocks:write'] })).record;
    expect(codeOf(() => checkBlock(ids, parsePrefix('192.0.2.1'), site))).toBeUndefined();
    expect(codeOf(() => checkBlock(ids, parsePrefix('203.0.113.1'), site))).toBe('DMZ_REMOTE_DENIED');
  });
});

describe('FailureLimiter', () => {
  it('lets an address fail `burst` times, then makes it wait for the refill', () => {
    let now = 0;
    const l = new FailureLimiter({ burst: 2, perMinute: 2, now: () => now });
    expect(l.retryAfter('a')).toBe(0);
    l.fail('a');
    expect(l.retryAfter('a')).toBe(0);
    l.fail('a');
    expect(l.retryAfter('a')).toBe(30);
    expect(l.retryAfter('b')).toBe(0);
    now += 29_000;
    expect(l.retryAfter('a')).toBe(1);
    now += 1_000;
    expect(l.retryAfter('a')).toBe(0);
    now += 60_000;
    expect(l.retryAfter('a')).toBe(0);
    expect(l.tracked).toBe(0); // a full bucket is forgotten when next looked at
  });

  it('tracks a bounded number of addresses, forgetting the least recent first', () => {
    const l = new FailureLimiter({ burst: 1, maxTracked: 100 });
    for (let i = 0; i < 10_000; i++) l.fail(`10.0.${i >> 8}.${i & 255}`);
    expect(l.tracked).toBe(100);
    expect(l.retryAfter('10.0.39.15')).toBeGreaterThan(0); // the last one
    expect(l.retryAfter('10.0.0.0')).toBe(0); // forgotten
  });
});
