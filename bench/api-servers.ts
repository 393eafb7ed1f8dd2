// The servers bench/api.ts measures, as processes: starting dmzgate (the built `dmzgate controller`, or
// bench/api-server.ts without state writes), the bare REST app (bench/bare-rest-app.ts) and the os-ken REST app,
// knowing when each is ready, moving each between the server core and the shared core, and stopping them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { canConnect, freePort } from './local-ports.js';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openJournalStore, createToken } from '../api/index.js';

const PYTHON = '/usr/bin/python3'; // Debian's python3-os-ken, not a pyenv shim
const HERE = dirname(fileURLToPath(import.meta.url));
export const CLI = join(HERE, '..', 'bin', 'dmzgate.js');
export const NO_WRITES = join(HERE, 'api-server.js'); // the same command with the state file's writes off
const BARE = join(HERE, 'bare-rest-app.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Server {
  system: 'dmzgate' | 'bare' | 'os-ken';
  /** Where its state lives ('' for none). */
  state: string;
  pid: number;
  api: number;
  ofPort: number;
  token: string;
  /** An admin token too (startDmzgate with `admin`: for blocks and every project's lists). */
  adminToken?: string;
  proc: ChildProcess;
  logFile: string;
  dataDir?: string;
  /** Resolves when its bridge is connected and the app's initial flows are in. */
  switchReady(): Promise<void>;
  stop(): Promise<void>;
}

/** How a server is started: on `core`, its log in `work`. */
export interface Launch {
  work: string;
  core: string;
}

async function stopProc(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const done = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM'); // our own child, by its handle
  const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  await done;
  clearTimeout(t);
}

export function fsType(dir: string): string {
  const r = spawnSync('findmnt', ['-n', '-o', 'FSTYPE', '-T', dir], { encoding: 'utf8' });
  return r.stdout?.trim().split('\n')[0] || spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).stdout?.trim() || '?';
}

/**
 * Moves every thread of process `pid` onto `core` and checks that each went: the servers all run at once, and only
 * the one being measured may be on the server core. (Threads started later inherit their creator's CPUs.)
 */
export function placeOnCore(pid: number, core: string): void {
  const r = spawnSync('taskset', ['-a', '-cp', core, String(pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`taskset -a -cp ${core} ${pid}: ${r.stderr || r.error?.message}`);
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let status: string;
    try {
      status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const cpus = /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1];
    if (cpus !== core) throw new Error(`thread ${tid} of ${pid} is on CPUs ${cpus} after taskset -a -cp ${core}`);
  }
}

function logText(s: { logFile: string }): string {
  try {
    return readFileSync(s.logFile, 'utf8');
  } catch {
    return '';
  }
}

/** The first JSON log line (dmzgate's pino output) that `pred` accepts. */
function logLine(s: { logFile: string }, pred: (l: Record<string, unknown>) => boolean): Record<string, unknown> | undefined {
  for (const text of logText(s).split('\n')) {
    if (!text.startsWith('{')) continue;
    try {
      const l = JSON.parse(text) as Record<string, unknown>;
      if (pred(l)) return l;
    } catch {
      // a line being written
    }
  }
  return undefined;
}

async function waitFor(
  what: string,
  srv: { proc: ChildProcess; logFile: string },
  cond: () => boolean | Promise<boolean>,
  ms = 30_000,
): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (srv.proc.exitCode !== null || srv.proc.signalCode !== null)
      throw new Error(`${what}: the server exited (${srv.proc.exitCode ?? srv.proc.signalCode}):\n${logText(srv).slice(-3000)}`);
    if (Date.now() > until) throw new Error(`${what}: not within ${ms} ms:\n${logText(srv).slice(-3000)}`);
    await sleep(50);
  }
}

/**
 * Waits for the log line `msg` that gives the server's API URL (`api`: it listens on port 0) and returns the port;
 * stops the server if that never comes.
 */
async function apiPortFromLog(what: string, srv: { proc: ChildProcess; logFile: string }, msg: string): Promise<number> {
  let api = 0;
  try {
    await waitFor(what, srv, () => {
      const logged = logLine(srv, (l) => l.msg === msg)?.api;
      const url = typeof logged === 'string' ? /:(\d+)$/.exec(logged) : null;
      if (url) api = Number(url[1]);
      return api > 0;
    });
  } catch (e) {
    await stopProc(srv.proc);
    throw e;
  }
  return api;
}

/**
 * dmzgate with its data in `dataDir`; `entry` is the CLI or bench/api-server.js, `nodeArgs` e.g. --cpu-prof;
 * `admin`: also make an admin token (Server.adminToken).
 */
export async function startDmzgate(
  at: Launch,
  dataDir: string,
  state: string,
  nodeArgs: string[] = [],
  entry = CLI,
  opts: { admin?: boolean } = {},
): Promise<Server> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`);
  mkdirSync(dataDir, { recursive: true });
  // A project token as an operator would make it (dmzgate token create), before the controller claims the directory.
  const store = await openJournalStore(dataDir);
  const { token } = await createToken(store, {
    project: 'bench',
    dtns: ['dtn1'],
    remotes: ['198.18.0.0/15'],
    ports: ['50000-51000'],
    paths: ['routed'],
    maxDurationSeconds: 3600,
    scopes: ['transfers:write'],
    description: 'bench/api.ts',
  });
  const adminToken = opts.admin
    ? (
        await createToken(store, {
          project: 'bench-ops',
          dtns: ['dtn1'],
          remotes: ['0.0.0.0/0', '::/0'],
          ports: ['0-65535'],
          paths: ['routed'],
          maxDurationSeconds: 3600,
          scopes: ['admin'],
          description: 'bench admin',
        })
      ).token
    : undefined;
  await store.close();
  const ofPort = await freePort();
  const logFile = join(at.work, `dmzgate-${state.replace(/\W+/g, '-')}${nodeArgs.length ? '-profiled' : ''}.log`);
  const fd = openSync(logFile, 'w');
  // Logs at the default level (info) to a file: what a deployment pays, without a pipe this process must drain.
  const args = entry === CLI ? [CLI, 'controller'] : [entry];
  // One token makes every request: its request limit (100/s by default) is raised out of reach, not turned off,
  // so that its bookkeeping is still measured.
  const proc = spawn(
    'taskset',
    [
      '-c',
      at.core,
      process.execPath,
      ...nodeArgs,
      ...args,
      '--openflow-port',
      String(ofPort),
      '--api-port',
      '0',
      '--data',
      dataDir,
      '--api-rate-limit',
      '1000000000',
      '--api-rate-burst',
      '1000000000',
    ],
    { stdio: ['ignore', fd, fd] },
  );
  closeSync(fd);
  const srv = { proc, logFile };
  const api = await apiPortFromLog('dmzgate controller ready', srv, 'controller ready');
  return {
    system: 'dmzgate',
    state,
    pid: proc.pid!,
    api,
    ofPort,
    token,
    ...(adminToken ? { adminToken } : {}),
    proc,
    logFile,
    dataDir,
    switchReady: () =>
      waitFor(
        'dmzgate: switch reconciled',
        srv,
        () => logLine(srv, (l) => l.msg === 'reconciled switch' && l.dpid === '0000000000000001') !== undefined,
      ),
    stop: () => stopProc(proc),
  };
}

function appPath(name: string): string {
  // Python files are not compiled: from dist/bench/ look in the source tree's bench/.
  const p = [join(HERE, name), join(HERE, '../../bench', name)].find((f) => existsSync(f));
  if (!p) throw new Error(`${name} not found next to ${HERE}`);
  return p;
}

export function oskenVersion(): [string, string] {
  const out = spawnSync(PYTHON, ['-c', 'import os_ken, sys; print(os_ken.__version__, sys.version.split()[0])'], { encoding: 'utf8' })
    .stdout.trim()
    .split(' ');
  return [out[0] || '?', out[1] || '?'];
}

export async function startOsken(at: Launch): Promise<Server> {
  const ofPort = await freePort();
  const api = await freePort();
  const token = randomBytes(32).toString('base64url');
  const logFile = join(at.work, 'osken.log');
  const fd = openSync(logFile, 'w');
  const proc = spawn(
    'taskset',
    [
      '-c',
      at.core,
      PYTHON,
      '-m',
      'os_ken.cmd.manager',
      '--ofp-listen-host',
      '127.0.0.1',
      '--ofp-tcp-listen-port',
      String(ofPort),
      appPath('osken_rest_app.py'),
    ],
    {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, OSKEN_BENCH_HTTP_PORT: String(api), OSKEN_BENCH_TOKEN: token },
    },
  );
  closeSync(fd);
  const srv = { proc, logFile };
  try {
    await waitFor('os-ken REST app listening', srv, () => canConnect(api));
  } catch (e) {
    await stopProc(proc);
    throw new Error(`${(e as Error).message}\nIs python3-os-ken installed? (apt-get install python3-os-ken; ${PYTHON})`, { cause: e });
  }
  return {
    system: 'os-ken',
    state: '',
    pid: proc.pid!,
    api,
    ofPort,
    token,
    proc,
    logFile,
    switchReady: () => waitFor('os-ken: switch connected', srv, () => logText(srv).includes('"ready": true')),
    stop: () => stopProc(proc),
  };
}

/** The bare REST app (bench/bare-rest-app.ts): the os-ken app's program on dmzgate's stack, nothing kept. */
export async function startBare(at: Launch): Promise<Server> {
  const ofPort = await freePort();
  const token = randomBytes(32).toString('base64url');
  const logFile = join(at.work, 'bare.log');
  const fd = openSync(logFile, 'w');
  const proc = spawn('taskset', ['-c', at.core, process.execPath, BARE, '--openflow-port', String(ofPort)], {
    stdio: ['ignore', fd, fd],
    env: { ...process.env, BARE_TOKEN: token },
  });
  closeSync(fd);
  const srv = { proc, logFile };
  const api = await apiPortFromLog('bare REST app listening', srv, 'listening');
  return {
    system: 'bare',
    state: '',
    pid: proc.pid!,
    api,
    ofPort,
    token,
    proc,
    logFile,
    switchReady: () => waitFor('bare REST app: switch connected', srv, () => logLine(srv, (l) => l.msg === 'switch ready') !== undefined),
    stop: () => stopProc(proc),
  };
}
