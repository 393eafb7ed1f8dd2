// The API's JSON shapes of the DMZ app's records (snake_case, ISO times, port ranges as text).
import { formatPortRange } from '../apps/dmz/port-ranges.js';
import type { LeaseRecord, BlockRecord } from '../apps/dmz/lease-book.js';
import type { LeasePlan } from '../apps/dmz/dmz-app-shapes.js';
import { formatFlowEntry } from '../controller/openflow/multipart/flow.js';

export interface RateView {
  sampled_at: string;
  interval_seconds: number | null;
  bps_in: number | null;
  bps_out: number | null;
}

export interface TransferView {
  id: number;
  project: string;
  dtn: string;
  remote: string;
  protocol: string;
  local_ports: string[];
  remote_ports: string[];
  path: string;
  rate_mbps?: number;
  start: string;
  end: string;
  state: string;
  closed_at?: string;
  close_reason?: string;
  counters: { bytes_in: number; bytes_out: number; packets_in: number; packets_out: number };
  rate?: RateView;
}

export interface BlockView {
  id: number;
  prefix: string;
  protocol?: string;
  ports?: string[];
  start: string;
  end?: string;
  reason: string;
  state: string;
  closed_at?: string;
  project?: string;
  created_by?: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function transferView(l: LeaseRecord): TransferView {
  const v: TransferView = {
    id: l.id,
    project: l.project,
    dtn: l.dtn,
    remote: l.remote,
    protocol: l.protocol,
    local_ports: l.localPorts.map(formatPortRange),
    remote_ports: l.remotePorts.map(formatPortRange),
    path: l.path,
    start: iso(l.start),
    end: iso(l.end),
    state: l.state,
    counters: { bytes_in: l.counters.bytesIn, bytes_out: l.counters.bytesOut, packets_in: l.counters.packetsIn, packets_out: l.counters.packetsOut },
  };
  if (l.rateMbps !== undefined) v.rate_mbps = l.rateMbps;
  if (l.closedAt !== undefined) v.closed_at = iso(l.closedAt);
  if (l.closeReason !== undefined) v.close_reason = l.closeReason;
  return v;
}

export function blockView(b: BlockRecord): BlockView {
  const v: BlockView = { id: b.id, prefix: b.prefix, start: iso(b.start), reason: b.reason, state: b.state };
  if (b.protocol !== undefined) v.protocol = b.protocol;
  if (b.ports !== undefined) v.ports = b.ports.map(formatPortRange);
  if (b.end !== undefined) v.end = iso(b.end);
  if (b.closedAt !== undefined) v.closed_at = iso(b.closedAt);
  if (b.project !== undefined) v.project = b.project;
  if (b.createdBy !== undefined) v.created_by = b.createdBy;
  return v;
}

export interface TransferPlanView {
  dry_run: true;
  switch: string;
  rate_mbps?: number;
  flow_count: number;
  flows: string[];
  flow_budget: { request: number; switch: number; switch_in_use: number };
  path: { switch: string; flow_count: number; flows: string[]; flow_budget: { switch: number; switch_in_use: number } }[];
}

/** A dry run's answer: the flows a transfer would install, in ovs-ofctl text, and the budgets they count against. */
export function transferPlanView(plan: LeasePlan, requestBudget: number): TransferPlanView {
  return {
    dry_run: true,
    switch: plan.switchBudget.name,
    ...(plan.lease.rateMbps !== undefined ? { rate_mbps: plan.lease.rateMbps } : {}),
    flow_count: plan.flows.length,
    flows: plan.flows.map(formatFlowEntry),
    flow_budget: { request: requestBudget, switch: plan.switchBudget.budget, switch_in_use: plan.flowsInUse },
    path: plan.hops.map((h) => ({
      switch: h.switchBudget.name,
      flow_count: h.flows.length,
      flows: h.flows.map(formatFlowEntry),
      flow_budget: { switch: h.switchBudget.budget, switch_in_use: h.flowsInUse },
    })),
  };
}
