// Every command's --help, run as a user would: the built command, no token, no controller, an empty directory.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, checkBuild } from '../../lab/dmzgate-process.js';

const HELPS: [args: string[], usage: string][] = [
  [['--help'], 'usage: dmzgate controller'],
  [['help'], 'usage: dmzgate controller'],
  [['controller', '--help'], 'usage: dmzgate controller'],
  [['token', '--help'], 'usage: dmzgate token create'],
  [['token', '-h'], 'usage: dmzgate token create'],
  [['token', 'help'], 'usage: dmzgate token create'],
  [['token', 'create', '--help'], 'usage: dmzgate token create'],
  [['token', 'list', '--help'], 'usage: dmzgate token create'],
  [['token', 'revoke', '--help'], 'usage: dmzgate token create'],
  [['transfer', '--help'], 'usage: dmzgate transfer request'],
  [['transfer', '-h'], 'usage: dmzgate transfer request'],
  [['transfer', 'request', '--help'], 'usage: dmzgate transfer request'],
  [['transfer', 'list', '--help'], 'usage: dmzgate transfer request'],
  [['transfer', 'show', '--help'], 'usage: dmzgate transfer request'],
  [['transfer', 'extend', '--help'], 'usage: dmzgate transfer request'],
  [['transfer', 'release', '--help'], 'usage: dmzgate transfer request'],
  [['block', '--help'], 'usage: dmzgate block add'],
  [['block', '-h'], 'usage: dmzgate block add'],
  [['block', 'add', '--help'], 'usage: dmzgate block add'],
  [['block', 'list', '--help'], 'usage: dmzgate block add'],
  [['block', 'remove', '--help'], 'usage: dmzgate block add'],
  [['check-config', '--help'], 'usage: dmzgate check-config FILE'],
  [['check-config', 'site.yaml', '-h'], 'usage: dmzgate check-config FILE'],
];

describe('dmzgate COMMAND --help (no token, no controller)', () => {
  const dirs: string[] = [];
  beforeAll(() => checkBuild());
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  // Port 9 (discard) on loopback: nothing of ours answers there, so a command that tried the API would fail.
  const env: NodeJS.ProcessEnv = { ...process.env, DMZGATE_API: 'http://127.0.0.1:9' };
  delete env.DMZGATE_TOKEN;

  for (const [args, usage] of HELPS) {
    it(`dmzgate ${args.join(' ')}`, () => {
      const cwd = mkdtempSync(join(tmpdir(), 'dmzgate-help-'));
      dirs.push(cwd);
      const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env, encoding: 'utf8', timeout: 20_000 });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(usage);
      expect(readdirSync(cwd), 'help touches no state directory').toStrictEqual([]);
    });
  }

  it('controller --help says what a SIGHUP reload does to active leases', () => {
    const r = spawnSync(process.execPath, [CLI, 'controller', '--help'], { env, encoding: 'utf8', timeout: 20_000 });
    expect(r.stdout.replace(/\s+/g, ' ')).toMatch(/SIGHUP reloads it.*an active lease the new config refuses is revoked at once.*audit trail/);
  });
});
