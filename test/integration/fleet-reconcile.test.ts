/**
 * 100 emulated switches (emulator/, a faithful OF1.3 switch on our codec) connect to the real Controller and
 * FlowManager at once; every one is reconciled to exactly its desired flows, and a second reconcile of each
 * finds nothing to change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller } from '../../controller/controller.js';
import { FlowManager, type ReconcileReport } from '../../controller/flow-manager.js';
import { silentLogger } from '../../controller/log.js';
import { Fleet } from '../../emulator/index.js';

const N = 100;
const FLOWS_PER_SWITCH = 5;

describe(`${N} emulated switches connect and reconcile`, () => {
  let controller: Controller;
  let flows: FlowManager;
  let fleet: Fleet;
  const reports = new Map<bigint, ReconcileReport>();

  beforeAll(async () => {
    controller = new Controller({ port: 0, host: '127.0.0.1', logger: silentLogger() });
    flows = new FlowManager(controller, { logger: silentLogger() });
    flows.registerOwner('fleet-test', 0x77);
    for (let d = 1n; d <= BigInt(N); d++) {
      flows.setFlows(
        d,
        'fleet-test',
        Array.from({ length: FLOWS_PER_SWITCH }, (_, i) => ({
          priority: 100 + i,
          match: [
            { field: 'in_port', value: i + 1 },
            { field: 'eth_type', value: 0x0800 },
            { field: 'ipv4_dst', value: `10.${Number(d)}.0.${i}` },
          ],
          instructions: [{ type: 'applyActions' as const, actions: [{ type: 'output' as const, port: ((i + 1) % 2) + 1, maxLen: 0 }] }],
        })),
      );
    }
    flows.on('reconciled', (dpid, r) => reports.set(dpid, r));
    const { port } = await controller.listen();
    fleet = new Fleet({ count: N, port: port!, host: '127.0.0.1', ports: 2 });
    await fleet.start();
  });

  afterAll(async () => {
    await fleet?.stop();
    flows?.close();
    await controller?.close();
  });

  it('every switch is up, reconciled once, and holds exactly its desired flows', async () => {
    const deadline = Date.now() + 60_000;
    while (reports.size < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(controller.switches().length).toBe(N);
    expect(reports.size).toBe(N);
    for (const [dpid, r] of reports) {
      expect(r, `switch ${dpid}`).toMatchObject({ added: FLOWS_PER_SWITCH, deleted: 0, failed: [] });
      const sw = fleet.get(dpid)!;
      expect(sw.flowCount()).toBe(FLOWS_PER_SWITCH);
    }
    // A second pass over all of them, concurrently: nothing to change anywhere.
    const again = await Promise.all(controller.switches().map((c) => flows.reconcile(c.dpid!)));
    expect(again.every((r) => r.added === 0 && r.deleted === 0 && r.modified === 0 && r.unchanged === FLOWS_PER_SWITCH)).toBe(true);
  });
});
