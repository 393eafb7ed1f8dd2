import { describe, expect, it } from 'vitest';
import {
  CHASSIS_ID_SUBTYPE,
  LLDP_MULTICAST,
  PORT_ID_SUBTYPE,
  buildPacket,
  encodeLldp,
  parseLldp,
  parsePacket,
  type LldpSpec,
} from '../../../controller/packet/index.js';
import { MAC_A, errorCode, hex, text } from './fixtures.js';

const base: LldpSpec = {
  chassisId: { subtype: CHASSIS_ID_SUBTYPE.MAC, id: MAC_A },
  portId: { subtype: PORT_ID_SUBTYPE.LOCAL, id: '42' },
  ttl: 120,
};

describe('LLDP (IEEE 802.1AB)', () => {
  it('encodes the mandatory TLVs byte for byte', () => {
    expect([...encodeLldp(base)]).toEqual([
      ...hex('0207 04 02000000000a'), // type 1 len 7: subtype 4 (MAC) + MAC
      ...hex('0403 07 3432'), // type 2 len 3: subtype 7 (local) + "42"
      ...hex('0602 0078'), // type 3 len 2: 120 s
      ...hex('0000'), // End Of LLDPDU
    ]);
  });

  it('round-trips in a frame with the optional string TLVs and extra TLVs', () => {
    const spec: LldpSpec = {
      ...base,
      portDescription: 'to core – port 1', // non-ASCII survives (UTF-8)
      systemName: 'sw1.dmz.example',
      systemDescription: 'dmzgate test switch',
      tlvs: [
        { type: 7, value: hex('0014 0004') }, // system capabilities
        { type: 127, value: hex('0080c2 01 0064') }, // IEEE 802.1 port VLAN id 100
      ],
    };
    const f = buildPacket({ eth: { src: MAC_A, dst: LLDP_MULTICAST }, lldp: spec, minLength: 60 });
    const p = parsePacket(f);
    expect(p.eth.etherType).toBe(0x88cc);
    const l = p.lldp!;
    expect(l.chassisId).toEqual({ subtype: 4, id: hex('02000000000a'), text: MAC_A });
    expect(l.portId).toEqual({ subtype: 7, id: text('42'), text: '42' });
    expect(l.ttl).toBe(120);
    expect(l.portDescription).toBe('to core – port 1');
    expect(l.systemName).toBe('sw1.dmz.example');
    expect(l.systemDescription).toBe('dmzgate test switch');
    expect(l.tlvs).toEqual(spec.tlvs);
    expect(l.hasEnd).toBe(true);
    expect(l.length).toBe(encodeLldp(spec).length);
  });

  it('network-address IDs carry the IANA family (1 = IPv4, 2 = IPv6)', () => {
    const l = parseLldp(
      encodeLldp({
        chassisId: { subtype: CHASSIS_ID_SUBTYPE.NETWORK, id: '192.0.2.7' },
        portId: { subtype: PORT_ID_SUBTYPE.NETWORK, id: '2001:db8::7' },
        ttl: 0,
      }),
    );
    expect([...l.chassisId.id]).toEqual([1, 192, 0, 2, 7]);
    expect(l.chassisId.text).toBe('192.0.2.7');
    expect(l.portId.id[0]).toBe(2);
    expect(l.portId.text).toBe('2001:db8::7');
    expect(l.ttl).toBe(0);
  });

  it('accepts an LLDPDU without End TLV (optional since 802.1AB-2016)', () => {
    const l = parseLldp(encodeLldp({ ...base, systemName: 'x', end: false }));
    expect(l.hasEnd).toBe(false);
    expect(l.systemName).toBe('x');
  });

  it('enforces the mandatory TLVs first and in order, once', () => {
    const tlv = (type: number, v: string): string => ((type << 9) | (v.length / 2)).toString(16).padStart(4, '0') + v;
    const chassis = tlv(1, '0402000000000a');
    const port = tlv(2, '073432');
    const ttl = tlv(3, '0078');
    expect(parseLldp(hex(chassis + port + ttl)).ttl).toBe(120);
    expect(errorCode(() => parseLldp(hex(port + chassis + ttl)))).toBe('BAD_VALUE');
    expect(errorCode(() => parseLldp(hex(chassis + port + '0000')))).toBe('BAD_VALUE');
    expect(errorCode(() => parseLldp(hex(chassis + port + ttl + chassis)))).toBe('BAD_VALUE');
    expect(errorCode(() => parseLldp(hex(chassis + port)))).toBe('TRUNCATED');
    expect(errorCode(() => parseLldp(hex(chassis + port + ttl + '0a10 41')))).toBe('TRUNCATED');
    expect(errorCode(() => parseLldp(hex(chassis + port + ttl + '0001 00')))).toBe('BAD_LENGTH'); // End with length 1
    expect(errorCode(() => parseLldp(hex(tlv(1, '04') + port + ttl)))).toBe('BAD_LENGTH'); // empty chassis id
    expect(errorCode(() => parseLldp(hex(chassis + port + tlv(3, '00'))))).toBe('BAD_LENGTH');
  });

  it('refuses oversize fields at build', () => {
    expect(errorCode(() => encodeLldp({ ...base, systemName: 'n'.repeat(256) }))).toBe('BAD_LENGTH');
    expect(errorCode(() => encodeLldp({ ...base, portId: { subtype: 5, id: '' } }))).toBe('BAD_LENGTH');
    expect(errorCode(() => encodeLldp({ ...base, ttl: 65536 }))).toBe('BAD_VALUE');
    expect(errorCode(() => encodeLldp({ ...base, tlvs: [{ type: 2, value: hex('07') }] }))).toBe('BAD_VALUE');
  });
});
