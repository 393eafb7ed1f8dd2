// Runs the flow and meter changes of the core's plans on the switches through the controller's flow manager: on a
// connected switch at once (barrier-confirmed), else declared for when it connects; whole tables as the desired
// state the flow manager reconciles. A lease's removal waits for the final counts of its deleted flows.
import type { Controller } from '../../controller/controller.js';
import type { FlowManager } from '../../controller/flow-manager.js';
import { flowKey, type FlowEntry, type MeterEntry } from '../../controller/flow-entry.js';
import { cookieId } from '../../controller/cookie.js';
import { meterMsg } from '../../controller/reconcile.js';
import { sendAll } from '../../controller/atomic.js';
import type { Logger } from '../../controller/log.js';
import { OFPFF, OFPMC, OFPMMFC } from '../../controller/openflow/index.js';
import type { FlowSpec } from './pipeline.js';
import { OWNER_NAMES } from './owners.js';
import type { LeaseRecord } from './lease-book.js';
import type { LeaseCounters } from './lease-counters.js';
import { OWNERS, type Plan } from './core/plan.js';

export class PlanRunner {
  /** Per switch: how many pipeline flows it holds (they take table space the flow budget does not count). */
  readonly pipelineFlows = new Map<bigint, number>();

  constructor(
    private readonly controller: Controller,
    private readonly flows: FlowManager,
    private readonly counters: LeaseCounters,
    private readonly log: Logger,
  ) {}

  /** A plan's flow changes, step by step: on a connected switch now, else declared for when it connects. */
  async applyFlows(plan: Plan): Promise<void> {
    const atomic = plan.atomicity !== 'none';
    for (const step of plan.steps) {
      for (const c of step) {
        const change = { ...(c.add ? { add: c.add } : {}), ...(c.remove ? { remove: c.remove } : {}) };
        if (this.controller.get(c.dpid)) await this.flows.apply(c.dpid, c.owner, change, { atomic });
        else this.flows.updateFlows(c.dpid, c.owner, change);
      }
    }
  }

  /** Whole desired tables (a plan's `replace` changes, the last step of a reload or a switch-up): declared. */
  declare(plan: Plan): void {
    for (const step of plan.steps) {
      for (const c of step) {
        if (!c.replace) continue;
        if (c.owner === OWNERS.pipeline) this.pipelineFlows.set(c.dpid, c.replace.length);
        // Blocks with the same match share one flow (the later block's, as the switch kept it when it was added).
        const flows = c.owner === OWNERS.blocks ? [...new Map(c.replace.map((f) => [this.blockFlowKey(f), f])).values()] : c.replace;
        this.flows.setFlows(c.dpid, c.owner, flows);
        if (c.meters?.add) this.flows.setMeters(c.dpid, c.meters.add);
      }
    }
  }

  private blockFlowKey(f: FlowSpec): string {
    return flowKey(this.flows.entry(OWNER_NAMES.blocks, f));
  }

  /** The removals a close's plan makes of one lease's flows and meter (a reload's plan holds several leases'). */
  async removeLeaseFlows(rec: LeaseRecord, plan: Plan): Promise<void> {
    const cookie = this.flows.cookie(OWNER_NAMES.leases, BigInt(rec.id));
    for (const step of plan.steps) {
      for (const c of step) {
        if (c.owner !== OWNERS.leases || !c.remove) continue;
        const dpid = c.dpid;
        // The lease's flows that are still desired (one its switch timed out is gone from the desired state already).
        const desired = this.flows.desired.has(dpid) ? this.flows.desired.get(dpid).flows : undefined;
        const specs: FlowEntry[] = [];
        for (const f of c.remove) {
          if (cookieId(f.cookie) !== rec.id) continue;
          const r = desired?.get(flowKey(this.flows.entry(OWNER_NAMES.leases, f)));
          if (r && r.entry.cookie === cookie) specs.push(r.entry);
        }
        const meter = rec.meterId !== undefined && c.meters?.remove?.includes(rec.meterId);
        if (this.controller.get(dpid)) {
          // Open vSwitch sends the flow-removed of a delete after the barrier reply (it postpones them), so the
          // delete's completion does not mean the final counts are in: wait for them, briefly, so that the lease
          // closes with the switch's final numbers.
          const finals = this.counters.expectRemoved(rec.id, specs.filter((f) => f.flags & OFPFF.SEND_FLOW_REM).map(flowKey));
          try {
            await this.flows.apply(dpid, OWNER_NAMES.leases, { remove: specs }, { atomic: false });
          } catch (e) {
            finals.cancel();
            throw e;
          }
          await finals.wait(1000);
          if (meter) await this.removeMeter(dpid, rec.meterId!).catch((e: Error) => this.log.warn({ err: e.message }, 'meter removal failed'));
        } else {
          this.flows.updateFlows(dpid, OWNER_NAMES.leases, { remove: specs });
        }
      }
    }
  }

  async installMeter(dpid: bigint, meter: MeterEntry): Promise<void> {
    const conn = this.controller.get(dpid)!;
    let errors = await sendAll(conn, [meterMsg(OFPMC.ADD, meter)]);
    // A meter left by an earlier run with the same id: take it over.
    if (errors.size > 0 && [...errors.values()][0]!.code === OFPMMFC.METER_EXISTS) errors = await sendAll(conn, [meterMsg(OFPMC.MODIFY, meter)]);
    if (errors.size > 0) throw [...errors.values()][0]!;
  }

  async removeMeter(dpid: bigint, meterId: number): Promise<void> {
    const conn = this.controller.get(dpid);
    if (!conn) return;
    await sendAll(conn, [meterMsg(OFPMC.DELETE, { meterId, flags: 0, bands: [] })]);
  }
}
