// A persistent binary trie of prefixes (one address family) to the ids that hold them: finding the prefixes that
// overlap one (its ancestors, itself and what lies within it) walks one path instead of every entry. A subtree
// that holds one prefix is a single leaf (so a lease costs about two nodes), and updates copy only their path.
import type { Prefix } from '../addresses.js';

type Trie = Leaf | Branch;

interface Leaf {
  leaf: true;
  prefix: Prefix;
  ids: readonly number[];
}

interface Branch {
  leaf: false;
  /** Ids of the prefix whose length is this node's depth. */
  here: readonly number[];
  zero: Trie | undefined;
  one: Trie | undefined;
}

export type PrefixTrie = Trie | undefined;

const width = (p: Prefix): number => (p.family === 4 ? 32 : 128);

/** The prefix's bits as 32-bit words, the first first (a bigint shift per level cost a walk more than the rest). */
function wordsOf(p: Prefix): number[] {
  const n = width(p) / 32;
  return Array.from({ length: n }, (_, i) => Number((p.bits >> BigInt(32 * (n - 1 - i))) & 0xffffffffn));
}
const bit = (w: readonly number[], depth: number): 0 | 1 => ((w[depth >> 5]! >>> (31 - (depth & 31))) & 1) as 0 | 1;

const samePrefix = (a: Prefix, b: Prefix): boolean => a.len === b.len && a.bits === b.bits;
const without = (ids: readonly number[], id: number): readonly number[] => ids.filter((x) => x !== id);

export function trieAdd(t: PrefixTrie, p: Prefix, id: number): Trie {
  return add(t, p, wordsOf(p), id, 0);
}

function add(t: PrefixTrie, p: Prefix, w: readonly number[], id: number, depth: number): Trie {
  if (!t) return { leaf: true, prefix: p, ids: [id] };
  if (t.leaf) {
    if (samePrefix(t.prefix, p)) return { ...t, ids: [...t.ids, id] };
    // Two prefixes meet here: a branch takes the one already held, then the new one.
    const branch = t.prefix.len === depth ? branchOf(t.ids, undefined, undefined) : placeBelow(t, depth);
    return add(branch, p, w, id, depth);
  }
  if (p.len === depth) return { ...t, here: [...t.here, id] };
  return bit(w, depth) === 0 ? { ...t, zero: add(t.zero, p, w, id, depth + 1) } : { ...t, one: add(t.one, p, w, id, depth + 1) };
}

function branchOf(here: readonly number[], zero: PrefixTrie, one: PrefixTrie): Branch {
  return { leaf: false, here, zero, one };
}

/** A branch at `depth` holding `leaf` (whose prefix is longer than depth) one level down. */
function placeBelow(leaf: Leaf, depth: number): Branch {
  return bit(wordsOf(leaf.prefix), depth) === 0 ? branchOf([], leaf, undefined) : branchOf([], undefined, leaf);
}

export function trieDelete(t: PrefixTrie, p: Prefix, id: number): PrefixTrie {
  return remove(t, p, wordsOf(p), id, 0);
}

function remove(t: PrefixTrie, p: Prefix, w: readonly number[], id: number, depth: number): PrefixTrie {
  if (!t) return t;
  if (t.leaf) {
    if (!samePrefix(t.prefix, p)) return t;
    const ids = without(t.ids, id);
    return ids.length ? { ...t, ids } : undefined;
  }
  let next: Branch;
  if (p.len === depth) next = { ...t, here: without(t.here, id) };
  else if (bit(w, depth) === 0) next = { ...t, zero: remove(t.zero, p, w, id, depth + 1) };
  else next = { ...t, one: remove(t.one, p, w, id, depth + 1) };
  // A branch left with one leaf and nothing of its own becomes that leaf again.
  if (next.here.length > 0) return next;
  if (!next.zero && !next.one) return undefined;
  const only = !next.zero ? next.one : !next.one ? next.zero : undefined;
  return only?.leaf ? only : next;
}

/** Ids of the prefixes that overlap `q` (contain it or lie within it). */
export function trieOverlapping(t: PrefixTrie, q: Prefix, out: number[] = []): number[] {
  return overlapping(t, q, wordsOf(q), out, 0);
}

function overlapping(t: PrefixTrie, q: Prefix, w: readonly number[], out: number[], depth: number): number[] {
  if (!t) return out;
  if (t.leaf) {
    const short = Math.min(t.prefix.len, q.len);
    const mask = short === 0 ? 0n : ((1n << BigInt(short)) - 1n) << BigInt(width(q) - short);
    if (t.prefix.family === q.family && (t.prefix.bits & mask) === (q.bits & mask)) out.push(...t.ids);
    return out;
  }
  if (depth === q.len) {
    collect(t, out);
    return out;
  }
  out.push(...t.here);
  return overlapping(bit(w, depth) === 0 ? t.zero : t.one, q, w, out, depth + 1);
}

function collect(t: PrefixTrie, out: number[]): void {
  if (!t) return;
  out.push(...(t.leaf ? t.ids : t.here));
  if (!t.leaf) {
    collect(t.zero, out);
    collect(t.one, out);
  }
}
