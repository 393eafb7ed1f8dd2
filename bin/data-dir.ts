// The controller's claim on its data directory: a pid file saying which process runs on it and where its API
// listens, and the admin token it keeps for local commands. The directory (made 0700) and everything in it are
// for the owner only: the state holds token hashes, the audit trail, and the admin token itself.
import { chmodSync, readFileSync, writeFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const PID_FILE = 'controller.pid';
export const ADMIN_TOKEN_FILE = 'admin.token';

export interface LiveController {
  pid: number;
  /** The API's URL once it listens. */ api?: string;
}

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
  writeOwnerOnly(file, JSON.stringify({ pid: process.pid }));
  return () => rmSync(file, { force: true });
}

/** Records where this process's API listens, for local commands. */
export function announceApi(dataDir: string, url: string): void {
  writeOwnerOnly(join(dataDir, PID_FILE), JSON.stringify({ pid: process.pid, api: url }));
}

export function writeAdminToken(dataDir: string, token: string): void {
  writeOwnerOnly(join(dataDir, ADMIN_TOKEN_FILE), `${token}\n`);
}

/**
 * What is wrong with an existing directory's mode (group or others may enter it), or undefined. It is said, not
 * changed: an operator may have opened it on purpose (a backup group), and it is theirs.
 */
export function dataDirModeProblem(dataDir: string): string | undefined {
  const mode = statSync(dataDir).mode & 0o777;
  if ((mode & 0o077) === 0) return undefined;
  return `${dataDir} is mode ${mode.toString(8).padStart(4, '0')}: users other than its owner can reach the state (token hashes, the audit trail); chmod 700 it`;
}

/** A file's mode is set only when it is created: an older file made more open is closed again. */
function writeOwnerOnly(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
}
