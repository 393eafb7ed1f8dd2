// The etcd store's group commit (api/state/etcd-txn-group.ts): what several batches leave, as one transaction
// etcd takes (no key touched twice, no put inside a range delete), within the operation and byte limits.
import { describe, expect, it } from 'vitest';
import { TxnGroup, type QueuedBatch } from '../../../api/state/etcd-txn-group.js';

let seq = 0;
const batch = (b: { puts?: [string, string][]; deletes?: string[]; ranges?: [string, string][] }): QueuedBatch => {
  seq++;
  return {
    seq,
    entry: JSON.stringify({ seq }),
    meta: `m${seq}`,
    puts: new Map(b.puts ?? []),
    deletes: b.deletes ?? [],
    ranges: new Map(b.ranges ?? []),
  };
};

describe('TxnGroup', () => {
  it('keeps the last put of a key, lets a later delete drop an earlier put and a later put undo an earlier delete', () => {
    const g = new TxnGroup();
    g.add(
      batch({
        puts: [
          ['l/1', 'a'],
          ['l/2', 'x'],
        ],
      }),
    );
    g.add(batch({ puts: [['l/1', 'b']], deletes: ['l/2', 'l/3'] }));
    g.add(batch({ puts: [['l/3', 'c']] }));
    expect([...g.puts]).toEqual([
      ['l/1', 'b'],
      ['l/3', 'c'],
    ]);
    expect([...g.deletes]).toEqual(['l/2']);
    expect(g.meta).toBe(`m${seq}`);
    expect(g.lastSeq).toBe(seq);
    expect(JSON.parse(g.value('w'))).toEqual({ writer: 'w', batches: [{ seq: seq - 2 }, { seq: seq - 1 }, { seq }] });
  });

  it('a range delete drops the earlier puts it covers and keeps the widest range; a later put inside it waits for the next group', () => {
    const g = new TxnGroup();
    g.add(
      batch({
        puts: [
          ['e/03', '3'],
          ['e/05', '5'],
        ],
      }),
    );
    g.add(batch({ puts: [['e/06', '6']], ranges: [['e/00', 'e/04']] }));
    g.add(batch({ puts: [['e/07', '7']], ranges: [['e/00', 'e/02']] }));
    expect([...g.puts.keys()]).toEqual(['e/05', 'e/06', 'e/07']);
    expect([...g.ranges]).toEqual([['e/00', 'e/04']]);
    expect(g.fits(batch({ puts: [['e/01', 'late']] }), 128, 1e6)).toBe(false);
    expect(g.fits(batch({ puts: [['e/08', '8']] }), 128, 1e6)).toBe(true);
  });

  it('stays within the operations (meta and batch counted) and bytes allowed; the first batch always joins', () => {
    const g = new TxnGroup();
    const three = (): QueuedBatch =>
      batch({
        puts: [
          ['a', '1'],
          ['b', '2'],
          ['c', '3'],
        ],
      });
    expect(g.fits(batch({ puts: [['big', 'x'.repeat(100)]] }), 1, 10)).toBe(true);
    const h = new TxnGroup();
    h.add(three());
    expect(h.fits(three(), 8, 1e6)).toBe(true); // 3 + 3 + 2
    h.add(three());
    expect(h.fits(three(), 8, 1e6)).toBe(false);
    expect(h.size).toBe(2);
    const k = new TxnGroup();
    k.add(batch({ puts: [['a', 'x'.repeat(50)]] }));
    expect(k.fits(batch({ puts: [['b', 'x'.repeat(50)]] }), 128, 100)).toBe(false);
  });
});
