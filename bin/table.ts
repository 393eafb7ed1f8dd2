// Readable tables for people (`--json` gives scripts the API's JSON instead). Every value is escaped (printable).
import { printable } from './printable.js';

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return printable(v.join(','));
  return printable(typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : JSON.stringify(v));
}

export function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cell = text;
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n');
}

/** One record as `key: value` lines. */
export function record(r: Record<string, unknown>): string {
  const width = Math.max(...Object.keys(r).map((k) => k.length));
  return Object.entries(r)
    .map(([k, v]) => `${printable(k).padEnd(width)}  ${text(v === undefined || v === null ? String(v) : v)}`)
    .join('\n');
}
