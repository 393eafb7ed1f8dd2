// The size of table 0 as each switch reports it (max_entries of OFPMP_TABLE_FEATURES, OF1.3.5 §7.3.5.5.1; an
// empty request body asks without setting anything), read once a switch connects: the ceiling of its flow budget.
// OF1.3's table stats no longer carry max_entries, so table features is where a switch says it. A switch that
// does not answer it (OFPBRC_BAD_MULTIPART) has no ceiling but the configured budget.
import type { Controller } from '../../controller/controller.js';
import type { SwitchConnection } from '../../controller/switch-connection.js';
import type { Logger } from '../../controller/log.js';
import type { TableFeatures } from '../../controller/openflow/multipart/index.js';

export class TableSizes {
  private readonly sizes = new Map<bigint, number>();
  private readonly onUp = (conn: SwitchConnection): void => void this.read(conn);

  constructor(
    private readonly controller: Controller,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.controller.on('switchUp', this.onUp);
  }

  stop(): void {
    this.controller.off('switchUp', this.onUp);
  }

  /** Table 0's max_entries as the switch reported it (undefined: not reported, or not read yet). */
  of(dpid: bigint): number | undefined {
    return this.sizes.get(dpid);
  }

  private async read(conn: SwitchConnection): Promise<void> {
    const dpid = conn.dpid;
    if (dpid === undefined) return;
    try {
      const tables = await conn.multipart<TableFeatures>({ type: 'tableFeaturesStatsRequest', xid: 0, flags: 0, body: [] });
      const t0 = tables.find((t) => t.tableId === 0);
      if (t0) this.sizes.set(dpid, t0.maxEntries);
      else this.sizes.delete(dpid);
    } catch (e) {
      this.sizes.delete(dpid);
      this.log.debug({ dpid: dpid.toString(16), err: (e as Error).message }, 'no table size reported; the configured flow budget applies');
    }
  }
}
