// The benchmarks' C programs (bench/c/*.c), compiled with `cc -O2` when the bench runs, into dist/bench/c-bin/,
// again only when a source or bench/c/of-wire.h is newer than the binary (as the labs build mininet/delayline.c).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** bench/c/ of the source tree, from either bench/ (tsx, tests) or dist/bench/ (compiled). */
function sourceDir(): string {
  const dir = [join(HERE, 'c'), join(HERE, '../../bench/c')].find((d) => existsSync(join(d, 'of-wire.h')));
  if (!dir) throw new Error(`bench/c/ not found from ${HERE}`);
  return dir;
}

/** The path of the compiled program `name` (bench/c/NAME.c), compiling it first if needed. */
export function cProgram(name: string): string {
  const src = sourceDir();
  const file = join(src, `${name}.c`);
  const outDir = join(HERE, 'c-bin');
  const bin = join(outDir, name);
  const newest = Math.max(statSync(file).mtimeMs, statSync(join(src, 'of-wire.h')).mtimeMs);
  if (existsSync(bin) && statSync(bin).mtimeMs >= newest) return bin;
  mkdirSync(outDir, { recursive: true });
  const tmp = `${bin}.${process.pid}`;
  const r = spawnSync('cc', ['-O2', '-Wall', '-o', tmp, file], { encoding: 'utf8' });
  if (r.error) throw new Error(`cc: ${r.error.message} (install gcc to build ${name}.c)`);
  if (r.status !== 0) throw new Error(`cc ${name}.c failed:\n${r.stderr}`);
  renameSync(tmp, bin); // atomic: a concurrent bench never runs a half-written binary
  return bin;
}
