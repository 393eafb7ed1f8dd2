// The emulated switch's ports and what little of a data plane a controller can observe: port descriptions and
// counters, port-mod (§7.3.4.3), link changes reported by OFPT_PORT_STATUS (§7.4.3), packet-out (§7.3.7), and
// packets injected through the flow tables. Packets are not parsed or rewritten: a packet's fields are given by
// the caller, and only output actions have an effect (counters, and packet-ins for OFPP_CONTROLLER).
import { OfpError, OFPET, OFPBRC, OFPBAC, OFPPMFC, OFPR, OFPPR, OFPPC, OFPPS, OFPPF, OFPP, OFP_NO_BUFFER } from '../controller/openflow/index.js';
import type { MessageOf, Port } from '../controller/openflow/index.js';
import { Pipeline, FlowEntry, isValidOutPort } from './flow-table.js';
import type { PacketFields } from './match.js';
import type { PortState } from './multipart.js';

export interface PortSpec {
  portNo: number;
  name?: string;
  hwAddr?: string;
  config?: number;
  state?: number;
  curr?: number;
  currSpeed?: number;
  maxSpeed?: number;
}

/** What the switch did with an injected packet. */
export interface InjectResult {
  entries: FlowEntry[];
  outputs: number[];
  packetIn: boolean;
}

export interface PacketInRequest {
  frame: Buffer;
  inPort: number;
  reason: number;
  tableId?: number;
  cookie?: bigint;
  maxLen?: number;
  /** Whether the packet-in also counts as a packet received on `inPort` (not when it already was). */
  countRx?: boolean;
}

/** The connection side of the switch: sends what the data plane has to report. */
export interface DataplaneHooks {
  packetIn(p: PacketInRequest): boolean;
  portStatus(reason: number, desc: Port): void;
}

const PORT_FEATURES = OFPPF['1GB_FD'] | OFPPF.COPPER;

export class Dataplane {
  readonly ports = new Map<number, PortState>();
  /** Ports with a cable to another switch (cable.ts): what is sent out of them is handed to the far end. */
  private readonly cables = new Map<number, (frame: Buffer) => void>();

  constructor(
    private readonly dpid: bigint,
    specs: PortSpec[],
    private readonly pipeline: Pipeline,
    private readonly hooks: DataplaneHooks,
  ) {
    for (const s of specs) this.ports.set(s.portNo, this.makePort(s));
  }

  /** Defaults: a locally administered MAC made of the dpid and port number, `s<dpid>-eth<n>`, 1 Gb/s copper, live. */
  private makePort(s: PortSpec): PortState {
    const d = this.dpid;
    const mac = [0x02, Number((d >> 24n) & 0xffn), Number((d >> 16n) & 0xffn), Number((d >> 8n) & 0xffn), Number(d & 0xffn), s.portNo & 0xff];
    const desc: Port = {
      portNo: s.portNo,
      hwAddr: s.hwAddr ?? mac.map((b) => b.toString(16).padStart(2, '0')).join(':'),
      name: s.name ?? `s${d}-eth${s.portNo}`.slice(0, 15),
      config: s.config ?? 0,
      state: s.state ?? OFPPS.LIVE,
      curr: s.curr ?? PORT_FEATURES,
      advertised: s.curr ?? PORT_FEATURES,
      supported: s.curr ?? PORT_FEATURES,
      peer: 0,
      currSpeed: s.currSpeed ?? 1_000_000,
      maxSpeed: s.maxSpeed ?? 1_000_000,
    };
    return { desc, created: performance.now(), rxPackets: 0, txPackets: 0, rxBytes: 0, txBytes: 0 };
  }

  addPort(spec: PortSpec): void {
    const p = this.makePort(spec);
    this.ports.set(spec.portNo, p);
    this.hooks.portStatus(OFPPR.ADD, p.desc);
  }

  removePort(portNo: number): void {
    const p = this.ports.get(portNo);
    if (!p) return;
    this.ports.delete(portNo);
    this.hooks.portStatus(OFPPR.DELETE, p.desc);
  }

  setLink(portNo: number, up: boolean): void {
    const p = this.ports.get(portNo);
    if (!p) throw new Error(`no port ${portNo}`);
    p.desc.state = up ? (p.desc.state & ~OFPPS.LINK_DOWN) | OFPPS.LIVE : (p.desc.state | OFPPS.LINK_DOWN) & ~OFPPS.LIVE;
    this.hooks.portStatus(OFPPR.MODIFY, p.desc);
  }

  /** Plugs a cable into a port (undefined: unplugs it): frames sent out of the port go to `deliver`. */
  setCable(portNo: number, deliver: ((frame: Buffer) => void) | undefined): void {
    if (deliver) this.cables.set(portNo, deliver);
    else this.cables.delete(portNo);
  }

  /** Only the config bits in `mask` change; the address must be the port's (OFPPMFC_BAD_HW_ADDR otherwise). */
  portMod(msg: MessageOf<'portMod'>): void {
    const p = this.ports.get(msg.portNo);
    if (!p) throw new OfpError(OFPET.PORT_MOD_FAILED, OFPPMFC.BAD_PORT, `port ${msg.portNo}`);
    if (msg.hwAddr.toLowerCase() !== p.desc.hwAddr)
      throw new OfpError(OFPET.PORT_MOD_FAILED, OFPPMFC.BAD_HW_ADDR, `${msg.hwAddr} is not port ${msg.portNo}'s address`);
    const config = (p.desc.config & ~msg.mask) | (msg.config & msg.mask);
    if (msg.advertise) p.desc.advertised = msg.advertise;
    if (config === p.desc.config && !msg.advertise) return;
    p.desc.config = config;
    this.hooks.portStatus(OFPPR.MODIFY, p.desc);
  }

  /** Packet-out: validated as Open vSwitch does, then its outputs are counted; CONTROLLER gives an ACTION packet-in. */
  packetOut(msg: MessageOf<'packetOut'>): void {
    if (msg.bufferId !== OFP_NO_BUFFER) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BUFFER_UNKNOWN, `buffer ${msg.bufferId}`);
    // A port number, or LOCAL, CONTROLLER or ANY (OpenFlow 1.0's "none").
    const p = msg.inPort;
    if (!((p >= 1 && p <= OFPP.MAX) || p === OFPP.LOCAL || p === OFPP.CONTROLLER || p === OFPP.ANY)) {
      throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_PORT, `in_port ${p}`);
    }
    for (const a of msg.actions) {
      if (a.type === 'output' && !isValidOutPort(a.port, true)) throw new OfpError(OFPET.BAD_ACTION, OFPBAC.BAD_OUT_PORT, `output to ${a.port}`);
      if (a.type === 'group' && !this.pipeline.groups.has(a.groupId))
        throw new OfpError(OFPET.BAD_ACTION, OFPBAC.BAD_OUT_GROUP, `group ${a.groupId}`);
    }
    for (const a of msg.actions) {
      if (a.type !== 'output') continue;
      if (a.port === OFPP.CONTROLLER) this.hooks.packetIn({ frame: msg.data, inPort: p, reason: OFPR.ACTION, maxLen: a.maxLen, countRx: false });
      else this.transmit(a.port, p, msg.data.length, msg.data);
    }
  }

  /**
   * Counts a packet sent out of `port` (FLOOD/ALL: every other forwarding port), and hands the frame to the
   * cable of each port it leaves by; returns the ports used.
   */
  transmit(port: number, inPort: number, bytes: number, frame?: Buffer): number[] {
    const out: number[] = [];
    const send = (s: PortState) => {
      if (s.desc.config & OFPPC.PORT_DOWN || s.desc.state & OFPPS.LINK_DOWN) return;
      s.txPackets++;
      s.txBytes += bytes;
      out.push(s.desc.portNo);
      if (frame) this.cables.get(s.desc.portNo)?.(frame);
    };
    if (port === OFPP.FLOOD || port === OFPP.ALL) {
      for (const s of this.ports.values()) if (s.desc.portNo !== inPort && !(s.desc.config & OFPPC.NO_FWD)) send(s);
    } else {
      const s = this.ports.get(port === OFPP.IN_PORT ? inPort : port);
      if (s) send(s);
    }
    return out;
  }

  /**
   * Runs a packet received on `inPort` through the flow tables from table 0 (`in_port` is added to its fields),
   * following goto_table, and counts it. Outputs to CONTROLLER become packet-ins (NO_MATCH from a table-miss entry,
   * else ACTION); a miss without a table-miss entry drops the packet (OF1.3.5 §5.4).
   */
  inject(inPort: number, frame: Buffer, fields: PacketFields = {}): InjectResult {
    const result: InjectResult = { entries: [], outputs: [], packetIn: false };
    const rx = this.ports.get(inPort);
    if (rx) {
      rx.rxPackets++;
      rx.rxBytes += frame.length;
    }
    const pkt = { ...fields, in_port: inPort };
    let tableId = 0;
    for (;;) {
      const e = this.pipeline.lookup(pkt, tableId, frame.length);
      if (!e) return result;
      result.entries.push(e);
      let next: number | undefined;
      for (const i of e.instructions) {
        if (i.type === 'gotoTable') next = i.tableId;
        if (i.type !== 'applyActions' && i.type !== 'writeActions') continue;
        for (const a of i.actions) {
          if (a.type !== 'output') continue;
          if (a.port === OFPP.CONTROLLER) {
            const miss = e.priority === 0 && e.fields.length === 0;
            const sent = this.hooks.packetIn({
              frame,
              inPort,
              tableId,
              cookie: e.cookie,
              reason: miss ? OFPR.NO_MATCH : OFPR.ACTION,
              maxLen: a.maxLen,
              countRx: false,
            });
            result.packetIn ||= sent;
          } else {
            result.outputs.push(...this.transmit(a.port, inPort, frame.length, frame));
          }
        }
      }
      if (next === undefined) return result;
      tableId = next;
    }
  }
}
