// The ratios block every benchmark prints first: the ratio's direction, the goal check, and the printed rows.
import { describe, expect, it } from 'vitest';
import { metOf, ratioLines, ratioOf, type Ratio } from '../../../bench/ratios.js';

const rate: Ratio = { measure: 'flow-mods/s', versus: 'os-ken', dmzgate: 900_000, other: 20_000, better: 'higher', goal: 40 };
const time: Ratio = { measure: 'RTT median', versus: 'floor', dmzgate: 30, other: 10, better: 'lower', goal: 2 };

describe('ratios', () => {
  it('is always dmzgate over the other system', () => {
    expect(ratioOf(rate)).toBe(45);
    expect(ratioOf(time)).toBe(3);
  });

  it('meets a goal at or above it for a rate, at or below it for a time', () => {
    expect(metOf(rate)).toBe('yes');
    expect(metOf({ ...rate, dmzgate: 799_999 })).toBe('NO');
    expect(metOf({ ...rate, dmzgate: 800_000 })).toBe('yes');
    expect(metOf(time)).toBe('NO');
    expect(metOf({ ...time, dmzgate: 20 })).toBe('yes');
    expect(metOf({ ...time, goal: undefined })).toBe('');
  });

  it('does not claim a goal met when a figure is missing', () => {
    expect(ratioOf({ ...rate, other: NaN })).toBeNaN();
    expect(metOf({ ...rate, other: 0 })).toBe('NO');
    expect(metOf({ ...time, dmzgate: NaN })).toBe('NO');
  });

  it('prints one aligned row per ratio with its goal and verdict', () => {
    const lines = ratioLines([rate, time, { ...time, measure: 'RTT p99', goal: undefined, other: NaN }]);
    expect(lines[0]).toMatch(/^dmzgate \/ other\s+other\s+ratio\s+better\s+goal\s+met$/);
    expect(lines[2]).toMatch(/^flow-mods\/s\s+os-ken\s+45x\s+higher\s+>= 40x\s+yes$/);
    expect(lines[3]).toMatch(/^RTT median\s+floor\s+3\.00x\s+lower\s+<= 2\.00x\s+NO$/);
    expect(lines[4]).toMatch(/^RTT p99\s+floor\s+-\s+lower$/);
    const ratioCol = lines[0]!.indexOf('ratio') + 'ratio'.length;
    for (const l of lines.slice(2)) expect(l.slice(0, ratioCol)).toMatch(/\S$/); // right-aligned
  });

  it('takes the median of the per-repetition ratios when there are some, and shows their range', () => {
    const reps: Ratio = {
      measure: 'req/s, c=10',
      versus: 'writes off',
      dmzgate: NaN,
      other: NaN,
      better: 'higher',
      goal: 0.9,
      byRep: [0.95, 0.85, 0.92],
    };
    expect(ratioOf(reps)).toBe(0.92);
    expect(metOf(reps)).toBe('yes');
    expect(metOf({ ...reps, byRep: [0.95, 0.85, 0.88] })).toBe('NO');
    expect(metOf({ ...reps, byRep: [] })).toBe('NO');
    const lines = ratioLines([rate, reps]);
    expect(lines[0]).toMatch(/range over repetitions$/);
    expect(lines[3]).toMatch(/0\.92x\s+higher\s+>= 0\.90x\s+yes\s+0\.85x-0\.95x \(3\)$/);
  });
});
