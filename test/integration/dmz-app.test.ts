/**
 * The Science DMZ app on real Open vSwitch (issue 4's proof): a private OVS (lab/private-ovs.ts, userspace
 * datapath) with one bridge of datapath id 1 whose internal ports 1..7 carry the embedded default site's port
 * roles, connected to a Controller with a FlowManager and a DmzApp(defaultSite()).
 *
 * Two independent oracles judge the pipeline: `ovs-appctl ofproto/trace` (OVS's own classifier and action
 * translation) and the flow-table simulator of the unit tests (test/helpers/flow-sim.ts), fed with the flows the
 * app computes. One list of packets goes through both, phase by phase (no lease, leases, a block, after release),
 * and the verdicts must agree; a few are also asserted literally, so that both being wrong the same way fails.
 * Then the lease lifecycle, a config reload (unaffected flows keep their `duration`), and counters with real
 * frames sent through the bridge's tap devices (AF_PACKET: test/helpers/afpacket-exchange.py to send,
 * test/helpers/afpacket-capture.py to receive).
 *
 * Needs root (AF_PACKET, interface settings), Open vSwitch, iproute2 and python3.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller } from '../../controller/controller.js';
import { FlowManager, type ReconcileReport } from '../../controller/flow-manager.js';
import { AtomicGroupError } from '../../controller/atomic.js';
import { ConnectionClosedError, SwitchError } from '../../controller/errors.js';
import { silentLogger } from '../../controller/log.js';
import {
  OFPET,
  OFPFMFC,
  OFPMMFC,
  OFPRR,
  ONFT_BUNDLE_ADD_MESSAGE,
  isBundleMsg,
  type MessageOf,
  type OfpMessage,
} from '../../controller/openflow/index.js';
import { buildPacket } from '../../controller/packet/index.js';
import { DmzApp } from '../../apps/dmz/dmz-app.js';
import type { DmzEvent } from '../../apps/dmz/dmz-app-shapes.js';
import { OWNER, OWNER_NAMES } from '../../apps/dmz/owners.js';
import { ownerCookie, ownerIdOf } from '../../controller/cookie.js';
import { defaultSite, parseSiteConfig } from '../../apps/dmz/config.js';
import { DEFAULT_SITE_YAML } from '../../apps/dmz/default-site.js';
import { baseFlows, leaseFlows, blockFlows, LeaseRefused } from '../../apps/dmz/pipeline.js';
import { compilePortRange } from '../../apps/dmz/port-ranges.js';
import type { LeaseRecord, LeaseRequest, BlockRecord } from '../../apps/dmz/lease-book.js';
import type { Site } from '../../apps/dmz/site.js';
import { FlowSim, type SimPacket, type SimFlow } from '../helpers/flow-sim.js';
import { PrivateOvs } from '../../lab/private-ovs.js';

const HELPERS = join(dirname(fileURLToPath(import.meta.url)), '..', 'helpers');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- the site on the bridge ------------------------------------------------------------------------------------

const DPID = 1n;
const BRIDGE = 'br0';
/** Internal ports 1..7 (ofport = index + 1): the default site's port numbers. Host-wide tap names, so unusual. */
const IFACES = ['dmzp1', 'dmzp2', 'dmzp3', 'dmzp4', 'dmzp5', 'dmzp6', 'dmzp7'];
const WAN = 1,
  TRUNK = 2,
  FW_OUT = 3,
  FW_IN = 4,
  DTN = 5,
  PS = 6,
  LAN = 7;
const ifaceOf = (port: number) => IFACES[port - 1]!;
const MAC = {
  dtn: '02:00:00:00:01:05',
  ps: '02:00:00:00:01:06',
  lan: '02:00:00:00:01:07',
  farEnd: '02:00:00:00:02:0a',
  router: '02:00:00:00:09:01',
  firewall: '02:00:00:00:09:04',
  circuitPeer: '02:00:00:00:09:02',
  unknown: '02:00:00:00:99:99',
};
const DTN_V4 = '10.10.1.10',
  DTN_V6 = 'fd00:10:10:1::10';

const ANY = { lo: 0, hi: 65535 };
const DATA_PORTS = { lo: 50000, hi: 51000 };
const ROUTED: LeaseRequest = {
  project: 'climate',
  dtn: 'dtn1',
  remote: '192.0.2.0/24',
  protocol: 'tcp',
  localPorts: [DATA_PORTS],
  remotePorts: [ANY],
  path: 'routed',
  durationSeconds: 600,
};
const ROUTED_V6: LeaseRequest = {
  project: 'genomics',
  dtn: 'dtn1',
  remote: '2001:db8:5::/48',
  protocol: 'udp',
  localPorts: [{ lo: 5201, hi: 5201 }],
  remotePorts: [{ lo: 40000, hi: 40999 }],
  path: 'routed',
  durationSeconds: 600,
};
const CIRCUIT: LeaseRequest = {
  project: 'hep',
  dtn: 'dtn1',
  remote: '198.51.100.0/24',
  protocol: 'tcp',
  localPorts: [DATA_PORTS],
  remotePorts: [ANY],
  path: 'circuit:esnet',
  durationSeconds: 600,
};

// ---- the harness: OVS, and a controller with the app (restartable) ------------------------------------------------

let ovs: PrivateOvs;
let ofPort = 0;
interface Harness {
  ctl: Controller;
  fm: FlowManager;
  app: DmzApp;
  events: DmzEvent[];
  removed: MessageOf<'flowRemoved'>[];
}
let h: Harness;

function nextReport(fm: FlowManager, ms = 20_000): Promise<ReconcileReport> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      fm.off('reconciled', on);
      reject(new Error(`no reconcile of the switch within ${ms} ms`));
    }, ms);
    const on = (d: bigint, r: ReconcileReport) => {
      if (d !== DPID || r.owner !== undefined) return;
      clearTimeout(timer);
      fm.off('reconciled', on);
      resolve(r);
    };
    fm.on('reconciled', on);
  });
}

/**
 * Starts a controller with a flow manager and the app (restored from earlier records, as after a restart), on
 * the same TCP port as before if there was one; resolves with the connect-time reconcile of the switch.
 */
async function startController(
  restored: { leases?: LeaseRecord[]; blocks?: BlockRecord[] } = {},
  site: Site = defaultSite(),
): Promise<ReconcileReport> {
  const ctl = new Controller({ port: ofPort, host: '127.0.0.1' });
  const fm = new FlowManager(ctl);
  const app = new DmzApp({ site, controller: ctl, flows: fm, logger: silentLogger(), pollIntervalMs: 0 });
  const events: DmzEvent[] = [];
  const removed: MessageOf<'flowRemoved'>[] = [];
  app.on('event', (e) => events.push(e));
  ctl.on('flowRemoved', (_c, m) => removed.push(m));
  h = { ctl, fm, app, events, removed };
  // The app declares its state before any switch connects, so the connect-time reconcile installs all of it.
  await app.start(restored);
  const report = nextReport(fm);
  const first = ofPort === 0;
  ofPort = (await ctl.listen()).port!;
  if (first) await ovs.addBridge(BRIDGE, DPID, { controller: `tcp:127.0.0.1:${ofPort}`, ports: IFACES });
  return report;
}

async function stopController(): Promise<void> {
  h.app.stop();
  h.fm.close();
  await h.ctl.close();
}

// ---- reading OVS ---------------------------------------------------------------------------------------------------

interface Dumped {
  cookie: bigint;
  duration: number;
  packets: number;
  bytes: number;
  priority: number;
  hardTimeout: number;
  flags: string[];
  match: string;
  actions: string;
}

/** Parses `ovs-ofctl -O OpenFlow13 dump-flows` (one table here). */
function parseFlows(text: string): Dumped[] {
  const out: Dumped[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*cookie=(0x[0-9a-f]+), duration=([\d.]+)s, table=0, n_packets=(\d+), n_bytes=(\d+), (.*)$/.exec(line);
    if (!m) continue;
    let rest = m[5]!;
    let hardTimeout = 0;
    for (let t; (t = /^(idle_timeout|hard_timeout|idle_age|hard_age|importance)=(\d+), /.exec(rest)); rest = rest.slice(t[0].length)) {
      if (t[1] === 'hard_timeout') hardTimeout = Number(t[2]);
    }
    const flags: string[] = [];
    for (let t; (t = /^(send_flow_rem|check_overlap|reset_counts|no_packet_counts|no_byte_counts) /.exec(rest)); rest = rest.slice(t[0].length))
      flags.push(t[1]!);
    const at = rest.lastIndexOf(' actions=');
    let match = at >= 0 ? rest.slice(0, at) : '';
    const actions = at >= 0 ? rest.slice(at + ' actions='.length) : rest.slice('actions='.length);
    let priority = 32768;
    const p = /^priority=(\d+),?/.exec(match);
    if (p) {
      priority = Number(p[1]);
      match = match.slice(p[0].length);
    }
    out.push({
      cookie: BigInt(m[1]!),
      duration: Number(m[2]),
      packets: Number(m[3]),
      bytes: Number(m[4]),
      priority,
      hardTimeout,
      flags,
      match,
      actions,
    });
  }
  return out;
}

const dump = async () => parseFlows(await ovs.ofctl('dump-flows', BRIDGE));
const identity = (f: Dumped) => `${f.priority}/${f.match}`;
/** What a flow is, without what changes while it sits there (duration, counters, remaining time). */
const content = (f: Dumped) => `${f.cookie.toString(16)} ${f.priority} ${f.match} ${f.flags.join('+')} -> ${f.actions}`;
const contents = (l: Dumped[]) => l.map(content).sort();
const leaseCookie = (id: number) => ownerCookie(OWNER.LEASES, id);
const meterLines = async () =>
  (await ovs.ofctl('dump-meters', BRIDGE))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('OFPST_'));

// ---- one packet, two oracles -------------------------------------------------------------------------------------

interface Pkt {
  inPort: number;
  vlan?: number;
  ethSrc: string;
  ethDst: string;
  kind: 'tcp' | 'udp' | 'arp';
  ipSrc: string;
  ipDst: string;
  srcPort?: number;
  dstPort?: number;
}

/** Where a packet goes: each copy's port, VLAN (null: untagged) and destination MAC. Empty: dropped. */
type Verdict = { port: number; vlan: number | null; ethDst: string }[];
/** The verdict, and the entry that decided it (`PRIORITY cookie=0x...`, or `miss`). */
interface Judged {
  rule: string;
  out: Verdict;
}
const ruleText = (priority: number, cookie: bigint) => `${priority} cookie=0x${cookie.toString(16)}`;

const isV6 = (p: Pkt) => p.ipSrc.includes(':');

function simPacket(p: Pkt): SimPacket {
  const base = { inPort: p.inPort, ethSrc: p.ethSrc, ethDst: p.ethDst, ...(p.vlan !== undefined ? { vlan: p.vlan } : {}) };
  if (p.kind === 'arp') return { ...base, ethType: 0x0806 };
  return {
    ...base,
    ethType: isV6(p) ? 0x86dd : 0x0800,
    ipSrc: p.ipSrc,
    ipDst: p.ipDst,
    ipProto: p.kind === 'tcp' ? 6 : 17,
    srcPort: p.srcPort,
    dstPort: p.dstPort,
  };
}

/** The packet in ovs-ofctl flow syntax, for ofproto/trace. */
function traceFlow(p: Pkt): string {
  const f = [`in_port=${p.inPort}`];
  if (p.kind === 'arp') f.push('arp');
  else f.push(isV6(p) ? `${p.kind}6` : p.kind);
  if (p.vlan !== undefined) f.push(`dl_vlan=${p.vlan}`);
  f.push(`dl_src=${p.ethSrc}`, `dl_dst=${p.ethDst}`);
  if (p.kind === 'arp') f.push('arp_op=1', `arp_spa=${p.ipSrc}`, `arp_tpa=${p.ipDst}`);
  else if (isV6(p)) f.push(`ipv6_src=${p.ipSrc}`, `ipv6_dst=${p.ipDst}`);
  else f.push(`nw_src=${p.ipSrc}`, `nw_dst=${p.ipDst}`);
  // The protocol's own names: ofproto/trace refuses tp_src/tp_dst for UDP ("prerequisites not met").
  if (p.kind !== 'arp') f.push(`${p.kind}_src=${p.srcPort}`, `${p.kind}_dst=${p.dstPort}`);
  return f.join(',');
}

/** Datapath port number -> OpenFlow port number (the userspace datapath numbers its ports its own way). */
async function datapathPorts(): Promise<Map<number, number>> {
  const map = new Map<number, number>();
  for (const m of (await ovs.appctl('dpif/show')).matchAll(/^\s+\S+ (\d+)\/(\d+):/gm)) map.set(Number(m[2]), Number(m[1]));
  return map;
}

/** Splits `a,b(c,d),e` at top-level commas. */
function topLevel(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    if (list[i] === '(') depth++;
    else if (list[i] === ')') depth--;
    else if (list[i] === ',' && depth === 0) {
      out.push(list.slice(start, i));
      start = i + 1;
    }
  }
  if (start < list.length) out.push(list.slice(start));
  return out;
}

/**
 * OVS's verdict: the entry table 0 matched (the trace's " 0. MATCH, priority P, cookie C" line), and the
 * trace's "Datapath actions:" executed on the packet's VLAN and destination MAC.
 */
async function traceVerdict(p: Pkt, dpPorts: Map<number, number>): Promise<Judged> {
  const text = await ovs.appctl('ofproto/trace', BRIDGE, traceFlow(p));
  const line = /^Datapath actions: (.*)$/m.exec(text);
  if (!line) throw new Error(`no datapath actions in the trace of ${traceFlow(p)}:\n${text}`);
  const hit = /^ 0\. (?:.*, )?priority (\d+)(?:, cookie (0x[0-9a-f]+))?$/m.exec(text);
  if (!hit && !/^ 0\. No match\.$/m.test(text)) throw new Error(`no table 0 lookup in the trace of ${traceFlow(p)}:\n${text}`);
  const rule = hit ? ruleText(Number(hit[1]), BigInt(hit[2] ?? 0)) : 'miss';
  let vlan: number | null = p.vlan ?? null;
  let ethDst = p.ethDst;
  const out: Verdict = [];
  for (const a of topLevel(line[1]!.trim())) {
    let m: RegExpExecArray | null;
    if (a === 'drop') continue;
    if (/^\d+$/.test(a)) {
      const port = dpPorts.get(Number(a));
      if (port === undefined) throw new Error(`trace outputs to unknown datapath port ${a}`);
      out.push({ port, vlan, ethDst });
    } else if (a === 'pop_vlan') vlan = null;
    else if ((m = /^push_vlan\(vid=(\d+),/.exec(a))) vlan = Number(m[1]);
    else if ((m = /^set\(eth\((.*)\)\)$/.exec(a))) {
      const dst = /(?:^|,)dst=([0-9a-f:]{17})(?:,|$)/.exec(m[1]!);
      if (dst) ethDst = dst[1]!;
    } else if (/^meter\(\d+\)$/.test(a)) continue;
    else throw new Error(`unexpected datapath action ${a} in the trace of ${traceFlow(p)}`);
  }
  return { rule, out };
}

function simVerdict(sim: FlowSim, p: Pkt): Judged {
  const v = sim.lookup(simPacket(p));
  return {
    rule: v.priority === undefined ? 'miss' : ruleText(v.priority, v.cookie!),
    out: v.outputs.map((o) => ({ port: o.port, vlan: o.vlan ?? null, ethDst: o.ethDst ?? p.ethDst })),
  };
}

/** The flows the app computes for its current state: the pipeline, active leases and blocks. */
function appFlows(app: DmzApp): SimFlow[] {
  const sw = app.site.switches[0]!;
  return [
    ...baseFlows(app.site, sw),
    ...app.book.active().flatMap((l) => leaseFlows(app.site, l, l.start).flows),
    ...app.book.activeBlocks().flatMap((b) => blockFlows(b, b.start)),
  ];
}

const tcp = (inPort: number, ethSrc: string, ethDst: string, ipSrc: string, srcPort: number, ipDst: string, dstPort: number, vlan?: number): Pkt => ({
  inPort,
  ethSrc,
  ethDst,
  kind: 'tcp',
  ipSrc,
  ipDst,
  srcPort,
  dstPort,
  ...(vlan !== undefined ? { vlan } : {}),
});
const udp = (inPort: number, ethSrc: string, ethDst: string, ipSrc: string, srcPort: number, ipDst: string, dstPort: number): Pkt => ({
  inPort,
  ethSrc,
  ethDst,
  kind: 'udp',
  ipSrc,
  ipDst,
  srcPort,
  dstPort,
});
const arp = (inPort: number, ethSrc: string, ipSrc: string, ipDst: string): Pkt => ({
  inPort,
  ethSrc,
  ethDst: 'ff:ff:ff:ff:ff:ff',
  kind: 'arp',
  ipSrc,
  ipDst,
});

const PACKETS: Record<string, Pkt> = {
  'WAN -> dtn1 data port': tcp(WAN, MAC.router, MAC.dtn, '192.0.2.10', 40000, DTN_V4, 50123),
  'WAN -> dtn1 other port (22)': tcp(WAN, MAC.router, MAC.dtn, '192.0.2.10', 40000, DTN_V4, 22),
  'WAN outside the block -> dtn1 data port': tcp(WAN, MAC.router, MAC.dtn, '192.0.2.200', 40000, DTN_V4, 50999),
  'WAN other remote -> dtn1 data port': tcp(WAN, MAC.router, MAC.dtn, '203.0.113.5', 40000, DTN_V4, 50123),
  'dtn1 -> WAN data port': tcp(DTN, MAC.dtn, MAC.router, DTN_V4, 50123, '192.0.2.10', 40000),
  'dtn1 -> WAN other port (22)': tcp(DTN, MAC.dtn, MAC.router, DTN_V4, 22, '192.0.2.10', 40000),
  'lan1 -> WAN': tcp(LAN, MAC.lan, MAC.firewall, '10.10.1.30', 50123, '192.0.2.10', 40000),
  'perfsonar -> WAN': tcp(PS, MAC.ps, MAC.firewall, '10.10.1.20', 50123, '192.0.2.10', 40000),
  'fw-outside -> WAN': tcp(FW_OUT, MAC.firewall, MAC.router, DTN_V4, 50123, '192.0.2.10', 40000),
  'fw-inside -> dtn1': tcp(FW_IN, MAC.firewall, MAC.dtn, '192.0.2.10', 40000, DTN_V4, 50123),
  'fw-inside -> lan1': tcp(FW_IN, MAC.firewall, MAC.lan, '192.0.2.10', 40000, '10.10.1.30', 443),
  'fw-inside -> unknown MAC': tcp(FW_IN, MAC.firewall, MAC.unknown, '192.0.2.10', 40000, '10.10.1.99', 443),
  'ARP broadcast from dtn1': arp(DTN, MAC.dtn, DTN_V4, '10.10.1.1'),
  'ARP broadcast from fw-inside': arp(FW_IN, MAC.firewall, '10.10.1.1', DTN_V4),
  'circuit trunk VLAN 3001 -> dtn1': tcp(TRUNK, MAC.circuitPeer, MAC.circuitPeer, '198.51.100.7', 40000, DTN_V4, 50123, 3001),
  'circuit trunk untagged -> dtn1': tcp(TRUNK, MAC.circuitPeer, MAC.circuitPeer, '198.51.100.7', 40000, DTN_V4, 50123),
  'circuit trunk VLAN 3002 -> dtn1': tcp(TRUNK, MAC.circuitPeer, MAC.circuitPeer, '198.51.100.7', 40000, DTN_V4, 50123, 3002),
  'dtn1 -> circuit remote': tcp(DTN, MAC.dtn, MAC.router, DTN_V4, 50123, '198.51.100.7', 40000),
  'unknown in_port 42': tcp(42, MAC.router, MAC.dtn, '192.0.2.10', 40000, DTN_V4, 50123),
  'IPv6 UDP WAN -> dtn1 5201': udp(WAN, MAC.router, MAC.dtn, '2001:db8:5::9', 40001, DTN_V6, 5201),
  'IPv6 UDP dtn1 -> WAN': udp(DTN, MAC.dtn, MAC.router, DTN_V6, 5201, '2001:db8:5::9', 40001),
  'IPv6 UDP WAN remote port 39999 -> dtn1': udp(WAN, MAC.router, MAC.dtn, '2001:db8:5::9', 39999, DTN_V6, 5201),
  'IPv6 TCP WAN -> dtn1 5201': tcp(WAN, MAC.router, MAC.dtn, '2001:db8:5::9', 40001, DTN_V6, 5201),
};

/** Both oracles' verdicts on every packet, and that the switch holds the flows the simulator was given. */
async function verdicts(): Promise<{ ovs: Record<string, Judged>; sim: Record<string, Judged> }> {
  const flows = appFlows(h.app);
  const onSwitch = await dump();
  const cookies = (l: { cookie: bigint }[]) => l.map((f) => f.cookie.toString(16)).sort();
  expect(cookies(onSwitch)).toEqual(cookies(flows));
  const sim = new FlowSim().install(flows);
  const dpPorts = await datapathPorts();
  const out = { ovs: {} as Record<string, Judged>, sim: {} as Record<string, Judged> };
  for (const [name, p] of Object.entries(PACKETS)) {
    out.ovs[name] = await traceVerdict(p, dpPorts);
    out.sim[name] = simVerdict(sim, p);
  }
  return out;
}

const to = (port: number, vlan: number | null = null, ethDst?: string) => ({ port, vlan, ...(ethDst ? { ethDst } : {}) });
/** A verdict without the MACs (for literal checks where the MAC is the packet's own). */
const ports = (v: Verdict) => v.map((o) => ({ port: o.port, vlan: o.vlan }));

// ---- lifecycle --------------------------------------------------------------------------------------------------

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('the DMZ app integration test needs root (OVS, AF_PACKET): run it as root');
  for (const [cmd, hint] of [
    ['ip', 'apt-get install -y iproute2'],
    ['python3', 'apt-get install -y python3'],
  ]) {
    if (spawnSync(cmd!, ['-V'], { encoding: 'utf8' }).error) throw new Error(`${cmd} is required for this test (${hint})`);
  }
  ovs = await new PrivateOvs().start();
  const r = await startController();
  expect(r).toMatchObject({ deleted: 0, modified: 0, unchanged: 0, failed: [] });
  expect(r.added).toBe(baseFlows(defaultSite(), defaultSite().switches[0]!).length);
});

afterAll(async () => {
  if (h) await stopController();
  // Deleting the bridge deletes its ports' tap devices (OVS makes them persistent: they would outlive it).
  await ovs?.vsctl('--if-exists', 'del-br', BRIDGE).catch(() => undefined);
  await ovs?.stop();
});

describe('the pipeline on OVS: ofproto/trace agrees with the simulator', () => {
  const phases: Record<string, Record<string, Judged>> = {};

  /** Both oracles on every packet: the same deciding entry and the same outputs. Returns the outputs. */
  async function phase(name: string): Promise<Record<string, Verdict>> {
    const v = await verdicts();
    const text = (j: Judged) =>
      `${j.rule} -> [${j.out.map((o) => `${o.port}${o.vlan === null ? '' : ` vlan ${o.vlan}`} to ${o.ethDst}`).join(', ')}]`;
    const differ = Object.keys(PACKETS)
      .filter((k) => !isDeepStrictEqual(v.ovs[k], v.sim[k]))
      .map((k) => `${k}: OVS ${text(v.ovs[k]!)}, simulator ${text(v.sim[k]!)}`);
    expect(differ, `phase "${name}": OVS's verdicts differ from the simulator's`).toEqual([]);
    phases[name] = v.ovs;
    return Object.fromEntries(Object.entries(v.ovs).map(([k, j]) => [k, j.out]));
  }
  const rule = (phaseName: string, packet: string) => phases[phaseName]![packet]!.rule;

  it('after start the switch holds the base pipeline, and traces agree (no lease)', async () => {
    const flows = await dump();
    const base = baseFlows(h.app.site, h.app.site.switches[0]!);
    expect(flows).toHaveLength(base.length);
    expect(flows.every((f) => f.cookie === ownerCookie(OWNER.PIPELINE, 0) && f.hardTimeout === 0)).toBe(true);
    // A few entries in OVS's own words.
    expect(contents(flows)).toEqual(
      expect.arrayContaining([
        'd0000000000000 20000 in_port=1  -> output:3',
        'd0000000000000 20000 in_port=3  -> output:1',
        'd0000000000000 20000 in_port=2  -> output:3',
        'd0000000000000 20000 in_port=4  -> output:5,output:6,output:7',
        'd0000000000000 20000 in_port=5  -> output:4,output:6,output:7',
        'd0000000000000 20010 in_port=4,dl_dst=02:00:00:00:01:05  -> output:5',
        'd0000000000000 0   -> drop',
      ]),
    );
    const v = await phase('no lease');
    expect(ports(v['WAN -> dtn1 data port']!)).toEqual([to(FW_OUT)]);
    expect(ports(v['dtn1 -> WAN data port']!)).toEqual([to(FW_IN)]);
    expect(ports(v['ARP broadcast from dtn1']!)).toEqual([to(FW_IN), to(PS), to(LAN)]);
    expect(ports(v['ARP broadcast from fw-inside']!)).toEqual([to(DTN), to(PS), to(LAN)]);
    expect(ports(v['fw-inside -> dtn1']!)).toEqual([to(DTN)]);
    expect(ports(v['circuit trunk VLAN 3001 -> dtn1']!)).toEqual([to(FW_OUT, 3001)]);
    expect(v['unknown in_port 42']).toEqual([]);
    expect(rule('no lease', 'unknown in_port 42')).toBe(ruleText(0, ownerCookie(OWNER.PIPELINE, 0)));
    expect(rule('no lease', 'fw-inside -> dtn1')).toBe(ruleText(20010, ownerCookie(OWNER.PIPELINE, 0)));
    expect(ports(v['IPv6 UDP WAN -> dtn1 5201']!)).toEqual([to(FW_OUT)]);
  });

  it('routed leases (IPv4 TCP, IPv6 UDP): the leased traffic bypasses the firewall, nothing else does', async () => {
    const l4 = await h.app.requestLease(ROUTED);
    const l6 = await h.app.requestLease(ROUTED_V6);
    const v = await phase('routed leases');
    expect(rule('routed leases', 'WAN -> dtn1 data port')).toBe(ruleText(40000, leaseCookie(l4.id)));
    expect(rule('routed leases', 'IPv6 UDP dtn1 -> WAN')).toBe(ruleText(40000, leaseCookie(l6.id)));
    expect(ports(v['WAN -> dtn1 data port']!)).toEqual([to(DTN)]);
    expect(ports(v['dtn1 -> WAN data port']!)).toEqual([to(WAN)]);
    expect(ports(v['WAN -> dtn1 other port (22)']!)).toEqual([to(FW_OUT)]);
    expect(ports(v['dtn1 -> WAN other port (22)']!)).toEqual([to(FW_IN)]);
    expect(ports(v['WAN other remote -> dtn1 data port']!)).toEqual([to(FW_OUT)]);
    expect(ports(v['lan1 -> WAN']!)).toEqual([to(FW_IN)]);
    expect(ports(v['IPv6 UDP WAN -> dtn1 5201']!)).toEqual([to(DTN)]);
    expect(ports(v['IPv6 UDP dtn1 -> WAN']!)).toEqual([to(WAN)]);
    expect(ports(v['IPv6 UDP WAN remote port 39999 -> dtn1']!)).toEqual([to(FW_OUT)]);
    expect(ports(v['IPv6 TCP WAN -> dtn1 5201']!)).toEqual([to(FW_OUT)]);
  });

  it('a circuit lease: out tagged with the circuit VLAN to the far end, in untagged to the DTN', async () => {
    await h.app.requestLease(CIRCUIT);
    const v = await phase('circuit lease');
    expect(v['dtn1 -> circuit remote']).toEqual([to(TRUNK, 3001, MAC.farEnd)]);
    expect(v['circuit trunk VLAN 3001 -> dtn1']).toEqual([to(DTN, null, MAC.dtn)]);
    expect(ports(v['circuit trunk untagged -> dtn1']!)).toEqual([to(FW_OUT)]);
    expect(ports(v['circuit trunk VLAN 3002 -> dtn1']!)).toEqual([to(FW_OUT, 3002)]);
    expect(ports(v['WAN -> dtn1 data port']!)).toEqual([to(DTN)]); // the routed lease still holds
  });

  it('a block during the leases drops both directions and wins over the bypass', async () => {
    const block = await h.app.addBlock({ prefix: '192.0.2.0/28', reason: 'IDS: scanning' });
    const v = await phase('block during leases');
    expect(rule('block during leases', 'WAN -> dtn1 data port')).toBe(ruleText(60000, ownerCookie(OWNER.BLOCKS, block.id)));
    expect(v['WAN -> dtn1 data port']).toEqual([]);
    expect(v['dtn1 -> WAN data port']).toEqual([]);
    expect(v['fw-outside -> WAN']).toEqual([]);
    expect(ports(v['WAN outside the block -> dtn1 data port']!)).toEqual([to(DTN)]);
    expect(ports(v['circuit trunk VLAN 3001 -> dtn1']!)).toEqual([to(DTN)]);
  });

  it('after release (and the block removed) every verdict is the no-lease one again', async () => {
    for (const l of h.app.book.active()) await h.app.releaseLease(l.id);
    for (const b of h.app.book.activeBlocks()) await h.app.removeBlock(b.id);
    await phase('after release');
    expect(phases['after release']).toEqual(phases['no lease']);
    expect(await meterLines()).toEqual([]);
    console.log(`ofproto/trace and the simulator agree on ${Object.keys(PACKETS).length} packets in ${Object.keys(phases).length} phases`);
  });
});

describe('the lease lifecycle on OVS', () => {
  const req: LeaseRequest = { ...ROUTED, remote: '203.0.113.0/24', rateMbps: 100 };

  it('requestLease installs flows with the lease cookie, hard timeout, send_flow_rem and a meter; release removes them', async () => {
    const before = await dump();
    const rec = await h.app.requestLease(req);
    expect(rec).toMatchObject({ state: 'active', meterId: 1 });
    const mine = (await dump()).filter((f) => f.cookie === leaseCookie(rec.id));
    // One remote prefix, one DTN address: both directions for each masked block of the port range.
    expect(mine).toHaveLength(2 * compilePortRange(DATA_PORTS).length);
    expect(mine).toHaveLength(leaseFlows(h.app.site, rec, rec.start).flows.length);
    for (const f of mine) {
      expect(f.priority).toBe(40000);
      expect(f.hardTimeout).toBe(600);
      expect(f.flags).toEqual(['send_flow_rem']);
      expect(f.actions).toMatch(/^meter:1,output:[15]$/);
    }
    expect(mine.filter((f) => f.match.startsWith('tcp,in_port=1,nw_src=203.0.113.0/24,nw_dst=10.10.1.10,'))).toHaveLength(mine.length / 2);
    expect(mine.filter((f) => f.match.startsWith('tcp,in_port=5,nw_src=10.10.1.10,nw_dst=203.0.113.0/24,'))).toHaveLength(mine.length / 2);
    expect(await meterLines()).toEqual(['meter=1 kbps stats bands=', 'type=drop rate=100000']);
    // The rest of the table is as it was.
    expect(contents((await dump()).filter((f) => f.cookie !== leaseCookie(rec.id)))).toEqual(contents(before));

    await h.app.releaseLease(rec.id);
    expect(h.app.lease(rec.id)).toMatchObject({ state: 'released' });
    expect(contents(await dump())).toEqual(contents(before));
    expect(await meterLines()).toEqual([]);
    // A full reconcile afterwards brings nothing back (the released lease's meter is no longer desired).
    expect(await h.fm.reconcile(DPID)).toMatchObject({
      added: 0,
      deleted: 0,
      modified: 0,
      meters: { added: 0, modified: 0, deleted: 0, unchanged: 0 },
    });
    expect(await meterLines()).toEqual([]);
  });

  it('an overlapping lease is refused (overlap) and leaves the switch unchanged', async () => {
    const first = await h.app.requestLease(req);
    const before = contents(await dump());
    const meters = await meterLines();
    const e = await h.app
      .requestLease({ ...req, project: 'other', remote: '203.0.113.128/25', localPorts: [{ lo: 50500, hi: 50600 }], rateMbps: undefined })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LeaseRefused);
    expect((e as LeaseRefused).reason).toBe('overlap');
    expect(contents(await dump())).toEqual(before);
    expect(await meterLines()).toEqual(meters);
    expect(h.app.book.active().map((l) => l.id)).toEqual([first.id]);
    await h.app.releaseLease(first.id);
  });

  it('a lease whose flows OVS refuses (table full) leaves nothing installed: no flow, no meter, no record', async () => {
    const before = await dump();
    const desired = h.fm.desiredFlows(DPID, OWNER_NAMES.leases);
    // Room for three more flows in table 0: the lease needs more, so a flow-mod of its bundle is refused.
    await ovs.vsctl(
      '--',
      '--id=@t',
      'create',
      'flow_table',
      `flow_limit=${before.length + 3}`,
      'overflow_policy=refuse',
      '--',
      'set',
      'bridge',
      BRIDGE,
      'flow_tables:0=@t',
    );
    try {
      const e = await h.app.requestLease(req).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(AtomicGroupError);
      expect(e).toMatchObject({ errType: OFPET.FLOW_MOD_FAILED, code: OFPFMFC.TABLE_FULL, path: 'bundle' });
      expect(contents(await dump())).toEqual(contents(before));
      expect(await meterLines()).toEqual([]); // the meter it installed first was taken back
      expect(h.app.book.active()).toEqual([]);
      expect(h.fm.desiredFlows(DPID, OWNER_NAMES.leases)).toEqual(desired);
    } finally {
      await ovs.vsctl('clear', 'bridge', BRIDGE, 'flow_tables');
    }
    // The limit was the only reason: the same request now succeeds.
    const rec = await h.app.requestLease(req);
    await h.app.releaseLease(rec.id);
    expect(contents(await dump())).toEqual(contents(before));
  });

  it('a lease whose meter OVS refuses (rate 0) installs no flow and leaves no meter', async () => {
    const before = await dump();
    const e = await h.app.requestLease({ ...req, rateMbps: 0.0001 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SwitchError);
    expect(e).toMatchObject({ errType: OFPET.METER_MOD_FAILED, code: OFPMMFC.BAD_RATE });
    expect(contents(await dump())).toEqual(contents(before));
    expect(await meterLines()).toEqual([]);
    expect(h.app.book.active()).toEqual([]);
  });

  it('a lease whose switch connection drops mid-install leaves nothing half-installed once the switch is back', async () => {
    const before = await dump();
    const conn = h.ctl.get(DPID)!;
    const send = conn.send.bind(conn);
    // Drop the connection right after the first bundled flow-mod is sent (the meter is already on the switch),
    // whichever way the connection sends bundle adds (a wrapped message, or written straight into its batch).
    conn.send = (msg: OfpMessage) => {
      const xid = send(msg);
      if (isBundleMsg(msg, ONFT_BUNDLE_ADD_MESSAGE)) conn.close('test: connection dropped mid-install');
      return xid;
    };
    const sendBundleAdd = (conn as { sendBundleAdd?: (id: number, flags: number, msg: OfpMessage) => number }).sendBundleAdd?.bind(conn);
    if (sendBundleAdd) {
      (conn as { sendBundleAdd?: unknown }).sendBundleAdd = (id: number, flags: number, msg: OfpMessage) => {
        const xid = sendBundleAdd(id, flags, msg);
        conn.close('test: connection dropped mid-install');
        return xid;
      };
    }
    const report = nextReport(h.fm);
    const e = await h.app.requestLease(req).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConnectionClosedError);
    expect(h.app.book.active()).toEqual([]);
    expect(h.fm.desiredFlows(DPID, OWNER_NAMES.leases)).toEqual([]);
    // OVS dropped the uncommitted bundle with the connection: no lease flow at any time.
    expect((await dump()).filter((f) => ownerIdOf(f.cookie) === OWNER.LEASES)).toEqual([]);
    // The switch reconnects; the reconcile removes the meter the failed request left behind.
    expect(await report).toMatchObject({ added: 0, deleted: 0, modified: 0, failed: [] });
    expect(contents(await dump())).toEqual(contents(before));
    expect(await meterLines()).toEqual([]);
  });

  it('a 2 s lease disappears by the switch hard timeout even with the controller stopped; a restart does not bring it back', async () => {
    const requestedAt = Date.now(); // before the install: the switch removes the flows 2 s after it, or later
    const rec = await h.app.requestLease({ ...req, rateMbps: undefined, durationSeconds: 2 });
    expect((await dump()).filter((f) => f.cookie === leaseCookie(rec.id)).map((f) => f.hardTimeout)).toEqual(
      new Array(2 * compilePortRange(DATA_PORTS).length).fill(2),
    );
    const records = structuredClone(h.app.book.leases());
    const blocks = structuredClone([...h.app.book.blocks.values()]);
    await stopController();
    for (let i = 0; i < 50 && (await ovs.isConnected(BRIDGE)); i++) await sleep(100);
    expect(await ovs.isConnected(BRIDGE)).toBe(false);
    // Only the switch can remove it now.
    let left = Infinity;
    while (Date.now() - requestedAt < 6000) {
      left = (await dump()).filter((f) => f.cookie === leaseCookie(rec.id)).length;
      if (left === 0) break;
      await sleep(200);
    }
    const goneAfter = Date.now() - requestedAt;
    expect(left).toBe(0);
    expect(goneAfter).toBeGreaterThanOrEqual(2000);
    // Fail-secure: the enterprise path stays while the controller is away.
    const base = await dump();
    expect(base).toHaveLength(baseFlows(defaultSite(), defaultSite().switches[0]!).length);

    const report = await startController({ leases: records, blocks });
    expect(report).toMatchObject({ added: 0, deleted: 0, modified: 0, failed: [] });
    expect(h.app.lease(rec.id)).toMatchObject({ state: 'expired' });
    expect(h.events).toContainEqual(
      expect.objectContaining({ type: 'lease.closed', lease: expect.objectContaining({ id: rec.id, state: 'expired' }) }),
    );
    expect(contents(await dump())).toEqual(contents(base));
    console.log(`a 2 s lease left the switch ${goneAfter} ms after it was requested, with the controller stopped`);
  });
});

describe('a restart under a changed site config', () => {
  it('revokes a restored lease the new config no longer allows; the switch loses its flows, nothing else changes', async () => {
    const rec = await h.app.requestLease({ ...ROUTED, remote: '203.0.113.0/24' });
    const n = leaseFlows(h.app.site, rec, rec.start).flows.length;
    const before = await dump();
    await stopController();
    const narrowed = parseSiteConfig(DEFAULT_SITE_YAML.replace('ports: [50000-51000, 5201]', 'ports: [5201]'), '(test site)');
    const report = await startController({ leases: structuredClone(h.app.book.leases()) }, narrowed);
    expect(report).toMatchObject({ added: 0, deleted: n, modified: 0, failed: [] });
    expect(h.app.lease(rec.id)).toMatchObject({ state: 'revoked' });
    expect(h.events).toContainEqual(
      expect.objectContaining({ type: 'lease.closed', lease: expect.objectContaining({ id: rec.id, state: 'revoked' }) }),
    );
    const after = await dump();
    expect(contents(after)).toEqual(contents(before.filter((f) => f.cookie !== leaseCookie(rec.id))));
    // The pipeline was not touched by the restart: its entries kept running.
    for (const f of after) expect(f.duration).toBeGreaterThanOrEqual(before.find((b) => identity(b) === identity(f))!.duration);
    await h.app.reloadSite(defaultSite());
  });
});

describe('site reload on OVS: only what the change touches changes', () => {
  const WAIT_MS = 2100;
  const LAN_MAC_NEW = '02:00:00:00:01:77';
  const yamlWith = (edit: (y: string) => string) => parseSiteConfig(edit(DEFAULT_SITE_YAML), '(test site)');
  const lanMacChanged = (y: string) => y.replace('mac: "02:00:00:00:01:07"', `mac: "${LAN_MAC_NEW}"`);
  const lan2Added = (y: string) =>
    y.replace('circuits:\n', '  - name: lan2\n    switch: dmz1\n    port: 7\n    mac: "02:00:00:00:01:08"\n    ipv4: [10.10.1.31]\ncircuits:\n');

  /** Reloads after a wait; returns the flows before and after, split into kept, removed and added. */
  async function reload(
    site: Site,
  ): Promise<{ kept: [Dumped, Dumped][]; removed: Dumped[]; added: Dumped[]; revoked: number[]; sinceReload: number }> {
    const before = await dump();
    await sleep(WAIT_MS);
    const at = Date.now();
    const { revoked } = await h.app.reloadSite(site);
    const after = await dump();
    const sinceReload = (Date.now() - at) / 1000;
    const byId = new Map(before.map((f) => [identity(f), f]));
    const kept: [Dumped, Dumped][] = [];
    const added: Dumped[] = [];
    for (const f of after) {
      const was = byId.get(identity(f));
      if (was) {
        kept.push([was, f]);
        byId.delete(identity(f));
      } else added.push(f);
    }
    return { kept, removed: [...byId.values()], added, revoked, sinceReload };
  }

  function expectUntouched(kept: [Dumped, Dumped][]): void {
    for (const [was, now] of kept) {
      expect(content(now), 'an unaffected flow changed').toBe(content(was));
      expect(now.duration, `${identity(now)} restarted`).toBeGreaterThanOrEqual(was.duration + WAIT_MS / 1000);
    }
  }

  let lease: LeaseRecord;

  it('a changed LAN host MAC replaces only its delivery flows; leases, blocks and the rest keep counting', async () => {
    lease = await h.app.requestLease(ROUTED);
    await h.app.addBlock({ prefix: '198.18.0.0/15', reason: 'operator' });
    const r = await reload(yamlWith(lanMacChanged));
    expect(r.revoked).toEqual([]);
    // From fw-inside, dtn1 and ps1 to lan1 by MAC: three flows, each replaced by one with the new MAC.
    expect(r.removed.map((f) => f.match).sort()).toEqual([
      'in_port=4,dl_dst=02:00:00:00:01:07',
      'in_port=5,dl_dst=02:00:00:00:01:07',
      'in_port=6,dl_dst=02:00:00:00:01:07',
    ]);
    expect(r.added.map((f) => `${f.match} -> ${f.actions}`).sort()).toEqual([4, 5, 6].map((p) => `in_port=${p},dl_dst=${LAN_MAC_NEW} -> output:7`));
    for (const f of r.added) expect(f.duration).toBeLessThanOrEqual(r.sinceReload + 0.1);
    expectUntouched(r.kept);
    expect(r.kept.filter(([f]) => f.cookie === leaseCookie(lease.id)).length).toBeGreaterThan(0);
    expect(r.kept.filter(([f]) => ownerIdOf(f.cookie) === OWNER.BLOCKS)).toHaveLength(2);
  });

  it('a new LAN host adds its delivery flows and touches nothing else', async () => {
    const r = await reload(yamlWith((y) => lan2Added(lanMacChanged(y))));
    expect(r.removed).toEqual([]);
    expect(r.added.map((f) => `${f.match} -> ${f.actions}`).sort()).toEqual(
      [4, 5, 6].map((p) => `in_port=${p},dl_dst=02:00:00:00:01:08 -> output:7`),
    );
    expectUntouched(r.kept);
  });

  it('a policy that no longer allows a lease revokes it (its flows go) and touches nothing else', async () => {
    const r = await reload(yamlWith((y) => lan2Added(lanMacChanged(y)).replace('ports: [50000-51000, 5201]', 'ports: [5201]')));
    expect(r.revoked).toEqual([lease.id]);
    expect(h.app.lease(lease.id)).toMatchObject({ state: 'revoked' });
    expect(r.removed.length).toBeGreaterThan(0);
    expect(r.removed.every((f) => f.cookie === leaseCookie(lease.id))).toBe(true);
    expect(r.added).toEqual([]);
    expectUntouched(r.kept);
  });

  it('back to the default site: the LAN flows revert, the rest keeps counting', async () => {
    const r = await reload(defaultSite());
    expect(r.removed.map((f) => f.match).sort()).toEqual(
      [4, 5, 6].flatMap((p) => [`in_port=${p},dl_dst=02:00:00:00:01:08`, `in_port=${p},dl_dst=${LAN_MAC_NEW}`]).sort(),
    );
    expect(r.added.map((f) => f.match).sort()).toEqual([4, 5, 6].map((p) => `in_port=${p},dl_dst=02:00:00:00:01:07`));
    expectUntouched(r.kept);
    for (const b of h.app.book.activeBlocks()) await h.app.removeBlock(b.id);
    expect(await h.fm.reconcile(DPID)).toMatchObject({ added: 0, deleted: 0, modified: 0 });
  });
});

describe('lease counters with real frames through the bridge', () => {
  const SEND = join(HELPERS, 'afpacket-exchange.py');
  const CAPTURE = join(HELPERS, 'afpacket-capture.py');

  beforeAll(() => {
    for (const f of [SEND, CAPTURE]) if (!existsSync(f)) throw new Error(`missing helper ${f}`);
    // The tap devices of the internal ports carry the frames: up, and silent (no IPv6 of their own).
    for (const i of IFACES) {
      writeFileSync(`/proc/sys/net/ipv6/conf/${i}/disable_ipv6`, '1');
      const r = spawnSync('ip', ['link', 'set', 'dev', i, 'up'], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ip link set ${i} up: ${r.stderr}`);
    }
  });

  /** Sends a frame into the switch on `port` (written on its tap device, OVS receives it there). */
  function sendFrame(port: number, frame: Uint8Array): void {
    const r = spawnSync('python3', [SEND, ifaceOf(port), Buffer.from(frame).toString('hex'), '0'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`afpacket helper failed: ${r.stderr || r.error}`);
  }

  /**
   * Starts listening for `count` frames to `mac` leaving the switch on `port`; resolves once bound, with a
   * function that waits for them (at most `seconds`: each send is a python process, slow on a loaded machine).
   */
  async function capture(port: number, mac: string, count: number, seconds = 15): Promise<() => Promise<string[]>> {
    const child: ChildProcess = spawn('python3', [CAPTURE, ifaceOf(port), String(seconds), mac, String(count)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    for (let i = 0; i < 100 && !out.startsWith('ready\n'); i++) await sleep(20);
    if (!out.startsWith('ready\n')) throw new Error(`capture on ${ifaceOf(port)} did not start: ${err}`);
    return async () => {
      await exited;
      return out.split('\n').slice(1).filter(Boolean);
    };
  }

  const inbound = (remote: string, dstPort: number, size: number) =>
    buildPacket({
      eth: { src: MAC.router, dst: MAC.dtn },
      ipv4: { src: remote, dst: DTN_V4 },
      tcp: { srcPort: 40000, dstPort, flags: 0x18 },
      payload: new Uint8Array(size).fill(0x5a),
    });
  const outbound = (remote: string, srcPort: number, size: number) =>
    buildPacket({
      eth: { src: MAC.dtn, dst: MAC.router },
      ipv4: { src: DTN_V4, dst: remote },
      tcp: { srcPort, dstPort: 40000, flags: 0x18 },
      payload: new Uint8Array(size).fill(0xa5),
    });
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  /**
   * The userspace datapath counts packets on its cached megaflows; revalidator threads credit the OpenFlow
   * entries later (every ~500 ms). Counters read right after a send, and the flow-removed of a delete right
   * after one, can miss the newest packets: wait for a revalidation round, then the switch's numbers are current.
   */
  const settle = async () => {
    await ovs.appctl('revalidator/wait');
  };
  /** What the switch itself counted on a lease's flows (dump-flows): packets, bytes. */
  const switchCount = async (id: number) =>
    (await dump()).filter((f) => f.cookie === leaseCookie(id)).reduce((n, f) => [n[0]! + f.packets, n[1]! + f.bytes], [0, 0]);
  const sum = (l: Uint8Array[]) => l.reduce((n, f) => n + f.length, 0);

  it('pollCounters shows the lease counters rise by the frames sent through its flows; release keeps the final count', async () => {
    const rec = await h.app.requestLease(ROUTED);
    const ins = [0, 100, 500, 1000].map((n, i) => inbound('192.0.2.10', 50000 + i, n));
    const outs = [10, 200, 1400].map((n, i) => outbound('192.0.2.10', 50010 + i, n));
    const offLease = inbound('192.0.2.10', 22, 64); // same hosts, port outside the lease: enterprise path

    const atDtn = await capture(DTN, MAC.dtn, ins.length);
    const atWan = await capture(WAN, MAC.router, outs.length);
    const atFirewall = await capture(FW_OUT, MAC.dtn, 1);
    for (const f of ins) sendFrame(WAN, f);
    for (const f of outs) sendFrame(DTN, f);
    sendFrame(WAN, offLease);
    // The bypass delivers the frames unchanged, and only there; the other one takes the firewall's leg.
    expect(await atDtn()).toEqual(ins.map(hex));
    expect(await atWan()).toEqual(outs.map(hex));
    expect(await atFirewall()).toEqual([hex(offLease)]);

    await settle();
    await h.app.pollCounters();
    const expected = { packetsIn: ins.length, bytesIn: sum(ins), packetsOut: outs.length, bytesOut: sum(outs) };
    expect(h.app.lease(rec.id)!.counters).toEqual(expected);
    expect(await switchCount(rec.id)).toEqual([ins.length + outs.length, sum(ins) + sum(outs)]);

    // Two more after the poll: the release's final numbers come from the switch (poll and flow-removed).
    const more = [inbound('192.0.2.10', 50500, 300), inbound('192.0.2.10', 50501, 40)];
    const atDtn2 = await capture(DTN, MAC.dtn, more.length);
    for (const f of more) sendFrame(WAN, f);
    expect(await atDtn2()).toEqual(more.map(hex));
    await settle();
    const removedBefore = h.removed.length;
    await h.app.releaseLease(rec.id);
    const final = { ...expected, packetsIn: expected.packetsIn + 2, bytesIn: expected.bytesIn + sum(more) };
    expect(h.app.lease(rec.id)).toMatchObject({ state: 'released', counters: final });
    // Every flow's flow-removed came in before releaseLease resolved (OVS sends them after the barrier reply).
    const flowRemoved = h.removed.slice(removedBefore).filter((m) => m.cookie === leaseCookie(rec.id));
    expect(flowRemoved).toHaveLength(leaseFlows(h.app.site, rec, rec.start).flows.length);
    expect(flowRemoved.every((m) => m.reason === OFPRR.DELETE)).toBe(true);
    expect(flowRemoved.reduce((n, m) => n + Number(m.packetCount), 0)).toBe(final.packetsIn + final.packetsOut);
    expect(flowRemoved.reduce((n, m) => n + Number(m.byteCount), 0)).toBe(final.bytesIn + final.bytesOut);
    console.log(`lease ${rec.id} counted ${final.packetsIn} packets / ${final.bytesIn} bytes in, ${final.packetsOut} / ${final.bytesOut} out`);
  });

  it('extendLease re-arms the hard timeout on the switch and keeps the counts', async () => {
    const rec = await h.app.requestLease({ ...ROUTED, remote: '203.0.113.0/24', durationSeconds: 60 });
    const ins = [inbound('203.0.113.9', 50100, 10), inbound('203.0.113.9', 50101, 20)];
    const atDtn = await capture(DTN, MAC.dtn, ins.length);
    for (const f of ins) sendFrame(WAN, f);
    expect(await atDtn()).toEqual(ins.map(hex));
    await settle();
    await h.app.pollCounters();
    const counted = { packetsIn: 2, bytesIn: sum(ins), packetsOut: 0, bytesOut: 0 };
    expect(h.app.lease(rec.id)!.counters).toEqual(counted);
    await h.app.extendLease(rec.id, Date.now() + 600_000);
    const mine = (await dump()).filter((f) => f.cookie === leaseCookie(rec.id));
    // Replaced in place: the hard timeout restarts from the new end, the switch's counters are carried over.
    expect(mine).toHaveLength(leaseFlows(h.app.site, rec, rec.start).flows.length);
    expect(mine.every((f) => f.hardTimeout >= 599 && f.hardTimeout <= 600)).toBe(true);
    expect(mine.reduce((n, f) => n + f.packets, 0)).toBe(2);
    await settle();
    await h.app.pollCounters();
    expect(h.app.lease(rec.id)!.counters).toEqual(counted);
    await h.app.releaseLease(rec.id);
    expect(h.app.lease(rec.id)!.counters).toEqual(counted);
  });

  it('a lease that ends on its own closes with the final counts the switch reported in flow-removed', async () => {
    const rec = await h.app.requestLease({ ...ROUTED, remote: '198.51.100.0/24', durationSeconds: 2 });
    const closed = new Promise<LeaseRecord>((resolve) => {
      const on = (e: DmzEvent) => {
        if (e.type === 'lease.closed' && e.lease.id === rec.id) {
          h.app.off('event', on);
          resolve(e.lease);
        }
      };
      h.app.on('event', on);
    });
    const ins = [inbound('198.51.100.9', 50077, 120), inbound('198.51.100.9', 50078, 700)];
    const atDtn = await capture(DTN, MAC.dtn, ins.length);
    for (const f of ins) sendFrame(WAN, f);
    expect(await atDtn()).toEqual(ins.map(hex));
    await settle();
    // No poll: the app learns the counts when the flows go.
    const lease = await closed;
    expect(lease).toMatchObject({ state: 'expired', counters: { packetsIn: 2, bytesIn: sum(ins), packetsOut: 0, bytesOut: 0 } });
    const flowRemoved = h.removed.filter((m) => m.cookie === leaseCookie(rec.id));
    expect(flowRemoved.length).toBe(leaseFlows(h.app.site, rec, rec.start).flows.length);
    expect(flowRemoved.reduce((n, m) => n + Number(m.packetCount), 0)).toBe(2);
    expect((await dump()).filter((f) => f.cookie === leaseCookie(rec.id))).toEqual([]);
    console.log(
      `a 2 s lease closed by ${[...new Set(flowRemoved.map((m) => ['idle', 'hard timeout', 'delete'][m.reason]))].join(' + ')} with ${lease.counters.packetsIn} packets / ${lease.counters.bytesIn} bytes`,
    );
  });
});
