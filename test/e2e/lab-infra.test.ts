/**
 * The lab infrastructure (mininet/), proved without the controller: mininet/selftest.py builds the prototype
 * Science DMZ on a private Open vSwitch (userspace datapath), installs the default-path flows itself, and checks
 * the firewall path (ping, RTT, iperf3, counters, a blocked port), a routed bypass, the circuit (VLAN) path, the
 * delay line at 10/50/88 ms, and that teardown leaves nothing behind. Here each of its checks is one assertion.
 *
 * Also: the site configs the lab generates for each topology (mininet/sitegen.py) are valid for the controller,
 * and the prototype's is the controller's embedded default site; and the lab's machine interface (lab.py --serve,
 * driven by lab/mininet-lab.ts) with a stand-in controller spawned by the lab (mininet/hellocontroller.py).
 *
 * Needs root and the Debian packages mininet, openvswitch-switch, iperf3, ethtool, nftables, iputils-ping, gcc.
 * The selftest takes the same host-wide private-OVS turn as lab/private-ovs.ts.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSite, parseSiteConfig } from '../../apps/dmz/config.js';
import { Lab } from '../../lab/mininet-lab.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PYTHON = '/usr/bin/python3'; // Debian's mininet is a system-python package

function sitegen(...args: string[]): string {
  return execFileSync(PYTHON, [join(ROOT, 'mininet', 'sitegen.py'), ...args], { encoding: 'utf8' });
}

describe('lab site configs (mininet/sitegen.py)', () => {
  it("the prototype topology is the controller's embedded default site", () => {
    expect(parseSiteConfig(sitegen('--topo', 'prototype'), 'prototype')).toEqual(defaultSite());
  });

  it('the circuit topology is the prototype under another name', () => {
    const site = parseSiteConfig(sitegen('--topo', 'circuit'), 'circuit');
    expect({ ...site, name: 'prototype' }).toEqual(defaultSite());
  });

  it('the multiproject topology: several DTNs, each with its own circuit', () => {
    const site = parseSiteConfig(sitegen('--topo', 'multiproject', '--projects', '4'), 'multiproject');
    expect(site.dtns.map((d) => [d.name, d.port, d.ipv4[0]])).toEqual([
      ['dtn1', 5, '10.10.1.10'],
      ['dtn2', 8, '10.10.1.11'],
      ['dtn3', 9, '10.10.1.12'],
      ['dtn4', 10, '10.10.1.13'],
    ]);
    expect(site.circuits.map((c) => [c.name, c.trunkPort, c.vlan, c.farEndMac])).toEqual([
      ['esnet', 2, 3001, '02:00:00:00:02:0a'],
      ['project2', 22, 3002, '02:00:00:00:02:0b'],
      ['project3', 23, 3003, '02:00:00:00:02:0c'],
      ['project4', 24, 3004, '02:00:00:00:02:0d'],
    ]);
  });
});

interface Check {
  name: string;
  ok: boolean;
  [k: string]: unknown;
}

describe('lab infrastructure selftest (mininet/selftest.py)', () => {
  let report: { ok: boolean; seconds: number; checks: Check[] } | undefined;
  let failure = '';

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the lab selftest needs root (namespaces, veths, OVS)');
    const child = spawn(PYTHON, [join(ROOT, 'mininet', 'selftest.py'), '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    // Up to 110 s waiting for the private-OVS turn, plus ~1 min of selftest.
    const timer = setTimeout(() => child.kill('SIGTERM'), 280_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    clearTimeout(timer);
    const last = out.trim().split('\n').pop() ?? '';
    try {
      report = JSON.parse(last) as typeof report;
    } catch {
      failure = `selftest exited ${code} without a report:\n${err.slice(-4000)}`;
    }
    if (report && !report.ok) failure = err.slice(-4000);
  }, 300_000);

  const check = (name: string): Check => {
    expect(report, failure).toBeDefined();
    const c = report!.checks.find((x) => x.name === name);
    expect(c, `no ${name} check in the report:\n${failure}`).toBeDefined();
    return c!;
  };

  for (const name of [
    'start',
    'flows',
    'ping',
    'outbound',
    'iperf3',
    'counters',
    'blocked',
    'admitted-ssh',
    'routed-bypass',
    'circuit',
    'circuit-path',
    'rtt-50',
    'rtt-88',
    'teardown',
  ]) {
    it(name, () => {
      const c = check(name);
      expect(c.ok, JSON.stringify(c)).toBe(true);
    });
  }

  it('every check passed, within about two minutes', () => {
    expect(report?.ok, failure).toBe(true);
    expect(report!.seconds).toBeLessThan(150);
  });
});

describe('lab machine interface (lab.py --serve, lab/mininet-lab.ts)', () => {
  let lab: Lab | undefined;
  const tmp = mkdtempSync(join(tmpdir(), 'dmzgate-labtest-'));
  const pidFile = join(tmp, 'controller.pid');
  const port = 20000 + (process.pid % 20000);

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the lab needs root (namespaces, veths, OVS)');
    lab = await Lab.start({
      topo: 'prototype',
      rtt: 10,
      loss: '0',
      staticFlows: true,
      controllerPort: port,
      controllerCmd: `exec ${PYTHON} ${join(ROOT, 'mininet', 'hellocontroller.py')} {port} ${pidFile}`,
    });
  }, 180_000);

  afterAll(async () => {
    await lab?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }, 90_000);

  it('describes the lab and writes its site config', () => {
    expect(lab!.info.hosts.dtn1).toMatchObject({ port: 5, mac: '02:00:00:00:01:05', ipv4: '10.10.1.10' });
    expect(lab!.info.controller).toBe(`127.0.0.1:${port}`);
    expect(parseSiteConfig(readFileSync(lab!.info.site_file, 'utf8'))).toEqual(defaultSite());
  });

  it('the switch reaches the spawned controller through the namespace relay', async () => {
    await lab!.waitConnected(20_000);
  });

  it('pings, iperf3 and the firewall counters', async () => {
    const before = await lab!.fwCounters();
    const p = await lab!.ping('rdtn', 'dtn1', { count: 3 });
    expect(p.received).toBe(3);
    expect(p.avg!).toBeGreaterThan(9.5);
    const r = await lab!.iperf3('rdtn', 'dtn1', { seconds: 2, cc: 'cubic' });
    expect(r.ok, r.error).toBe(true);
    const after = await lab!.fwCounters();
    expect(after.forwarded.in.packets - before.forwarded.in.packets).toBeGreaterThan(100);
    expect(await lab!.dumpFlows()).toContain('priority=20000,in_port=1 actions=output:3');
  }, 60_000);

  it('reports a failed request and keeps serving', async () => {
    await expect(lab!.request('no_such_op')).rejects.toThrow(/unknown op/);
    await expect(lab!.cmd('nosuchhost', 'true')).rejects.toThrow(/no node/);
    expect((await lab!.cmd('dtn1', 'echo hi')).out).toBe('hi\n');
  });

  it('stop ends the lab and the controller it spawned', async () => {
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(await lab!.stop()).toBe(0);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    lab = undefined;
  }, 90_000);
});
