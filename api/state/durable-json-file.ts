// A lowdb adapter for the state document: one file, replaced atomically and durably (temp file, fsync, rename,
// directory fsync). lowdb's own JSONFile adapter (steno) renames without fsync: atomic against a kill, not a
// power cut.
import { open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Adapter } from 'lowdb';
import { syncDir, writeAll } from './journal-file.js';

/** Bytes per write() of a document written in parts (and so per turn of the event loop spent making them). */
const DOCUMENT_CHUNK = 256 * 1024;

/**
 * `serialise` gives the document's text whole, or in parts (an iterable over a snapshot taken when it is called):
 * parts are written a chunk at a time, so that a document of megabytes is never made (nor copied to a buffer)
 * in one turn of the event loop while requests wait.
 */
export class DurableJsonFile<T> implements Adapter<T> {
  readonly tmp: string;
  /** Bytes of the last document read or written. */
  lastBytes = 0;
  constructor(
    readonly file: string,
    private readonly fsync = true,
    private readonly serialise: (data: T) => string | Iterable<string> = (d) => JSON.stringify(d),
  ) {
    this.tmp = join(dirname(file), `.${basename(file)}.tmp`);
  }

  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    this.lastBytes = Buffer.byteLength(text);
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      // Never start over an unreadable state file: that would forget tokens, leases and blocks.
      throw new Error(`state file ${this.file} is not valid JSON (${(e as Error).message}); refusing to start over it`, { cause: e });
    }
  }

  async write(data: T): Promise<void> {
    const parts = this.serialise(data); // the snapshot: taken synchronously, before any await
    const fh = await open(this.tmp, 'w', 0o600);
    let bytes = 0;
    try {
      if (typeof parts === 'string') {
        await fh.writeFile(parts, 'utf8');
        bytes = Buffer.byteLength(parts);
      } else {
        let chunk = '';
        for (const part of parts) {
          chunk += part;
          if (chunk.length < DOCUMENT_CHUNK) continue;
          bytes += await writeText(fh, chunk);
          chunk = '';
        }
        if (chunk) bytes += await writeText(fh, chunk);
      }
      if (this.fsync) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(this.tmp, this.file);
    if (this.fsync) await syncDir(dirname(this.file)); // the rename itself is durable only once the directory is
    this.lastBytes = bytes;
  }
}

/** Writes `text` at the file's position; resolves with its bytes. */
async function writeText(fh: FileHandle, text: string): Promise<number> {
  const buf = Buffer.from(text, 'utf8');
  await writeAll(fh, buf);
  return buf.length;
}
