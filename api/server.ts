// The REST API: fastify with a JSON schema on every route (validation, serialisation and the OpenAPI document at
// /openapi.json, browsable at /docs), bearer-token authentication (authenticate.ts: a request rate per token, a
// failure limit per client address), every error from the registry in errors.ts, the WebSocket event stream,
// and Prometheus metrics (behind a token of scope `metrics` with metricsAuth).
//
// Wiring (bin/run-controller.ts): the state store loads first; the API is built (it follows the app's and the
// controller's events from then on, so the leases DmzApp.start closes as ended while we were down are recorded);
// then DmzApp.start with the stored leases and blocks; then controller.listen() and api.listen().
//
//   const store = await openJournalStore(dataDir);
//   const app = new DmzApp({ site, controller, flows, logger });
//   const api = buildApi({ app, controller, flows, store, logger });
//   await app.start(await store.load());
//   await controller.listen();
//   await api.listen({ port: apiPort, host });
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Ajv, type ErrorObject } from 'ajv';
import type { Controller } from '../controller/controller.js';
import type { FlowManager } from '../controller/flow-manager.js';
import type { Logger } from '../controller/log.js';
import type { DmzApp } from '../apps/dmz/dmz-app.js';
import { switchOfDtn } from '../apps/dmz/site.js';
import { ApiError, ERROR_CODES, ERRORS, toApiError } from './errors.js';
import { EventHub } from './events.js';
import { TransfersService } from './transfers-service.js';
import { FailureLimiter, RequestLimiter, type FailureLimiterOptions, type RequestLimiterOptions } from './rate-limit.js';
import { Authenticator } from './authenticate.js';
import { clientAddress, trustProxies } from './client-address.js';
import { createMetrics } from './metrics.js';
import { LiveCounters } from './live-counters.js';
import { SHARED_SCHEMAS } from './schemas.js';
import { hasScope } from './tokens.js';
import { auditEntry, type ApiContext } from './context.js';
import type { StateBackend, StateRecord } from './state/state-store.js';
import type { AuditEntry } from './state/types.js';
import { transferRoutes } from './routes/transfers.js';
import { blockRoutes } from './routes/blocks.js';
import { viewRoutes } from './routes/views.js';
import { opsRoutes } from './routes/ops.js';
import { tokenRoutes } from './routes/tokens.js';
import { topologyRoutes, publishLinkEvents, registerLinkMetrics, type Fabric } from './topology.js';

export interface ApiOptions {
  app: DmzApp;
  controller: Controller;
  flows: FlowManager;
  store: StateBackend;
  logger: Logger;
  /** Largest request body accepted (bytes). Default 16 KiB: a transfer request is a few hundred bytes. */
  bodyLimit?: number;
  /**
   * Reverse proxies in front of the API (addresses or CIDR prefixes): X-Forwarded-For is honoured from these
   * peers only, so that the limits and the audit trail name real clients. Default none.
   */
  trustedProxies?: readonly string[];
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: Buffer | string; cert: Buffer | string };
  /** Failed authentications per client address (only requests without a valid token are limited). */
  authLimit?: FailureLimiterOptions;
  /** Requests per token (default 100/s, bursts of 200); false: none. */
  requestLimit?: RequestLimiterOptions | false;
  /** /metrics needs a token of scope `metrics` (or admin). Default false: public, like /healthz. */
  metricsAuth?: boolean;
  /** Whether the controller listens for switches (for /readyz). Default: Controller.listening. */
  controllerListening?: () => boolean;
  /** Least time between two counter reads of one lease for GET /transfers/{id}. Default 250 ms. */
  counterReadIntervalMs?: number;
  /** LLDP discovery and the link monitor: GET /api/v1/topology, link.* events, dmzgate_links (absent: none of these). */
  fabric?: Fabric;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function makeAjv(coerce: boolean): Ajv {
  // Bodies are never coerced ("100" is not a number); query strings and path parameters are text by nature.
  const ajv = new Ajv({ allErrors: true, removeAdditional: false, useDefaults: true, coerceTypes: coerce, strict: true });
  ajv.addFormat('date-time', { type: 'string', validate: (s: string) => ISO_TIME.test(s) && Number.isFinite(Date.parse(s)) });
  return ajv;
}

function validationError(errors: ErrorObject[], part: string | undefined): ApiError {
  const clip = (s: string) => (s.length > 64 ? `${s.slice(0, 64)}…` : s);
  const details = errors.slice(0, 20).map((e) => {
    if (e.keyword === 'additionalProperties') {
      return {
        path: `/${part ?? ''}${e.instancePath}/${clip(String((e.params as { additionalProperty: string }).additionalProperty))}`,
        message: 'unknown field',
      };
    }
    const allowed = e.keyword === 'enum' ? `: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` : '';
    return { path: `/${part ?? ''}${e.instancePath}`, message: `${e.message ?? 'invalid'}${allowed}` };
  });
  const unknown = errors.some((e) => e.keyword === 'additionalProperties');
  return new ApiError(unknown ? 'DMZ_UNKNOWN_FIELD' : 'DMZ_INVALID_FIELD', details.map((d) => `${d.path}: ${d.message}`).join('; '), { details });
}

export function buildApi(opts: ApiOptions): FastifyInstance {
  const { app: dmz, controller, flows, store } = opts;
  const log = opts.logger.child({ component: 'api' });
  let reqSeq = 0;
  const trust = opts.trustedProxies?.length ? trustProxies(opts.trustedProxies) : undefined;
  const api = Fastify({
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit ?? 16 * 1024,
    trustProxy: trust ?? false,
    ...(opts.tls ? { https: { key: opts.tls.key, cert: opts.tls.cert } } : {}),
    requestIdHeader: false,
    genReqId: () => `req-${(++reqSeq).toString(36)}`,
    routerOptions: { maxParamLength: 100 },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
  }) as unknown as FastifyInstance;

  const metrics = createMetrics({ app: dmz, controller, flows, store });
  const auth = new Authenticator({
    view: store.view,
    logger: log,
    failures: new FailureLimiter(opts.authLimit),
    ...(opts.requestLimit !== false ? { requests: new RequestLimiter(opts.requestLimit) } : {}),
    count: (code) => metrics.authFailures.inc({ code }),
    ...(opts.authLimit?.now ? { now: opts.authLimit.now } : {}),
  });
  const leaseSwitchUp = (l: { dtn: string }): boolean => {
    const sw = switchOfDtn(dmz.site, l.dtn);
    return !!sw && controller.get(sw.dpid) !== undefined;
  };
  const live = new LiveCounters(dmz, leaseSwitchUp, opts.counterReadIntervalMs ?? 250);
  // Every audit entry, whoever made it (a request or the system itself), is numbered and logged once, here.
  // Requests without a valid token make none (authenticate.ts counts and logs them).
  const auditRecord = (entry: Omit<AuditEntry, 'id' | 'at'>): StateRecord => {
    const e = store.view.newAudit(entry);
    log.info({ audit: e }, `audit: ${e.action} ${e.decision}`);
    return { kind: 'audit.append', entry: e };
  };
  const audit: ApiContext['audit'] = (req, entry) => store.commit([auditRecord(auditEntry(req, entry))]);
  const hub = new EventHub({ store, logger: log, authenticate: (req, text) => auth.check(clientAddress(req, trust), text) });
  const switchName = (dpid: bigint): string | undefined => dmz.site.switches.find((s) => s.dpid === dpid)?.name;
  const detachHub = hub.attach(controller, switchName);
  const transfers = new TransfersService({ app: dmz, store, hub, logger: log, auditRecord, switchName });
  const detachTransfers = transfers.attach();
  const detachLinks = opts.fabric ? publishLinkEvents(hub, opts.fabric.monitor) : () => undefined;
  if (opts.fabric) registerLinkMetrics(metrics.registry, opts.fabric.monitor);
  const listening = opts.controllerListening ?? (() => controller.listening);
  const ctx: ApiContext = {
    app: dmz,
    controller,
    flows,
    store,
    log,
    hub,
    metrics,
    live,
    transfers,
    audit,
    metricsAuth: opts.metricsAuth ?? false,
    auditRecord: (req, entry) => auditRecord(auditEntry(req, entry)),
    ready: () => ({ store: true, controller: listening() }),
  };

  const bodyAjv = makeAjv(false);
  const textAjv = makeAjv(true);
  api.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema));
  for (const s of SHARED_SCHEMAS) api.addSchema(s);
  // Every route of ours has a schema with its responses (the contract and the documentation); the docs UI's
  // own static routes are the exception.
  api.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) return;
    if (!route.schema?.response) throw new Error(`route ${String(route.method)} ${route.url} has no response schema`);
  });
  api.removeContentTypeParser('text/plain'); // JSON only: anything else is a 415

  // Authentication and scopes, before the body is even read.
  api.addHook('onRequest', async (req) => {
    const scopes = req.routeOptions.config.scope;
    if (!scopes) return;
    const h = req.headers.authorization;
    const token = auth.check(req.ip, h === undefined ? undefined : (/^Bearer\s+(\S+)$/i.exec(h)?.[1] ?? h));
    if (token instanceof ApiError) throw token;
    req.token = token;
    if (!scopes.some((s) => hasScope(token, s))) {
      const e = new ApiError(
        'DMZ_SCOPE_DENIED',
        `${req.method} ${req.routeOptions.url} needs the scope ${scopes.join(' or ')}; the token has ${token.scopes.join(', ')}`,
      );
      void audit(req, { action: 'scope', decision: 'refused', code: e.code, reason: e.message }).catch(() => undefined);
      throw e;
    }
  });

  api.addHook('onResponse', async (req, reply) => {
    metrics.httpDuration.observe(
      { method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    if (log.isLevelEnabled('debug'))
      req.log.debug({ method: req.method, url: req.routeOptions.url, status: reply.statusCode, ms: reply.elapsedTime }, 'request');
  });

  api.setErrorHandler((err: FastifyError, req, reply) => {
    let e: ApiError;
    if (err instanceof ApiError) e = err;
    else if (err.validation) e = validationError(err.validation as ErrorObject[], err.validationContext);
    else {
      switch (err.code) {
        case 'FST_ERR_CTP_BODY_TOO_LARGE':
          e = new ApiError('DMZ_BODY_TOO_LARGE');
          break;
        case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
          e = new ApiError('DMZ_UNSUPPORTED_MEDIA_TYPE');
          break;
        case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        case 'FST_ERR_CTP_INVALID_JSON_BODY':
        case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
          e = new ApiError('DMZ_MALFORMED_JSON');
          break;
        default:
          if (err instanceof SyntaxError || /prototype|constructor/.test(err.message))
            e = new ApiError('DMZ_MALFORMED_JSON', 'the body is not valid JSON or holds a forbidden key');
          else if (err.statusCode !== undefined && err.statusCode < 500) e = new ApiError('DMZ_INVALID_FIELD', err.message);
          else {
            e = toApiError(err);
            if (e.code === 'DMZ_INTERNAL') req.log.error({ err, reqId: req.id }, 'unhandled error');
          }
      }
    }
    void reply.code(e.status).headers(e.headers).send(e.body(req.id));
  });

  api.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(new ApiError('DMZ_ROUTE_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}`).body(req.id));
  });

  void api.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'dmzgate API',
        version: '1',
        description:
          'Science DMZ transfer bypasses, blocks, and the views behind them. Errors: every error answer is an `Error` with a stable `code`; ' +
          `the codes are ${ERROR_CODES.map((c) => `\`${c}\` (${ERRORS[c].status})`).join(', ')}. See api/ERRORS.md.`,
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'dmzgate_<id>_<secret>, from `dmzgate token create`' } },
      },
      tags: [
        { name: 'transfers', description: 'Transfer bypasses (leases)' },
        { name: 'blocks', description: 'Drops of addresses or prefixes' },
        { name: 'switches', description: 'Read-only switch views' },
        { name: 'audit', description: 'The decision log' },
        { name: 'events', description: 'The event stream' },
        { name: 'tokens', description: 'Bearer tokens (admin)' },
        { name: 'operations', description: 'Health, readiness, metrics, this document' },
      ],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  void api.register(swaggerUi, { routePrefix: '/docs' });
  void api.register(async (r) => {
    transferRoutes(r, ctx);
    blockRoutes(r, ctx);
    viewRoutes(r, ctx);
    tokenRoutes(r, ctx);
    opsRoutes(r, ctx);
    if (opts.fabric) topologyRoutes(r, ctx, opts.fabric);
  });

  api.server.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head));
  api.addHook('preClose', async () => hub.close());
  api.addHook('onClose', async () => {
    auth.flush();
    detachHub();
    detachTransfers();
    detachLinks();
    metrics.detach();
    live.detach();
    await store.close();
  });
  return api;
}
