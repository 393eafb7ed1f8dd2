// N emulated switches (dpids 1..N, or from `firstDpid`) against one controller address: start them all, wait
// until every one has completed the OpenFlow handshake, drive traffic on all of them, stop them all.
import { EmulatedSwitch, EmulatedSwitchOptions, SwitchCounters } from './emulated-switch.js';
import type { Traffic, TrafficOptions } from './traffic.js';

export interface FleetOptions extends Omit<EmulatedSwitchOptions, 'dpid'> {
  count: number;
  firstDpid?: bigint;
  /** Connections opened at once while starting (a controller's accept backlog is finite). Default 32. */
  concurrency?: number;
  /** What start() waits for on each switch. Default 'handshake'. */
  waitFor?: 'tcp' | 'hello' | 'handshake';
}

export class Fleet {
  readonly switches: EmulatedSwitch[];
  private readonly opts: FleetOptions;

  constructor(opts: FleetOptions) {
    this.opts = opts;
    const first = opts.firstDpid ?? 1n;
    const { count: _count, firstDpid: _first, concurrency: _c, waitFor: _w, ...common } = opts;
    this.switches = Array.from({ length: opts.count }, (_, i) => new EmulatedSwitch({ ...common, dpid: first + BigInt(i) }));
  }

  get(dpid: bigint): EmulatedSwitch | undefined {
    return this.switches.find((s) => s.dpid === dpid);
  }

  /** Connects every switch; rejects (after stopping the fleet) if any fails. */
  async start(): Promise<void> {
    const queue = [...this.switches];
    const waitFor = this.opts.waitFor ?? 'handshake';
    const worker = async () => {
      for (let s = queue.shift(); s; s = queue.shift()) await s.connect({ waitFor });
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.opts.concurrency ?? 32, queue.length) }, worker));
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /** Resolves when every switch has completed the handshake (e.g. after the controller restarted). */
  async whenAllHandshaken(timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.switches.every((s) => s.handshaken)) {
      if (Date.now() > until) throw new Error(`${this.switches.filter((s) => !s.handshaken).length} switches without handshake`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.switches.map((s) => s.close()));
  }

  startPacketIns(opts: TrafficOptions): Traffic[] {
    return this.switches.map((s) => s.startPacketIns(opts));
  }

  stopPacketIns(): void {
    for (const s of this.switches) s.stopPacketIns();
  }

  /** Every switch's counters added up. */
  totals(): SwitchCounters {
    const t = { ...this.switches[0]!.counters };
    for (const k of Object.keys(t) as (keyof SwitchCounters)[]) t[k] = 0;
    for (const s of this.switches) for (const k of Object.keys(t) as (keyof SwitchCounters)[]) t[k] += s.counters[k];
    return t;
  }
}
