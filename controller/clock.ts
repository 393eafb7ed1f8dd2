// Time as a dependency: what reads the time or waits takes a Clock, so that tests run on a fake one (no sleeps,
// no dependence on the machine's load) and the DMZ core stays deterministic.

/** Cancels a timer (no effect once it fired). */
export type Cancel = () => void;

export interface Clock {
  /** Milliseconds: epoch time for a wall clock (lease ends, hard timeouts), any origin for a monotonic one. */
  now(): number;
  /** Calls `fn` once after `ms` (a timer that does not keep the process alive). */
  setTimer(ms: number, fn: () => void): Cancel;
}

function setTimer(ms: number, fn: () => void): Cancel {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
}

/** Epoch milliseconds (Date.now) and Node's timers. */
export const systemClock: Clock = { now: () => Date.now(), setTimer };

/** Monotonic milliseconds (performance.now: never steps back with the wall clock) and Node's timers. */
export const monotonicClock: Clock = { now: () => performance.now(), setTimer };
