// A private Open vSwitch for tests: its own ovsdb-server and ovs-vswitchd in a temp dir, userspace datapath,
// so test runs never collide with a system OVS. stop() ends only the PIDs it started.
// The userspace datapath's devices are host-wide, though (its tap "ovs-netdev", one tap per bridge and internal
// port): a second ovs-vswitchd with netdev bridges fails ("creating tap device failed: Device or resource busy").
// So instances take turns, across test files run in parallel, through a lock file held from start() to stop().
import { spawn, execFile, ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, openSync, writeSync, closeSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

const LOCK = join(tmpdir(), 'dmzgate-private-ovs.lock');

/** Takes the host-wide turn for a private OVS; a lock left by a process that no longer exists is taken over. */
async function acquireTurn(token: string, ms = 110_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeSync(fd, token);
      closeSync(fd);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder: string;
    try {
      holder = readFileSync(LOCK, 'utf8');
    } catch {
      continue; // released between our open and read
    }
    const pid = Number(holder.split(' ')[0]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (e) {
      alive = (e as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (!alive || !Number.isInteger(pid) || pid <= 0) {
      rmSync(LOCK, { force: true });
      continue;
    }
    if (Date.now() > until) throw new Error(`another private OVS (${holder}) still runs after ${ms} ms; only one can run at a time (${LOCK})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function releaseTurn(token: string): void {
  try {
    if (readFileSync(LOCK, 'utf8') === token) rmSync(LOCK, { force: true });
  } catch {
    // not held
  }
}

async function waitFor(path: string, what: string, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what} (${path})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export class PrivateOvs {
  readonly dir: string;
  private db?: ChildProcess;
  private vswitchd?: ChildProcess;
  private readonly env: NodeJS.ProcessEnv;
  private readonly token = `${process.pid} ${Math.random().toString(36).slice(2)}`;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'dmzgate-ovs-'));
    this.env = { ...process.env, OVS_RUNDIR: this.dir, OVS_DBDIR: this.dir, OVS_LOGDIR: this.dir, OVS_SYSCONFDIR: this.dir };
  }

  /** The running ovs-vswitchd's PID (ours), e.g. to SIGSTOP it and play a hung switch. */
  get vswitchdPid(): number | undefined {
    return this.vswitchd?.pid;
  }

  get dbSocket(): string {
    return `unix:${join(this.dir, 'db.sock')}`;
  }

  async start(): Promise<this> {
    if (!existsSync(SCHEMA)) throw new Error('Open vSwitch is not installed (apt-get install openvswitch-switch)');
    await acquireTurn(this.token);
    await run('ovsdb-tool', ['create', join(this.dir, 'conf.db'), SCHEMA], { env: this.env });
    this.db = spawn(
      'ovsdb-server',
      [
        join(this.dir, 'conf.db'),
        `--remote=punix:${join(this.dir, 'db.sock')}`,
        `--unixctl=${join(this.dir, 'ovsdb-server.ctl')}`,
        `--log-file=${join(this.dir, 'ovsdb-server.log')}`,
        '-vconsole:off',
      ],
      { env: this.env, stdio: 'ignore' },
    );
    await waitFor(join(this.dir, 'db.sock'), 'ovsdb-server');
    await this.vsctl('--no-wait', 'init');
    await this.startVswitchd();
    return this;
  }

  /** (Re)starts ovs-vswitchd against the same database, as after a switch crash. */
  async startVswitchd(): Promise<void> {
    this.vswitchd = spawn(
      'ovs-vswitchd',
      [this.dbSocket, `--unixctl=${join(this.dir, 'ovs-vswitchd.ctl')}`, `--log-file=${join(this.dir, 'ovs-vswitchd.log')}`, '-vconsole:off'],
      { env: this.env, stdio: 'ignore' },
    );
    await waitFor(join(this.dir, 'ovs-vswitchd.ctl'), 'ovs-vswitchd');
  }

  async stopVswitchd(): Promise<void> {
    await stopChild(this.vswitchd);
    this.vswitchd = undefined;
    rmSync(join(this.dir, 'ovs-vswitchd.ctl'), { force: true });
  }

  async vsctl(...args: string[]): Promise<string> {
    const { stdout } = await run('ovs-vsctl', [`--db=${this.dbSocket}`, '--timeout=10', ...args], { env: this.env });
    return stdout;
  }

  /** Runs ovs-ofctl against a bridge's management socket (no controller connection needed). */
  async ofctl(command: string, bridge: string, ...args: string[]): Promise<string> {
    const { stdout } = await run('ovs-ofctl', ['-O', 'OpenFlow13', command, `unix:${join(this.dir, `${bridge}.mgmt`)}`, ...args], {
      env: this.env,
      maxBuffer: 256 * 1024 * 1024,
    });
    return stdout;
  }

  async appctl(...args: string[]): Promise<string> {
    const { stdout } = await run('ovs-appctl', [`--target=${join(this.dir, 'ovs-vswitchd.ctl')}`, ...args], { env: this.env });
    return stdout;
  }

  /** A userspace-datapath bridge in fail-secure mode speaking OpenFlow 1.3, with a fixed datapath id. */
  async addBridge(name: string, dpid: bigint, opts: { controller?: string; ports?: string[] } = {}): Promise<void> {
    const args = [
      'add-br',
      name,
      '--',
      'set',
      'bridge',
      name,
      'datapath_type=netdev',
      'protocols=OpenFlow13',
      'fail_mode=secure',
      `other-config:datapath-id=${dpid.toString(16).padStart(16, '0')}`,
    ];
    for (const [i, port] of (opts.ports ?? []).entries()) {
      args.push('--', 'add-port', name, port, '--', 'set', 'interface', port, 'type=internal', `ofport_request=${i + 1}`);
    }
    await this.vsctl(...args);
    if (opts.controller) await this.setController(name, opts.controller);
  }

  async setController(bridge: string, target: string): Promise<void> {
    // A low max_backoff: the controller may start after the switch, and OVS otherwise waits up to 8 s to retry.
    await this.vsctl('set-controller', bridge, target, '--', 'set', 'controller', bridge, 'max_backoff=1000', 'inactivity_probe=0');
  }

  /** Several controllers on one bridge (each connection gets its own OpenFlow role, OF1.3.5 §6.3.5). */
  async setControllers(bridge: string, targets: string[]): Promise<void> {
    await this.vsctl('set-controller', bridge, ...targets);
    const uuids = (await this.vsctl('get', 'bridge', bridge, 'controller'))
      .replace(/[[\]\s]/g, '')
      .split(',')
      .filter(Boolean);
    for (const uuid of uuids) await this.vsctl('set', 'controller', uuid, 'max_backoff=1000', 'inactivity_probe=0');
  }

  async isConnected(bridge: string): Promise<boolean> {
    const uuids = (await this.vsctl('get', 'bridge', bridge, 'controller'))
      .replace(/[[\]\s]/g, '')
      .split(',')
      .filter(Boolean);
    for (const uuid of uuids) {
      if ((await this.vsctl('get', 'controller', uuid, 'is_connected')).trim() === 'true') return true;
    }
    return false;
  }

  async stop(): Promise<void> {
    // Deleting the bridges first makes ovs-vswitchd remove their tap devices from the host.
    if (this.vswitchd && this.vswitchd.exitCode === null) {
      try {
        const bridges = (await this.vsctl('list-br')).split('\n').filter(Boolean);
        for (const br of bridges) await this.vsctl('del-br', br);
      } catch {
        // a broken instance still gets stopped below
      }
    }
    await stopChild(this.vswitchd);
    await stopChild(this.db);
    rmSync(this.dir, { recursive: true, force: true });
    releaseTurn(this.token);
  }
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}
