// Structured logs (JSON lines) for the controller: pino, because it is fast enough for per-switch events and
// its child loggers carry the datapath id on every line without string building.
import pino, { Logger } from 'pino';

export type { Logger };

export function createLogger(opts: { level?: string; destination?: string | number } = {}): Logger {
  const level = opts.level ?? process.env.DMZGATE_LOG_LEVEL ?? 'info';
  return pino({ level, base: { app: 'dmzgate' } }, pino.destination(opts.destination ?? 1));
}

/** A logger that discards everything (tests and benchmarks that do not want output). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
