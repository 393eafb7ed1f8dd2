// A follower's way to the leader: the request is passed on whole (method, path, headers, body) to the leader's
// advertised API URL and its answer passed back whole. The leader decides and commits (one writer: no etcd
// transaction conflicts between instances, and the overlap and capacity checks stay in one process, hence
// linearizable); the follower adds nothing but a hop, and holds a write's answer until its replica has the
// leader's revision (STATE_REVISION), so a client reads its own write on the instance it wrote through.
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ApiError } from '../errors.js';

/** Marks a forwarded request, so that an instance that does not lead either answers 503 instead of passing it on again. */
export const FORWARDED_BY = 'x-dmzgate-forwarded-by';

/** On a forwarded write's answer: the leader's state revision once the write was committed. */
export const STATE_REVISION = 'x-dmzgate-state-revision';

/** Seconds a client is told to wait while there is no leader: about one election (the lease TTL). */
export const NO_LEADER_RETRY_AFTER = '1';

export function noLeader(res: ServerResponse, why: string): void {
  const e = new ApiError('DMZ_NO_LEADER', why).withHeader('Retry-After', NO_LEADER_RETRY_AFTER);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(e.status, { 'content-type': 'application/json; charset=utf-8', ...e.headers });
  res.end(JSON.stringify(e.body()));
}

export interface ForwardTo {
  /** The leader's advertised API URL (http: or https:). */
  leaderUrl: string;
  /** This instance's name (FORWARDED_BY). */
  self: string;
  /** https: the issuer to check the leader's certificate against (else the system's). */
  ca?: Buffer;
  timeoutMs?: number;
}

/**
 * Passes `req` on to the leader; a leader that cannot be reached is a 503 DMZ_NO_LEADER. `caughtUp(revision)`
 * resolves when the local replica holds that revision (or gives up waiting): the answer is held until then.
 */
export function forward(req: IncomingMessage, res: ServerResponse, to: ForwardTo, caughtUp: (revision: number) => Promise<void>): void {
  const { leaderUrl, self } = to;
  const timeoutMs = to.timeoutMs ?? 30_000;
  const target = new URL(req.url ?? '/', leaderUrl);
  // As a proxy does: the leader names the client, not this follower, when it trusts this follower (--trusted-proxy).
  const seen = req.headers['x-forwarded-for'];
  const peer = req.socket.remoteAddress ?? 'unknown';
  const forwardedFor = seen ? `${Array.isArray(seen) ? seen.join(', ') : seen}, ${peer}` : peer;
  const headers = { ...req.headers, [FORWARDED_BY]: self, host: target.host, 'x-forwarded-for': forwardedFor };
  const onAnswer = (answer: IncomingMessage): void => {
    const revision = Number(answer.headers[STATE_REVISION]);
    const pass = (): void => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    };
    if (Number.isSafeInteger(revision) && revision > 0) void caughtUp(revision).then(pass, pass);
    else pass();
  };
  const options = { method: req.method, headers, timeout: timeoutMs };
  const out =
    target.protocol === 'https:'
      ? httpsRequest(target, { ...options, ...(to.ca ? { ca: to.ca } : {}) }, onAnswer)
      : httpRequest(target, options, onAnswer);
  out.on('timeout', () => out.destroy(new Error(`the leader at ${leaderUrl} did not answer within ${timeoutMs} ms`)));
  out.on('error', (e) => noLeader(res, `the leader at ${leaderUrl} could not be reached: ${e.message}`));
  req.pipe(out);
}
