// The DMZ app's blocks at run time: the core decides a block and its end (block, unblock, expire), and this runs
// the plans' flows on every site switch, keeps the book's records and the blocks' end timers, and announces them.
import type { Clock } from '../../controller/clock.js';
import type { Logger } from '../../controller/log.js';
import { LeaseRefused } from './pipeline.js';
import type { LeaseBook, BlockRecord } from './lease-book.js';
import type { Site, SiteSwitch } from './site.js';
import type { PlanRunner } from './plan-runner.js';
import { DeadlineTimer } from './deadline-timer.js';
import type { Block } from './model.js';
import { decide } from './core/decide.js';
import { SYSTEM, type Actor } from './core/commands.js';
import { blockOf, ruleKey } from './core/state.js';
import { withRules } from './core/leases.js';
import type { Plan } from './core/plan.js';
import { parsePrefix } from './addresses.js';
import type { CoreCell } from './core-cell.js';
import type { DmzEvent, Done } from './dmz-app-shapes.js';
import { blockRecordIn, refusalOf } from './plan-records.js';

export interface BlockShellDeps {
  cell: CoreCell;
  site: () => Site;
  runner: PlanRunner;
  book: LeaseBook;
  clock: Clock;
  /** What the end timers count on (a monotonic clock: a wall clock may step). */
  timers: Clock;
  log: Logger;
  /** Throws when a switch's reported table is too small for `flows` more (a live fact the core does not hold). */
  checkTableSize: (sw: SiteSwitch, flows: number) => void;
  /** Sets or cancels the rule ends a plan names. */
  applyTimers: (timers: Plan['timers'], now: number) => void;
  emit: (e: DmzEvent) => void;
}

export class BlockShell {
  /** Block ends (a block may last a year: far beyond what one Node timer can wait). */
  readonly ends: DeadlineTimer;

  constructor(private readonly d: BlockShellDeps) {
    this.ends = new DeadlineTimer((id) => this.ended(id), d.timers);
  }

  /** Installs a block on every site switch (atomically per switch) and records it (decide(): block). */
  async create(b: Omit<Block, 'id' | 'start'>, by: Actor): Promise<Done<BlockRecord>> {
    const { cell, log } = this.d;
    const now = this.d.clock.now();
    const spec = {
      prefix: parsePrefix(b.prefix),
      reason: b.reason,
      ...(b.protocol !== undefined ? { protocol: b.protocol } : {}),
      ...(b.ports !== undefined ? { ports: b.ports } : {}),
      ...(b.end !== undefined ? { end: b.end } : {}),
      ...(b.project !== undefined ? { project: b.project } : {}),
      ...(b.createdBy !== undefined ? { createdBy: b.createdBy } : {}),
    };
    const { state, plan } = decide(cell.state, { type: 'block', by, block: spec }, now);
    const id = cell.state.nextId.block;
    const rule = blockOf(state, id);
    if (plan.refused || !rule) throw refusalOf(plan);
    for (const sw of this.d.site().switches) this.d.checkTableSize(sw, rule.flows);
    cell.state = state;
    try {
      await this.d.runner.applyFlows(plan);
    } catch (e) {
      cell.state = withRules(cell.state, (rules) => rules.delete(ruleKey('block', id)));
      throw e;
    }
    const rec = this.d.book.addBlock(blockRecordIn(plan));
    this.d.applyTimers(plan.timers, now);
    log.info({ block: rec.id, prefix: rec.prefix, reason: rec.reason }, 'block installed');
    this.d.emit({ type: 'block.created', block: rec });
    return { record: rec, audit: plan.audit };
  }

  /** Removes an active block (decide(): unblock, or expire when its end has come). */
  async end(id: number, state: 'removed' | 'expired', by: Actor): Promise<Done<BlockRecord>> {
    const { cell } = this.d;
    const rec = this.d.book.blocks.get(id);
    const rule = blockOf(cell.state, id);
    if (!rec || rec.state !== 'active' || !rule) throw new LeaseRefused('not-found', `no active block ${id}`);
    const now = this.d.clock.now();
    const cmd = state === 'expired' ? ({ type: 'expire', kind: 'block', id } as const) : ({ type: 'unblock', by, id } as const);
    const decided = decide(cell.state, cmd, now);
    if (decided.plan.refused) throw refusalOf(decided.plan);
    if (decided.plan.records.length === 0) return { record: rec, audit: [] }; // not ended yet: nothing to do
    cell.state = decided.state;
    try {
      await this.d.runner.applyFlows(decided.plan);
    } catch (e) {
      cell.state = withRules(cell.state, (rules) => rules.set(ruleKey('block', id), rule));
      throw e;
    }
    this.close(rec, decided.plan);
    return { record: rec, audit: decided.plan.audit };
  }

  /** Closes the book's record as the core's plan says; an expiry's audit goes with its event (nobody asked). */
  close(rec: BlockRecord, plan: Plan): void {
    const closed = blockRecordIn(plan);
    this.ends.clear(rec.id);
    rec.state = closed.state;
    rec.closedAt = closed.closedAt;
    this.d.book.pruneBlocks();
    this.d.emit({ type: 'block.removed', block: rec, ...(closed.state === 'expired' ? { audit: plan.audit } : {}) });
  }

  private ended(id: number): void {
    void this.end(id, 'expired', SYSTEM).catch((e: Error) => this.d.log.warn({ block: id, err: e.message }, 'closing an ended block failed'));
  }
}
