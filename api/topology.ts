// The fabric as the API shows it: GET /api/v1/topology (the site's switches with their ports' roles, every link
// configured or seen by LLDP with its state), link.* events on the stream, and the dmzgate_links gauge.
import type { FastifyInstance } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import { dpidText } from '../controller/errors.js';
import { OFPPS } from '../controller/openflow/index.js';
import type { FabricMonitor, LinkEvent } from '../apps/dmz/fabric-monitor.js';
import { LINK_STATES, type LinkEndView, type LinkStatus } from '../apps/dmz/link-states.js';
import type { LinkDiscovery } from '../controller/lldp-discovery.js';
import { errorResponses } from './schemas.js';
import type { ApiContext } from './context.js';
import type { EventHub } from './events.js';

export interface Fabric {
  monitor: FabricMonitor;
  discovery: LinkDiscovery;
  /** Mbit/s the leases reserve on each configured link, by name (apps/dmz/core/reservations.ts reservedByLink); none: 0. */
  reserved?: () => ReadonlyMap<string, number>;
}

interface TopologySwitch {
  name?: string;
  dpid: string;
  connected: boolean;
  ports: { port_no: number; name: string; role?: string; link_up?: boolean }[];
}

const endView = (e: LinkEndView) => ({ ...(e.switch ? { switch: e.switch } : {}), dpid: dpidText(e.dpid), port: e.port });

export function linkView(l: LinkStatus, reserved: ReadonlyMap<string, number> = new Map()): Record<string, unknown> {
  return {
    name: l.name,
    a: endView(l.a),
    b: endView(l.b),
    configured: l.configured,
    seen: l.seen,
    up: l.up,
    state: l.state,
    ...(l.seenInstead ? { seen_instead: l.seenInstead.map((s) => ({ a: endView(s.a), b: endView(s.b) })) } : {}),
    ...(l.configured ? { capacity_mbps: l.capacityMbps, cost: l.cost, reserved_mbps: reserved.get(l.name) ?? 0 } : {}),
  };
}

export function topologyRoutes(r: FastifyInstance, ctx: ApiContext, fabric: Fabric): void {
  const { app, controller } = ctx;
  r.get(
    '/api/v1/topology',
    {
      config: { scope: ['transfers:read'] },
      schema: {
        tags: ['switches'],
        security: [{ bearer: [] }],
        summary: "Switches, their ports' roles, and the links between them",
        description:
          'Links as the site config declares them beside what LLDP discovery sees: only a link in state `up` is used. ' +
          '`reserved_mbps`: what the active leases whose path crosses a configured link reserve on it. Scope transfers:read (or admin).',
        response: { 200: { $ref: 'Topology#' }, ...errorResponses(401, 403, 429) },
      },
    },
    async () => {
      const site = app.site;
      const switches: TopologySwitch[] = site.switches.map((sw) => {
        const conn = controller.get(sw.dpid);
        return {
          name: sw.name,
          dpid: dpidText(sw.dpid),
          connected: !!conn,
          ports: sw.ports.map((p) => {
            const live = conn?.ports.get(p.portNo);
            return { port_no: p.portNo, name: p.name, role: p.role, ...(live ? { link_up: (live.state & OFPPS.LINK_DOWN) === 0 } : {}) };
          }),
        };
      });
      for (const conn of controller.switches()) {
        if (conn.dpid === undefined || site.switches.some((s) => s.dpid === conn.dpid)) continue;
        switches.push({
          dpid: conn.dpidText,
          connected: true,
          ports: [...conn.ports.values()].map((p) => ({ port_no: p.portNo, name: p.name, link_up: (p.state & OFPPS.LINK_DOWN) === 0 })),
        });
      }
      return {
        switches,
        links: fabric.monitor.links().map((l) => linkView(l, fabric.reserved?.())),
        discovery: { interval_ms: fabric.discovery.intervalMs, loss_intervals: fabric.discovery.lossIntervals },
      };
    },
  );
}

/** Publishes the monitor's link events on the stream (every token sees them, as switch events); returns a detach. */
export function publishLinkEvents(hub: EventHub, monitor: FabricMonitor): () => void {
  const on = (e: LinkEvent): void => void hub.publish(e.type, { link: linkView(e.link), ...(e.reason ? { reason: e.reason } : {}) });
  monitor.on('event', on);
  return () => monitor.off('event', on);
}

/** dmzgate_links{state}: links per state, computed at scrape time. */
export function registerLinkMetrics(registry: Registry, monitor: FabricMonitor): void {
  new Gauge({
    name: 'dmzgate_links',
    help: 'Links between switches by state (up; pending; down, missing, miscabled, unexpected are alarms)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const by = new Map<string, number>(LINK_STATES.map((s) => [s, 0]));
      for (const l of monitor.links()) by.set(l.state, by.get(l.state)! + 1);
      for (const [state, n] of by) this.set({ state }, n);
    },
  });
}
