// bench:controller's round trips: dmzgate, os-ken and the floors, each timed by the C client (bench/of-round-trip.ts)
// on the client core against a server on the controller core. The systems are measured in rounds, one after the
// other within a round (the order reversed every other round), and each keeps its best round: this VM's speed
// drifts within a minute, so a ratio of figures taken seconds apart says more than one of figures a minute apart.
import type { ChildProcess } from 'node:child_process';
import { runClient, startFixedReply, type RoundTrips } from './of-round-trip.js';

/** One timed phase of the C client, with the share of each core other work took while it ran (NaN: too short). */
export type Latency = RoundTrips & { other: [number, number] };
export interface LatencyPair {
  b2b: Latency;
  paced: Latency;
}

/**
 * The floors: the same client against a controller that does no work (bench/c/of-fixed-reply.c).
 * wake: it waits in poll() as a controller does (loopback TCP and one wake-up of the server per round trip);
 * wire: it spins instead (loopback TCP and the client alone: the harness's own floor; back-to-back only, as a
 * spinning server is descheduled by the kernel when it has nothing to do for a millisecond).
 */
export interface Floors {
  wake: LatencyPair;
  wire: Latency;
}

export interface Latencies {
  dmzgate: LatencyPair;
  osken: LatencyPair;
  floors: Floors;
}

/** A controller under test, started fresh for each round. */
export interface Server {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export interface LatencyPlan {
  packetIn: Buffer;
  /** The answer every server must give (xid aside); the floors' server sends exactly these bytes. */
  answer: Buffer;
  clientCore: string;
  serverCore: string;
  rounds: number;
  warmMs: number;
  b2b: number;
  paced: number;
  startDmzgate: () => Promise<Server>;
  startOsken: () => Promise<Server>;
  /** Registers a child process to be killed if the bench dies. */
  track(proc: ChildProcess): void;
  log(what: string): void;
}

/** Busy time of each core not spent by the client (client core) or the server (server core), per second of wall. */
export function withOtherLoad(t: RoundTrips): Latency {
  const f = (i: 0 | 1, ours: number) => (t.wallS < 0.25 ? NaN : Math.max(0, (t.coreBusyS[i] - ours) / t.wallS));
  return { ...t, other: [f(0, t.clientCpuS), f(1, t.serverCpuS)] };
}

async function on<T>(start: () => Promise<Server>, fn: (s: Server) => Promise<T>): Promise<T> {
  const s = await start();
  try {
    return await fn(s);
  } finally {
    await s.stop();
  }
}

/** Every system's best round (least back-to-back median). */
export async function measureLatencies(p: LatencyPlan): Promise<Latencies> {
  // One switch, one packet-in outstanding: a warm-up back-to-back (a JIT's code must be optimised before it is
  // timed), then back-to-back and paced at one every millisecond (both sides idle in between: wake-ups included).
  const pair = async (s: Server): Promise<LatencyPair> => {
    const r = await runClient({
      port: s.port,
      packetIn: p.packetIn,
      expect: p.answer,
      serverPid: s.pid,
      core: p.clientCore,
      warmMs: p.warmMs,
      b2b: p.b2b,
      paced: p.paced,
      gapUs: 1000,
    });
    return { b2b: withOtherLoad(r.b2b), paced: withOtherLoad(r.paced!) };
  };
  const fixed = (spin: boolean) => async (): Promise<Server> => {
    const s = await startFixedReply(p.answer, p.serverCore, spin);
    p.track(s.proc);
    return s;
  };
  const floors = async (): Promise<Floors> => ({
    wake: await on(fixed(false), pair),
    wire: await on(fixed(true), async (s) =>
      withOtherLoad(
        (
          await runClient({
            port: s.port,
            packetIn: p.packetIn,
            expect: p.answer,
            serverPid: s.pid,
            core: p.clientCore,
            warmMs: p.warmMs / 4,
            b2b: p.b2b,
            paced: 0,
            gapUs: 1000,
          })
        ).b2b,
      ),
    ),
  });
  let best: Latencies | undefined;
  const better = (a: LatencyPair, b: LatencyPair | undefined) => (b === undefined || a.b2b.p50 < b.b2b.p50 ? a : b);
  for (let k = 0; k < p.rounds; k++) {
    const steps = [
      async () => ({ dmzgate: await on(p.startDmzgate, pair) }),
      async () => ({ osken: await on(p.startOsken, pair) }),
      async () => ({ floors: await floors() }),
    ];
    const got: Partial<Latencies> = {};
    for (const step of k % 2 ? steps.reverse() : steps) Object.assign(got, await step());
    best = {
      dmzgate: better(got.dmzgate!, best?.dmzgate),
      osken: better(got.osken!, best?.osken),
      floors: best === undefined || got.floors!.wake.b2b.p50 < best.floors.wake.b2b.p50 ? got.floors! : best.floors,
    };
    p.log(
      `latency round ${k + 1}: medians dmzgate ${got.dmzgate!.b2b.p50} us, os-ken ${got.osken!.b2b.p50} us, floor ${got.floors!.wake.b2b.p50}/${got.floors!.wire.p50} us`,
    );
  }
  return best!;
}
