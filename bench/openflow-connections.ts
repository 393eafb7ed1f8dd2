// bench:connections: what idle TCP connections to the OpenFlow port cost a running `dmzgate controller`. Opens
// as many connections as the file-descriptor limit allows (20,000 at most), sends nothing on them, and prints the
// controller's resident memory before, while they are held, and after they are closed; and how many of them
// the controller closed at once (over its cap on connections that have not finished the OpenFlow handshake).
//
//   npm run bench:connections [-- --connections=N] [-- --controller-args="--openflow-max-pending-per-source 20000"]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI } from './api-servers.js';
import { canConnect, freePort } from './local-ports.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  return kb / 1024;
}

/** This process's soft limit on open files (each connection costs one here and one in the controller). */
function fdLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  return Number(line?.split(/\s+/)[3] ?? 1024);
}

interface Held {
  sockets: Socket[];
  closedByServer: number;
  failed: number;
}

/** Opens `n` connections, `parallel` at a time, and keeps those the controller does not close. */
async function openIdle(port: number, n: number, parallel: number): Promise<Held> {
  const held: Held = { sockets: [], closedByServer: 0, failed: 0 };
  let next = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      let open = false;
      s.on('error', () => undefined);
      s.on('data', () => undefined); // reading, to see the controller close it
      s.once('connect', () => {
        open = true;
        held.sockets.push(s);
        resolve();
      });
      s.once('close', () => {
        if (open) held.closedByServer++;
        else {
          held.failed++;
          resolve();
        }
      });
    });
  const worker = async () => {
    while (next < n) {
      next++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return held;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { connections: { type: 'string' }, 'controller-args': { type: 'string', default: '' } } });
  const limit = fdLimit();
  const n = Math.min(Number(values.connections ?? 20_000), limit - 200);
  const dataDir = mkdtempSync(join(tmpdir(), 'dmzgate-bench-conn-'));
  const ofPort = await freePort();
  const apiPort = await freePort();
  const extra = values['controller-args'].split(/\s+/).filter(Boolean);
  const proc: ChildProcess = spawn(
    process.execPath,
    [CLI, 'controller', '--openflow-port', String(ofPort), '--api-port', String(apiPort), '--data', dataDir, '--log-level', 'error', ...extra],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  try {
    const until = Date.now() + 20_000;
    while (!(await canConnect(ofPort))) {
      if (Date.now() > until || proc.exitCode !== null) throw new Error('the controller did not start listening');
      await sleep(100);
    }
    await sleep(2000);
    const pid = proc.pid!;
    const before = rssMb(pid);
    const t0 = performance.now();
    const held = await openIdle(ofPort, n, 256);
    const openMs = performance.now() - t0;
    await sleep(500);
    const during = rssMb(pid);
    const stillOpen = held.sockets.filter((s) => !s.destroyed).length;
    const closedByServer = held.closedByServer;
    for (const s of held.sockets) s.destroy();
    await sleep(5000);
    const after = rssMb(pid);
    console.log(`bench:connections: ${n} idle TCP connections to the OpenFlow port (fd limit ${limit}), opened in ${(openMs / 1000).toFixed(1)} s`);
    console.log(`  accepted by TCP       ${held.sockets.length} (failed to connect: ${held.failed})`);
    console.log(`  closed by controller  ${closedByServer} while opening; ${stillOpen} still open 0.5 s after the last`);
    console.log(
      `  controller RSS        before ${before.toFixed(0)} MB, during ${during.toFixed(0)} MB (+${(during - before).toFixed(0)}), ` +
        `5 s after closing ${after.toFixed(0)} MB (+${(after - before).toFixed(0)})`,
    );
  } finally {
    proc.kill('SIGTERM'); // our own child, by its handle
    await new Promise((r) => proc.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
