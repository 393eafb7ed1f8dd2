// A persistent map from small non-negative integers (rule ids, meter ids) to values: a 32-way trie whose updates
// copy only the path to the changed slot (log32 n nodes), so a decision makes a new state in constant time and the
// caller's old state stays whole. Iteration is in key order; each node counts its keys, which finds the lowest
// key not held without a scan.

const BITS = 5;
const WIDTH = 1 << BITS;
const MASK = WIDTH - 1;

interface Node {
  /** Keys held under this node. */
  count: number;
  /** Child nodes, or values at the last level. */
  slots: unknown[];
}

const emptyNode = (): Node => ({ count: 0, slots: new Array<unknown>(WIDTH).fill(undefined) });

export class IdMap<V> {
  private constructor(
    private readonly root: Node | undefined,
    /** Bits of the key below the root's level (0: the root holds values). */
    private readonly shift: number,
  ) {}

  static empty<V>(): IdMap<V> {
    return new IdMap<V>(undefined, 0);
  }

  get size(): number {
    return this.root?.count ?? 0;
  }

  get(key: number): V | undefined {
    if (!this.root || key >= WIDTH ** (this.shift / BITS + 1)) return undefined;
    let node: Node | undefined = this.root;
    for (let s = this.shift; s > 0; s -= BITS) {
      node = node.slots[(key >>> s) & MASK] as Node | undefined;
      if (!node) return undefined;
    }
    return node.slots[key & MASK] as V | undefined;
  }

  has(key: number): boolean {
    return this.get(key) !== undefined;
  }

  /** `value` must not be undefined (undefined marks a free slot). */
  set(key: number, value: V): IdMap<V> {
    let root = this.root ?? emptyNode();
    let shift = this.shift;
    while (key >= WIDTH ** (shift / BITS + 1)) {
      const up = emptyNode();
      up.slots[0] = root;
      up.count = root.count;
      root = up;
      shift += BITS;
    }
    return new IdMap<V>(setIn(root, shift, key, value), shift);
  }

  delete(key: number): IdMap<V> {
    if (!this.has(key)) return this;
    const root = deleteIn(this.root!, this.shift, key);
    return new IdMap<V>(root, root ? this.shift : 0);
  }

  *values(): IterableIterator<V> {
    if (this.root) yield* valuesIn<V>(this.root, this.shift);
  }

  *entries(): IterableIterator<[number, V]> {
    if (this.root) yield* entriesIn<V>(this.root, this.shift, 0);
  }

  /** The lowest key this map does not hold. */
  lowestFree(): number {
    if (!this.root) return 0;
    const capacity = WIDTH ** (this.shift / BITS + 1);
    if (this.root.count === capacity) return capacity;
    let node = this.root;
    let key = 0;
    for (let s = this.shift; s > 0; s -= BITS) {
      const under = WIDTH ** (s / BITS);
      let i = 0;
      for (; i < WIDTH; i++) {
        const child = node.slots[i] as Node | undefined;
        if (!child || child.count < under) break;
      }
      key += i * under;
      const child = node.slots[i] as Node | undefined;
      if (!child) return key;
      node = child;
    }
    let i = 0;
    while (node.slots[i] !== undefined) i++;
    return key + i;
  }
}

function setIn(node: Node, shift: number, key: number, value: unknown): Node {
  const i = (key >>> shift) & MASK;
  const copy: Node = { count: node.count, slots: node.slots.slice() };
  if (shift === 0) {
    if (copy.slots[i] === undefined) copy.count++;
    copy.slots[i] = value;
    return copy;
  }
  const child = (node.slots[i] as Node | undefined) ?? emptyNode();
  const next = setIn(child, shift - BITS, key, value);
  copy.slots[i] = next;
  copy.count += next.count - child.count;
  return copy;
}

/** The node without `key` (which it holds), or undefined when nothing is left. */
function deleteIn(node: Node, shift: number, key: number): Node | undefined {
  if (node.count === 1) return undefined;
  const i = (key >>> shift) & MASK;
  const copy: Node = { count: node.count - 1, slots: node.slots.slice() };
  copy.slots[i] = shift === 0 ? undefined : deleteIn(node.slots[i] as Node, shift - BITS, key);
  return copy;
}

function* valuesIn<V>(node: Node, shift: number): IterableIterator<V> {
  for (const slot of node.slots) {
    if (slot === undefined) continue;
    if (shift === 0) yield slot as V;
    else yield* valuesIn<V>(slot as Node, shift - BITS);
  }
}

function* entriesIn<V>(node: Node, shift: number, base: number): IterableIterator<[number, V]> {
  for (let i = 0; i < WIDTH; i++) {
    const slot = node.slots[i];
    if (slot === undefined) continue;
    const key = base + i * WIDTH ** (shift / BITS);
    if (shift === 0) yield [key, slot as V];
    else yield* entriesIn<V>(slot as Node, shift - BITS, key);
  }
}
