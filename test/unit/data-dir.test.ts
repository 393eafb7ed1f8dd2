// The data directory and its files are the owner's only: the directory is made 0700, the pid file, the admin
// token and the state files are 0600 (an older, more open pid file is closed again), and an existing directory
// open to others is reported.
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseControllerOptions, type ControllerCommandOptions } from '../../bin/options.js';
import { announceApi, claimDataDir, dataDirModeProblem, writeAdminToken, PID_FILE, ADMIN_TOKEN_FILE } from '../../bin/data-dir.js';
import { openJournalStore, createToken, STATE_FILE, JOURNAL_FILE } from '../../api/index.js';

const dir = mkdtempSync(join(tmpdir(), 'dmzgate-datadir-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const modeOf = (p: string) => statSync(p).mode & 0o777;

describe('data directory modes', () => {
  it('the directory is created 0700, with its missing parents', () => {
    const o = parseControllerOptions(['--data', join(dir, 'a', 'data')], {}) as ControllerCommandOptions;
    expect(modeOf(o.dataDir)).toBe(0o700);
    expect(dataDirModeProblem(o.dataDir)).toBeUndefined();
  });

  it('the pid file and the admin token are 0600, even over older files made 0644', () => {
    const data = join(dir, 'b');
    parseControllerOptions(['--data', data], {});
    writeFileSync(join(data, PID_FILE), '{"pid":999999999}', { mode: 0o644 }); // a stale one: no such process
    chmodSync(join(data, PID_FILE), 0o644);
    const release = claimDataDir(data);
    expect(modeOf(join(data, PID_FILE))).toBe(0o600);
    announceApi(data, 'https://127.0.0.1:8443');
    expect(modeOf(join(data, PID_FILE))).toBe(0o600);
    writeAdminToken(data, 'dmzgate_1_x');
    expect(modeOf(join(data, ADMIN_TOKEN_FILE))).toBe(0o600);
    release();
  });

  it('the state document and its journal are 0600', async () => {
    const data = join(dir, 'c');
    const store = await openJournalStore(data);
    await createToken(store, { project: 'p', dtns: [], remotes: [], ports: [], paths: [], maxDurationSeconds: 1, scopes: ['metrics'] });
    await store.close();
    expect(modeOf(data)).toBe(0o700);
    expect(modeOf(join(data, STATE_FILE))).toBe(0o600);
    expect(modeOf(join(data, JOURNAL_FILE))).toBe(0o600);
  });

  it('an existing directory open to others is reported, not changed', () => {
    const data = join(dir, 'd');
    parseControllerOptions(['--data', data], {});
    chmodSync(data, 0o755);
    expect(dataDirModeProblem(data)).toMatch(/mode 0755.*chmod 700/);
    parseControllerOptions(['--data', data], {});
    expect(modeOf(data)).toBe(0o755);
  });
});
