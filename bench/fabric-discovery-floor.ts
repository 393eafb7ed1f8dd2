// The floor of bench:fabric-discovery: the emulated fabric alone, driven by a bare OpenFlow server that does
// nothing of the controller's work. It answers the switches' HELLO, asks for features, installs the LLDP flow with
// a barrier, and once every switch has answered the barrier sends one LLDP packet-out per port, encoded before the
// clock starts (frames the size of LinkDiscovery's), and counts the packet-ins that come back (type byte only).
import { createServer, type Socket } from 'node:net';
import { encode, Framer, OFPP, OFPT, OFP_NO_BUFFER, type OfpMessage } from '../controller/openflow/index.js';
import { buildPacket, LLDP_MULTICAST, CHASSIS_ID_SUBTYPE, PORT_ID_SUBTYPE, LLDP_TLV } from '../controller/packet/index.js';
import { lldpToControllerFlow } from '../controller/lldp-discovery.js';
import { addFlowMsg } from '../controller/reconcile.js';
import { buildFabric, connectAll, type FabricPlan } from './fabric-plan.js';

function lldpFrame(dpid: bigint, port: number): Buffer {
  const portId = Buffer.alloc(4);
  portId.writeUInt32BE(port);
  return Buffer.from(
    buildPacket({
      eth: { dst: LLDP_MULTICAST, src: '02:00:00:00:00:01' },
      lldp: {
        chassisId: { subtype: CHASSIS_ID_SUBTYPE.LOCAL, id: `dpid:${dpid.toString(16).padStart(16, '0')}` },
        portId: { subtype: PORT_ID_SUBTYPE.PORT_COMPONENT, id: portId },
        ttl: 3,
        tlvs: [{ type: LLDP_TLV.ORG_SPECIFIC, value: Uint8Array.from([0, 0, 0, 0xd0, 1, 2, 3, 4, 5, 6, 7, 8]) }],
      },
    }),
  );
}

const packetOut = (dpid: bigint, port: number): OfpMessage => ({
  type: 'packetOut',
  xid: 0,
  bufferId: OFP_NO_BUFFER,
  inPort: OFPP.CONTROLLER,
  actions: [{ type: 'output', port, maxLen: 0 }],
  data: lldpFrame(dpid, port),
});

export interface FloorRun {
  /** From the first connection attempt until every switch answered the barrier after the LLDP flow (ms). */
  connectMs: number;
  /** From the first packet-out written until the last packet-in read (ms). */
  roundMs: number;
  packetOuts: number;
  packetIns: number;
}

/** One probe round over the plan's fabric, with nothing of the controller in the way. */
export async function floorRound(plan: FabricPlan): Promise<FloorRun> {
  const expected = plan.cables.length * 2;
  const ready: { socket: Socket; dpid: bigint }[] = [];
  let packetIns = 0;
  let allIn: () => void = () => undefined;
  const done = new Promise<void>((r) => (allIn = r));
  const setup = Buffer.concat([
    encode({ type: 'hello', xid: 1, elements: [] }),
    encode({ type: 'featuresRequest', xid: 2 }),
    encode({ ...addFlowMsg(lldpToControllerFlow(65000, 0x77n)), xid: 3 }),
    encode({ type: 'barrierRequest', xid: 4 }),
  ]);
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    const framer = new Framer();
    let dpid: bigint | undefined;
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      for (const m of framer.push(chunk)) {
        const type = m[1];
        if (type === OFPT.FEATURES_REPLY) dpid = m.readBigUInt64BE(8);
        else if (type === OFPT.BARRIER_REPLY && dpid !== undefined) ready.push({ socket, dpid });
        else if (type === OFPT.PACKET_IN && ++packetIns === expected) allIn();
      }
    });
    socket.write(setup);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const { switches } = buildFabric(plan, port);
  const portsOf = new Map(plan.switches.map((s) => [s.dpid, s.ports]));
  try {
    const t0 = performance.now();
    await connectAll(switches);
    while (ready.length < switches.length) await new Promise((r) => setTimeout(r, 1));
    const connectMs = performance.now() - t0;
    const outs = ready.map(({ socket, dpid }) => ({
      socket,
      bytes: Buffer.concat(Array.from({ length: portsOf.get(dpid)! }, (_, i) => encode(packetOut(dpid, i + 1)))),
    }));
    const t1 = performance.now();
    for (const o of outs) o.socket.write(o.bytes);
    await done;
    return { connectMs, roundMs: performance.now() - t1, packetOuts: plan.cables.length * 2, packetIns };
  } finally {
    await Promise.all(switches.map((s) => s.close()));
    await new Promise((r) => server.close(r));
  }
}
