/**
 * `dmzgate controller` as a user runs it: the built command (dist/, made by `npm run build`, which
 * scripts/test.sh runs first) in its own process, with a private Open vSwitch connecting to it over TCP and
 * over mutually authenticated TLS; its JSON-lines log and OVSDB say the switch is connected; SIGTERM stops it
 * with status 0. Bad options exit with status 2 before anything listens.
 */
import { spawnSync, execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivateOvs } from '../../lab/private-ovs.js';
import { DEFAULT_SITE_YAML } from '../../apps/dmz/default-site.js';
import { CLI, Running, checkBuild, until } from '../../lab/dmzgate-process.js';

const run = promisify(execFile);

describe('dmzgate controller (the command)', () => {
  let work = '';
  let ovs: PrivateOvs; // made in beforeAll: a describe that -t filters out runs no hooks, and would leak its dir
  const started: Running[] = [];

  beforeAll(async () => {
    checkBuild();
    work = mkdtempSync(join(tmpdir(), 'dmzgate-cli-'));
    ovs = new PrivateOvs();
    await ovs.start();
  });

  afterAll(async () => {
    for (const r of started) {
      if (r.running) {
        r.signal('SIGKILL');
        await r.exited;
      }
    }
    await ovs?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('--help describes every option; bad options exit with status 2 and say why', () => {
    const help = spawnSync(process.execPath, [CLI, 'controller', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    for (const o of [
      '--openflow-port',
      '--openflow-host',
      '--openflow-max-pending',
      '--openflow-max-pending-per-source',
      '--api-port',
      '--config',
      '--data',
      '--tls-port',
      '--tls-key',
      '--tls-cert',
      '--tls-ca',
      '--log-level',
    ]) {
      expect(help.stdout).toContain(o);
    }
    expect(help.stdout).toMatch(/--api-port PORT +port of the REST API/);

    const brokenConfig = () => {
      const file = join(work, 'broken.yaml');
      writeFileSync(file, DEFAULT_SITE_YAML.replace('role: wan-routed', 'role: wan-rooted'));
      return file;
    };
    const bad = (args: string[]) => spawnSync(process.execPath, [CLI, 'controller', ...args], { encoding: 'utf8', cwd: work });
    const cases: [string[], RegExp][] = [
      [['--openflow-port', 'x'], /--openflow-port: "x" is not a port number/],
      [['--api-port', '70000'], /--api-port: "70000" is not a port number/],
      [['--config', join(work, 'nope.json')], /--config: cannot read .*nope\.json/],
      [['--config', brokenConfig()], /broken\.yaml:\d+:\d+ switches\[0\]\.ports\[0\]\.role: must be equal to one of the allowed values/],
      [['--tls-port', '6654'], /missing --tls-key, --tls-cert, --tls-ca/],
      [['--log-level', 'loud'], /--log-level: "loud" is not one of/],
      [['--frobnicate'], /Unknown option '--frobnicate'/],
    ];
    for (const [args, why] of cases) {
      const r = bad(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(why);
      expect(r.stdout).toBe(''); // refused before it logged (or listened) anything
    }
    expect(spawnSync(process.execPath, [CLI, 'nonsense'], { encoding: 'utf8' }).status).toBe(2);
    expect(spawnSync(process.execPath, [CLI, 'version'], { encoding: 'utf8' }).stdout).toMatch(/^dmzgate \d+\.\d+\.\d+\n$/);
  });

  it('runs the controller: an OVS bridge connects (log and OVSDB agree), the data dir is created, SIGTERM exits 0', async () => {
    // The embedded prototype site, with this test bridge's datapath id.
    const config = join(work, 'site.yaml');
    writeFileSync(config, DEFAULT_SITE_YAML.replace('dpid: "0000000000000001"', 'dpid: "0000000000000c11"'));
    const data = join(work, 'state', 'nested');
    const dz = new Running(['--openflow-port', '0', '--api-port', '0', '--config', config, '--data', data, '--log-level', 'debug'], work);
    started.push(dz);
    const ready = await dz.line((l) => l.msg === 'controller ready', 'controller ready');
    const port = ready.openflowPort as number;
    expect(port).toBeGreaterThan(0);
    expect(ready.tlsPort).toBeNull();
    expect(statSync(data).isDirectory()).toBe(true);
    expect(dz.lines.find((l) => l.config === config)).toMatchObject({ msg: 'dmzgate controller starting', site: 'prototype' });
    // The REST API answers, the state file and the local admin token exist.
    expect(ready.api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${ready.api as string}/healthz`)).status).toBe(200);
    expect(statSync(join(data, 'admin.token')).mode & 0o077).toBe(0);

    await ovs.addBridge('br-cli', 0xc11n, { controller: `tcp:127.0.0.1:${port}`, ports: ['c1', 'c2'] });
    const connected = await dz.line((l) => l.msg === 'switch connected' && l.dpid === '0000000000000c11', 'switch connected');
    expect(connected.ports).toBe(3); // c1, c2 and the bridge's LOCAL port
    await until('OVSDB is_connected', () => ovs.isConnected('br-cli'));
    // The DMZ app's pipeline is installed on connect: the enterprise path and the fail-secure table miss.
    const reconciled = await dz.line((l) => l.msg === 'reconciled switch' && l.dpid === '0000000000000c11', 'reconciled switch');
    expect(reconciled.added).toBeGreaterThan(10);
    const flows = await ovs.ofctl('dump-flows', 'br-cli');
    expect(flows, flows).toMatch(/priority=20000,in_port=1 actions=output:3\n/); // WAN -> firewall outside leg
    expect(flows).toMatch(/priority=0 actions=drop/);

    // SIGHUP reloads the site config: a broken edit is refused and the running config kept; a good one applied.
    writeFileSync(config, DEFAULT_SITE_YAML.replace('dpid: "0000000000000001"', 'dpid: "0000000000000c11"').replace('role: lan', 'role: lawn'));
    dz.signal('SIGHUP');
    const refused = await dz.line((l) => l.msg === 'SIGHUP: site config invalid; keeping the running config', 'reload refused');
    expect(String(refused.err)).toMatch(/role: must be equal to one of the allowed values/);
    writeFileSync(
      config,
      DEFAULT_SITE_YAML.replace('dpid: "0000000000000001"', 'dpid: "0000000000000c11"').replace(
        'mac: "02:00:00:00:01:07"',
        'mac: "02:00:00:00:01:77"',
      ),
    );
    dz.signal('SIGHUP');
    await dz.line((l) => l.msg === 'SIGHUP: site config reloaded', 'reload');
    const reloaded = await ovs.ofctl('dump-flows', 'br-cli');
    expect(reloaded).toMatch(/dl_dst=02:00:00:00:01:77 actions=output:7/);
    expect(reloaded).not.toMatch(/dl_dst=02:00:00:00:01:07/);

    dz.signal('SIGTERM');
    const { code, signal } = await dz.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(dz.lines.some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM' && l.switches === 1)).toBe(true);
    expect(dz.lines.some((l) => l.msg === 'switch connection closed' && l.reason === 'controller shutting down')).toBe(true);
    expect(dz.lines.at(-1)?.msg).toBe('stopped');
    await until('OVS to notice the controller is gone', async () => !(await ovs.isConnected('br-cli')));
    await ovs.vsctl('del-br', 'br-cli');
  });

  it('with --openflow-port off and the TLS options, an OVS bridge connects over ssl:, and SIGINT exits 0', async () => {
    const pki = join(work, 'pki');
    mkdirSync(pki);
    const ssl = async (...args: string[]) => run('openssl', args, { cwd: pki });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    await ssl('req', '-x509', ...ec, '-days', '2', '-subj', '/CN=cli-ca', '-keyout', 'ca.key', '-out', 'ca.crt');
    for (const n of ['controller', 'switch']) {
      await ssl('req', ...ec, '-subj', `/CN=${n}`, '-keyout', `${n}.key`, '-out', `${n}.csr`);
      await ssl('x509', '-req', '-in', `${n}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${n}.crt`);
    }
    const dz = new Running(
      [
        '--openflow-port',
        'off',
        '--tls-port',
        '0',
        '--tls-key',
        join(pki, 'controller.key'),
        '--tls-cert',
        join(pki, 'controller.crt'),
        '--tls-ca',
        join(pki, 'ca.crt'),
        '--data',
        join(work, 'data2'),
        '--api-port',
        '0',
      ],
      work,
    );
    started.push(dz);
    const ready = await dz.line((l) => l.msg === 'controller ready', 'controller ready');
    expect(ready.openflowPort).toBeNull();
    const tlsPort = ready.tlsPort as number;
    await ovs.vsctl('set-ssl', join(pki, 'switch.key'), join(pki, 'switch.crt'), join(pki, 'ca.crt'));
    await ovs.addBridge('br-clitls', 0xc12n, { controller: `ssl:127.0.0.1:${tlsPort}` });
    await dz.line((l) => l.msg === 'switch connected' && l.dpid === '0000000000000c12', 'switch connected over TLS');
    await until('OVSDB is_connected over TLS', () => ovs.isConnected('br-clitls'));
    dz.signal('SIGINT');
    expect(await dz.exited).toEqual({ code: 0, signal: null });
    expect(dz.lines.at(-1)?.msg).toBe('stopped');
  });
});
