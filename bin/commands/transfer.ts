// `dmzgate transfer ...`: request, list, show, extend and release a transfer's bypass, against a running API.
import { parseDuration } from '../../apps/dmz/config.js';
import { UsageError } from '../options.js';
import { table, record } from '../table.js';
import { CLIENT_HELP, client, list, parse, positiveId, required, type Values } from './common.js';

export const TRANSFER_HELP = `usage: dmzgate transfer request --dtn NAME --remote PREFIX --ports RANGES [options]
       dmzgate transfer list [--state STATE] [--project NAME]
       dmzgate transfer show ID
       dmzgate transfer extend ID (--duration D | --end TIME)
       dmzgate transfer release ID

request options:
  --dtn NAME            the local DTN (from the site config)
  --remote PREFIX       the remote address or prefix (e.g. 192.0.2.0/24)
  --ports RANGES        DTN-side ports, e.g. 50000-51000 (comma-separated or repeated)
  --remote-ports RANGES remote-side ports (default: all)
  --protocol tcp|udp    (default tcp)
  --path PATH           routed or circuit:NAME (default routed)
  --duration D          how long: seconds or 30m, 2h, 1d (default 1h)
  --end TIME            or when it ends (ISO 8601)
  --rate MBPS           rate cap in Mbit/s
  --dry-run             check the request as a real one is and print the flows it would install (ovs-ofctl
                        text); nothing is installed or recorded
${CLIENT_HELP}`;

const COLUMNS = ['id', 'project', 'state', 'dtn', 'remote', 'protocol', 'local_ports', 'path', 'end'];

type View = Record<string, unknown> & { counters?: Record<string, number> };

function show(values: Values, v: View | View[]): void {
  if (values.json) {
    console.log(JSON.stringify(v, null, 2));
    return;
  }
  if (Array.isArray(v)) console.log(table(v, COLUMNS));
  else
    console.log(
      record({
        ...v,
        counters: v.counters
          ? `in ${v.counters.bytes_in} B / ${v.counters.packets_in} pkts, out ${v.counters.bytes_out} B / ${v.counters.packets_out} pkts`
          : '',
      }),
    );
}

interface Plan {
  switch: string;
  flow_count: number;
  flows: string[];
  rate_mbps?: number;
  flow_budget: { request: number; switch: number; switch_in_use: number };
}

function showPlan(values: Values, p: Plan): void {
  if (values.json) {
    console.log(JSON.stringify(p, null, 2));
    return;
  }
  const b = p.flow_budget;
  console.log(
    `would install ${p.flow_count} flows on ${p.switch}${p.rate_mbps !== undefined ? ` at ${p.rate_mbps} Mbit/s` : ''} ` +
      `(per request at most ${b.request}; the switch holds ${b.switch_in_use} of ${b.switch})`,
  );
  for (const f of p.flows) console.log(`  ${f}`);
}

function duration(text: string): number {
  try {
    return parseDuration(text);
  } catch {
    throw new UsageError(`--duration: "${text}" is not a duration (seconds, or 30m, 2h, 1d)`);
  }
}

export async function transferCommand(args: string[]): Promise<void> {
  const opts = {
    dtn: { type: 'string' },
    remote: { type: 'string' },
    ports: { type: 'string', multiple: true },
    'remote-ports': { type: 'string', multiple: true },
    protocol: { type: 'string' },
    path: { type: 'string' },
    duration: { type: 'string' },
    end: { type: 'string' },
    rate: { type: 'string' },
    state: { type: 'string' },
    project: { type: 'string' },
    'dry-run': { type: 'boolean' },
  } as const;
  const {
    values,
    positionals: [sub, ...positionals],
  } = parse(args, opts, 2);
  if (values.help || sub === undefined || sub === 'help') {
    console.log(TRANSFER_HELP);
    return;
  }
  const api = client(values);
  switch (sub) {
    case 'request': {
      const body: Record<string, unknown> = {
        dtn: required(values, 'dtn'),
        remote: required(values, 'remote'),
        protocol: values.protocol ?? 'tcp',
        local_ports: list(values.ports),
        path: values.path ?? 'routed',
      };
      if ((body.local_ports as string[]).length === 0) throw new UsageError('--ports is required');
      const remotePorts = list(values['remote-ports']);
      if (remotePorts.length) body.remote_ports = remotePorts;
      if (values.end !== undefined) body.end = values.end;
      else body.duration = duration((values.duration as string) ?? '1h');
      if (values.rate !== undefined) body.rate_mbps = Number(values.rate);
      if (values['dry-run']) {
        showPlan(values, await api.request<Plan>('POST', '/api/v1/transfers?dry_run=true', body));
        return;
      }
      show(values, await api.request<View>('POST', '/api/v1/transfers', body));
      return;
    }
    case 'list': {
      const q = new URLSearchParams();
      if (values.state) q.set('state', values.state as string);
      if (values.project) q.set('project', values.project as string);
      const res = await api.request<{ transfers?: View[] } | View[]>('GET', `/api/v1/transfers${q.size ? `?${q}` : ''}`);
      show(values, Array.isArray(res) ? res : (res.transfers ?? []));
      return;
    }
    case 'show':
      show(values, await api.request<View>('GET', `/api/v1/transfers/${positiveId(positionals[0], 'transfer show')}`));
      return;
    case 'extend': {
      const id = positiveId(positionals[0], 'transfer extend');
      const body = values.end !== undefined ? { end: values.end } : { duration: duration(required(values, 'duration')) };
      show(values, await api.request<View>('PATCH', `/api/v1/transfers/${id}`, body));
      return;
    }
    case 'release':
      show(values, await api.request<View>('DELETE', `/api/v1/transfers/${positiveId(positionals[0], 'transfer release')}`));
      return;
    default:
      throw new UsageError(`unknown transfer command "${sub}"\n${TRANSFER_HELP}`);
  }
}
