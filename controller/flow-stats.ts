// The flow-stats request the controller and its apps send: every table, any out port or group, no match, the
// flows selected by their cookie alone (OF1.3.5 §7.3.5.2: cookie and cookie_mask; a zero mask selects all).
import { OFPTT, OFPP, OFPG, type MessageOf } from './openflow/index.js';

export function flowStatsByCookie(cookie = 0n, cookieMask = 0n): MessageOf<'flowStatsRequest'> {
  return { type: 'flowStatsRequest', xid: 0, flags: 0, tableId: OFPTT.ALL, outPort: OFPP.ANY, outGroup: OFPG.ANY, match: [], cookie, cookieMask };
}
