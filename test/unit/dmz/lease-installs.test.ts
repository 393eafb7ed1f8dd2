// Lease installs grouped per switch: the first goes at once, those arriving meanwhile go together in the next
// atomic group; a group the switch refused (nothing applied) is retried lease by lease so that each gets its own
// answer; any other failure (the connection, a timeout) is every lease's answer, with nothing retried.
import { describe, expect, it } from 'vitest';
import type { FlowManager } from '../../../controller/flow-manager.js';
import { AtomicGroupError } from '../../../controller/atomic.js';
import { SwitchError } from '../../../controller/errors.js';
import { LeaseInstalls } from '../../../apps/dmz/lease-installs.js';
import type { FlowSpec } from '../../../apps/dmz/pipeline.js';

/** A flow manager whose apply() records each call's flows and waits until the test settles it. */
function fakeFlows() {
  const calls: { dpid: bigint; flows: FlowSpec[]; settle: (e?: Error) => void }[] = [];
  const fm = {
    apply(dpid: bigint, _owner: string, change: { add?: readonly FlowSpec[] }, opts: { keys?: string[] } = {}) {
      // Like FlowManager.apply: the key of each add spec, in order (here a stand-in made from its cookie).
      for (const f of change.add ?? []) opts.keys?.push(`key-${f.cookie}`);
      return new Promise<void>((resolve, reject) => {
        calls.push({ dpid, flows: [...(change.add ?? [])], settle: (e) => (e ? reject(e) : resolve()) });
      });
    },
  };
  return { fm: fm as unknown as FlowManager, calls };
}

const flowsOf = (lease: number): FlowSpec[] =>
  [1, 2].map((dir) => ({ tableId: 0, priority: 40000, match: [], instructions: [], cookie: BigInt(lease * 10 + dir) }) as unknown as FlowSpec);
const leasesIn = (flows: FlowSpec[]) => [...new Set(flows.map((f) => (Number(f.cookie) / 10) | 0))];
const tick = () => new Promise((r) => setImmediate(r));
const refusal = () =>
  new AtomicGroupError(new SwitchError(1n, 5, 6, undefined, Buffer.alloc(0)), { type: 'barrierRequest', xid: 1 } as never, 0, 'add flow x', 'bundle');

describe('lease installs', () => {
  it('the first goes at once; those arriving while it is under way go together next; switches are independent', async () => {
    const { fm, calls } = fakeFlows();
    const li = new LeaseInstalls(fm, 'dmz-leases');
    const done: number[] = [];
    const install = (dpid: bigint, lease: number) => li.install(dpid, flowsOf(lease)).then(() => done.push(lease));
    const all = [install(1n, 1), install(1n, 2), install(1n, 3), install(2n, 4), install(1n, 5)];
    await tick();
    expect(calls.map((c) => [c.dpid, leasesIn(c.flows)])).toEqual([
      [1n, [1]],
      [2n, [4]],
    ]);
    calls[0]!.settle();
    await tick();
    expect(done).toEqual([1]);
    expect(calls.map((c) => leasesIn(c.flows))).toEqual([[1], [4], [2, 3, 5]]);
    calls[2]!.settle();
    calls[1]!.settle();
    await Promise.all(all);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('sends the leases that arrive while a group is under way together, in the next group', async () => {
    const { fm, calls } = fakeFlows();
    const li = new LeaseInstalls(fm, 'dmz-leases');
    const first = li.install(1n, flowsOf(1));
    const rest = [2, 3].map((l) => li.install(1n, flowsOf(l)));
    await tick();
    expect(calls.map((c) => leasesIn(c.flows))).toEqual([[1]]); // 2 and 3 wait for the group under way
    calls[0]!.settle();
    await first;
    await tick();
    expect(calls.map((c) => leasesIn(c.flows))).toEqual([[1], [2, 3]]);
    calls[1]!.settle();
    await Promise.all(rest);
  });

  it('a refused group is retried lease by lease: the refused lease gets its error, the others are installed', async () => {
    const { fm, calls } = fakeFlows();
    const li = new LeaseInstalls(fm, 'dmz-leases');
    const first = li.install(1n, flowsOf(1));
    const group = [2, 3, 4].map((l) =>
      li.install(1n, flowsOf(l)).then(
        () => 'ok',
        (e: Error) => e,
      ),
    );
    await tick();
    calls[0]!.settle();
    await tick();
    expect(leasesIn(calls[1]!.flows)).toEqual([2, 3, 4]);
    const refused = refusal();
    calls[1]!.settle(refused);
    for (const [k, lease] of [
      [2, 2],
      [3, 3],
      [4, 4],
    ] as const) {
      await tick();
      expect(leasesIn(calls[k]!.flows)).toEqual([lease]);
      calls[k]!.settle(lease === 3 ? refusal() : undefined);
    }
    await first;
    const answers = await Promise.all(group);
    expect(answers[0]).toBe('ok');
    expect(answers[1]).toBeInstanceOf(AtomicGroupError);
    expect(answers[2]).toBe('ok');
  });

  it('any other failure of a group is the answer of each of its leases, with no retry', async () => {
    const { fm, calls } = fakeFlows();
    const li = new LeaseInstalls(fm, 'dmz-leases');
    const first = li.install(1n, flowsOf(1));
    const group = [2, 3].map((l) =>
      li.install(1n, flowsOf(l)).then(
        () => 'ok',
        (e: Error) => e.message,
      ),
    );
    await tick();
    calls[0]!.settle();
    await tick();
    calls[1]!.settle(new Error('connection closed'));
    expect(await Promise.all(group)).toEqual(['connection closed', 'connection closed']);
    await first;
    expect(calls).toHaveLength(2);
    // The queue is free again: the next install goes at once.
    const next = li.install(1n, flowsOf(9));
    await tick();
    expect(leasesIn(calls[2]!.flows)).toEqual([9]);
    calls[2]!.settle();
    await next;
  });

  it('resolves each lease with its own flow keys, in order, whether installed in a group or on its own', async () => {
    const { fm, calls } = fakeFlows();
    const li = new LeaseInstalls(fm, 'dmz-leases');
    const first = li.install(1n, flowsOf(1));
    const group = [2, 3, 4].map((l) =>
      li.install(1n, flowsOf(l)).then(
        (keys) => keys,
        (e: Error) => e.message,
      ),
    );
    await tick();
    calls[0]!.settle();
    expect(await first).toEqual(['key-11', 'key-12']);
    await tick();
    calls[1]!.settle(refusal()); // the group of 2, 3, 4: retried one by one
    await tick();
    calls[2]!.settle();
    await tick();
    calls[3]!.settle(new Error('refused'));
    await tick();
    calls[4]!.settle();
    expect(await Promise.all(group)).toEqual([['key-21', 'key-22'], 'refused', ['key-41', 'key-42']]);
  });
});
