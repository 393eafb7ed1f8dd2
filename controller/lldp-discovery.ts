// Link discovery with LLDP: every interval (and as a switch comes up) an LLDP frame goes out of every live port of
// every switch as a packet-out, naming the switch (chassis id `dpid:<16 hex>`) and the port (port id, 4 bytes);
// a switch that receives one on a port sends it back as a packet-in (its pipeline must hold a flow sending
// eth_type 0x88cc to the controller: lldpToControllerFlow), which makes one directed link
// (srcDpid, srcPort) -> (dstDpid, dstPort). A link is lost when no frame came over it for `lossIntervals`
// intervals, or at once when either end's port goes down or its switch disconnects. A probe that reaches a switch
// whose flows are not in yet is lost: probeSoon() (called when a switch's flows are in) sends a round early, so
// that the links toward it are found without waiting for the next interval.
//
// Frames carry a random token of this process (an organisationally specific TLV): an LLDP frame a host forges on
// a port, or one of another controller, names no link. Nothing here knows what links a site should have.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Controller, PacketIn } from './controller.js';
import type { SwitchConnection } from './switch-connection.js';
import type { Logger } from './log.js';
import { dpidText } from './errors.js';
import type { FlowEntry } from './flow-entry.js';
import { OFPP, OFPPC, OFPPS, OFPPR, OFPCML, OFP_NO_BUFFER, type MessageOf, type Port } from './openflow/index.js';
import { buildPacket, LLDP_MULTICAST, CHASSIS_ID_SUBTYPE, PORT_ID_SUBTYPE, LLDP_TLV, type Lldp } from './packet/index.js';

export const ETH_TYPE_LLDP = 0x88cc;
export const DEFAULT_DISCOVERY_INTERVAL_MS = 1000;
export const DEFAULT_LOSS_INTERVALS = 3;
/** Organisationally specific TLV (802.1AB §8.6): a private OUI-less marker, then our token. */
const TOKEN_OUI = [0x00, 0x00, 0x00];
const TOKEN_SUBTYPE = 0xd0;
const CHASSIS_PREFIX = 'dpid:';

export interface LinkEndpoint {
  dpid: bigint;
  port: number;
}

/** A directed link: frames sent out of `src` arrive on `dst`. */
export interface DiscoveredLink {
  src: LinkEndpoint;
  dst: LinkEndpoint;
  /** Clock ms of the first and the latest frame over it. */
  firstSeen: number;
  lastSeen: number;
}

export type LinkLossReason = 'timeout' | 'port-down' | 'switch-down' | 'recabled';

export interface DiscoveryClock {
  now(): number;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const SYSTEM_CLOCK: DiscoveryClock = {
  now: () => Date.now(),
  setInterval: (fn, ms) => {
    const t = setInterval(fn, ms);
    t.unref();
    return t;
  },
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

export interface LinkDiscoveryOptions {
  controller: Controller;
  logger: Logger;
  /** Probe period (ms); default 1 s. */
  intervalMs?: number;
  /** Intervals without a frame before a link is lost; default 3. */
  lossIntervals?: number;
  clock?: DiscoveryClock;
  /** Whether a port gets probes; default every usable port. An app keeps them off ports facing other networks. */
  probes?: (dpid: bigint, portNo: number) => boolean;
}

export interface LinkDiscoveryEvents {
  linkUp: [DiscoveredLink];
  linkDown: [DiscoveredLink, LinkLossReason];
  /** An interval passed: lost links were dropped and probes sent. */
  tick: [];
}

/** The flow a switch needs for discovery: every LLDP frame to the controller, whole (never buffered). */
export function lldpToControllerFlow(priority: number, cookie: bigint, tableId = 0): FlowEntry {
  return {
    tableId,
    priority,
    cookie,
    idleTimeout: 0,
    hardTimeout: 0,
    flags: 0,
    match: [{ field: 'eth_type', value: ETH_TYPE_LLDP }],
    instructions: [{ type: 'applyActions', actions: [{ type: 'output', port: OFPP.CONTROLLER, maxLen: OFPCML.NO_BUFFER }] }],
  };
}

export function linkKey(src: LinkEndpoint, dst: LinkEndpoint): string {
  return `${dpidText(src.dpid)}:${src.port}>${dpidText(dst.dpid)}:${dst.port}`;
}

const endKey = (e: LinkEndpoint): string => `${dpidText(e.dpid)}:${e.port}`;

/** A port that can carry a frame: a physical port (not LOCAL), administratively up, link up. */
function portUsable(p: Port): boolean {
  return p.portNo >= 1 && p.portNo <= OFPP.MAX && !(p.config & OFPPC.PORT_DOWN) && !(p.state & OFPPS.LINK_DOWN);
}

export class LinkDiscovery extends EventEmitter<LinkDiscoveryEvents> {
  readonly intervalMs: number;
  readonly lossIntervals: number;
  private readonly probes: (dpid: bigint, portNo: number) => boolean;
  readonly clock: DiscoveryClock;
  private readonly controller: Controller;
  private readonly log: Logger;
  private readonly token = randomBytes(8);
  /** By receiving end (one sender per receiving port: a port has one cable). */
  private readonly byDst = new Map<string, DiscoveredLink>();
  private timer: unknown;
  private soon: NodeJS.Timeout | undefined;
  /** LLDP frames that named no link of ours (other agents', or forged). */
  foreignFrames = 0;
  private readonly onSwitchUp = (conn: SwitchConnection): void => this.probe(conn);
  private readonly onSwitchDown = (conn: SwitchConnection): void => {
    if (conn.dpid !== undefined) this.dropWhere((l) => l.src.dpid === conn.dpid || l.dst.dpid === conn.dpid, 'switch-down');
  };
  private readonly onPortStatus = (conn: SwitchConnection, msg: MessageOf<'portStatus'>): void => {
    if (conn.dpid === undefined) return;
    if (msg.reason !== OFPPR.DELETE && portUsable(msg.desc)) {
      // A port that came up is probed at once, not an interval later.
      if (this.probes(conn.dpid, msg.desc.portNo)) this.sendProbe(conn, msg.desc);
      return;
    }
    const at = { dpid: conn.dpid, port: msg.desc.portNo };
    const k = endKey(at);
    this.dropWhere((l) => endKey(l.src) === k || endKey(l.dst) === k, 'port-down');
  };
  private readonly onPacketIn = (pi: PacketIn): void => this.received(pi);

  constructor(opts: LinkDiscoveryOptions) {
    super();
    this.controller = opts.controller;
    this.log = opts.logger.child({ component: 'lldp-discovery' });
    this.clock = opts.clock ?? SYSTEM_CLOCK;
    this.intervalMs = opts.intervalMs ?? DEFAULT_DISCOVERY_INTERVAL_MS;
    this.lossIntervals = opts.lossIntervals ?? DEFAULT_LOSS_INTERVALS;
    this.probes = opts.probes ?? (() => true);
  }

  start(): void {
    this.controller.on('switchUp', this.onSwitchUp);
    this.controller.on('switchDown', this.onSwitchDown);
    this.controller.on('portStatus', this.onPortStatus);
    this.controller.on('packetIn', this.onPacketIn);
    this.timer = this.clock.setInterval(() => this.tick(), this.intervalMs);
    for (const conn of this.controller.switches()) this.probe(conn);
  }

  stop(): void {
    this.clock.clearInterval(this.timer);
    clearTimeout(this.soon);
    this.soon = undefined;
    this.controller.off('switchUp', this.onSwitchUp);
    this.controller.off('switchDown', this.onSwitchDown);
    this.controller.off('portStatus', this.onPortStatus);
    this.controller.off('packetIn', this.onPacketIn);
  }

  /** Links seen and not lost, directed. */
  links(): DiscoveredLink[] {
    return [...this.byDst.values()];
  }

  /** One interval: links silent for too long are lost, then every switch is probed. */
  tick(): void {
    const deadline = this.clock.now() - this.lossIntervals * this.intervalMs;
    this.dropWhere((l) => l.lastSeen <= deadline, 'timeout');
    for (const conn of this.controller.switches()) this.probe(conn);
    this.emit('tick');
  }

  /**
   * Probes every switch shortly (a twentieth of the interval): requests until then make one round, so a wave of
   * switches connecting costs a few rounds, not one per switch.
   */
  probeSoon(): void {
    if (this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      for (const conn of this.controller.switches()) this.probe(conn);
    }, this.intervalMs / 20);
    this.soon.unref();
  }

  /** Sends an LLDP frame out of every usable port of a switch. */
  probe(conn: SwitchConnection): void {
    if (conn.dpid === undefined || conn.isClosed()) return;
    const dpid = conn.dpid;
    for (const p of conn.ports.values()) if (portUsable(p) && this.probes(dpid, p.portNo)) this.sendProbe(conn, p);
  }

  private sendProbe(conn: SwitchConnection, p: Port): void {
    if (conn.dpid === undefined || conn.isClosed()) return;
    conn.send({
      type: 'packetOut',
      xid: 0,
      bufferId: OFP_NO_BUFFER,
      inPort: OFPP.CONTROLLER,
      actions: [{ type: 'output', port: p.portNo, maxLen: 0 }],
      data: this.frame(conn.dpid, p),
    });
  }

  private frame(dpid: bigint, port: Port): Buffer {
    const portId = Buffer.alloc(4);
    portId.writeUInt32BE(port.portNo);
    return Buffer.from(
      buildPacket({
        eth: { dst: LLDP_MULTICAST, src: port.hwAddr },
        lldp: {
          chassisId: { subtype: CHASSIS_ID_SUBTYPE.LOCAL, id: `${CHASSIS_PREFIX}${dpidText(dpid)}` },
          portId: { subtype: PORT_ID_SUBTYPE.PORT_COMPONENT, id: portId },
          // Seconds a neighbour may keep it: a few of our intervals.
          ttl: Math.max(1, Math.ceil((this.lossIntervals * this.intervalMs) / 1000)),
          tlvs: [{ type: LLDP_TLV.ORG_SPECIFIC, value: Uint8Array.from([...TOKEN_OUI, TOKEN_SUBTYPE, ...this.token]) }],
        },
      }),
    );
  }

  /** The sending end an LLDP frame of ours names, or undefined for anyone else's. */
  private sender(lldp: Lldp): LinkEndpoint | undefined {
    const c = lldp.chassisId;
    if (c.subtype !== CHASSIS_ID_SUBTYPE.LOCAL || !c.text.startsWith(CHASSIS_PREFIX)) return undefined;
    const hex = c.text.slice(CHASSIS_PREFIX.length);
    if (!/^[0-9a-f]{16}$/.test(hex)) return undefined;
    if (lldp.portId.subtype !== PORT_ID_SUBTYPE.PORT_COMPONENT || lldp.portId.id.length !== 4) return undefined;
    const mark = lldp.tlvs.find((t) => t.type === LLDP_TLV.ORG_SPECIFIC && t.value.length === 12 && t.value[3] === TOKEN_SUBTYPE);
    if (!mark || !this.token.equals(Buffer.from(mark.value.subarray(4)))) return undefined;
    return { dpid: BigInt(`0x${hex}`), port: Buffer.from(lldp.portId.id).readUInt32BE(0) };
  }

  private received(pi: PacketIn): void {
    const dpid = pi.conn.dpid;
    const inPort = pi.inPort;
    const lldp = pi.packet?.lldp;
    if (!lldp || dpid === undefined || inPort === undefined) return;
    const src = this.sender(lldp);
    if (!src) {
      this.foreignFrames++;
      return;
    }
    const dst = { dpid, port: inPort };
    const now = this.clock.now();
    const k = endKey(dst);
    const known = this.byDst.get(k);
    if (known && endKey(known.src) === endKey(src)) {
      known.lastSeen = now;
      return;
    }
    if (known) this.drop(k, known, 'recabled');
    const link: DiscoveredLink = { src, dst, firstSeen: now, lastSeen: now };
    this.byDst.set(k, link);
    this.log.debug({ link: linkKey(src, dst) }, 'link seen');
    this.emit('linkUp', link);
  }

  private dropWhere(pred: (l: DiscoveredLink) => boolean, reason: LinkLossReason): void {
    for (const [k, l] of [...this.byDst]) if (pred(l)) this.drop(k, l, reason);
  }

  private drop(k: string, l: DiscoveredLink, reason: LinkLossReason): void {
    this.byDst.delete(k);
    this.log.debug({ link: linkKey(l.src, l.dst), reason }, 'link lost');
    this.emit('linkDown', l, reason);
  }
}
