// A fake world for the core's tests: switches as flow-table simulators, plans run the way the executor runs them
// (a change reaches a switch only while it is up; `replace` rebuilds an owner's table), a fake clock, and the
// executor's reports (installed / install-failed) fed back as commands. Behavioural questions only: where does a
// packet go.
import { decide } from '../../../../apps/dmz/core/decide.js';
import { initialState, rulesOf, type State } from '../../../../apps/dmz/core/state.js';
import type { Command } from '../../../../apps/dmz/core/commands.js';
import type { Plan, RecordChange, AuditDraft, CoreEvent, Refusal, GroupSpec } from '../../../../apps/dmz/core/plan.js';
import type { FlowSpec } from '../../../../apps/dmz/pipeline.js';
import type { Site } from '../../../../apps/dmz/site.js';
import { flowKey } from '../../../../controller/flow-entry.js';
import { FlowSim, type SimPacket } from '../../../helpers/flow-sim.js';
import { FabricSim } from '../../../helpers/fabric-sim.js';

export type Verdict = 'bypass' | 'firewall' | 'drop';

export class World {
  state: State;
  now: number;
  /** What each switch holds: per owner, by flow key. */
  readonly tables = new Map<bigint, Map<string, Map<string, FlowSpec>>>();
  readonly records: RecordChange[] = [];
  readonly audit: AuditDraft[] = [];
  readonly events: CoreEvent[] = [];
  readonly timers = new Map<string, number>();
  lastRefusal: Refusal | undefined;
  /** Requested leases' install steps, until the install is confirmed or refused. */
  private readonly inFlight = new Map<number, Plan['steps']>();
  /** What each switch holds of groups, by id. */
  readonly groupTables = new Map<bigint, Map<number, GroupSpec>>();
  /** Each switch's simulator, built when first asked after a change. */
  private readonly sims = new Map<bigint, FlowSim>();

  constructor(site: Site, now: number) {
    this.state = initialState(site);
    this.now = now;
  }

  /** Decides a command and runs its plan; a request's install is confirmed unless `pending`. */
  run(cmd: Command, opts: { pending?: boolean } = {}): Plan {
    const { state, plan } = decide(this.state, cmd, this.now);
    this.state = state;
    this.lastRefusal = plan.refused;
    if (cmd.type === 'installed') this.apply({ ...plan, steps: [...(this.inFlight.get(cmd.id) ?? []), ...plan.steps] });
    else this.apply(cmd.type === 'request' ? { ...plan, steps: [] } : plan);
    if (cmd.type === 'installed' || cmd.type === 'install-failed') this.inFlight.delete(cmd.id);
    if (cmd.type === 'request' && !plan.refused) {
      // The install is atomic: its flows are in the table once confirmed, and never if refused.
      const id = this.state.nextId.lease - 1;
      this.inFlight.set(id, plan.steps);
      if (!opts.pending) this.run({ type: 'installed', id });
    }
    return plan;
  }

  /** Moves the clock; the timers due fire (as the runtime's would), in time order. */
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.timers].filter(([, at]) => at <= until).sort((a, b) => a[1] - b[1])[0];
      if (!due) break;
      this.now = Math.max(this.now, due[1]);
      this.timers.delete(due[0]);
      const [kind, id] = due[0].split('/') as ['lease' | 'block', string];
      this.run({ type: 'expire', kind, id: Number(id) });
    }
    this.now = until;
  }

  private apply(plan: Plan): void {
    this.sims.clear();
    for (const step of plan.steps) {
      for (const c of step) {
        if (!this.state.up.has(c.dpid)) continue;
        let sw = this.tables.get(c.dpid);
        if (!sw) this.tables.set(c.dpid, (sw = new Map()));
        let t = sw.get(c.owner);
        if (!t || c.replace) sw.set(c.owner, (t = new Map()));
        for (const f of [...(c.replace ?? []), ...(c.add ?? [])]) t.set(flowKey(f), f);
        for (const f of c.remove ?? []) t.delete(flowKey(f));
        let g = this.groupTables.get(c.dpid);
        if (!g) this.groupTables.set(c.dpid, (g = new Map()));
        for (const x of c.groups?.add ?? []) g.set(x.groupId, x);
        for (const id of c.groups?.remove ?? []) g.delete(id);
      }
    }
    this.records.push(...plan.records);
    this.audit.push(...plan.audit);
    this.events.push(...plan.events);
    for (const t of plan.timers) {
      if (t.at === undefined) this.timers.delete(t.key);
      else this.timers.set(t.key, t.at);
    }
  }

  flows(dpid: bigint): FlowSpec[] {
    return [...(this.tables.get(dpid)?.values() ?? [])].flatMap((t) => [...t.values()]);
  }

  verdict(dpid: bigint, p: SimPacket, ports: { dtn: number; fw: number }): Verdict {
    let sim = this.sims.get(dpid);
    if (!sim) this.sims.set(dpid, (sim = new FlowSim().install(this.flows(dpid))));
    const out = sim.ports(p);
    if (out.length === 0) return 'drop';
    if (out.includes(ports.dtn)) return 'bypass';
    if (out.includes(ports.fw)) return 'firewall';
    throw new Error(`unexpected outputs ${out.join(',')}`);
  }

  /** The switches chained by the site's links (those in `down` cut), to follow packets across the fabric. */
  fabric(down: ReadonlySet<string> = this.state.linksDown): FabricSim {
    return new FabricSim(this.state.site, (dpid) => ({ flows: this.flows(dpid), groups: [...(this.groupTables.get(dpid)?.values() ?? [])] }), down);
  }

  activeLeases(): number[] {
    return [...rulesOf(this.state, 'lease')]
      .filter((l) => l.status === 'active')
      .map((l) => l.id)
      .sort((a, b) => a - b);
  }
}
