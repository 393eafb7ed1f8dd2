// A restored block record becomes the same rule the core made: same record back, same flows, same budget share.
import { describe, it, expect } from 'vitest';
import { defaultSite } from '../../../../apps/dmz/config.js';
import { parsePrefix } from '../../../../apps/dmz/addresses.js';
import { decide } from '../../../../apps/dmz/core/decide.js';
import { SYSTEM } from '../../../../apps/dmz/core/commands.js';
import { blockOf, initialState, ruleKey } from '../../../../apps/dmz/core/state.js';
import { blockRuleOf, flowsOfBlock } from '../../../../apps/dmz/core/blocks.js';
import { blockRecordOf } from '../../../../apps/dmz/core/records.js';

describe('blockRuleOf', () => {
  it.each([
    { prefix: '198.51.100.0/24', reason: 'scan' },
    {
      prefix: '2001:db8::/48',
      reason: 'ids',
      protocol: 'tcp' as const,
      ports: [{ lo: 22, hi: 22 }],
      end: 90_000,
      project: 'ids',
      createdBy: 'token:7',
    },
  ])('restores $prefix as the rule decide() made', ({ prefix, ...rest }) => {
    const now = 10_000;
    const { state } = decide(initialState(defaultSite()), { type: 'block', by: SYSTEM, block: { prefix: parsePrefix(prefix), ...rest } }, now);
    const made = blockOf(state, 1)!;
    const restored = blockRuleOf(blockRecordOf(made), now);
    expect(blockRecordOf(restored)).toEqual(blockRecordOf(made));
    expect(restored.flows).toBe(made.flows);
    expect(flowsOfBlock(restored, now)).toEqual(flowsOfBlock(made, now));
    expect(state.rules.has(ruleKey('block', 1))).toBe(true);
  });
});
