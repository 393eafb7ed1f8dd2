// Open vSwitch's bundle action (NXAST_BUNDLE, nicira-ext.h struct nx_action_bundle): the bytes nxBundle() writes,
// laid out field by field, their Ryu JSON and ovs-ofctl text; a bundle_load or a nonzero reserved byte stays raw.
import { describe, expect, it } from 'vitest';
import { actionsFromRyu, actionsToRyu, formatActions, readActions, writeActions } from '../../../controller/openflow/actions.js';
import { Reader, Writer } from '../../../controller/openflow/buffer.js';
import { nxBundle } from '../../../controller/openflow/nx-actions.js';

const bytesOf = (a: Parameters<typeof writeActions>[1]): Buffer => {
  const w = new Writer(64);
  writeActions(w, a);
  return w.toBuffer();
};

describe('the bundle action', () => {
  const action = nxBundle([10, 11], 'symmetric_l3l4+udp');
  const wire = bytesOf([action]);

  it('is laid out as nx_action_bundle with its members after it, padded to 8', () => {
    const expected = Buffer.from(
      [
        'ffff 0028 00002320', // OFPAT_EXPERIMENTER, 40 bytes, NX_VENDOR_ID
        '000c', // NXAST_BUNDLE
        '0001', // NX_BD_ALG_HRW
        '0003', // NX_HASH_FIELDS_SYMMETRIC_L3L4_UDP
        '0000', // basis
        '00000002', // slave_type: NXM_OF_IN_PORT
        '0002', // n_slaves
        '0000 00000000 00000000', // ofs_nbits, dst, zero[4]
        '000a 000b', // the members
        '00000000', // padding to 40
      ]
        .join('')
        .replace(/ /g, ''),
      'hex',
    );
    expect(wire.toString('hex')).toBe(expected.toString('hex'));
  });

  it('reads back to the same action, prints as ovs-ofctl does, and round-trips through Ryu JSON', () => {
    const [back] = readActions(new Reader(wire, 0), wire.length);
    expect(back).toEqual(action);
    expect(formatActions([action])).toBe('bundle(symmetric_l3l4+udp,0,hrw,ofport,members:10,11)');
    const ryu = actionsToRyu([action]);
    expect(ryu).toMatchObject([{ NXActionBundle: { algorithm: 1, fields: 3, n_slaves: 2, slaves: [10, 11] } }]);
    expect(bytesOf(actionsFromRyu(ryu))).toEqual(wire);
  });

  it('a nonzero reserved byte is not taken for a bundle: shown raw, its bytes kept', () => {
    const odd = Buffer.from(wire);
    odd[31] = 1; // zero[3]
    const [a] = readActions(new Reader(odd, 0), odd.length);
    expect(actionsToRyu([a!])[0]).toHaveProperty('NXActionUnknown');
    expect(bytesOf([a!])).toEqual(odd);
  });
});
