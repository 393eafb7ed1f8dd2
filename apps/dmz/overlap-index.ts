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

interface TrieNode {
  zero?: TrieNode;
  one?: TrieNode;
  /**
   * The leases whose prefix ends here (an array: most nodes hold one, and a Set's table costs ~0.15 KB; a lease
   * leaves by a scan of its node's few).
   */
  here?: Lease[];
  /** Leases here and below (a node with none is unlinked). */
  count: number;
}

const anyOverlap = (xs: readonly PortRange[], ys: readonly PortRange[]): boolean => xs.some((x) => ys.some((y) => rangesOverlap(x, y)));

/** Whether two leases of the same DTN, protocol and overlapping prefixes share a port pair. */
export function portsOverlap(a: Lease, b: Lease): boolean {
  return anyOverlap(a.localPorts, b.localPorts) && anyOverlap(a.remotePorts, b.remotePorts);
}

/**
 * A lease's trie and path: the root's key (DTN, protocol, family) and the remote prefix's network bits, '0'/'1',
 * as many as its length. Computed when needed rather than kept per lease (both follow from the lease, which an
 * indexed lease keeps: its DTN, protocol and remote never change under the same id, see add()).
 */
function locate(lease: Lease): { root: string; path: string } {
  const p = parsePrefix(lease.remote);
  const width = p.family === 4 ? 32 : 128;
  return { root: `${lease.dtn}\n${lease.protocol}\n${p.family}`, path: p.bits.toString(2).padStart(width, '0').slice(0, p.len) };
}

export class OverlapIndex {
  private readonly roots = new Map<string, TrieNode>();
  private readonly byId = new Map<number, Lease>();

  get size(): number {
    return this.byId.size;
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  /** Indexes a lease (by id: adding an id again replaces its record, e.g. a draft by the installed lease). */
  add(lease: Lease): void {
    const known = this.byId.get(lease.id);
    if (known && known.remote === lease.remote && known.dtn === lease.dtn && known.protocol === lease.protocol) {
      const here = this.nodeOf(known)!.here!;
      here[here.indexOf(known)] = lease;
      this.byId.set(lease.id, lease);
      return;
    }
    if (known) this.remove(lease.id);
    const { root, path } = locate(lease);
    let node = this.roots.get(root);
    if (!node) {
      node = { count: 0 };
      this.roots.set(root, node);
    }
    node.count++;
    for (let i = 0; i < path.length; i++) {
      const one = path.charCodeAt(i) === 0x31;
      const next: TrieNode = (one ? node.one : node.zero) ?? { count: 0 };
      if (one) node.one = next;
      else node.zero = next;
      node = next;
      node.count++;
    }
    if (node.here) node.here.push(lease);
    else node.here = [lease]; // (sized 1, as most stay: a push into [] would reserve 17)
    this.byId.set(lease.id, lease);
  }

  remove(id: number): void {
    const lease = this.byId.get(id);
    if (!lease) return;
    this.byId.delete(id);
    const { root: rootKey, path } = locate(lease);
    const root = this.roots.get(rootKey)!;
    if (--root.count === 0) {
      this.roots.delete(rootKey);
      return;
    }
    let node = root;
    for (let i = 0; i < path.length; i++) {
      const one = path.charCodeAt(i) === 0x31;
      const next = (one ? node.one : node.zero)!;
      if (--next.count === 0) {
        // Nothing left below: unlink the whole branch.
        if (one) delete node.one;
        else delete node.zero;
        return;
      }
      node = next;
    }
    const here = node.here!;
    here.splice(here.indexOf(lease), 1);
  }

  /** The node an indexed lease is at. */
  private nodeOf(lease: Lease): TrieNode | undefined {
    const { root, path } = locate(lease);
    let node = this.roots.get(root);
    for (let i = 0; node && i < path.length; i++) node = path.charCodeAt(i) === 0x31 ? node.one : node.zero;
    return node;
  }

  /** The overlapping indexed lease with the lowest id, if any. */
  findOverlap(lease: Lease): Lease | undefined {
    const { root, path } = locate(lease);
    let best: Lease | undefined;
    const consider = (here: Lease[] | undefined): void => {
      if (!here) return;
      for (const e of here) {
        if (e.id !== lease.id && (best === undefined || e.id < best.id) && portsOverlap(e, lease)) best = e;
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
