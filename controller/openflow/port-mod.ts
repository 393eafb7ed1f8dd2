// OFPT_PORT_MOD (OF1.3.5 §7.3.4.3): changes a port's administrative config bits (those set in `mask`) and what
// it advertises. hw_addr must be the port's address: it guards against a port renumbered under our feet.
//
//   struct ofp_port_mod { ofp_header header; uint32_t port_no; uint8_t pad[4]; uint8_t hw_addr[6];
//     uint8_t pad2[2]; uint32_t config; uint32_t mask; uint32_t advertise; uint8_t pad3[4]; };   // 40 bytes
import { OFPT } from './constants.js';
import { register } from './registry.js';
import { macToString, macToBytes } from './addr.js';
import { jInt, jStr } from './ryu-json.js';
import { bitNames, formatPortNo, PORT_CONFIG_NAMES, PORT_FEATURE_NAMES } from './port.js';

export interface PortModMsg {
  type: 'portMod';
  xid: number;
  portNo: number;
  hwAddr: string;
  /** OFPPC_* bits; only those set in `mask` change. */
  config: number;
  mask: number;
  /** OFPPF_* bits to advertise; 0 leaves them unchanged. */
  advertise: number;
}

register<PortModMsg>({
  type: 'portMod',
  ofpType: OFPT.PORT_MOD,
  ryuName: 'OFPPortMod',
  ofpName: 'OFPT_PORT_MOD',
  decode: (r, xid) => {
    const portNo = r.u32();
    r.skip(4);
    r.need(8, 'hw_addr');
    const hwAddr = macToString(r.buf, r.pos);
    r.skip(8);
    const config = r.u32();
    const mask = r.u32();
    const advertise = r.u32();
    r.skip(4);
    return { type: 'portMod', xid, portNo, hwAddr, config, mask, advertise };
  },
  encode: (w, m) => {
    w.u32(m.portNo);
    w.zeros(4);
    w.bytes(macToBytes(m.hwAddr));
    w.zeros(2);
    w.u32(m.config);
    w.u32(m.mask);
    w.u32(m.advertise);
    w.zeros(4);
  },
  toRyu: (m) => ({ port_no: m.portNo, hw_addr: m.hwAddr, config: m.config, mask: m.mask, advertise: m.advertise }),
  fromRyu: (d, xid) => ({
    type: 'portMod',
    xid,
    portNo: jInt(d, 'port_no'),
    hwAddr: jStr(d, 'hw_addr', '00:00:00:00:00:00'),
    config: jInt(d, 'config', 0),
    mask: jInt(d, 'mask', 0),
    advertise: jInt(d, 'advertise', 0),
  }),
  format: (m) =>
    `port: ${formatPortNo(m.portNo)}: addr:${m.hwAddr} config: ${bitNames(m.config, PORT_CONFIG_NAMES)}` +
    ` mask: ${bitNames(m.mask, PORT_CONFIG_NAMES)}` +
    ` advertise: ${m.advertise ? bitNames(m.advertise, PORT_FEATURE_NAMES) : 'UNCHANGED'}`,
});
