// Blocks have owners as transfers do: a non-admin token sees and removes its own project's blocks only (another
// project's is 404, as a missing one), and a block that could black out the site (a default route, a very wide
// prefix, one covering the site's own inside hosts) needs an admin token, whose refusal says why.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openJournalStore } from '../../../api/index.js';
import { startHarness, type Harness } from './harness.js';
import { connectEvents } from './ws-client.js';

describe('block owners and reach', () => {
  let h: Harness;
  let ids: string;
  let soc: string;
  let admin: string;
  let dataDir: string;
  const OLD = 9; // a block stored before blocks had owners
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'dmzgate-block-owners-'));
    const old = await openJournalStore(dataDir, { fsync: false });
    await old.commit([
      { kind: 'block.put', block: { id: OLD, prefix: '203.0.113.99/32', reason: 'from before owners', start: Date.now(), state: 'active' } },
    ]);
    await old.close();
    h = await startHarness({ dataDir });
    const anywhere = { scopes: ['blocks:write'] as never, remotes: ['0.0.0.0/0', '::/0'] };
    ids = await h.token({ project: 'ids', ...anywhere });
    soc = await h.token({ project: 'soc', ...anywhere });
    admin = await h.token({ project: 'ops', scopes: ['admin'], remotes: [] });
  });
  afterAll(async () => {
    await h.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const post = (token: string, payload: Record<string, unknown>) =>
    h.api.inject({ method: 'POST', url: '/api/v1/blocks', headers: h.auth(token), payload });
  const del = (token: string, id: number) => h.api.inject({ method: 'DELETE', url: `/api/v1/blocks/${id}`, headers: h.auth(token) });
  const listed = async (token: string) =>
    ((await h.api.inject({ url: '/api/v1/blocks', headers: h.auth(token) })).json().blocks as { id: number }[]).map((b) => b.id);

  it('records who made a block; each non-admin project sees and removes its own only, admin all', async () => {
    const mine = await post(ids, { prefix: '192.0.2.66', reason: 'scanner' });
    expect(mine.statusCode).toBe(201);
    expect(mine.json()).toMatchObject({ project: 'ids', created_by: expect.stringMatching(/^token:\d+$/) });
    expect(h.store.data.blocks[mine.json().id]).toMatchObject({ project: 'ids' });
    const theirs = (await post(soc, { prefix: '192.0.2.67', reason: 'scanner' })).json();
    const admins = (await post(admin, { prefix: '192.0.2.68', reason: 'operator' })).json();
    expect(admins.project).toBe('ops');

    expect(await listed(ids)).toEqual([mine.json().id]);
    expect(await listed(soc)).toEqual([theirs.id]);
    expect(await listed(admin)).toEqual([admins.id, theirs.id, mine.json().id, OLD]);

    // Another project's block and the admin's are "not found" (as a missing id), and stay.
    for (const id of [theirs.id, admins.id, OLD]) {
      const r = await del(ids, id);
      expect(r.statusCode).toBe(404);
      expect(r.json()).toMatchObject({ code: 'DMZ_BLOCK_NOT_FOUND', message: `no active block ${id}` });
      expect(h.app.book.blocks.get(id)!.state).toBe('active');
    }
    expect((await del(ids, mine.json().id)).statusCode).toBe(200);
    expect((await del(admin, theirs.id)).statusCode).toBe(200);
    expect((await del(admin, admins.id)).statusCode).toBe(200);
  });

  it("a block stored without an owner loads as the admin's: shown to admin without a project, removable by admin", async () => {
    const all = (await h.api.inject({ url: '/api/v1/blocks', headers: h.auth(admin) })).json().blocks as Record<string, unknown>[];
    const old = all.find((b) => b.id === OLD)!;
    expect(old).toMatchObject({ prefix: '203.0.113.99/32', state: 'active' });
    expect(old.project).toBeUndefined();
    expect(h.app.book.activeBlocks().map((b) => b.id)).toContain(OLD);
    expect((await del(soc, OLD)).statusCode).toBe(404);
    expect((await del(admin, OLD)).statusCode).toBe(200);
  });

  const siteWide: [string, RegExp][] = [
    ['0.0.0.0/0', /default route/],
    ['::/0', /default route/],
    ['::ffff:0.0.0.0/96', /default route/], // every IPv4 host, in the mapped spelling
    ['10.10.1.10', /dtn1's address 10\.10\.1\.10/],
    ['10.10.1.0/24', /dtn1's address 10\.10\.1\.10/],
    ['fd00:10:10:1::10', /dtn1's address fd00:10:10:1::10/],
    ['::ffff:10.10.2.10', /dtn2's address 10\.10\.2\.10/],
    ['64.0.0.0/2', /wider than \/16/],
    ['10.0.0.0/8', /wider than \/16|covers/],
    ['2001::/16', /wider than \/32/],
  ];
  for (const [prefix, why] of siteWide) {
    it(`a non-admin block on ${prefix} is 403 DMZ_BLOCK_NEEDS_ADMIN saying why; nothing reaches the switch`, async () => {
      const before = h.sw.flowCount();
      const r = await post(ids, { prefix, reason: 'x' });
      expect(r.statusCode).toBe(403);
      expect(r.json()).toMatchObject({ code: 'DMZ_BLOCK_NEEDS_ADMIN', constraint: 'scope' });
      expect(r.json().message).toMatch(why);
      expect(h.sw.flowCount()).toBe(before);
      expect(h.store.data.audit.at(-1)).toMatchObject({ action: 'block.create', decision: 'refused', code: 'DMZ_BLOCK_NEEDS_ADMIN' });
    });
  }

  it("an admin may block a DTN's address and a default route", async () => {
    for (const prefix of ['10.10.1.10', '::/0']) {
      const r = await post(admin, { prefix, reason: 'quarantine' });
      expect(r.statusCode).toBe(201);
      expect((await del(admin, r.json().id)).statusCode).toBe(200);
    }
  });

  it("a project's token in the same project as an admin-only block may not remove it", async () => {
    const opsIds = await h.token({ project: 'ops', scopes: ['blocks:write'], remotes: ['0.0.0.0/0'] });
    const b = (await post(admin, { prefix: '10.10.1.11', reason: 'quarantine dtn6' })).json();
    expect(await listed(opsIds)).toContain(b.id);
    const r = await del(opsIds, b.id);
    expect(r.statusCode).toBe(403);
    expect(r.json().code).toBe('DMZ_BLOCK_NEEDS_ADMIN');
    expect((await del(admin, b.id)).statusCode).toBe(200);
  });

  it("the event stream shows a non-admin token its own project's block events only", async () => {
    await h.api.listen({ port: 0, host: '127.0.0.1' });
    const url = `ws://127.0.0.1:${(h.api.server.address() as { port: number }).port}/api/v1/events`;
    const zeek = await connectEvents(url, { headers: h.auth(ids) });
    const ops = await connectEvents(url, { headers: h.auth(admin) });
    const other = (await post(soc, { prefix: '192.0.2.80', reason: 'soc' })).json();
    const own = (await post(ids, { prefix: '192.0.2.81', reason: 'ids' })).json();
    // The admin's stream has both, in order: once it has the second, the first was sent (or withheld) already.
    await ops.until((c) => c.events.filter((e) => e.type === 'block.created').length === 2);
    await zeek.until((c) => c.events.some((e) => e.block?.id === own.id));
    expect(zeek.events.filter((e) => e.type?.startsWith('block.')).map((e) => e.block!.id)).toEqual([own.id]);
    await zeek.close();
    await ops.close();
    await del(soc, other.id);
    await del(ids, own.id);
  });
});
