// The bundles of one controller connection (ONF EXT-230 / OF1.4 §6.8), with Open vSwitch's rules:
//  - OPEN of an id in use discards that bundle and fails with BAD_ID (OVS; the spec says BUNDLE_EXIST);
//  - ADD to an unknown id opens it implicitly; ADD to a closed bundle, or with other flags, discards it and
//    fails (BUNDLE_CLOSED, BAD_FLAGS);
//  - each added message is decoded and checked for what needs no state at once (an error answers the ADD);
//  - COMMIT applies every message atomically: on the first failure everything is rolled back, that message's
//    error is sent (with the ADD's xid), then MSG_FAILED answers the commit. The bundle is gone either way.
// Bundles die with the connection. Flow-mods and group-mods can be bundled; anything else is MSG_UNSUP.
import { OfpError, OFPET, OFPBRC, decode } from '../controller/openflow/index.js';
import type { OfpMessage, MessageOf } from '../controller/openflow/index.js';
import type { Pipeline } from './flow-table.js';
import {
  ONF_ET_BUNDLE_CONTROL,
  ONF_ET_BUNDLE_ADD_MESSAGE,
  OFPBCT,
  ONFBFC,
  bundleError,
  bundleCtrlMsg,
  parseBundleAdd,
  parseBundleCtrl,
} from './bundle.js';

type Bundlable = MessageOf<'flowMod'> | MessageOf<'groupMod'>;

interface Bundle {
  flags: number;
  closed: boolean;
  entries: { msg: Bundlable; xid: number; head: Buffer }[];
}

/** Sends an error for a message other than the one being handled (the failing message of a commit). */
export type ErrorSender = (xid: number, e: OfpError, data: Buffer) => void;

export class OnfBundles {
  private readonly bundles = new Map<number, Bundle>();

  get size(): number {
    return this.bundles.size;
  }

  /** Handles an ONF experimenter message; returns the replies, or throws the OfpError that answers it. */
  handle(msg: MessageOf<'experimenter'>, raw: Buffer, pipeline: Pipeline, sendError: ErrorSender): OfpMessage[] {
    if (msg.expType === ONF_ET_BUNDLE_ADD_MESSAGE) {
      this.add(msg, raw, pipeline);
      return [];
    }
    if (msg.expType !== ONF_ET_BUNDLE_CONTROL) throw new OfpError(OFPET.BAD_REQUEST, OFPBRC.BAD_EXP_TYPE, `ONF exp_type ${msg.expType}`);
    const c = parseBundleCtrl(msg.data);
    const b = this.bundles.get(c.bundleId);
    let reply: number;
    switch (c.ctrlType) {
      case OFPBCT.OPEN_REQUEST:
        if (b) {
          this.bundles.delete(c.bundleId);
          throw bundleError(ONFBFC.BAD_ID, `bundle ${c.bundleId} already exists`);
        }
        this.bundles.set(c.bundleId, { flags: c.flags, closed: false, entries: [] });
        reply = OFPBCT.OPEN_REPLY;
        break;
      case OFPBCT.CLOSE_REQUEST:
        if (!b) throw bundleError(ONFBFC.BAD_ID, `no bundle ${c.bundleId}`);
        if (b.closed || b.flags !== c.flags) {
          this.bundles.delete(c.bundleId);
          throw b.closed
            ? bundleError(ONFBFC.BUNDLE_CLOSED, `bundle ${c.bundleId} is closed`)
            : bundleError(ONFBFC.BAD_FLAGS, 'flags differ from the open');
        }
        b.closed = true;
        reply = OFPBCT.CLOSE_REPLY;
        break;
      case OFPBCT.COMMIT_REQUEST:
        if (!b) throw bundleError(ONFBFC.BAD_ID, `no bundle ${c.bundleId}`);
        this.bundles.delete(c.bundleId);
        if (b.flags !== c.flags) throw bundleError(ONFBFC.BAD_FLAGS, 'flags differ from the open');
        this.commit(b, pipeline, sendError);
        reply = OFPBCT.COMMIT_REPLY;
        break;
      case OFPBCT.DISCARD_REQUEST:
        if (!this.bundles.delete(c.bundleId)) throw bundleError(ONFBFC.BAD_ID, `no bundle ${c.bundleId}`);
        reply = OFPBCT.DISCARD_REPLY;
        break;
      default:
        throw bundleError(ONFBFC.BAD_TYPE, `bundle control type ${c.ctrlType}`);
    }
    return [bundleCtrlMsg(msg.xid, c.bundleId, reply, 0)];
  }

  private add(msg: MessageOf<'experimenter'>, raw: Buffer, pipeline: Pipeline): void {
    const a = parseBundleAdd(msg.data, msg.xid);
    let inner: OfpMessage;
    try {
      inner = decode(a.inner);
    } catch (e) {
      if (!(e instanceof OfpError)) throw e;
      // An unknown message type is "unsupported in a bundle"; other decode errors are reported as they are,
      // about the ADD message (whose bytes the error then carries).
      if (e.errType === OFPET.BAD_REQUEST && (e.code === OFPBRC.BAD_TYPE || e.code === OFPBRC.BAD_MULTIPART)) {
        throw bundleError(ONFBFC.MSG_UNSUP, e.message);
      }
      e.data = undefined;
      throw e;
    }
    if (inner.type === 'flowMod') pipeline.checkFlowMod(inner);
    else if (inner.type === 'groupMod') pipeline.checkGroupMod(inner);
    else throw bundleError(ONFBFC.MSG_UNSUP, `${inner.type} cannot be bundled`);
    let b = this.bundles.get(a.bundleId);
    if (!b) {
      b = { flags: a.flags, closed: false, entries: [] };
      this.bundles.set(a.bundleId, b);
    } else if (b.closed || b.flags !== a.flags) {
      this.bundles.delete(a.bundleId);
      throw b.closed
        ? bundleError(ONFBFC.BUNDLE_CLOSED, `bundle ${a.bundleId} is closed`)
        : bundleError(ONFBFC.BAD_FLAGS, 'flags differ from the open');
    }
    b.entries.push({ msg: inner, xid: msg.xid, head: Buffer.from(raw.subarray(0, Math.min(raw.length, 64))) });
  }

  private commit(b: Bundle, pipeline: Pipeline, sendError: ErrorSender): void {
    let at = -1;
    try {
      pipeline.atomically(() => {
        for (at = 0; at < b.entries.length; at++) {
          const m = b.entries[at]!.msg;
          if (m.type === 'flowMod') pipeline.flowMod(m);
          else pipeline.groupMod(m);
        }
      });
    } catch (e) {
      const failed = b.entries[at];
      if (!(e instanceof OfpError) || !failed) throw e;
      sendError(failed.xid, e, failed.head);
      throw bundleError(ONFBFC.MSG_FAILED, `bundled message xid ${failed.xid} failed: ${e.message}`);
    }
  }
}
