// A small OpenFlow table simulator for behavioural tests of policy (in the manner of Faucet's fakeoftable):
// install flow specs, then ask what the table does with a packet. One table, highest priority wins, masks
// honoured; apply-actions are executed in order (push/pop VLAN, set-field, output, group, meter noted).
import { parsePrefix } from '../../apps/dmz/addresses.js';
import type { Action, Match, Instruction, OxmValue } from '../../controller/openflow/index.js';
import { OFPP } from '../../controller/openflow/index.js';

export interface SimPacket {
  inPort: number;
  ethSrc?: string;
  ethDst?: string;
  vlan?: number; // VLAN id without the present bit
  ethType?: number;
  ipSrc?: string;
  ipDst?: string;
  ipProto?: number;
  srcPort?: number;
  dstPort?: number;
}

export interface SimOutput {
  port: number;
  vlan?: number;
  ethDst?: string;
}

export interface SimVerdict {
  /** The priority and cookie of the entry that matched, undefined on a miss. */
  priority?: number;
  cookie?: bigint;
  outputs: SimOutput[];
  meter?: number;
}

export interface SimFlow {
  tableId: number;
  priority: number;
  match: Match;
  instructions: Instruction[];
  cookie: bigint;
}

function macBits(mac: string): bigint {
  return BigInt(`0x${mac.replace(/:/g, '')}`);
}

function asBits(field: string, v: OxmValue): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  if (typeof v === 'string') {
    if (field.startsWith('eth_')) return macBits(v);
    return parsePrefix(v).bits;
  }
  return BigInt(`0x${v.toString('hex') || '0'}`);
}

function packetField(p: SimPacket, field: string): bigint | undefined {
  const v4 = p.ipSrc?.includes('.') ?? p.ipDst?.includes('.');
  switch (field) {
    case 'in_port':
      return BigInt(p.inPort);
    case 'eth_src':
      return p.ethSrc ? macBits(p.ethSrc) : undefined;
    case 'eth_dst':
      return p.ethDst ? macBits(p.ethDst) : undefined;
    case 'eth_type':
      return p.ethType === undefined ? undefined : BigInt(p.ethType);
    case 'vlan_vid':
      return p.vlan === undefined ? 0n : BigInt(0x1000 | p.vlan);
    case 'ip_proto':
      return p.ipProto === undefined ? undefined : BigInt(p.ipProto);
    case 'ipv4_src':
      return v4 && p.ipSrc ? parsePrefix(p.ipSrc).bits : undefined;
    case 'ipv4_dst':
      return v4 && p.ipDst ? parsePrefix(p.ipDst).bits : undefined;
    case 'ipv6_src':
      return !v4 && p.ipSrc ? parsePrefix(p.ipSrc).bits : undefined;
    case 'ipv6_dst':
      return !v4 && p.ipDst ? parsePrefix(p.ipDst).bits : undefined;
    case 'tcp_src':
      return p.ipProto === 6 && p.srcPort !== undefined ? BigInt(p.srcPort) : undefined;
    case 'tcp_dst':
      return p.ipProto === 6 && p.dstPort !== undefined ? BigInt(p.dstPort) : undefined;
    case 'udp_src':
      return p.ipProto === 17 && p.srcPort !== undefined ? BigInt(p.srcPort) : undefined;
    case 'udp_dst':
      return p.ipProto === 17 && p.dstPort !== undefined ? BigInt(p.dstPort) : undefined;
    default:
      throw new Error(`flow-sim does not model field ${field}`);
  }
}

export function matches(match: Match, p: SimPacket): boolean {
  for (const f of match) {
    const have = packetField(p, f.field);
    if (have === undefined) return false;
    const want = asBits(f.field, f.value);
    if (f.mask === undefined) {
      if (have !== want) return false;
    } else {
      const mask = asBits(f.field, f.mask);
      if ((have & mask) !== (want & mask)) return false;
    }
  }
  return true;
}

export interface SimGroup {
  groupId: number;
  type: 'all' | 'select' | 'indirect' | 'fast-failover';
  buckets: { watchPort?: number; actions: Instruction[] }[];
}

export class FlowSim {
  private flows: SimFlow[] = [];
  private readonly groups = new Map<number, SimGroup>();
  private live: (port: number) => boolean = () => true;

  install(flows: SimFlow[]): this {
    for (const f of flows) {
      // An identical match and priority replaces (OF1.3.5 §6.4).
      const key = JSON.stringify([f.tableId, f.priority, f.match]);
      this.flows = this.flows.filter((x) => JSON.stringify([x.tableId, x.priority, x.match]) !== key);
      this.flows.push(f);
    }
    return this;
  }

  /** Group entries (OF1.3.5 §5.6.1): select hashes the 5-tuple over its live buckets, fast-failover takes the first live one. */
  installGroups(groups: SimGroup[]): this {
    for (const g of groups) this.groups.set(g.groupId, g);
    return this;
  }

  /** Which ports are live (a bucket watching a dead port is not chosen); every port by default. */
  setLive(live: (port: number) => boolean): this {
    this.live = live;
    return this;
  }

  private bucketOf(groupId: number, p: SimPacket): Action[] {
    const g = this.groups.get(groupId);
    if (!g) throw new Error(`flow-sim: no group ${groupId}`);
    const live = g.buckets.filter((b) => b.watchPort === undefined || this.live(b.watchPort));
    if (live.length === 0) return [];
    let chosen = live[0]!;
    if (g.type === 'select') {
      let h = 2166136261;
      for (const ch of `${p.ipSrc}|${p.ipDst}|${p.ipProto}|${p.srcPort}|${p.dstPort}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
      chosen = live[h % live.length]!;
    } else if (g.type !== 'fast-failover' && g.type !== 'indirect') throw new Error(`flow-sim does not model ${g.type} groups`);
    return chosen.actions.flatMap((i) => (i.type === 'applyActions' ? i.actions : []));
  }

  removeCookie(cookie: bigint): this {
    this.flows = this.flows.filter((f) => f.cookie !== cookie);
    return this;
  }

  get size(): number {
    return this.flows.length;
  }

  lookup(p: SimPacket): SimVerdict {
    let best: SimFlow | undefined;
    for (const f of this.flows) {
      if (f.tableId !== 0 || !matches(f.match, p)) continue;
      if (!best || f.priority > best.priority) best = f;
    }
    if (!best) return { outputs: [] };
    const verdict: SimVerdict = { priority: best.priority, cookie: best.cookie, outputs: [] };
    let vlan = p.vlan;
    let ethDst = p.ethDst;
    const run = (actions: readonly Action[]): void => {
      for (const a of actions) {
        if (a.type === 'output') {
          // OF1.3.5 §4.5: a packet goes back out of its ingress port only through the reserved port IN_PORT; an
          // output naming that port itself sends nothing (Open vSwitch drops it).
          const port = a.port === OFPP.IN_PORT ? p.inPort : a.port;
          if (a.port !== p.inPort) verdict.outputs.push({ port, ...(vlan !== undefined ? { vlan } : {}), ...(ethDst ? { ethDst } : {}) });
        } else if (a.type === 'pushVlan') vlan = 0;
        else if (a.type === 'popVlan') vlan = undefined;
        else if (a.type === 'setField' && a.field.field === 'vlan_vid') vlan = Number(a.field.value) & 0xfff;
        else if (a.type === 'setField' && a.field.field === 'eth_dst') ethDst = String(a.field.value);
        else if (a.type === 'group') run(this.bucketOf(a.groupId, p));
        else throw new Error(`flow-sim does not model action ${a.type}`);
      }
    };
    for (const ins of best.instructions) {
      if (ins.type === 'meter') verdict.meter = ins.meterId;
      if (ins.type === 'applyActions') run(ins.actions);
    }
    return verdict;
  }

  /** Ports a packet leaves on (empty = dropped). */
  ports(p: SimPacket): number[] {
    return this.lookup(p).outputs.map((o) => o.port);
  }
}
