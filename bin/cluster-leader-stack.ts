// What only the cluster's leader runs, started when it is elected and stopped when it is deposed: a state store
// whose every etcd transaction is fenced by the leader key, the flow manager, the DMZ app (decisions, installs,
// lease deadlines, the counter poll), LLDP discovery and the full API. Starting it loads the state from etcd as
// the last leader left it and reconciles every switch (correct flows stay in place: no forwarding gap).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import type { Controller } from '../controller/controller.js';
import { FlowManager } from '../controller/flow-manager.js';
import type { Logger } from '../controller/log.js';
import { LinkDiscovery } from '../controller/lldp-discovery.js';
import { DmzApp } from '../apps/dmz/dmz-app.js';
import { FabricMonitor } from '../apps/dmz/fabric-monitor.js';
import { probesPort } from '../apps/dmz/link-states.js';
import type { Site } from '../apps/dmz/site.js';
import { buildApi, openEtcdStore, type StateBackend } from '../api/index.js';
import type { LeaderElection, LeaderInfo } from '../api/cluster/leader-election.js';
import { FORWARDED_BY, STATE_REVISION } from '../api/cluster/forward.js';
import type { ControllerCommandOptions } from './options.js';

export interface LeaderStackOptions {
  opts: ControllerCommandOptions & { cluster: NonNullable<ControllerCommandOptions['cluster']> };
  site: Site;
  controller: Controller;
  election: LeaderElection;
  term: LeaderInfo;
  prefix: string;
  log: Logger;
}

export class LeaderStack {
  private constructor(
    readonly term: LeaderInfo,
    readonly api: FastifyInstance,
    private readonly parts: { store: StateBackend; flows: FlowManager; app: DmzApp; discovery: LinkDiscovery; monitor: FabricMonitor },
  ) {}

  /** How long each step of the last start took (ms), for the log. */
  readonly phases: Record<string, number> = {};

  static async start(o: LeaderStackOptions): Promise<LeaderStack> {
    const { controller, log } = o;
    // The longest the start held the event loop (the API and the app wait that long), for the 'leading' log line.
    const blocked = monitorEventLoopDelay({ resolution: 10 });
    blocked.enable();
    let t = performance.now();
    const phases: Record<string, number> = {};
    const phase = (name: string): void => {
      const now = performance.now();
      phases[name] = Math.round(now - t);
      t = now;
    };
    const store = await openEtcdStore({
      hosts: o.opts.cluster.etcd,
      prefix: o.prefix,
      fence: () => o.election.fence(),
      logger: log.child({ component: 'store' }),
    });
    phase('storeMs');
    let stack: LeaderStack | undefined;
    try {
      const snapshot = await store.load();
      // From the flow manager's creation to the app's declaring every desired flow, nothing may yield: a switch
      // connecting in between would be reconciled against an empty desired state, deleting correct flows.
      const flows = new FlowManager(controller, { logger: log });
      const app = new DmzApp({ site: o.site, controller, flows, logger: log });
      const discovery = new LinkDiscovery({
        controller,
        logger: log,
        intervalMs: o.opts.lldpIntervalMs,
        probes: (dpid, port) => probesPort(app.site, dpid, port),
      });
      const monitor = new FabricMonitor({ site: () => app.site, controller, discovery, logger: log });
      const api = buildApi({
        app,
        controller,
        flows,
        store,
        fabric: { discovery, monitor },
        logger: log,
        requestLimit: o.opts.requestLimit ?? false,
        trustedProxies: o.opts.trustedProxies,
        metricsAuth: o.opts.metricsAuth,
      });
      // A follower holds a forwarded write's answer until its replica has this revision (forward.ts).
      api.addHook('onSend', async (req, reply) => {
        if (req.method !== 'GET' && req.headers[FORWARDED_BY] !== undefined) void reply.header(STATE_REVISION, String(store.revision));
      });
      stack = new LeaderStack(o.term, api, { store, flows, app, discovery, monitor });
      const started = app.start(snapshot);
      await api.ready();
      phase('apiMs');
      await started;
      phase('appMs');
      monitor.start();
      discovery.start();
      Object.assign(stack.phases, phases, { maxBlockMs: Math.round(blocked.max / 1e6) });
      return stack;
    } catch (e) {
      if (stack) await stack.stop();
      else await store.close().catch(() => undefined);
      throw e;
    } finally {
      blocked.disable();
    }
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    this.api.routing(req, res);
  }

  /** The fenced store of this term (for what the leader writes beside the app: the local admin token). */
  get store(): StateBackend {
    return this.parts.store;
  }

  /** Stops every writer at once (timers, poll, discovery), then closes the API and the store. */
  async stop(): Promise<void> {
    const { app, discovery, monitor, flows, store } = this.parts;
    app.stop();
    discovery.stop();
    monitor.stop();
    flows.close();
    await this.api.close().catch(() => undefined);
    await store.close().catch(() => undefined);
  }
}
