// A lookup table from names to values for the encoders' hot paths (OXM field names in every match TLV, message
// type names in every encodeInto).
//
// This table picks a short bucket (at most five names of the OXM table) by the name's length and last character,
// two reads that need no hashing, then compares with `===`, which for the usual case of the very same string (a
// literal in the caller's code, or a name the decoder put there) is a pointer comparison. Measured on Node 20 over
// the flow-mod's seven field names, literal or parsed from JSON: 10-15 ns a lookup in a loop against 12-18 ns for
// Map.get, a few percent of a flow-mod's encoding.

interface Entry<V> {
  readonly name: string;
  readonly value: V;
}

const LENGTHS = 64;

export class NameTable<V> {
  private readonly buckets: Entry<V>[][] = Array.from({ length: LENGTHS * 128 }, () => []);

  constructor(entries: Iterable<readonly [string, V]> = []) {
    for (const [name, value] of entries) this.add(name, value);
  }

  /** Adds a name; a name added twice is a programming error. */
  add(name: string, value: V): void {
    if (this.get(name) !== undefined) throw new Error(`NameTable: duplicate name ${name}`);
    const bucket = this.bucketOf(name);
    if (bucket === undefined) throw new Error(`NameTable: name ${JSON.stringify(name)} is empty or too long`);
    bucket.push({ name, value });
  }

  get(name: string): V | undefined {
    if (typeof name !== 'string') return undefined;
    const bucket = this.bucketOf(name);
    if (bucket === undefined) return undefined;
    for (let i = 0; i < bucket.length; i++) {
      const e = bucket[i]!;
      if (e.name === name) return e.value;
    }
    return undefined;
  }

  private bucketOf(name: string): Entry<V>[] | undefined {
    const n = name.length;
    if (n === 0 || n >= LENGTHS) return undefined;
    return this.buckets[(n << 7) | (name.charCodeAt(n - 1) & 0x7f)];
  }
}
