import { describe, expect, it } from 'vitest';
import { RequestTable } from '../../../controller/requests.js';
import { SwitchError } from '../../../controller/errors.js';
import type { OfpMessage } from '../../../controller/openflow/index.js';
import { bundleControlMsg } from '../../../controller/openflow/onf-bundle.js';

const packetIn = (xid: number): OfpMessage => ({
  type: 'packetIn',
  xid,
  bufferId: 0xffffffff,
  totalLen: 0,
  reason: 0,
  tableId: 0,
  cookie: 0n,
  match: [],
  data: Buffer.alloc(0),
});
const featuresReply = (xid: number): OfpMessage => ({
  type: 'featuresReply',
  xid,
  datapathId: 1n,
  nBuffers: 0,
  nTables: 254,
  auxiliaryId: 0,
  capabilities: 0,
});

describe("RequestTable: only a reply of the request's kind answers it", () => {
  it('a packet-in or another reply under an outstanding xid does not settle the request', async () => {
    const t = new RequestTable(() => 1n, 1000);
    const reply = t.add({ type: 'featuresRequest', xid: 1 });
    expect(t.settle(packetIn(1))).toBe(false);
    expect(t.settle({ type: 'echoReply', xid: 1, data: Buffer.alloc(0) })).toBe(false);
    expect(t.size).toBe(1);
    expect(t.settle(featuresReply(1))).toBe(true);
    expect(await reply).toEqual([featuresReply(1)]);
  });

  it("multipart replies of the request's own kind, errors, and ONF bundle replies settle", async () => {
    const t = new RequestTable(() => 1n, 1000);
    const ports = t.add({ type: 'portDescStatsRequest', xid: 7, flags: 0 });
    expect(t.settle({ type: 'flowStatsReply', xid: 7, flags: 0, body: [] })).toBe(false);
    expect(t.settle({ type: 'portDescStatsReply', xid: 7, flags: 0, body: [] })).toBe(true);
    await expect(ports).resolves.toHaveLength(1);

    const bundle = t.add(bundleControlMsg(8, 1, 0, 1));
    expect(t.settle(packetIn(8))).toBe(false);
    expect(t.settle(bundleControlMsg(8, 1, 1, 1))).toBe(true);
    await expect(bundle).resolves.toHaveLength(1);

    const barrier = t.add({ type: 'barrierRequest', xid: 9 });
    expect(t.settle({ type: 'error', xid: 9, errType: 1, code: 1, data: Buffer.alloc(0) })).toBe(true);
    await expect(barrier).rejects.toBeInstanceOf(SwitchError);
  });
});
