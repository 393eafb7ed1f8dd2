// What every API-facing command shares: where the API is, the token, and how to print.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ApiClient, ApiClientError } from '../api-client.js';
import { UsageError } from '../options.js';
import { printable } from '../printable.js';

export const CLIENT_OPTIONS = {
  api: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const CLIENT_HELP = `  --api URL             the dmzgate API (default $DMZGATE_API or http://127.0.0.1:8080); an https
                        URL whose certificate's issuer is not a public CA: NODE_EXTRA_CA_CERTS=ISSUER.pem
  --token TOKEN         bearer token (default $DMZGATE_TOKEN)
  --json                print the API's JSON instead of a table
  -h, --help            this text`;

export type Values = Record<string, string | boolean | string[] | undefined>;

export function parse(args: string[], options: NonNullable<ParseArgsConfig['options']>, positionals = 0): { values: Values; positionals: string[] } {
  let out;
  try {
    out = parseArgs({ args, options: { ...CLIENT_OPTIONS, ...options }, strict: true, allowPositionals: positionals > 0 });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (out.positionals.length > positionals) throw new UsageError(`unexpected argument ${out.positionals[positionals]}`);
  return { values: out.values, positionals: out.positionals };
}

export function client(values: Values, env: NodeJS.ProcessEnv = process.env): ApiClient {
  const base = (values.api as string | undefined) ?? env.DMZGATE_API ?? 'http://127.0.0.1:8080';
  const token = (values.token as string | undefined) ?? env.DMZGATE_TOKEN;
  if (!token) throw new UsageError('no token: give --token or set DMZGATE_TOKEN');
  return new ApiClient(base, token);
}

/** A list option that may be repeated and/or comma-separated. */
export function list(v: string | boolean | string[] | undefined): string[] {
  if (v === undefined || typeof v === 'boolean') return [];
  return (Array.isArray(v) ? v : [v])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
}

export function required(values: Values, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

export function positiveId(text: string | undefined, what: string): number {
  if (!text || !/^[1-9]\d{0,14}$/.test(text)) throw new UsageError(`${what}: expected a positive integer id, got ${JSON.stringify(text ?? '')}`);
  return Number(text);
}

/** Runs a command body; API refusals print their code and message and exit 1, usage errors exit 2. */
export async function runClient(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`dmzgate: ${printable(e.message)}`);
      process.exit(2);
    }
    if (e instanceof ApiClientError) {
      console.error(`dmzgate: ${printable(e.code)}${e.status ? ` (HTTP ${e.status})` : ''}: ${printable(e.message)}`);
      process.exit(1);
    }
    throw e;
  }
}
