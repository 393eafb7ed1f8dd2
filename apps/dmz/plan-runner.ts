// Runs the flow, meter and group changes of the core's plans on the switches through the controller's flow
// manager: on a connected switch at once (barrier-confirmed), else declared for when it connects; whole tables as
// the desired state the flow manager reconciles. A plan over several switches ('across-switches') goes through
// FlowManager.applyAcross, all or nothing, each step of the plan a commit stage (the flows that take packets into a
// path last going up, first going down: core/lease-tables.ts). A lease's removal waits for the final counts of its deleted flows.
import type { Controller } from '../../controller/controller.js';
import type { FlowManager } from '../../controller/flow-manager.js';
import type { SwitchChange as CrossSwitchChange, GroupChange } from '../../controller/cross-switch.js';
import { flowKey, type FlowEntry, type GroupEntry, type MeterEntry } from '../../controller/flow-entry.js';
import { cookieId } from '../../controller/cookie.js';
import { meterMsg } from '../../controller/reconcile.js';
import { sendAll } from '../../controller/atomic.js';
import type { Logger } from '../../controller/log.js';
import { OFPFF, OFPG, OFPGT, OFPMC, OFPMMFC, OFPP } from '../../controller/openflow/index.js';
import type { FlowSpec } from './pipeline.js';
import { OWNER_NAMES } from './owners.js';
import type { LeaseRecord } from './lease-book.js';
import { countedKey, type LeaseCounters } from './lease-counters.js';
import { OWNERS, type GroupSpec, type OwnerName, type Plan, type SwitchChange } from './core/plan.js';
import { FF_GROUP_BASE, FF_GROUPS_PER_LEASE, SELECT_GROUP_BASE } from './fabric/vlans.js';

const GROUP_TYPES = { all: OFPGT.ALL, select: OFPGT.SELECT, indirect: OFPGT.INDIRECT, 'fast-failover': OFPGT.FF } as const;

/** A plan's group as the flow manager holds it: its buckets' apply-actions as the bucket's actions (OF1.3.5 §7.3.4.2). */
export function groupEntry(g: GroupSpec): GroupEntry {
  return {
    groupId: g.groupId,
    groupType: GROUP_TYPES[g.type],
    buckets: g.buckets.map((b) => ({
      weight: b.weight ?? 0,
      watchPort: b.watchPort ?? OFPP.ANY,
      watchGroup: OFPG.ANY,
      actions: b.actions.flatMap((i) => (i.type === 'applyActions' ? i.actions : [])),
    })),
  };
}

/** Whose a group is, by its id's range (fabric/vlans.ts): a lease's fast-failover groups or the pipeline's selects. */
export function groupOwner(groupId: number): OwnerName {
  return groupId >= FF_GROUP_BASE ? OWNERS.leases : groupId >= SELECT_GROUP_BASE ? OWNERS.pipeline : OWNERS.blocks;
}

/** Whether a group id is one of lease `id`'s fast-failover groups. */
function groupOfLease(groupId: number, id: number): boolean {
  const first = FF_GROUP_BASE + id * FF_GROUPS_PER_LEASE;
  return groupId >= first && groupId < first + FF_GROUPS_PER_LEASE;
}

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

  /**
   * A plan's changes on several switches, all or none (FlowManager.applyAcross): each step of the plan is a commit
   * stage (a switch may have a change in two of them: core/lease-tables.ts). Meters are added before the flows
   * that use them and removed after. A switch not connected only has its desired state changed (it gets it when it
   * connects). Rejects as applyAcross does, with nothing of the failed change on any switch.
   */
  async applyAcross(plan: Plan): Promise<void> {
    // Whole tables (`replace`) are declared instead: declare().
    const run = plan.steps.flatMap((step, stage) => step.filter((c) => !c.replace).map((change) => ({ change, stage })));
    const live = run.filter((b) => this.controller.get(b.change.dpid));
    for (const b of run) if (!this.controller.get(b.change.dpid)) this.declareChange(b.change);
    for (const { change } of live) for (const m of change.meters?.add ?? []) await this.installMeter(change.dpid, m);
    if (live.length) await this.flows.applyAcross(live.map((b) => this.crossChange(b.change, b.stage)));
    for (const { change } of live)
      for (const m of change.meters?.remove ?? [])
        await this.removeMeter(change.dpid, m).catch((e: Error) => this.log.warn({ err: e.message }, 'meter removal failed'));
  }

  /**
   * A link change's moves (plan.moves), wave after wave: its new paths through applyAcross, then what of the old
   * paths they left. A wave whose install the switches refuse changed nothing: `refused` is told its leases, and
   * its removals are not sent. A refused removal leaves the old flows desired (the next reconcile retries them).
   */
  async applyMoves(plan: Plan, refused: (leases: number[], e: Error) => void): Promise<void> {
    let at = 0;
    for (const wave of plan.moves ?? []) {
      const install = plan.steps.slice(at, (at += wave.install));
      const remove = plan.steps.slice(at, (at += wave.remove));
      try {
        await this.applyAcross({ ...plan, steps: install });
      } catch (e) {
        refused(wave.leases, e instanceof Error ? e : new Error(String(e)));
        continue;
      }
      await this.applyAcross({ ...plan, steps: remove }).catch((e: Error) =>
        this.log.warn({ leases: wave.leases.length, err: e.message }, "removing moved leases' old flows failed"),
      );
    }
  }

  /** One switch's part of a cross-switch change; a group already desired there is modified (replaced), not added. */
  private crossChange(c: SwitchChange, stage: number): CrossSwitchChange {
    const has = this.flows.desired.has(c.dpid) ? this.flows.desired.get(c.dpid).groups : new Map<number, GroupEntry>();
    const groups: GroupChange[] = [
      ...(c.groups?.add ?? []).map((g): GroupChange => ({ command: has.has(g.groupId) ? 'modify' : 'add', group: groupEntry(g) })),
      ...(c.groups?.remove ?? []).map((groupId): GroupChange => ({ command: 'delete', group: { groupId, groupType: 0, buckets: [] } })),
    ];
    return {
      dpid: c.dpid,
      owner: c.owner,
      stage,
      ...(c.add ? { add: c.add } : {}),
      ...(c.remove ? { remove: c.remove } : {}),
      ...(groups.length ? { groups } : {}),
    };
  }

  /** A change on a switch not connected: its desired flows and groups (it gets them when it connects). */
  private declareChange(c: SwitchChange): void {
    this.flows.updateFlows(c.dpid, c.owner, { ...(c.add ? { add: c.add } : {}), ...(c.remove ? { remove: c.remove } : {}) });
    if (!c.groups) return;
    const groups = new Map(this.flows.desired.has(c.dpid) ? this.flows.desired.get(c.dpid).groups : []);
    for (const g of c.groups.add ?? []) groups.set(g.groupId, groupEntry(g));
    for (const id of c.groups.remove ?? []) groups.delete(id);
    this.flows.setGroups(c.dpid, [...groups.values()]);
  }

  /**
   * Whole desired tables (a plan's `replace` changes, the last step of a reload or a switch-up): declared, with the
   * groups of the owners replaced (the others' groups on the switch stay as desired).
   */
  declare(plan: Plan): void {
    const groups = new Map<bigint, { owners: Set<OwnerName>; groups: GroupEntry[] }>();
    for (const step of plan.steps) {
      for (const c of step) {
        if (!c.replace) continue;
        if (c.owner === OWNERS.pipeline) this.pipelineFlows.set(c.dpid, c.replace.length);
        // Blocks with the same match share one flow (the later block's, as the switch kept it when it was added).
        const flows = c.owner === OWNERS.blocks ? [...new Map(c.replace.map((f) => [this.blockFlowKey(f), f])).values()] : c.replace;
        this.flows.setFlows(c.dpid, c.owner, flows);
        if (c.meters?.add) this.flows.setMeters(c.dpid, c.meters.add);
        let g = groups.get(c.dpid);
        if (!g) groups.set(c.dpid, (g = { owners: new Set(), groups: [] }));
        g.owners.add(c.owner);
        g.groups.push(...(c.groups?.add ?? []).map(groupEntry));
      }
    }
    for (const [dpid, g] of groups) {
      const kept = this.flows.desired.has(dpid)
        ? [...this.flows.desired.get(dpid).groups.values()].filter((x) => !g.owners.has(groupOwner(x.groupId)))
        : [];
      this.flows.setGroups(dpid, [...kept, ...g.groups]);
    }
  }

  private blockFlowKey(f: FlowSpec): string {
    return flowKey(this.flows.entry(OWNER_NAMES.blocks, f));
  }

  /**
   * The removals a close's plan makes of one lease's flows, groups and meter (a reload's plan holds several
   * leases'): in one cross-switch change where they span switches (the flows that take packets in first), else switch by switch.
   */
  async removeLeaseFlows(rec: LeaseRecord, plan: Plan): Promise<void> {
    const cookie = this.flows.cookie(OWNER_NAMES.leases, BigInt(rec.id));
    const parts: { change: SwitchChange; specs: FlowEntry[]; stage: number }[] = [];
    for (const [stage, step] of plan.steps.entries()) {
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
        const groups = (c.groups?.remove ?? []).filter((g) => groupOfLease(g, rec.id));
        const meter = rec.meterId !== undefined && c.meters?.remove?.includes(rec.meterId);
        const change: SwitchChange = {
          dpid,
          owner: OWNERS.leases,
          remove: specs,
          ...(groups.length ? { groups: { remove: groups } } : {}),
          ...(meter ? { meters: { remove: [rec.meterId!] } } : {}),
        };
        parts.push({ change, specs, stage });
      }
    }
    const live = parts.filter((p) => this.controller.get(p.change.dpid));
    for (const p of parts) if (!this.controller.get(p.change.dpid)) this.declareChange({ ...p.change, remove: p.specs });
    // Open vSwitch sends the flow-removed of a delete after the barrier reply (it postpones them), so the delete's
    // completion does not mean the final counts are in: wait for them, briefly, so that the lease closes with the
    // switch's final numbers.
    const finals = this.counters.expectRemoved(
      rec.id,
      live.flatMap((p) => p.specs.filter((f) => f.flags & OFPFF.SEND_FLOW_REM).map((f) => countedKey(p.change.dpid, flowKey(f)))),
    );
    try {
      if (new Set(live.map((p) => p.change.dpid)).size > 1 || live.some((p) => p.change.groups)) {
        const steps: SwitchChange[][] = [];
        for (const p of live) (steps[p.stage] ??= []).push(p.change);
        await this.applyAcross({ ...plan, steps: steps.filter(Boolean), atomicity: 'across-switches' });
      } else {
        for (const p of live) {
          await this.flows.apply(p.change.dpid, OWNER_NAMES.leases, { remove: p.specs }, { atomic: false });
          if (p.change.meters?.remove)
            await this.removeMeter(p.change.dpid, rec.meterId!).catch((e: Error) => this.log.warn({ err: e.message }, 'meter removal failed'));
        }
      }
    } catch (e) {
      finals.cancel();
      throw e;
    }
    await finals.wait(1000);
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
