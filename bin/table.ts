// Readable tables for people (`--json` gives scripts the API's JSON instead).

export function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cell = (v: unknown): string => {
    if (v === undefined || v === null) return '';
    if (Array.isArray(v)) return v.join(',');
    return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : JSON.stringify(v);
  };
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n');
}

/** One record as `key: value` lines. */
export function record(r: Record<string, unknown>): string {
  const width = Math.max(...Object.keys(r).map((k) => k.length));
  return Object.entries(r)
    .map(([k, v]) => `${k.padEnd(width)}  ${typeof v === 'object' && v !== null && !Array.isArray(v) ? JSON.stringify(v) : Array.isArray(v) ? v.join(',') : String(v)}`)
    .join('\n');
}
