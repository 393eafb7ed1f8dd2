// The flow budgets and the circuits' capacity as the core keeps them (apps/dmz/core/budgets.ts, leases.ts), and
// their policy keys in the site config.
import { describe, expect, it } from 'vitest';
import { leaseRate } from '../../../apps/dmz/admission.js';
import { parsePrefix } from '../../../apps/dmz/addresses.js';
import { decide, type Decision } from '../../../apps/dmz/core/decide.js';
import { SYSTEM, type LeaseSpec } from '../../../apps/dmz/core/commands.js';
import { initialState, type State } from '../../../apps/dmz/core/state.js';
import { flowsInUse } from '../../../apps/dmz/core/budgets.js';
import { DEFAULT_SITE_YAML } from '../../../apps/dmz/default-site.js';
import { parseSiteConfig, SiteConfigError } from '../../../apps/dmz/config.js';

const withPolicy = (extra: string) => parseSiteConfig(DEFAULT_SITE_YAML.replace('  protocols: [tcp, udp]\n', `  protocols: [tcp, udp]\n${extra}`));

describe('flow budget and circuit policy keys', () => {
  it("default to 256 flows per request, 65536 per switch, and a circuit's whole capacity", () => {
    const site = withPolicy('');
    expect(site.policy).toMatchObject({ leaseFlowBudget: 256, switchFlowBudget: 65536, circuitDefaultRateMbps: undefined });
    expect(leaseRate(site, 'circuit:esnet', undefined)).toBe(500);
    expect(leaseRate(site, 'circuit:esnet', 20)).toBe(20);
    expect(leaseRate(site, 'routed', undefined)).toBeUndefined();
  });

  it('are read from the policy, and checked', () => {
    const site = withPolicy('  lease-flow-budget: 64\n  switch-flow-budget: 2000\n  circuit-default-rate-mbps: 50\n');
    expect(site.policy).toMatchObject({ leaseFlowBudget: 64, switchFlowBudget: 2000, circuitDefaultRateMbps: 50 });
    expect(leaseRate(site, 'circuit:esnet', undefined)).toBe(50);
    expect(() => withPolicy('  lease-flow-budget: 1\n')).toThrow(SiteConfigError);
    expect(() => withPolicy('  circuit-default-rate-mbps: 0\n')).toThrow(/policy\.circuit-default-rate-mbps/);
  });
});

describe("the core's flow budgets and circuit capacity", () => {
  const site = withPolicy('  lease-flow-budget: 10\n  switch-flow-budget: 20\n');
  const dpid = site.switches[0]!.dpid;
  const up = (): State => ({ ...initialState(site), up: new Set([dpid]) });
  /** A lease of `ports` single-port local ranges (2 flows each) to its own remote /32. */
  const ask = (state: State, i: number, ports: number, over: Partial<LeaseSpec> = {}): Decision =>
    decide(
      state,
      {
        type: 'request',
        by: SYSTEM,
        lease: {
          project: 'p',
          dtn: 'dtn1',
          remote: parsePrefix(`198.18.0.${i}/32`),
          protocol: 'tcp',
          localPorts: Array.from({ length: ports }, (_, k) => ({ lo: 50000 + 2 * k, hi: 50000 + 2 * k })),
          remotePorts: [{ lo: 0, hi: 65535 }],
          path: 'routed',
          end: 60_000,
          ...over,
        },
      },
      0,
    );

  it('holds what each granted request takes until it is closed; a refusal holds nothing', () => {
    let s = ask(up(), 1, 5).state;
    s = decide(s, { type: 'installed', id: 1 }, 0).state;
    expect(flowsInUse(s, dpid)).toBe(10);
    s = decide(s, { type: 'block', by: SYSTEM, block: { prefix: parsePrefix('203.0.113.7/32'), reason: 'x' } }, 0).state;
    const blockFlows = flowsInUse(s, dpid) - 10;
    expect(blockFlows).toBeGreaterThan(0); // blocks are on every switch
    const refused = ask(s, 2, 5);
    expect(refused.plan.refused).toMatchObject({ reason: 'switch-flow-budget', limit: { flows: 10, budget: 20, in_use: 10 + blockFlows } });
    expect(refused.state).toBe(s);
    s = decide(s, { type: 'release', by: SYSTEM, id: 1, state: 'released', reason: 'x' }, 0).state;
    expect(flowsInUse(s, dpid)).toBe(blockFlows);
  });

  it('refuses a request over the per-request budget whatever the switch has left', () => {
    const d = ask(up(), 1, 6);
    expect(d.plan.refused).toMatchObject({ reason: 'request-flow-budget', limit: { flows: 12, budget: 10 } });
  });

  it('keeps the rates on a circuit within its capacity, and names what is left', () => {
    let s = ask(up(), 1, 1, { path: 'circuit:esnet', rateMbps: 300 }).state;
    s = ask(s, 2, 1, { path: 'circuit:esnet', rateMbps: 150.5 }).state;
    expect(ask(s, 3, 1, { path: 'circuit:esnet', rateMbps: 50 }).plan.refused).toEqual({
      reason: 'circuit-capacity',
      message: expect.any(String),
      limit: { circuit: 'esnet', capacity_mbps: 500, capacity_left_mbps: 49.5, rate_mbps: 50 },
    });
    s = ask(s, 3, 1, { path: 'circuit:esnet', rateMbps: 49.5 }).state;
    expect(ask(s, 4, 1, { path: 'circuit:esnet', rateMbps: 0.5 }).plan.refused?.reason).toBe('circuit-capacity');
    // The routed path has no capacity to keep.
    expect(ask(s, 5, 1, { rateMbps: 100_000 }).plan.refused).toBeUndefined();
  });
});
