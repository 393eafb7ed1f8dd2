// Watches the site's links: compares the configured links with what LLDP discovery sees (link-states.ts) each
// time either changes or an interval passes, and raises every change of state as an event and a log line, so
// that a link that is missing, miscabled or not configured is an alarm, never silently used. A configured link
// becoming usable or ceasing to be is also a `link-up` / `link-down` notification naming its ends: what a path
// computation consumes (only an `up` link may carry a lease).
import { EventEmitter } from 'node:events';
import type { Controller } from '../../controller/controller.js';
import type { SwitchConnection } from '../../controller/switch-connection.js';
import type { Logger } from '../../controller/log.js';
import type { LinkDiscovery, DiscoveredLink, LinkLossReason } from '../../controller/lldp-discovery.js';
import { compareLinks, type LinkEndView, type LinkStatus, type LinkState } from './link-states.js';
import type { Site } from './site.js';

export type LinkEventType = 'link.up' | 'link.down' | 'link.missing' | 'link.miscabled' | 'link.unexpected';

export interface LinkEvent {
  type: LinkEventType;
  link: LinkStatus;
  /** link.down: why it was lost (LLDP silent: timeout; port-down; switch-down; recabled). */
  reason?: string;
}

/** A configured link that became usable (`link-up`) or stopped being usable (`link-down`). */
export interface LinkChange {
  /** The configured link's name (`SWITCH:PORT-SWITCH:PORT`). */
  link: string;
  a: LinkEndView;
  b: LinkEndView;
  /** link-down: timeout, port-down, switch-down, recabled, not seen, or unconfigured (a reload dropped it). */
  reason?: string;
}

export interface FabricMonitorEvents {
  event: [LinkEvent];
  'link-up': [LinkChange];
  'link-down': [LinkChange];
}

const ALARM: Partial<Record<LinkState, LinkEventType>> = {
  missing: 'link.missing',
  miscabled: 'link.miscabled',
  unexpected: 'link.unexpected',
};

export interface FabricMonitorOptions {
  /** The site as it is now (a reload gives a new one). */
  site: () => Site;
  controller: Controller;
  discovery: LinkDiscovery;
  logger: Logger;
}

export class FabricMonitor extends EventEmitter<FabricMonitorEvents> {
  private readonly log: Logger;
  private readonly connectedSince = new Map<bigint, number>();
  private readonly everUp = new Set<string>();
  private states = new Map<string, LinkState>();
  /** Configured links up at the last refresh, as they were then (a reload may drop one from the config). */
  private upLinks = new Map<string, LinkStatus>();
  /** Why each end last lost a link (for link.down). */
  private readonly lossAt = new Map<string, LinkLossReason>();
  private pending: NodeJS.Immediate | undefined;
  private readonly evaluate = (): void => void this.refresh();
  /**
   * Links come and go in bursts (a switch connecting brings all its links, one packet-in each): one comparison
   * after the burst's turn, not one per link, keeps a fabric of hundreds of links cheap to watch.
   */
  private readonly refreshSoon = (): void => {
    this.pending ??= setImmediate(() => {
      this.pending = undefined;
      this.refresh();
    });
  };
  private readonly onUp = (conn: SwitchConnection): void => {
    if (conn.dpid !== undefined) this.connectedSince.set(conn.dpid, this.opts.discovery.clock.now());
    this.refreshSoon();
  };
  private readonly onDown = (conn: SwitchConnection): void => {
    if (conn.dpid !== undefined) this.connectedSince.delete(conn.dpid);
    this.refreshSoon();
  };
  private readonly onLost = (l: DiscoveredLink, reason: LinkLossReason): void => {
    for (const e of [l.src, l.dst]) this.lossAt.set(`${e.dpid}:${e.port}`, reason);
    this.refreshSoon();
  };

  constructor(private readonly opts: FabricMonitorOptions) {
    super();
    this.log = opts.logger.child({ component: 'fabric' });
  }

  start(): void {
    const now = this.opts.discovery.clock.now();
    for (const c of this.opts.controller.switches()) if (c.dpid !== undefined) this.connectedSince.set(c.dpid, now);
    this.opts.controller.on('switchUp', this.onUp);
    this.opts.controller.on('switchDown', this.onDown);
    this.opts.discovery.on('linkUp', this.refreshSoon);
    this.opts.discovery.on('linkDown', this.onLost);
    this.opts.discovery.on('tick', this.evaluate);
    this.refresh();
  }

  stop(): void {
    this.opts.controller.off('switchUp', this.onUp);
    this.opts.controller.off('switchDown', this.onDown);
    this.opts.discovery.off('linkUp', this.refreshSoon);
    this.opts.discovery.off('linkDown', this.onLost);
    this.opts.discovery.off('tick', this.evaluate);
    if (this.pending) clearImmediate(this.pending);
    this.pending = undefined;
  }

  /** Every configured link and every link seen, with its state now. */
  links(): LinkStatus[] {
    const d = this.opts.discovery;
    return compareLinks(this.opts.site(), d.links(), {
      connectedSince: this.connectedSince,
      everUp: this.everUp,
      now: d.clock.now(),
      graceMs: d.lossIntervals * d.intervalMs,
    });
  }

  /** Re-compares and raises each change of state; returns the links. */
  refresh(): LinkStatus[] {
    const links = this.links();
    const next = new Map<string, LinkState>();
    const up = new Map<string, LinkStatus>();
    for (const l of links) {
      next.set(l.name, l.state);
      if (l.state === 'up') up.set(l.name, l);
      const before = this.states.get(l.name);
      if (before === l.state) continue;
      if (l.state === 'up') {
        this.everUp.add(l.name);
        this.raise({ type: 'link.up', link: l });
        this.emit('link-up', { link: l.name, a: l.a, b: l.b });
        continue;
      }
      if (before === 'up') {
        const reason = this.lossAt.get(`${l.a.dpid}:${l.a.port}`) ?? this.lossAt.get(`${l.b.dpid}:${l.b.port}`) ?? 'not seen';
        this.raise({ type: 'link.down', link: l, reason });
        this.emit('link-down', { link: l.name, a: l.a, b: l.b, reason });
      }
      const alarm = ALARM[l.state];
      if (alarm) this.raise({ type: alarm, link: l });
    }
    for (const [name, l] of this.upLinks) if (!next.has(name)) this.emit('link-down', { link: name, a: l.a, b: l.b, reason: 'unconfigured' });
    this.states = next;
    this.upLinks = up;
    return links;
  }

  private raise(e: LinkEvent): void {
    const l = e.link;
    const fields = {
      link: l.name,
      state: l.state,
      configured: l.configured,
      ...(e.reason ? { reason: e.reason } : {}),
      ...(l.seenInstead
        ? { seenInstead: l.seenInstead.map((s) => `${s.a.switch ?? s.a.dpid}:${s.a.port}-${s.b.switch ?? s.b.dpid}:${s.b.port}`) }
        : {}),
    };
    if (e.type === 'link.up') this.log.info(fields, 'link up');
    else this.log.warn(fields, `${e.type.slice('link.'.length)} link: not used`);
    this.emit('event', e);
  }
}
