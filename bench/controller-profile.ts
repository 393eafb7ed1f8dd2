// Summary of a V8 .cpuprofile (node --cpu-prof): where the time went, as self time per function, self time per
// source file, and inclusive time per function (a sample counts once for every distinct function on its stack).
import { relative } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function shortUrl(url: string): string {
  if (!url) return '';
  const path = url.replace(/^file:\/\//, '');
  const dist = path.indexOf('/dist/');
  if (dist >= 0) return path.slice(dist + 1); // compiled JS: its line numbers, not the .ts source's
  if (path.startsWith('node:')) return path;
  return relative(process.cwd(), path);
}

function key(f: CallFrame): string {
  const where = shortUrl(f.url);
  return `${f.functionName || '(anonymous)'}${where ? ` ${where}:${f.lineNumber + 1}` : ''}`;
}

/** Text: the `top` functions by self time, the files by self time, and the `top` functions by inclusive time. */
export function summariseProfile(p: CpuProfile, top = 20): string {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<string, number>();
  const file = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    const node = byId.get(p.samples[i]!);
    if (!node) continue;
    total += dt;
    const k = key(node.callFrame);
    self.set(k, (self.get(k) ?? 0) + dt);
    const f = shortUrl(node.callFrame.url) || node.callFrame.functionName || '(native)';
    file.set(f, (file.get(f) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const kk = key(byId.get(id)!.callFrame);
      if (kk === '(root)' || seen.has(kk)) continue;
      seen.add(kk);
      incl.set(kk, (incl.get(kk) ?? 0) + dt);
    }
  }
  const pct = (v: number) => `${((100 * v) / total).toFixed(1).padStart(5)}%`;
  const list = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `  ${pct(v)}  ${k}`)
      .join('\n');
  return [
    `  ${(total / 1e6).toFixed(1)} s sampled`,
    `self time by function:`,
    list(self, top),
    `self time by file:`,
    list(file, 12),
    `inclusive time by function:`,
    list(incl, top),
  ].join('\n');
}
