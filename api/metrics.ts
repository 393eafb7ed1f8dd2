// Prometheus metrics (prom-client), on a registry of our own (not the global one) so that several API instances
// can live in one process (tests). Gauges that mirror state are computed at scrape time; nothing is polled from
// the switches for a scrape: flows per switch are the flow manager's desired counts (what the controller keeps
// the switch holding; /api/v1/switches also asks the switch itself).
import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';
import type { Controller } from '../controller/controller.js';
import type { FlowManager } from '../controller/flow-manager.js';
import { dpidText } from '../controller/errors.js';
import { errorTypeName, errorCodeName } from '../controller/openflow/index.js';
import type { DmzApp } from '../apps/dmz/dmz-app.js';
import type { DmzEvent } from '../apps/dmz/dmz-app-shapes.js';
import { ownerIdOf } from '../controller/cookie.js';
import { ownerName } from '../apps/dmz/owners.js';
import { JournalStateStore } from './state/journal-store.js';
import type { StateBackend } from './state/state-store.js';

export const ownerLabel = (cookie: bigint): string => ownerName(ownerIdOf(cookie)) ?? `owner-0x${ownerIdOf(cookie).toString(16)}`;

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  authFailures: Counter<'code'>;
  /** Stops following the controller and store. */
  detach(): void;
}

export function createMetrics(deps: { app: DmzApp; controller: Controller; flows: FlowManager; store: StateBackend }): Metrics {
  const { app, controller, flows, store } = deps;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'dmzgate_' });

  new Gauge({
    name: 'dmzgate_switches_connected',
    help: 'Switches connected (OpenFlow handshake done)',
    registers: [registry],
    collect() {
      this.set(controller.switches().length);
    },
  });
  new Gauge({
    name: 'dmzgate_leases_active',
    help: 'Active transfer leases, by project',
    labelNames: ['project'],
    registers: [registry],
    collect() {
      this.reset();
      const by = new Map<string, number>();
      for (const l of app.book.active()) by.set(l.project, (by.get(l.project) ?? 0) + 1);
      for (const [project, n] of by) this.set({ project }, n);
    },
  });
  new Gauge({
    name: 'dmzgate_blocks_active',
    help: 'Active blocks',
    registers: [registry],
    collect() {
      this.set(app.book.activeBlocks().length);
    },
  });
  new Gauge({
    name: 'dmzgate_flows',
    help: 'Flows the flow manager keeps on each site switch (desired state), by owner',
    labelNames: ['dpid', 'owner'],
    registers: [registry],
    collect() {
      this.reset();
      for (const sw of app.site.switches) {
        for (const [owner, n] of flows.countDesired(sw.dpid, ownerLabel)) this.set({ dpid: dpidText(sw.dpid), owner }, n);
      }
    },
  });
  new Gauge({
    name: 'dmzgate_lease_bytes',
    help: "Bytes counted by an active lease's flows (last poll), by direction (in: WAN to DTN)",
    labelNames: ['lease', 'project', 'direction'],
    registers: [registry],
    collect() {
      this.reset();
      for (const l of app.book.active()) {
        this.set({ lease: String(l.id), project: l.project, direction: 'in' }, l.counters.bytesIn);
        this.set({ lease: String(l.id), project: l.project, direction: 'out' }, l.counters.bytesOut);
      }
    },
  });
  new Gauge({
    name: 'dmzgate_events_last_id',
    help: 'Id of the last event recorded',
    registers: [registry],
    collect() {
      this.set(store.view.lastEventId);
    },
  });

  const ofErrors = new Counter({
    name: 'dmzgate_openflow_errors_total',
    labelNames: ['dpid', 'type', 'code'],
    registers: [registry],
    help: 'OFPT_ERROR messages from switches that answer no request of their own (refused flow-mods, bundle adds, ...)',
  });
  const onSwitchError = (_conn: unknown, e: { dpid: bigint | undefined; errType: number; code: number }): void => {
    ofErrors.inc({ dpid: dpidText(e.dpid), type: errorTypeName(e.errType), code: errorCodeName(e.errType, e.code) });
  };
  controller.on('switchError', onSwitchError);

  const flowsLost = new Counter({
    name: 'dmzgate_flows_lost_total',
    labelNames: ['dpid', 'owner'],
    registers: [registry],
    help: 'Flows a switch reported removed while they should still be there (re-installed): a switch losing flows, or forging the reports',
  });
  const onAppEvent = (e: DmzEvent): void => {
    if (e.type === 'flow.lost') flowsLost.inc({ dpid: dpidText(e.dpid), owner: e.owner });
  };
  app.on('event', onAppEvent);
  const refused = new Counter({
    name: 'dmzgate_openflow_refused_total',
    labelNames: ['reason'],
    registers: [registry],
    help: 'Switch connections refused: over the caps on unfinished handshakes (pending-cap, pending-cap-per-source), claiming a connected datapath id (datapath-in-use), or a datapath id their certificate is not bound to (identity)',
  });
  for (const reason of ['pending-cap', 'pending-cap-per-source', 'datapath-in-use', 'identity']) refused.inc({ reason }, 0);
  const onRefused = (r: { reason: string }): void => refused.inc({ reason: r.reason });
  controller.on('refused', onRefused);
  new Gauge({
    name: 'dmzgate_openflow_pending_connections',
    help: 'Switch connections that have not finished their handshake (TCP or TLS)',
    registers: [registry],
    collect() {
      this.set(controller.pendingConnections);
    },
  });

  const httpDuration = new Histogram({
    name: 'dmzgate_api_request_duration_seconds',
    help: 'API request latency, by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const authFailures = new Counter({
    name: 'dmzgate_api_auth_failures_total',
    help: 'Refused authentications, by code',
    labelNames: ['code'],
    registers: [registry],
  });
  const detachJournal = store instanceof JournalStateStore ? journalMetrics(registry, store) : () => undefined;

  return {
    registry,
    httpDuration,
    authFailures,
    detach() {
      controller.off('switchError', onSwitchError);
      app.off('event', onAppEvent);
      controller.off('refused', onRefused);
      detachJournal();
    },
  };
}

/** The embedded backend's own figures: its journal records, folds and files. Returns what stops following it. */
function journalMetrics(registry: Registry, store: JournalStateStore): () => void {
  const storeWrites = new Histogram({
    name: 'dmzgate_store_write_seconds',
    help: 'State journal records written, write and fdatasync (each holds every change made while the previous one was under way)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const storeFolds = new Histogram({
    name: 'dmzgate_store_fold_seconds',
    help: 'Folds of the state journal into the state document (document write, then the journal replaced)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  new Gauge({
    name: 'dmzgate_store_bytes',
    help: 'Size of the state document (at its last read or fold)',
    registers: [registry],
    collect() {
      this.set(store.documentBytes);
    },
  });
  new Gauge({
    name: 'dmzgate_store_journal_bytes',
    help: 'Size of the state journal (folded into the document past a threshold)',
    registers: [registry],
    collect() {
      this.set(store.journalBytes);
    },
  });
  const storeWritten = new Counter({
    name: 'dmzgate_store_journal_written_bytes_total',
    help: 'Bytes of state journal records written',
    registers: [registry],
  });
  const storeErrors = new Counter({
    name: 'dmzgate_store_write_errors_total',
    help: 'Failed state journal or document writes',
    registers: [registry],
  });
  const onWrite = (ms: number, bytes: number): void => {
    storeWrites.observe(ms / 1000);
    storeWritten.inc(bytes);
  };
  const onFold = (ms: number): void => storeFolds.observe(ms / 1000);
  const onWriteError = (): void => storeErrors.inc();
  store.on('write', onWrite);
  store.on('fold', onFold);
  store.on('writeError', onWriteError);
  return () => {
    store.off('write', onWrite);
    store.off('fold', onFold);
    store.off('writeError', onWriteError);
  };
}
