/**
 * The Linux kernel as an independent judge of our packet library: we build
 * frames, inject them on a veth whose peer lives in a private network
 * namespace with real IPv4/IPv6 addresses, and parse the kernel's replies.
 * The kernel drops frames with bad checksums or malformed headers, so every
 * answer proves our encoding; the negative controls prove it really checks.
 *
 * Needs root, iproute2, ethtool and python3 (for AF_PACKET: see
 * test/helpers/afpacket-exchange.py). Touches only the namespace and veth
 * pair it creates, and removes them in afterAll.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IPPROTO,
  TCP_FLAG,
  buildPacket,
  ipv4ToBytes,
  ipv6ToBytes,
  parsePacket,
  verifyIcmpChecksum,
  verifyIpv4Checksum,
  verifyPacketChecksums,
  verifyTransportChecksum,
  type Packet,
  type PacketSpec,
} from '../../controller/packet/index.js';

const HELPER = join(dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'afpacket-exchange.py');
const NS = `dmzg-pkt-${process.pid}`;
const ROOT_IF = `dzpr${process.pid}`; // stays in the root namespace, no address
const NS_IF = `dzpn${process.pid}`;
const NS_MAC = '02:00:00:00:77:01';
const OUR_MAC = '02:00:00:00:77:02';
const NS_V4 = '198.18.77.1';
const OUR_V4 = '198.18.77.2';
const NS_V6 = 'fd00:77::1';
const OUR_V6 = 'fd00:77::2';

const created = { ns: false, link: false };

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function requireTool(cmd: string, install: string): void {
  const r = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
  if (r.error) throw new Error(`${cmd} is required for this test: install it (${install})`);
}

/** Sends `frame` on the root-side veth; returns the first frame addressed to us, if any, within `timeout` s. */
function exchange(frame: Uint8Array, timeout = 2): Uint8Array | undefined {
  const r = spawnSync('python3', [HELPER, ROOT_IF, Buffer.from(frame).toString('hex'), String(timeout), OUR_MAC], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`afpacket helper failed: ${r.stderr || r.error}`);
  const line = r.stdout.trim().split('\n')[0];
  return line ? Uint8Array.from(Buffer.from(line, 'hex')) : undefined;
}

/** Positive exchanges retry a couple of times, in case the link was still settling. */
function reply(spec: PacketSpec): Packet {
  const frame = buildPacket(spec);
  for (let attempt = 0; attempt < 3; attempt++) {
    const got = exchange(frame);
    if (got) return parsePacket(got);
  }
  throw new Error(`no reply from the kernel to ${Buffer.from(frame).toString('hex')}`);
}

const toNs4 = { eth: { src: OUR_MAC, dst: NS_MAC }, ipv4: { src: OUR_V4, dst: NS_V4 } };
const toNs6 = { eth: { src: OUR_MAC, dst: NS_MAC }, ipv6: { src: OUR_V6, dst: NS_V6 } };

beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error('packet-kernel test needs root (network namespaces, AF_PACKET)');
  requireTool('ip', 'apt-get install -y iproute2');
  requireTool('ethtool', 'DEBIAN_FRONTEND=noninteractive apt-get install -y ethtool');
  requireTool('python3', 'apt-get install -y python3');
  if (!existsSync(HELPER)) throw new Error(`missing helper ${HELPER}`);

  run('ip', ['netns', 'add', NS]);
  created.ns = true;
  run('ip', ['link', 'add', ROOT_IF, 'type', 'veth', 'peer', 'name', NS_IF, 'netns', NS]);
  created.link = true;
  // No address on the root side, not even an IPv6 link-local one.
  writeFileSync(`/proc/sys/net/ipv6/conf/${ROOT_IF}/disable_ipv6`, '1');
  const nsIp = (...a: string[]): string => run('ip', ['-n', NS, ...a]);
  nsIp('link', 'set', 'dev', NS_IF, 'address', NS_MAC);
  nsIp('link', 'set', 'dev', 'lo', 'up');
  nsIp('addr', 'add', `${NS_V4}/24`, 'dev', NS_IF);
  nsIp('addr', 'add', `${NS_V6}/64`, 'dev', NS_IF, 'nodad');
  // Static neighbours: the kernel can answer without resolving our fake MAC.
  nsIp('neigh', 'add', OUR_V4, 'lladdr', OUR_MAC, 'dev', NS_IF, 'nud', 'permanent');
  // Full checksums in the frames we read, not CHECKSUM_PARTIAL left for offload.
  run('ethtool', ['-K', ROOT_IF, 'tx', 'off']);
  run('ip', ['netns', 'exec', NS, 'ethtool', '-K', NS_IF, 'tx', 'off']);
  run('ip', ['link', 'set', 'dev', ROOT_IF, 'up']);
  nsIp('link', 'set', 'dev', NS_IF, 'up');
  nsIp('neigh', 'add', OUR_V6, 'lladdr', OUR_MAC, 'dev', NS_IF, 'nud', 'permanent');
  for (let i = 0; i < 50 && !nsIp('link', 'show', 'dev', NS_IF).includes('LOWER_UP'); i++) {
    spawnSync('sleep', ['0.1']);
  }
});

afterAll(() => {
  // Delete only what we created; each step on its own so one failure does not skip the rest.
  if (created.link) spawnSync('ip', ['link', 'del', ROOT_IF]);
  if (created.ns) spawnSync('ip', ['netns', 'del', NS]);
  expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toContain(NS);
});

function expectFromNs(p: Packet): void {
  expect(p.eth.src).toBe(NS_MAC);
  expect(p.eth.dst).toBe(OUR_MAC);
}

describe('the kernel answers frames we build', () => {
  it('ARP request -> ARP reply', () => {
    const p = reply({
      eth: { src: OUR_MAC, dst: 'ff:ff:ff:ff:ff:ff' },
      arp: { opcode: 1, senderMac: OUR_MAC, senderIp: OUR_V4, targetIp: NS_V4 },
    });
    expectFromNs(p);
    expect(p.arp).toEqual({
      hardwareType: 1,
      protocolType: 0x0800,
      opcode: 2,
      senderMac: NS_MAC,
      senderIp: NS_V4,
      targetMac: OUR_MAC,
      targetIp: OUR_V4,
    });
  });

  it('ICMP echo request -> echo reply (IPv4 header and ICMP checksums verify)', () => {
    const data = Uint8Array.from({ length: 56 }, (_, i) => i * 7);
    const p = reply({ ...toNs4, icmp: { type: 8, identifier: 0x4242, sequence: 1 }, payload: data });
    expectFromNs(p);
    expect(p.ipv4).toMatchObject({ src: NS_V4, dst: OUR_V4, protocol: IPPROTO.ICMP });
    expect(p.icmp).toMatchObject({ kind: 'echo-reply', code: 0, identifier: 0x4242, sequence: 1 });
    expect([...p.payload]).toEqual([...data]);
    expect(verifyIpv4Checksum(p.ipv4!.header)).toBe(true);
    expect(verifyIcmpChecksum(p.ipv4!.payload)).toBe(true);
    expect(verifyPacketChecksums(p)).toEqual({ ipv4: 'ok', transport: 'ok' });
  });

  it('ICMPv6 echo request -> echo reply (pseudo-header checksum verifies)', () => {
    const data = new TextEncoder().encode('dmzgate kernel check');
    const p = reply({ ...toNs6, icmpv6: { kind: 'echo-request', identifier: 0x0777, sequence: 5 }, payload: data });
    expectFromNs(p);
    expect(p.ipv6).toMatchObject({ src: NS_V6, dst: OUR_V6, protocol: IPPROTO.ICMPV6 });
    expect(p.icmpv6).toMatchObject({ kind: 'echo-reply', identifier: 0x0777, sequence: 5 });
    expect([...p.payload]).toEqual([...data]);
    expect(verifyTransportChecksum(ipv6ToBytes(NS_V6), ipv6ToBytes(OUR_V6), IPPROTO.ICMPV6, p.ipv6!.payload)).toBe(true);
  });

  it('neighbor solicitation with SLL -> solicited neighbor advertisement with TLL', () => {
    const p = reply({
      eth: { src: OUR_MAC, dst: '33:33:ff:00:00:01' },
      ipv6: { src: OUR_V6, dst: 'ff02::1:ff00:1', hopLimit: 255 },
      icmpv6: { kind: 'neighbor-solicitation', target: NS_V6, options: [{ kind: 'source-link-layer', mac: OUR_MAC }] },
    });
    expectFromNs(p);
    expect(p.ipv6?.hopLimit).toBe(255);
    expect(p.icmpv6).toMatchObject({
      kind: 'neighbor-advertisement',
      target: NS_V6,
      solicited: true,
      override: true,
      options: [{ kind: 'target-link-layer', mac: NS_MAC }],
    });
    expect(verifyPacketChecksums(p)).toEqual({ transport: 'ok' });
  });

  it('TCP SYN to a closed port over IPv4 -> RST/ACK', () => {
    const p = reply({ ...toNs4, tcp: { srcPort: 40123, dstPort: 9, seq: 0x11223344, flags: TCP_FLAG.SYN, options: hexOpts() } });
    expectFromNs(p);
    expect(p.tcp).toMatchObject({ srcPort: 9, dstPort: 40123, ack: 0x11223345, flags: TCP_FLAG.RST | TCP_FLAG.ACK });
    const h = p.ipv4!.header;
    expect(verifyTransportChecksum(h.subarray(12, 16), ipv4ToBytes(OUR_V4), IPPROTO.TCP, p.ipv4!.payload)).toBe(true);
    expect(verifyPacketChecksums(p)).toEqual({ ipv4: 'ok', transport: 'ok' });
  });

  it('TCP SYN over IPv6 behind Hop-by-Hop + atomic Fragment headers -> RST/ACK', () => {
    const p = reply({
      ...toNs6,
      ipv6: { ...toNs6.ipv6, extensions: [{ kind: 'hop-by-hop' }, { kind: 'fragment', offset: 0, more: false, identification: 0xabcdef01 }] },
      tcp: { srcPort: 40124, dstPort: 9, seq: 0xfffffffe, flags: TCP_FLAG.SYN, options: hexOpts() },
    });
    expectFromNs(p);
    expect(p.ipv6).toMatchObject({ src: NS_V6, dst: OUR_V6, protocol: IPPROTO.TCP });
    expect(p.tcp).toMatchObject({ srcPort: 9, dstPort: 40124, ack: 0xffffffff, flags: TCP_FLAG.RST | TCP_FLAG.ACK });
    expect(verifyPacketChecksums(p)).toEqual({ transport: 'ok' });
  });
});

describe('negative controls: the same frame with only its checksum wrong gets no answer', () => {
  const cases: [string, PacketSpec, PacketSpec][] = [
    [
      'ICMP checksum',
      { ...toNs4, icmp: { type: 8, identifier: 11, sequence: 1 } },
      { ...toNs4, icmp: { type: 8, identifier: 11, sequence: 1, checksum: 0xbad0 } },
    ],
    [
      'IPv4 header checksum',
      { ...toNs4, icmp: { type: 8, identifier: 12 } },
      { ...toNs4, ipv4: { ...toNs4.ipv4, checksum: 0xbad0 }, icmp: { type: 8, identifier: 12 } },
    ],
    [
      'TCP checksum',
      { ...toNs4, tcp: { srcPort: 40125, dstPort: 9, flags: TCP_FLAG.SYN } },
      { ...toNs4, tcp: { srcPort: 40125, dstPort: 9, flags: TCP_FLAG.SYN, checksum: 0xbad0 } },
    ],
    [
      'ICMPv6 checksum',
      { ...toNs6, icmpv6: { kind: 'echo-request', identifier: 13 } },
      { ...toNs6, icmpv6: { kind: 'echo-request', identifier: 13, checksum: 0xbad0 } },
    ],
    [
      'TCP/IPv6 checksum',
      { ...toNs6, tcp: { srcPort: 40126, dstPort: 9, flags: TCP_FLAG.SYN } },
      { ...toNs6, tcp: { srcPort: 40126, dstPort: 9, flags: TCP_FLAG.SYN, checksum: 0xbad0 } },
    ],
  ];
  it.each(cases)('%s', (_, good, bad) => {
    expect(exchange(buildPacket(bad), 1)).toBeUndefined();
    expect(verifyPacketChecksums(reply(good)).transport).toBe('ok');
  });
});

/** MSS 1460, SACK permitted, NOP, window scale 7. */
function hexOpts(): Uint8Array {
  return Uint8Array.from(Buffer.from('020405b4' + '0402' + '01' + '030307', 'hex'));
}
