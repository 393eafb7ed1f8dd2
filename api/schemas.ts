// The API's JSON schemas: request validation, response serialisation and the OpenAPI document all come from
// these. Every object says additionalProperties: false, so a misspelt field is a 400 (DMZ_UNKNOWN_FIELD), not
// silently ignored; strings have lengths and patterns, numbers ranges, arrays sizes.
import { ERROR_CODES, ERRORS } from './errors.js';
import { SCOPES } from './state/types.js';

const NAME = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
const PORT_RANGE = '^[0-9]{1,5}(-[0-9]{1,5})?$';
const PATH = '^(routed|circuit:[A-Za-z0-9][A-Za-z0-9._-]{0,63})$';
/** An IPv4/IPv6 address or prefix; the characters only (parsePrefix decides). */
const PREFIX = '^[0-9A-Fa-f.:]{2,45}(/[0-9]{1,3})?$';

const portRanges = (description: string) => ({
  type: 'array',
  minItems: 1,
  maxItems: 16,
  description,
  items: { type: 'string', pattern: PORT_RANGE, maxLength: 11, examples: ['50000-51000'] },
});

const time = { type: 'string', format: 'date-time', maxLength: 40 } as const;
const duration = { type: 'integer', minimum: 1, maximum: 65535, description: 'seconds from now' } as const;

// ---- shared (response) schemas: referenced as { $ref: 'Name#' } -----------------------------------------------

export const ERROR_SCHEMA = {
  $id: 'Error',
  type: 'object',
  description: `An error answer. \`code\` is one of the stable codes (see api/ERRORS.md):\n\n${ERROR_CODES.map((c) => `- \`${c}\` (${ERRORS[c].status}): ${ERRORS[c].message}`).join('\n')}`,
  required: ['code', 'message', 'status'],
  additionalProperties: false,
  properties: {
    code: { type: 'string', enum: ERROR_CODES },
    message: { type: 'string' },
    status: { type: 'integer' },
    constraint: { type: 'string', enum: ['scope', 'project', 'dtn', 'remote', 'ports', 'path', 'duration', 'rate'] },
    reason: { type: 'string' },
    request_id: { type: 'string' },
    details: {
      type: 'array',
      items: { type: 'object', additionalProperties: false, properties: { path: { type: 'string' }, message: { type: 'string' } } },
    },
    limit: {
      type: 'object',
      additionalProperties: false,
      description: 'a refusal for a limit: the numbers behind it (DMZ_REQUEST_FLOW_BUDGET, DMZ_SWITCH_FLOW_BUDGET, DMZ_CIRCUIT_CAPACITY)',
      properties: {
        flows: { type: 'integer', description: 'flows the request would take (per switch, for a block)' },
        budget: { type: 'integer', description: 'the budget it would exceed' },
        in_use: { type: 'integer', description: 'transfer and block flows the switch holds now' },
        switch: { type: 'string' },
        circuit: { type: 'string' },
        capacity_mbps: { type: 'number' },
        capacity_left_mbps: { type: 'number' },
        rate_mbps: { type: 'number', description: 'the rate the transfer asked for (or the circuit default it got)' },
      },
    },
    switch_error: {
      type: 'object',
      additionalProperties: false,
      properties: {
        dpid: { type: 'string' },
        type: { type: 'string', examples: ['OFPET_FLOW_MOD_FAILED'] },
        code: { type: 'string', examples: ['OFPFMFC_TABLE_FULL'] },
        type_num: { type: 'integer' },
        code_num: { type: 'integer' },
        request: { type: 'string' },
      },
    },
  },
} as const;

const counters = {
  type: 'object',
  additionalProperties: false,
  required: ['bytes_in', 'bytes_out', 'packets_in', 'packets_out'],
  description: 'in: WAN to DTN; out: DTN to WAN',
  properties: { bytes_in: { type: 'integer' }, bytes_out: { type: 'integer' }, packets_in: { type: 'integer' }, packets_out: { type: 'integer' } },
};

export const TRANSFER_SCHEMA = {
  $id: 'Transfer',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'project', 'dtn', 'remote', 'protocol', 'local_ports', 'remote_ports', 'path', 'start', 'end', 'state', 'counters'],
  properties: {
    id: { type: 'integer' },
    project: { type: 'string' },
    dtn: { type: 'string' },
    remote: { type: 'string', description: 'the remote prefix, canonical' },
    protocol: { type: 'string', enum: ['tcp', 'udp'] },
    local_ports: { type: 'array', items: { type: 'string' } },
    remote_ports: { type: 'array', items: { type: 'string' } },
    path: { type: 'string' },
    rate_mbps: { type: 'number' },
    start: time,
    end: time,
    state: { type: 'string', enum: ['active', 'expired', 'released', 'revoked'] },
    closed_at: time,
    close_reason: { type: 'string' },
    counters,
    rate: {
      type: 'object',
      additionalProperties: false,
      description:
        'GET /transfers/{id} of an active transfer: counters were read from the switch for this request; the rate is the byte delta since the previous read over the time between them (null on the first read)',
      required: ['sampled_at', 'interval_seconds', 'bps_in', 'bps_out'],
      properties: {
        sampled_at: time,
        interval_seconds: { type: ['number', 'null'] },
        bps_in: { type: ['number', 'null'], description: 'bits per second, WAN to DTN' },
        bps_out: { type: ['number', 'null'], description: 'bits per second, DTN to WAN' },
      },
    },
  },
} as const;

export const BLOCK_SCHEMA = {
  $id: 'Block',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'prefix', 'start', 'reason', 'state'],
  properties: {
    id: { type: 'integer' },
    prefix: { type: 'string' },
    protocol: { type: 'string', enum: ['tcp', 'udp'] },
    ports: { type: 'array', items: { type: 'string' } },
    start: time,
    end: time,
    reason: { type: 'string' },
    state: { type: 'string', enum: ['active', 'expired', 'removed'] },
    closed_at: time,
    project: { type: 'string', description: "the project of the token that made it (absent: made before blocks had owners; admin's only)" },
    created_by: { type: 'string', description: '`token:ID`' },
  },
} as const;

export const SWITCH_SCHEMA = {
  $id: 'Switch',
  type: 'object',
  additionalProperties: false,
  required: ['dpid', 'connected', 'ports', 'flows'],
  properties: {
    dpid: { type: 'string', description: '16 hex digits' },
    name: { type: 'string', description: 'the name in the site config (absent for a switch the site does not know)' },
    connected: { type: 'boolean' },
    remote: { type: 'string', description: "the switch's address and port" },
    bundles: { type: ['boolean', 'null'], description: 'whether atomic groups go in ONF bundles on this connection (null: not tried yet)' },
    ports: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          port_no: { type: 'integer' },
          name: { type: 'string' },
          hw_addr: { type: 'string' },
          role: { type: 'string' },
          link_up: { type: 'boolean' },
          admin_up: { type: 'boolean' },
          speed_kbps: { type: 'integer' },
        },
      },
    },
    flows: {
      type: 'object',
      additionalProperties: false,
      required: ['desired', 'by_owner', 'on_switch'],
      properties: {
        on_switch: {
          type: ['integer', 'null'],
          description: 'flow_count of an OFPMP_AGGREGATE request to the switch for this answer (null if not connected or it failed)',
        },
        desired: { type: 'integer', description: 'flows the flow manager wants on the switch' },
        by_owner: { type: 'object', additionalProperties: { type: 'integer' }, description: 'desired flows per owner' },
      },
    },
  },
} as const;

export const FLOW_SCHEMA = {
  $id: 'Flow',
  type: 'object',
  additionalProperties: false,
  description:
    'One flow entry as read from the switch (OFPMP_FLOW). `match` and `instructions` are in Ryu JSON; 64-bit values are decimal strings; `text` is ovs-ofctl dump-flows style.',
  properties: {
    table_id: { type: 'integer' },
    priority: { type: 'integer' },
    cookie: { type: 'string', description: 'hex' },
    owner: { type: 'string' },
    duration_sec: { type: 'integer' },
    idle_timeout: { type: 'integer' },
    hard_timeout: { type: 'integer' },
    flags: { type: 'integer' },
    packet_count: { type: 'string' },
    byte_count: { type: 'string' },
    match: { type: 'object', additionalProperties: true },
    instructions: { type: 'array', items: { type: 'object', additionalProperties: true } },
    text: { type: 'string' },
  },
} as const;

export const AUDIT_SCHEMA = {
  $id: 'AuditEntry',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'at', 'actor', 'action', 'decision'],
  properties: {
    id: { type: 'integer' },
    at: time,
    actor: { type: 'string', description: '`token:ID` or `system`' },
    project: { type: 'string' },
    client: { type: 'string' },
    action: { type: 'string', examples: ['transfer.create', 'transfer.release', 'block.create', 'scope'] },
    decision: { type: 'string', enum: ['granted', 'refused', 'done'] },
    code: { type: 'string' },
    reason: { type: 'string' },
    transfer: { type: 'integer' },
    block: { type: 'integer' },
    details: { type: 'object', additionalProperties: true },
  },
} as const;

export const EVENT_SCHEMA = {
  $id: 'Event',
  type: 'object',
  additionalProperties: false,
  description: 'One message of the /api/v1/events stream.',
  required: ['id', 'at', 'type'],
  properties: {
    id: { type: 'integer', description: 'increases by one per event, persisted with the state' },
    at: time,
    type: {
      type: 'string',
      enum: [
        'lease.created',
        'lease.extended',
        'lease.closed',
        'lease.path-moved',
        'lease.path-lost',
        'block.created',
        'block.removed',
        'switch.up',
        'switch.down',
        'flow.lost',
        'switch.refused',
        'link.up',
        'link.down',
        'link.missing',
        'link.miscabled',
        'link.unexpected',
      ],
    },
    transfer: { $ref: 'Transfer#' },
    route: {
      type: 'object',
      additionalProperties: false,
      required: ['link', 'hops'],
      description:
        'lease.path-moved / lease.path-lost: the link whose change moved the transfer, and the switches of its path now (exit first; path-lost: the path it had, whose flows wait for a link to come back)',
      properties: { link: { type: 'string' }, hops: { type: 'array', items: { type: 'string' } } },
    },
    link: { $ref: 'Link#' },
    reason: {
      type: 'string',
      description: 'link.down: why the link was lost (timeout: no LLDP frame for 3 intervals; port-down; switch-down; recabled)',
    },
    block: { $ref: 'Block#' },
    switch: {
      type: 'object',
      additionalProperties: false,
      properties: { dpid: { type: 'string' }, name: { type: 'string' }, reason: { type: 'string' } },
    },
    refused: {
      type: 'object',
      additionalProperties: false,
      required: ['reason', 'remote', 'detail', 'count'],
      description:
        'switch.refused: connections the controller refused (the first at once, then at most one event per 10 s per reason and datapath, counting those since the last)',
      properties: {
        reason: { type: 'string', enum: ['datapath-in-use', 'identity', 'pending-cap', 'pending-cap-per-source'] },
        remote: { type: 'string', description: 'the address:port of the latest one' },
        detail: { type: 'string' },
        count: { type: 'integer', minimum: 1 },
      },
    },
  },
} as const;

export const TRANSFER_PLAN_SCHEMA = {
  $id: 'TransferPlan',
  type: 'object',
  additionalProperties: false,
  description:
    'What POST /transfers?dry_run=true found: the request passed every check a real one makes, and these are the flows it would install. Nothing was installed, recorded or audited.',
  required: ['dry_run', 'switch', 'flow_count', 'flows', 'flow_budget', 'path'],
  properties: {
    dry_run: { type: 'boolean', enum: [true] },
    switch: { type: 'string', description: "the DTN's switch, by its name in the site config" },
    rate_mbps: { type: 'number', description: "the rate the transfer would carry (its own, the token's cap, or a circuit's default)" },
    flow_count: { type: 'integer' },
    flows: {
      type: 'array',
      items: { type: 'string' },
      description:
        'the flows in ovs-ofctl text (the lease id in the cookie, and the meter id, are the next free ones: a real request may get others)',
    },
    flow_budget: {
      type: 'object',
      additionalProperties: false,
      required: ['request', 'switch', 'switch_in_use'],
      properties: {
        request: { type: 'integer', description: 'policy.lease-flow-budget' },
        switch: { type: 'integer', description: "the switch's budget for transfer and block flows" },
        switch_in_use: { type: 'integer', description: 'transfer and block flows the switch holds now' },
      },
    },
    path: {
      type: 'array',
      description:
        "every switch of the transfer's path, the exit first (the DTN's switch, the fields above, last): what each would install and its budget",
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['switch', 'flow_count', 'flows', 'flow_budget'],
        properties: {
          switch: { type: 'string' },
          flow_count: { type: 'integer' },
          flows: { type: 'array', items: { type: 'string' } },
          flow_budget: {
            type: 'object',
            additionalProperties: false,
            required: ['switch', 'switch_in_use'],
            properties: { switch: { type: 'integer' }, switch_in_use: { type: 'integer' } },
          },
        },
      },
    },
  },
} as const;

const linkEnd = {
  type: 'object',
  additionalProperties: false,
  required: ['dpid', 'port'],
  properties: {
    switch: { type: 'string', description: 'the name in the site config (absent: not a site switch)' },
    dpid: { type: 'string' },
    port: { type: 'integer' },
  },
} as const;

export const LINK_SCHEMA = {
  $id: 'Link',
  type: 'object',
  additionalProperties: false,
  description: 'A link between two switches: configured in the site config, seen by LLDP, or both.',
  required: ['name', 'a', 'b', 'configured', 'seen', 'up', 'state'],
  properties: {
    name: { type: 'string', description: 'SWITCH:PORT-SWITCH:PORT as configured; `seen:` and the ends for a link the config does not name' },
    a: linkEnd,
    b: linkEnd,
    configured: { type: 'boolean' },
    seen: { type: 'boolean', description: 'LLDP frames cross it (a configured link: both ways, between exactly its ports)' },
    up: { type: 'boolean', description: 'usable: configured and seen' },
    state: {
      type: 'string',
      enum: ['up', 'pending', 'down', 'missing', 'miscabled', 'unexpected'],
      description:
        'pending: not seen yet, and its two switches not both connected for 3 discovery intervals yet (or not connected); missing: not seen since; down: was up, lost; ' +
        'miscabled: its ports hear other ports than each other (a seen link touching a configured port has it too); unexpected: seen, not configured',
    },
    seen_instead: {
      type: 'array',
      description: 'miscabled configured link: the cables LLDP sees on its ports instead',
      items: { type: 'object', additionalProperties: false, required: ['a', 'b'], properties: { a: linkEnd, b: linkEnd } },
    },
    capacity_mbps: { type: 'integer', description: 'configured links' },
    cost: { type: 'integer', description: 'configured links' },
    reserved_mbps: {
      type: 'number',
      description:
        'configured links: the rates (Mbit/s) the active leases whose path crosses it reserve on it (a parallel group shares them in proportion to capacity)',
    },
  },
} as const;

export const TOPOLOGY_SCHEMA = {
  $id: 'Topology',
  type: 'object',
  additionalProperties: false,
  required: ['switches', 'links', 'discovery'],
  properties: {
    switches: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['dpid', 'connected', 'ports'],
        properties: {
          name: { type: 'string', description: 'absent for a connected switch the site does not know' },
          dpid: { type: 'string' },
          connected: { type: 'boolean' },
          ports: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['port_no'],
              properties: {
                port_no: { type: 'integer' },
                name: { type: 'string' },
                role: { type: 'string', description: 'from the site config' },
                link_up: { type: 'boolean', description: 'as the connected switch reports it' },
              },
            },
          },
        },
      },
    },
    links: { type: 'array', items: { $ref: 'Link#' } },
    discovery: {
      type: 'object',
      additionalProperties: false,
      required: ['interval_ms', 'loss_intervals'],
      properties: { interval_ms: { type: 'integer' }, loss_intervals: { type: 'integer', description: 'silent intervals before a link is lost' } },
    },
  },
} as const;

export const SHARED_SCHEMAS = [
  ERROR_SCHEMA,
  TRANSFER_SCHEMA,
  TRANSFER_PLAN_SCHEMA,
  BLOCK_SCHEMA,
  SWITCH_SCHEMA,
  FLOW_SCHEMA,
  AUDIT_SCHEMA,
  EVENT_SCHEMA,
  LINK_SCHEMA,
  TOPOLOGY_SCHEMA,
];

// ---- requests ------------------------------------------------------------------------------------------------

export const CREATE_TRANSFER_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['dtn', 'remote', 'protocol', 'local_ports', 'path'],
  description: 'Exactly one of `duration` and `end`.',
  properties: {
    dtn: { type: 'string', pattern: NAME, maxLength: 64, description: 'a DTN of the site config' },
    remote: { type: 'string', pattern: PREFIX, maxLength: 49, description: 'remote address or prefix', examples: ['192.0.2.0/24'] },
    protocol: { type: 'string', enum: ['tcp', 'udp'] },
    local_ports: portRanges('DTN-side port ranges'),
    remote_ports: portRanges('remote-side port ranges (default: all)'),
    path: { type: 'string', pattern: PATH, maxLength: 72, description: '`routed` or `circuit:NAME`' },
    duration,
    end: { ...time, description: 'when the transfer ends (instead of duration)' },
    rate_mbps: {
      type: 'number',
      exclusiveMinimum: 0,
      maximum: 4_000_000,
      description: "rate cap, Mbit/s (default: the token's maxRateMbps if it has one)",
    },
  },
} as const;

export const CREATE_TRANSFER_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    dry_run: {
      type: 'boolean',
      default: false,
      description: 'check the request and answer 200 with the flows it would install, installing, recording and auditing nothing',
    },
  },
} as const;

export const PATCH_TRANSFER_BODY = {
  type: 'object',
  additionalProperties: false,
  description: 'The new end: `duration` seconds from now, or `end`. Exactly one.',
  properties: { duration, end: time },
} as const;

export const CREATE_BLOCK_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['prefix', 'reason'],
  description: 'At most one of `duration` and `end`; neither: until removed.',
  properties: {
    prefix: { type: 'string', pattern: PREFIX, maxLength: 49, description: 'address or prefix to drop, as source or destination' },
    protocol: { type: 'string', enum: ['tcp', 'udp'] },
    ports: { ...portRanges('ports (either end) to drop; needs protocol; default all'), maxItems: 8 },
    duration: { type: 'integer', minimum: 1, maximum: 31_536_000, description: 'seconds from now' },
    end: time,
    reason: { type: 'string', minLength: 1, maxLength: 200 },
  },
} as const;

export const ID_PARAMS = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1, maximum: 2 ** 47 } },
} as const;

export const DPID_PARAMS = {
  type: 'object',
  additionalProperties: false,
  required: ['dpid'],
  properties: {
    dpid: {
      type: 'string',
      pattern: '^(0x)?[0-9A-Fa-f]{1,16}$|^([0-9A-Fa-f]{2}:){7}[0-9A-Fa-f]{2}$',
      description: 'hex, e.g. 0000000000000001 or 00:00:00:00:00:00:00:01',
    },
  },
} as const;

const limit = { type: 'integer', minimum: 1, maximum: 1000, default: 100 } as const;
const offset = { type: 'integer', minimum: 0, maximum: 1_000_000, default: 0 } as const;

export const LIST_TRANSFERS_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    state: { type: 'string', enum: ['active', 'expired', 'released', 'revoked'] },
    project: { type: 'string', pattern: NAME, maxLength: 64, description: 'admin: any project; others: their own only' },
    limit,
    offset,
  },
} as const;

export const LIST_BLOCKS_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: { state: { type: 'string', enum: ['active', 'expired', 'removed'] }, limit, offset },
} as const;

export const AUDIT_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    after: { type: 'integer', minimum: 0, description: 'entries with a larger id' },
    decision: { type: 'string', enum: ['granted', 'refused', 'done'] },
    project: { type: 'string', pattern: NAME, maxLength: 64 },
    action: { type: 'string', pattern: '^[a-z.]{1,40}$' },
    limit,
  },
} as const;

export const EVENTS_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    since: { type: 'integer', minimum: 0, description: 'resume after this event id' },
    token: { type: 'string', maxLength: 100, description: 'the bearer token (for browsers, which cannot set headers on a WebSocket)' },
  },
} as const;

export const SCOPE_LIST = SCOPES;

/** The error responses a route documents: `{ 400: ref, 401: ref, ... }`. */
export function errorResponses(...statuses: number[]): Record<number, { $ref: string }> {
  return Object.fromEntries(statuses.map((s) => [s, { $ref: 'Error#' }]));
}
