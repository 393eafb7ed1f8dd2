// Where a process's heap goes, by structure: a V8 heap snapshot read back, its dominator tree computed
// (Cooper, Harvey and Kennedy, "A Simple, Fast Dominance Algorithm"), and the retained size of each object of the
// named classes and of each field it alone holds. "Retained": what would be freed if that object went; an
// object reachable from two structures (a flow key held by both the flow manager and the app) is retained by
// neither, and shows only in the whole.
import { readFileSync, rmSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; edge_fields: string[]; node_types: [string[]]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface Retained {
  /** The class of the object. */
  name: string;
  bytes: number;
  /** Fields whose value this object alone holds, largest first. */
  fields: { name: string; bytes: number }[];
}

/** Writes a heap snapshot to `file`, reads it back (then deletes it), and measures the objects of `classes`. */
export function heapBreakdown(file: string, classes: readonly string[]): Retained[] {
  writeHeapSnapshot(file);
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  rmSync(file, { force: true });
  return retainedBy(snap, new Set(classes));
}

function retainedBy(snap: Snapshot, classes: ReadonlySet<string>): Retained[] {
  const { meta } = snap.snapshot;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const nodeType = meta.node_types[0];
  const edgeType = meta.edge_types[0];
  const { nodes, edges, strings } = snap;
  const n = nodes.length / nf;
  const [TYPE, NAME, SIZE, EDGES] = ['type', 'name', 'self_size', 'edge_count'].map((f) => meta.node_fields.indexOf(f)) as [
    number,
    number,
    number,
    number,
  ];
  const [E_TYPE, E_NAME, E_TO] = ['type', 'name_or_index', 'to_node'].map((f) => meta.edge_fields.indexOf(f)) as [number, number, number];
  const WEAK = edgeType.indexOf('weak');
  const SHORTCUT = edgeType.indexOf('shortcut');
  const PROPERTY = edgeType.indexOf('property');
  const OBJECT = nodeType.indexOf('object');

  const firstEdge = new Uint32Array(n + 1);
  for (let k = 0, e = 0; k < n; k++) {
    firstEdge[k] = e;
    e += nodes[k * nf + EDGES]! * ef;
  }
  firstEdge[n] = edges.length;
  const strong = (e: number): boolean => edges[e + E_TYPE] !== WEAK && edges[e + E_TYPE] !== SHORTCUT;

  // Depth-first post-order from the root (node 0), without recursion.
  const postIndex = new Int32Array(n).fill(-1);
  const order: number[] = [];
  const next = new Uint32Array(n);
  const seen = new Uint8Array(n);
  const stack = [0];
  seen[0] = 1;
  next[0] = firstEdge[0]!;
  while (stack.length > 0) {
    const k = stack[stack.length - 1]!;
    let descended = false;
    while (next[k]! < firstEdge[k + 1]!) {
      const e = next[k]!;
      next[k] = e + ef;
      if (!strong(e)) continue;
      const to = edges[e + E_TO]! / nf;
      if (seen[to]) continue;
      seen[to] = 1;
      next[to] = firstEdge[to]!;
      stack.push(to);
      descended = true;
      break;
    }
    if (!descended) {
      stack.pop();
      postIndex[k] = order.length;
      order.push(k);
    }
  }

  // Predecessors as a compressed list (start offsets, then sources).
  const predCount = new Uint32Array(n + 1);
  for (let k = 0; k < n; k++) {
    if (!seen[k]) continue;
    for (let e = firstEdge[k]!; e < firstEdge[k + 1]!; e += ef) if (strong(e)) predCount[edges[e + E_TO]! / nf + 1]!++;
  }
  for (let k = 0; k < n; k++) predCount[k + 1]! += predCount[k]!;
  const preds = new Uint32Array(predCount[n]!);
  const fill = predCount.slice(0, n);
  for (let k = 0; k < n; k++) {
    if (!seen[k]) continue;
    for (let e = firstEdge[k]!; e < firstEdge[k + 1]!; e += ef) if (strong(e)) preds[fill[edges[e + E_TO]! / nf]!++] = k;
  }

  const idom = new Int32Array(n).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while (postIndex[a]! < postIndex[b]!) a = idom[a]!;
      while (postIndex[b]! < postIndex[a]!) b = idom[b]!;
    }
    return a;
  };
  for (let changed = true; changed;) {
    changed = false;
    for (let i = order.length - 2; i >= 0; i--) {
      const k = order[i]!;
      let d = -1;
      for (let p = predCount[k]!; p < predCount[k + 1]!; p++) {
        const q = preds[p]!;
        if (idom[q] !== -1) d = d === -1 ? q : intersect(q, d);
      }
      if (d !== -1 && idom[k] !== d) {
        idom[k] = d;
        changed = true;
      }
    }
  }
  const retained = new Float64Array(n);
  for (const k of order) {
    retained[k]! += nodes[k * nf + SIZE]!;
    if (k !== 0) retained[idom[k]!]! += retained[k]!;
  }

  const out: Retained[] = [];
  for (let k = 0; k < n; k++) {
    const name = strings[nodes[k * nf + NAME]!]!;
    if (nodes[k * nf + TYPE] !== OBJECT || !classes.has(name) || !seen[k]) continue;
    const fields: Retained['fields'] = [];
    for (let e = firstEdge[k]!; e < firstEdge[k + 1]!; e += ef) {
      const to = edges[e + E_TO]! / nf;
      if (edges[e + E_TYPE] === PROPERTY && idom[to] === k) fields.push({ name: strings[edges[e + E_NAME]!]!, bytes: retained[to]! });
    }
    fields.sort((a, b) => b.bytes - a.bytes);
    out.push({ name, bytes: retained[k]!, fields });
  }
  return out;
}
