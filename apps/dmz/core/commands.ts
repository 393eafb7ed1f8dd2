// What can happen to the DMZ's rules, as plain data with parsed values (prefixes, port ranges, epoch times):
// what an API request asks, what a timer or a switch reports, and what the executor reports back about a plan it
// ran (installed / install-failed). Every change of a lease or block is one of these, decided by decide().
import type { Prefix } from '../addresses.js';
import type { PortRange } from '../port-ranges.js';
import type { PathName } from '../model.js';
import type { Protocol, Site } from '../site.js';
import type { State } from './state.js';

export interface LeaseSpec {
  project: string;
  dtn: string;
  remote: Prefix;
  protocol: Protocol;
  localPorts: readonly PortRange[];
  remotePorts: readonly PortRange[];
  path: PathName;
  end: number;
  rateMbps?: number;
}

export interface BlockSpec {
  prefix: Prefix;
  protocol?: Protocol;
  ports?: readonly PortRange[];
  /** undefined: until removed. */
  end?: number;
  reason: string;
  project?: string;
  createdBy?: string;
}

/** Why a switch reported a flow removed (OF1.3.5 §7.4.2, ofp_flow_removed_reason). */
export type RemovedReason = 'idle-timeout' | 'hard-timeout' | 'delete' | 'group-delete' | 'meter-delete' | 'eviction';

/** Who a command comes from, as the audit trail names actors (`token:ID`, or `system`). */
export interface Actor {
  actor: string;
  project?: string;
  client?: string;
}

export type Command =
  | { type: 'request'; by: Actor; lease: LeaseSpec }
  | { type: 'installed'; id: number }
  | { type: 'install-failed'; id: number; reason: string }
  | { type: 'extend'; by: Actor; id: number; end: number }
  | { type: 'release'; by: Actor; id: number; state: 'released' | 'revoked'; reason: string }
  | { type: 'expire'; kind: 'lease' | 'block'; id: number }
  | { type: 'block'; by: Actor; block: BlockSpec }
  | { type: 'unblock'; by: Actor; id: number }
  | { type: 'switch-up'; dpid: bigint }
  | { type: 'switch-down'; dpid: bigint }
  | { type: 'flow-removed'; dpid: bigint; cookie: bigint; reason: RemovedReason }
  | { type: 'flow-lost'; dpid: bigint; cookie: bigint; reason: string }
  | { type: 'config-reload'; site: Site }
  | { type: 'link-down'; link: string }
  | { type: 'link-up'; link: string }
  /** The switches refused a wave of a link change's moves; `before`: the state that link change was decided from. */
  | { type: 'moves-failed'; link: string; leases: readonly number[]; before: State };

export const SYSTEM: Actor = { actor: 'system' };
