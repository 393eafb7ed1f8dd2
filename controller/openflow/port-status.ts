// OFPT_PORT_STATUS (OF1.3.5 §7.4.3): the switch reports a port added, removed or changed.
//
//   struct ofp_port_status { ofp_header header; uint8_t reason; uint8_t pad[7]; struct ofp_port desc; }; // 80
import { OFPT, OFPPR } from './constants.js';
import { register } from './registry.js';
import { jInt, jObj } from './ryu-json.js';
import { Port, readPort, writePort, portToRyu, portFromRyu, formatPort } from './port.js';

export interface PortStatusMsg {
  type: 'portStatus';
  xid: number;
  /** OFPPR_* */
  reason: number;
  desc: Port;
}

const REASONS: Record<number, string> = { [OFPPR.ADD]: 'ADD', [OFPPR.DELETE]: 'DEL', [OFPPR.MODIFY]: 'MOD' };

register<PortStatusMsg>({
  type: 'portStatus',
  ofpType: OFPT.PORT_STATUS,
  ryuName: 'OFPPortStatus',
  ofpName: 'OFPT_PORT_STATUS',
  decode: (r, xid) => {
    const reason = r.u8();
    r.skip(7);
    return { type: 'portStatus', xid, reason, desc: readPort(r) };
  },
  encode: (w, m) => {
    w.u8(m.reason);
    w.zeros(7);
    writePort(w, m.desc);
  },
  toRyu: (m) => ({ reason: m.reason, desc: portToRyu(m.desc) }),
  fromRyu: (d, xid) => ({ type: 'portStatus', xid, reason: jInt(d, 'reason'), desc: portFromRyu(jObj(d, 'desc')) }),
  format: (m) => `${REASONS[m.reason] ?? `reason=${m.reason}`}: ${formatPort(m.desc)}`,
});
