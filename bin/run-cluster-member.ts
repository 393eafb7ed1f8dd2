// `dmzgate controller --cluster etcd://... --name NAME`: one instance of a controller cluster (api/README.md,
// "Cluster"). Every instance loads the site config, listens for the switches (each lists every instance) and
// campaigns for the lead. The leader claims OpenFlow master with its term's generation id and runs the leader
// stack (cluster-leader-stack.ts); the others are slave, keep a replica of the state from the etcd watch for
// reads, and pass writes on to the leader. A deposed leader stops its stack and rejoins as a follower. Every
// instance, leader or not, serves the event stream from its replica: a client stays connected across terms.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Etcd3 } from 'etcd3';
import { Controller } from '../controller/controller.js';
import { createLogger } from '../controller/log.js';
import { refuseClaim } from '../apps/dmz/switch-identity.js';
import { openEtcdStore, type EtcdStateStore } from '../api/index.js';
import { Authenticator } from '../api/authenticate.js';
import { EventHub } from '../api/events.js';
import { FailureLimiter, RequestLimiter } from '../api/rate-limit.js';
import { LeaderElection, type LeaderInfo } from '../api/cluster/leader-election.js';
import { FORWARDED_BY, forward, noLeader } from '../api/cluster/forward.js';
import { replicaRead, sendJson } from '../api/cluster/replica-reads.js';
import type { ControllerCommandOptions } from './options.js';
import { claimDataDir, announceApi, dataDirModeProblem } from './data-dir.js';
import { ensureAdminToken } from './run-controller.js';
import { exitOnCrash, siteOrExit } from './start-up.js';
import { LeaderStack } from './cluster-leader-stack.js';

type ClusterOptions = ControllerCommandOptions & { cluster: NonNullable<ControllerCommandOptions['cluster']> };

const SHUTDOWN_GRACE_MS = 10_000;
const CAUGHT_UP_WAIT_MS = 2_000;

export async function runClusterMember(opts: ClusterOptions, version: string): Promise<void> {
  const log = createLogger({ level: opts.logLevel }).child({ instance: opts.cluster.name });
  exitOnCrash(log);
  const site = siteOrExit(opts.configFile);
  const name = opts.cluster.name;
  const prefix = `/dmzgate/${encodeURIComponent(site.name)}/`;
  log.info({ version, site: site.name, name, etcd: opts.cluster.etcd, dataDir: opts.dataDir }, 'dmzgate cluster member starting');

  const controller = new Controller({
    port: opts.openflowPort,
    ...(opts.openflowHost !== undefined ? { host: opts.openflowHost } : {}),
    maxPending: opts.maxPending,
    maxPendingPerSource: opts.maxPendingPerSource,
    logger: log,
    ...(opts.tls ? { tls: { port: opts.tls.port, key: opts.tls.key, cert: opts.tls.cert, ca: opts.tls.ca } } : {}),
    authorize: (claim) => refuseClaim(site, claim),
  });
  // Until a leader is known, slave here: nothing may change a switch. No generation id yet, so nothing is asked
  // of the switches (any we made up could be older than one they saw: refused as stale).
  void controller.setRole('slave');
  controller.on('roleRefused', (conn, e) => log.warn({ dpid: conn.dpidText, err: e.message }, 'cluster: switch refused our role'));

  let release: () => void;
  let replica: EtcdStateStore;
  const client = new Etcd3({ hosts: opts.cluster.etcd, dialTimeout: 5_000, grpcOptions: { 'grpc.use_local_subchannel_pool': 1 } });
  try {
    const problem = dataDirModeProblem(opts.dataDir);
    if (problem) log.warn({ dataDir: opts.dataDir }, problem);
    release = claimDataDir(opts.dataDir);
    replica = await openEtcdStore({ hosts: opts.cluster.etcd, prefix, logger: log.child({ component: 'replica' }) });
  } catch (e) {
    log.fatal({ err: (e as Error).message, etcd: opts.cluster.etcd }, 'cannot use the etcd state or the data directory');
    process.exit(1);
  }

  let stack: LeaderStack | undefined;
  let election: LeaderElection | undefined;

  // The event stream, from the replica: the events every leader committed, in id order (ids come from etcd, so
  // they rise across terms and a client resumes with `since` on any instance).
  const auth = new Authenticator({
    view: replica.view,
    logger: log,
    failures: new FailureLimiter(),
    ...(opts.requestLimit ? { requests: new RequestLimiter(opts.requestLimit) } : {}),
    count: () => undefined,
  });
  const events = new EventHub({
    store: replica,
    logger: log.child({ component: 'events' }),
    authenticate: (req, text) => auth.check(req.socket.remoteAddress ?? 'unknown', text),
  });
  const unfollow = events.follow(replica.revision);
  // Until the replica holds `revision` (a forwarded write's), or a watch that lags gave it CAUGHT_UP_WAIT_MS.
  const caughtUp = (revision: number): Promise<void> =>
    new Promise((resolve) => {
      if (replica.revision >= revision) return resolve();
      let unsubscribe = (): void => undefined;
      const done = (): void => {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      };
      const timer = setTimeout(done, CAUGHT_UP_WAIT_MS);
      unsubscribe = replica.subscribe(replica.revision, (b) => {
        if (b.revision >= revision) done();
      });
    });

  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/api/v1/cluster') {
      const l = election?.leader;
      sendJson(res, 200, {
        name,
        role: stack ? 'leader' : 'follower',
        leader: l ? { name: l.name, url: l.url, generation: String(l.generation) } : null,
        lastEventId: replica.view.lastEventId,
      });
      return;
    }
    if (stack) {
      stack.handle(req, res);
      return;
    }
    if (req.method === 'GET' && (path === '/healthz' || path === '/readyz')) {
      sendJson(res, 200, { status: 'ok', role: 'follower' });
      return;
    }
    const read = replicaRead(replica.view, req);
    if (read) {
      sendJson(res, read.status, read.body, read.headers);
      return;
    }
    const l = election?.leader;
    if (req.headers[FORWARDED_BY] !== undefined) noLeader(res, `${name} does not lead the cluster (the leader changed)`);
    else if (!l || l.name === name) noLeader(res, 'the cluster is electing its leader');
    else forward(req, res, { leaderUrl: l.url, self: name, ...(opts.apiTls ? { ca: opts.apiTls.ca ?? opts.apiTls.cert } : {}) }, caughtUp);
  };
  // HTTPS when given its files: tokens cross the network in every request, forwarded ones too.
  const front = opts.apiTls ? createHttpsServer({ key: opts.apiTls.key, cert: opts.apiTls.cert }, serve) : createServer(serve);
  front.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => events.handleUpgrade(req, socket, head));

  // Terms start and stop one after another; a term deposed while it starts is stopped as soon as it has started.
  let transitions = Promise.resolve();
  const serially = (what: string, f: () => Promise<void>): void => {
    transitions = transitions.then(f).catch((e: Error) => log.error({ err: e.message }, `cluster: ${what} failed`));
  };
  const follow = (leader: LeaderInfo | undefined): void => {
    if (stack || !leader || leader.name === name) return;
    void controller.setRole('slave', leader.generation);
  };
  const lead = (term: LeaderInfo): void =>
    serially('taking the lead', async () => {
      if (election?.leader?.key !== term.key || !election.isLeader) return;
      const started = Date.now();
      const outcomes = await controller.setRole('master', term.generation);
      const roleMs = Date.now() - started;
      for (const o of outcomes) if (o.error) log.warn({ dpid: o.conn.dpidText, err: o.error.message }, 'cluster: master claim failed on a switch');
      const next = await LeaderStack.start({
        opts,
        site,
        controller,
        election: election,
        term,
        prefix,
        log,
      });
      if (!election?.isLeader || election.leader?.key !== term.key) {
        await next.stop();
        return;
      }
      stack = next;
      // Not on the way to serving: `dmzgate token ...` on this host needs it, the failover does not.
      ensureAdminToken(next.store, opts.dataDir).catch((e: Error) => log.warn({ err: e.message }, 'cluster: cannot write the local admin token'));
      log.info(
        { generation: String(term.generation), ms: Date.now() - started, roleMs, ...next.phases, switches: controller.switches().length },
        'cluster: leading',
      );
    });
  const stepDown = (why: string): void => {
    const was = stack;
    stack = undefined; // requests are a follower's from now on
    const known = election?.leader;
    void controller.setRole('slave', known && known.name !== name ? known.generation : was?.term.generation);
    serially('stepping down', async () => {
      await was?.stop();
      log.info({ why }, 'cluster: following');
    });
  };

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    setTimeout(() => {
      log.error({ ms: SHUTDOWN_GRACE_MS }, 'shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    const was = stack;
    stack = undefined;
    void (async () => {
      await was?.stop();
      await election?.close();
      unfollow();
      events.close();
      front.close();
      await controller.close();
      await replica.close().catch(() => undefined);
      client.close();
      release();
      log.info('stopped');
      process.exit(0);
    })();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  try {
    const bound = await controller.listen();
    await new Promise<void>((resolve, reject) => {
      front.once('error', reject);
      front.listen(opts.apiPort, opts.apiHost, () => resolve());
    });
    const port = (front.address() as AddressInfo).port;
    const url = `${opts.apiTls ? 'https' : 'http'}://${opts.apiHost.includes(':') ? `[${opts.apiHost}]` : opts.apiHost}:${port}`;
    announceApi(opts.dataDir, url);
    election = new LeaderElection({
      client,
      hosts: opts.cluster.etcd,
      dir: `/dmzgate-leader/${encodeURIComponent(site.name)}/`,
      name,
      url: (opts.cluster.advertise ?? url).replace(/\/$/, ''),
      ttlSeconds: opts.cluster.ttlSeconds,
      logger: log,
    });
    election.on('leader', follow);
    election.on('elected', lead);
    election.on('deposed', stepDown);
    await election.start();
    log.info({ openflowPort: bound.port ?? null, tlsPort: bound.tlsPort ?? null, api: url }, 'controller ready');
  } catch (e) {
    log.fatal({ err: e }, `cannot start: ${(e as Error).message}`);
    await controller.close().catch(() => undefined);
    release();
    process.exit(1);
  }
}
