// /api/v1/transfers: ask for a bypass (a lease), list and read them with live counters, extend, release.
// A transfer is granted (201) only once the switch has confirmed its flows (the DMZ app resolves after the
// bundle commit or barrier) and the lease is in the state file.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ANY_PORT, type PathName } from '../../apps/dmz/model.js';
import type { LeaseRequest } from '../../apps/dmz/lease-book.js';
import type { LeaseRecord } from '../../apps/dmz/records.js';
import { ApiError, toApiError } from '../errors.js';
import { checkExtension, checkTransfer, isAdmin, requireProject, sees } from '../tokens.js';
import { CREATE_TRANSFER_BODY, CREATE_TRANSFER_QUERY, PATCH_TRANSFER_BODY, ID_PARAMS, LIST_TRANSFERS_QUERY, errorResponses } from '../schemas.js';
import { transferPlanView, transferView } from '../views.js';
import type { TokenRecord } from '../state/types.js';
import { actorOf, field, prefixField, rangesField, timeField, tokenOf, type ApiContext } from '../context.js';

interface CreateBody {
  dtn: string;
  remote: string;
  protocol: 'tcp' | 'udp';
  local_ports: string[];
  remote_ports?: string[];
  path: string;
  duration?: number;
  end?: string;
  rate_mbps?: number;
}
interface PatchBody {
  duration?: number;
  end?: string;
}
interface ListQuery {
  state?: string;
  project?: string;
  limit: number;
  offset: number;
}

const TAG = ['transfers'];
const AUTH = [{ bearer: [] }];

/** The new end a body asks for: exactly one of duration (seconds from now) and end. */
export function endFrom(body: { duration?: number; end?: string }, now: number, required: boolean): number | undefined {
  if (body.duration !== undefined && body.end !== undefined) throw field('/end', 'give duration or end, not both');
  if (body.duration !== undefined) return now + body.duration * 1000;
  if (body.end !== undefined) return timeField(body.end, '/end');
  if (required) throw field('/duration', 'duration or end is required');
  return undefined;
}

export function transferRoutes(r: FastifyInstance, ctx: ApiContext): void {
  const { app } = ctx;

  /** Audits and persists a refusal; the API error to throw. */
  const refused = (req: FastifyRequest, action: string, e: unknown, transfer?: number): Promise<ApiError> =>
    ctx.transfers.refused(actorOf(req), action, e, transfer !== undefined ? { transfer } : {});

  /**
   * The lease a path names, if the token may see it. Another project's lease is "not found", as a missing one
   * is: a 403 would tell a caller that the id exists.
   */
  const leaseFor = (req: FastifyRequest, id: number): LeaseRecord => {
    const rec = app.lease(id);
    if (!rec || !sees(tokenOf(req), rec.project)) throw new ApiError('DMZ_TRANSFER_NOT_FOUND', `no transfer ${id}`);
    return rec;
  };

  r.post(
    '/api/v1/transfers',
    {
      config: { scope: ['transfers:write'] },
      schema: {
        tags: TAG,
        security: AUTH,
        summary: 'Ask for a transfer bypass',
        description:
          "Checks the token's constraints (403 naming the constraint), the site policy (422), overlaps (409), the flow budgets (422: per request and per switch) and the circuit's capacity (409), then installs the flows atomically on the DTN's switch and answers 201 once the switch confirmed them (503 if the switch is not connected, 502 with the switch's OpenFlow error if it refused; nothing is left half-installed). With `dry_run=true`, every check is made and the answer is 200 with the flows the request would install; nothing is installed, recorded or audited.",
        querystring: CREATE_TRANSFER_QUERY,
        body: CREATE_TRANSFER_BODY,
        response: {
          200: { $ref: 'TransferPlan#' },
          201: { $ref: 'Transfer#' },
          ...errorResponses(400, 401, 403, 409, 413, 415, 422, 429, 500, 502, 503, 504),
        },
      },
    },
    async (req, reply) => {
      if ((req.query as { dry_run: boolean }).dry_run) return dryRun(ctx, req);
      let leaseReq: LeaseRequest;
      try {
        leaseReq = leaseRequestOf(tokenOf(req), req.body as CreateBody, Date.now());
      } catch (e) {
        throw await refused(req, 'transfer.create', e);
      }
      // Recorded while the switch installs it (transfers-service.ts); refusals from here on are audited there.
      const rec = await ctx.transfers.create(leaseReq, actorOf(req));
      return reply.code(201).send(transferView(rec));
    },
  );

  r.get(
    '/api/v1/transfers',
    {
      config: { scope: ['transfers:read'] },
      schema: {
        tags: TAG,
        security: AUTH,
        summary: 'List transfers',
        description: "Newest first. A token sees its own project's transfers; an admin token sees every project's (or one, with `project`).",
        querystring: LIST_TRANSFERS_QUERY,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['transfers', 'total'],
            properties: { transfers: { type: 'array', items: { $ref: 'Transfer#' } }, total: { type: 'integer' } },
          },
          ...errorResponses(400, 401, 403, 429),
        },
      },
    },
    async (req) => {
      const t = tokenOf(req);
      const q = req.query as ListQuery;
      if (q.project !== undefined) requireProject(t, q.project);
      const project = q.project ?? (isAdmin(t) ? undefined : t.project);
      const { leases, total } = app.book.page(project, q.state, q.offset, q.limit);
      return { transfers: leases.map(transferView), total };
    },
  );

  r.get(
    '/api/v1/transfers/:id',
    {
      config: { scope: ['transfers:read'] },
      schema: {
        tags: TAG,
        security: AUTH,
        summary: 'One transfer, with live counters',
        description:
          'For an active transfer the counters are read from the switch for this request (at most every 250 ms per transfer); `rate` is the byte delta since the previous read over the time between the reads.',
        params: ID_PARAMS,
        response: { 200: { $ref: 'Transfer#' }, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (req) => {
      const rec = leaseFor(req, (req.params as { id: number }).id);
      if (rec.state !== 'active') return transferView(rec);
      await ctx.live
        .refresh(rec)
        .catch((e: Error) => ctx.log.warn({ lease: rec.id, err: e.message }, 'counter read failed; answering with the last counters'));
      // An active lease's record is built when read: read again for the counters just read.
      const now = app.lease(rec.id) ?? rec;
      const rate = ctx.live.rate(rec.id);
      return rate ? { ...transferView(now), rate } : transferView(now);
    },
  );

  r.patch(
    '/api/v1/transfers/:id',
    {
      config: { scope: ['transfers:write'] },
      schema: {
        tags: TAG,
        security: AUTH,
        summary: "Move a transfer's end",
        description:
          "The whole transfer, from its start to the new end, must fit the token's maxDurationSeconds (403 `duration`), and the new end the site's max-lease from now (422). The switch-side hard timeouts are re-armed without a gap.",
        params: ID_PARAMS,
        body: PATCH_TRANSFER_BODY,
        response: { 200: { $ref: 'Transfer#' }, ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422, 429, 502, 503, 504) },
      },
    },
    async (req) => {
      const id = (req.params as { id: number }).id;
      let end: number;
      try {
        const rec = leaseFor(req, id);
        if (rec.state !== 'active') throw new ApiError('DMZ_TRANSFER_NOT_ACTIVE', `transfer ${id} is ${rec.state}`);
        end = endFrom(req.body as PatchBody, Date.now(), true)!;
        checkExtension(tokenOf(req), rec, end);
      } catch (e) {
        throw await refused(req, 'transfer.extend', e, id);
      }
      return transferView(await ctx.transfers.extend(id, end, actorOf(req)));
    },
  );

  r.delete(
    '/api/v1/transfers/:id',
    {
      config: { scope: ['transfers:write'] },
      schema: {
        tags: TAG,
        security: AUTH,
        summary: 'Release a transfer',
        description:
          "Answers once the flows are gone from the switch, with the final counters. An admin ending another project's transfer revokes it.",
        params: ID_PARAMS,
        response: { 200: { $ref: 'Transfer#' }, ...errorResponses(400, 401, 403, 404, 409, 429, 502, 503, 504) },
      },
    },
    async (req) => {
      const id = (req.params as { id: number }).id;
      const t = tokenOf(req);
      let own: boolean;
      try {
        const rec = leaseFor(req, id);
        if (rec.state !== 'active') throw new ApiError('DMZ_TRANSFER_NOT_ACTIVE', `transfer ${id} is already ${rec.state}`);
        own = rec.project === t.project;
      } catch (e) {
        throw await refused(req, 'transfer.release', e, id);
      }
      const rec = await ctx.transfers.release(
        id,
        own ? 'released' : 'revoked',
        own ? `released by token ${t.id}` : `revoked by admin token ${t.id}`,
        actorOf(req),
      );
      return transferView(rec);
    },
  );
}

// The create handler's synchronous parts, kept out of the async handler: an async function keeps every local it
// has across its awaits (in an object made per request), so the fewer it has, the less each request allocates.

/** The lease a create request asks for, checked against its token's constraints (throws ApiError). */
function leaseRequestOf(t: TokenRecord, b: CreateBody, now: number): LeaseRequest {
  const remote = prefixField(b.remote, '/remote');
  const localPorts = rangesField(b.local_ports, '/local_ports');
  const remotePorts = b.remote_ports ? rangesField(b.remote_ports, '/remote_ports') : [ANY_PORT];
  const end = endFrom(b, now, true)!;
  const durationSeconds = Math.ceil((end - now) / 1000);
  if (durationSeconds < 1) throw new ApiError('DMZ_END_IN_PAST', `end ${new Date(end).toISOString()} is not in the future`);
  // A token with a rate cap gives every transfer a rate: its cap unless the request asks for less.
  const rateMbps = b.rate_mbps ?? t.maxRateMbps;
  checkTransfer(t, { dtn: b.dtn, remote, localPorts, path: b.path, durationSeconds, rateMbps });
  const leaseReq: LeaseRequest = {
    project: t.project,
    dtn: b.dtn,
    remote: remote.text,
    protocol: b.protocol,
    localPorts,
    remotePorts,
    path: b.path as PathName,
    durationSeconds,
  };
  if (rateMbps !== undefined) leaseReq.rateMbps = rateMbps; // (absent, not undefined, when there is none)
  return leaseReq;
}

/**
 * A create request checked as a real one is, answered with the flows it would install. Not audited, refusals
 * included: the audit trail records decisions that changed something, and a dry run changes nothing (nor is
 * anything written to the state).
 */
function dryRun(ctx: ApiContext, req: FastifyRequest): ReturnType<typeof transferPlanView> {
  try {
    const plan = ctx.app.planLease(leaseRequestOf(tokenOf(req), req.body as CreateBody, Date.now()));
    return transferPlanView(plan, ctx.app.site.policy.leaseFlowBudget);
  } catch (e) {
    const err = toApiError(e);
    if (err.code === 'DMZ_INTERNAL') ctx.log.error({ err: e, reqId: req.id }, 'transfer.create dry run failed');
    throw err;
  }
}
