// The flow budgets' and the circuits' bookkeeping (apps/dmz/admission.ts) and their policy keys in the site config.
import { describe, expect, it } from 'vitest';
import { Admission, leaseRate } from '../../../apps/dmz/admission.js';
import { DEFAULT_SITE_YAML } from '../../../apps/dmz/default-site.js';
import { parseSiteConfig, SiteConfigError } from '../../../apps/dmz/config.js';
import { LeaseRefused } from '../../../apps/dmz/pipeline.js';

const withPolicy = (extra: string) => parseSiteConfig(DEFAULT_SITE_YAML.replace('  protocols: [tcp, udp]\n', `  protocols: [tcp, udp]\n${extra}`));
const refusal = (fn: () => void): LeaseRefused => {
  try {
    fn();
  } catch (e) {
    if (e instanceof LeaseRefused) return e;
    throw e;
  }
  throw new Error('not refused');
};

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

describe('Admission', () => {
  const site = withPolicy('  lease-flow-budget: 10\n');
  const sw = { name: 'dmz1', dpid: 1n, budget: 20 };

  it('holds what each admitted request takes until it is released; a check alone holds nothing', () => {
    const a = new Admission();
    a.admitLease(site, 1, 'routed', undefined, sw, 10, false);
    expect(a.flowsInUse(1n)).toBe(0);
    a.admitLease(site, 1, 'routed', undefined, sw, 10, true);
    a.admitBlock(site, 7, [sw], 4, true);
    expect(a.flowsInUse(1n)).toBe(14);
    expect(a.flowsInUse(2n)).toBe(4); // blocks are on every switch
    expect(refusal(() => a.admitLease(site, 2, 'routed', undefined, sw, 8, true)).limit).toEqual({
      flows: 8,
      budget: 20,
      in_use: 14,
      switch: 'dmz1',
    });
    a.release(1);
    a.release(1); // twice: no effect
    expect(a.flowsInUse(1n)).toBe(4);
    a.releaseBlock(7);
    expect(a.flowsInUse(1n)).toBe(0);
  });

  it('refuses a request over the per-request budget whatever the switch has left', () => {
    const e = refusal(() => new Admission().admitLease(site, 1, 'routed', undefined, sw, 11, true));
    expect(e.reason).toBe('request-flow-budget');
    expect(e.limit).toEqual({ flows: 11, budget: 10 });
  });

  it('keeps the rates on a circuit within its capacity, and names what is left', () => {
    const a = new Admission();
    a.admitLease(site, 1, 'circuit:esnet', 300, sw, 2, true);
    a.admitLease(site, 2, 'circuit:esnet', 150.5, sw, 2, true);
    const e = refusal(() => a.admitLease(site, 3, 'circuit:esnet', 50, sw, 2, true));
    expect(e.reason).toBe('circuit-capacity');
    expect(e.limit).toEqual({ circuit: 'esnet', capacity_mbps: 500, capacity_left_mbps: 49.5, rate_mbps: 50 });
    a.admitLease(site, 3, 'circuit:esnet', 49.5, sw, 2, true);
    expect(a.rateInUse('esnet')).toBe(500);
    a.release(2);
    expect(a.rateInUse('esnet')).toBe(349.5);
    // The routed path has no capacity to keep.
    a.admitLease(site, 4, 'routed', 100_000, sw, 2, true);
    expect(a.rateInUse('esnet')).toBe(349.5);
  });

  it('holds restored leases without a check, and refuses new ones until they fit again', () => {
    const a = new Admission();
    a.holdLease(site, 1, 'routed', undefined, 1n, 30);
    expect(refusal(() => a.admitLease(site, 2, 'routed', undefined, sw, 2, true)).reason).toBe('switch-flow-budget');
    a.release(1);
    a.admitLease(site, 2, 'routed', undefined, sw, 2, true);
  });
});
