// The core, command by command with a fake clock, asked by behaviour: where packets go on the switch simulator.
import { describe, it, expect } from 'vitest';
import { defaultSite } from '../../../../apps/dmz/config.js';
import { parsePrefix } from '../../../../apps/dmz/addresses.js';
import type { Command, LeaseSpec } from '../../../../apps/dmz/core/commands.js';
import type { Site } from '../../../../apps/dmz/site.js';
import { OWNER } from '../../../../apps/dmz/owners.js';
import { ownerCookie } from '../../../../controller/cookie.js';
import type { SimPacket } from '../../../helpers/flow-sim.js';
import { World, type Verdict } from './world.js';
import { request, USER } from './traffic.js';

const site = defaultSite();
const DPID = site.switches[0]!.dpid;
const WAN = 1,
  FW_OUT = 3,
  DTN = 5;
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const lease = (over: Partial<LeaseSpec> = {}): Command => request(T0 + 60_000, over);
const fromWan = (dstPort: number, src = '192.0.2.10'): SimPacket => ({
  inPort: WAN,
  ethDst: '02:00:00:00:01:05',
  ethType: 0x0800,
  ipSrc: src,
  ipDst: '10.10.1.10',
  ipProto: 6,
  srcPort: 40000,
  dstPort,
});

/** A step: move the clock, run a command, then check what follows. */
interface Step {
  after?: number;
  cmd?: Command;
  pending?: boolean;
  refused?: string;
  active?: number[];
  verdicts?: [SimPacket, Verdict][];
  check?: (w: World) => void;
}

function play(steps: Step[], s: Site = site): World {
  const w = new World(s, T0);
  w.run({ type: 'switch-up', dpid: DPID });
  steps.forEach((st, i) => {
    if (st.after) w.advance(st.after);
    if (st.cmd) w.run(st.cmd, { pending: st.pending });
    const at = `step ${i}`;
    expect(w.lastRefusal?.reason, at).toBe(st.cmd ? st.refused : w.lastRefusal?.reason);
    if (st.active) expect(w.activeLeases(), at).toEqual(st.active);
    for (const [p, v] of st.verdicts ?? []) expect(w.verdict(DPID, p, { dtn: DTN, fw: FW_OUT }), `${at} port ${p.dstPort} from ${p.ipSrc}`).toBe(v);
    st.check?.(w);
  });
  return w;
}

const cases: { name: string; steps: Step[] }[] = [
  {
    name: 'a request opens its ports only, until its end',
    steps: [
      { verdicts: [[fromWan(50500), 'firewall']] },
      {
        cmd: lease(),
        active: [1],
        verdicts: [
          [fromWan(50500), 'bypass'],
          [fromWan(8080), 'firewall'],
          [fromWan(50500, '198.51.100.1'), 'firewall'],
        ],
      },
      { after: 59_000, active: [1], verdicts: [[fromWan(50500), 'bypass']] },
      { after: 1_000, active: [], verdicts: [[fromWan(50500), 'firewall']] },
    ],
  },
  {
    name: 'an extension past the first hard timeout keeps the bypass through it',
    steps: [
      { cmd: lease() },
      { after: 30_000, cmd: { type: 'extend', by: USER, id: 1, end: T0 + 7_200_000 } },
      // The switch's first hard timeout (armed for 60 s) is not the lease's end any more.
      { after: 31_000, cmd: { type: 'flow-removed', dpid: DPID, cookie: ownerCookie(OWNER.LEASES, 1), reason: 'hard-timeout' }, active: [1] },
      { cmd: { type: 'expire', kind: 'lease', id: 1 }, active: [1], verdicts: [[fromWan(50500), 'bypass']] },
      { after: 7_200_000 - 61_000, active: [], verdicts: [[fromWan(50500), 'firewall']] },
    ],
  },
  {
    name: 'a lease that ends while its switch is down is gone when the switch returns',
    steps: [
      { cmd: lease() },
      { cmd: { type: 'switch-down', dpid: DPID } },
      { after: 60_000, active: [], verdicts: [[fromWan(50500), 'bypass']] }, // (the switch still holds what it had)
      { cmd: { type: 'switch-up', dpid: DPID }, verdicts: [[fromWan(50500), 'firewall']] },
      { check: (w) => expect(w.events.flatMap((e) => (e.type === 'lease.closed' ? [e.lease.state] : []))).toEqual(['expired']) },
    ],
  },
  {
    name: 'a reload that removes the DTN of an active lease revokes it',
    steps: [
      { cmd: lease(), active: [1] },
      { cmd: { type: 'config-reload', site: { ...site, dtns: [] } }, active: [], verdicts: [[fromWan(50500), 'firewall']] },
      {
        check: (w) => {
          const last = w.records.at(-1)!;
          expect(last.kind === 'lease' && [last.record.state, last.record.closeReason]).toEqual([
            'revoked',
            expect.stringContaining('reloaded site config'),
          ]);
          expect(w.audit.at(-1)).toMatchObject({ actor: 'system', action: 'transfer.revoked', transfer: 1 });
        },
      },
      { cmd: lease({ remote: parsePrefix('203.0.113.0/24') }), refused: 'unknown-dtn' },
    ],
  },
  {
    name: 'overlapping requests in flight: the second is refused while the first installs; a failed install frees it',
    steps: [
      { cmd: lease(), pending: true, active: [] },
      { cmd: lease({ remote: parsePrefix('192.0.2.128/25') }), refused: 'overlap' },
      { cmd: lease({ remote: parsePrefix('198.51.100.0/24') }), pending: true },
      { cmd: { type: 'install-failed', id: 1, reason: 'bundle refused' }, active: [] },
      {
        cmd: lease({ remote: parsePrefix('192.0.2.128/25') }),
        active: [3],
        verdicts: [
          [fromWan(50500, '192.0.2.200'), 'bypass'],
          [fromWan(50500, '192.0.2.10'), 'firewall'],
        ],
      },
      {
        check: (w) => {
          const failed = w.records.find((r) => r.kind === 'lease' && r.record.id === 1 && r.record.state === 'revoked');
          expect(failed && failed.kind === 'lease' && failed.record.closeReason).toBe('not installed: bundle refused');
        },
      },
    ],
  },
  {
    name: "a block during a lease drops the lease's traffic; unblocking restores the bypass",
    steps: [
      { cmd: lease() },
      {
        cmd: { type: 'block', by: USER, block: { prefix: parsePrefix('192.0.2.10/32'), reason: 'scan' } },
        active: [1],
        verdicts: [
          [fromWan(50500), 'drop'],
          [fromWan(50500, '192.0.2.11'), 'bypass'],
        ],
      },
      { cmd: { type: 'unblock', by: USER, id: 1 }, verdicts: [[fromWan(50500), 'bypass']] },
    ],
  },
  {
    name: 'a block with an end lifts at its end',
    steps: [
      {
        cmd: { type: 'block', by: USER, block: { prefix: parsePrefix('192.0.2.0/24'), reason: 'ids', end: T0 + 5_000 } },
        verdicts: [[fromWan(50500), 'drop']],
      },
      { after: 5_000, verdicts: [[fromWan(50500), 'firewall']], check: (w) => expect(w.audit.at(-1)).toMatchObject({ action: 'block.expired' }) },
    ],
  },
  {
    name: 'refusals change nothing: switch down, past the site maximum, a release of what is not there',
    steps: [
      { cmd: { type: 'switch-down', dpid: DPID } },
      { cmd: lease(), refused: 'switch-down', active: [] },
      { cmd: { type: 'switch-up', dpid: DPID } },
      { cmd: lease({ end: T0 + 13 * 3600_000 }), refused: 'duration' },
      { cmd: { type: 'release', by: USER, id: 9, state: 'released', reason: 'x' }, refused: 'not-found' },
      { cmd: lease(), active: [1] },
      { cmd: { type: 'release', by: USER, id: 1, state: 'released', reason: 'done' }, active: [], verdicts: [[fromWan(50500), 'firewall']] },
    ],
  },
  {
    name: "a circuit's capacity is shared by its leases",
    steps: [
      { cmd: lease({ path: 'circuit:esnet', rateMbps: 300 }) },
      { cmd: lease({ path: 'circuit:esnet', rateMbps: 300, remote: parsePrefix('198.51.100.0/24') }), refused: 'circuit-capacity' },
      { cmd: lease({ path: 'circuit:esnet', rateMbps: 200, remote: parsePrefix('198.51.100.0/24') }), active: [1, 2] },
    ],
  },
];

describe('decide', () => {
  for (const c of cases) it(c.name, () => void play(c.steps));

  it('is deterministic: the same commands give the same plans', () => {
    const cmds: Command[] = [{ type: 'switch-up', dpid: DPID }, lease(), { type: 'extend', by: USER, id: 1, end: T0 + 120_000 }];
    const runOnce = (): unknown[] => {
      const w = new World(site, T0);
      return cmds.map((c) => w.run(c));
    };
    expect(runOnce()).toEqual(runOnce());
  });

  it('does not change the state it is given', () => {
    const w = new World(site, T0);
    w.run({ type: 'switch-up', dpid: DPID });
    const before = w.state;
    const rules = [...before.rules];
    w.run(lease());
    expect([...before.rules]).toEqual(rules);
    expect(w.state).not.toBe(before);
  });
});
