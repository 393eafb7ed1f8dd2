// Child processes killed with SIGKILL at a random instant, for the crash tests of the state store: compiled
// from TypeScript (Node 20 runs none) into a folder under node_modules, so that they resolve lowdb from there.
import { execFileSync, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Compiles the children (paths from the repository's root); returns where their .js files are, and a cleanup. */
export function compileChildren(tag: string, sources: string[]): { build: string; remove(): void } {
  const build = join(ROOT, 'node_modules', '.cache', `dmzgate-${tag}-${process.pid}`);
  execFileSync(
    join(ROOT, 'node_modules', '.bin', 'tsc'),
    [
      '--ignoreConfig',
      ...sources.map((s) => join(ROOT, s)),
      '--outDir',
      build,
      '--rootDir',
      ROOT,
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--types',
      'node',
      '--skipLibCheck',
    ],
    { cwd: ROOT, stdio: 'pipe' },
  );
  return { build, remove: () => rmSync(build, { recursive: true, force: true }) };
}

/**
 * Runs a compiled child until it prints a line starting with `ready` and then its first other line (its first
 * acknowledged write: on a loaded host the child may wait long for its turn), then for a random part of `maxMs`,
 * kills it with SIGKILL, and returns the other lines it printed.
 */
export async function runAndKill(script: string, args: string[], maxMs: number): Promise<string[]> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  let buf = '';
  let ready!: () => void;
  const isReady = new Promise<void>((r) => {
    ready = r;
  });
  let printed!: () => void;
  const hasPrinted = new Promise<void>((r) => {
    printed = r;
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    buf += s;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const l of parts) {
      if (l.startsWith('ready')) ready();
      else {
        lines.push(l);
        printed();
      }
    }
  });
  const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, sig) => r(sig)));
  const died = exited.then(() => {
    throw new Error(`child died: ${stderr}`);
  });
  died.catch(() => undefined);
  await Promise.race([isReady.then(() => hasPrinted), died]);
  await new Promise((r) => setTimeout(r, Math.random() * maxMs));
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  await new Promise((r) => setImmediate(r)); // the pipe's last data
  return lines;
}
