// Port ranges as masked matches. OpenFlow matches an L4 port exactly or under a bit mask (OVS accepts masks on
// tcp/udp ports in OF1.3), so a range [lo, hi] becomes the set of aligned power-of-two blocks that tile it: the
// same decomposition as a CIDR range into prefixes. It is minimal among prefix matches (each block is maximal:
// one bit larger would cross the range's edge or misalign), at most 2*16-2 = 30 entries for a 16-bit field.

export interface PortRange {
  lo: number;
  hi: number;
}

export interface MaskedPort {
  value: number;
  /** Mask over 16 bits; 0xffff means an exact port. */
  mask: number;
}

export function parsePortRange(text: string): PortRange {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text.trim());
  if (!m) throw new Error(`invalid port range ${JSON.stringify(text)}: expected PORT or LO-HI`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo > 65535 || hi > 65535) throw new Error(`invalid port range ${text}: ports are 0-65535`);
  if (lo > hi) throw new Error(`invalid port range ${text}: ${lo} > ${hi}`);
  return { lo, hi };
}

export function formatPortRange(r: PortRange): string {
  return r.lo === r.hi ? String(r.lo) : `${r.lo}-${r.hi}`;
}

/** The minimal set of (value, mask) prefix blocks whose union is exactly [lo, hi]. */
export function compilePortRange({ lo, hi }: PortRange): MaskedPort[] {
  const out: MaskedPort[] = [];
  let start = lo;
  while (start <= hi) {
    // The largest block aligned at `start` that does not pass `hi`.
    let size = start === 0 ? 0x10000 : start & -start;
    while (start + size - 1 > hi) size >>>= 1;
    out.push({ value: start, mask: (0xffff & ~(size - 1)) >>> 0 });
    start += size;
  }
  return out;
}

/** True when `inner` lies inside `outer`. */
export function rangeWithin(inner: PortRange, outer: PortRange): boolean {
  return inner.lo >= outer.lo && inner.hi <= outer.hi;
}

export function rangesOverlap(a: PortRange, b: PortRange): boolean {
  return a.lo <= b.hi && b.lo <= a.hi;
}
