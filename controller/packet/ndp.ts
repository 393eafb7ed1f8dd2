/**
 * IPv6 Neighbor Discovery (RFC 4861): Router/Neighbor Solicitation and
 * Advertisement, Redirect, and their options. These are ICMPv6 messages;
 * icmpv6.ts dispatches here by type and owns the checksum.
 *
 * Validity rules that depend on the IP layer (hop limit 255, §7.1.1) are the
 * caller's to enforce; this module only decodes.
 */
import { ipv6ToString, macToString, writeIpv6, writeMac } from './addr.js';
import { checkUint, get16, get32, get8, put16, put32 } from './bytes.js';
import { PacketError, needBytes } from './errors.js';

export const NDP_TYPE = { RS: 133, RA: 134, NS: 135, NA: 136, REDIRECT: 137 } as const;

export type NdpOption =
  | { kind: 'source-link-layer' | 'target-link-layer'; mac: string }
  | {
      kind: 'prefix-information';
      prefixLength: number;
      onLink: boolean;
      autonomous: boolean;
      validLifetime: number;
      preferredLifetime: number;
      prefix: string;
    }
  | { kind: 'mtu'; mtu: number }
  /** Any other option (and link-layer options not 6 bytes long): bytes after type and length. */
  | { kind: 'unknown'; type: number; data: Uint8Array };

interface Base {
  type: number;
  code: number;
  checksum: number;
  options: NdpOption[];
}

export type NdpMessage =
  | (Base & { kind: 'router-solicitation' })
  | (Base & {
      kind: 'router-advertisement';
      curHopLimit: number;
      managed: boolean;
      other: boolean;
      routerLifetime: number;
      reachableTime: number;
      retransTimer: number;
    })
  | (Base & { kind: 'neighbor-solicitation'; target: string })
  | (Base & { kind: 'neighbor-advertisement'; router: boolean; solicited: boolean; override: boolean; target: string })
  | (Base & { kind: 'redirect'; target: string; destination: string });

/** What to build; `options` are written in order. */
export type NdpSpec =
  | { kind: 'router-solicitation'; options?: NdpOption[] }
  | {
      kind: 'router-advertisement';
      curHopLimit?: number;
      managed?: boolean;
      other?: boolean;
      routerLifetime?: number;
      reachableTime?: number;
      retransTimer?: number;
      options?: NdpOption[];
    }
  | { kind: 'neighbor-solicitation'; target: string; options?: NdpOption[] }
  | {
      kind: 'neighbor-advertisement';
      target: string;
      router?: boolean;
      solicited?: boolean;
      override?: boolean;
      options?: NdpOption[];
    }
  | { kind: 'redirect'; target: string; destination: string; options?: NdpOption[] };

/** Fixed message length (ICMPv6 header included) before the options, by type (RFC 4861 §4.1-4.5). */
export const NDP_FIXED_LENGTH: Record<number, number> = { 133: 8, 134: 16, 135: 24, 136: 24, 137: 40 };
const TYPE_OF = {
  'router-solicitation': 133,
  'router-advertisement': 134,
  'neighbor-solicitation': 135,
  'neighbor-advertisement': 136,
  redirect: 137,
} as const;

export function isNdpType(type: number): boolean {
  return type >= NDP_TYPE.RS && type <= NDP_TYPE.REDIRECT;
}

function fixedLength(type: number): number {
  const n = NDP_FIXED_LENGTH[type];
  if (n === undefined) throw new PacketError('BAD_VALUE', 'ndp', `ICMPv6 type ${type} is not a Neighbor Discovery message`);
  return n;
}

/** Parses an ND message whose ICMPv6 type is 133..137; `cut` as in parseIcmpv6. */
export function parseNdp(b: Uint8Array, cut: boolean): NdpMessage {
  const type = get8(b, 0);
  const fixed = fixedLength(type);
  needBytes(b.length, fixed, 'ndp', 'fixed fields');
  const code = get8(b, 1);
  const checksum = get16(b, 2);
  const options = parseNdpOptions(b, fixed, cut);
  switch (type) {
    case NDP_TYPE.RS:
      return { kind: 'router-solicitation', type, code, checksum, options };
    case NDP_TYPE.RA:
      return {
        kind: 'router-advertisement',
        type,
        code,
        checksum,
        options,
        curHopLimit: get8(b, 4),
        managed: (get8(b, 5) & 0x80) !== 0,
        other: (get8(b, 5) & 0x40) !== 0,
        routerLifetime: get16(b, 6),
        reachableTime: get32(b, 8),
        retransTimer: get32(b, 12),
      };
    case NDP_TYPE.NS:
      return { kind: 'neighbor-solicitation', type, code, checksum, options, target: ipv6ToString(b, 8) };
    case NDP_TYPE.NA:
      return {
        kind: 'neighbor-advertisement',
        type,
        code,
        checksum,
        options,
        router: (get8(b, 4) & 0x80) !== 0,
        solicited: (get8(b, 4) & 0x40) !== 0,
        override: (get8(b, 4) & 0x20) !== 0,
        target: ipv6ToString(b, 8),
      };
    default:
      return { kind: 'redirect', type, code, checksum, options, target: ipv6ToString(b, 8), destination: ipv6ToString(b, 24) };
  }
}

/**
 * RFC 4861 §4.6: options are type, length (in units of 8 octets, covering
 * type and length), value. Length 0 is invalid ("MUST silently discard") and
 * would also loop forever, so it is BAD_LENGTH. When the message was cut by
 * capture, a partial last option ends the list instead of failing.
 */
export function parseNdpOptions(b: Uint8Array, i: number, cut: boolean): NdpOption[] {
  const out: NdpOption[] = [];
  while (i < b.length) {
    if (i + 2 > b.length) {
      if (cut) break;
      throw new PacketError('BAD_LENGTH', 'ndp', 'trailing byte after options');
    }
    const type = get8(b, i);
    const len = get8(b, i + 1) * 8;
    if (len === 0) throw new PacketError('BAD_LENGTH', 'ndp', `option ${type} has length 0`);
    if (i + len > b.length) {
      if (cut) break;
      throw new PacketError('BAD_LENGTH', 'ndp', `option ${type} overruns the message`);
    }
    if ((type === 1 || type === 2) && len === 8) {
      out.push({ kind: type === 1 ? 'source-link-layer' : 'target-link-layer', mac: macToString(b, i + 2) });
    } else if (type === 3 && len === 32) {
      out.push({
        kind: 'prefix-information',
        prefixLength: get8(b, i + 2),
        onLink: (get8(b, i + 3) & 0x80) !== 0,
        autonomous: (get8(b, i + 3) & 0x40) !== 0,
        validLifetime: get32(b, i + 4),
        preferredLifetime: get32(b, i + 8),
        prefix: ipv6ToString(b, i + 16),
      });
    } else if (type === 5 && len === 8) {
      out.push({ kind: 'mtu', mtu: get32(b, i + 4) });
    } else {
      out.push({ kind: 'unknown', type, data: b.subarray(i + 2, i + len) });
    }
    i += len;
  }
  return out;
}

function optionLength(o: NdpOption): number {
  switch (o.kind) {
    case 'source-link-layer':
    case 'target-link-layer':
    case 'mtu':
      return 8;
    case 'prefix-information':
      return 32;
    case 'unknown':
      return Math.ceil((2 + o.data.length) / 8) * 8;
  }
}

export function ndpLength(spec: NdpSpec): number {
  let n = fixedLength(TYPE_OF[spec.kind]);
  for (const o of spec.options ?? []) n += optionLength(o);
  return n;
}

/** Writes the whole ND message with a zero checksum; returns the end offset. */
export function writeNdp(out: Uint8Array, off: number, spec: NdpSpec, code: number): number {
  const type = TYPE_OF[spec.kind];
  const fixed = fixedLength(type);
  out.fill(0, off, off + fixed); // reserved fields are zero (RFC 4861 §4)
  out[off] = type;
  out[off + 1] = code;
  if (spec.kind === 'router-advertisement') {
    out[off + 4] = checkUint(spec.curHopLimit ?? 64, 255, 'ndp', 'curHopLimit');
    out[off + 5] = (spec.managed ? 0x80 : 0) | (spec.other ? 0x40 : 0);
    put16(out, off + 6, checkUint(spec.routerLifetime ?? 1800, 0xffff, 'ndp', 'routerLifetime'));
    put32(out, off + 8, checkUint(spec.reachableTime ?? 0, 0xffffffff, 'ndp', 'reachableTime'));
    put32(out, off + 12, checkUint(spec.retransTimer ?? 0, 0xffffffff, 'ndp', 'retransTimer'));
  } else if (spec.kind !== 'router-solicitation') {
    if (spec.kind === 'neighbor-advertisement') {
      out[off + 4] = (spec.router ? 0x80 : 0) | (spec.solicited ? 0x40 : 0) | (spec.override ? 0x20 : 0);
    }
    writeIpv6(out, off + 8, spec.target);
    if (spec.kind === 'redirect') writeIpv6(out, off + 24, spec.destination);
  }
  let i = off + fixed;
  for (const o of spec.options ?? []) i = writeOption(out, i, o);
  return i;
}

function writeOption(out: Uint8Array, i: number, o: NdpOption): number {
  const len = optionLength(o);
  out.fill(0, i, i + len);
  out[i + 1] = len / 8;
  switch (o.kind) {
    case 'source-link-layer':
    case 'target-link-layer':
      out[i] = o.kind === 'source-link-layer' ? 1 : 2;
      writeMac(out, i + 2, o.mac);
      break;
    case 'prefix-information':
      out[i] = 3;
      out[i + 2] = checkUint(o.prefixLength, 128, 'ndp', 'prefixLength');
      out[i + 3] = (o.onLink ? 0x80 : 0) | (o.autonomous ? 0x40 : 0);
      put32(out, i + 4, checkUint(o.validLifetime, 0xffffffff, 'ndp', 'validLifetime'));
      put32(out, i + 8, checkUint(o.preferredLifetime, 0xffffffff, 'ndp', 'preferredLifetime'));
      writeIpv6(out, i + 16, o.prefix);
      break;
    case 'mtu':
      out[i] = 5;
      put32(out, i + 4, checkUint(o.mtu, 0xffffffff, 'ndp', 'mtu'));
      break;
    case 'unknown':
      out[i] = checkUint(o.type, 255, 'ndp', 'option type');
      checkUint(len / 8, 255, 'ndp', 'option length');
      out.set(o.data, i + 2);
      break;
  }
  return i + len;
}
