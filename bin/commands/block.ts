// `dmzgate block ...`: what an IDS or an operator calls to drop an address or prefix, against a running API.
import { parseDuration } from '../../apps/dmz/config.js';
import { UsageError } from '../options.js';
import { table, record } from '../table.js';
import { CLIENT_HELP, client, list, parse, positiveId, required, type Values } from './common.js';

export const BLOCK_HELP = `usage: dmzgate block add --prefix PREFIX --reason TEXT [--protocol tcp|udp --ports RANGES] [--duration D]
       dmzgate block list [--state active|expired|removed]
       dmzgate block remove ID

  A block is the token's project's; a non-admin token lists and removes its own project's only, and may not
  block a default route, a prefix wider than /16 (IPv4) or /32 (IPv6), or the site's own hosts.

  --prefix PREFIX       address or prefix dropped as source and destination
  --reason TEXT         why (kept in the audit log; control characters are shown escaped)
  --protocol, --ports   limit the drop to a protocol and ports (either end)
  --duration D          until when: seconds or 30m, 2h, 1d (default: until removed)
${CLIENT_HELP}`;

const COLUMNS = ['id', 'state', 'project', 'prefix', 'protocol', 'ports', 'end', 'reason'];

function show(values: Values, v: Record<string, unknown> | Record<string, unknown>[]): void {
  if (values.json) console.log(JSON.stringify(v, null, 2));
  else console.log(Array.isArray(v) ? table(v, COLUMNS) : record(v));
}

export async function blockCommand(args: string[]): Promise<void> {
  const opts = {
    prefix: { type: 'string' },
    reason: { type: 'string' },
    protocol: { type: 'string' },
    ports: { type: 'string', multiple: true },
    duration: { type: 'string' },
    state: { type: 'string' },
  } as const;
  const {
    values,
    positionals: [sub, ...positionals],
  } = parse(args, opts, 2);
  if (values.help || sub === undefined || sub === 'help') {
    console.log(BLOCK_HELP);
    return;
  }
  const api = client(values);
  switch (sub) {
    case 'add': {
      const body: Record<string, unknown> = { prefix: required(values, 'prefix'), reason: required(values, 'reason') };
      if (values.protocol) body.protocol = values.protocol;
      const ports = list(values.ports);
      if (ports.length) body.ports = ports;
      if (values.duration !== undefined) {
        try {
          body.duration = parseDuration(values.duration as string);
        } catch {
          throw new UsageError(`--duration: "${String(values.duration)}" is not a duration`);
        }
      }
      show(values, await api.request('POST', '/api/v1/blocks', body));
      return;
    }
    case 'list': {
      const res = await api.request<{ blocks?: Record<string, unknown>[] } | Record<string, unknown>[]>(
        'GET',
        `/api/v1/blocks${values.state ? `?state=${encodeURIComponent(values.state as string)}` : ''}`,
      );
      show(values, Array.isArray(res) ? res : (res.blocks ?? []));
      return;
    }
    case 'remove':
      show(values, await api.request('DELETE', `/api/v1/blocks/${positiveId(positionals[0], 'block remove')}`));
      return;
    default:
      throw new UsageError(`unknown block command "${sub}"\n${BLOCK_HELP}`);
  }
}
