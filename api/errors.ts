// Every error the API answers with comes from this one registry: a stable code (what clients branch on), the
// HTTP status, and a default message. The codes are the contract: they are listed in the OpenAPI document (the
// ErrorCode enum) and in api/ERRORS.md, and a test fails if one is missing from either. Messages may change;
// codes never do. (The pattern is fastify's own `createError('FST_ERR_…', message, status)` registry.)
import { SwitchError, RequestTimeoutError, ConnectionClosedError, dpidText } from '../controller/errors.js';
import { CrossSwitchAbortedError } from '../controller/cross-switch.js';
import { SwitchNotConnectedError } from '../controller/flow-manager.js';
import { errorTypeName, errorCodeName } from '../controller/openflow/index.js';
import { LeaseRefused } from '../apps/dmz/pipeline.js';

export interface ErrorDef {
  status: number;
  message: string;
  /** When a client sees it and what to do: the line in ERRORS.md. */
  doc: string;
}

export const ERRORS = {
  // --- the request itself ----------------------------------------------------------------------------------------
  DMZ_INVALID_FIELD: {
    status: 400,
    message: 'a field has the wrong type or value',
    doc: "The body, query or path does not match the route's schema (wrong type, out of range, bad format, missing field). `details` lists each problem with its path.",
  },
  DMZ_UNKNOWN_FIELD: {
    status: 400,
    message: 'the request has a field this route does not know',
    doc: "A field that is not in the route's schema (additionalProperties is false everywhere): a typo or a client built for another version. `details` names it.",
  },
  DMZ_MALFORMED_JSON: {
    status: 400,
    message: 'the body is not valid JSON',
    doc: 'The body could not be parsed as JSON, is empty while the content type says JSON, or holds a forbidden `__proto__`/`constructor` key.',
  },
  DMZ_BODY_TOO_LARGE: {
    status: 413,
    message: 'the request body is larger than the API accepts',
    doc: 'The body exceeds the body limit (16 KiB by default); no route needs more.',
  },
  DMZ_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'the body must be application/json',
    doc: 'A body with a content type other than `application/json`.',
  },
  DMZ_ROUTE_NOT_FOUND: { status: 404, message: 'no such route', doc: 'No route has this method and path.' },
  DMZ_UPGRADE_REQUIRED: {
    status: 426,
    message: 'this endpoint speaks WebSocket only',
    doc: '`/api/v1/events` was requested without a WebSocket upgrade.',
  },
  // --- authentication --------------------------------------------------------------------------------------------
  DMZ_TOKEN_MISSING: {
    status: 401,
    message: 'a bearer token is required',
    doc: 'No `Authorization: Bearer …` header (or, for the event stream, no token in the query or subprotocol).',
  },
  DMZ_TOKEN_INVALID: {
    status: 401,
    message: 'the bearer token is not valid',
    doc: 'A token that is malformed, unknown, or whose secret does not match (forged). Counts towards the per-address failure limit.',
  },
  DMZ_TOKEN_EXPIRED: { status: 401, message: 'the bearer token has expired', doc: "The token's `expiresAt` has passed; ask for a new one." },
  DMZ_TOKEN_REVOKED: { status: 401, message: 'the bearer token has been revoked', doc: 'An operator revoked the token.' },
  DMZ_AUTH_RATE_LIMITED: {
    status: 429,
    message: 'too many failed authentications from this address',
    doc: 'The client address failed authentication too often; its requests without a valid token are refused (instead of 401) until `Retry-After` seconds have passed. A valid token from it is still accepted.',
  },
  DMZ_TOO_MANY_REQUESTS: {
    status: 429,
    message: 'the token made more requests than its rate allows',
    doc: "The token's request rate (a token bucket per token: --api-rate-limit per second, bursts of --api-rate-burst) is used up; retry after `Retry-After` seconds.",
  },
  // --- authorisation: the token's constraints (403, `constraint` names which) -----------------------------------
  DMZ_SCOPE_DENIED: {
    status: 403,
    message: 'the token lacks the scope this route requires',
    doc: 'Constraint `scope`: the route needs a scope (`transfers:read`, `transfers:write`, `blocks:write`, `metrics`, `admin`) the token does not have.',
  },
  DMZ_PROJECT_DENIED: {
    status: 403,
    message: 'the resource belongs to another project',
    doc: "Constraint `project`: a non-admin token asked for another project's list (`GET /api/v1/transfers?project=`). Another project's transfer or block by id is 404, as a missing one.",
  },
  DMZ_DTN_DENIED: {
    status: 403,
    message: 'the token does not allow this DTN',
    doc: "Constraint `dtn`: the requested DTN is not in the token's `dtns`.",
  },
  DMZ_REMOTE_DENIED: {
    status: 403,
    message: 'the token does not allow this remote address',
    doc: "Constraint `remote`: the remote prefix (or a block's prefix) is not inside one of the token's `remotes` prefixes.",
  },
  DMZ_PORTS_DENIED: {
    status: 403,
    message: 'the token does not allow these local ports',
    doc: "Constraint `ports`: a local port range is not inside one of the token's `ports` ranges.",
  },
  DMZ_PATH_DENIED: {
    status: 403,
    message: 'the token does not allow this path',
    doc: "Constraint `path`: the path (`routed` or `circuit:NAME`) is not in the token's `paths`.",
  },
  DMZ_DURATION_DENIED: {
    status: 403,
    message: 'the token does not allow a transfer this long',
    doc: "Constraint `duration`: the transfer would last (from its start to its end) longer than the token's `maxDurationSeconds`; applies to extensions too.",
  },
  DMZ_BLOCK_NEEDS_ADMIN: {
    status: 403,
    message: 'only an admin token may make or remove this block',
    doc: "Constraint `scope`: the block is a site-wide decision (a default route, a prefix wider than /16 IPv4 or /32 IPv6, or one covering a DTN's or another inside host's address); the message says which.",
  },
  DMZ_RATE_DENIED: {
    status: 403,
    message: 'the token does not allow this rate',
    doc: "Constraint `rate`: `rate_mbps` exceeds the token's `maxRateMbps`.",
  },
  // --- the site's policy and state -------------------------------------------------------------------------------
  DMZ_UNKNOWN_DTN: {
    status: 422,
    message: 'no such DTN in the site config',
    doc: 'The DTN is allowed by the token but is not configured at this site.',
  },
  DMZ_UNKNOWN_PATH: { status: 422, message: 'no such path at this site', doc: "The circuit does not exist, or is not on the DTN's switch." },
  DMZ_POLICY_PROTOCOL: {
    status: 422,
    message: 'the site policy does not allow this protocol',
    doc: "The site's `policy.protocols` does not list the protocol.",
  },
  DMZ_POLICY_PORTS: {
    status: 422,
    message: 'the site policy does not allow these ports',
    doc: "A local port range is outside the site's `policy.ports`.",
  },
  DMZ_POLICY_DURATION: {
    status: 422,
    message: 'the site policy does not allow a transfer this long',
    doc: "Longer than the site's `policy.max-lease` (or the switch's 65535 s hard-timeout limit).",
  },
  DMZ_REMOTE_IS_LOCAL: {
    status: 422,
    message: 'the remote prefix covers an inside host',
    doc: "The remote side must be remote: the prefix covers one of the site's own hosts.",
  },
  DMZ_REMOTE_SPECIAL: {
    status: 422,
    message: 'the remote prefix is or covers a special-purpose address',
    doc: "Loopback, link-local, multicast, this-network or reserved addresses (127.0.0.0/8, 169.254.0.0/16, 224.0.0.0/4, 0.0.0.0/8, 240.0.0.0/4, ::1, ::, fe80::/10, ff00::/8; IPv4-mapped spellings included) are never a transfer's remote end, and neither is a prefix covering one.",
  },
  DMZ_FAMILY_MISMATCH: {
    status: 422,
    message: "the DTN has no address of the remote's family",
    doc: 'An IPv6 remote for a DTN without IPv6 (or IPv4 likewise).',
  },
  DMZ_END_IN_PAST: { status: 422, message: 'the end is not in the future', doc: 'The requested end (or duration) leaves no time.' },
  DMZ_REQUEST_FLOW_BUDGET: {
    status: 422,
    message: 'the request would take more flows than the site allows per request',
    doc: "A transfer expands to local addresses x local port masks x remote port masks x 2 flows (a block to its own drop flows on each switch); more than the site's `policy.lease-flow-budget` (default 256). `limit` has `flows` (what it would take) and `budget`. Ask for fewer or wider port ranges.",
  },
  DMZ_SWITCH_FLOW_BUDGET: {
    status: 422,
    message: "the switch has no room left for this request's flows",
    doc: "The transfer and block flows the switch already holds plus this request's would exceed its budget: `policy.switch-flow-budget` (default 65536), capped by the table size the switch reports less the pipeline flows. `limit` has `flows`, `budget`, `in_use` and `switch`. Retry once other transfers end.",
  },
  DMZ_CIRCUIT_CAPACITY: {
    status: 409,
    message: 'the circuit has not enough capacity left for this rate',
    doc: 'The rates of the transfers on a circuit never sum past its `capacity-mbps`; a transfer on such a circuit without `rate_mbps` carries `policy.circuit-default-rate-mbps` (default the whole capacity). `limit` has `circuit`, `capacity_mbps`, `capacity_left_mbps` and `rate_mbps`. Ask for at most the capacity left, or retry once other transfers end.',
  },
  DMZ_PATH_NO_CAPACITY: {
    status: 409,
    message: "a link of the transfer's path across the fabric has not enough unreserved capacity for this rate",
    doc: "A transfer with a rate reserves it on every link (group of parallel links) of its path from the DTN's switch to the exit; the path chosen (shortest by `cost`, then the most room) has a link with less room left than the rate. `limit` has `link`, `capacity_mbps`, `capacity_left_mbps` and `rate_mbps`. Ask for at most the room left, or retry once other transfers end.",
  },
  DMZ_NO_PATH: {
    status: 409,
    message: "no path of links that are up reaches the exit from the DTN's switch",
    doc: "The links between the DTN's switch and the exit (a `wan-routed` port, or the circuit's trunk) are down (LLDP or port status). Retry once a link is back (`GET /api/v1/topology`).",
  },
  DMZ_SITE_POLICY: {
    status: 422,
    message: 'the site policy refuses this request',
    doc: "Another site-policy refusal; `reason` carries the DMZ app's reason code.",
  },
  DMZ_LEASE_OVERLAP: {
    status: 409,
    message: 'the transfer overlaps an active one',
    doc: 'Some packet would match both this transfer and an active one (same DTN and protocol, overlapping remote prefix and ports).',
  },
  DMZ_TRANSFER_NOT_ACTIVE: {
    status: 409,
    message: 'the transfer has ended',
    doc: 'PATCH or DELETE of a transfer that is already expired, released or revoked.',
  },
  DMZ_TRANSFER_NOT_FOUND: {
    status: 404,
    message: 'no such transfer',
    doc: "No transfer has this id, or (for a non-admin token) it is another project's: the answer does not tell which.",
  },
  DMZ_BLOCK_NOT_FOUND: {
    status: 404,
    message: 'no such active block',
    doc: "No active block has this id, or (for a non-admin token) it is another project's: the answer does not tell which.",
  },
  DMZ_SWITCH_NOT_FOUND: { status: 404, message: 'no such switch', doc: 'No connected switch has this datapath id.' },
  DMZ_TOKEN_NOT_FOUND: { status: 404, message: 'no such token', doc: '`DELETE /api/v1/tokens/{id}` (admin) of a token that does not exist.' },
  // --- the switches ----------------------------------------------------------------------------------------------
  DMZ_SWITCH_DOWN: {
    status: 503,
    message: 'the switch is not connected',
    doc: "A switch of the transfer's path is not connected to the controller (or went away during the request). Nothing was installed on any switch; retry later.",
  },
  DMZ_SWITCH_REFUSED: {
    status: 502,
    message: 'a switch refused the flows',
    doc: 'A switch answered with OFPT_ERROR; `switch_error` carries its type and code names (and the switch). Nothing was left half-installed on any switch of the path (the change was atomic across them).',
  },
  DMZ_SWITCH_TIMEOUT: { status: 504, message: 'a switch did not answer in time', doc: 'A switch did not answer a request (or its barrier) in time.' },
  // --- the server ------------------------------------------------------------------------------------------------
  DMZ_NOT_READY: { status: 503, message: 'not ready', doc: '`/readyz`: the state store is not loaded or the controller is not listening yet.' },
  DMZ_STORE_FAILED: {
    status: 500,
    message: 'the state could not be saved',
    doc: 'Writing the state file failed (disk full, permissions). A transfer granted meanwhile is revoked, since it could not be recorded.',
  },
  DMZ_INTERNAL: { status: 500, message: 'internal error', doc: 'A bug; the log has the details (by request id).' },
} as const satisfies Record<string, ErrorDef>;

export type ErrorCode = keyof typeof ERRORS;
export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

/** Which token constraint a 403 is about (also the `constraint` field of the answer). */
export const CONSTRAINT_OF: Partial<Record<ErrorCode, string>> = {
  DMZ_SCOPE_DENIED: 'scope',
  DMZ_PROJECT_DENIED: 'project',
  DMZ_DTN_DENIED: 'dtn',
  DMZ_REMOTE_DENIED: 'remote',
  DMZ_PORTS_DENIED: 'ports',
  DMZ_PATH_DENIED: 'path',
  DMZ_DURATION_DENIED: 'duration',
  DMZ_RATE_DENIED: 'rate',
  DMZ_BLOCK_NEEDS_ADMIN: 'scope',
};

export interface SwitchErrorView {
  dpid: string;
  type: string;
  code: string;
  type_num: number;
  code_num: number;
  request?: string;
}

/** The body of every error answer. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  status: number;
  constraint?: string;
  reason?: string;
  details?: { path: string; message: string }[];
  switch_error?: SwitchErrorView;
  /** A refusal for a limit (a flow budget, a circuit's capacity): the numbers behind it. */
  limit?: Record<string, number | string>;
  request_id?: string;
}

export class ApiError extends Error {
  readonly status: number;
  /** HTTP headers the answer carries (Retry-After, WWW-Authenticate). */
  readonly headers: Record<string, string> = {};
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly extra: Omit<ErrorBody, 'code' | 'message' | 'status'> = {},
  ) {
    super(message ?? ERRORS[code].message);
    this.name = 'ApiError';
    this.status = ERRORS[code].status;
    // RFC 6750 §3: a 401 for a bearer-protected resource says so.
    if (this.status === 401)
      this.headers['WWW-Authenticate'] = `Bearer realm="dmzgate"${code === 'DMZ_TOKEN_MISSING' ? '' : ', error="invalid_token"'}`;
  }

  withHeader(name: string, value: string): this {
    this.headers[name] = value;
    return this;
  }

  body(requestId?: string): ErrorBody {
    const constraint = CONSTRAINT_OF[this.code];
    return {
      code: this.code,
      message: this.message,
      status: this.status,
      ...(constraint ? { constraint } : {}),
      ...this.extra,
      ...(requestId ? { request_id: requestId } : {}),
    };
  }
}

/** LeaseRefused reason codes (apps/dmz) and the API code each becomes. */
const REFUSAL_CODES: Record<string, ErrorCode> = {
  'unknown-dtn': 'DMZ_UNKNOWN_DTN',
  'unknown-path': 'DMZ_UNKNOWN_PATH',
  protocol: 'DMZ_POLICY_PROTOCOL',
  ports: 'DMZ_POLICY_PORTS',
  duration: 'DMZ_POLICY_DURATION',
  'too-long': 'DMZ_POLICY_DURATION',
  'remote-is-local': 'DMZ_REMOTE_IS_LOCAL',
  'special-remote': 'DMZ_REMOTE_SPECIAL',
  'family-mismatch': 'DMZ_FAMILY_MISMATCH',
  expired: 'DMZ_END_IN_PAST',
  'bad-remote': 'DMZ_INVALID_FIELD',
  overlap: 'DMZ_LEASE_OVERLAP',
  'switch-down': 'DMZ_SWITCH_DOWN',
  'request-flow-budget': 'DMZ_REQUEST_FLOW_BUDGET',
  'switch-flow-budget': 'DMZ_SWITCH_FLOW_BUDGET',
  'circuit-capacity': 'DMZ_CIRCUIT_CAPACITY',
  'path-capacity': 'DMZ_PATH_NO_CAPACITY',
  'no-path': 'DMZ_NO_PATH',
};

export function switchErrorView(e: SwitchError): SwitchErrorView {
  return {
    dpid: dpidText(e.dpid),
    type: errorTypeName(e.errType),
    code: errorCodeName(e.errType, e.code),
    type_num: e.errType,
    code_num: e.code,
    ...(e.request ? { request: e.request.type } : {}),
  };
}

/**
 * What an error thrown by the DMZ app or the controller means for an API client. `notFound` is the code for the
 * app's 'not-found' refusal (a transfer or a block, depending on the route).
 */
export function toApiError(e: unknown, notFound: ErrorCode = 'DMZ_TRANSFER_NOT_FOUND'): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof LeaseRefused) {
    if (e.reason === 'not-found') return new ApiError(notFound, e.message);
    return new ApiError(REFUSAL_CODES[e.reason] ?? 'DMZ_SITE_POLICY', e.message, { reason: e.reason, ...(e.limit ? { limit: e.limit } : {}) });
  }
  if (e instanceof SwitchError) return new ApiError('DMZ_SWITCH_REFUSED', e.message, { switch_error: switchErrorView(e) });
  if (e instanceof RequestTimeoutError) return new ApiError('DMZ_SWITCH_TIMEOUT', e.message);
  if (e instanceof ConnectionClosedError || e instanceof SwitchNotConnectedError) return new ApiError('DMZ_SWITCH_DOWN', e.message);
  // A switch of a path over several lost or did not answer its part: the change is on none of them.
  if (e instanceof CrossSwitchAbortedError)
    return new ApiError(e.cause instanceof RequestTimeoutError ? 'DMZ_SWITCH_TIMEOUT' : 'DMZ_SWITCH_DOWN', e.message);
  return new ApiError('DMZ_INTERNAL');
}

/** api/ERRORS.md as it must read (a test compares the file with this). */
export function errorsMarkdown(): string {
  const rows = ERROR_CODES.map((c) => {
    const d: ErrorDef = ERRORS[c];
    const constraint = CONSTRAINT_OF[c] ? ` (constraint \`${CONSTRAINT_OF[c]}\`)` : '';
    return `| \`${c}\` | ${d.status} | ${d.message}${constraint} | ${d.doc.replace(/\|/g, '\\|')} |`;
  });
  return [
    '# dmzgate API error codes',
    '',
    '<!-- Generated from api/errors.ts by errorsMarkdown(); test/unit/api/errors.test.ts fails if this file and the registry differ',
    '     (DMZGATE_UPDATE_ERRORS_MD=1 npx vitest run test/unit/api/errors.test.ts rewrites it). -->',
    '',
    'Every error answer has the same JSON body:',
    '',
    '```json',
    '{ "code": "DMZ_DTN_DENIED", "message": "the token does not allow this DTN", "status": 403, "constraint": "dtn", "request_id": "req-1f" }',
    '```',
    '',
    '`code` is stable: branch on it, never on `message`. Extra fields: `constraint` (403s: which token constraint refused),',
    "`reason` (site-policy refusals: the DMZ app's reason), `details` (400s: each schema problem with its path),",
    "`switch_error` (502: the OpenFlow error type and code names, numbers, and the refused request's type), `limit` (a",
    "refusal for a flow budget or a circuit's capacity: the numbers behind it).",
    '',
    '| code | HTTP | message | when |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
