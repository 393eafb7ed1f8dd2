// Packet-in load for benchmarks: a fixed rate, or 'flood' (as fast as the socket drains), and the latency of the
// controller's answer (packet-in -> flow-mod or packet-out), measured only when exactly one packet-in was
// outstanding so that the answer cannot belong to another packet-in.

/** What the generator needs from a switch. */
export interface PacketInSink {
  /** Queues one packet-in; false if the switch did not send it (not connected, masked by async config...). */
  emitPacketIn(frame: Buffer, inPort: number): boolean;
  /** Bytes written but not yet handed to the kernel. */
  readonly queuedBytes: number;
  readonly connected: boolean;
  /** Calls `cb` once the socket has drained (or the connection is gone). */
  whenDrained(cb: () => void): void;
  /** A packet-in the generator dropped because the queue was over its high-water mark. */
  noteDropped(): void;
}

export interface TrafficOptions {
  /** Packet-ins per second, or 'flood'. */
  rate: number | 'flood';
  /** The frame, or one per packet-in (e.g. varying source MACs so that a controller installs distinct flows). */
  frame: Buffer | ((i: number) => Buffer);
  inPort?: number | ((i: number) => number);
  /** Stop after this many packet-ins... */
  count?: number;
  /** ...or after this long. */
  durationMs?: number;
  /**
   * Queue limit. At a fixed rate, packet-ins beyond it are dropped (and counted), as a switch drops what its
   * controller connection cannot take; in flood mode the generator waits for the socket to drain.
   */
  highWaterBytes?: number;
}

export class Traffic {
  sent = 0;
  dropped = 0;
  /** Settles when the run ends (count or duration reached, stop(), or disconnection). */
  readonly done: Promise<void>;
  private finish!: () => void;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private readonly sink: PacketInSink;
  private readonly opts: TrafficOptions;
  private readonly highWater: number;
  private attempted = 0;

  constructor(sink: PacketInSink, opts: TrafficOptions) {
    this.sink = sink;
    this.opts = opts;
    this.highWater = opts.highWaterBytes ?? 1 << 20;
    this.done = new Promise((resolve) => (this.finish = resolve));
    if (opts.rate !== 'flood' && !(opts.rate > 0)) throw new RangeError(`rate must be positive or 'flood': ${opts.rate}`);
  }

  start(): this {
    const { rate, durationMs } = this.opts;
    if (rate === 'flood') {
      if (durationMs !== undefined) this.deadline = setTimeout(() => this.stop(), durationMs);
      this.pump();
      return this;
    }
    // Each tick (every 10 ms at most, 1 ms at least) sends what is due since the start, so timer jitter does not
    // change the rate; a run with a duration sends exactly rate x duration packet-ins even if the timers are late.
    const began = performance.now();
    const horizon = durationMs ?? Infinity;
    const due = (elapsed: number) => Math.floor((rate * Math.min(elapsed, horizon)) / 1000);
    this.timer = setInterval(() => this.sendDue(due(performance.now() - began)), Math.max(1, Math.min(10, Math.floor(1000 / rate))));
    if (durationMs !== undefined) {
      this.deadline = setTimeout(() => {
        this.sendDue(due(durationMs));
        this.stop();
      }, durationMs);
    }
    return this;
  }

  private sendDue(due: number): void {
    while (this.attempted < due && !this.stopped) {
      if (this.finished()) return this.stop();
      this.attempted++;
      if (this.sink.queuedBytes > this.highWater) {
        this.dropped++;
        this.sink.noteDropped();
      } else {
        this.emit();
      }
    }
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.deadline) clearTimeout(this.deadline);
    this.finish();
  }

  private finished(): boolean {
    return !this.sink.connected || (this.opts.count !== undefined && this.sent + this.dropped >= this.opts.count);
  }

  private emit(): void {
    const i = this.sent + this.dropped;
    const { frame, inPort = 1 } = this.opts;
    const ok = this.sink.emitPacketIn(typeof frame === 'function' ? frame(i) : frame, typeof inPort === 'function' ? inPort(i) : inPort);
    if (ok) this.sent++;
    else this.dropped++;
  }

  /** Flood: batches while the queue is below the high-water mark, then waits for 'drain'. */
  private pump = (): void => {
    if (this.stopped) return;
    for (let n = 0; n < 256; n++) {
      if (this.finished()) return this.stop();
      if (this.sink.queuedBytes >= this.highWater) return this.sink.whenDrained(this.pump);
      this.emit();
    }
    setImmediate(this.pump);
  };
}

export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

/** The last `capacity` latency samples (ms), in a fixed ring so that memory stays bounded. */
export class LatencyRecorder {
  private samples: Float64Array | undefined;
  private n = 0;
  total = 0;
  private readonly capacity: number;

  constructor(capacity = 4096) {
    this.capacity = capacity;
  }

  record(ms: number): void {
    this.samples ??= new Float64Array(this.capacity);
    this.samples[this.n % this.capacity] = ms;
    this.n++;
    this.total++;
  }

  reset(): void {
    this.n = 0;
    this.total = 0;
  }

  /** Over the samples still held. */
  summary(): LatencySummary {
    const k = Math.min(this.n, this.capacity);
    if (!this.samples || k === 0) return { count: 0, min: 0, mean: 0, p50: 0, p99: 0, max: 0 };
    const s = this.samples.slice(0, k).sort();
    let sum = 0;
    for (const v of s) sum += v;
    const q = (p: number) => s[Math.min(k - 1, Math.floor(p * k))]!;
    return { count: this.total, min: s[0]!, mean: sum / k, p50: q(0.5), p99: q(0.99), max: s[k - 1]! };
  }
}
