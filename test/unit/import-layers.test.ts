/**
 * The import rules of README.md ("What is here"), read from the sources: nothing outside test/ imports from it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return sources(p);
    return n.endsWith('.ts') ? [p] : [];
  });
}

function allImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map((m) => resolve(dirname(file), m[1]!));
}

describe('import layers', () => {
  it('nothing outside test/ imports from test/', () => {
    const offenders: string[] = [];
    for (const top of ['controller', 'apps', 'api', 'bin', 'bench', 'emulator', 'lab', 'mininet']) {
      for (const f of sources(join(ROOT, top))) {
        for (const target of allImports(f)) {
          if (relative(ROOT, target).startsWith('test/')) offenders.push(`${relative(ROOT, f)} -> ${relative(ROOT, target)}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

});
