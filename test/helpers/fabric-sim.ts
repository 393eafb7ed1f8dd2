// Several flow-table simulators chained by a site's links: a packet sent into one switch is followed across the
// fabric (an output on a link's end arrives on the far end's port, with the VLAN and destination MAC it left with)
// until it leaves the fabric on some other port or is dropped. Links down carry nothing, and their ports are dead
// for fast-failover and select buckets (OF1.3.5 §6.5 watch_port).
import type { Site } from '../../apps/dmz/site.js';
import { FlowSim, type SimFlow, type SimGroup, type SimPacket } from './flow-sim.js';

export interface Exit {
  switch: string;
  port: number;
  vlan?: number;
  ethDst?: string;
}

export interface Trace {
  /** Where copies of the packet left the fabric (empty: dropped everywhere). */
  exits: Exit[];
  /** Every switch and port the packet entered, in order. */
  hops: { switch: string; inPort: number; vlan?: number }[];
}

export class FabricSim {
  private readonly sims = new Map<string, FlowSim>();

  constructor(
    private readonly site: Site,
    tables: (dpid: bigint) => { flows: SimFlow[]; groups: SimGroup[] },
    private readonly down: ReadonlySet<string> = new Set(),
  ) {
    for (const sw of site.switches) {
      const t = tables(sw.dpid);
      const dead = new Set(
        site.links.filter((l) => down.has(l.name)).flatMap((l) => [l.a, l.b].filter((e) => e.switch === sw.name).map((e) => e.port)),
      );
      this.sims.set(
        sw.name,
        new FlowSim()
          .install(t.flows)
          .installGroups(t.groups)
          .setLive((port) => !dead.has(port)),
      );
    }
  }

  private peer(sw: string, port: number): { switch: string; port: number; down: boolean } | undefined {
    for (const l of this.site.links) {
      if (l.a.switch === sw && l.a.port === port) return { ...l.b, down: this.down.has(l.name) };
      if (l.b.switch === sw && l.b.port === port) return { ...l.a, down: this.down.has(l.name) };
    }
    return undefined;
  }

  send(sw: string, p: SimPacket): Trace {
    const trace: Trace = { exits: [], hops: [] };
    const queue: { sw: string; p: SimPacket }[] = [{ sw, p }];
    while (queue.length > 0) {
      const { sw: at, p: pkt } = queue.shift()!;
      trace.hops.push({ switch: at, inPort: pkt.inPort, ...(pkt.vlan !== undefined ? { vlan: pkt.vlan } : {}) });
      if (trace.hops.length > 64) throw new Error(`fabric-sim: a loop (${trace.hops.map((h) => `${h.switch}:${h.inPort}`).join(' ')})`);
      for (const out of this.sims.get(at)!.lookup(pkt).outputs) {
        const far = this.peer(at, out.port);
        if (far?.down) continue;
        const next: SimPacket = { ...pkt, vlan: out.vlan, ...(out.ethDst ? { ethDst: out.ethDst } : {}) };
        if (out.vlan === undefined) delete next.vlan;
        if (far) queue.push({ sw: far.switch, p: { ...next, inPort: far.port } });
        else
          trace.exits.push({
            switch: at,
            port: out.port,
            ...(out.vlan !== undefined ? { vlan: out.vlan } : {}),
            ...(out.ethDst ? { ethDst: out.ethDst } : {}),
          });
      }
    }
    return trace;
  }
}
