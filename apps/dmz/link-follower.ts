// The DMZ app's side of a fabric link going down or coming back (fabric-monitor.ts's link-down / link-up): the
// core decides (link-down / link-up) which leases move and where, and this runs the moves through the switches,
// one link change after another in the order they were reported (each plan starts from the one before).
import type { Controller } from '../../controller/controller.js';
import type { FlowManager } from '../../controller/flow-manager.js';
import type { Clock } from '../../controller/clock.js';
import type { Logger } from '../../controller/log.js';
import { OWNER_NAMES } from './owners.js';
import { decide } from './core/decide.js';
import type { CoreCell } from './core-cell.js';
import type { PlanRunner } from './plan-runner.js';
import type { LeaseRecord } from './lease-book.js';
import type { Site } from './site.js';
import type { DmzEvent } from './dmz-app-shapes.js';

export interface LinkFollowerDeps {
  cell: CoreCell;
  site: () => Site;
  controller: Controller;
  flows: FlowManager;
  runner: PlanRunner;
  clock: Clock;
  log: Logger;
  /** An active lease's record as the API shows it. */
  lease: (id: number) => LeaseRecord | undefined;
  /** Declares the meters of the active leases on a switch as its desired state. */
  declareMeters: (dpid: bigint) => void;
  emit: (e: DmzEvent) => void;
}

export class LinkFollower {
  /** Link changes, one after another in the order they were reported. */
  private links: Promise<void> = Promise.resolve();

  constructor(private readonly d: LinkFollowerDeps) {}

  /**
   * A configured link stopped (`up` false) or started being usable. The leases whose path crossed it move to
   * another path, all or nothing across the switches (the new path, then the old one's rest, each in the order of
   * core/lease-tables.ts); one with no other path keeps its flows until a link comes back. The pipeline's fabric
   * trees follow the links up. Resolves once the switches hold it.
   */
  changed(link: string, up: boolean): Promise<void> {
    const run = this.links.then(() => this.follow(link, up));
    this.links = run.catch((e: Error) => this.d.log.warn({ link, up, err: e.message }, 'following a link change failed'));
    return run;
  }

  private async follow(link: string, up: boolean): Promise<void> {
    const { cell, runner, log, clock } = this.d;
    const started = performance.now();
    const before = cell.state;
    const d = decide(before, { type: up ? 'link-up' : 'link-down', link }, clock.now());
    cell.state = d.state;
    if (d.plan.steps.length === 0 && d.plan.events.length === 0) return;
    const decideMs = Math.round(performance.now() - started);
    log.info({ link, up, leases: d.plan.events.length, decideMs }, up ? 'link up: leases follow' : 'link down: leases follow');
    const events = [...d.plan.events];
    try {
      await runner.applyMoves(d.plan, (leases, e) => {
        log.warn({ link, leases: leases.length, err: e.message }, 'the switches refused moving leases: they keep their path');
        const back = decide(cell.state, { type: 'moves-failed', link, leases, before }, clock.now());
        cell.state = back.state;
        const failed = new Set(leases);
        events.splice(0, events.length, ...events.filter((x) => x.type !== 'lease.path-moved' || !failed.has(x.lease)), ...back.plan.events);
      });
    } finally {
      // The pipeline's trees as whole tables (and the moved leases' meters), reconciled on the switches up.
      runner.declare(d.plan);
      for (const dpid of new Set(d.plan.steps.flat().flatMap((c) => (c.meters ? [c.dpid] : [])))) this.d.declareMeters(dpid);
      await Promise.all(
        this.d
          .site()
          .switches.filter((sw) => this.d.controller.get(sw.dpid))
          .map((sw) => this.d.flows.reconcile(sw.dpid, { owner: OWNER_NAMES.pipeline }).catch(() => undefined)),
      );
    }
    log.info({ link, up, waves: d.plan.moves?.length ?? 0, ms: Math.round(performance.now() - started) }, 'link change followed');
    for (const e of events) {
      if (e.type !== 'lease.path-moved' && e.type !== 'lease.path-lost') continue;
      const rec = this.d.lease(e.lease);
      if (rec) this.d.emit({ type: e.type, lease: rec, link: e.link, hops: e.hops });
    }
  }
}
