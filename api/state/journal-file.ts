// The state's write-ahead journal: one file of JSON lines beside the state document, one line per group commit
// (a record: its sequence number and every item that changed since the previous record). journal-store.ts says why;
// this file is the file-level part: reading the records back, appending durably, and replacing the file.
//
// A record is complete when its line ends with a newline: each record goes out in one write() of the line and
// its newline, and is acknowledged only after that write returned on a file opened with O_DSYNC (a write and an
// fdatasync() in one). So a line without its newline is a record torn by a crash mid-append: never acknowledged,
// it is ignored, and cut off before anything is appended after it. A final line with its newline that does not
// parse is dropped and cut off the same way (a power cut can leave a record's last block on disk without an
// earlier one), but said loudly, with its text: it is also what damage to an acknowledged record looks like. A
// bad line anywhere else is damage no crash of ours can cause: reading fails, naming the file and the line,
// rather than dropping records.
//
// Space ahead of the records is preallocated: written with zeros (and on disk) before records go there, a
// megabyte at a time, in the background. Why: an O_DSYNC write that appends must also commit the file's new size
// and block allocation through the filesystem's own journal before it returns, while one over blocks that are
// already allocated and inside the file only waits for its data (measured on this ext4: 324-588 us and 90-100 us
// of CPU per 4 KB append, against 131-162 us and 37-41 us over pre-zeroed space), which is how databases keep
// their write-ahead logs. So the file is the records followed by zeros; readers take the records up to the last
// non-zero byte, and a record torn by a crash is a last line that is cut or holds zeros, as before.
import { constants as FS, fstatSync } from 'node:fs';
import { open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface JournalRecord {
  seq: number;
  [key: string]: unknown;
}

export class JournalError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    detail: string,
  ) {
    super(
      `${file} line ${line}: ${detail}; refusing to start over it (move the file aside to start from the state document alone, losing its changes)`,
    );
    this.name = 'JournalError';
  }
}

export interface ParsedJournal {
  records: JournalRecord[];
  /** Bytes of the complete records (where the next record goes). */
  goodBytes: number;
  /** Bytes of a torn final record (0 if none). */
  tornBytes: number;
  /** The final record when it was a whole line (it ended in a newline) that is not JSON: what was dropped. */
  damaged?: DamagedLine;
}

export interface DamagedLine {
  line: number;
  /** Its first bytes, as text (NULs and all). */
  text: string;
  bytes: number;
  error: string;
}

/** How much of a dropped line is shown. */
const DAMAGED_TEXT_MAX = 200;

/** Where a journal's content ends: before the zeros of its preallocated space (records end in a newline, never 0). */
function contentEnd(bytes: Buffer): number {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return end;
}

/** The complete records of a journal's bytes; throws JournalError on a bad record that is not the last line. */
export function parseJournal(file: Buffer, name: string): ParsedJournal {
  const bytes = file.subarray(0, contentEnd(file));
  const records: JournalRecord[] = [];
  let start = 0;
  let line = 0;
  while (start < bytes.length) {
    line++;
    const nl = bytes.indexOf(10, start);
    const end = nl < 0 ? bytes.length : nl;
    const last = nl < 0 || nl + 1 === bytes.length;
    let rec: unknown;
    try {
      rec = JSON.parse(bytes.toString('utf8', start, end));
    } catch (e) {
      if (last) {
        const torn = { records, goodBytes: start, tornBytes: bytes.length - start };
        if (nl < 0) return torn;
        const text = bytes.toString('utf8', start, Math.min(end, start + DAMAGED_TEXT_MAX));
        return { ...torn, damaged: { line, text, bytes: end - start, error: (e as Error).message } };
      }
      throw new JournalError(name, line, `not a JSON record (${(e as Error).message})`);
    }
    if (nl < 0) return { records, goodBytes: start, tornBytes: bytes.length - start }; // complete JSON, no newline: never acknowledged
    const seq = (rec as { seq?: unknown } | null)?.seq;
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec) || !Number.isSafeInteger(seq) || (seq as number) < 1) {
      throw new JournalError(name, line, 'not a journal record (an object with a positive integer seq)');
    }
    const prev = records.at(-1)?.seq;
    if (prev !== undefined && seq !== prev + 1) throw new JournalError(name, line, `record ${String(seq)} follows record ${prev}`);
    records.push(rec as JournalRecord);
    start = nl + 1;
  }
  return { records, goodBytes: start, tornBytes: 0 };
}

/** A file's bytes; none if it does not exist (a journal not written yet). */
async function readIfPresent(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    return Buffer.alloc(0);
  }
}

/** Writes all of `buf` (write() may take only part), at `position` or, without one, at the file's position. */
export async function writeAll(fh: FileHandle, buf: Buffer, position?: number): Promise<void> {
  for (let off = 0; off < buf.length;) {
    off += (await fh.write(buf, off, buf.length - off, position === undefined ? null : position + off)).bytesWritten;
  }
}

/** fsync of a directory: a file created, renamed or removed in it is durable only then. */
export async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** Preallocation: a chunk of zeros at a time, started when less than LOW_WATER bytes are left ahead of the records. */
const PREALLOC_CHUNK = 1 << 20;
const PREALLOC_LOW_WATER = 256 << 10;
/** Records written before preallocating: a store that writes a handful (a CLI command) gets no megabyte of zeros. */
const PREALLOC_AFTER_RECORDS = 16;

export class Journal {
  /** Bytes of the complete records in the file: where the next record goes. */
  bytes = 0;
  /** Bytes of the file: the records, then zeros (preallocated space) up to here. */
  private size = 0;
  private fh: FileHandle | undefined;
  /** The last append failed: the file may hold part of its record beyond `bytes`. */
  private partial = false;
  /** The zero-filling of the next chunk, under way: it writes from `size` on, where no record goes until it ends. */
  private extending: Promise<void> | undefined;
  /** Records written since the file was opened or replaced. */
  private written = 0;

  constructor(
    readonly file: string,
    private readonly fsync = true,
  ) {}

  /**
   * Reads the journal's complete records (none if there is no file) and cuts off a torn final record, so that
   * records appended from now on follow the last complete one.
   */
  async open(): Promise<{ records: JournalRecord[]; tornBytes: number; damaged?: DamagedLine }> {
    const parsed = await this.readAndOpen();
    if (parsed.tornBytes > 0) {
      // Cut with its zeros: the next chunk is zero-filled anew.
      await this.fh!.truncate(parsed.goodBytes);
      if (this.fsync) await this.fh!.datasync();
      this.size = parsed.goodBytes;
    }
    return { records: parsed.records, tornBytes: parsed.tornBytes, ...(parsed.damaged ? { damaged: parsed.damaged } : {}) };
  }

  /** Writes one record (a line ending in a newline) after the last and waits until it is on disk. */
  async append(line: string): Promise<void> {
    const buf = Buffer.from(line, 'utf8');
    if (!this.fh) await this.reopen();
    const fh = this.fh!;
    // A failed append may have left part of its record: cut it off first, so that this record follows the last
    // complete one (a record after a torn line would read as damage in the middle of the file).
    if (this.partial) {
      await this.extending;
      await fh.truncate(this.bytes);
      this.size = this.bytes;
      this.partial = false;
    }
    const end = this.bytes + buf.length;
    // Never into space still being zero-filled (its zeros could land after the record).
    if (end > this.size) await this.extending;
    try {
      // With fsync on, the file is open with O_DSYNC: each write returns once its data (and the size) is on disk,
      // as write() + fdatasync() would, in one trip to the thread pool instead of two.
      await writeAll(fh, buf, this.bytes);
    } catch (e) {
      this.partial = true;
      throw e;
    }
    // A file removed under us (the data directory deleted) still takes writes, which a restart would never see:
    // that is a failed write, not an acknowledgement (fstat costs no I/O). The next append opens the path anew.
    if (fstatSync(fh.fd).nlink === 0) {
      await this.closeQuietly();
      throw new Error(`state journal ${this.file} was removed while in use; this change is not saved`);
    }
    this.bytes = end;
    if (end > this.size) this.size = end;
    this.written++;
    this.preallocateAhead();
  }

  /** Replaces the file with exactly `lines` (temp, fsync, rename, directory fsync): after a fold. */
  async rewrite(lines: readonly string[]): Promise<void> {
    const text = lines.join('');
    const tmp = join(dirname(this.file), `.${basename(this.file)}.tmp`);
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(text, 'utf8');
      if (this.fsync) await fh.sync();
    } finally {
      await fh.close();
    }
    await this.closeQuietly();
    await rename(tmp, this.file);
    // Appends go to the new file only once its name is durable: else a power cut could bring back the old one
    // without them.
    if (this.fsync) await syncDir(dirname(this.file));
    this.bytes = this.size = Buffer.byteLength(text);
    this.partial = false;
    await this.openForWrites(false);
    this.written = 0;
  }

  async close(): Promise<void> {
    await this.extending;
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }

  /** Starts zero-filling the next chunk when the space ahead runs low (with fsync on: without, there is no gain). */
  private preallocateAhead(): void {
    if (!this.fsync || this.extending || !this.fh || this.written < PREALLOC_AFTER_RECORDS) return;
    if (this.size - this.bytes >= PREALLOC_LOW_WATER) return;
    const fh = this.fh;
    const from = this.size;
    this.extending = (async () => {
      try {
        const zeros = Buffer.alloc(PREALLOC_CHUNK);
        for (let off = 0; off < zeros.length;) off += (await fh.write(zeros, off, zeros.length - off, from + off)).bytesWritten;
        if (this.fh === fh) this.size = Math.max(this.size, from + PREALLOC_CHUNK);
      } catch {
        // Only speed is lost: records still go after the last one, appending as they did without preallocation.
      } finally {
        this.extending = undefined;
      }
    })();
  }

  /**
   * After the file was closed under a failed append: the path anew, its records' end found by reading it (a torn
   * record there is cut by the append, as after a failed write).
   */
  private async reopen(): Promise<void> {
    this.partial = (await this.readAndOpen()).tornBytes > 0;
  }

  /** Reads the file's records (none if there is none), opens it for writes, and sets where the next record goes. */
  private async readAndOpen(): Promise<ParsedJournal> {
    const bytes = await readIfPresent(this.file);
    const parsed = parseJournal(bytes, this.file);
    await this.openForWrites(bytes.length === 0);
    this.size = bytes.length;
    this.bytes = parsed.goodBytes;
    this.written = 0;
    return parsed;
  }

  private async openForWrites(creating: boolean): Promise<void> {
    const dsync = this.fsync ? FS.O_DSYNC : 0;
    // Not O_APPEND: records are written at `bytes`, inside the preallocated space.
    this.fh = await open(this.file, FS.O_WRONLY | FS.O_CREAT | dsync, 0o600);
    if (creating && this.fsync) await syncDir(dirname(this.file));
  }

  private async closeQuietly(): Promise<void> {
    await this.close().catch(() => undefined);
  }
}
