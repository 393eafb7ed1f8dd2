// The journal file: records written at the end of the last whole one, inside space preallocated with zeros; the
// zeros are never records, a record torn inside them is cut like any torn last record, damage before the last
// record is still refused. (The store's use of it, and kill -9 at random instants, are in store.test.ts.)
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Journal, JournalError, parseJournal } from '../../../api/state/journal-file.js';

let dir: string;
let n = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmzgate-journal-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
const fresh = () => join(dir, `j${n++}`);

const record = (seq: number) => `${JSON.stringify({ seq, leases: { [seq]: { id: seq, remote: '198.18.0.1/32', note: 'é✓' } } })}\n`;

/** A journal with records 1..count written through Journal (and closed, so its preallocation has ended). */
async function written(file: string, count: number): Promise<string> {
  const j = new Journal(file);
  await j.open();
  let text = '';
  for (let seq = 1; seq <= count; seq++) {
    await j.append(record(seq));
    text += record(seq);
  }
  await j.close();
  return text;
}

const seqs = (file: string) => parseJournal(readFileSync(file), file).records.map((r) => r.seq);
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('journal preallocation', () => {
  it('a short-lived journal (a CLI command) gets no zeros; a busy one gets space ahead of its records, all zeros', async () => {
    const few = fresh();
    const fewText = await written(few, 3);
    expect(readFileSync(few, 'utf8')).toBe(fewText);

    const busy = fresh();
    const text = await written(busy, 40);
    const bytes = readFileSync(busy);
    const end = Buffer.byteLength(text);
    expect(bytes.subarray(0, end).toString('utf8')).toBe(text);
    expect(bytes.length).toBeGreaterThanOrEqual(end + (256 << 10)); // at least the low-water mark ahead
    expect(bytes.subarray(end).every((b) => b === 0)).toBe(true);
    expect(parseJournal(bytes, busy)).toMatchObject({ goodBytes: end, tornBytes: 0 });
    expect(seqs(busy)).toEqual(range(1, 40));
  });

  it('reopened, it reads every record and writes the next right after the last one, not after the zeros', async () => {
    const file = fresh();
    const text = await written(file, 40);
    const size = statSync(file).size;
    const j = new Journal(file);
    const { records, tornBytes } = await j.open();
    expect([records.length, tornBytes, j.bytes]).toEqual([40, 0, Buffer.byteLength(text)]);
    await j.append(record(41));
    await j.close();
    expect(readFileSync(file).subarray(0, j.bytes).toString('utf8')).toBe(text + record(41));
    expect(statSync(file).size).toBe(size); // inside the space already there
    expect(seqs(file)).toEqual(range(1, 41));
  });

  it('a record torn inside the zeros (its head only, or its tail only) is cut when opened, and the next follows the last whole one', async () => {
    const good = await written(fresh(), 40);
    const at = Buffer.byteLength(good);
    const next = Buffer.from(record(41));
    const tornShapes: [string, (b: Buffer) => void][] = [
      ['head only', (b) => next.copy(b, at, 0, 10)],
      ['tail only (its first page not written)', (b) => next.copy(b, at + 10, 10)],
      ['all but the newline', (b) => next.copy(b, at, 0, next.length - 1)],
    ];
    for (const [shape, tear] of tornShapes) {
      const file = fresh();
      const bytes = Buffer.alloc(at + (1 << 20));
      bytes.write(good);
      tear(bytes);
      writeFileSync(file, bytes);
      expect(parseJournal(bytes, file).records.length, shape).toBe(40);
      const j = new Journal(file);
      const opened = await j.open();
      expect([opened.records.length, opened.tornBytes > 0], shape).toEqual([40, true]);
      await j.append(record(41));
      await j.close();
      expect(readFileSync(file, 'utf8'), shape).toBe(good + record(41));
    }
  });

  it('a whole last line that is not JSON is dropped and reported with its text; a torn one (no newline) is not reported', () => {
    const good = record(1) + record(2);
    const damaged = parseJournal(Buffer.from(`${good}{"seq":3,"lea\u0000\u0000ses":{}}\n`), 'j');
    expect(damaged.records.map((r) => r.seq)).toEqual([1, 2]);
    expect(damaged.damaged).toMatchObject({ line: 3, text: '{"seq":3,"lea\u0000\u0000ses":{}}', bytes: 23 });
    expect(damaged.damaged!.error).toMatch(/JSON/);
    const long = parseJournal(Buffer.from(`${good}${'y'.repeat(5000)}\n`), 'j');
    expect([long.damaged!.text.length, long.damaged!.bytes]).toEqual([200, 5000]);
    const torn = parseJournal(Buffer.from(`${good}{"seq":3,"lea`), 'j');
    expect([torn.records.length, torn.tornBytes, torn.damaged]).toEqual([2, 13, undefined]);
  });

  it('damage before the last record is refused even with zeros after it', async () => {
    const file = fresh();
    await written(file, 40);
    const bytes = readFileSync(file);
    bytes[Buffer.byteLength(record(1)) + 3] = 0x7b; // record 2's text broken
    writeFileSync(file, bytes);
    await expect(new Journal(file).open()).rejects.toThrow(JournalError);
    await expect(new Journal(file).open()).rejects.toThrow(/j[0-9]+ line 2: /);
    expect(readFileSync(file).equals(bytes)).toBe(true); // left as it was
  });

  it('cut anywhere, records and zeros read as the records wholly before the cut', async () => {
    const file = fresh();
    await written(file, 20); // 20 records: preallocation starts after the 16th
    const bytes = readFileSync(file);
    const ends: number[] = [];
    for (let seq = 1, at = 0; seq <= 20; seq++) ends.push((at += Buffer.byteLength(record(seq))));
    expect(bytes.length).toBeGreaterThan(ends.at(-1)!);
    for (let cut = ends[14]!; cut <= ends.at(-1)! + 64; cut++) {
      const p = parseJournal(bytes.subarray(0, cut), 'j');
      const whole = ends.filter((e) => e <= cut).length;
      expect(p.records.length, `cut at ${cut}`).toBe(whole);
      expect(p.goodBytes).toBe(ends[whole - 1]);
      expect(p.tornBytes).toBe(Math.min(cut, ends.at(-1)!) - p.goodBytes);
    }
  });
});
