// What both sides of the controller benchmark compute, defined once: the packet-in answer (a) and the n-th
// 5-tuple flow (b), in our types, in ovs-ofctl's text and as plain numbers for the os-ken peer.
//
// The os-ken apps (osken_app.py, osken_flows.py) implement the same two definitions in Python; the benchmark
// checks that both produce the same bytes / the same flow table rather than trusting that they do.
import { OFPFC, OFPP, OFPG, OFP_NO_BUFFER, type MessageOf } from '../controller/openflow/index.js';
import type { FlowSpec } from '../controller/flow-entry.js';

// ---- (a) packet-in -> flow-mod ----------------------------------------------------------------------------------

export const ANSWER_COOKIE = 0xbe4c4n;
export const ANSWER_PRIORITY = 100;

/** The output port a learning-style answer picks: port 2 for packets from port 1, else port 1. */
export const answerOutPort = (inPort: number): number => (inPort === 1 ? 2 : 1);

/**
 * The answer to a packet-in: an OFPFC_ADD in table 0 matching in_port, eth_dst, eth_src of the packet, with
 * apply-actions [output]. `xid` 0: the connection gives it a fresh one (os-ken does the same).
 */
export function answerFlowMod(inPort: number, ethDst: string, ethSrc: string): MessageOf<'flowMod'> {
  return {
    type: 'flowMod',
    xid: 0,
    cookie: ANSWER_COOKIE,
    cookieMask: 0n,
    tableId: 0,
    command: OFPFC.ADD,
    idleTimeout: 0,
    hardTimeout: 0,
    priority: ANSWER_PRIORITY,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: 0,
    match: [
      { field: 'in_port', value: inPort },
      { field: 'eth_dst', value: ethDst },
      { field: 'eth_src', value: ethSrc },
    ],
    instructions: [{ type: 'applyActions', actions: [{ type: 'output', port: answerOutPort(inPort), maxLen: 0 }] }],
  };
}

// ---- (b) the n-th 5-tuple flow -----------------------------------------------------------------------------------

export const FLOW_PRIORITY = 1000;
export const FLOW_OUT_PORT = 2;

export interface FiveTuple {
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

/** Distinct for i < 2^24: the source address walks 10.0.0.0/8, ports vary so that no two flows share a field pattern. */
export function fiveTuple(i: number): FiveTuple {
  return {
    src: `10.${(i >>> 16) & 0xff}.${(i >>> 8) & 0xff}.${i & 0xff}`,
    dst: `192.0.2.${1 + (i % 250)}`,
    sport: 1024 + (i % 60000),
    dport: 443,
  };
}

/** As FlowManager takes it (the cookie is the owner's). */
export function flowSpec(t: FiveTuple): FlowSpec {
  return {
    tableId: 0,
    priority: FLOW_PRIORITY,
    match: [
      { field: 'eth_type', value: 0x0800 },
      { field: 'ip_proto', value: 6 },
      { field: 'ipv4_src', value: t.src },
      { field: 'ipv4_dst', value: t.dst },
      { field: 'tcp_src', value: t.sport },
      { field: 'tcp_dst', value: t.dport },
    ],
    instructions: [{ type: 'applyActions', actions: [{ type: 'output', port: FLOW_OUT_PORT, maxLen: 0 }] }],
  };
}

/** The same flow as a plain OFPFC_ADD with the given cookie (the "flow-mods + barrier" path). */
export function flowAdd(t: FiveTuple, cookie: bigint): MessageOf<'flowMod'> {
  const s = flowSpec(t);
  return {
    type: 'flowMod',
    xid: 0,
    cookie,
    cookieMask: 0n,
    tableId: 0,
    command: OFPFC.ADD,
    idleTimeout: 0,
    hardTimeout: 0,
    priority: FLOW_PRIORITY,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: 0,
    match: s.match,
    instructions: s.instructions!,
  };
}

/** One line of an `ovs-ofctl add-flows` file. */
export function flowLine(t: FiveTuple, cookie: bigint): string {
  return `cookie=0x${cookie.toString(16)},table=0,priority=${FLOW_PRIORITY},tcp,nw_src=${t.src},nw_dst=${t.dst},tp_src=${t.sport},tp_dst=${t.dport},actions=output:${FLOW_OUT_PORT}`;
}

/** One line for the os-ken installer: src dst sport dport. */
export function flowRow(t: FiveTuple): string {
  return `${t.src} ${t.dst} ${t.sport} ${t.dport}`;
}
