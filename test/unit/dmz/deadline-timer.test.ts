// The one timer for every lease end: deadlines fire once each, in due order (ties in the order they were set),
// not after clear(), only for their latest setting after a re-arm, and an earlier deadline set later re-arms the
// timer. Fake timers and a fake clock: the tests run in no time and do not depend on the machine's load.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineTimer } from '../../../apps/dmz/deadline-timer.js';
import { systemClock } from '../../../controller/clock.js';
import { FakeClock } from '../../helpers/fake-clock.js';

describe('DeadlineTimer', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  const make = () => {
    const fired: [number, number][] = [];
    const t = new DeadlineTimer((id) => fired.push([id, Date.now() - 1_000_000]), {
      now: () => Date.now(),
      setTimer: (ms, fn) => systemClock.setTimer(ms, fn),
    });
    return { t, fired };
  };

  it('fires each deadline once, when due, in due order and ties in the order set', () => {
    const { t, fired } = make();
    t.set(3, 300);
    t.set(1, 100);
    t.set(2, 200);
    t.set(4, 200); // same due as 2, set later
    t.set(5, -50); // past: fires on the next turn
    expect(t.size).toBe(5);
    vi.advanceTimersByTime(99);
    expect(fired).toEqual([[5, 0]]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([
      [5, 0],
      [1, 100],
    ]);
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual([
      [5, 0],
      [1, 100],
      [2, 200],
      [4, 200],
      [3, 300],
    ]);
    expect(t.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not fire a cleared deadline, and leaves no timer when none is left', () => {
    const { t, fired } = make();
    t.set(1, 100);
    t.set(2, 200);
    t.clear(1);
    expect(t.has(1)).toBe(false);
    vi.advanceTimersByTime(150);
    expect(fired).toEqual([]);
    t.clear(2);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual([]);
  });

  it('fires a re-armed deadline only at its latest time, once', () => {
    const { t, fired } = make();
    t.set(1, 100);
    t.set(1, 500); // later
    t.set(2, 300);
    t.set(2, 50); // earlier than the timer was armed for: re-arms it
    vi.advanceTimersByTime(50);
    expect(fired).toEqual([[2, 50]]);
    vi.advanceTimersByTime(450);
    expect(fired).toEqual([
      [2, 50],
      [1, 500],
    ]);
    vi.advanceTimersByTime(1000);
    expect(fired).toHaveLength(2);
  });

  it('can set a deadline again from its own firing, and after stop() fires nothing', () => {
    const fired: number[] = [];
    const t: DeadlineTimer = new DeadlineTimer(
      (id) => {
        fired.push(Date.now() - 1_000_000);
        if (fired.length < 3) t.set(id, 10);
      },
      { now: () => Date.now(), setTimer: (ms, fn) => systemClock.setTimer(ms, fn) },
    );
    t.set(7, 10);
    vi.advanceTimersByTime(100);
    expect(fired).toEqual([10, 20, 30]);
    t.set(8, 10);
    t.stop();
    vi.advanceTimersByTime(100);
    expect(fired).toEqual([10, 20, 30]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stays correct through many re-arms and clears (stale entries compacted away)', () => {
    const { t, fired } = make();
    const want = new Map<number, number>();
    let s = 12345;
    const rnd = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let k = 0; k < 5000; k++) {
      const id = Math.floor(rnd() * 300);
      if (rnd() < 0.3) {
        t.clear(id);
        want.delete(id);
      } else {
        const ms = 1 + Math.floor(rnd() * 1000);
        t.set(id, ms);
        want.set(id, ms);
      }
    }
    expect(t.size).toBe(want.size);
    vi.advanceTimersByTime(2000);
    const expected = [...want].map(([id, ms], i) => ({ id, ms, i })).sort((a, b) => a.ms - b.ms || a.i - b.i);
    // Ties: the order they were last set in, which `want` (re-inserted on each set) does not keep: compare as sets per time.
    expect(fired.map(([, at]) => at)).toEqual(expected.map((e) => e.ms));
    expect(new Set(fired.map(([id, at]) => `${id}@${at}`))).toEqual(new Set(expected.map((e) => `${e.id}@${e.ms}`)));
  });

  it('waits out deadlines beyond a 32-bit count of ms (Node cuts longer timeouts), a year included', () => {
    const { t, fired } = make();
    const day = 86_400_000;
    t.set(1, 25 * day); // just past 2^31 ms (24.86 days)
    t.set(2, 365 * day);
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(25 * day - (2 ** 31 - 1) - 1);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([[1, 25 * day]]);
    vi.advanceTimersByTime(365 * day - 25 * day - 1);
    expect(fired).toEqual([[1, 25 * day]]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([
      [1, 25 * day],
      [2, 365 * day],
    ]);
  });

  it('runs on the clock it is given (no Node timer)', () => {
    const clock = new FakeClock(500);
    const fired: [number, number][] = [];
    const t = new DeadlineTimer((id) => fired.push([id, clock.now()]), clock);
    t.set(1, 100);
    t.set(2, 50);
    expect(vi.getTimerCount()).toBe(0);
    clock.advance(60);
    expect(fired).toEqual([[2, 550]]);
    clock.advance(40);
    expect(fired).toEqual([
      [2, 550],
      [1, 600],
    ]);
    expect(clock.pending).toBe(0);
  });
});
