// OFPT_TABLE_MOD (OF1.3.5 §7.3.3): configures a flow table. In 1.3 every config bit is deprecated (the
// table-miss behaviour moved to table-miss flow entries), so this message is mostly a no-op kept for 1.1/1.2.
//
//   struct ofp_table_mod { ofp_header header; uint8_t table_id; uint8_t pad[3]; uint32_t config; }; // 16 bytes
import { OFPT, OFPTT } from './constants.js';
import { register } from './registry.js';
import { jInt } from './ryu-json.js';

export interface TableModMsg {
  type: 'tableMod';
  xid: number;
  /** A table, or OFPTT_ALL (0xff). */
  tableId: number;
  /** OFPTC_* bits (all deprecated in 1.3). */
  config: number;
}

register<TableModMsg>({
  type: 'tableMod',
  ofpType: OFPT.TABLE_MOD,
  ryuName: 'OFPTableMod',
  ofpName: 'OFPT_TABLE_MOD',
  decode: (r, xid) => {
    const tableId = r.u8();
    r.skip(3);
    return { type: 'tableMod', xid, tableId, config: r.u32() };
  },
  encode: (w, m) => {
    w.u8(m.tableId);
    w.zeros(3);
    w.u32(m.config);
  },
  toRyu: (m) => ({ table_id: m.tableId, config: m.config }),
  fromRyu: (d, xid) => ({ type: 'tableMod', xid, tableId: jInt(d, 'table_id'), config: jInt(d, 'config', 0) }),
  // As ovs-ofctl (`table_id: ALL_TABLES` but `table_id=1`); it ignores the deprecated config, we show it when set.
  format: (m) =>
    `${m.tableId === OFPTT.ALL ? 'table_id: ALL_TABLES' : `table_id=${m.tableId}`}${m.config ? ` config=0x${m.config.toString(16)}` : ''}`,
});
