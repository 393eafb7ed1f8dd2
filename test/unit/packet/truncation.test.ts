/**
 * Every fixture frame cut at every length must either throw PacketError
 * ('TRUNCATED': a header is incomplete) or parse to a correct prefix of the
 * full parse, flagged `truncated` when an IP length says bytes are missing.
 */
import { describe, expect, it } from 'vitest';
import { PacketError, buildPacket, parsePacket, type Packet } from '../../../controller/packet/index.js';
import { FIXTURES } from './fixtures.js';

const LAYERS = ['arp', 'ipv4', 'ipv6', 'icmp', 'icmpv6', 'tcp', 'udp', 'lldp'] as const;

/** The scalar fields of a layer (numbers, strings, booleans), minus the truncation flag. */
function scalars(o: object | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([k, v]) => k !== 'truncated' && ['number', 'string', 'boolean'].includes(typeof v)));
}

function checkPrefix(p: Packet, full: Packet, cut: number, ipEnd: number): void {
  expect(p.eth).toEqual(full.eth);
  expect(p.vlans).toEqual(full.vlans);
  for (const k of LAYERS) expect(p[k] === undefined, k).toBe(full[k] === undefined);
  expect(p.truncated).toBe(cut < ipEnd);
  for (const k of ['arp', 'ipv4', 'ipv6', 'tcp', 'udp', 'icmp'] as const) expect(scalars(p[k])).toEqual(scalars(full[k]));
  if (p.ipv6) expect(p.ipv6.extensions).toEqual(full.ipv6!.extensions);
  if (p.icmpv6) {
    const { options: got = [], ...rest } = p.icmpv6 as { options?: unknown[] };
    const { options: all = [], ...fullRest } = full.icmpv6 as { options?: unknown[] };
    expect(scalars(rest)).toEqual(scalars(fullRest));
    expect(all.slice(0, got.length)).toEqual(got); // ND options: complete ones only
  }
  if (p.lldp) {
    const l = p.lldp;
    const f = full.lldp!;
    expect([l.chassisId, l.portId, l.ttl]).toEqual([f.chassisId, f.portId, f.ttl]);
    for (const k of ['portDescription', 'systemName', 'systemDescription'] as const) if (l[k] !== undefined) expect(l[k]).toBe(f[k]);
    expect(f.tlvs.slice(0, l.tlvs.length)).toEqual(l.tlvs);
    expect(l.hasEnd).toBe(cut >= f.length + 14);
  }
  expect([...p.payload]).toEqual([...full.payload.subarray(0, p.payload.length)]);
}

describe('truncated frames', () => {
  it.each(FIXTURES.map((f) => [f.name, f] as const))('%s cut at every length', (_, fx) => {
    const frame = buildPacket(fx.spec);
    const full = parsePacket(frame);
    const l2 = 14 + 4 * full.vlans.length;
    const ipEnd = full.ipv4 ? l2 + full.ipv4.totalLength : full.ipv6 ? l2 + 40 + full.ipv6.payloadLength : 0;
    let ok = 0;
    let errors = 0;
    for (let cut = 0; cut < frame.length; cut++) {
      // copy, so that nothing past the cut is reachable through the buffer
      const b = frame.slice(0, cut);
      let p: Packet;
      try {
        p = parsePacket(b);
      } catch (e) {
        expect(e).toBeInstanceOf(PacketError);
        expect((e as PacketError).code).toBe('TRUNCATED');
        errors++;
        continue;
      }
      checkPrefix(p, full, cut, ipEnd);
      ok++;
    }
    expect(ok + errors).toBe(frame.length);
    expect(errors).toBeGreaterThanOrEqual(14); // at least every cut inside the Ethernet header
  });
});
