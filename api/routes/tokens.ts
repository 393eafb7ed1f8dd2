// /api/v1/tokens (admin): create, list and revoke tokens through the running controller, so that the process
// holding the state file is the only one writing it (`dmzgate token ...` uses this while the controller runs).
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';
import { createToken, listTokens, revokeToken, validateTokenSpec, type TokenSpec } from '../tokens.js';
import { SCOPES } from '../state/types.js';
import { ID_PARAMS, errorResponses } from '../schemas.js';
import type { ApiContext } from '../context.js';

const TAG = ['tokens'];
const AUTH = [{ bearer: [] }];
const strings = { type: 'array', items: { type: 'string', minLength: 1, maxLength: 80 }, maxItems: 64 } as const;

const CREATE_TOKEN_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['project', 'dtns', 'remotes', 'ports', 'paths', 'maxDurationSeconds', 'scopes'],
  properties: {
    project: { type: 'string', minLength: 1, maxLength: 64 },
    dtns: strings,
    remotes: strings,
    ports: strings,
    paths: strings,
    maxDurationSeconds: { type: 'integer', minimum: 1, maximum: 65535 },
    maxRateMbps: { type: 'number', exclusiveMinimum: 0, maximum: 4_000_000 },
    scopes: { type: 'array', items: { type: 'string', enum: [...SCOPES] }, minItems: 1, uniqueItems: true },
    expiresAt: { type: 'integer', minimum: 0, description: 'epoch milliseconds' },
    description: { type: 'string', maxLength: 200 },
  },
} as const;

const TOKEN_VIEW = {
  type: 'object',
  additionalProperties: true,
  properties: { id: { type: 'integer' }, project: { type: 'string' }, scopes: { type: 'array', items: { type: 'string' } } },
} as const;

export function tokenRoutes(r: FastifyInstance, ctx: ApiContext): void {
  r.post(
    '/api/v1/tokens',
    {
      config: { scope: ['admin'] },
      schema: {
        tags: TAG,
        security: AUTH,
        summary: 'Create a token (the secret is returned once)',
        body: CREATE_TOKEN_BODY,
        response: {
          201: {
            type: 'object',
            additionalProperties: false,
            required: ['id', 'token'],
            properties: { id: { type: 'integer' }, token: { type: 'string' } },
          },
          ...errorResponses(400, 401, 403, 429),
        },
      },
    },
    async (req, reply) => {
      const spec = req.body as TokenSpec;
      try {
        validateTokenSpec(spec);
      } catch (e) {
        throw new ApiError('DMZ_INVALID_FIELD', (e as Error).message);
      }
      const { id, token } = await createToken(ctx.store, spec);
      return reply.code(201).send({ id, token });
    },
  );

  r.get(
    '/api/v1/tokens',
    {
      config: { scope: ['admin'] },
      schema: {
        tags: TAG,
        security: AUTH,
        summary: 'List tokens (never their secrets or hashes)',
        response: { 200: { type: 'array', items: TOKEN_VIEW }, ...errorResponses(401, 403, 429) },
      },
    },
    async () => listTokens(ctx.store.view),
  );

  r.delete(
    '/api/v1/tokens/:id',
    {
      config: { scope: ['admin'] },
      schema: {
        tags: TAG,
        security: AUTH,
        summary: 'Revoke a token',
        params: ID_PARAMS,
        response: {
          200: { type: 'object', additionalProperties: false, properties: { id: { type: 'integer' }, revoked: { type: 'boolean' } } },
          ...errorResponses(401, 403, 404, 429),
        },
      },
    },
    async (req) => {
      const { id } = req.params as { id: number };
      if (!(await revokeToken(ctx.store, id))) throw new ApiError('DMZ_TOKEN_NOT_FOUND', `no token ${id}`);
      return { id, revoked: true };
    },
  );
}
