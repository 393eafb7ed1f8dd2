// Running the built `dmzgate` command in tests: the process with its JSON-lines log parsed, and waiting helpers.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const UP1 = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The project root, from lab/ or, compiled, from dist/lab/ (bench scripts run from dist). */
export const ROOT = basename(UP1) === 'dist' && existsSync(join(UP1, '..', 'package.json')) ? dirname(UP1) : UP1;
export const CLI = join(ROOT, 'dist', 'bin', 'dmzgate.js');

export type LogLine = { level: number; msg: string; [k: string]: unknown };

/** What the command loads of ours besides the codec: dist/ must hold builds at least as new as these. */
const SOURCES = [
  ...['bin', 'bin/commands'].flatMap((dir) =>
    readdirSync(join(ROOT, dir))
      .filter((n) => n.endsWith('.ts'))
      .map((n) => `${dir}/${n}`),
  ),
  ...['controller', 'switch-connection', 'requests', 'errors', 'log', 'flow-manager'].map((n) => `controller/${n}.ts`),
  'apps/dmz/dmz-app.ts',
  'api/server.ts',
];

/** The built command must exist and not be older than its sources (a stale build would test old code). */
export function checkBuild(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (scripts/test.sh does) before this test`);
  for (const src of SOURCES) {
    const built = join(ROOT, 'dist', src.replace(/\.ts$/, '.js'));
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(ROOT, src)).mtimeMs) {
      throw new Error(`dist/ is older than ${src}: run \`npm run build\` before this test`);
    }
  }
}

/** A running `dmzgate controller`, its stdout parsed as JSON lines. */
export class Running {
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  constructor(args: string[], cwd: string) {
    this.child = spawn(process.execPath, [CLI, 'controller', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    this.child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      partial += s;
      const parts = partial.split('\n');
      partial = parts.pop()!;
      for (const p of parts) if (p.trim()) this.lines.push(JSON.parse(p) as LogLine);
    });
    this.child.stderr!.setEncoding('utf8').on('data', (s: string) => this.stderr.push(s));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async line(pred: (l: LogLine) => boolean, what: string, ms = 15_000): Promise<LogLine> {
    const deadline = Date.now() + ms;
    for (;;) {
      const l = this.lines.find(pred);
      if (l) return l;
      if (!this.running) throw new Error(`dmzgate exited before logging ${what}; stderr: ${this.stderr.join('')}`);
      if (Date.now() > deadline) throw new Error(`dmzgate did not log ${what} within ${ms} ms; log: ${JSON.stringify(this.lines)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig); // our own child, by its handle
  }
}

export async function until(what: string, cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
