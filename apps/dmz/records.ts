// What the DMZ app persists: a lease or a block as a record, with its lifecycle state and (for a lease) its
// counters. Plain JSON data: the API's state store writes these as they are, and restores them on a restart.
import type { Lease, Block } from './model.js';

export type LeaseState = 'active' | 'expired' | 'released' | 'revoked';

export interface Counters {
  /** WAN -> DTN */
  packetsIn: number;
  bytesIn: number;
  /** DTN -> WAN */
  packetsOut: number;
  bytesOut: number;
}

export interface LeaseRecord extends Lease {
  state: LeaseState;
  createdAt: number;
  closedAt?: number;
  closeReason?: string;
  counters: Counters;
}

export interface BlockRecord extends Block {
  state: 'active' | 'expired' | 'removed';
  closedAt?: number;
}
