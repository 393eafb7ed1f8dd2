// `dmzgate token ...`: create, list and revoke API tokens. With the controller running on the data directory,
// the command goes through its API (with the admin token the controller keeps in DATA/admin.token), so the running
// process and the command never both write the state file; without it, the command opens the store itself.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseDuration } from '../../apps/dmz/config.js';
import {
  openJournalStore,
  createToken,
  listTokens,
  revokeToken,
  SCOPES,
  type Scope,
  type JournalStateStore,
  type TokenSpec,
} from '../../api/index.js';
import { ApiClient } from '../api-client.js';
import { UsageError } from '../options.js';
import { table } from '../table.js';
import { list, parse, positiveId, required, type Values } from './common.js';
import { liveController, ADMIN_TOKEN_FILE } from '../data-dir.js';

export const TOKEN_HELP = `usage: dmzgate token create --project NAME --dtn NAMES --remote PREFIXES --ports RANGES [options]
       dmzgate token list
       dmzgate token revoke ID

create options:
  --project NAME        the project the token acts for
  --dtn NAMES           DTNs it may use (comma-separated or repeated)
  --remote PREFIXES     remote prefixes it may open to
  --ports RANGES        DTN-side port ranges it may open
  --paths PATHS         routed and/or circuit:NAME (default routed)
  --max-duration D      longest transfer: seconds or 30m, 12h, 1d (default 12h)
  --max-rate MBPS       highest rate cap it may ask for (default: no cap required)
  --scope SCOPES        transfers (= transfers:read,transfers:write), blocks (= blocks:write),
                        metrics (reads /metrics under --metrics-auth), admin, or exact scopes
                        (default transfers)
  --expires D           the token itself expires after D (default: never)
  --description TEXT
common:
  --data DIR            the controller's state directory (default ./data)
  --api URL             its API, used while the controller runs (default http://127.0.0.1:8080)
  --json                print JSON`;

function scopes(text: string[]): Scope[] {
  const out = new Set<Scope>();
  for (const s of text.length ? text : ['transfers']) {
    if (s === 'transfers') {
      out.add('transfers:read');
      out.add('transfers:write');
      continue;
    }
    if (s === 'blocks') {
      out.add('blocks:write');
      continue;
    }
    if (!(SCOPES as readonly string[]).includes(s)) throw new UsageError(`--scope: "${s}" is not one of transfers, blocks, ${SCOPES.join(', ')}`);
    out.add(s as Scope);
  }
  return [...out];
}

function seconds(name: string, text: string): number {
  try {
    return parseDuration(text);
  } catch {
    throw new UsageError(`--${name}: "${text}" is not a duration (seconds, or 30m, 12h, 1d)`);
  }
}

function spec(values: Values): TokenSpec {
  const s: TokenSpec = {
    project: required(values, 'project'),
    dtns: list(values.dtn),
    remotes: list(values.remote),
    ports: list(values.ports),
    paths: list(values.paths).length ? list(values.paths) : ['routed'],
    maxDurationSeconds: seconds('max-duration', (values['max-duration'] as string) ?? '12h'),
    scopes: scopes(list(values.scope)),
  };
  if (values['max-rate'] !== undefined) {
    const r = Number(values['max-rate']);
    if (!(r > 0)) throw new UsageError(`--max-rate: "${String(values['max-rate'])}" is not a positive number of Mbit/s`);
    s.maxRateMbps = r;
  }
  if (values.expires !== undefined) s.expiresAt = Date.now() + seconds('expires', values.expires as string) * 1000;
  if (values.description !== undefined) s.description = values.description as string;
  return s;
}

export async function tokenCommand(args: string[]): Promise<void> {
  const {
    values,
    positionals: [sub, ...positionals],
  } = parse(
    args,
    {
      project: { type: 'string' },
      dtn: { type: 'string', multiple: true },
      remote: { type: 'string', multiple: true },
      ports: { type: 'string', multiple: true },
      paths: { type: 'string', multiple: true },
      'max-duration': { type: 'string' },
      'max-rate': { type: 'string' },
      scope: { type: 'string', multiple: true },
      expires: { type: 'string' },
      description: { type: 'string' },
      data: { type: 'string' },
    },
    2,
  );
  if (values.help || sub === undefined || sub === 'help') {
    console.log(TOKEN_HELP);
    return;
  }
  const dataDir = resolve((values.data as string | undefined) ?? './data');
  const live = liveController(dataDir);
  if (live && !live.api && values.api === undefined)
    throw new UsageError(`controller ${live.pid} runs on ${dataDir} but its API is not up yet; try again`);
  const api = live
    ? new ApiClient((values.api as string | undefined) ?? live.api!, readFileSync(join(dataDir, ADMIN_TOKEN_FILE), 'utf8').trim())
    : undefined;
  const store = api ? undefined : await openJournalStore(dataDir);
  try {
    await runTokenSubcommand(sub, values, positionals, api, store);
  } finally {
    // Folds the journal into the state document, so the file reads complete without a replay.
    await store?.close();
  }
}

async function runTokenSubcommand(
  sub: string | undefined,
  values: Values,
  positionals: string[],
  api: ApiClient | undefined,
  store: JournalStateStore | undefined,
): Promise<void> {
  switch (sub) {
    case 'create': {
      const s = spec(values);
      let out: { id: number; token: string };
      if (api) out = await api.request('POST', '/api/v1/tokens', { ...s, expiresAt: s.expiresAt });
      else out = await createToken(store!, s);
      if (values.json) console.log(JSON.stringify({ id: out.id, token: out.token }));
      else console.log(`token ${out.id} for project ${s.project} (shown once; store it now):\n${out.token}`);
      return;
    }
    case 'list': {
      const rows = api ? await api.request<Record<string, unknown>[]>('GET', '/api/v1/tokens') : listTokens(store!.view);
      if (values.json) console.log(JSON.stringify(rows, null, 2));
      else
        console.log(
          table(
            rows.map((r) => ({ ...r, state: r.revokedAt ? 'revoked' : 'active' })),
            ['id', 'project', 'state', 'scopes', 'dtns', 'remotes', 'ports', 'paths', 'maxDurationSeconds', 'maxRateMbps'],
          ),
        );
      return;
    }
    case 'revoke': {
      const id = positiveId(positionals[0], 'token revoke');
      if (api) await api.request('DELETE', `/api/v1/tokens/${id}`);
      else if (!(await revokeToken(store!, id))) throw new UsageError(`no token ${id}`);
      console.log(values.json ? JSON.stringify({ id, revoked: true }) : `token ${id} revoked`);
      return;
    }
    default:
      throw new UsageError(`unknown token command "${sub}"\n${TOKEN_HELP}`);
  }
}
