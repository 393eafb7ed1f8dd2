// The DMZ app's one copy of the core's state, shared by the parts of the shell that run the core's decisions
// (dmz-app.ts, block-shell.ts, link-follower.ts): each reads it and puts the decided state back, so a decision
// always starts from the one before, whichever part made it.
import type { State } from './core/state.js';

export interface CoreCell {
  state: State;
}
