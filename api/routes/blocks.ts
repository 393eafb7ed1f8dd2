// /api/v1/blocks: an operator's or an IDS's drop (or quarantine) of an address or prefix, on every site switch,
// at the highest priority (it wins over any transfer), until removed or until its end.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Block } from '../../apps/dmz/model.js';
import { ApiError } from '../errors.js';
import { checkBlock, sees } from '../tokens.js';
import { CREATE_BLOCK_BODY, ID_PARAMS, LIST_BLOCKS_QUERY, errorResponses } from '../schemas.js';
import { blockView } from '../views.js';
import { actorOf, field, prefixField, rangesField, tokenOf, type ApiContext } from '../context.js';
import { endFrom } from './transfers.js';

interface CreateBody {
  prefix: string;
  protocol?: 'tcp' | 'udp';
  ports?: string[];
  duration?: number;
  end?: string;
  reason: string;
}

const TAG = ['blocks'];
const AUTH = [{ bearer: [] }];

export function blockRoutes(r: FastifyInstance, ctx: ApiContext): void {
  const { app } = ctx;

  /** Audits and persists a refusal; the API error to throw. */
  const refused = (req: FastifyRequest, action: string, e: unknown, block?: number): Promise<ApiError> =>
    ctx.transfers.refused(actorOf(req), action, e, block !== undefined ? { block } : {}, 'DMZ_BLOCK_NOT_FOUND');

  r.post(
    '/api/v1/blocks',
    {
      config: { scope: ['blocks:write'] },
      schema: {
        tags: TAG,
        security: AUTH,
        summary: 'Block an address or prefix',
        description:
          "Drops the prefix as source and as destination on every site switch (optionally one protocol and some ports), until removed or until `duration`/`end`. Its flows count against the flow budgets as a transfer's do (422). The block belongs to the token's project. A non-admin token may only block prefixes inside its `remotes`, and not a default route, a prefix wider than /16 (IPv4) or /32 (IPv6), or one covering the site's own inside hosts (403 `DMZ_BLOCK_NEEDS_ADMIN`, saying which). Answers once connected switches hold the drop flows.",
        body: CREATE_BLOCK_BODY,
        response: { 201: { $ref: 'Block#' }, ...errorResponses(400, 401, 403, 413, 415, 422, 429, 500, 502, 503, 504) },
      },
    },
    async (req, reply) => {
      const b = req.body as CreateBody;
      let block: Omit<Block, 'id' | 'start'>;
      try {
        const prefix = prefixField(b.prefix, '/prefix');
        if (b.ports && !b.protocol) throw field('/ports', 'ports need a protocol');
        const ports = b.ports ? rangesField(b.ports, '/ports') : undefined;
        const now = Date.now();
        const end = endFrom(b, now, false);
        if (end !== undefined && end <= now) throw new ApiError('DMZ_END_IN_PAST', "the block's end is not in the future");
        const t = tokenOf(req);
        checkBlock(t, prefix, app.site);
        block = {
          prefix: prefix.text,
          reason: b.reason,
          project: t.project,
          createdBy: `token:${t.id}`,
          ...(b.protocol ? { protocol: b.protocol } : {}),
          ...(ports ? { ports } : {}),
          ...(end !== undefined ? { end } : {}),
        };
      } catch (e) {
        throw await refused(req, 'block.create', e);
      }
      return reply.code(201).send(blockView(await ctx.transfers.addBlock(block, actorOf(req))));
    },
  );

  r.get(
    '/api/v1/blocks',
    {
      config: { scope: ['blocks:write'] },
      schema: {
        tags: TAG,
        security: AUTH,
        summary: 'List blocks',
        description: "Newest first. A token sees its own project's blocks; an admin token sees every block.",
        querystring: LIST_BLOCKS_QUERY,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['blocks', 'total'],
            properties: { blocks: { type: 'array', items: { $ref: 'Block#' } }, total: { type: 'integer' } },
          },
          ...errorResponses(400, 401, 403, 429),
        },
      },
    },
    async (req) => {
      const t = tokenOf(req);
      const q = req.query as { state?: string; limit: number; offset: number };
      const all = [...app.book.blocks.values()]
        .filter((b) => sees(t, b.project) && (q.state === undefined || b.state === q.state))
        .sort((a, b) => b.id - a.id);
      return { blocks: all.slice(q.offset, q.offset + q.limit).map(blockView), total: all.length };
    },
  );

  r.delete(
    '/api/v1/blocks/:id',
    {
      config: { scope: ['blocks:write'] },
      schema: {
        tags: TAG,
        security: AUTH,
        summary: 'Remove a block',
        description:
          "Answers once the drop flows are gone from the connected switches. Another project's block is 404 for a non-admin token, as a missing one; a block only an admin may make, only an admin may remove.",
        params: ID_PARAMS,
        response: { 200: { $ref: 'Block#' }, ...errorResponses(400, 401, 403, 404, 429, 502, 503, 504) },
      },
    },
    async (req) => {
      const id = (req.params as { id: number }).id;
      try {
        const t = tokenOf(req);
        const existing = app.book.blocks.get(id);
        if (!existing || existing.state !== 'active' || !sees(t, existing.project))
          throw new ApiError('DMZ_BLOCK_NOT_FOUND', `no active block ${id}`);
        checkBlock(t, prefixField(existing.prefix, '/prefix'), app.site);
      } catch (e) {
        throw await refused(req, 'block.remove', e, id);
      }
      return blockView(await ctx.transfers.removeBlock(id, actorOf(req)));
    },
  );
}
