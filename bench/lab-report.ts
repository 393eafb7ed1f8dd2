// The lab report: ESnet's loss-versus-RTT finding, reproduced on the Mininet lab with the real controller. iperf3
// from the remote DTN to the local DTN at several WAN round-trip times, with 1 packet in 22,000 lost inbound on the
// enterprise path (the firewall), once through the firewall and once through a bypass lease requested from the
// running controller's REST API; for cubic and for BBR; beside the Mathis et al. bound MSS / (RTT sqrt(p)) for
// that loss. Printed as a table, written as JSON and as a PNG plot.
//
// Usage (root; needs the lab's Debian packages, see mininet/README.md):
//   npm run lab:report [-- --seconds 10] [--omit 2] [--rtts 1,10,50,88] [--runs 1] [--out dist/lab-report.png]
//     --seconds  measured seconds per run (default 10); --omit: seconds of slow start left out before (default 2)
//     --runs     runs per cell; the median is reported (default 1)
//     --out      the PNG (default dist/lab-report.png); the JSON goes beside it
//     --replot F only redraws the PNG (--out) from the JSON F of an earlier run
//
// The bypass lease covers the DTN's ports 50000-51000 (iperf3 -p 50123), so the firewall runs use 5201, which the
// firewall admits and the lease does not cover. Each run checks that its traffic took the path it names: the
// firewall's forward counters carry the transfer's bytes on the enterprise path, and stay flat on the bypass.
// Both paths share the WAN emulation (delay line at the RTT, 500 Mbit/s, one BDP of buffer); the firewall leg
// adds the loss and a 500 Mbit/s cap of its own, and costs CPU (two more OVS traversals, conntrack, nftables).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DmzLab } from '../lab/dmz-lab.js';
import { checkBuild, ROOT } from '../lab/dmzgate-process.js';
import type { FwCounters, IperfResult } from '../lab/mininet-lab.js';
import { Canvas, type Rgba } from './png.js';

const LOSS_N = 22000;
const MSS = 1448; // bytes: MTU 1500 - IPv4 20 - TCP 20 - timestamps 12
const LEASE_PORT = 50123;
const FIREWALL_PORT = 5201;
const CCS = ['cubic', 'bbr'] as const;
const PATHS = ['firewall', 'bypass'] as const;
type Cc = (typeof CCS)[number];
type PathName = (typeof PATHS)[number];

interface Run {
  mbps: number;
  retransmits: number | undefined;
  fwInBytes: number;
  fwForwardedPackets: number;
  lostIn: number;
  onPath: boolean;
  error?: string;
}
interface Row {
  rtt: number;
  pingMedian: number | undefined;
  mathis: number;
  cells: Record<`${Cc}-${PathName}`, { mbps: number; runs: Run[] }>;
}

function mathisMbps(rttMs: number, lossN = LOSS_N, mss = MSS): number {
  return (((mss * 8) / (rttMs / 1000)) * Math.sqrt(lossN)) / 1e6;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function log(msg: string): void {
  process.stderr.write(`lab-report: ${msg}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      omit: { type: 'string', default: '2' },
      rtts: { type: 'string', default: '1,10,50,88' },
      runs: { type: 'string', default: '1' },
      out: { type: 'string', default: join(ROOT, 'dist', 'lab-report.png') },
      replot: { type: 'string' },
    },
  });
  if (values.replot) {
    const saved = JSON.parse(readFileSync(values.replot, 'utf8')) as { rows: Row[]; seconds: number };
    writeFileSync(resolve(values.out), plot(saved.rows, subtitleOf(saved.seconds)));
    console.log(`plot: ${resolve(values.out)}`);
    return;
  }
  const seconds = Number(values.seconds);
  const omit = Number(values.omit);
  const runs = Number(values.runs);
  const rtts = values.rtts.split(',').map(Number);
  if (![seconds, omit, runs, ...rtts].every((x) => Number.isFinite(x) && x >= 0) || seconds < 1 || runs < 1)
    throw new Error('bad --seconds, --omit, --runs or --rtts');
  if (process.getuid?.() !== 0) throw new Error('the lab needs root');
  checkBuild();
  const out = resolve(values.out);

  const started = Date.now();
  log(`starting the controller and the lab (prototype, RTT ${rtts[0]} ms, loss 1/${LOSS_N} inbound on the enterprise path)`);
  const d = await DmzLab.start({ topo: 'prototype', rtt: rtts[0], loss: `1/${LOSS_N}`, lossDir: 'in' });
  const rows: Row[] = [];
  try {
    const { token } = await d.createToken(
      '--project',
      'lab-report',
      '--dtn',
      'dtn1',
      '--remote',
      '192.0.2.0/24',
      '--ports',
      '50000-51000',
      '--paths',
      'routed',
      '--max-duration',
      '3h',
      '--scope',
      'transfers',
    );
    const lease = await d.request<{ id: number }>('POST', '/api/v1/transfers', token, {
      dtn: 'dtn1',
      remote: '192.0.2.10/32',
      protocol: 'tcp',
      local_ports: ['50000-51000'],
      path: 'routed',
      duration: 3 * 3600,
    });
    if (lease.status !== 201) throw new Error(`the bypass lease was refused: ${lease.status} ${JSON.stringify(lease.body)}`);
    log(`bypass lease ${lease.body.id}: dtn1 ports 50000-51000 <-> 192.0.2.10, routed`);

    for (const rtt of rtts) {
      await d.lab.request('set_rtt', { rtt });
      const ping = await d.lab.ping('rdtn', 'dtn1', { count: 10, interval: 0.1 });
      const row: Row = { rtt, pingMedian: ping.median, mathis: mathisMbps(rtt), cells: {} as Row['cells'] };
      for (const cc of CCS) {
        for (const path of PATHS) {
          const list: Run[] = [];
          for (let i = 0; i < runs; i++) {
            const fw0 = await d.lab.fwCounters();
            const r = await d.lab.request<IperfResult>('iperf3', {
              src: 'rdtn',
              dst: 'dtn1',
              port: path === 'bypass' ? LEASE_PORT : FIREWALL_PORT,
              seconds,
              cc,
              extra: omit ? ['-O', String(omit)] : [],
            });
            await d.drained('rdtn');
            const fw1 = await d.lab.fwCounters();
            list.push(runOf(r, fw0, fw1, path, seconds));
            const last = list[list.length - 1]!;
            log(
              `RTT ${rtt} ms (ping ${ping.median?.toFixed(1)}), ${cc}, ${path}: ${last.mbps.toFixed(1)} Mbit/s, ${last.retransmits ?? '?'} retransmits, ` +
                `firewall lost ${last.lostIn}${last.onPath ? '' : ' -- NOT ON ITS PATH'}${last.error ? ` (${last.error})` : ''}`,
            );
          }
          row.cells[`${cc}-${path}`] = { mbps: median(list.map((x) => x.mbps)), runs: list };
        }
      }
      rows.push(row);
    }
  } finally {
    await d.stop();
  }

  const header =
    `iperf3 remote DTN -> local DTN, ${seconds} s measured (${omit} s omitted), loss 1/${LOSS_N} inbound on the enterprise path; ` +
    `WAN 500 Mbit/s, firewall 500 Mbit/s; Mbit/s${runs > 1 ? `, median of ${runs} runs` : ''}`;
  const table = [
    '| RTT ms | ping ms | cubic firewall | cubic bypass | BBR firewall | BBR bypass | Mathis bound |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.rtt} | ${r.pingMedian?.toFixed(1) ?? '-'} | ${cell(r, 'cubic-firewall')} | ${cell(r, 'cubic-bypass')} | ` +
        `${cell(r, 'bbr-firewall')} | ${cell(r, 'bbr-bypass')} | ${r.mathis.toFixed(1)} |`,
    ),
  ].join('\n');
  console.log(`${header}\n\n${table}\n`);
  const offPath = rows.flatMap((r) => Object.entries(r.cells).flatMap(([k, c]) => c.runs.filter((x) => !x.onPath).map(() => `RTT ${r.rtt} ${k}`)));
  if (offPath.length) console.log(`runs whose traffic did not take the path they name: ${offPath.join(', ')}`);

  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, plot(rows, subtitleOf(seconds)));
  const json = out.replace(/\.png$/, '') + '.json';
  writeFileSync(
    json,
    JSON.stringify({ header, seconds, omit, runs, lossN: LOSS_N, mss: MSS, rows, offPath, minutes: (Date.now() - started) / 60000 }, null, 2),
  );
  console.log(`plot: ${out}\ndata: ${json}\n(${((Date.now() - started) / 60000).toFixed(1)} min)`);
}

function subtitleOf(seconds: number): string {
  return `LOSS 1/${LOSS_N} ON THE ENTERPRISE PATH, 500 MBIT/S CAPS, ${seconds} S RUNS`;
}

function cell(r: Row, k: keyof Row['cells']): string {
  const c = r.cells[k];
  return c.runs.every((x) => x.onPath) ? c.mbps.toFixed(1) : `${c.mbps.toFixed(1)}*`;
}

function runOf(r: IperfResult, fw0: FwCounters, fw1: FwCounters, path: PathName, seconds: number): Run {
  const fwInBytes = fw1.forwarded.in.bytes - fw0.forwarded.in.bytes;
  const fwForwardedPackets = fw1.forwarded.packets - fw0.forwarded.packets;
  const mbps = r.ok ? (r.received_mbps ?? 0) : 0;
  // On the enterprise path the firewall forwarded (at least) what iperf3 measured in its counted seconds; on the
  // bypass it forwarded next to nothing.
  const onPath = path === 'firewall' ? fwInBytes >= ((mbps * 1e6) / 8) * seconds * 0.9 : fwForwardedPackets <= 10;
  return {
    mbps,
    retransmits: r.retransmits,
    fwInBytes,
    fwForwardedPackets,
    lostIn: fw1.dropped.lost_in.packets - fw0.dropped.lost_in.packets,
    onPath,
    ...(r.ok ? {} : { error: r.error ?? 'failed' }),
  };
}

// --- the plot ----------------------------------------------------------------------------------------------------

const SERIES: { key: keyof Row['cells']; label: string; color: Rgba; dash?: [number, number] }[] = [
  { key: 'cubic-bypass', label: 'CUBIC, BYPASS LEASE', color: [31, 119, 180] },
  { key: 'bbr-bypass', label: 'BBR, BYPASS LEASE', color: [44, 160, 44] },
  { key: 'cubic-firewall', label: 'CUBIC, FIREWALL', color: [214, 39, 40] },
  { key: 'bbr-firewall', label: 'BBR, FIREWALL', color: [255, 127, 14] },
];

function plot(rows: Row[], subtitle: string): Buffer {
  const W = 1100;
  const H = 620;
  const left = 90;
  const right = 300;
  const top = 80;
  const bottom = 70;
  const pw = W - left - right;
  const ph = H - top - bottom;
  const c = new Canvas(W, H);
  const ink: Rgba = [30, 30, 30];
  const grid: Rgba = [225, 225, 225];

  const xMax = Math.max(90, Math.ceil(Math.max(...rows.map((r) => r.rtt)) / 10) * 10);
  const measured = rows.flatMap((r) => SERIES.map((s) => r.cells[s.key].mbps)).filter((v) => v > 0);
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...measured, mathisMbps(xMax)) * 0.9));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(500, ...measured) * 1.1));
  const X = (rtt: number): number => left + (rtt / xMax) * pw;
  const Y = (v: number): number => top + ph - ((Math.log10(v) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * ph;

  c.text(left, 18, 'IPERF3 REMOTE DTN -> LOCAL DTN: FIREWALL VS BYPASS LEASE (DMZGATE)', ink, 2);
  c.text(left, 44, subtitle, [90, 90, 90], 2);

  // Grid: decades and 2x, 5x; RTT every 10 ms.
  for (let dec = yMin; dec < yMax; dec *= 10) {
    for (const m of [1, 2, 5]) {
      const v = dec * m;
      if (v > yMax) continue;
      c.line(left, Y(v), left + pw, Y(v), m === 1 ? [200, 200, 200] : grid);
      const label = v >= 1000 ? `${v / 1000}K` : String(v);
      c.text(left - 10 - Canvas.textWidth(label), Y(v) - 7, label, ink, 2);
    }
  }
  c.line(left, Y(yMax), left + pw, Y(yMax), [200, 200, 200]);
  c.text(
    left - 10 - Canvas.textWidth(`${yMax >= 1000 ? `${yMax / 1000}K` : yMax}`),
    Y(yMax) - 7,
    yMax >= 1000 ? `${yMax / 1000}K` : String(yMax),
    ink,
    2,
  );
  for (let x = 0; x <= xMax; x += 10) {
    c.line(X(x), top, X(x), top + ph, grid);
    c.text(X(x) - Canvas.textWidth(String(x)) / 2, top + ph + 10, String(x), ink, 2);
  }
  c.line(left, top, left, top + ph, ink, 2);
  c.line(left, top + ph, left + pw, top + ph, ink, 2);
  c.text(left + pw / 2 - Canvas.textWidth('RTT (MS)') / 2, top + ph + 36, 'RTT (MS)', ink, 2);
  c.text(8, top - 26, 'MBIT/S', ink, 2);

  // The link cap and the Mathis bound (a curve, clipped to the plot).
  c.line(left, Y(500), left + pw, Y(500), [150, 150, 150], 1, [3, 4]);
  c.text(left + pw - Canvas.textWidth('500 MBIT/S CAP') - 6, Y(500) - 18, '500 MBIT/S CAP', [120, 120, 120], 2);
  const curve: [number, number][] = [];
  for (let rtt = 0.25; rtt <= xMax; rtt += 0.25) {
    const v = mathisMbps(rtt);
    if (v <= yMax && v >= yMin) curve.push([X(rtt), Y(v)]);
  }
  c.polyline(curve, ink, 2, [10, 7]);

  for (const s of SERIES) {
    const pts = rows.map((r) => [X(r.rtt), Y(Math.max(r.cells[s.key].mbps, yMin))] as const);
    for (let i = 1; i < pts.length; i++) c.line(pts[i - 1]![0], pts[i - 1]![1], pts[i]![0], pts[i]![1], s.color, 3, s.dash);
    for (const [x, y] of pts) c.disc(x, y, 5, s.color);
  }

  // Legend, right of the plot.
  const lx = left + pw + 24;
  let ly = top + 10;
  for (const s of SERIES) {
    c.line(lx, ly + 7, lx + 36, ly + 7, s.color, 3);
    c.disc(lx + 18, ly + 7, 5, s.color);
    c.text(lx + 46, ly, s.label, ink, 2);
    ly += 30;
  }
  c.line(lx, ly + 7, lx + 36, ly + 7, ink, 2, [8, 6]);
  c.text(lx + 46, ly, 'MATHIS BOUND', ink, 2);
  c.text(lx + 46, ly + 20, 'MSS/(RTT SQRT(P))', [90, 90, 90], 2);
  ly += 60;
  // The figures, beside the plot.
  c.text(lx, ly, 'RTT  FW CUB BYP CUB', ink, 2);
  ly += 22;
  for (const r of rows) {
    c.text(
      lx,
      ly,
      `${String(r.rtt).padStart(3)} ${r.cells['cubic-firewall'].mbps.toFixed(0).padStart(6)} ${r.cells['cubic-bypass'].mbps.toFixed(0).padStart(7)}`,
      ink,
      2,
    );
    ly += 20;
  }
  ly += 10;
  c.text(lx, ly, 'RTT  FW BBR BYP BBR', ink, 2);
  ly += 22;
  for (const r of rows) {
    c.text(
      lx,
      ly,
      `${String(r.rtt).padStart(3)} ${r.cells['bbr-firewall'].mbps.toFixed(0).padStart(6)} ${r.cells['bbr-bypass'].mbps.toFixed(0).padStart(7)}`,
      ink,
      2,
    );
    ly += 20;
  }
  return c.png();
}

main().catch((e: Error) => {
  console.error(`lab-report: ${e.stack ?? e.message}`);
  process.exit(1);
});
