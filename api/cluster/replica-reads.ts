// What a follower answers itself: reads of transfers and blocks from its replica of the state (an etcd store
// kept current by its watch), with the same tokens, scopes, project visibility and JSON views as the leader's
// API. Reads go on while there is no leader (an election, or etcd without quorum: the replica is then as of the
// last batch it saw). Everything else a follower passes on to the leader.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from '../errors.js';
import { hasScope, isAdmin, requireProject, sees, verifyToken } from '../tokens.js';
import { blockView, transferView } from '../views.js';
import type { StateView } from '../state/state-view.js';
import type { Scope, TokenRecord } from '../state/types.js';

const TRANSFER = /^\/api\/v1\/transfers\/(\d{1,15})$/;
const MAX_LIMIT = 1000;

/** The answer to a read this follower serves itself, or undefined for a request it does not serve. */
export function replicaRead(view: StateView, req: IncomingMessage): { status: number; body: unknown; headers?: Record<string, string> } | undefined {
  if (req.method !== 'GET') return undefined;
  const url = new URL(req.url ?? '/', 'http://replica');
  const path = url.pathname;
  const one = TRANSFER.exec(path);
  if (path !== '/api/v1/transfers' && path !== '/api/v1/blocks' && !one) return undefined;
  try {
    const t = token(view, req);
    const q = url.searchParams;
    const state = q.get('state') ?? undefined;
    const offset = Math.max(0, Number(q.get('offset') ?? 0) || 0);
    const limit = Math.min(MAX_LIMIT, Math.max(1, Number(q.get('limit') ?? 100) || 100));
    if (path === '/api/v1/blocks') {
      requireScope(t, 'blocks:write');
      const blocks = Object.values(view.blocks)
        .filter((b) => sees(t, b.project) && (state === undefined || b.state === state))
        .sort((a, b) => b.id - a.id);
      return { status: 200, body: { blocks: blocks.slice(offset, offset + limit).map(blockView), total: blocks.length } };
    }
    requireScope(t, 'transfers:read');
    if (one) {
      const rec = view.lease(Number(one[1]));
      if (!rec || !sees(t, rec.project)) throw new ApiError('DMZ_TRANSFER_NOT_FOUND', `no transfer ${one[1]}`);
      return { status: 200, body: transferView(rec) };
    }
    const asked = q.get('project') ?? undefined;
    if (asked !== undefined) requireProject(t, asked);
    const project = asked ?? (isAdmin(t) ? undefined : t.project);
    const all = Object.keys(view.leases)
      .map((id) => view.lease(Number(id))!)
      .filter((l) => (project === undefined || l.project === project) && (state === undefined || l.state === state))
      .sort((a, b) => b.id - a.id);
    return { status: 200, body: { transfers: all.slice(offset, offset + limit).map(transferView), total: all.length } };
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return { status: e.status, body: e.body(), headers: e.headers };
  }
}

function token(view: StateView, req: IncomingMessage): TokenRecord {
  const auth = req.headers.authorization;
  const m = auth ? /^Bearer\s+(\S+)$/i.exec(auth) : null;
  if (!m) throw new ApiError('DMZ_TOKEN_MISSING');
  const t = verifyToken(view, m[1]!);
  if (t instanceof ApiError) throw t;
  return t;
}

function requireScope(t: TokenRecord, scope: Scope): void {
  if (!hasScope(t, scope)) throw new ApiError('DMZ_SCOPE_DENIED', `this needs the scope ${scope}; the token has ${t.scopes.join(', ')}`);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}
