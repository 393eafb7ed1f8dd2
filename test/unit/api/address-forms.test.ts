// Addresses as the API accepts them: an IPv4-mapped IPv6 spelling (::ffff:a.b.c.d) is the IPv4 host it names
// in blocks, transfers and tokens alike; special-purpose ranges are never a transfer's remote.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../../api/index.js';
import { OWNER } from '../../../apps/dmz/owners.js';
import { cookieId, ownerIdOf } from '../../../controller/cookie.js';
import { startHarness, transferBody, WIDE, type Harness } from './harness.js';

describe('address forms', () => {
  let h: Harness;
  let ids: string;
  let wide: string;
  beforeAll(async () => {
    h = await startHarness();
    ids = await h.token({ project: 'ids', scopes: ['blocks:write'], remotes: ['198.51.100.0/24'] });
    wide = await h.token({ remotes: ['0.0.0.0/0', '::/0'] });
  });
  afterAll(async () => h.close());

  const post = (url: string, token: string, payload: Record<string, unknown>) =>
    h.api.inject({ method: 'POST', url, headers: h.auth(token), payload });
  const fromWan = (src: string) =>
    h.sw.injectPacket(1, Buffer.alloc(100), { eth_type: 0x0800, ipv4_src: src, ipv4_dst: '10.10.1.10', ip_proto: 6, tcp_src: 33333, tcp_dst: 50050 });

  it('a block on ::ffff:198.51.100.7 is a block on the IPv4 host: IPv4 drop flows, its packets dropped', async () => {
    const xfer = await post('/api/v1/transfers', await h.token(), transferBody({ remote: '198.51.100.0/24' }));
    expect(xfer.statusCode).toBe(201);
    expect(fromWan('198.51.100.7').outputs).toEqual([5]);
    // A token whose remotes are IPv4 only may block the mapped spelling: it is inside them.
    const r = await post('/api/v1/blocks', ids, { prefix: '::ffff:198.51.100.7', reason: 'mapped' });
    expect(r.statusCode).toBe(201);
    expect(r.json().prefix).toBe('198.51.100.7/32');
    const flows = h.sw.flows().filter((f) => ownerIdOf(f.cookie) === OWNER.BLOCKS && cookieId(f.cookie) === r.json().id);
    expect(flows).toHaveLength(2);
    for (const f of flows) expect(f.match.find((m) => m.field === 'eth_type')?.value).toBe(0x0800);
    expect(fromWan('198.51.100.7').outputs).toEqual([]);
    expect(fromWan('198.51.100.8').outputs).toEqual([5]);
    expect((await h.api.inject({ method: 'DELETE', url: `/api/v1/blocks/${r.json().id}`, headers: h.auth(ids) })).statusCode).toBe(200);
    expect((await h.api.inject({ method: 'DELETE', url: `/api/v1/transfers/${xfer.json().id}`, headers: h.auth(await h.token()) })).statusCode).toBe(
      200,
    );
  });

  it('a transfer to ::ffff:192.0.2.5 is a transfer to 192.0.2.5 (a token with IPv4 remotes allows it)', async () => {
    const r = await post('/api/v1/transfers', await h.token(), transferBody({ remote: '::ffff:192.0.2.5' }));
    expect(r.statusCode).toBe(201);
    expect(r.json().remote).toBe('192.0.2.5/32');
    expect(fromWan('192.0.2.5').outputs).toEqual([5]);
    expect((await h.api.inject({ method: 'DELETE', url: `/api/v1/transfers/${r.json().id}`, headers: h.auth(await h.token()) })).statusCode).toBe(
      200,
    );
  });

  it("a token's mapped remotes are stored as IPv4", async () => {
    const { record } = await createToken(h.store, { ...WIDE, remotes: ['::ffff:192.0.2.0/120', '::ffff:203.0.113.9'] });
    expect(record.remotes).toEqual(['192.0.2.0/24', '203.0.113.9/32']);
    const viaApi = await post('/api/v1/tokens', await h.token({ project: 'ops', scopes: ['admin'] }), { ...WIDE, remotes: ['::ffff:192.0.2.0/120'] });
    expect(viaApi.statusCode).toBe(201);
    expect(h.store.view.token(viaApi.json().id)!.remotes).toEqual(['192.0.2.0/24']);
  });

  const special: [string, string][] = [
    ['127.0.0.1', '127.0.0.0/8'],
    ['127.0.0.0/8', '127.0.0.0/8'],
    ['224.0.0.5', '224.0.0.0/4'],
    ['239.1.2.0/24', '224.0.0.0/4'],
    ['169.254.10.1', '169.254.0.0/16'],
    ['fe80::1', 'fe80::/10'],
    ['ff02::1', 'ff00::/8'],
    ['::1', '::1/128'],
    ['::ffff:127.0.0.1', '127.0.0.0/8'],
    ['0.0.0.0/1', '0.0.0.0/8'],
  ];
  for (const [remote, range] of special) {
    it(`a transfer to ${remote} is 422 DMZ_REMOTE_SPECIAL naming ${range}`, async () => {
      const before = h.sw.flowCount();
      const r = await post('/api/v1/transfers', wide, transferBody({ remote }));
      expect(r.statusCode).toBe(422);
      expect(r.json()).toMatchObject({ code: 'DMZ_REMOTE_SPECIAL', reason: 'special-remote' });
      expect(r.json().message).toContain(range);
      expect(h.sw.flowCount()).toBe(before);
    });
  }
});
