// The core's state: the site and the live rules (leases being installed or active, blocks), nothing else. Closed
// rules leave it (their last record is persisted); counters, sockets and timers are the runtime's. Rules are a
// discriminated union so that other kinds (IDS drop/shunt/redirect rules) join without a redesign, and a lease
// holds its path as hops: every switch of its routes across the fabric (fabric/routes.ts), the exit first.
import type { Prefix } from '../addresses.js';
import type { PortRange } from '../port-ranges.js';
import type { PathName } from '../model.js';
import type { Protocol, Site } from '../site.js';
import type { MemberRoute } from '../fabric/routes.js';
import { Rules } from './rules.js';

/** One switch a rule's flows are on. */
export interface Hop {
  dpid: bigint;
  switch: string;
}

export interface LeaseRule {
  kind: 'lease';
  id: number;
  /** installing: its flows are on their way (it holds its id, meter, overlap and budgets); active: confirmed. */
  status: 'installing' | 'active';
  project: string;
  dtn: string;
  remote: Prefix;
  protocol: Protocol;
  localPorts: readonly PortRange[];
  remotePorts: readonly PortRange[];
  path: PathName;
  /** Every switch of its routes, the exit's first, then in order of distance from it. */
  hops: readonly Hop[];
  /** Its routes across the fabric, one per DTN (undefined: computed when needed, with nothing reserved). */
  routes?: readonly MemberRoute[];
  /** A link of its routes went down and no other path was found: its flows wait for a link to come back. */
  pathLost?: boolean;
  start: number;
  end: number;
  rateMbps: number | undefined;
  meterId: number | undefined;
  /** Flows it takes on each hop, the most on any one (for the flow budgets). */
  flows: number;
  createdAt: number;
}

export interface BlockRule {
  kind: 'block';
  id: number;
  prefix: Prefix;
  protocol: Protocol | undefined;
  ports: readonly PortRange[] | undefined;
  start: number;
  /** undefined: until removed. */
  end: number | undefined;
  reason: string;
  project: string | undefined;
  createdBy: string | undefined;
  /** Flows it takes on every switch. */
  flows: number;
}

export type Rule = LeaseRule | BlockRule;
export type RuleKind = Rule['kind'];

export interface State {
  site: Site;
  /** Live rules by ruleKey(kind, id), persistent and indexed (rules.ts); changed through withRules. */
  rules: Rules;
  /** Switches connected now. */
  up: ReadonlySet<bigint>;
  /** Links (SiteLink names) reported down: no path uses them. */
  linksDown: ReadonlySet<string>;
  nextId: Readonly<Record<RuleKind, number>>;
}

export const ruleKey = (kind: RuleKind, id: number): string => `${kind}/${id}`;

export function initialState(site: Site, nextId: Partial<Record<RuleKind, number>> = {}): State {
  return { site, rules: Rules.empty(), up: new Set(), linksDown: new Set(), nextId: { lease: nextId.lease ?? 1, block: nextId.block ?? 1 } };
}

export function leaseOf(state: State, id: number): LeaseRule | undefined {
  return state.rules.lease(id);
}

export function blockOf(state: State, id: number): BlockRule | undefined {
  return state.rules.block(id);
}

/** The live rules of a kind, by id. */
export function rulesOf<K extends RuleKind>(state: State, kind: K): Iterable<Extract<Rule, { kind: K }>> {
  return (kind === 'lease' ? state.rules.leaseRules() : state.rules.blockRules()) as Iterable<Extract<Rule, { kind: K }>>;
}
