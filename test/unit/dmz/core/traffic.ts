// What the core's tests send: a transfer request (the climate project's routed lease of a DTN, ports
// 50000-51000, from 192.0.2.0/24), a TCP packet, and a packet followed across the fabric counting where the lease's
// flows count it (counter-poll.ts, countedAs).
import { parsePrefix } from '../../../../apps/dmz/addresses.js';
import { countedAs } from '../../../../apps/dmz/counter-poll.js';
import type { Command, LeaseSpec } from '../../../../apps/dmz/core/commands.js';
import { OWNER } from '../../../../apps/dmz/owners.js';
import { ownerCookie } from '../../../../controller/cookie.js';
import { matches, type SimPacket } from '../../../helpers/flow-sim.js';
import type { World } from './world.js';

export const USER = { actor: 'token:1', project: 'climate' };

export const request = (end: number, over: Partial<LeaseSpec> = {}): Command => ({
  type: 'request',
  by: USER,
  lease: {
    project: 'climate',
    dtn: 'dtn1',
    remote: parsePrefix('192.0.2.0/24'),
    protocol: 'tcp',
    localPorts: [{ lo: 50000, hi: 51000 }],
    remotePorts: [{ lo: 0, hi: 65535 }],
    path: 'routed',
    end,
    ...over,
  },
});

export const tcp = (inPort: number, src: string, dst: string, sport: number, dport: number, ethDst: string, vlan?: number): SimPacket => ({
  inPort,
  ethDst,
  ethType: 0x0800,
  ipSrc: src,
  ipDst: dst,
  ipProto: 6,
  srcPort: sport,
  dstPort: dport,
  ...(vlan !== undefined ? { vlan } : {}),
});

/**
 * Sends `p` into switch `sw` and, at every hop, finds the lease flow it matched there (failing if none did) and
 * adds to `count` what countedAs says that flow counts; returns the switches where something counted.
 */
export function countAlong(w: World, lease: number, dtn: string, sw: string, p: SimPacket, count: { in: number; out: number }): string[] {
  const site = w.state.site;
  const cookie = ownerCookie(OWNER.LEASES, lease);
  const where: string[] = [];
  for (const h of w.fabric().send(sw, p).hops) {
    const dpid = site.switches.find((s) => s.name === h.switch)!.dpid;
    const flow = w.flows(dpid).find((f) => f.cookie === cookie && matches(f.match, { ...p, inPort: h.inPort }));
    if (!flow) throw new Error(`no flow of lease ${lease} on ${h.switch}:${h.inPort}`);
    const as = countedAs(site, dtn, dpid, flow.match);
    if (!as) continue;
    count[as]++;
    where.push(h.switch);
  }
  return where;
}
