// Bearer tokens: created by the CLI (`createToken`), shown once, stored as a hash; checked on every request,
// and every request checked against its token's constraints (DTNs, remote prefixes, local ports, paths,
// duration, rate, scopes, project).
//
// A token is `dmzgate_<id>_<secret>` with a 256-bit random secret. Storing sha256(secret) is right for such a
// secret: a slow password hash (scrypt, argon2) protects low-entropy secrets from guessing, and 2^256 cannot be
// guessed however fast the hash. The id finds the record; the digests are compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { parsePrefix, prefixWithin, type Prefix } from '../apps/dmz/addresses.js';
import { siteWideBlock } from '../apps/dmz/site-wide-blocks.js';
import type { Site } from '../apps/dmz/site.js';
import { parsePortRange, rangeWithin, formatPortRange, type PortRange } from '../apps/dmz/port-ranges.js';
import type { LeaseRecord } from '../apps/dmz/records.js';
import { ApiError } from './errors.js';
import type { StateBackend } from './state/state-store.js';
import type { StateView } from './state/state-view.js';
import { SCOPES, type Scope, type TokenRecord } from './state/types.js';

/** What a token is made from: its record's constraints, as given (normalised into the record by createToken). */
export interface TokenSpec extends Pick<
  TokenRecord,
  'project' | 'dtns' | 'remotes' | 'ports' | 'paths' | 'maxDurationSeconds' | 'maxRateMbps' | 'scopes' | 'description'
> {
  /** Epoch ms, or a Date. */
  expiresAt?: number | Date;
}

const TOKEN_RE = /^dmzgate_([1-9]\d{0,9})_([A-Za-z0-9_-]{43})$/;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const PATH_RE = /^(routed|circuit:[A-Za-z0-9][A-Za-z0-9._-]{0,63}|\*)$/;

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Checks a spec; throws an Error saying what is wrong (the CLI prints it). */
export function validateTokenSpec(spec: TokenSpec): void {
  const fail = (m: string): never => {
    throw new Error(`invalid token: ${m}`);
  };
  if (!NAME_RE.test(spec.project ?? '')) fail(`project ${JSON.stringify(spec.project)} must be 1-64 of [A-Za-z0-9._-]`);
  if (!Array.isArray(spec.scopes) || spec.scopes.length === 0) fail('at least one scope is needed');
  for (const s of spec.scopes) if (!SCOPES.includes(s)) fail(`unknown scope ${JSON.stringify(s)} (${SCOPES.join(', ')})`);
  for (const d of spec.dtns ?? fail('dtns is required')) if (d !== '*' && !NAME_RE.test(d)) fail(`bad DTN name ${JSON.stringify(d)}`);
  for (const r of spec.remotes ?? fail('remotes is required')) {
    try {
      parsePrefix(r);
    } catch (e) {
      fail(`remotes: ${(e as Error).message}`);
    }
  }
  for (const p of spec.ports ?? fail('ports is required')) {
    try {
      parsePortRange(p);
    } catch (e) {
      fail(`ports: ${(e as Error).message}`);
    }
  }
  for (const p of spec.paths ?? fail('paths is required')) if (!PATH_RE.test(p)) fail(`bad path ${JSON.stringify(p)} (routed, circuit:NAME or *)`);
  if (!Number.isInteger(spec.maxDurationSeconds) || spec.maxDurationSeconds < 1) fail('maxDurationSeconds must be a positive integer');
  if (spec.maxRateMbps !== undefined && !(typeof spec.maxRateMbps === 'number' && spec.maxRateMbps > 0 && Number.isFinite(spec.maxRateMbps)))
    fail('maxRateMbps must be a positive number');
  if (spec.expiresAt !== undefined && !Number.isFinite(+spec.expiresAt)) fail('expiresAt is not a time');
}

/**
 * Creates a token and stores its hash (durably: resolves after the write). The returned `token` is the only
 * copy of the secret: hand it to its holder, it cannot be shown again.
 */
export async function createToken(state: StateBackend, spec: TokenSpec): Promise<{ id: number; token: string; record: TokenRecord }> {
  validateTokenSpec(spec);
  const secret = randomBytes(32).toString('base64url');
  const id = state.view.newTokenId();
  const record: TokenRecord = {
    id,
    hash: sha256(secret).toString('hex'),
    project: spec.project,
    dtns: [...spec.dtns],
    remotes: spec.remotes.map((r) => parsePrefix(r).text),
    ports: spec.ports.map((p) => formatPortRange(parsePortRange(p))),
    paths: [...spec.paths],
    maxDurationSeconds: spec.maxDurationSeconds,
    scopes: [...new Set(spec.scopes)],
    createdAt: Date.now(),
    ...(spec.maxRateMbps !== undefined ? { maxRateMbps: spec.maxRateMbps } : {}),
    ...(spec.expiresAt !== undefined ? { expiresAt: +spec.expiresAt } : {}),
    ...(spec.description !== undefined ? { description: spec.description } : {}),
  };
  const entry = state.view.newAudit({
    actor: 'system',
    action: 'token.create',
    decision: 'done',
    project: record.project,
    details: { token: id, scopes: record.scopes },
  });
  await state.commit([
    { kind: 'token.put', token: record },
    { kind: 'audit.append', entry },
  ]);
  return { id, token: `dmzgate_${id}_${secret}`, record };
}

/** Revokes a token (durably). Returns false if there is no such token. */
export async function revokeToken(state: StateBackend, id: number): Promise<boolean> {
  const rec = state.view.token(id);
  if (!rec) return false;
  const entry = state.view.newAudit({ actor: 'system', action: 'token.revoke', decision: 'done', project: rec.project, details: { token: id } });
  await state.commit([
    { kind: 'token.revoke', id, at: Date.now() },
    { kind: 'audit.append', entry },
  ]);
  return true;
}

/** Token records without their hashes (for a CLI listing). */
export function listTokens(view: StateView): Omit<TokenRecord, 'hash'>[] {
  return view.tokens().map(({ hash: _h, ...rest }) => rest);
}

const DUMMY = sha256('dmzgate: no such token');

/** A stored record's digest as bytes, decoded once per record (a changed token is a new record). */
const digests = new WeakMap<TokenRecord, Buffer>();
function digestOf(rec: TokenRecord): Buffer {
  let d = digests.get(rec);
  if (d === undefined) {
    d = Buffer.from(rec.hash, 'hex');
    digests.set(rec, d);
  }
  return d;
}

/** The token a bearer string names, or the ApiError saying why it is refused. */
export function verifyToken(view: StateView, text: string, now = Date.now()): TokenRecord | ApiError {
  const m = TOKEN_RE.exec(text);
  if (!m) return new ApiError('DMZ_TOKEN_INVALID', 'the bearer token is malformed');
  const rec = view.token(Number(m[1]));
  const presented = sha256(m[2]!);
  // Compare even when the id is unknown, so that both paths cost the same.
  const expected = rec ? digestOf(rec) : DUMMY;
  const same = expected.length === presented.length && timingSafeEqual(expected, presented);
  if (!rec || !same) return new ApiError('DMZ_TOKEN_INVALID');
  if (rec.revokedAt !== undefined) return new ApiError('DMZ_TOKEN_REVOKED');
  if (rec.expiresAt !== undefined && rec.expiresAt <= now)
    return new ApiError('DMZ_TOKEN_EXPIRED', `the bearer token expired at ${new Date(rec.expiresAt).toISOString()}`);
  return rec;
}

// ---- constraints ------------------------------------------------------------------------------------------------

/** `admin` holds every scope; `transfers:write` includes `transfers:read`. */
export function hasScope(t: TokenRecord, scope: Scope): boolean {
  if (t.scopes.includes('admin') || t.scopes.includes(scope)) return true;
  return scope === 'transfers:read' && t.scopes.includes('transfers:write');
}

export function requireScope(t: TokenRecord, ...anyOf: Scope[]): void {
  if (!anyOf.some((s) => hasScope(t, s)))
    throw new ApiError('DMZ_SCOPE_DENIED', `this needs the scope ${anyOf.join(' or ')}; the token has ${t.scopes.join(', ')}`);
}

export const isAdmin = (t: TokenRecord): boolean => t.scopes.includes('admin');

/** Whether a token may see a project's transfers and blocks (admin: every project's, and the unowned). */
export function sees(t: TokenRecord, project: string | undefined): boolean {
  return isAdmin(t) || (project !== undefined && t.project === project);
}

/** A non-admin token acts on its own project only. */
export function requireProject(t: TokenRecord, project: string): void {
  if (!isAdmin(t) && t.project !== project)
    throw new ApiError('DMZ_PROJECT_DENIED', `the transfer belongs to project ${project}, the token to ${t.project}`);
}

export interface TransferAsk {
  dtn: string;
  remote: Prefix;
  localPorts: PortRange[];
  path: string;
  durationSeconds: number;
  rateMbps?: number;
}

function remoteAllowed(t: TokenRecord, p: Prefix): boolean {
  return t.remotes.some((r) => prefixWithin(p, parsePrefix(r)));
}

/** Every constraint of the token a new transfer must meet; throws the first it breaks. */
export function checkTransfer(t: TokenRecord, ask: TransferAsk): void {
  requireScope(t, 'transfers:write');
  if (!t.dtns.includes('*') && !t.dtns.includes(ask.dtn))
    throw new ApiError('DMZ_DTN_DENIED', `the token allows DTNs ${t.dtns.join(', ') || '(none)'}, not ${ask.dtn}`);
  if (!remoteAllowed(t, ask.remote))
    throw new ApiError('DMZ_REMOTE_DENIED', `remote ${ask.remote.text} is not inside the token's prefixes (${t.remotes.join(', ') || 'none'})`);
  for (const r of ask.localPorts) {
    if (!t.ports.some((p) => rangeWithin(r, parsePortRange(p)))) {
      throw new ApiError('DMZ_PORTS_DENIED', `local ports ${formatPortRange(r)} are not inside the token's ranges (${t.ports.join(', ') || 'none'})`);
    }
  }
  if (!t.paths.includes('*') && !t.paths.includes(ask.path))
    throw new ApiError('DMZ_PATH_DENIED', `the token allows paths ${t.paths.join(', ') || '(none)'}, not ${ask.path}`);
  if (ask.durationSeconds > t.maxDurationSeconds)
    throw new ApiError('DMZ_DURATION_DENIED', `${ask.durationSeconds} s is longer than the token's ${t.maxDurationSeconds} s`);
  if (ask.rateMbps !== undefined && t.maxRateMbps !== undefined && ask.rateMbps > t.maxRateMbps) {
    throw new ApiError('DMZ_RATE_DENIED', `${ask.rateMbps} Mbit/s is more than the token's ${t.maxRateMbps} Mbit/s`);
  }
}

/** A new end for a lease: the whole lease (start to new end) must fit the token's maxDurationSeconds. */
export function checkExtension(t: TokenRecord, lease: LeaseRecord, end: number): void {
  requireScope(t, 'transfers:write');
  requireProject(t, lease.project);
  const total = Math.ceil((end - lease.start) / 1000);
  if (total > t.maxDurationSeconds) {
    throw new ApiError('DMZ_DURATION_DENIED', `the transfer would last ${total} s from its start, longer than the token's ${t.maxDurationSeconds} s`);
  }
}

/**
 * Making or removing a block on `prefix`: a non-admin token's must lie inside its remotes and must not be a
 * site-wide decision (a default route, a very wide prefix, the site's own inside hosts). Admin: anything.
 */
export function checkBlock(t: TokenRecord, prefix: Prefix, site: Site): void {
  requireScope(t, 'blocks:write');
  if (isAdmin(t)) return;
  const why = siteWideBlock(site, prefix);
  if (why) throw new ApiError('DMZ_BLOCK_NEEDS_ADMIN', `only an admin token may block ${prefix.text}: ${why}`);
  if (!remoteAllowed(t, prefix))
    throw new ApiError('DMZ_REMOTE_DENIED', `prefix ${prefix.text} is not inside the token's prefixes (${t.remotes.join(', ') || 'none'})`);
}
