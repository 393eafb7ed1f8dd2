// The event log and its WebSocket stream (`/api/v1/events`). Lease and block changes and lost-flow alarms (published by
// the transfers service) and switch up/down (from the controller) become events with consecutive ids, committed to the state store in one
// batch with the change they describe, and are sent to subscribers only once that write has resolved: an id a client has seen
// is never reused after a crash, so a client that reconnects with `?since=ID` (or `Last-Event-ID: ID`) gets
// exactly the events after the last one it saw, as long as they are among the N the store keeps; if some are
// gone it is told (`{"control":"gap"}`) and should re-read the lists.
//
// Authentication (a WebSocket handshake from a browser cannot carry an Authorization header), any one of:
//   - `Authorization: Bearer TOKEN` (non-browser clients);
//   - the subprotocols `dmzgate.v1, bearer.TOKEN` (the server selects `dmzgate.v1`; the token is never echoed);
//   - `?token=TOKEN` (last resort: URLs end up in proxy logs).
// A token sees the lease events of its own project (all projects with `admin`) if it can read transfers, the
// block events of its own project (likewise) if it has `blocks:write`, the `flow.lost` alarms if it is an admin token,
// and switch events in any case. A stream ends (close code 4401) when its token expires or is revoked.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket } from 'ws';
import type { Logger } from '../controller/log.js';
import type { Controller } from '../controller/controller.js';
import { dpidText } from '../controller/errors.js';
import type { SwitchConnection } from '../controller/switch-connection.js';
import { ApiError } from './errors.js';
import { hasScope, isAdmin, sees } from './tokens.js';
import type { StateBackend, StateRecord } from './state/state-store.js';
import type { HeldEvent, StateView } from './state/state-view.js';
import type { EventType, StoredEvent, TokenRecord } from './state/types.js';
import { Throttle } from '../controller/throttle.js';
import type { Refusal } from '../controller/controller.js';

export const EVENTS_PATH = '/api/v1/events';
export const WS_PROTOCOL = 'dmzgate.v1';
/** A subscriber this far behind (bytes queued in its socket) is dropped rather than buffered without bound. */
const MAX_BUFFERED = 4 * 1024 * 1024;
/** switch.refused events: one at once, then at most one per window per reason and datapath (a flood is counted). */
const REFUSED_EVENT_WINDOW_MS = 10_000;

interface Client {
  ws: WebSocket;
  token: TokenRecord;
}

export interface EventHubOptions {
  store: StateBackend;
  logger: Logger;
  /** The token a handshake's bearer text names, or why it is refused (the API's Authenticator). */
  authenticate(req: IncomingMessage, text: string | undefined): TokenRecord | ApiError;
}

export class EventHub {
  private readonly clients = new Set<Client>();
  private readonly wss: WebSocketServer;
  private readonly log: Logger;
  private readonly store: StateBackend;
  private readonly view: StateView;
  /** The highest event id sent to subscribers (every event up to it is durable). */
  private sent: number;
  private readonly sweep: NodeJS.Timeout;

  constructor(private readonly opts: EventHubOptions) {
    this.store = opts.store;
    this.view = opts.store.view;
    this.log = opts.logger;
    this.sent = this.view.lastEventId;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: 4096,
      clientTracking: false,
      handleProtocols: (protocols) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
    });
    // Tokens expire and get revoked while their streams are open.
    this.sweep = setInterval(() => {
      for (const c of this.clients) this.stillValid(c);
    }, 5000);
    this.sweep.unref();
  }

  get subscribers(): number {
    return this.clients.size;
  }

  /** Publishes the controller's switch events (up, down, refused); returns the detach. */
  attach(controller: Controller, switchName: (dpid: bigint) => string | undefined): () => void {
    const sw = (conn: SwitchConnection, reason?: string) => ({
      switch: {
        dpid: conn.dpidText,
        ...(conn.dpid !== undefined && switchName(conn.dpid) ? { name: switchName(conn.dpid)! } : {}),
        ...(reason ? { reason } : {}),
      },
    });
    const onUp = (conn: SwitchConnection): void => void this.publish('switch.up', sw(conn));
    const onDown = (conn: SwitchConnection, reason: string): void => void this.publish('switch.down', sw(conn, reason));
    const refusals = new Throttle<Refusal>(REFUSED_EVENT_WINDOW_MS, (_key, count, r) => {
      const name = r.dpid !== undefined ? switchName(r.dpid) : undefined;
      void this.publish('switch.refused', {
        ...(r.dpid !== undefined ? { switch: { dpid: dpidText(r.dpid), ...(name ? { name } : {}) } } : {}),
        refused: { reason: r.reason, remote: r.remote, detail: r.detail, count },
      });
    });
    const onRefused = (r: Refusal): void => refusals.note(r.dpid === undefined ? r.reason : `${r.reason} ${r.dpid}`, r);
    controller.on('switchUp', onUp);
    controller.on('switchDown', onDown);
    controller.on('refused', onRefused);
    return () => {
      controller.off('switchUp', onUp);
      controller.off('switchDown', onDown);
      controller.off('refused', onRefused);
      refusals.close();
    };
  }

  /**
   * Commits an event, in one batch after the records of the change it describes (`with`); it is sent once that
   * batch is durable. With `rideMs`, the batch may wait that long to share another's write (CommitOptions).
   */
  publish(type: EventType, data: Record<string, unknown>, project?: string, rideMs?: number, withRecords: StateRecord[] = []): StoredEvent {
    const ev = this.view.newEvent(type, data, project);
    withRecords.push({ kind: 'event.append', event: ev });
    this.store.commit(withRecords, rideMs === undefined ? {} : { maxDelayMs: rideMs }).then(
      () => this.sendUpTo(ev.id),
      (e: Error) => this.log.error({ err: e.message, event: ev.id }, 'event not persisted; it goes out with the next successful write'),
    );
    return ev;
  }

  /**
   * Sends the events other instances commit, as this store's watch delivers them (a cluster follower's stream,
   * from its replica): each batch is durable when delivered. `fromRevision`: the store's revision now (the view's).
   * Returns the stop.
   */
  follow(fromRevision: number): () => void {
    return this.store.subscribe(fromRevision, (b) => {
      let last = 0;
      for (const r of b.records) if (r.kind === 'event.append') last = Math.max(last, r.event.id);
      if (last > 0) this.sendUpTo(last);
    });
  }

  private sendUpTo(id: number): void {
    if (id <= this.sent) return;
    if (this.clients.size === 0) {
      this.sent = id; // nobody to send them to (a client subscribing later is sent what it asks for)
      return;
    }
    const evs = this.view.heldEventsSince(this.sent).filter((e) => e.id <= id);
    this.sent = id;
    for (const e of evs) {
      const text = wireText(e);
      for (const c of this.clients) if (this.visible(c.token, e) && this.stillValid(c)) this.deliver(c, text);
    }
  }

  private deliver(c: Client, text: string): void {
    if (c.ws.bufferedAmount > MAX_BUFFERED) {
      c.ws.close(4008, 'too far behind; reconnect with since=');
      this.clients.delete(c);
      return;
    }
    c.ws.send(text);
  }

  private visible(t: TokenRecord, e: HeldEvent): boolean {
    if (e.type.startsWith('lease.')) return hasScope(t, 'transfers:read') && (isAdmin(t) || t.project === e.project);
    if (e.type.startsWith('block.')) return hasScope(t, 'blocks:write') && sees(t, e.project);
    if (e.type === 'flow.lost') return isAdmin(t); // (about any owner's flows: blocks, leases, the pipeline)
    if (e.type === 'switch.refused') return isAdmin(t); // peers' addresses, and what they claimed
    return true;
  }

  private stillValid(c: Client): boolean {
    const err = this.tokenProblem(c.token.id);
    if (!err) return true;
    c.ws.close(4401, err.code);
    this.clients.delete(c);
    return false;
  }

  private tokenProblem(id: number): ApiError | undefined {
    const t = this.view.token(id);
    if (!t) return new ApiError('DMZ_TOKEN_INVALID');
    if (t.revokedAt !== undefined) return new ApiError('DMZ_TOKEN_REVOKED');
    if (t.expiresAt !== undefined && t.expiresAt <= Date.now()) return new ApiError('DMZ_TOKEN_EXPIRED');
    return undefined;
  }

  /** The HTTP server's 'upgrade' handler. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== EVENTS_PATH) {
      refuse(socket, new ApiError('DMZ_ROUTE_NOT_FOUND'));
      return;
    }
    const token = this.opts.authenticate(req, bearerOf(req, url) || undefined);
    if (token instanceof ApiError) {
      refuse(socket, token);
      return;
    }
    let since: number | undefined;
    for (const [k, v] of url.searchParams) {
      if (k === 'since') since = parseId(v);
      else if (k !== 'token') since = NaN;
      if (Number.isNaN(since)) {
        refuse(
          socket,
          new ApiError('DMZ_INVALID_FIELD', `bad query parameter ${k}`, {
            details: [{ path: `/${k}`, message: 'since must be a non-negative integer; the only parameters are since and token' }],
          }),
        );
        return;
      }
    }
    const last = req.headers['last-event-id'];
    if (since === undefined && typeof last === 'string') since = parseId(last);
    if (Number.isNaN(since)) {
      refuse(socket, new ApiError('DMZ_INVALID_FIELD', 'Last-Event-ID must be a non-negative integer'));
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.subscribe(ws, token, since));
  }

  private subscribe(ws: WebSocket, token: TokenRecord, since: number | undefined): void {
    const c: Client = { ws, token };
    ws.on('error', () => this.clients.delete(c));
    ws.on('close', () => this.clients.delete(c));
    ws.on('message', () => undefined); // nothing to say to us; pings are answered by ws itself
    ws.send(JSON.stringify({ control: 'hello', last_event_id: this.sent }));
    if (since !== undefined) {
      const oldest = this.view.oldestEventId;
      if (since < this.sent && (oldest === undefined || since + 1 < oldest)) {
        ws.send(JSON.stringify({ control: 'gap', since, oldest: oldest ?? this.sent + 1 }));
      }
      // Replay and subscription happen in the same turn: nothing can be sent in between.
      for (const e of this.view.heldEventsSince(since)) {
        if (e.id > this.sent) break;
        if (this.visible(token, e)) ws.send(wireText(e));
      }
    }
    this.clients.add(c);
  }

  close(): void {
    clearInterval(this.sweep);
    for (const c of this.clients) c.ws.close(1001, 'server shutting down');
    this.clients.clear();
  }
}

/**
 * An event as sent: `{ id, at (ISO), type, ...data }` as JSON. Made from the kept data text: its members follow
 * the frame's (unless the data has a key of the frame's own, which would take the frame's place: then parsed).
 */
export function wireText(e: HeldEvent): string {
  const at = new Date(e.at).toISOString();
  if (e.clash) return JSON.stringify({ id: e.id, at, type: e.type, ...(JSON.parse(e.data) as Record<string, unknown>) });
  const head = `{"id":${JSON.stringify(e.id)},"at":${JSON.stringify(at)},"type":${JSON.stringify(e.type)}`;
  return e.data === '{}' ? `${head}}` : `${head},${e.data.slice(1)}`;
}

function parseId(v: string): number {
  return /^\d{1,15}$/.test(v) ? Number(v) : NaN;
}

function bearerOf(req: IncomingMessage, url: URL): string | undefined {
  const h = req.headers.authorization;
  if (h) return /^Bearer\s+(\S+)$/i.exec(h)?.[1] ?? h; // a malformed header fails verification: DMZ_TOKEN_INVALID
  const protos = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
  const p = protos.find((s) => s.startsWith('bearer.'));
  if (p) return p.slice('bearer.'.length);
  return url.searchParams.get('token') ?? undefined;
}

/** Answers a refused upgrade with the API's error body, then closes. */
function refuse(socket: Duplex, e: ApiError): void {
  const body = JSON.stringify(e.body());
  const extra = Object.entries(e.headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${e.status} ${statusText(e.status)}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`,
    );
  }
  socket.destroy();
}

function statusText(s: number): string {
  return ({ 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 429: 'Too Many Requests' } as Record<number, string>)[s] ?? 'Error';
}
