// Outstanding requests to one switch, keyed by xid (the way Kafka clients key in-flight requests by correlation
// id): each settles by its reply, by an OFPT_ERROR carrying its xid, by a timeout, or when the connection closes.
// Multipart replies are collected until the last part (no OFPMPF_REPLY_MORE).
import type { OfpMessage } from './openflow/index.js';
import { OFPMPF_REPLY_MORE, isMultipartReply } from './openflow/index.js';
import { SwitchError, RequestTimeoutError, ConnectionClosedError } from './errors.js';

interface Pending {
  request: OfpMessage;
  resolve: (replies: OfpMessage[]) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  parts: OfpMessage[];
}

/** Multipart parts accepted for one request: ~64 KB each, so ~1 GB at most (a 100k-flow table takes ~200). */
const MAX_REPLY_PARTS = 16384;

export class RequestTable {
  private readonly pending = new Map<number, Pending>();
  private nextXid = 1;

  constructor(
    private readonly dpid: () => bigint | undefined,
    private readonly timeoutMs: number,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** A fresh xid; 0 is never used, so that "no xid" stays distinguishable, and live xids are skipped. */
  allocXid(): number {
    let xid = this.nextXid;
    while (xid === 0 || this.pending.has(xid)) xid = (xid + 1) >>> 0;
    this.nextXid = (xid + 1) >>> 0;
    return xid;
  }

  add(request: OfpMessage, timeoutMs = this.timeoutMs): Promise<OfpMessage[]> {
    if (this.pending.has(request.xid)) {
      // Two requests under one xid could not be told apart: a caller's bug, refused loudly.
      return Promise.reject(new Error(`xid ${request.xid} is already outstanding on switch ${this.dpid()?.toString(16) ?? '?'}`));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(request.xid);
        reject(new RequestTimeoutError(this.dpid(), request, timeoutMs));
      }, timeoutMs);
      timer.unref();
      this.pending.set(request.xid, { request, resolve, reject, timer, parts: [] });
    });
  }

  /** Offers an incoming message; returns true if it answered (part of) an outstanding request. */
  settle(msg: OfpMessage): boolean {
    const p = this.pending.get(msg.xid);
    if (!p || !answers(p.request, msg)) return false;
    if (msg.type === 'error') {
      this.finish(msg.xid, p);
      p.reject(new SwitchError(this.dpid(), msg.errType, msg.code, p.request, msg.data));
      return true;
    }
    p.parts.push(msg);
    const more = isMultipartReply(msg) && ((msg as { flags: number }).flags & OFPMPF_REPLY_MORE) !== 0;
    if (more && p.parts.length > MAX_REPLY_PARTS) {
      // A switch that never ends a multipart reply must not grow our memory without limit.
      this.finish(msg.xid, p);
      p.reject(new Error(`switch ${this.dpid()?.toString(16) ?? '?'} sent more than ${MAX_REPLY_PARTS} parts for xid ${msg.xid}`));
      return true;
    }
    if (more) {
      p.timer.refresh(); // a long multipart reply is progress, not a stall
      return true;
    }
    this.finish(msg.xid, p);
    p.resolve(p.parts);
    return true;
  }

  /** Rejects everything outstanding (connection closed). */
  failAll(reason: string): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(new ConnectionClosedError(this.dpid(), reason));
    }
  }

  private finish(xid: number, p: Pending): void {
    clearTimeout(p.timer);
    this.pending.delete(xid);
  }
}

/**
 * Whether `msg` can be the answer to `request`: an error, or the request's own reply type. A switch picks the xids
 * of what it sends on its own (OF1.3.5 §6.1.2), so a packet-in or port-status that happens to carry an outstanding
 * xid must not settle that request.
 */
function answers(request: OfpMessage, msg: OfpMessage): boolean {
  if (msg.type === 'error') return true;
  switch (request.type) {
    case 'experimenter':
      return msg.type === 'experimenter'; // ONF bundle control (OF1.3.5 ext-230)
    case 'onfFlowMonitorRequest':
      return msg.type === 'experimenterStatsReply';
    default:
      return request.type.endsWith('Request') && msg.type === `${request.type.slice(0, -'Request'.length)}Reply`;
  }
}
