// OFPT_METER_MOD (OF1.3.5 §7.3.4.4): add, modify or delete a meter and its bands.
//
//   struct ofp_meter_mod {
//     struct ofp_header header;
//     uint16_t command;         OFPMC_*
//     uint16_t flags;           OFPMF_* bits
//     uint32_t meter_id;
//     struct ofp_meter_band_header bands[0];   the rest of the message
//   };                          16 bytes
import { OFPT, OFPMC, OFPMF, OFPM } from './constants.js';
import { register } from './registry.js';
import { MeterBand, readBands, writeBands, bandsToRyu, bandsFromRyu, formatBands } from './meter-band.js';
import { jArr, jUint } from './ryu-json.js';

export interface MeterModMsg {
  type: 'meterMod';
  xid: number;
  /** OFPMC_* */
  command: number;
  /** OFPMF_* bits */
  flags: number;
  meterId: number;
  bands: MeterBand[];
}

const COMMANDS = ['ADD', 'MOD', 'DEL'];
const FLAG_NAMES: [number, string][] = [
  [OFPMF.KBPS, 'kbps'],
  [OFPMF.PKTPS, 'pktps'],
  [OFPMF.BURST, 'burst'],
  [OFPMF.STATS, 'stats'],
];
const METER_NAMES: Record<number, string> = { [OFPM.SLOWPATH]: 'slowpath', [OFPM.CONTROLLER]: 'controller', [OFPM.ALL]: 'all' };

register<MeterModMsg>({
  type: 'meterMod',
  ofpType: OFPT.METER_MOD,
  ryuName: 'OFPMeterMod',
  ofpName: 'OFPT_METER_MOD',
  decode: (r, xid) => {
    const command = r.u16();
    const flags = r.u16();
    const meterId = r.u32();
    const bands = readBands(r, r.remaining);
    return { type: 'meterMod', xid, command, flags, meterId, bands };
  },
  encode: (w, m) => {
    w.u16(m.command);
    w.u16(m.flags);
    w.u32(m.meterId);
    writeBands(w, m.bands);
  },
  toRyu: (m) => ({ bands: bandsToRyu(m.bands), command: m.command, flags: m.flags, meter_id: m.meterId }),
  // Ryu's OFPMeterMod defaults: command ADD, flags KBPS, meter_id 1.
  fromRyu: (d, xid) => ({
    type: 'meterMod',
    xid,
    command: jUint(d, 'command', 16, OFPMC.ADD),
    flags: jUint(d, 'flags', 16, OFPMF.KBPS),
    meterId: jUint(d, 'meter_id', 32, 1),
    bands: bandsFromRyu(jArr(d, 'bands')),
  }),
  // ovs-ofctl: `ADD meter=100 kbps burst stats bands=type=drop rate=1000 burst_size=10` (bands on one line here).
  format: (m) => {
    const parts = [COMMANDS[m.command] ?? `cmd:${m.command}`, `meter=${METER_NAMES[m.meterId] ?? m.meterId}`];
    for (const [bit, name] of FLAG_NAMES) if (m.flags & bit) parts.push(name);
    // ovs-ofctl puts each band on a line of its own after `bands=`; we keep one line.
    parts.push(m.bands.length ? `bands=${formatBands(m.bands, m.flags)}` : 'bands=');
    return parts.join(' ');
  },
});
