// What the CLI prints for people never carries a caller's control characters raw: a block's reason with a NUL, a
// newline or a right-to-left override cannot forge table rows or reorder what an operator reads. --json stays the
// API's JSON (which escapes what JSON must, and round-trips the text exactly).
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { blockCommand } from '../../../bin/commands/block.js';
import { runClient } from '../../../bin/commands/common.js';
import { ApiClientError } from '../../../bin/api-client.js';
import { record, table } from '../../../bin/table.js';
import { startHarness, type Harness } from './harness.js';

const HOSTILE = 'scan\u0000\n7      active  192.0.2.99/32  fake row\u202Eevil';
/** Characters that move the cursor, end a line or change the direction of text. */
const CONTROL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

function captured(spy: { mock: { calls: unknown[][] } }): string {
  return spy.mock.calls.map((c) => c.join(' ')).join('\n');
}

describe('CLI output with control characters', () => {
  let h: Harness;
  let ids: string;
  let base: string;
  let id: number;
  beforeAll(async () => {
    h = await startHarness();
    ids = await h.token({ project: 'ids', scopes: ['blocks:write'], remotes: ['192.0.2.0/24'] });
    await h.api.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(h.api.server.address() as { port: number }).port}`;
    const r = await h.api.inject({ method: 'POST', url: '/api/v1/blocks', headers: h.auth(ids), payload: { prefix: '192.0.2.7', reason: HOSTILE } });
    expect(r.statusCode).toBe(201);
    id = r.json().id;
  });
  afterAll(async () => h.close());
  afterEach(() => vi.restoreAllMocks());

  it('`block list` prints one row per block, the reason escaped', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    await blockCommand(['list', '--api', base, '--token', ids]);
    const lines = captured(log).split('\n');
    expect(lines).toHaveLength(2); // the header and the one block
    expect(lines[1]).toMatch(new RegExp(`^${id}\\s+active\\s+ids\\s+192\\.0\\.2\\.7/32`));
    expect(lines[1]).toContain('scan\\x00\\n7      active  192.0.2.99/32  fake row\\u202eevil');
    for (const l of lines) expect(l).not.toMatch(CONTROL);
  });

  it("`block list --json` is the API's JSON, the reason exact", async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    await blockCommand(['list', '--api', base, '--token', ids, '--json']);
    expect(JSON.parse(captured(log))[0].reason).toBe(HOSTILE);
  });

  it('`block remove` (one record) escapes too', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    await blockCommand(['remove', String(id), '--api', base, '--token', ids]);
    const out = captured(log);
    expect(out).toMatch(/^reason\s+scan\\x00\\n7/m);
    expect(out.split('\n').filter((l) => l.startsWith('reason'))).toHaveLength(1);
    expect(out.replace(/\n/g, '')).not.toMatch(CONTROL);
  });

  it("an error message echoing the caller's text is escaped on stderr", async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    // (process.exit is stubbed, so runClient goes on to rethrow.)
    await runClient(() =>
      blockCommand(['add', '--api', base, '--token', ids, '--prefix', '192.0.2.8', '--reason', 'x', '--duration', '1h\n\u202Ex']),
    ).catch(() => undefined);
    expect(exit).toHaveBeenCalledWith(2);
    expect(captured(err)).toContain('1h\\n\\u202ex');
    expect(captured(err)).not.toMatch(CONTROL);
  });

  it("an API refusal's code and message are escaped on stderr", async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    await runClient(async () => {
      throw new ApiClientError(400, 'DMZ_X\n', 'bad "a\u202Eb\u0000"');
    }).catch(() => undefined);
    expect(captured(err)).toBe('dmzgate: DMZ_X\\n (HTTP 400): bad "a\\u202eb\\x00"');
  });

  it('table() and record() escape every cell and value, backslashes included', () => {
    const t = table([{ a: 'x\ty', b: ['p\rq', 'r\\s'] }, { a: '\u2028\u200f\u{e0041}\u009b' }], ['a', 'b']);
    expect(t.split('\n')).toEqual([`A${' '.repeat(26)}B`, `x\\ty${' '.repeat(23)}p\\rq,r\\\\s`, '\\u2028\\u200f\\u{e0041}\\x9b']);
    expect(record({ reason: 'a\nb', n: 3 })).toBe('reason  a\\nb\nn       3');
  });
});
