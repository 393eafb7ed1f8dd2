// Bearer-token authentication, shared by the HTTP routes and the event stream's handshake: the token is checked
// first (a sha256 and a constant-time compare, cheap), then the limits apply: a valid token is held to its
// request rate, and only a request without one counts against (and is refused by) its address's failure limit.
//
// Failures are not stored in the audit trail: anyone can make them, and a flood would push out the entries that
// matter. They are counted (dmzgate_api_auth_failures_total, by code) and logged, at most one line per interval
// with the number of those not logged since.
import type { Logger } from '../controller/log.js';
import { ApiError } from './errors.js';
import { verifyToken } from './tokens.js';
import type { FailureLimiter, RequestLimiter } from './rate-limit.js';
import type { StateView } from './state/state-view.js';
import type { TokenRecord } from './state/types.js';

export interface AuthenticatorOptions {
  /** Where the tokens are read. */
  view: StateView;
  failures: FailureLimiter;
  /** None: no request limit. */
  requests?: RequestLimiter;
  logger: Logger;
  /** A refused authentication or a throttled request, by code (for metrics). */
  count(code: string): void;
  /** Least time between two log lines about failures (ms). Default 10 s. */
  logIntervalMs?: number;
  now?: () => number;
}

export class Authenticator {
  private readonly failureLog: FailureLog;

  constructor(private readonly opts: AuthenticatorOptions) {
    this.failureLog = new FailureLog(opts.logger, opts.logIntervalMs ?? 10_000, opts.now ?? Date.now);
  }

  /** The token `text` names, if valid and within its request rate; else the error to answer with. */
  check(client: string, text: string | undefined): TokenRecord | ApiError {
    if (text === undefined) return new ApiError('DMZ_TOKEN_MISSING');
    const token = verifyToken(this.opts.view, text);
    if (!(token instanceof ApiError)) {
      const wait = this.opts.requests?.take(token.id) ?? 0;
      if (wait === 0) return token;
      this.opts.count('DMZ_TOO_MANY_REQUESTS');
      return new ApiError('DMZ_TOO_MANY_REQUESTS', `token ${token.id} made more requests than its rate allows; retry in ${wait} s`).withHeader(
        'Retry-After',
        String(wait),
      );
    }
    const wait = this.opts.failures.retryAfter(client);
    const refusal =
      wait > 0
        ? new ApiError('DMZ_AUTH_RATE_LIMITED', `too many failed authentications from ${client}; retry in ${wait} s`).withHeader(
            'Retry-After',
            String(wait),
          )
        : token;
    if (wait === 0) this.opts.failures.fail(client);
    this.opts.count(refusal.code);
    this.failureLog.note(client, refusal);
    return refusal;
  }

  /** Logs the failures not logged yet (at shutdown). */
  flush(): void {
    this.failureLog.flush();
  }
}

/** One log line per interval at most; the lines between are counted, and the count goes with the next line. */
class FailureLog {
  private lastAt = -Infinity;
  private unlogged = 0;
  private readonly unloggedClients = new Set<string>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  note(client: string, e: ApiError): void {
    const t = this.now();
    if (t - this.lastAt < this.intervalMs) {
      this.unlogged++;
      if (this.unloggedClients.size < 1000) this.unloggedClients.add(client);
      return;
    }
    this.log.warn({ client, code: e.code, ...this.since() }, `authentication refused from ${client}: ${e.message}`);
    this.lastAt = t;
  }

  flush(): void {
    if (this.unlogged > 0) this.log.warn(this.since(), `${this.unlogged} authentication failures not logged one by one`);
  }

  /** The failures not logged since the last line (and forgets them). */
  private since(): { unlogged?: number; unloggedClients?: number } {
    if (this.unlogged === 0) return {};
    const r = { unlogged: this.unlogged, unloggedClients: this.unloggedClients.size };
    this.unlogged = 0;
    this.unloggedClients.clear();
    return r;
  }
}
