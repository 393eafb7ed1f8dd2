// Multipart (statistics) replies of the emulated switch, answered from its pipeline and ports (OF1.3.5 §7.3.5).
// A reply whose body would not fit one message (65535 bytes) is split into several, each but the last flagged
// OFPMPF_REPLY_MORE, so that a controller has to reassemble them (§7.3.5: "multipart messages").
import {
  OfpError,
  OFPET,
  OFPBRC,
  OFPMMFC,
  OFPQOFC,
  OFPP,
  OFPG,
  OFPM,
  OFPGT,
  OFPMBT,
  OFPMF,
  OFPAT,
  OFPMPF_REPLY_MORE,
  OFP_MAX_MESSAGE_LEN,
  Writer,
  encodeInto,
} from '../controller/openflow/index.js';
import type { OfpMessage, MessageOf, Port } from '../controller/openflow/index.js';
import { Pipeline, durationOf } from './flow-table.js';

type Body<
  T extends
    | 'flowStatsReply'
    | 'portStatsReply'
    | 'tableStatsReply'
    | 'groupDescStatsReply'
    | 'groupStatsReply'
    | 'meterConfigStatsReply'
    | 'meterStatsReply'
    | 'portDescStatsReply',
> = MessageOf<T>['body'][number];

export interface PortState {
  desc: Port;
  created: number;
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
}

export interface SwitchDesc {
  mfrDesc: string;
  hwDesc: string;
  swDesc: string;
  serialNum: string;
  dpDesc: string;
}

/** What the replies are made from. */
export interface StatsSource {
  pipeline: Pipeline;
  ports: Map<number, PortState>;
  desc: SwitchDesc;
  /** Body bytes per reply before splitting; the protocol maximum unless a test wants smaller pieces. */
  maxReplyBody?: number;
  /** max_entries reported for every table (undefined: table features are not supported). */
  tableSize?: number;
}

const MP_HEADER = 16;
const scratch = new Writer(4096);

/** Splits `entries` over as many replies as needed. */
function split<T>(entries: T[], maxBody: number, make: (body: T[], flags: number) => OfpMessage): OfpMessage[] {
  const out: OfpMessage[] = [];
  let chunk: T[] = [];
  let size = 0;
  for (const e of entries) {
    scratch.reset();
    const len = encodeInto(scratch, make([e], 0)) - MP_HEADER;
    if (chunk.length > 0 && size + len > maxBody) {
      out.push(make(chunk, OFPMPF_REPLY_MORE));
      chunk = [];
      size = 0;
    }
    chunk.push(e);
    size += len;
  }
  out.push(make(chunk, 0));
  return out;
}

const u64 = (n: number) => BigInt(n);

/** Replies to a multipart request, or undefined if `msg` is not a multipart request this switch answers. */
export function answerMultipart(src: StatsSource, msg: OfpMessage): OfpMessage[] | undefined {
  const { pipeline } = src;
  const max = Math.min(src.maxReplyBody ?? OFP_MAX_MESSAGE_LEN - MP_HEADER, OFP_MAX_MESSAGE_LEN - MP_HEADER);
  const xid = msg.xid;
  const now = performance.now();
  switch (msg.type) {
    case 'descStatsRequest':
      return [{ type: 'descStatsReply', xid, flags: 0, ...src.desc }];
    case 'portDescStatsRequest':
      return split<Body<'portDescStatsReply'>>(
        [...src.ports.values()].map((p) => p.desc),
        max,
        (body, flags) => ({ type: 'portDescStatsReply', xid, flags, body }),
      );
    case 'flowStatsRequest': {
      const body = pipeline.select(msg).map((e): Body<'flowStatsReply'> => {
        const d = durationOf(e.created, now);
        return {
          tableId: e.tableId,
          durationSec: d.sec,
          durationNsec: d.nsec,
          priority: e.priority,
          idleTimeout: e.idleTimeout,
          hardTimeout: e.hardTimeout,
          flags: e.flags,
          cookie: e.cookie,
          packetCount: u64(e.packetCount),
          byteCount: u64(e.byteCount),
          match: e.match,
          instructions: e.instructions,
        };
      });
      return split(body, max, (b, flags) => ({ type: 'flowStatsReply', xid, flags, body: b }));
    }
    case 'aggregateStatsRequest': {
      let packets = 0;
      let bytes = 0;
      const flows = pipeline.select(msg);
      for (const e of flows) {
        packets += e.packetCount;
        bytes += e.byteCount;
      }
      return [{ type: 'aggregateStatsReply', xid, flags: 0, packetCount: u64(packets), byteCount: u64(bytes), flowCount: flows.length }];
    }
    case 'tableStatsRequest': {
      const body: Body<'tableStatsReply'>[] = [];
      for (let t = 0; t < pipeline.nTables; t++) {
        const c = pipeline.tableCounters(t);
        body.push({ tableId: t, activeCount: c.active, lookupCount: u64(c.lookups), matchedCount: u64(c.matched) });
      }
      return split(body, max, (b, flags) => ({ type: 'tableStatsReply', xid, flags, body: b }));
    }
    case 'portStatsRequest': {
      // OVS answers an unknown port with an empty reply.
      const ports = msg.portNo === OFPP.ANY ? [...src.ports.values()] : [src.ports.get(msg.portNo)].filter((p) => p !== undefined);
      const body = ports.map((p): Body<'portStatsReply'> => {
        const d = durationOf(p.created, now);
        return {
          portNo: p.desc.portNo,
          rxPackets: u64(p.rxPackets),
          txPackets: u64(p.txPackets),
          rxBytes: u64(p.rxBytes),
          txBytes: u64(p.txBytes),
          rxDropped: 0n,
          txDropped: 0n,
          rxErrors: 0n,
          txErrors: 0n,
          rxFrameErr: 0n,
          rxOverErr: 0n,
          rxCrcErr: 0n,
          collisions: 0n,
          durationSec: d.sec,
          durationNsec: d.nsec,
        };
      });
      return split(body, max, (b, flags) => ({ type: 'portStatsReply', xid, flags, body: b }));
    }
    case 'queueStatsRequest':
      return [{ type: 'queueStatsReply', xid, flags: 0, body: [] }];
    case 'groupDescStatsRequest': {
      const body = [...pipeline.groups.values()]
        .sort((a, b) => a.groupId - b.groupId)
        .map((g): Body<'groupDescStatsReply'> => ({ groupType: g.groupType, groupId: g.groupId, buckets: g.buckets }));
      return split(body, max, (b, flags) => ({ type: 'groupDescStatsReply', xid, flags, body: b }));
    }
    case 'groupStatsRequest': {
      const groups = msg.groupId === OFPG.ALL ? [...pipeline.groups.values()] : [pipeline.groups.get(msg.groupId)].filter((g) => g !== undefined);
      const body = groups.map((g): Body<'groupStatsReply'> => {
        const d = durationOf(g.created, now);
        return {
          groupId: g.groupId,
          refCount: pipeline.groupRefCount(g.groupId),
          packetCount: 0n,
          byteCount: 0n,
          durationSec: d.sec,
          durationNsec: d.nsec,
          bucketStats: g.buckets.map(() => ({ packetCount: 0n, byteCount: 0n })),
        };
      });
      return split(body, max, (b, flags) => ({ type: 'groupStatsReply', xid, flags, body: b }));
    }
    case 'groupFeaturesStatsRequest': {
      const actions = [OFPAT.OUTPUT, OFPAT.PUSH_VLAN, OFPAT.POP_VLAN, OFPAT.GROUP, OFPAT.SET_FIELD, OFPAT.DEC_NW_TTL].reduce<number>(
        (bits, a) => (bits | (1 << a)) >>> 0,
        0,
      );
      return [
        {
          type: 'groupFeaturesStatsReply',
          xid,
          flags: 0,
          types: (1 << OFPGT.ALL) | (1 << OFPGT.SELECT) | (1 << OFPGT.INDIRECT) | (1 << OFPGT.FF),
          capabilities: 0x7, // SELECT_WEIGHT | SELECT_LIVENESS | CHAINING
          maxGroups: [0xffffff00, 0xffffff00, 0xffffff00, 0xffffff00],
          actions: [actions, actions, actions, actions],
        },
      ];
    }
    case 'meterConfigStatsRequest':
    case 'meterStatsRequest': {
      // OVS: asking for one meter that does not exist is OFPMMFC_UNKNOWN_METER.
      let meters = [...pipeline.meters.values()].sort((a, b) => a.meterId - b.meterId);
      if (msg.meterId !== OFPM.ALL) {
        const m = pipeline.meters.get(msg.meterId);
        if (!m) throw new OfpError(OFPET.METER_MOD_FAILED, OFPMMFC.UNKNOWN_METER, `meter ${msg.meterId}`);
        meters = [m];
      }
      if (msg.type === 'meterConfigStatsRequest') {
        const body = meters.map((m): Body<'meterConfigStatsReply'> => ({ flags: m.flags, meterId: m.meterId, bands: m.bands }));
        return split(body, max, (b, flags) => ({ type: 'meterConfigStatsReply', xid, flags, body: b }));
      }
      const body = meters.map((m): Body<'meterStatsReply'> => {
        const d = durationOf(m.created, now);
        return {
          meterId: m.meterId,
          flowCount: pipeline.meterFlowCount(m.meterId),
          packetInCount: 0n,
          byteInCount: 0n,
          durationSec: d.sec,
          durationNsec: d.nsec,
          bandStats: m.bands.map(() => ({ packetBandCount: 0n, byteBandCount: 0n })),
        };
      });
      return split(body, max, (b, flags) => ({ type: 'meterStatsReply', xid, flags, body: b }));
    }
    case 'meterFeaturesStatsRequest':
      return [
        {
          type: 'meterFeaturesStatsReply',
          xid,
          flags: 0,
          body: [
            {
              maxMeter: 65536,
              bandTypes: (1 << OFPMBT.DROP) | (1 << OFPMBT.DSCP_REMARK),
              capabilities: OFPMF.KBPS | OFPMF.PKTPS | OFPMF.BURST | OFPMF.STATS,
              maxBands: 8,
              maxColor: 0,
            },
          ],
        },
      ];
    case 'tableFeaturesStatsRequest':
      // Only the read (an empty body, OF1.3.5 §7.3.5.5.1); setting the tables' features is not emulated.
      if (src.tableSize !== undefined && msg.body.length === 0) {
        const body = Array.from({ length: pipeline.nTables }, (_, tableId) => ({
          tableId,
          name: `table${tableId}`,
          metadataMatch: 0n,
          metadataWrite: 0n,
          config: 0,
          maxEntries: src.tableSize!,
          properties: [],
        }));
        return split(body, max, (b, flags) => ({ type: 'tableFeaturesStatsReply', xid, flags, body: b }));
      }
      throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_MULTIPART, `${msg.type} is not supported by the emulator`);
    case 'experimenterStatsRequest':
    case 'onfFlowMonitorRequest':
      // Not emulated: the answer of a switch that does not support the multipart type (§7.3.5).
      throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_MULTIPART, `${msg.type} is not supported by the emulator`);
    default:
      return undefined;
  }
}

/** OFPT_QUEUE_GET_CONFIG_REQUEST: no queues anywhere; an unknown port is OFPQOFC_BAD_PORT. */
export function answerQueueConfig(src: StatsSource, msg: MessageOf<'queueGetConfigRequest'>): OfpMessage {
  if (msg.port !== OFPP.ANY && !src.ports.has(msg.port)) throw new OfpError(OFPET.QUEUE_OP_FAILED, OFPQOFC.BAD_PORT, `port ${msg.port}`);
  return { type: 'queueGetConfigReply', xid: msg.xid, port: msg.port, queues: [] };
}
