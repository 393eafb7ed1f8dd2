// Which active (or drafted) lease a new one would overlap, found without comparing it with every lease: the
// check runs on every lease request, and a site may hold thousands of active leases.
//
// Two leases overlap when some packet could match both (lease-book.ts, leasesOverlap): same DTN and protocol,
// remote prefixes of which one contains the other, and overlapping local and remote port ranges. Leases are kept
// in a binary trie per (DTN, protocol, address family), each at the node its remote prefix ends at: the leases
// whose prefix contains a new lease's lie on the path to that prefix's node, and those it contains lie in the
// subtree below that node. Only those candidates have their ports compared.
import { parsePrefix } from './addresses.js';
import { rangesOverlap, type PortRange } from './port-ranges.js';
import type { Lease } from './model.js';

interface Entry {
  lease: Lease;
  root: string;
  /** The remote prefix's network bits, '0'/'1', as many as its length. */
  path: string;
}

interface TrieNode {
  zero?: TrieNode;
  one?: TrieNode;
  /** The leases whose prefix ends here. */
  here?: Set<Entry>;
  /** Leases here and below (a node with none is unlinked). */
  count: number;
}

const anyOverlap = (xs: readonly PortRange[], ys: readonly PortRange[]): boolean => xs.some((x) => ys.some((y) => rangesOverlap(x, y)));

/** Whether two leases of the same DTN, protocol and overlapping prefixes share a port pair. */
export function portsOverlap(a: Lease, b: Lease): boolean {
  return anyOverlap(a.localPorts, b.localPorts) && anyOverlap(a.remotePorts, b.remotePorts);
}

function locate(lease: Lease): { root: string; path: string } {
  const p = parsePrefix(lease.remote);
  const width = p.family === 4 ? 32 : 128;
  return { root: `${lease.dtn}\n${lease.protocol}\n${p.family}`, path: p.bits.toString(2).padStart(width, '0').slice(0, p.len) };
}

export class OverlapIndex {
  private readonly roots = new Map<string, TrieNode>();
  private readonly byId = new Map<number, Entry>();

  get size(): number {
    return this.byId.size;
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  /** Indexes a lease (by id: adding an id again replaces its record, e.g. a draft by the installed lease). */
  add(lease: Lease): void {
    const known = this.byId.get(lease.id);
    if (known && known.lease.remote === lease.remote && known.lease.dtn === lease.dtn && known.lease.protocol === lease.protocol) {
      known.lease = lease;
      return;
    }
    if (known) this.remove(lease.id);
    const entry: Entry = { lease, ...locate(lease) };
    let node = this.roots.get(entry.root);
    if (!node) {
      node = { count: 0 };
      this.roots.set(entry.root, node);
    }
    node.count++;
    for (const bit of entry.path) {
      const next: TrieNode = (bit === '1' ? node.one : node.zero) ?? { count: 0 };
      if (bit === '1') node.one = next;
      else node.zero = next;
      node = next;
      node.count++;
    }
    (node.here ??= new Set()).add(entry);
    this.byId.set(lease.id, entry);
  }

  remove(id: number): void {
    const entry = this.byId.get(id);
    if (!entry) return;
    this.byId.delete(id);
    const root = this.roots.get(entry.root)!;
    if (--root.count === 0) {
      this.roots.delete(entry.root);
      return;
    }
    let node = root;
    for (const bit of entry.path) {
      const next = (bit === '1' ? node.one : node.zero)!;
      if (--next.count === 0) {
        // Nothing left below: unlink the whole branch.
        if (bit === '1') delete node.one;
        else delete node.zero;
        return;
      }
      node = next;
    }
    node.here!.delete(entry);
  }

  /** The overlapping indexed lease with the lowest id, if any. */
  findOverlap(lease: Lease): Lease | undefined {
    const { root, path } = locate(lease);
    let best: Lease | undefined;
    const consider = (set: Set<Entry> | undefined): void => {
      if (!set) return;
      for (const e of set) {
        if (e.lease.id !== lease.id && (best === undefined || e.lease.id < best.id) && portsOverlap(e.lease, lease)) best = e.lease;
      }
    };
    let node = this.roots.get(root);
    // Prefixes containing the lease's (and equal to it): the nodes on its path.
    for (let i = 0; node && i < path.length; i++) {
      consider(node.here);
      node = path[i] === '1' ? node.one : node.zero;
    }
    if (!node) return best;
    // Equal, and contained in it: its node and everything below.
    const stack: TrieNode[] = [node];
    while (stack.length) {
      const n = stack.pop()!;
      consider(n.here);
      if (n.zero) stack.push(n.zero);
      if (n.one) stack.push(n.one);
    }
    return best;
  }
}
