// A scripted switch connection for unit tests of the flow manager and atomic groups.
import { EventEmitter } from 'node:events';
import type { FlowConn } from '../../../controller/atomic.js';
import { SwitchError } from '../../../controller/errors.js';
import { silentLogger } from '../../../controller/log.js';
import {
  encode,
  parseBundleControl,
  parseBundleAdd,
  isBundleMsg,
  ONFT_BUNDLE_CONTROL,
  ONFT_BUNDLE_ADD_MESSAGE,
  type OfpMessage,
} from '../../../controller/openflow/index.js';

export type Verdict = { errType: number; code: number } | undefined;

/** A scripted switch: `judge` decides, per message, whether it is refused; requests get an empty reply. */
export class FakeConn extends EventEmitter implements FlowConn {
  dpid = 0xabn;
  log = silentLogger();
  sent: OfpMessage[] = [];
  private xid = 1;
  constructor(public judge: (m: OfpMessage) => Verdict = () => undefined) {
    super();
  }
  allocXid(): number {
    return this.xid++;
  }
  send(msg: OfpMessage): number {
    const m = msg.xid === 0 ? { ...msg, xid: this.allocXid() } : msg;
    this.sent.push(m);
    const v = this.judge(m);
    // Like SwitchConnection: an error nobody waits for is a 'switchError' event, with the request when remembered.
    if (v) this.emit('switchError', new SwitchError(this.dpid, v.errType, v.code, m, encode(m)));
    return m.xid;
  }
  async request(msg: OfpMessage): Promise<OfpMessage[]> {
    const m = msg.xid === 0 ? { ...msg, xid: this.allocXid() } : msg;
    this.sent.push(m);
    const v = this.judge(m);
    if (v) throw new SwitchError(this.dpid, v.errType, v.code, m, encode(m));
    return [{ ...m }];
  }
  /** What multipart requests answer, by request type. */
  tables: Record<string, unknown[]> = {};
  async multipart<T>(msg: OfpMessage): Promise<T[]> {
    this.sent.push(msg);
    return (this.tables[msg.type] ?? []) as T[];
  }
  async barrier(): Promise<void> {
    this.sent.push({ type: 'barrierRequest', xid: this.allocXid() });
  }
  isClosed(): boolean {
    return false;
  }
  /** The sent messages, briefly: `open`, `add:ADD:5`, `commit`, `mod:DEL_STRICT:5`, `barrier`. */
  trace(): string[] {
    return this.sent.map((m) => {
      if (m.type === 'barrierRequest') return 'barrier';
      if (m.type.endsWith('StatsRequest')) return m.type;
      if (isBundleMsg(m, ONFT_BUNDLE_CONTROL)) return ['open', '', 'close', '', 'commit', '', 'discard'][parseBundleControl(m).ctrlType]!;
      if (isBundleMsg(m, ONFT_BUNDLE_ADD_MESSAGE)) {
        const inner = parseBundleAdd(m).message;
        return `add:${brief(inner)}`;
      }
      return `mod:${brief(m)}`;
    });
  }
}

const CMD = ['ADD', 'MOD', 'MOD_STRICT', 'DEL', 'DEL_STRICT'];
export function brief(m: OfpMessage): string {
  return m.type === 'flowMod' ? `${CMD[m.command]}:${m.priority}` : m.type;
}
