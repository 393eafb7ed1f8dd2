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
});
