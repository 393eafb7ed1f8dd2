// A cable between ports of two emulated switches: a frame one switch sends out of its port (a packet-out, or a
// flow's output) arrives at the other's port as a received packet and runs through that switch's flow tables
// (an output to CONTROLLER there becomes its packet-in). Delivery is on a later turn, as on a wire, so that two
// switches forwarding to each other cannot recurse. The frame's Ethernet fields are given to the lookup; the
// emulator parses no more of a packet than that.
import type { EmulatedSwitch } from './emulated-switch.js';
import type { PacketFields } from './match.js';

const ETH_VLAN = [0x8100, 0x88a8];

/** eth_dst, eth_src, eth_type (and vlan_vid of an outer tag) as read from the frame's header. */
export function ethernetFields(frame: Buffer): PacketFields {
  if (frame.length < 14) return {};
  const mac = (off: number) => [...frame.subarray(off, off + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
  const fields: PacketFields = { eth_dst: mac(0), eth_src: mac(6) };
  let type = frame.readUInt16BE(12);
  if (ETH_VLAN.includes(type) && frame.length >= 18) {
    fields.vlan_vid = 0x1000 | (frame.readUInt16BE(14) & 0xfff);
    type = frame.readUInt16BE(16);
  }
  fields.eth_type = type;
  return fields;
}

export class Cable {
  private cut = false;

  constructor(
    readonly a: EmulatedSwitch,
    readonly aPort: number,
    readonly b: EmulatedSwitch,
    readonly bPort: number,
  ) {
    a.setCable(aPort, (frame) => this.carry(b, bPort, frame));
    b.setCable(bPort, (frame) => this.carry(a, aPort, frame));
  }

  /** Frames stop, but both ports stay up (a fault the switches do not see, such as a dead media converter). */
  sever(): void {
    this.cut = true;
  }

  mend(): void {
    this.cut = false;
  }

  /** Pulls the cable: frames stop and both ports report their link down (OFPT_PORT_STATUS). */
  unplug(): void {
    this.cut = true;
    this.a.setLink(this.aPort, false);
    this.b.setLink(this.bPort, false);
  }

  plug(): void {
    this.cut = false;
    this.a.setLink(this.aPort, true);
    this.b.setLink(this.bPort, true);
  }

  /** Takes the cable away for good (the ports keep their link state). */
  remove(): void {
    this.cut = true;
    this.a.setCable(this.aPort, undefined);
    this.b.setCable(this.bPort, undefined);
  }

  private carry(to: EmulatedSwitch, port: number, frame: Buffer): void {
    if (this.cut) return;
    const copy = Buffer.from(frame);
    setImmediate(() => {
      if (!this.cut && to.ports.has(port)) to.injectPacket(port, copy, ethernetFields(copy));
    });
  }
}
