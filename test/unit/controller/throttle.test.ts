// The throttle behind refusal logs and switch.refused events: the first occurrence of a key is reported at once,
// those within the following window together when it ends (with their count), and keys past the limit share one.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Throttle } from '../../../controller/throttle.js';

describe('Throttle', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('reports the first at once, then one report per window with the count and the latest, until they stop', () => {
    const reports: [string, number, number][] = [];
    const t = new Throttle<number>(1000, (k, n, last) => reports.push([k, n, last]));
    t.note('a', 1);
    expect(reports).toEqual([['a', 1, 1]]);
    for (let i = 2; i <= 50; i++) t.note('a', i);
    t.note('b', 100);
    expect(reports).toEqual([
      ['a', 1, 1],
      ['b', 1, 100],
    ]);
    vi.advanceTimersByTime(1000);
    expect(reports).toEqual([
      ['a', 1, 1],
      ['b', 1, 100],
      ['a', 49, 50],
    ]);
    t.note('a', 51);
    vi.advanceTimersByTime(1000);
    expect(reports.at(-1)).toEqual(['a', 1, 51]);
    vi.advanceTimersByTime(5000); // quiet: nothing more, and the next one is reported at once again
    expect(reports).toHaveLength(4);
    t.note('a', 52);
    expect(reports.at(-1)).toEqual(['a', 1, 52]);
    t.close();
  });

  it('keys past maxKeys share the overflow key', () => {
    const reports: string[] = [];
    const t = new Throttle<number>(1000, (k) => reports.push(k), 2, 'other');
    for (const k of ['a', 'b', 'c', 'd', 'a']) t.note(k, 0);
    expect(reports).toEqual(['a', 'b', 'other']);
    t.close();
    vi.advanceTimersByTime(2000);
    expect(reports).toEqual(['a', 'b', 'other']); // closed: nothing counted is reported
  });
});
