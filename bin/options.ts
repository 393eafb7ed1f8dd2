// The `dmzgate controller` options: parsed with node:util parseArgs (enough for flat --name value options, and
// one dependency fewer), then checked, so that a bad value stops the command before anything listens.
import { parseArgs } from 'node:util';
import { accessSync, constants, mkdirSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { REQUEST_LIMIT_DEFAULTS } from '../api/rate-limit.js';
import { trustProxies } from '../api/client-address.js';
import { parseEtcdUrl } from '../api/state/etcd-keys.js';
import { DEFAULT_PENDING_LIMITS } from '../controller/pending-connections.js';

export const CONTROLLER_HELP = `usage: dmzgate controller [options]

Runs the OpenFlow 1.3 controller. Logs are JSON lines on standard output.

  --openflow-port PORT  TCP port switches connect to (default 6653, the IANA OpenFlow port;
                        0 picks a free port, logged at start; "off" listens on TLS only)
  --openflow-host HOST  address the OpenFlow listeners (TCP and TLS) bind to (default: every address;
                        e.g. the management network's address)
  --tls-port PORT       TLS port switches connect to, with mutual authentication; needs:
  --tls-key FILE          the controller's private key (PEM)
  --tls-cert FILE         the controller's certificate (PEM)
  --tls-ca FILE           the CA certificate(s) that sign switch certificates (PEM)
                        The site config can bind each switch's datapath id to its certificate
                        (switches[].certificate): a bound datapath id is then refused to any other.
  --openflow-max-pending N
                        connections that have not finished the OpenFlow (or TLS) handshake, at most;
                        more are closed at once (default ${DEFAULT_PENDING_LIMITS.maxPending})
  --openflow-max-pending-per-source N
                        ...and from one address (default ${DEFAULT_PENDING_LIMITS.maxPendingPerSource})
  --api-port PORT       port of the REST API (default 8080; 0 picks a free port, logged at start)
  --api-host HOST       address the REST API listens on (default 127.0.0.1; 0.0.0.0 for every interface)
  --api-tls-key FILE    serve the REST API over HTTPS with this private key (PEM) and:
  --api-tls-cert FILE     its certificate (PEM; clients of the dmzgate command that do not trust
                          its issuer: NODE_EXTRA_CA_CERTS=ISSUER.pem)
  --api-tls-ca FILE     --cluster: the issuer of the members' API certificates (PEM), which a follower
                          checks the leader's against when it passes a write on (default: its own
                          certificate, for members that share one)
  --api-rate-limit N    requests per second each API token may make, in bursts of --api-rate-burst
                        (default ${REQUEST_LIMIT_DEFAULTS.perSecond}; "off": no limit); past it, 429 with Retry-After
  --api-rate-burst N    (default ${REQUEST_LIMIT_DEFAULTS.burst})
  --trusted-proxy ADDRS reverse proxies in front of the API (addresses or CIDR prefixes, comma-separated):
                        X-Forwarded-For is honoured from these peers only (default: from none)
  --metrics-auth        /metrics needs a token of scope metrics (dmzgate token create --scope metrics);
                        without it /metrics is public, like /healthz, /docs and /openapi.json
  --lldp-interval MS    LLDP link discovery: every live fabric port (and port the config does not
                        name) of every switch is probed this often
                        (default 1000, at least 100); a link is lost after 3 intervals without a frame
  --config FILE         the site configuration (YAML; default: the embedded prototype site).
                        SIGHUP reloads it, changing only the flows the change touches;
                        an active lease the new config refuses is revoked at once (its
                        flows removed, the reason in the audit trail); others keep going
  --data DIR            state directory (default ./data; created mode 0700 if missing; a warning
                        if an existing one is open to other users)
  --state URL           where tokens, leases, blocks, the audit trail and events are kept:
                        "data" (default: a journal in the --data directory), or
                        etcd://HOST:PORT[,HOST:PORT...] (etcd v3 endpoints, plain HTTP; keys under
                        /dmzgate/SITE/; one controller per site: for several, --cluster).
                        --data still holds the local admin token and the API address
  --cluster URL         run as one of several controllers of the site, sharing the state through
                        etcd://HOST:PORT[,HOST:PORT...] (instead of --state): one leader, elected
                        through an etcd lease (--cluster-ttl), is OpenFlow master on every switch
                        and makes every change; the others are slave, answer reads from their copy
                        of the state and pass writes on to the leader (503 DMZ_NO_LEADER with
                        Retry-After while there is none). Switches list every controller
                        (ovs-vsctl set-controller BR tcp:A tcp:B tcp:C). Needs --name
  --name NAME           this instance's name in the cluster (letters, digits, . _ -)
  --advertise URL       where the other instances reach this one's API (default
                        http[s]://API_HOST:API_PORT; give it when --api-host is 0.0.0.0)
  --cluster-ttl S       the leader's etcd lease in seconds (default 2): a dead leader is replaced
                        about this long after it stopped
  --log-level LEVEL     fatal, error, warn, info, debug, trace or silent
                        (default info, or the DMZGATE_LOG_LEVEL environment variable)
  -h, --help            this text

SIGINT or SIGTERM closes every switch connection and exits with status 0.`;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface ControllerCommandOptions {
  /** null: no plain-TCP listener. */
  openflowPort: number | null;
  /** undefined: every address. */
  openflowHost?: string;
  maxPending: number;
  maxPendingPerSource: number;
  tls?: { port: number; key: Buffer; cert: Buffer; ca: Buffer; files: { key: string; cert: string; ca: string } };
  apiPort: number;
  apiHost: string;
  apiTls?: { key: Buffer; cert: Buffer; ca?: Buffer };
  /** null: no per-token request limit. */
  requestLimit: { perSecond: number; burst: number } | null;
  trustedProxies: string[];
  metricsAuth: boolean;
  /** LLDP discovery's probe interval (ms). */
  lldpIntervalMs: number;
  configFile?: string;
  dataDir: string;
  /** etcd endpoints (`http://HOST:PORT`) of --state etcd://...; absent: the journal in dataDir. */
  etcd?: string[];
  /** --cluster: the etcd endpoints the instances share, this one's name and advertised API URL, the lease TTL (s). */
  cluster?: { etcd: string[]; name: string; advertise?: string; ttlSeconds: number };
  logLevel: string;
}

/** A mistake on the command line: the message is for the user, the exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

function port(name: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new UsageError(`--${name}: "${text}" is not a port number (0-65535)`);
  return Number(text);
}

function positive(name: string, text: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(n > 0)) throw new UsageError(`--${name}: "${text}" is not a positive number`);
  return n;
}

function count(name: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 1_000_000) throw new UsageError(`--${name}: "${text}" is not a count (1-1000000)`);
  return Number(text);
}

function readPem(name: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new UsageError(`--${name}: cannot read ${file}: ${(e as Error).message}`);
  }
}

/** Parses and checks the options; creates the data directory. Returns 'help' when help was asked for. */
export function parseControllerOptions(args: string[], env: NodeJS.ProcessEnv = process.env): ControllerCommandOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        'openflow-port': { type: 'string', default: '6653' },
        'openflow-host': { type: 'string' },
        'openflow-max-pending': { type: 'string', default: String(DEFAULT_PENDING_LIMITS.maxPending) },
        'openflow-max-pending-per-source': { type: 'string', default: String(DEFAULT_PENDING_LIMITS.maxPendingPerSource) },
        'tls-port': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-ca': { type: 'string' },
        'api-port': { type: 'string', default: '8080' },
        'api-host': { type: 'string', default: '127.0.0.1' },
        'api-tls-key': { type: 'string' },
        'api-tls-cert': { type: 'string' },
        'api-tls-ca': { type: 'string' },
        'api-rate-limit': { type: 'string' },
        'api-rate-burst': { type: 'string' },
        'trusted-proxy': { type: 'string', multiple: true },
        'metrics-auth': { type: 'boolean', default: false },
        'lldp-interval': { type: 'string', default: '1000' },
        config: { type: 'string' },
        data: { type: 'string', default: './data' },
        state: { type: 'string', default: 'data' },
        cluster: { type: 'string' },
        name: { type: 'string' },
        advertise: { type: 'string' },
        'cluster-ttl': { type: 'string', default: '2' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return 'help';

  const openflowPort = values['openflow-port'] === 'off' ? null : port('openflow-port', values['openflow-port']);
  const apiPort = port('api-port', values['api-port']);
  const openflowHost = values['openflow-host'];
  if (openflowHost !== undefined && openflowHost.trim() === '')
    throw new UsageError('--openflow-host: give an address (or leave the option out for every address)');
  const maxPending = count('openflow-max-pending', values['openflow-max-pending']);
  const maxPendingPerSource = count('openflow-max-pending-per-source', values['openflow-max-pending-per-source']);

  const tlsFiles = { key: values['tls-key'], cert: values['tls-cert'], ca: values['tls-ca'] };
  const anyTls = values['tls-port'] !== undefined || Object.values(tlsFiles).some((v) => v !== undefined);
  let tls: ControllerCommandOptions['tls'];
  if (anyTls) {
    const missing = ['tls-port', 'tls-key', 'tls-cert', 'tls-ca'].filter((k) => values[k as keyof typeof values] === undefined);
    if (missing.length)
      throw new UsageError(`TLS needs --tls-port, --tls-key, --tls-cert and --tls-ca together; missing ${missing.map((m) => `--${m}`).join(', ')}`);
    const tlsPort = port('tls-port', values['tls-port']!);
    if (openflowPort !== null && tlsPort !== 0 && tlsPort === openflowPort)
      throw new UsageError(`--tls-port and --openflow-port are both ${tlsPort}`);
    const files = { key: resolve(tlsFiles.key!), cert: resolve(tlsFiles.cert!), ca: resolve(tlsFiles.ca!) };
    tls = { port: tlsPort, key: readPem('tls-key', files.key), cert: readPem('tls-cert', files.cert), ca: readPem('tls-ca', files.ca), files };
  }
  if (openflowPort === null && !tls) throw new UsageError('--openflow-port off leaves nothing to listen on: give --tls-port and its files');

  let apiTls: ControllerCommandOptions['apiTls'];
  if (values['api-tls-key'] !== undefined || values['api-tls-cert'] !== undefined) {
    if (values['api-tls-key'] === undefined || values['api-tls-cert'] === undefined)
      throw new UsageError('HTTPS for the API needs --api-tls-key and --api-tls-cert together');
    apiTls = { key: readPem('api-tls-key', resolve(values['api-tls-key'])), cert: readPem('api-tls-cert', resolve(values['api-tls-cert'])) };
    try {
      createSecureContext(apiTls);
    } catch (e) {
      throw new UsageError(`--api-tls-key/--api-tls-cert: ${(e as Error).message}`);
    }
  }
  if (values['api-tls-ca'] !== undefined) {
    if (!apiTls) throw new UsageError('--api-tls-ca goes with --api-tls-key and --api-tls-cert');
    if (values.cluster === undefined) throw new UsageError('--api-tls-ca is for --cluster (a follower checks the leader with it)');
    apiTls.ca = readPem('api-tls-ca', resolve(values['api-tls-ca']));
  }

  let requestLimit: ControllerCommandOptions['requestLimit'] = { ...REQUEST_LIMIT_DEFAULTS };
  if (values['api-rate-limit'] === 'off') {
    if (values['api-rate-burst'] !== undefined) throw new UsageError('--api-rate-burst has no use with --api-rate-limit off');
    requestLimit = null;
  } else {
    if (values['api-rate-limit'] !== undefined) requestLimit.perSecond = positive('api-rate-limit', values['api-rate-limit']);
    if (values['api-rate-burst'] !== undefined) requestLimit.burst = positive('api-rate-burst', values['api-rate-burst']);
    if (requestLimit.burst < 1) throw new UsageError(`--api-rate-burst: ${requestLimit.burst} is less than one request`);
  }

  const trustedProxies = (values['trusted-proxy'] ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  for (const p of trustedProxies) {
    try {
      trustProxies([p]);
    } catch {
      throw new UsageError(`--trusted-proxy: "${p}" is not an address or a CIDR prefix`);
    }
  }

  const lldpIntervalMs = count('lldp-interval', values['lldp-interval']);
  if (lldpIntervalMs < 100) throw new UsageError(`--lldp-interval: ${lldpIntervalMs} ms is under 100 ms (a probe per port per interval)`);

  let configFile: string | undefined;
  if (values.config !== undefined) {
    configFile = resolve(values.config);
    try {
      if (!statSync(configFile).isFile()) throw new Error('not a file');
      accessSync(configFile, constants.R_OK);
    } catch (e) {
      throw new UsageError(`--config: cannot read ${configFile}: ${(e as Error).message}`);
    }
  }

  const dataDir = resolve(values.data);
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    accessSync(dataDir, constants.R_OK | constants.W_OK);
  } catch (e) {
    throw new UsageError(`--data: cannot use ${dataDir} as the state directory: ${(e as Error).message}`);
  }

  let etcd: string[] | undefined;
  if (values.state !== 'data') {
    try {
      etcd = parseEtcdUrl(values.state);
    } catch (e) {
      throw new UsageError(`--state: ${(e as Error).message}, nor "data"`);
    }
  }

  let cluster: ControllerCommandOptions['cluster'];
  if (values.cluster !== undefined) {
    if (etcd) throw new UsageError('--cluster keeps the state in its etcd: leave --state out');
    if (values.name === undefined) throw new UsageError("--cluster needs --name (this instance's name in the cluster)");
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(values.name)) throw new UsageError(`--name: "${values.name}" is not 1-64 letters, digits, ".", "_" or "-"`);
    let hosts: string[];
    try {
      hosts = parseEtcdUrl(values.cluster);
    } catch (e) {
      throw new UsageError(`--cluster: ${(e as Error).message}`);
    }
    const scheme = apiTls ? 'https' : 'http';
    if (values.advertise !== undefined && !new RegExp(`^${scheme}://[^/?#]+/?$`).test(values.advertise))
      throw new UsageError(`--advertise: "${values.advertise}" is not ${scheme}://HOST:PORT${apiTls ? ' (the API is served over HTTPS)' : ''}`);
    const ttl = count('cluster-ttl', values['cluster-ttl']);
    cluster = { etcd: hosts, name: values.name, ttlSeconds: ttl, ...(values.advertise !== undefined ? { advertise: values.advertise } : {}) };
  } else if (values.name !== undefined || values.advertise !== undefined) {
    throw new UsageError('--name and --advertise are for --cluster');
  }

  const logLevel = values['log-level'] ?? env.DMZGATE_LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new UsageError(`--log-level: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);

  return {
    openflowPort,
    ...(openflowHost !== undefined ? { openflowHost } : {}),
    maxPending,
    maxPendingPerSource,
    ...(tls ? { tls } : {}),
    apiPort,
    apiHost: values['api-host'],
    ...(apiTls ? { apiTls } : {}),
    requestLimit,
    trustedProxies,
    metricsAuth: values['metrics-auth'],
    lldpIntervalMs,
    ...(configFile ? { configFile } : {}),
    dataDir,
    ...(etcd ? { etcd } : {}),
    ...(cluster ? { cluster } : {}),
    logLevel,
  };
}
