/**
 * The import rules of README.md ("What is here"), read from the sources: nothing outside test/ imports from it,
 * and the codec has no import cycles (a cycle makes module start-up order decide what is defined). And one
 * layout rule: a flow cookie's owner bits are spelt in one module, which every other calls.
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

/** The files a source imports at run time (type-only imports are erased and cannot form a cycle). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^import\s+(type\s+)?(?:[^;]*?\s+from\s+)?'(\.[^']+)'/gm)) {
    if (!m[1]) out.push(resolve(dirname(file), m[2]!.replace(/\.js$/, '.ts')));
  }
  return out;
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

  it('the cookie layout (owner in the top 16 bits) is spelt only in controller/cookie.ts', () => {
    const layout = /<<\s*48n|>>\s*48n|0xffffffffffffn|0xffffn\s*<</;
    const offenders: string[] = [];
    for (const top of ['controller', 'apps', 'api', 'bin', 'bench', 'emulator', 'lab']) {
      for (const f of sources(join(ROOT, top))) {
        if (relative(ROOT, f) !== 'controller/cookie.ts' && layout.test(readFileSync(f, 'utf8'))) offenders.push(relative(ROOT, f));
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the codec (controller/openflow) has no import cycle', () => {
    const files = sources(join(ROOT, 'controller', 'openflow'));
    const graph = new Map(files.map((f) => [f, runtimeImports(f)]));
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (f: string, path: string[]) => {
      state.set(f, 'open');
      for (const g of graph.get(f) ?? []) {
        if (state.get(g) === 'open') cycles.push([...path.slice(path.indexOf(g)), g].map((p) => relative(ROOT, p)).join(' -> '));
        else if (!state.has(g)) visit(g, [...path, g]);
      }
      state.set(f, 'done');
    };
    for (const f of files) if (!state.has(f)) visit(f, [f]);
    expect(cycles).toEqual([]);
  });
});
