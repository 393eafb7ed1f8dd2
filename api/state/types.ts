// What the API keeps besides the DMZ app's leases and blocks (apps/dmz/records.ts): tokens, the audit trail and
// the event log. Plain JSON data, written as they are by every state store backend.

export type Scope = 'transfers:read' | 'transfers:write' | 'blocks:write' | 'metrics' | 'admin';
export const SCOPES: readonly Scope[] = ['transfers:read', 'transfers:write', 'blocks:write', 'metrics', 'admin'];

export interface TokenRecord {
  id: number;
  /** sha256 of the secret, hex. The secret itself is shown once, by createToken, and never stored. */
  hash: string;
  project: string;
  description?: string;
  /** DTN names, or ['*'] for any DTN of the site. */
  dtns: string[];
  /** Remote prefixes a transfer (or a block) may name; e.g. ['0.0.0.0/0', '::/0'] for any. */
  remotes: string[];
  /** Local (DTN-side) port ranges, text `LO-HI` or `PORT`. */
  ports: string[];
  /** `routed`, `circuit:NAME`, or '*'. */
  paths: string[];
  maxDurationSeconds: number;
  /** Mbit/s; absent: no cap beyond the site's. */
  maxRateMbps?: number;
  scopes: Scope[];
  createdAt: number;
  expiresAt?: number;
  revokedAt?: number;
}

export type EventType =
  | 'lease.created'
  | 'lease.extended'
  | 'lease.closed'
  | 'lease.path-moved'
  | 'lease.path-lost'
  | 'block.created'
  | 'block.removed'
  | 'switch.up'
  | 'switch.down'
  | 'flow.lost'
  | 'switch.refused'
  | 'link.up'
  | 'link.down'
  | 'link.missing'
  | 'link.miscabled'
  | 'link.unexpected';

export interface StoredEvent {
  id: number;
  at: number;
  type: EventType;
  /** The lease's project, for lease events (whose tokens may see them). */
  project?: string;
  data: Record<string, unknown>;
}

export interface AuditEntry {
  id: number;
  at: number;
  /** `token:ID` or `system`. */
  actor: string;
  project?: string;
  /** The client's address, for API requests. */
  client?: string;
  action: string;
  decision: 'granted' | 'refused' | 'done';
  /** The error code of a refusal. */
  code?: string;
  reason?: string;
  transfer?: number;
  block?: number;
  details?: Record<string, unknown>;
}

/** The next id of each kind the API numbers itself (lease and block ids are the DMZ app's). */
export interface NextIds {
  token: number;
  event: number;
  audit: number;
}
