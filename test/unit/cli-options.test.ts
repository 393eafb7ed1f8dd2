// `dmzgate controller` option parsing and checking (bin/options.ts); the command itself is exercised by
// test/integration/cli.test.ts.
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseControllerOptions, UsageError, type ControllerCommandOptions } from '../../bin/options.js';
import { selfSigned } from '../helpers/self-signed.js';

const dir = mkdtempSync(join(tmpdir(), 'dmzgate-opts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const pem = join(dir, 'x.pem');
writeFileSync(pem, '-----BEGIN X-----\n-----END X-----\n');
const data = ['--data', join(dir, 'data')];

const parse = (...args: string[]) => parseControllerOptions([...data, ...args], {}) as ControllerCommandOptions;
const refuse = (args: string[], why: RegExp) => {
  expect(() => parseControllerOptions([...data, ...args], {})).toThrow(UsageError);
  expect(() => parseControllerOptions([...data, ...args], {})).toThrow(why);
};

describe('dmzgate controller options', () => {
  it('defaults: OpenFlow on 6653, API port 8080, info logs, ./data resolved and created', () => {
    const o = parse();
    expect(o).toMatchObject({ openflowPort: 6653, apiPort: 8080, logLevel: 'info', dataDir: join(dir, 'data') });
    expect(o.tls).toBeUndefined();
    expect(o.configFile).toBeUndefined();
    expect(o.openflowHost).toBeUndefined(); // every address
    expect(o).toMatchObject({ maxPending: 1024, maxPendingPerSource: 128, lldpIntervalMs: 1000 });
    expect(existsSync(join(dir, 'data'))).toBe(true);
  });

  it('takes every option', () => {
    const cfg = join(dir, 'site.json');
    writeFileSync(cfg, '{}');
    const o = parse(
      '--openflow-port',
      '0',
      '--api-port',
      '9090',
      '--config',
      cfg,
      '--log-level',
      'debug',
      '--tls-port',
      '6654',
      '--tls-key',
      pem,
      '--tls-cert',
      pem,
      '--tls-ca',
      pem,
    );
    expect(o).toMatchObject({ openflowPort: 0, apiPort: 9090, configFile: cfg, logLevel: 'debug' });
    expect(o.tls?.port).toBe(6654);
    expect(parse('--openflow-host', '10.0.0.1', '--openflow-max-pending', '50', '--openflow-max-pending-per-source', '5')).toMatchObject({
      openflowHost: '10.0.0.1',
      maxPending: 50,
      maxPendingPerSource: 5,
    });
    expect(parse('--lldp-interval', '250').lldpIntervalMs).toBe(250);
    expect(o.tls?.key.toString()).toContain('BEGIN X');
    expect(parseControllerOptions(['--help'])).toBe('help');
  });

  it('the log level falls back to DMZGATE_LOG_LEVEL', () => {
    expect((parseControllerOptions(data, { DMZGATE_LOG_LEVEL: 'warn' }) as ControllerCommandOptions).logLevel).toBe('warn');
    expect((parseControllerOptions([...data, '--log-level', 'error'], { DMZGATE_LOG_LEVEL: 'warn' }) as ControllerCommandOptions).logLevel).toBe(
      'error',
    );
  });

  it('"--openflow-port off" listens on TLS only, and needs TLS', () => {
    expect(parse('--openflow-port', 'off', '--tls-port', '6654', '--tls-key', pem, '--tls-cert', pem, '--tls-ca', pem).openflowPort).toBeNull();
    refuse(['--openflow-port', 'off'], /nothing to listen on/);
  });

  it('--state: the data directory by default, or etcd endpoints', () => {
    expect(parse().etcd).toBeUndefined();
    expect(parse('--state', 'data').etcd).toBeUndefined();
    expect(parse('--state', 'etcd://10.0.0.1:2379,etcd2.example.org:2379').etcd).toEqual(['http://10.0.0.1:2379', 'http://etcd2.example.org:2379']);
    expect(parse('--state', 'etcd://[::1]:2379').etcd).toEqual(['http://[::1]:2379']);
    refuse(['--state', 'etcd://10.0.0.1'], /--state: "10.0.0.1" in "etcd:\/\/10.0.0.1" is not HOST:PORT/);
    refuse(['--state', 'http://10.0.0.1:2379'], /--state: "http:\/\/10.0.0.1:2379" is not etcd:\/\/HOST:PORT/);
    refuse(['--state', 'etcd://a:1,'], /is not HOST:PORT/);
  });

  it('--cluster: the etcd endpoints, a name, an advertised URL and the lease TTL', () => {
    expect(parse().cluster).toBeUndefined();
    expect(parse('--cluster', 'etcd://10.0.0.1:2379,10.0.0.2:2379', '--name', 'ctl-a').cluster).toEqual({
      etcd: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'],
      name: 'ctl-a',
      ttlSeconds: 2,
    });
    expect(parse('--cluster', 'etcd://e:2379', '--name', 'b', '--advertise', 'http://10.1.1.2:8080', '--cluster-ttl', '5').cluster).toEqual({
      etcd: ['http://e:2379'],
      name: 'b',
      advertise: 'http://10.1.1.2:8080',
      ttlSeconds: 5,
    });
    refuse(['--cluster', 'etcd://e:2379'], /--cluster needs --name/);
    refuse(['--cluster', 'etcd://e:2379', '--name', 'a b'], /--name: "a b" is not/);
    refuse(['--cluster', 'etcd://e:2379', '--name', 'a', '--state', 'etcd://e:2379'], /leave --state out/);
    refuse(['--cluster', 'e:2379', '--name', 'a'], /--cluster: .* is not etcd:\/\/HOST:PORT/);
    refuse(['--cluster', 'etcd://e:2379', '--name', 'a', '--advertise', 'https://x:1'], /--advertise: .* is not http:\/\/HOST:PORT/);
    refuse(['--name', 'a'], /--name and --advertise are for --cluster/);
    // Over HTTPS: an https URL to advertise, and the issuer a follower checks the leader's certificate against.
    const d = mkdtempSync(join(dir, 'pki-'));
    const { keyFile, certFile } = selfSigned(d);
    const tls = ['--api-tls-key', keyFile, '--api-tls-cert', certFile];
    const https = parse('--cluster', 'etcd://e:2379', '--name', 'a', ...tls, '--advertise', 'https://x:1', '--api-tls-ca', certFile);
    expect(https.cluster?.advertise).toBe('https://x:1');
    expect(https.apiTls?.ca?.toString()).toContain('BEGIN CERTIFICATE');
    refuse(['--cluster', 'etcd://e:2379', '--name', 'a', ...tls, '--advertise', 'http://x:1'], /--advertise: .* is not https:\/\/HOST:PORT/);
    refuse(['--cluster', 'etcd://e:2379', '--name', 'a', '--api-tls-ca', certFile], /--api-tls-ca goes with --api-tls-key/);
    refuse([...tls, '--api-tls-ca', certFile], /--api-tls-ca is for --cluster/);
  });

  it('refuses what cannot work', () => {
    refuse(['--openflow-port', '65536'], /not a port number/);
    refuse(['--openflow-port', '-1'], /not a port number|ambiguous|Option/);
    refuse(['--api-port', '80a'], /not a port number/);
    refuse(['--openflow-max-pending', '0'], /--openflow-max-pending: "0" is not a count/);
    refuse(['--openflow-max-pending-per-source', 'many'], /is not a count/);
    refuse(['--openflow-host', ''], /--openflow-host: give an address/);
    refuse(['--tls-key', pem], /missing --tls-port, --tls-cert, --tls-ca/);
    refuse(['--tls-port', '6653', '--tls-key', pem, '--tls-cert', pem, '--tls-ca', pem], /both 6653/);
    refuse(['--tls-port', '6654', '--tls-key', join(dir, 'none'), '--tls-cert', pem, '--tls-ca', pem], /--tls-key: cannot read/);
    refuse(['--config', dir], /--config: cannot read .*not a file/);
    refuse(['--config', join(dir, 'missing.json')], /--config: cannot read/);
    refuse(['--data', pem], /--data: cannot use/);
    refuse(['--log-level', 'verbose'], /not one of/);
    refuse(['--lldp-interval', '50'], /--lldp-interval: 50 ms is under 100 ms/);
    refuse(['--lldp-interval', '1s'], /--lldp-interval: "1s" is not a count/);
    refuse(['extra'], /positional|Unexpected argument/i);
  });

  it("the API's exposure: HTTPS, the per-token request limit, trusted proxies, metrics behind a token", () => {
    const d = mkdtempSync(join(dir, 'pki-'));
    const { keyFile, certFile } = selfSigned(d);
    const o = parse(
      '--api-tls-key',
      keyFile,
      '--api-tls-cert',
      certFile,
      '--api-rate-limit',
      '20',
      '--api-rate-burst',
      '50',
      '--trusted-proxy',
      '10.0.0.1,192.0.2.0/24',
      '--trusted-proxy',
      '::1',
      '--metrics-auth',
    );
    expect(o.apiTls?.cert.toString()).toContain('BEGIN CERTIFICATE');
    expect(o).toMatchObject({ requestLimit: { perSecond: 20, burst: 50 }, trustedProxies: ['10.0.0.1', '192.0.2.0/24', '::1'], metricsAuth: true });
    expect(parse()).toMatchObject({ requestLimit: { perSecond: 100, burst: 200 }, trustedProxies: [], metricsAuth: false });
    expect(parse('--api-rate-limit', 'off').requestLimit).toBeNull();
    expect(parse().apiTls).toBeUndefined();
    refuse(['--api-tls-key', keyFile], /--api-tls-key and --api-tls-cert together/);
    refuse(['--api-tls-key', pem, '--api-tls-cert', certFile], /--api-tls-key\/--api-tls-cert/);
    refuse(['--api-tls-key', keyFile, '--api-tls-cert', join(d, 'missing.crt')], /--api-tls-cert: cannot read/);
    refuse(['--trusted-proxy', '10.0.0.300'], /--trusted-proxy: "10.0.0.300" is not an address/);
    refuse(['--api-rate-limit', '0'], /--api-rate-limit: "0" is not a positive number/);
    refuse(['--api-rate-limit', 'fast'], /not a positive number/);
    refuse(['--api-rate-burst', '0.5'], /less than one request/);
    refuse(['--api-rate-limit', 'off', '--api-rate-burst', '5'], /no use with --api-rate-limit off/);
  });
});
