// Structured logs (JSON lines) for the controller: pino, because it is fast enough for per-switch events and
// its child loggers carry the datapath id on every line without string building.
import pino, { Logger } from 'pino';

export type { Logger };

export function createLogger(opts: { level?: string; destination?: string | number } = {}): Logger {
  const level = opts.level ?? process.env.DMZGATE_LOG_LEVEL ?? 'info';
  // Written synchronously, line by line, as Node itself writes process.stdout to a file or a pipe on Linux.
  // pino.destination(fd) alone writes asynchronously: every line that finds no write under way goes to a libuv
  // thread-pool thread, which then wakes the event loop. A granted lease logs a line (its audit entry), so under
  // load that took thread switches on the controller's core (measured in 2,500 POSTs at concurrency 10, controller
  // on one core: its main thread preempted ~1,990 times with it, 69-84 times without; the pool's threads gone from a
  // scheduler trace).
  // As with process.stdout, a reader that stops reading a pipe stalls the writer.
  return pino({ level, base: { app: 'dmzgate' } }, pino.destination({ dest: opts.destination ?? 1, sync: true }));
}

/** A logger that discards everything (tests and benchmarks that do not want output). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
