// bench:codec's floor: the least work that folds the same checksum from the same inputs as each case, straight
// from the bytes at the offsets these inputs have (no message objects, no address text). No codec can do less, so
// dmzgate / floor says how close the codec comes to touching the bytes it must, on this machine, today.
//
// Each floor's fold must equal the codec's one-pass fold (bench/codec.ts checks that): it reads the same fields.

/** ofp_match's length at `p` (OF1.3.5 §7.2.2), padded to 8 as it is on the wire. */
const paddedMatch = (b: Buffer, p: number) => (b.readUInt16BE(p + 2) + 7) & ~7;

/**
 * Packet-ins: total_len, the frame's length, in_port (the match's first OXM), the length of the MAC's text (always
 * 17) and the last character of the IPv4 source's text (the last decimal digit of its last byte).
 */
export function floorPacketIns(set: Buffer[]): (n: number) => number {
  let k = 0;
  const mask = set.length - 1;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const b = set[k++ & mask]!;
      const m = 24; // header (8), buffer_id, total_len, reason, table_id, cookie (16)
      const mlen = paddedMatch(b, m);
      const dataLen = b.length - (m + mlen + 2);
      const inPort = b.readUInt32BE(m + 8); // OXM in_port: header (4), value
      const lastOctet = b[m + 4 + 8 + 10 + 4 + 3]!; // after in_port (8) and eth_dst (10), ipv4_src's fourth byte
      s = (s + b.readUInt16BE(12) + dataLen + inPort + 17 + 48 + (lastOctet % 10)) | 0;
    }
    return s;
  };
}

/** Flow-mods: the encoded bytes copied into one reused buffer; the fold is the length plus the last byte. */
export function floorFlowMods(set: Buffer[]): (n: number) => number {
  const out = Buffer.alloc(256);
  let k = 0;
  const mask = set.length - 1;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const b = set[k++ & mask]!;
      const len = b.copy(out, 0);
      s = (s + len + out[len - 1]!) | 0;
    }
    return s;
  };
}

/** Flow-stats replies: each entry's priority and its first instruction's first action's port (an output). */
export function floorFlowStats(set: Buffer[]): (n: number) => number {
  let k = 0;
  const mask = set.length - 1;
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const b = set[k++ & mask]!;
      for (let p = 16; p < b.length; p += b.readUInt16BE(p)) {
        // header (8) + multipart header (8)
        const inst = p + 48 + paddedMatch(b, p + 48); // ofp_flow_stats' fixed part is 48 bytes
        s = (s + b.readUInt16BE(p + 12) + b.readUInt32BE(inst + 8 + 4)) | 0; // apply-actions (8), output: type, len, port
      }
    }
    return s;
  };
}
