// Operations: liveness and readiness, Prometheus metrics, the OpenAPI document, and the event stream's entry
// in it (the stream itself is a WebSocket upgrade handled by EventHub).
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';
import { EVENTS_QUERY, errorResponses } from '../schemas.js';
import { EVENTS_PATH, WS_PROTOCOL } from '../events.js';
import type { ApiContext } from '../context.js';

export function opsRoutes(r: FastifyInstance, ctx: ApiContext): void {
  r.get(
    '/healthz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Liveness: the process answers',
        response: { 200: { type: 'object', additionalProperties: false, properties: { status: { type: 'string', enum: ['ok'] } } } },
      },
    },
    async () => ({ status: 'ok' }),
  );

  r.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness: the state is loaded and the controller listens for switches',
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            properties: { status: { type: 'string', enum: ['ready'] }, store: { type: 'boolean' }, controller: { type: 'boolean' } },
          },
          ...errorResponses(503),
        },
      },
    },
    async () => {
      const r = ctx.ready();
      if (!r.store || !r.controller) {
        throw new ApiError(
          'DMZ_NOT_READY',
          [!r.store && 'the state store is not loaded', !r.controller && 'the controller is not listening'].filter(Boolean).join('; '),
        );
      }
      return { status: 'ready', ...r };
    },
  );

  r.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics (text exposition format)',
        ...(ctx.metricsAuth
          ? {
              security: [{ bearer: [] }],
              description: 'Needs a token of scope `metrics` (or `admin`): the controller runs with --metrics-auth.',
              response: { 200: { type: 'string' }, ...errorResponses(401, 403, 429) },
            }
          : { response: { 200: { type: 'string' } } }),
      },
      ...(ctx.metricsAuth ? { config: { scope: ['metrics' as const] } } : {}),
    },
    async (_req, reply) => {
      const text = await ctx.metrics.registry.metrics();
      return reply.type(ctx.metrics.registry.contentType).send(text);
    },
  );

  r.get(
    '/openapi.json',
    {
      schema: {
        tags: ['operations'],
        summary: "This API's OpenAPI 3.1 document",
        response: { 200: { type: 'object', additionalProperties: true } },
      },
    },
    async () => (r as FastifyInstance & { swagger(): unknown }).swagger(),
  );

  r.get(
    EVENTS_PATH,
    {
      schema: {
        tags: ['events'],
        security: [{ bearer: [] }],
        summary: 'Event stream (WebSocket)',
        description: [
          'A WebSocket (this GET without an upgrade answers 426). Each message is a JSON `Event` (lease.created, lease.extended,',
          'lease.closed, block.created, block.removed, switch.up, switch.down, switch.refused, link.up, link.down, link.missing,',
          'link.miscabled, link.unexpected) with an id that increases by one per event and is',
          'stored with the state, or a control message: `{"control":"hello","last_event_id":N}` first, and',
          '`{"control":"gap","since":S,"oldest":O}` when events after S are no longer kept (re-read the lists).',
          '',
          `Authenticate with \`Authorization: Bearer TOKEN\`, or the subprotocols \`${WS_PROTOCOL}, bearer.TOKEN\` (browsers; the`,
          `server selects \`${WS_PROTOCOL}\`), or \`?token=TOKEN\`. Resume with \`?since=ID\` or \`Last-Event-ID: ID\`: the events`,
          "after ID that the token may see are sent first, then live ones. A token sees its project's lease events (admin: all),",
          'block events with blocks:write, and switch and link events (switch.refused: admin only). The stream closes with code 4401 when the token expires or is',
          "revoked, 4008 when the client reads too slowly. Refused handshakes answer with the API's error body (401, 429, 400).",
        ].join('\n'),
        querystring: EVENTS_QUERY,
        response: { 101: { $ref: 'Event#' }, ...errorResponses(400, 401, 426, 429) },
      },
    },
    async () => {
      throw new ApiError('DMZ_UPGRADE_REQUIRED');
    },
  );
}
