// The state's live rules, persistent and indexed: a decision changes a rule in constant time (rule-count wise) and
// leaves the caller's state whole, and the checks a request meets (overlap, flow budgets, circuit and link
// capacity, a free meter) read running sums and indexes kept with the rules instead of scanning every rule.
import type { Prefix } from '../addresses.js';
import { groupsOf } from '../fabric/routes.js';
import { IdMap } from './id-map.js';
import { trieAdd, trieDelete, trieOverlapping, type PrefixTrie } from './prefix-trie.js';
import type { BlockRule, LeaseRule, Rule, RuleKind } from './state.js';

/** Leases' remotes by their DTN (as the lease names it), then by `protocol/family`. */
type RemoteIndex = ReadonlyMap<string, ReadonlyMap<string, PrefixTrie>>;

interface Indexes {
  remotes: RemoteIndex;
  /** Flows the leases hold on each switch (a lease counts once on each of its hops). */
  leaseFlows: ReadonlyMap<bigint, number>;
  /** Flows the blocks hold (on every switch). */
  blockFlows: number;
  /** Mbit/s the leases reserve on each path (circuit). */
  rateByPath: ReadonlyMap<string, number>;
  /** Mbit/s reserved on each link group by the leases that carry their routes. */
  reservedByGroup: ReadonlyMap<string, number>;
  /** Leases with a rate and no routes (restored, not routed yet): their reservations are worked out when asked. */
  unrouted: IdMap<true>;
  /** How many leases hold each meter id; 0 is held always (meter ids start at 1). */
  meters: IdMap<number>;
}

const remoteKey = (protocol: string, p: Prefix): string => `${protocol}/${p.family}`;

function bump<K>(m: ReadonlyMap<K, number>, key: K, by: number): ReadonlyMap<K, number> {
  const out = new Map(m);
  const v = (out.get(key) ?? 0) + by;
  if (v === 0) out.delete(key);
  else out.set(key, v);
  return out;
}

/** The lease's hops' switches, each once. */
const switchesOf = (l: LeaseRule): Set<bigint> => new Set(l.hops.map((h) => h.dpid));

export class Rules {
  private constructor(
    private readonly leases: IdMap<LeaseRule>,
    private readonly blocks: IdMap<BlockRule>,
    private readonly ix: Indexes,
  ) {}

  static empty(): Rules {
    return new Rules(IdMap.empty(), IdMap.empty(), {
      remotes: new Map(),
      leaseFlows: new Map(),
      blockFlows: 0,
      rateByPath: new Map(),
      reservedByGroup: new Map(),
      unrouted: IdMap.empty(),
      meters: IdMap.empty<number>().set(0, 1),
    });
  }

  get size(): number {
    return this.leases.size + this.blocks.size;
  }

  lease(id: number): LeaseRule | undefined {
    return this.leases.get(id);
  }

  block(id: number): BlockRule | undefined {
    return this.blocks.get(id);
  }

  get(key: string): Rule | undefined {
    const [kind, id] = parseKey(key);
    return kind === 'lease' ? this.leases.get(id) : kind === 'block' ? this.blocks.get(id) : undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  leaseRules(): IterableIterator<LeaseRule> {
    return this.leases.values();
  }

  blockRules(): IterableIterator<BlockRule> {
    return this.blocks.values();
  }

  *values(): IterableIterator<Rule> {
    yield* this.leases.values();
    yield* this.blocks.values();
  }

  *entries(): IterableIterator<[string, Rule]> {
    for (const r of this.values()) yield [`${r.kind}/${r.id}`, r];
  }

  *keys(): IterableIterator<string> {
    for (const [k] of this.entries()) yield k;
  }

  [Symbol.iterator](): IterableIterator<[string, Rule]> {
    return this.entries();
  }

  /** Leases of a DTN `matches` with `protocol` whose remote overlaps `remote`, by id. */
  leasesOverlapping(matches: (dtn: string) => boolean, protocol: string, remote: Prefix): LeaseRule[] {
    const ids: number[] = [];
    for (const [dtn, tries] of this.ix.remotes) if (matches(dtn)) trieOverlapping(tries.get(remoteKey(protocol, remote)), remote, ids);
    return ids.sort((a, b) => a - b).map((id) => this.leases.get(id)!);
  }

  leaseFlowsOn(dpid: bigint): number {
    return this.ix.leaseFlows.get(dpid) ?? 0;
  }

  get blockFlows(): number {
    return this.ix.blockFlows;
  }

  rateOnPath(path: string): number {
    return this.ix.rateByPath.get(path) ?? 0;
  }

  /** Reservations of the leases with routes, by link group. */
  get routedReservations(): ReadonlyMap<string, number> {
    return this.ix.reservedByGroup;
  }

  /** Leases with a rate whose routes are not worked out yet. */
  *unroutedRated(): IterableIterator<LeaseRule> {
    for (const [id] of this.ix.unrouted.entries()) yield this.leases.get(id)!;
  }

  /** The lowest meter id no lease holds. */
  freeMeterId(): number {
    return this.ix.meters.lowestFree();
  }

  with(rule: Rule): Rules {
    const old = rule.kind === 'lease' ? this.leases.get(rule.id) : undefined;
    // A change the indexes do not see (a lease confirmed, extended): only the rule is replaced.
    if (old && rule.kind === 'lease' && sameIndexed(old, rule)) return new Rules(this.leases.set(rule.id, rule), this.blocks, this.ix);
    const base = this.without(rule.kind, rule.id);
    if (rule.kind === 'block')
      return new Rules(base.leases, base.blocks.set(rule.id, rule), { ...base.ix, blockFlows: base.ix.blockFlows + rule.flows });
    return new Rules(base.leases.set(rule.id, rule), base.blocks, indexLease(base.ix, rule, +1));
  }

  without(kind: RuleKind, id: number): Rules {
    if (kind === 'block') {
      const b = this.blocks.get(id);
      return b ? new Rules(this.leases, this.blocks.delete(id), { ...this.ix, blockFlows: this.ix.blockFlows - b.flows }) : this;
    }
    const l = this.leases.get(id);
    return l ? new Rules(this.leases.delete(id), this.blocks, indexLease(this.ix, l, -1)) : this;
  }
}

function sameIndexed(a: LeaseRule, b: LeaseRule): boolean {
  return (
    a.dtn === b.dtn &&
    a.protocol === b.protocol &&
    a.remote === b.remote &&
    a.flows === b.flows &&
    a.hops === b.hops &&
    a.rateMbps === b.rateMbps &&
    a.path === b.path &&
    a.routes === b.routes &&
    a.meterId === b.meterId
  );
}

/** The indexes with a lease's part added (+1) or taken off (-1). */
function indexLease(ix: Indexes, l: LeaseRule, sign: 1 | -1): Indexes {
  const out: Indexes = { ...ix };
  const byProto = new Map(ix.remotes.get(l.dtn) ?? []);
  const key = remoteKey(l.protocol, l.remote);
  const trie = sign > 0 ? trieAdd(byProto.get(key), l.remote, l.id) : trieDelete(byProto.get(key), l.remote, l.id);
  if (trie) byProto.set(key, trie);
  else byProto.delete(key);
  const remotes = new Map(ix.remotes);
  if (byProto.size) remotes.set(l.dtn, byProto);
  else remotes.delete(l.dtn);
  out.remotes = remotes;
  if (l.flows) {
    const flows = new Map(ix.leaseFlows);
    for (const dpid of switchesOf(l)) {
      const v = (flows.get(dpid) ?? 0) + sign * l.flows;
      if (v === 0) flows.delete(dpid);
      else flows.set(dpid, v);
    }
    out.leaseFlows = flows;
  }
  if (l.rateMbps) {
    out.rateByPath = bump(ix.rateByPath, l.path, sign * l.rateMbps);
    if (l.routes) {
      const reserved = new Map(ix.reservedByGroup);
      for (const g of groupsOf(l.routes)) {
        const v = (reserved.get(g) ?? 0) + sign * l.rateMbps;
        if (v === 0) reserved.delete(g);
        else reserved.set(g, v);
      }
      out.reservedByGroup = reserved;
    } else out.unrouted = sign > 0 ? ix.unrouted.set(l.id, true) : ix.unrouted.delete(l.id);
  }
  if (l.meterId !== undefined) {
    const n = (ix.meters.get(l.meterId) ?? 0) + sign;
    out.meters = n > 0 ? ix.meters.set(l.meterId, n) : ix.meters.delete(l.meterId);
  }
  return out;
}

function parseKey(key: string): [string, number] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), Number(key.slice(slash + 1))];
}

/** What `withRules` edits hand to: a Map-like view whose set and delete make a new Rules. */
export class RulesEditor {
  constructor(public rules: Rules) {}

  set(key: string, rule: Rule): this {
    const [kind, id] = parseKey(key);
    if (kind !== rule.kind || id !== rule.id) throw new Error(`rule ${rule.kind}/${rule.id} set under key ${key}`);
    this.rules = this.rules.with(rule);
    return this;
  }

  delete(key: string): boolean {
    const [kind, id] = parseKey(key);
    const had = this.rules.has(key);
    this.rules = this.rules.without(kind as RuleKind, id);
    return had;
  }
}
