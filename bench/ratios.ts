// The block every benchmark prints first: dmzgate's figures divided by those of its floor and its peer, measured in
// the same run. Absolute figures on these virtual machines differ by 2-3x from one day to the next (os-ken's
// packet-in decode: 56k/s one day, 22k/s another); ratios of figures taken minutes apart do not, so goals are read
// from them.

/** One ratio: dmzgate's figure over another system's, both of the same measure. */
export interface Ratio {
  /** What was measured, e.g. "flow-mods/s, 16 switches". */
  measure: string;
  /** The other system: "os-ken", "floor (C fixed reply)", ... */
  versus: string;
  dmzgate: number;
  other: number;
  /** Which way is better for dmzgate: a rate is better higher, a time lower. */
  better: 'higher' | 'lower';
  /** The goal on dmzgate / other, if there is one (>= for 'higher', <= for 'lower'). */
  goal?: number;
  /**
   * The ratio taken in each repetition (from rounds adjacent in time), where a bench repeats its rounds: the block
   * then shows their median, and their range beside it, and ignores dmzgate / other.
   */
  byRep?: number[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** dmzgate / other (or the median of byRep); NaN if a figure is missing or the other is zero. */
export function ratioOf(r: Ratio): number {
  if (r.byRep) return r.byRep.length ? median(r.byRep) : NaN;
  return Number.isFinite(r.dmzgate) && Number.isFinite(r.other) && r.other !== 0 ? r.dmzgate / r.other : NaN;
}

/** 'yes', 'NO', or '' without a goal ('NO' too when the ratio could not be taken). */
export function metOf(r: Ratio): string {
  if (r.goal === undefined) return '';
  const x = ratioOf(r);
  return (r.better === 'higher' ? x >= r.goal : x <= r.goal) ? 'yes' : 'NO';
}

function fmtRatio(x: number): string {
  if (!Number.isFinite(x)) return '-';
  return x >= 10 ? `${x.toFixed(0)}x` : x >= 0.1 ? `${x.toFixed(2)}x` : `${x.toFixed(3)}x`;
}

/** The block's lines: a header, then one aligned row per ratio (measure, versus, ratio, better, goal, met). */
export function ratioLines(ratios: readonly Ratio[]): string[] {
  const rows = [['dmzgate / other', 'other', 'ratio', 'better', 'goal', 'met', 'range over repetitions']];
  for (const r of ratios) {
    const op = r.better === 'higher' ? '>=' : '<=';
    const range = r.byRep && r.byRep.length > 1 ? `${fmtRatio(Math.min(...r.byRep))}-${fmtRatio(Math.max(...r.byRep))} (${r.byRep.length})` : '';
    rows.push([r.measure, r.versus, fmtRatio(ratioOf(r)), r.better, r.goal === undefined ? '' : `${op} ${fmtRatio(r.goal)}`, metOf(r), range]);
  }
  if (!ratios.some((r) => r.byRep && r.byRep.length > 1)) for (const row of rows) row.pop();
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row
      .map((c, i) => (i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
}

/** Prints the block with its title; goals are read from it, the figures after it are for reference. */
export function printRatios(ratios: readonly Ratio[]): void {
  console.log('RATIOS (goals are read from these: absolute figures on these VMs vary 2-3x from day to day)');
  for (const l of ratioLines(ratios)) console.log(`  ${l}`);
  console.log('');
}
