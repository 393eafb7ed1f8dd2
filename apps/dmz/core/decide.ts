// The DMZ's decisions: (state, command, now) -> (state, plan). Pure: no I/O, no clock, no callbacks; the same
// inputs give the same outputs (what lets a leader's decisions be replayed by followers, and tested without
// sleeps). The executor (api/transfers-service.ts) runs the plans and reports installs back as commands.
import type { Command } from './commands.js';
import type { State } from './state.js';
import { request, installed, installFailed, extend, release, expire, type Decision } from './leases.js';
import { block, unblock, expireBlock } from './blocks.js';
import { switchUp, switchDown, flowRemoved, flowLost, configReload } from './switches.js';
import { linkDown, linkUp, movesFailed } from './links.js';

export type { Decision } from './leases.js';

export function decide(state: State, cmd: Command, now: number): Decision {
  switch (cmd.type) {
    case 'request':
      return request(state, cmd.by, cmd.lease, now);
    case 'installed':
      return installed(state, cmd.id);
    case 'install-failed':
      return installFailed(state, cmd.id, cmd.reason, now);
    case 'extend':
      return extend(state, cmd.by, cmd.id, cmd.end, now);
    case 'release':
      return release(state, cmd.by, cmd.id, cmd.state, cmd.reason, now);
    case 'expire':
      return cmd.kind === 'lease' ? expire(state, cmd.id, now) : expireBlock(state, cmd.id, now);
    case 'block':
      return block(state, cmd.by, cmd.block, now);
    case 'unblock':
      return unblock(state, cmd.by, cmd.id, now);
    case 'switch-up':
      return switchUp(state, cmd.dpid, now);
    case 'switch-down':
      return switchDown(state, cmd.dpid);
    case 'flow-removed':
      return flowRemoved(state, cmd.cookie, cmd.reason, now);
    case 'flow-lost':
      return flowLost(state, cmd.dpid, cmd.cookie, cmd.reason, now);
    case 'config-reload':
      return configReload(state, cmd.site, now);
    case 'link-down':
      return linkDown(state, cmd.link, now);
    case 'link-up':
      return linkUp(state, cmd.link, now);
    case 'moves-failed':
      return movesFailed(state, cmd.before, cmd.leases, cmd.link);
  }
}
