// What the live rules take of each switch's flow budget (policy.switchFlowBudget), checked before a rule is taken.
import { LeaseRefused } from '../pipeline.js';
import type { Site, SiteSwitch } from '../site.js';
import type { State } from './state.js';

/** Lease and block flows the live rules hold on a switch. */
export function flowsInUse(state: State, dpid: bigint): number {
  return state.rules.leaseFlowsOn(dpid) + state.rules.blockFlows;
}

export function checkRequestBudget(site: Site, flows: number, what: 'transfer' | 'block'): void {
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

/** `budget`: the policy's, or less where the switch's table is smaller (its reported size: the runtime's). */
export function checkSwitchBudget(site: Site, sw: SiteSwitch, flows: number, inUse: number, budget = site.policy.switchFlowBudget): void {
  if (inUse + flows > budget) {
    throw new LeaseRefused(
      'switch-flow-budget',
      `switch ${sw.name} holds ${inUse} of its ${budget} transfer and block flows; this request would take ${flows} more`,
      {
        flows,
        budget,
        in_use: inUse,
        switch: sw.name,
      },
    );
  }
}
