// Lease installs grouped per switch. Each lease's flows go on the switch as one atomic group (an ONF bundle:
// open, adds, commit), and a switch takes one group at a time (the flow manager serialises its operations per
// datapath), so under concurrent requests each lease would wait for every bundle before its own: the switch's
// round trips, not its work, would limit the rate. Here the leases that arrive while a group is under way go
// together in the next one (like a group commit): one bundle for several leases, each lease still all or none
// (the whole group is). A group the switch refuses applied nothing (AtomicGroupError: the bundle was
// discarded), so its leases are then installed one by one, each getting its own answer.
import type { FlowManager } from '../../controller/flow-manager.js';
import { AtomicGroupError } from '../../controller/atomic.js';
import { OwnershipConflictError } from '../../controller/desired-state.js';
import type { FlowSpec } from './pipeline.js';

/** Leases per group at most (a lease is 2 flows, or up to ~60 with port ranges: a bundle stays well bounded). */
const MAX_GROUP = 64;

interface Waiting {
  flows: FlowSpec[];
  sent: (() => void) | undefined;
  resolve: (keys: string[]) => void;
  reject: (e: unknown) => void;
}

export class LeaseInstalls {
  private readonly queues = new Map<bigint, Waiting[]>();

  constructor(
    private readonly flows: FlowManager,
    private readonly owner: string,
  ) {}

  /**
   * Installs one lease's flows atomically; resolves once the switch confirmed them (with others' or alone), with
   * their flow keys in order (the desired state's own strings: see FlowManager.apply's `keys`). `sent`, if given,
   * is called as the lease's group goes to the switch (with the rest of its group, in the same turn).
   */
  install(dpid: bigint, flows: FlowSpec[], sent?: () => void): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const waiting = this.queues.get(dpid);
      if (waiting) {
        waiting.push({ flows, sent, resolve, reject });
        return;
      }
      this.queues.set(dpid, [{ flows, sent, resolve, reject }]);
      void this.drain(dpid);
    });
  }

  private async drain(dpid: bigint): Promise<void> {
    const queue = this.queues.get(dpid)!;
    while (queue.length > 0) {
      const group = queue.splice(0, MAX_GROUP);
      for (const w of group) w.sent?.();
      try {
        const keys: string[] = [];
        await this.flows.apply(dpid, this.owner, { add: group.flatMap((w) => w.flows) }, { atomic: true, keys });
        let at = 0;
        for (const w of group) {
          w.resolve(keys.slice(at, at + w.flows.length));
          at += w.flows.length;
        }
      } catch (e) {
        if (group.length === 1 || !(e instanceof AtomicGroupError || e instanceof OwnershipConflictError)) {
          for (const w of group) w.reject(e);
          continue;
        }
        // One lease's flow was refused and nothing of the group applied: each on its own, for its own answer.
        for (const w of group) {
          try {
            const keys: string[] = [];
            await this.flows.apply(dpid, this.owner, { add: w.flows }, { atomic: true, keys });
            w.resolve(keys);
          } catch (e1) {
            w.reject(e1);
          }
        }
      }
    }
    this.queues.delete(dpid);
  }
}
