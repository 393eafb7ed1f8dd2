// A model checker for histories of lease operations (create, extend, release), Jepsen-style: each key (a local
// port) is driven by one client, one operation at a time, so a linearizable store must end in the state the
// client's acknowledged operations lead to, plus at most its last operation if that one's outcome is unknown
// (the client stops using a key after an unknown outcome). Across keys: one active lease per port at most.

export type Outcome = 'ok' | 'fail' | 'unknown';

export interface LeaseOp {
  key: number;
  kind: 'create' | 'extend' | 'release';
  /** The lease: given by an acknowledged create, named by extend and release. */
  id?: number;
  /** The end asked for (extend) or given (an acknowledged create or extend), ISO. */
  end?: string;
  outcome: Outcome;
}

export interface FinalLease {
  id: number;
  port: number;
  state: string;
  end: string;
}

interface Model {
  id: number | undefined;
  active: boolean;
  end: string | undefined;
}

/** The violations of `ops` (in each key's client order) by `final` (every lease the store holds); none: linearizable. */
export function checkLeaseHistory(ops: readonly LeaseOp[], final: readonly FinalLease[]): string[] {
  const problems: string[] = [];
  const byKey = new Map<number, LeaseOp[]>();
  for (const op of ops) byKey.set(op.key, [...(byKey.get(op.key) ?? []), op]);
  const finalByPort = new Map<number, FinalLease[]>();
  for (const l of final) finalByPort.set(l.port, [...(finalByPort.get(l.port) ?? []), l]);

  for (const [port, leases] of finalByPort) {
    const active = leases.filter((l) => l.state === 'active');
    if (active.length > 1) problems.push(`port ${port}: ${active.length} active leases (${active.map((l) => l.id).join(', ')}): granted twice`);
  }

  for (const [key, list] of byKey) {
    const unknownAt = list.findIndex((o) => o.outcome === 'unknown');
    if (unknownAt !== -1 && unknownAt !== list.length - 1) {
      problems.push(`key ${key}: the client went on after an unknown outcome (a bug of the test's client)`);
      continue;
    }
    const acked = new Set<number>();
    let m: Model = { id: undefined, active: false, end: undefined };
    for (const op of list) {
      if (op.outcome !== 'ok') continue;
      m = apply(m, op);
      if (op.kind === 'create') acked.add(op.id!);
    }
    const last = list.at(-1);
    const unknown = last?.outcome === 'unknown' ? last : undefined;
    const here = finalByPort.get(key) ?? [];
    for (const id of acked) if (!here.some((l) => l.id === id)) problems.push(`key ${key}: acknowledged lease ${id} is gone`);
    const strangers = here.filter((l) => !acked.has(l.id));
    if (strangers.length > (unknown?.kind === 'create' ? 1 : 0))
      problems.push(`key ${key}: leases ${strangers.map((l) => l.id).join(', ')} no acknowledged create (nor one unknown) made`);
    const candidates: { model: Model; stranger: boolean }[] = [{ model: m, stranger: false }];
    if (unknown) candidates.push({ model: apply(m, unknown), stranger: unknown.kind === 'create' });
    if (!candidates.some((c) => matches(c.model, c.stranger, here, acked)))
      problems.push(
        `key ${key}: final ${JSON.stringify(here.map((l) => ({ id: l.id, state: l.state, end: l.end })))} is none of ${JSON.stringify(candidates.map((c) => c.model))}`,
      );
  }
  return problems;
}

function apply(m: Model, op: LeaseOp): Model {
  switch (op.kind) {
    case 'create':
      return { id: op.id, active: true, end: op.end };
    case 'extend':
      return { ...m, end: op.end };
    case 'release':
      return { ...m, active: false };
  }
}

/** Whether the port's final leases are what `m` says: its lease active with its end, or not active; a stranger (the unknown create) the active one. */
function matches(m: Model, stranger: boolean, here: readonly FinalLease[], acked: ReadonlySet<number>): boolean {
  const active = here.filter((l) => l.state === 'active');
  if (stranger) return active.length === 1 && !acked.has(active[0]!.id);
  if (!m.active) return active.length === 0 && !here.some((l) => !acked.has(l.id));
  return active.length === 1 && active[0]!.id === m.id && active[0]!.end === m.end;
}
