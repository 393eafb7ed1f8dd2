// bench:controller's round trips, timed by the C client (bench/c/of-latency-client.c) rather than by Node: one
// packet-in outstanding at a time, from OpenFlow 1.3 switches the client plays, to the flow-mod that answers it.
// Its floor is the same client against bench/c/of-fixed-reply.c, a controller that does no work.
import { spawn, type ChildProcess } from 'node:child_process';
import { cProgram } from './c-programs.js';

/** Percentiles (us) of one phase and the CPU seconds each side and each core spent in it. */
export interface RoundTrips {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Answers that were not byte-identical to the expected one (xid aside); OFPT_ERRORs the controller sent. */
  mismatched: number;
  errors: number;
  wallS: number;
  clientCpuS: number;
  serverCpuS: number;
  /** Busy seconds of CPUs 0 and 1 during the phase, all processes. */
  coreBusyS: [number, number];
}

/** `paced` is absent when the client was asked for no paced round trips. */
export interface RoundTripRun {
  b2b: RoundTrips;
  paced?: RoundTrips;
}

export interface ClientOptions {
  port: number;
  packetIn: Buffer;
  expect: Buffer;
  /** The controller's process, for its CPU time. */
  serverPid: number;
  /** Where the client runs (taskset -c). */
  core: string;
  warmMs: number;
  b2b: number;
  paced: number;
  gapUs: number;
}

/** Parses one JSON line of the client's output (snake_case) into RoundTrips. */
export function parsePhase(line: string): { phase: string; trips: RoundTrips } {
  const j = JSON.parse(line) as Record<string, unknown>;
  const num = (k: string) => {
    const v = j[k];
    if (typeof v !== 'number') throw new Error(`of-latency-client: no number "${k}" in ${line}`);
    return v;
  };
  const cores = j.core_busy_s;
  if (!Array.isArray(cores) || cores.length !== 2) throw new Error(`of-latency-client: no core_busy_s in ${line}`);
  return {
    phase: String(j.phase),
    trips: {
      n: num('n'),
      min: num('min'),
      p50: num('p50'),
      p90: num('p90'),
      p99: num('p99'),
      max: num('max'),
      mismatched: num('mismatched'),
      errors: num('errors'),
      wallS: num('wall_s'),
      clientCpuS: num('self_cpu_s'),
      serverCpuS: num('server_cpu_s'),
      coreBusyS: [Number(cores[0]), Number(cores[1])],
    },
  };
}

function collect(proc: ChildProcess, what: string): Promise<string> {
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', (code, sig) => (code === 0 ? resolve(out) : reject(new Error(`${what} exited (${code ?? sig}): ${err.trim()}`))));
  });
}

/** Runs the client once (warm-up, back-to-back phase, paced phase) against the controller on `port`. */
export async function runClient(o: ClientOptions): Promise<RoundTripRun> {
  const args = [
    '-c',
    o.core,
    cProgram('of-latency-client'),
    '--port',
    String(o.port),
    '--packet-in',
    o.packetIn.toString('hex'),
    '--expect',
    o.expect.toString('hex'),
    '--server-pid',
    String(o.serverPid),
    '--warm-ms',
    String(o.warmMs),
    '--b2b',
    String(o.b2b),
    '--paced',
    String(o.paced),
    '--gap-us',
    String(o.gapUs),
  ];
  const out = await collect(spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] }), 'of-latency-client');
  const phases = new Map(
    out
      .trim()
      .split('\n')
      .map((l) => {
        const p = parsePhase(l);
        return [p.phase, p.trips] as const;
      }),
  );
  const b2b = phases.get('b2b');
  const paced = phases.get('paced');
  if (!b2b || (o.paced > 0 && !paced)) throw new Error(`of-latency-client: missing a phase in\n${out}`);
  return { b2b, paced };
}

/**
 * The floor's controller: of-fixed-reply on `core`, answering every packet-in with `reply`; waiting in poll() as a
 * controller does, or with `spin` polling without a wait (no wake-up: only the client's and loopback's cost left).
 */
export async function startFixedReply(
  reply: Buffer,
  core: string,
  spin = false,
): Promise<{ port: number; pid: number; proc: ChildProcess; stop: () => Promise<void> }> {
  const args = ['-c', core, cProgram('of-fixed-reply'), '--reply', reply.toString('hex'), ...(spin ? ['--spin'] : [])];
  const proc = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    proc.once('error', reject);
    proc.once('exit', (c) => reject(new Error(`of-fixed-reply exited (${c})`)));
  });
  return {
    port,
    pid: proc.pid!,
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}
