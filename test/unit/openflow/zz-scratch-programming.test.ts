import { it } from 'vitest';
import { encodeInto, decode } from '../../../controller/openflow/registry.js';
import { Writer } from '../../../controller/openflow/buffer.js';
import '../../../controller/openflow/flow-mod.js';
import type { FlowModMsg } from '../../../controller/openflow/flow-mod.js';

const FM: FlowModMsg = {
  type: 'flowMod', xid: 1, cookie: 0x1234n, cookieMask: 0n, tableId: 0, command: 0, idleTimeout: 60, hardTimeout: 0,
  priority: 1000, bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 1,
  match: [
    { field: 'eth_type', value: 0x0800 }, { field: 'ip_proto', value: 6 }, { field: 'ipv4_src', value: '10.0.0.1' },
    { field: 'ipv4_dst', value: '192.168.1.2' }, { field: 'tcp_src', value: 12345 }, { field: 'tcp_dst', value: 443 },
  ],
  instructions: [
    { type: 'meter', meterId: 7 },
    { type: 'applyActions', actions: [{ type: 'setField', field: { field: 'eth_dst', value: '00:11:22:33:44:55' } }, { type: 'output', port: 2, maxLen: 0 }] },
  ],
};
it('bench', () => {
  const w = new Writer(4096);
  for (let round = 0; round < 5; round++) {
    const n = 2_000_000;
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) { w.reset(); encodeInto(w, FM); }
    const dt = Number(process.hrtime.bigint() - t) / 1e9;
    console.log(`encode: ${(n / dt / 1e6).toFixed(2)} M/s, ${w.pos} bytes`);
  }
  const bytes = Buffer.from(w.view());
  const n = 1_000_000;
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) decode(bytes);
  console.log(`decode: ${(n / (Number(process.hrtime.bigint() - t) / 1e9) / 1e6).toFixed(2)} M/s`);
}, 120000);
