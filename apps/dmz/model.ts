// Leases and blocks: the dynamic state of the DMZ firewall. A lease authorises one transfer's traffic to bypass
// the enterprise firewall; a block drops an address (an operator's or an IDS's decision) and wins over any lease.
import type { PortRange } from './port-ranges.js';
import type { Protocol } from './site.js';

/** `routed`, or `circuit:NAME` for a virtual circuit of the site config. */
export type PathName = 'routed' | `circuit:${string}`;

export interface Lease {
  /** Unique, small, positive: it becomes the low bits of the lease's flow cookie. */
  id: number;
  project: string;
  /** The DTN's name in the site config: the only addresses on our side a lease may cover. */
  dtn: string;
  /** Remote address or prefix, e.g. `192.0.2.0/24`. */
  remote: string;
  protocol: Protocol;
  /** DTN-side ports. */
  localPorts: PortRange[];
  /** Remote-side ports; [0-65535] for any. */
  remotePorts: PortRange[];
  path: PathName;
  /** Epoch milliseconds. */
  start: number;
  end: number;
  /** Optional rate cap in Mbit/s, enforced by an OpenFlow meter. */
  rateMbps?: number;
  /** The meter carrying the rate (allocated by the lease manager). */
  meterId?: number;
}

export interface Block {
  id: number;
  /** Address or prefix to drop, as source or destination. */
  prefix: string;
  protocol?: Protocol;
  /** Ports (either end) to drop; all ports when absent. */
  ports?: PortRange[];
  start: number;
  /** Epoch milliseconds; undefined for a block until removed. */
  end?: number;
  reason: string;
  /** The project of the token that made it; absent on blocks stored before blocks had owners (admin's only). */
  project?: string;
  /** Who made it, as the audit trail names actors (`token:ID`). */
  createdBy?: string;
}

export const ANY_PORT: PortRange = { lo: 0, hi: 65535 };
