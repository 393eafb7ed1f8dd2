// The disk's own latency for what a durable answer waits on: a small append followed by fdatasync, as a journal
// record is written (api/state/journal-file.ts). Its tail is the least a durable request's tail can be on this disk,
// whatever the server does.
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Milliseconds per append of `bytes` + fdatasync to a new file in `dir`, `count` times, sorted ascending. */
export function fdatasyncLatencies(dir: string, count = 300, bytes = 1024): number[] {
  const file = join(dir, 'fdatasync-probe');
  const fd = openSync(file, 'w', 0o600);
  const record = Buffer.alloc(bytes, 0x61);
  const ms: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      writeSync(fd, record);
      const t0 = performance.now();
      fdatasyncSync(fd);
      ms.push(performance.now() - t0);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return ms.sort((a, b) => a - b);
}
