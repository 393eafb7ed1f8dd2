// What the leases and blocks take of the switches' flow tables and of the circuits' capacity. A lease is expanded
// to locals x local port masks x remote port masks x 2 flows, so one request could fill a switch; a circuit's
// capacity is only worth declaring if the rates of its leases never sum past it. Every request is checked here
// before anything is installed, and what it takes is held from then until it is closed (or refused), so that
// requests under way at once cannot together go past a limit that each alone keeps.
import { LeaseRefused } from './pipeline.js';
import type { Circuit, Site } from './site.js';
import type { PathName } from './model.js';

/** One switch's budget for lease and block flows, all requests together. */
export interface SwitchBudget {
  name: string;
  dpid: bigint;
  budget: number;
}

interface Held {
  dpid: bigint;
  flows: number;
  circuit: string | undefined;
  rateMbps: number;
}

/** The circuit a path names (undefined: the routed path). */
export function circuitOf(site: Site, path: PathName): Circuit | undefined {
  return path === 'routed' ? undefined : site.circuits.find((c) => `circuit:${c.name}` === path);
}

/**
 * The rate a lease carries: its own, or, on a circuit with a capacity, the policy's default for such leases (the
 * circuit's whole capacity when the policy gives none), so that every lease on such a circuit counts against it.
 */
export function leaseRate(site: Site, path: PathName, rateMbps: number | undefined): number | undefined {
  if (rateMbps !== undefined) return rateMbps;
  const circuit = circuitOf(site, path);
  if (!circuit || circuit.capacityMbps === 0) return undefined;
  return site.policy.circuitDefaultRateMbps ?? circuit.capacityMbps;
}

export class Admission {
  private readonly leases = new Map<number, Held>();
  /** Each active block's flows: blocks are installed on every switch. */
  private readonly blocks = new Map<number, number>();
  private blockFlows = 0;
  private readonly flowsOn = new Map<bigint, number>();
  private readonly rateOn = new Map<string, number>();

  /** Lease and block flows held on a switch. */
  flowsInUse(dpid: bigint): number {
    return (this.flowsOn.get(dpid) ?? 0) + this.blockFlows;
  }

  /** The sum of the rates of the leases held on a circuit (Mbit/s). */
  rateInUse(circuit: string): number {
    return this.rateOn.get(circuit) ?? 0;
  }

  /**
   * Refuses a lease of `flows` flows on `sw` (and on the circuit of its path, at `rateMbps`) that would go over a
   * budget or the circuit's capacity; otherwise, with `hold`, holds its share under `id` until release(id).
   */
  admitLease(site: Site, id: number, path: PathName, rateMbps: number | undefined, sw: SwitchBudget, flows: number, hold: boolean): void {
    checkRequest(site, flows, 'transfer');
    checkSwitch(sw, flows, this.flowsInUse(sw.dpid));
    const circuit = circuitOf(site, path);
    const rate = rateMbps ?? 0;
    if (circuit && circuit.capacityMbps > 0) {
      const left = circuit.capacityMbps - this.rateInUse(circuit.name);
      // (a tolerance for the sum of fractional rates, far below any rate a meter can tell apart)
      if (rate > left + 1e-6) {
        throw new LeaseRefused(
          'circuit-capacity',
          `circuit ${circuit.name} has ${formatMbps(left)} Mbit/s of its ${circuit.capacityMbps} left; the transfer asks for ${formatMbps(rate)}`,
          {
            circuit: circuit.name,
            capacity_mbps: circuit.capacityMbps,
            capacity_left_mbps: Math.max(0, Number(formatMbps(left))),
            rate_mbps: rate,
          },
        );
      }
    }
    if (hold) this.holdLease(site, id, path, rateMbps, sw.dpid, flows);
  }

  /** Like admitLease, for a block of `flows` flows on every switch of `switches`. */
  admitBlock(site: Site, id: number, switches: SwitchBudget[], flows: number, hold: boolean): void {
    checkRequest(site, flows, 'block');
    for (const sw of switches) checkSwitch(sw, flows, this.flowsInUse(sw.dpid));
    if (hold) this.holdBlock(id, flows);
  }

  release(id: number): void {
    const held = this.leases.get(id);
    if (!held) return;
    this.leases.delete(id);
    this.flowsOn.set(held.dpid, (this.flowsOn.get(held.dpid) ?? 0) - held.flows);
    if (held.circuit) this.rateOn.set(held.circuit, this.rateInUse(held.circuit) - held.rateMbps);
  }

  releaseBlock(id: number): void {
    const flows = this.blocks.get(id);
    if (flows === undefined) return;
    this.blocks.delete(id);
    this.blockFlows -= flows;
  }

  /**
   * Holds a lease's share without checking it: leases granted before (restored at start, kept across a reload)
   * stay, even where a smaller budget now leaves them over it; new requests are refused until they fit again.
   */
  holdLease(site: Site, id: number, path: PathName, rateMbps: number | undefined, dpid: bigint, flows: number): void {
    this.release(id);
    const circuit = circuitOf(site, path);
    const held: Held = { dpid, flows, circuit: circuit && circuit.capacityMbps > 0 ? circuit.name : undefined, rateMbps: rateMbps ?? 0 };
    this.leases.set(id, held);
    this.flowsOn.set(dpid, (this.flowsOn.get(dpid) ?? 0) + flows);
    if (held.circuit) this.rateOn.set(held.circuit, this.rateInUse(held.circuit) + held.rateMbps);
  }

  holdBlock(id: number, flows: number): void {
    this.releaseBlock(id);
    this.blocks.set(id, flows);
    this.blockFlows += flows;
  }
}

function checkRequest(site: Site, flows: number, what: string): void {
  const budget = site.policy.leaseFlowBudget;
  if (flows > budget) {
    throw new LeaseRefused(
      'request-flow-budget',
      `the ${what} would take ${flows} flows${what === 'block' ? ' on each switch' : ''}; the site allows ${budget} per request (policy.lease-flow-budget)`,
      {
        flows,
        budget,
      },
    );
  }
}

function checkSwitch(sw: SwitchBudget, flows: number, inUse: number): void {
  if (inUse + flows > sw.budget) {
    throw new LeaseRefused(
      'switch-flow-budget',
      `switch ${sw.name} holds ${inUse} of its ${sw.budget} transfer and block flows; this request would take ${flows} more`,
      {
        flows,
        budget: sw.budget,
        in_use: inUse,
        switch: sw.name,
      },
    );
  }
}

function formatMbps(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}
