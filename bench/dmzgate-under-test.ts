// `dmzgate controller` as the fabric benchmarks run it: the built command in its own process (so that whatever
// the command wires between the controller, the fabric monitor, the DMZ app and the API is what is measured), on
// a site config in a fresh data directory, with its admin token and API address read from that directory.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Running, checkBuild } from '../lab/dmzgate-process.js';
import { freePort } from './local-ports.js';

export interface ApiAnswer {
  status: number;
  body: Record<string, unknown>;
}

export class DmzgateUnderTest {
  private constructor(
    readonly openflowPort: number,
    readonly api: string,
    readonly token: string,
    private readonly proc: Running,
    private readonly dir: string,
  ) {}

  /** `under`: where its directory (config, state) goes; default the system's temporary directory. */
  static async start(siteYaml: string, opts: { lldpIntervalMs?: number; under?: string } = {}): Promise<DmzgateUnderTest> {
    checkBuild();
    const dir = mkdtempSync(join(opts.under ?? tmpdir(), 'dmzgate-bench-'));
    const config = join(dir, 'site.yaml');
    writeFileSync(config, siteYaml);
    const openflowPort = await freePort();
    const data = join(dir, 'data');
    // No per-token request limit: a benchmark asks for a thousand leases with one token.
    const args = [
      '--config',
      config,
      '--openflow-port',
      String(openflowPort),
      '--api-port',
      '0',
      '--data',
      data,
      '--log-level',
      'warn',
      '--api-rate-limit',
      'off',
    ];
    if (opts.lldpIntervalMs) args.push('--lldp-interval', String(opts.lldpIntervalMs));
    const proc = new Running(args, dir);
    const pidFile = join(data, 'controller.pid');
    const until = Date.now() + 20_000;
    // The data directory's claim writes the file at start, the API's address is added once it listens.
    const announced = () => (existsSync(pidFile) ? (JSON.parse(readFileSync(pidFile, 'utf8') || '{}') as { api?: string }).api : undefined);
    while (!announced()) {
      if (!proc.running) throw new Error(`dmzgate exited at start: ${proc.stderr.join('')} ${JSON.stringify(proc.lines)}`);
      if (Date.now() > until) throw new Error('dmzgate did not announce its API within 20 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    const api = announced()!;
    const token = readFileSync(join(data, 'admin.token'), 'utf8').trim();
    return new DmzgateUnderTest(openflowPort, api, token, proc, dir);
  }

  async request(method: string, path: string, body?: unknown): Promise<ApiAnswer> {
    const res = await fetch(`${this.api}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  }

  /** The warnings and errors it logged (the log level is warn). */
  get logged(): string[] {
    return this.proc.lines.map((l) => l.msg);
  }

  async stop(): Promise<void> {
    if (this.proc.running) {
      this.proc.signal('SIGTERM');
      await this.proc.exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
