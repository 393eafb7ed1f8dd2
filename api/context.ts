// What the route modules share: the app, controller and state store, and the helpers every decision goes through.
import type { FastifyRequest } from 'fastify';
import type { Controller } from '../controller/controller.js';
import type { FlowManager } from '../controller/flow-manager.js';
import type { Logger } from '../controller/log.js';
import type { DmzApp } from '../apps/dmz/dmz-app.js';
import { parsePrefix, type Prefix } from '../apps/dmz/addresses.js';
import { parsePortRange, type PortRange } from '../apps/dmz/port-ranges.js';
import { ApiError } from './errors.js';
import type { EventHub } from './events.js';
import type { LiveCounters } from './live-counters.js';
import type { Metrics } from './metrics.js';
import type { Actor, TransfersService } from './transfers-service.js';
import type { StateBackend, StateRecord } from './state/state-store.js';
import type { AuditEntry, Scope, TokenRecord } from './state/types.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scopes (any one of them) a route needs; unset: the route is public (health, docs; metrics unless metricsAuth). */
    scope?: Scope[];
  }
  interface FastifyRequest {
    token?: TokenRecord;
  }
}

export interface ApiContext {
  app: DmzApp;
  controller: Controller;
  flows: FlowManager;
  /** Writes go through commit(); reads from store.view. */
  store: StateBackend;
  log: Logger;
  hub: EventHub;
  metrics: Metrics;
  live: LiveCounters;
  /** The one executor of lease and block changes: persists, audits and publishes them. */
  transfers: TransfersService;
  /**
   * Records a decision in the audit trail (and the log), with the request's token and client address: commits
   * it, resolving once it (and everything committed before it) is durable.
   */
  audit(req: FastifyRequest, entry: Omit<AuditEntry, 'id' | 'at' | 'actor' | 'client'>): Promise<unknown>;
  /** The same decision as a record (logged now), for a batch that holds the change it decided. */
  auditRecord(req: FastifyRequest, entry: Omit<AuditEntry, 'id' | 'at' | 'actor' | 'client'>): StateRecord;
  ready(): { store: boolean; controller: boolean };
  /** /metrics needs a token of scope `metrics`. */
  metricsAuth: boolean;
}

export function auditEntry(req: FastifyRequest, entry: Omit<AuditEntry, 'id' | 'at' | 'actor' | 'client'>): Omit<AuditEntry, 'id' | 'at'> {
  return { ...actorOf(req), ...entry };
}

/** Who a request is, as the audit trail names it. */
export function actorOf(req: FastifyRequest): Actor {
  const t = req.token;
  return t ? { actor: `token:${t.id}`, project: t.project, client: req.ip } : { actor: 'anonymous', client: req.ip };
}

/** The token of an authenticated route (the onRequest hook put it there). */
export function tokenOf(req: FastifyRequest): TokenRecord {
  if (!req.token) throw new ApiError('DMZ_TOKEN_MISSING');
  return req.token;
}

export function field(path: string, message: string): ApiError {
  return new ApiError('DMZ_INVALID_FIELD', `${path}: ${message}`, { details: [{ path, message }] });
}

export function prefixField(text: string, path: string): Prefix {
  try {
    return parsePrefix(text);
  } catch (e) {
    throw field(path, (e as Error).message);
  }
}

export function rangesField(texts: readonly string[], path: string): PortRange[] {
  return texts.map((t, i) => {
    try {
      return parsePortRange(t);
    } catch (e) {
      throw field(`${path}/${i}`, (e as Error).message);
    }
  });
}

/** An ISO time in the request, as epoch ms. */
export function timeField(text: string, path: string): number {
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) throw field(path, 'not a date-time');
  return ms;
}

/** A datapath id as the API takes it (hex, optionally 0x-prefixed or colon-separated). */
export function parseDpid(text: string): bigint {
  return BigInt(`0x${text.replace(/^0x/i, '').replace(/:/g, '')}`);
}
