// Read-only views: the switches (connection, ports, flow counts), one switch's flows as read from it, and the
// audit trail.
import { flowStatsByCookie } from '../../controller/flow-stats.js';
import type { FastifyInstance } from 'fastify';
import { dpidText } from '../../controller/errors.js';
import { OFPTT, OFPP, OFPG, OFPPS, OFPPC } from '../../controller/openflow/index.js';
import { matchToRyu } from '../../controller/openflow/match.js';
import { instructionsToRyu } from '../../controller/openflow/instructions.js';
import { formatFlowStats, type FlowStats } from '../../controller/openflow/multipart/flow.js';
import type { SwitchConnection } from '../../controller/switch-connection.js';
import type { SiteSwitch } from '../../apps/dmz/site.js';
import { ApiError, toApiError } from '../errors.js';
import { DPID_PARAMS, AUDIT_QUERY, errorResponses } from '../schemas.js';
import { ownerLabel } from '../metrics.js';
import { parseDpid, type ApiContext } from '../context.js';
import type { AuditEntry } from '../state/types.js';

/** How long a view waits for a switch's statistics before answering without them. */
const STATS_TIMEOUT_MS = 3000;

const AUTH = [{ bearer: [] }];

/** Ryu JSON may hold bigints (64-bit fields): as decimal strings for JSON. */
function jsonSafe(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonSafe(x)]));
  return v;
}

export function flowView(f: FlowStats): Record<string, unknown> {
  return {
    table_id: f.tableId,
    priority: f.priority,
    cookie: `0x${f.cookie.toString(16)}`,
    owner: ownerLabel(f.cookie),
    duration_sec: f.durationSec,
    idle_timeout: f.idleTimeout,
    hard_timeout: f.hardTimeout,
    flags: f.flags,
    packet_count: f.packetCount.toString(),
    byte_count: f.byteCount.toString(),
    match: jsonSafe(matchToRyu(f.match)),
    instructions: jsonSafe(instructionsToRyu(f.instructions)),
    text: formatFlowStats(f),
  };
}

export function viewRoutes(r: FastifyInstance, ctx: ApiContext): void {
  const { app, controller, flows, store } = ctx;

  /** flow_count of an aggregate request over every table, or null. */
  const onSwitch = async (conn: SwitchConnection): Promise<number | null> => {
    try {
      const [reply] = await conn.request(
        {
          type: 'aggregateStatsRequest',
          xid: 0,
          flags: 0,
          tableId: OFPTT.ALL,
          outPort: OFPP.ANY,
          outGroup: OFPG.ANY,
          cookie: 0n,
          cookieMask: 0n,
          match: [],
        },
        STATS_TIMEOUT_MS,
      );
      return reply?.type === 'aggregateStatsReply' ? reply.flowCount : null;
    } catch {
      return null;
    }
  };

  const switchView = async (dpid: bigint, site: SiteSwitch | undefined): Promise<Record<string, unknown>> => {
    const conn = controller.get(dpid);
    const counts = flows.countDesired(dpid, ownerLabel);
    const byOwner = Object.fromEntries(counts);
    const desired = [...counts.values()].reduce((a, b) => a + b, 0);
    const role = (n: number) => site?.ports.find((p) => p.portNo === n)?.role;
    const ports = conn
      ? [...conn.ports.values()]
          .sort((a, b) => a.portNo - b.portNo)
          .map((p) => ({
            port_no: p.portNo,
            name: p.name,
            hw_addr: p.hwAddr,
            ...(role(p.portNo) ? { role: role(p.portNo)! } : {}),
            link_up: (p.state & OFPPS.LINK_DOWN) === 0,
            admin_up: (p.config & OFPPC.PORT_DOWN) === 0,
            speed_kbps: p.currSpeed,
          }))
      : (site?.ports ?? []).map((p) => ({ port_no: p.portNo, name: p.name, role: p.role }));
    return {
      dpid: dpidText(dpid),
      ...(site ? { name: site.name } : {}),
      connected: !!conn,
      ...(conn ? { remote: conn.remote, bundles: flows.bundlesSupported(dpid) ?? null } : {}),
      ports,
      flows: { on_switch: conn ? await onSwitch(conn) : null, desired, by_owner: byOwner },
    };
  };

  r.get(
    '/api/v1/switches',
    {
      config: { scope: ['transfers:read', 'blocks:write'] },
      schema: {
        tags: ['switches'],
        security: AUTH,
        summary: "The site's switches and any other connected ones",
        description:
          '`flows.on_switch` is the flow_count of an OFPMP_AGGREGATE request sent to the switch for this answer; `flows.desired` and `by_owner` are what the flow manager keeps on it.',
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['switches'],
            properties: { switches: { type: 'array', items: { $ref: 'Switch#' } } },
          },
          ...errorResponses(401, 403, 429),
        },
      },
    },
    async () => {
      const site = app.site.switches;
      const others = controller.switches().filter((c) => c.dpid !== undefined && !site.some((s) => s.dpid === c.dpid));
      const list = await Promise.all([...site.map((s) => switchView(s.dpid, s)), ...others.map((c) => switchView(c.dpid!, undefined))]);
      return { switches: list };
    },
  );

  r.get(
    '/api/v1/switches/:dpid/flows',
    {
      config: { scope: ['admin'] },
      schema: {
        tags: ['switches'],
        security: AUTH,
        summary: 'Every flow a switch holds, read from it (OFPMP_FLOW)',
        description: "Admin only: the flows of every project's transfers.",
        params: DPID_PARAMS,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['dpid', 'flows'],
            properties: { dpid: { type: 'string' }, flows: { type: 'array', items: { $ref: 'Flow#' } } },
          },
          ...errorResponses(400, 401, 403, 404, 429, 502, 503, 504),
        },
      },
    },
    async (req) => {
      const dpid = parseDpid((req.params as { dpid: string }).dpid);
      const conn = controller.get(dpid);
      if (!conn) throw new ApiError('DMZ_SWITCH_NOT_FOUND', `switch ${dpidText(dpid)} is not connected`);
      try {
        const stats = await conn.multipart<FlowStats>(flowStatsByCookie(), STATS_TIMEOUT_MS);
        stats.sort((a, b) => a.tableId - b.tableId || b.priority - a.priority);
        return { dpid: dpidText(dpid), flows: stats.map(flowView) };
      } catch (e) {
        throw toApiError(e);
      }
    },
  );

  r.get(
    '/api/v1/audit',
    {
      config: { scope: ['admin'] },
      schema: {
        tags: ['audit'],
        security: AUTH,
        summary: 'The audit trail (admin)',
        description:
          'Every decision: grants, refusals with their code and reason, releases, extensions, blocks, refused authentications, token changes. Oldest first after `after`; the file keeps the newest entries (all are also logged).',
        querystring: AUDIT_QUERY,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['entries'],
            properties: { entries: { type: 'array', items: { $ref: 'AuditEntry#' } }, last_id: { type: 'integer' } },
          },
          ...errorResponses(400, 401, 403, 429),
        },
      },
    },
    async (req) => {
      const q = req.query as { after?: number; decision?: string; project?: string; action?: string; limit: number };
      // The store holds the entries as their JSON texts: a text without `"decision":"granted"` (say) cannot hold an
      // entry with that decision (inside a JSON string a quote is escaped), so only likely matches are parsed.
      const needles = (['decision', 'project', 'action'] as const).filter((k) => q[k]).map((k) => `"${k}":${JSON.stringify(q[k])}`);
      const out = [];
      for (const text of store.view.auditTextsAfter(q.after)) {
        if (!needles.every((n) => text.includes(n))) continue;
        const e = JSON.parse(text) as AuditEntry;
        if ((q.decision && e.decision !== q.decision) || (q.project && e.project !== q.project) || (q.action && e.action !== q.action)) continue;
        out.push({ ...e, at: new Date(e.at).toISOString() });
        if (out.length >= q.limit) break;
      }
      return { entries: out, ...(out.length ? { last_id: out[out.length - 1]!.id } : {}) };
    },
  );
}
