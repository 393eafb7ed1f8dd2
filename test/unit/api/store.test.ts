// The state store: writes are atomic and durable before they are acknowledged (a SIGKILL at any moment leaves a
// readable file holding every acknowledged change), serialised and coalesced, bounded; a damaged file is never
// overwritten.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, STATE_FILE } from '../../../api/index.js';
import type { LeaseRecord } from '../../../apps/dmz/lease-book.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const lease = (id: number, state: LeaseRecord['state'] = 'active'): LeaseRecord => ({
  id, project: 'p', dtn: 'dtn1', remote: '192.0.2.0/24', protocol: 'tcp', localPorts: [{ lo: 1, hi: 2 }], remotePorts: [{ lo: 0, hi: 65535 }],
  path: 'routed', start: 1, end: 2, state, createdAt: 1, counters: { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0 },
});

describe('store', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'dmzgate-store-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const fresh = (name: string) => join(dir, name);

  it('starts empty, and what is committed is in the file (0600) and comes back on reopen', async () => {
    const s = await openStore(fresh('a'));
    expect(s.loaded).toBe(true);
    expect(s.load()).toEqual({ leases: [], blocks: [] });
    s.putLease(lease(7));
    s.addAudit({ actor: 'system', action: 'x', decision: 'done' });
    const ev = s.addEvent('switch.up', { switch: { dpid: '1' } });
    await s.commit();
    const file = join(fresh('a'), STATE_FILE);
    expect((execFileSync('stat', ['-c', '%a', file]).toString().trim())).toBe('600');
    const t = await openStore(fresh('a'));
    expect(t.load().leases).toEqual([lease(7)]);
    expect(t.lastEventId).toBe(ev.id);
    expect(t.eventsSince(0).map((e) => e.id)).toEqual([ev.id]);
    // load() hands out copies: the app mutates its records, the store's stay as committed.
    t.load().leases[0]!.state = 'expired';
    expect(t.data.leases[7]!.state).toBe('active');
  });

  it('coalesces: many commits in flight become few writes, each commit resolving after a write that holds its change', async () => {
    const s = await openStore(fresh('b'));
    let writes = 0;
    s.on('write', () => writes++);
    const acks: Promise<void>[] = [];
    for (let i = 0; i < 500; i++) {
      s.addAudit({ actor: 'a', action: `n${i}`, decision: 'done' });
      acks.push(s.commit().then(() => {
        const disk = JSON.parse(readFileSync(s.file, 'utf8')) as { audit: { action: string }[] };
        expect(disk.audit.some((a) => a.action === `n${i}`)).toBe(true);
      }));
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(acks);
    expect(writes).toBeGreaterThan(0);
    expect(writes).toBeLessThan(30);
  });

  it('keeps the newest events and audit entries, and the newest closed leases (always the highest id)', async () => {
    const s = await openStore(fresh('c'), { maxEvents: 3, maxAudit: 2, maxClosed: 2 });
    for (let i = 0; i < 10; i++) s.addEvent('switch.up', {});
    for (let i = 0; i < 5; i++) s.addAudit({ actor: 'a', action: 'x', decision: 'done' });
    for (let i = 1; i <= 6; i++) s.putLease(lease(i, i === 2 ? 'active' : 'released'));
    await s.commit();
    expect(s.data.events.map((e) => e.id)).toEqual([8, 9, 10]);
    expect(s.eventsSince(8).map((e) => e.id)).toEqual([9, 10]);
    expect(s.eventsSince(1).map((e) => e.id)).toEqual([8, 9, 10]);
    expect(s.oldestEventId).toBe(8);
    expect(s.data.audit.map((a) => a.id)).toEqual([4, 5]);
    expect(Object.keys(s.data.leases).map(Number).sort()).toEqual([2, 5, 6]); // the active one, and the two newest closed
    const t = await openStore(fresh('c'));
    expect(t.addEvent('switch.down', {}).id).toBe(11); // ids continue
  });

  it('refuses a damaged or foreign file rather than starting over it', async () => {
    const d = fresh('d');
    await openStore(d);
    writeFileSync(join(d, STATE_FILE), '{"version": 1, "tok');
    await expect(openStore(d)).rejects.toThrow(/not valid JSON.*refusing to start over it/);
    writeFileSync(join(d, STATE_FILE), '{"hello": "world"}');
    await expect(openStore(d)).rejects.toThrow(/not a dmzgate state file/);
    expect(readFileSync(join(d, STATE_FILE), 'utf8')).toBe('{"hello": "world"}');
  });

  it('a temp file left by a crash mid-write is ignored (and replaced by the next write)', async () => {
    const d = fresh('e');
    const s = await openStore(d);
    s.putLease(lease(1));
    await s.commit();
    writeFileSync(join(d, `.${STATE_FILE}.tmp`), '{"version": 1, "half');
    const t = await openStore(d);
    expect(t.load().leases).toHaveLength(1);
    t.putLease(lease(2));
    await t.commit();
    expect(existsSync(join(d, `.${STATE_FILE}.tmp`))).toBe(false);
  });

  it('a failed write rejects its commits, and the changes go out with the next write that succeeds', async () => {
    const d = fresh('f');
    const s = await openStore(d);
    const errors: Error[] = [];
    s.on('writeError', (e) => errors.push(e));
    rmSync(d, { recursive: true });
    s.putLease(lease(3));
    await expect(s.commit()).rejects.toThrow(/ENOENT/);
    expect(errors).toHaveLength(1);
    execFileSync('mkdir', ['-p', d]);
    await s.commit();
    expect(JSON.parse(readFileSync(join(d, STATE_FILE), 'utf8')).leases['3'].id).toBe(3);
  });
});

describe('store under SIGKILL', () => {
  let build: string;
  let dir: string;
  beforeAll(() => {
    // The child runs the store's own code, compiled (Node 20 runs no TypeScript) into a folder under
    // node_modules so that it resolves lowdb from there.
    build = join(ROOT, 'node_modules', '.cache', `dmzgate-store-kill-${process.pid}`);
    execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), [
      '--ignoreConfig', join(ROOT, 'test/unit/api/fixtures/store-hammer.ts'), '--outDir', build, '--rootDir', ROOT,
      '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--skipLibCheck',
    ], { cwd: ROOT, stdio: 'pipe' });
    dir = mkdtempSync(join(tmpdir(), 'dmzgate-kill-'));
  });
  afterAll(() => {
    rmSync(build, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('after a kill -9 at random moments the file parses and holds every acknowledged write', async () => {
    const script = join(build, 'test/unit/api/fixtures/store-hammer.js');
    let totalAcked = 0;
    let midWrite = 0;
    for (let round = 0; round < 12; round++) {
      const child = spawn(process.execPath, [script, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      const acked: number[] = [];
      let stderr = '';
      let buf = '';
      let ready!: () => void;
      const isReady = new Promise<void>((r) => { ready = r; });
      child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        buf += s;
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) {
          if (l.startsWith('ready')) ready();
          else if (l.startsWith('ack ')) acked.push(Number(l.slice(4)));
        }
      });
      const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, sig) => r(sig)));
      await Promise.race([isReady, exited.then(() => { throw new Error(`hammer died: ${stderr}`); })]);
      await new Promise((r) => setTimeout(r, 30 + Math.random() * 300));
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      if (existsSync(join(dir, `.${STATE_FILE}.tmp`))) midWrite++;
      // Whatever the child printed before it died was acknowledged after its write resolved.
      const text = readFileSync(join(dir, STATE_FILE), 'utf8');
      const state = JSON.parse(text) as { audit: { id: number }[] };
      const onDisk = new Set(state.audit.map((a) => a.id));
      const missing = acked.filter((id) => !onDisk.has(id));
      expect(missing, `round ${round}: acknowledged but not in the file`).toEqual([]);
      expect(acked.length).toBeGreaterThan(0);
      totalAcked += acked.length;
    }
    // Most kills land while a write is under way (its temp file exists): the rename is what keeps the file whole.
    console.log(`SIGKILL test: ${totalAcked} acknowledged writes over 12 kills, ${midWrite} kills mid-write`);
    expect(totalAcked).toBeGreaterThan(1000);
  });
});
