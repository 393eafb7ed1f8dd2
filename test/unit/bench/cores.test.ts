// waitUntilIdle against real processes: one that burns CPU for a while, then sleeps, and one that only sleeps.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { waitUntilIdle } from '../../../bench/cores.js';

const children: ChildProcess[] = [];

/** A node process that spins for `busyMs` (after it has started), then sleeps until killed. */
async function burner(busyMs: number): Promise<ChildProcess> {
  const p = spawn(
    process.execPath,
    [
      '-e',
      `
    process.stdout.write('up\\n');
    const end = Date.now() + ${busyMs};
    while (Date.now() < end) {}
    setInterval(() => {}, 1000);
  `,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(p);
  await new Promise<void>((resolve, reject) => {
    p.stdout.once('data', () => resolve());
    p.once('error', reject);
  });
  return p;
}

afterEach(() => {
  for (const p of children.splice(0)) p.kill('SIGKILL');
});

describe('waitUntilIdle', () => {
  it('waits while a process burns CPU and names it; returns after one window for a sleeping one', async () => {
    const busy = await burner(700);
    const idle = await burner(0);
    await new Promise((r) => setTimeout(r, 300)); // the idle one's start-up CPU is behind it
    const w = await waitUntilIdle(
      [
        { pid: busy.pid!, name: 'busy' },
        { pid: idle.pid!, name: 'idle' },
      ],
      { busyShare: 0.2, windowMs: 200, maxMs: 5000 },
    );
    expect(w.quiet).toBe(true);
    expect(w.busy).toEqual(['busy']);
    expect(w.ms).toBeGreaterThanOrEqual(400); // at least two windows: the first saw it spinning
    const again = await waitUntilIdle(
      [
        { pid: busy.pid!, name: 'busy' },
        { pid: idle.pid!, name: 'idle' },
      ],
      { busyShare: 0.2, windowMs: 200, maxMs: 5000 },
    );
    expect(again).toMatchObject({ quiet: true, busy: [] });
    expect(again.ms).toBeLessThan(400);
  });

  it('gives up after maxMs with the process still busy, saying so', async () => {
    const busy = await burner(5000);
    const w = await waitUntilIdle([{ pid: busy.pid!, name: 'spinner' }], { busyShare: 0.2, windowMs: 200, maxMs: 600 });
    expect(w).toMatchObject({ quiet: false, busy: ['spinner'] });
    expect(w.ms).toBeGreaterThanOrEqual(600);
  });
});
