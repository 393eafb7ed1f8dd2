// The controller's claim on its data directory: a pid file saying which process runs on it and where its API
// listens, and the admin token it keeps for local commands (readable by the owner only).
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const PID_FILE = 'controller.pid';
export const ADMIN_TOKEN_FILE = 'admin.token';

export interface LiveController { pid: number; /** The API's URL once it listens. */ api?: string }

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The controller running on this data directory, if any (a stale pid file is ignored). */
export function liveController(dataDir: string): LiveController | undefined {
  try {
    const rec = JSON.parse(readFileSync(join(dataDir, PID_FILE), 'utf8')) as LiveController;
    return rec.pid !== process.pid && alive(rec.pid) ? rec : undefined;
  } catch {
    return undefined;
  }
}

/** Claims the directory for this process; returns the release function. */
export function claimDataDir(dataDir: string): () => void {
  const other = liveController(dataDir);
  if (other) throw new Error(`controller ${other.pid} already runs on ${dataDir}`);
  const file = join(dataDir, PID_FILE);
  writeFileSync(file, JSON.stringify({ pid: process.pid }), { mode: 0o644 });
  return () => rmSync(file, { force: true });
}

/** Records where this process's API listens, for local commands. */
export function announceApi(dataDir: string, url: string): void {
  writeFileSync(join(dataDir, PID_FILE), JSON.stringify({ pid: process.pid, api: url }), { mode: 0o644 });
}

export function writeAdminToken(dataDir: string, token: string): void {
  writeFileSync(join(dataDir, ADMIN_TOKEN_FILE), `${token}\n`, { mode: 0o600 });
}
