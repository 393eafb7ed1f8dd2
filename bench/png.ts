// A tiny raster canvas and PNG writer for benchmark plots: RGBA pixels, anti-aliasing by supersampled discs for
// thick lines, a 5x7 bitmap font (upper case, digits, some punctuation), and a PNG encoder (RFC 2083: IHDR, one
// zlib IDAT of unfiltered scanlines, IEND, each chunk with its CRC-32). No dependency beyond node:zlib.
import { deflateSync } from 'node:zlib';

export type Rgba = readonly [number, number, number, number?];

export class Canvas {
  readonly px: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    bg: Rgba = [255, 255, 255],
  ) {
    this.px = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) this.px.set([bg[0], bg[1], bg[2], bg[3] ?? 255], i * 4);
  }

  /** Blends a colour into one pixel with coverage a (0..1). */
  blend(x: number, y: number, c: Rgba, a = 1): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 4;
    const alpha = a * ((c[3] ?? 255) / 255);
    for (let k = 0; k < 3; k++) this.px[i + k] = Math.round(this.px[i + k]! * (1 - alpha) + c[k]! * alpha);
    this.px[i + 3] = 255;
  }

  rect(x0: number, y0: number, w: number, h: number, c: Rgba): void {
    for (let y = Math.round(y0); y < Math.round(y0 + h); y++) for (let x = Math.round(x0); x < Math.round(x0 + w); x++) this.blend(x, y, c);
  }

  /** A filled disc with a soft (anti-aliased) edge. */
  disc(cx: number, cy: number, r: number, c: Rgba): void {
    for (let y = Math.floor(cy - r - 1); y <= Math.ceil(cy + r + 1); y++) {
      for (let x = Math.floor(cx - r - 1); x <= Math.ceil(cx + r + 1); x++) {
        const d = Math.hypot(x - cx, y - cy);
        const cover = Math.max(0, Math.min(1, r + 0.5 - d));
        if (cover > 0) this.blend(x, y, c, cover);
      }
    }
  }

  /** A line of the given width; dash = [on, off] in pixels for a dashed one. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgba, width = 1, dash?: [number, number]): void {
    const len = Math.hypot(x1 - x0, y1 - y0);
    const steps = Math.max(1, Math.ceil(len * 2));
    for (let i = 0; i <= steps; i++) {
      const t = i / steps;
      if (dash && (t * len) % (dash[0] + dash[1]) > dash[0]) continue;
      const x = x0 + (x1 - x0) * t;
      const y = y0 + (y1 - y0) * t;
      if (width <= 1) this.blend(x, y, c);
      else this.stamp(x, y, width / 2, c);
    }
  }

  /** Connected line segments; a dash pattern runs on across the joints. */
  polyline(pts: readonly (readonly [number, number])[], c: Rgba, width = 1, dash?: [number, number]): void {
    let along = 0;
    for (let i = 1; i < pts.length; i++) {
      const [x0, y0] = pts[i - 1]!;
      const [x1, y1] = pts[i]!;
      const len = Math.hypot(x1 - x0, y1 - y0);
      const steps = Math.max(1, Math.ceil(len * 2));
      for (let k = 0; k <= steps; k++) {
        const t = k / steps;
        if (dash && (along + t * len) % (dash[0] + dash[1]) > dash[0]) continue;
        const x = x0 + (x1 - x0) * t;
        const y = y0 + (y1 - y0) * t;
        if (width <= 1) this.blend(x, y, c);
        else this.stamp(x, y, width / 2, c);
      }
      along += len;
    }
  }

  /** Like disc, but never darker than full coverage where stamps overlap (lines are drawn as many stamps). */
  private stamp(cx: number, cy: number, r: number, c: Rgba): void {
    for (let y = Math.floor(cy - r - 1); y <= Math.ceil(cy + r + 1); y++) {
      for (let x = Math.floor(cx - r - 1); x <= Math.ceil(cx + r + 1); x++) {
        if (Math.hypot(x - cx, y - cy) <= r + 0.25) this.blend(x, y, c);
      }
    }
  }

  /** Text in the 5x7 font, scale pixels per font pixel; x, y the top left. Returns the width drawn. */
  text(x: number, y: number, s: string, c: Rgba, scale = 2): number {
    let cx = x;
    for (const ch of s.toUpperCase()) {
      const g = FONT[ch] ?? FONT['?']!;
      for (let row = 0; row < 7; row++) {
        for (let col = 0; col < 5; col++) {
          if (g[row]![col] === '#') this.rect(cx + col * scale, y + row * scale, scale, scale, c);
        }
      }
      cx += 6 * scale;
    }
    return cx - x;
  }

  static textWidth(s: string, scale = 2): number {
    return s.length * 6 * scale - scale;
  }

  png(): Buffer {
    const raw = Buffer.alloc((this.width * 4 + 1) * this.height);
    for (let y = 0; y < this.height; y++) {
      raw[y * (this.width * 4 + 1)] = 0; // filter: none
      raw.set(this.px.subarray(y * this.width * 4, (y + 1) * this.width * 4), y * (this.width * 4 + 1) + 1);
    }
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(this.width, 0);
    ihdr.writeUInt32BE(this.height, 4);
    ihdr.set([8, 6, 0, 0, 0], 8); // 8 bits per sample, RGBA, deflate, no filter method variants, no interlace
    return Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', deflateSync(raw, { level: 9 })),
      chunk('IEND', Buffer.alloc(0)),
    ]);
  }
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

// 5x7 glyphs, top row first.
const G = (...rows: string[]): string[] => rows;
const FONT: Record<string, string[]> = {
  ' ': G('.....', '.....', '.....', '.....', '.....', '.....', '.....'),
  '0': G('.###.', '#...#', '#..##', '#.#.#', '##..#', '#...#', '.###.'),
  '1': G('..#..', '.##..', '..#..', '..#..', '..#..', '..#..', '.###.'),
  '2': G('.###.', '#...#', '....#', '...#.', '..#..', '.#...', '#####'),
  '3': G('#####', '...#.', '..#..', '...#.', '....#', '#...#', '.###.'),
  '4': G('...#.', '..##.', '.#.#.', '#..#.', '#####', '...#.', '...#.'),
  '5': G('#####', '#....', '####.', '....#', '....#', '#...#', '.###.'),
  '6': G('..##.', '.#...', '#....', '####.', '#...#', '#...#', '.###.'),
  '7': G('#####', '....#', '...#.', '..#..', '.#...', '.#...', '.#...'),
  '8': G('.###.', '#...#', '#...#', '.###.', '#...#', '#...#', '.###.'),
  '9': G('.###.', '#...#', '#...#', '.####', '....#', '...#.', '.##..'),
  A: G('.###.', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'),
  B: G('####.', '#...#', '#...#', '####.', '#...#', '#...#', '####.'),
  C: G('.###.', '#...#', '#....', '#....', '#....', '#...#', '.###.'),
  D: G('###..', '#..#.', '#...#', '#...#', '#...#', '#..#.', '###..'),
  E: G('#####', '#....', '#....', '####.', '#....', '#....', '#####'),
  F: G('#####', '#....', '#....', '####.', '#....', '#....', '#....'),
  G: G('.###.', '#...#', '#....', '#.###', '#...#', '#...#', '.####'),
  H: G('#...#', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'),
  I: G('.###.', '..#..', '..#..', '..#..', '..#..', '..#..', '.###.'),
  J: G('..###', '...#.', '...#.', '...#.', '...#.', '#..#.', '.##..'),
  K: G('#...#', '#..#.', '#.#..', '##...', '#.#..', '#..#.', '#...#'),
  L: G('#....', '#....', '#....', '#....', '#....', '#....', '#####'),
  M: G('#...#', '##.##', '#.#.#', '#.#.#', '#...#', '#...#', '#...#'),
  N: G('#...#', '#...#', '##..#', '#.#.#', '#..##', '#...#', '#...#'),
  O: G('.###.', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'),
  P: G('####.', '#...#', '#...#', '####.', '#....', '#....', '#....'),
  Q: G('.###.', '#...#', '#...#', '#...#', '#.#.#', '#..#.', '.##.#'),
  R: G('####.', '#...#', '#...#', '####.', '#.#..', '#..#.', '#...#'),
  S: G('.####', '#....', '#....', '.###.', '....#', '....#', '####.'),
  T: G('#####', '..#..', '..#..', '..#..', '..#..', '..#..', '..#..'),
  U: G('#...#', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'),
  V: G('#...#', '#...#', '#...#', '#...#', '#...#', '.#.#.', '..#..'),
  W: G('#...#', '#...#', '#...#', '#.#.#', '#.#.#', '#.#.#', '.#.#.'),
  X: G('#...#', '#...#', '.#.#.', '..#..', '.#.#.', '#...#', '#...#'),
  Y: G('#...#', '#...#', '.#.#.', '..#..', '..#..', '..#..', '..#..'),
  Z: G('#####', '....#', '...#.', '..#..', '.#...', '#....', '#####'),
  '.': G('.....', '.....', '.....', '.....', '.....', '.##..', '.##..'),
  ',': G('.....', '.....', '.....', '.....', '.##..', '..#..', '.#...'),
  ':': G('.....', '.##..', '.##..', '.....', '.##..', '.##..', '.....'),
  '-': G('.....', '.....', '.....', '#####', '.....', '.....', '.....'),
  '+': G('.....', '..#..', '..#..', '#####', '..#..', '..#..', '.....'),
  '/': G('.....', '....#', '...#.', '..#..', '.#...', '#....', '.....'),
  '(': G('...#.', '..#..', '.#...', '.#...', '.#...', '..#..', '...#.'),
  ')': G('.#...', '..#..', '...#.', '...#.', '...#.', '..#..', '.#...'),
  '=': G('.....', '.....', '#####', '.....', '#####', '.....', '.....'),
  '%': G('##...', '##..#', '...#.', '..#..', '.#...', '#..##', '...##'),
  '?': G('.###.', '#...#', '....#', '...#.', '..#..', '.....', '..#..'),
  '*': G('.....', '..#..', '#.#.#', '.###.', '#.#.#', '..#..', '.....'),
  '<': G('...#.', '..#..', '.#...', '#....', '.#...', '..#..', '...#.'),
  '>': G('.#...', '..#..', '...#.', '....#', '...#.', '..#..', '.#...'),
  "'": G('..#..', '..#..', '.#...', '.....', '.....', '.....', '.....'),
  _: G('.....', '.....', '.....', '.....', '.....', '.....', '#####'),
};
