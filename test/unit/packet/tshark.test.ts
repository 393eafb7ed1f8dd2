/**
 * Independent check: tshark (Wireshark's dissectors, with checksum
 * validation switched on) must decode every frame we build as the intended
 * protocols with good checksums, and must flag frames we corrupt on purpose.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPacket, type PacketSpec } from '../../../controller/packet/index.js';
import { FIXTURES, MAC_A, MAC_B, V4_A, V4_B, V6_A, V6_B, writePcap } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'dmzg-tshark-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tshark(frames: Uint8Array[], name: string): string[] {
  const file = join(dir, `${name}.pcap`);
  writePcap(file, frames);
  const args = ['-r', file, '-V', '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE'];
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error('tshark is not installed: run `DEBIAN_FRONTEND=noninteractive apt-get install -y tshark` (this test must not be skipped)');
  }
  expect(r.status, r.stderr).toBe(0);
  // one block per frame
  return r.stdout.split(/^(?=Frame \d+: )/m).filter((b) => b.startsWith('Frame '));
}

/** Field lines tshark must print for each fixture: values decoded by an independent dissector. */
const EXPECTED_FIELDS: Record<string, string[]> = {
  'arp-request': ['Opcode: request (1)', `Sender MAC address: ${MAC_A}`, `Sender IP address: ${V4_A}`, `Target IP address: ${V4_B}`],
  'icmp-echo': ['Type: 8 (Echo (ping) request)', 'Identifier (BE): 4660 (0x1234)', 'Sequence Number (BE): 7 (0x0007)', "Flags: 0x2, Don't fragment"],
  'icmp-ipv4-options': ['Options: (4 bytes), Router Alert', 'Header Length: 24 bytes (6)'],
  'icmpv6-ns-sll': ['Type: Neighbor Solicitation (135)', `Target Address: ${V6_B}`, `Link-layer address: ${MAC_A}`, 'Hop Limit: 255'],
  'icmpv6-na-tll': [
    'Type: Neighbor Advertisement (136)',
    `Target Address: ${V6_A}`,
    'Flags: 0x60000000, Solicited, Override',
    `Link-layer address: ${MAC_A}`,
  ],
  'icmpv6-rs': ['Type: Router Solicitation (133)', `Link-layer address: ${MAC_A}`],
  'icmpv6-ra': ['Type: Router Advertisement (134)', 'Router lifetime (s): 1800', 'MTU: 9000', 'Prefix: fd00:dead:beef::', 'Prefix Length: 64'],
  'icmpv6-echo': ['Type: Echo (ping) request (128)', 'Identifier: 0xbeef', 'Sequence: 3', 'Flow Label: 0x12345'],
  'tcp-syn-v4': [
    'Source Port: 43210',
    'Destination Port: 22',
    'Flags: 0x002 (SYN)',
    'MSS Value: 1460',
    'Shift count: 7',
    'Window: 64240',
    'Sequence Number (raw): 16909060',
  ],
  'tcp-syn-v6-hbh-frag': [
    'IPv6 Hop-by-Hop Option',
    'Fragment Header for IPv6',
    'Identification: 0xdeadbeef',
    'MSS Value: 1460',
    'Destination Port: 80',
  ],
  'udp-v6-routing-dstopts': ['Type: Segment Routing (4)', 'Destination Options for IPv6', 'Tunnel Encapsulation Limit: 4', 'Length: 21'],
  'udp-v4': ['Source Port: 40000', 'Destination Port: 9999', 'Length: 23'],
  lldp: [`Chassis Id: ${MAC_A}`, 'Port Id: eth7', 'Seconds: 120', 'System Name: dmzgate-sw1', 'Port Description: uplink to border', 'End of LLDPDU'],
  'vlan-tcp': ['802.1Q Virtual LAN, PRI: 5, DEI: 0, ID: 100', 'Flags: 0x018 (PSH, ACK)'],
  'qinq-udp': ['IEEE 802.1ad, ID: 20', '802.1Q Virtual LAN, PRI: 7, DEI: 0, ID: 4000'],
};

const FORBIDDEN = [/malformed/i, /incorrect/i, /status: bad/i, /Expert Info \((Error|Warning)/];

describe('tshark agrees with our frames', () => {
  const blocks = tshark(
    FIXTURES.map((f) => buildPacket(f.spec)),
    'fixtures',
  );

  it('decodes one block per frame', () => {
    expect(blocks).toHaveLength(FIXTURES.length);
  });

  it.each(FIXTURES.map((fx, i) => [fx.name, fx, i] as const))('%s', (name, fx, i) => {
    const b = blocks[i];
    expect(b).toContain(`[Protocols in frame: ${fx.protocols}]`);
    for (const re of FORBIDDEN) expect(b, `${name} matched ${re}`).not.toMatch(re);
    if (fx.spec.ipv4) expect(b).toContain('[Header checksum status: Good]');
    if (fx.spec.tcp || fx.spec.udp || fx.spec.icmp || fx.spec.icmpv6) expect(b).toContain('[Checksum Status: Good]');
    for (const field of EXPECTED_FIELDS[name] ?? []) expect(b, `${name}: ${field}`).toContain(field);
    expect(EXPECTED_FIELDS[name]?.length, `fields listed for ${name}`).toBeGreaterThan(0);
  });

  it('flags deliberately wrong checksums (the checks above are live)', () => {
    const eth = { src: MAC_A, dst: MAC_B };
    const bad: PacketSpec[] = [
      { eth, ipv4: { src: V4_A, dst: V4_B, checksum: 0x1234 }, udp: { srcPort: 1, dstPort: 9999 } },
      { eth, ipv4: { src: V4_A, dst: V4_B }, tcp: { srcPort: 1, dstPort: 2, flags: 2, checksum: 0x1234 } },
      { eth, ipv4: { src: V4_A, dst: V4_B }, udp: { srcPort: 1, dstPort: 9999, checksum: 0x1234 } },
      { eth, ipv4: { src: V4_A, dst: V4_B }, icmp: { type: 8, checksum: 0x1234 } },
      { eth, ipv6: { src: V6_A, dst: V6_B }, icmpv6: { kind: 'echo-request', checksum: 0x1234 } },
      { eth, ipv6: { src: V6_A, dst: V6_B }, tcp: { srcPort: 1, dstPort: 2, flags: 2, checksum: 0x1234 } },
    ];
    const out = tshark(bad.map(buildPacket), 'bad');
    expect(out).toHaveLength(bad.length);
    for (const b of out) expect(b).toMatch(/incorrect|status: bad/i);
  });
});
