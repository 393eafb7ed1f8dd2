// Staged flows: how a switch without bundles takes part in a change spread over several switches (cross-switch.ts).
//
// To prepare, each flow the change puts on the switch is installed in a staged form that cannot match yet: the same
// table, priority, instructions and match, plus `metadata = <staging cookie>` (exactly), under that cookie. A packet
// enters the pipeline with metadata 0 (Open vSwitch, the emulator) and only write_metadata changes it (OF1.3.5
// §5.9), so a staged entry matches nothing unless a pipeline writes that very 64-bit value. The switch still judges it as it
// would the real flow (instructions, actions, referenced groups and meters, table space), so a refusal shows up at
// prepare, before any switch commits. At commit the staged entries are deleted (one flow-mod, by cookie) and the
// real changes sent; to discard, the same one delete.
//
// Staged entries carry no flags (no flow-removed, no overlap check against the real entries that replace them)
// and a hard timeout, so that what a dead controller leaves behind goes by itself. Their cookie's top 16 bits are
// 0xffff, an owner id ownerCookie() never issues: no owner declares them, so a full reconcile deletes them.
import { OFPFC, OFPTT, OFPP, OFPG, OFP_NO_BUFFER } from './openflow/index.js';
import { ALL_ONES_64, normaliseMatch, type FlowEntry } from './flow-entry.js';
import { ID_MASK, stagingCookie } from './cookie.js';
import type { FlowModMsg } from './reconcile.js';

/** Seconds a staged entry lives if nobody commits or discards it (the controller died meanwhile). */
export const STAGED_HARD_TIMEOUT_S = 120;

let nextStage = 1n;

/** A fresh staging cookie (owner 0xffff, cookie.ts), for one switch's part of one change. */
export function newStagingCookie(): bigint {
  const c = stagingCookie(nextStage);
  nextStage = nextStage >= ID_MASK - 1n ? 1n : nextStage + 1n;
  return c;
}

/** The staged form of `e` under `cookie` (its own metadata match, if any, gives way to the staging tag). */
export function stagedEntry(e: FlowEntry, cookie: bigint): FlowEntry {
  return {
    tableId: e.tableId,
    priority: e.priority,
    match: normaliseMatch([...e.match.filter((f) => f.field !== 'metadata'), { field: 'metadata', value: cookie }]),
    instructions: e.instructions,
    cookie,
    idleTimeout: 0,
    hardTimeout: STAGED_HARD_TIMEOUT_S,
    flags: 0,
  };
}

/** Deletes every entry staged under `cookie`, in every table (OF1.3.5 §6.4: a non-strict delete filtered by cookie). */
export function deleteStagedMsg(cookie: bigint): FlowModMsg {
  return {
    type: 'flowMod',
    xid: 0,
    command: OFPFC.DELETE,
    cookie,
    cookieMask: ALL_ONES_64,
    tableId: OFPTT.ALL,
    priority: 0,
    idleTimeout: 0,
    hardTimeout: 0,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: 0,
    match: [],
    instructions: [],
  };
}
