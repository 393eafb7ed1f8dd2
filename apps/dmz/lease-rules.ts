// The core's values for what the runtime holds as text: a lease request (its remote prefix parsed once, its
// duration as an end) and a restored lease record (as a live rule of the core's state).
import { parsePrefix, type Prefix } from './addresses.js';
import { leaseDtn, LeaseRefused } from './pipeline.js';
import { switchOfDtn, type Site } from './site.js';
import type { LeaseRequest, LeaseRecord } from './lease-book.js';
import type { LeaseSpec } from './core/commands.js';
import type { LeaseRule } from './core/state.js';
import { flowsOfLease } from './core/leases.js';

/** A request as the core's command takes it; a remote that is no prefix is refused (after an unknown DTN). */
export function leaseSpecOf(site: Site, req: LeaseRequest, now: number): LeaseSpec {
  let remote: Prefix;
  try {
    remote = parsePrefix(req.remote);
  } catch (e) {
    leaseDtn(site, req);
    throw new LeaseRefused('bad-remote', (e as Error).message);
  }
  return {
    project: req.project,
    dtn: req.dtn,
    remote,
    protocol: req.protocol,
    localPorts: req.localPorts,
    remotePorts: req.remotePorts,
    path: req.path,
    end: now + req.durationSeconds * 1000,
    ...(req.rateMbps !== undefined ? { rateMbps: req.rateMbps } : {}),
  };
}

/**
 * An active lease's record (restored at start) as the core's rule. One the site no longer allows (its DTN gone,
 * say) gets no hops and no flows: the start's config check revokes it.
 */
export function leaseRuleOf(site: Site, rec: LeaseRecord, now: number): LeaseRule {
  const sw = switchOfDtn(site, rec.dtn);
  const rule: LeaseRule = {
    kind: 'lease',
    id: rec.id,
    status: 'active',
    project: rec.project,
    dtn: rec.dtn,
    remote: parsePrefix(rec.remote),
    protocol: rec.protocol,
    localPorts: rec.localPorts,
    remotePorts: rec.remotePorts,
    path: rec.path,
    hops: sw ? [{ dpid: sw.dpid, switch: sw.name }] : [],
    start: rec.start,
    end: rec.end,
    rateMbps: rec.rateMbps,
    meterId: rec.meterId,
    flows: 0,
    createdAt: rec.createdAt,
  };
  try {
    rule.flows = flowsOfLease(site, rule, Math.min(now, rule.end - 1000)).flows.length;
  } catch {
    rule.flows = 0;
  }
  return rule;
}
