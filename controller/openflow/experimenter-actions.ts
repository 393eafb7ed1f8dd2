// Experimenter actions (OFPAT_EXPERIMENTER, OF1.3.5 §7.2.5.12) stay raw bytes in our Action type; their Ryu JSON
// and ovs-ofctl text come from the experimenter's codec registered here. Nicira's (nx-actions.ts) nests whole
// action lists inside ct(), so it builds on actions.ts, and actions.ts reaches it only through this table.
import type { RyuDict } from './ryu-json.js';

export interface ExperimenterActionCodec {
  /** The experimenter id of the action header (OUI or ONF-assigned). */
  experimenter: number;
  /** The start of every Ryu class name of this experimenter's actions (`NXAction`). */
  ryuPrefix: string;
  /** Ryu's dict for one action's `data` (after the 8-byte header), or undefined to show it as unknown. */
  toRyu(data: Buffer, len: number): RyuDict | undefined;
  /** The `data` bytes for a Ryu dict of class `name`. */
  fromRyu(name: string, d: RyuDict): Buffer;
  /** ovs-ofctl's text, or undefined to fall back to the generic experimenter text. */
  format(data: Buffer): string | undefined;
}

const byId = new Map<number, ExperimenterActionCodec>();

/** Registering an experimenter or a Ryu prefix twice is a programming error. */
export function registerExperimenterActions(codec: ExperimenterActionCodec): void {
  if (byId.has(codec.experimenter)) throw new Error(`experimenter actions 0x${codec.experimenter.toString(16)} registered twice`);
  for (const c of byId.values()) {
    if (c.ryuPrefix.startsWith(codec.ryuPrefix) || codec.ryuPrefix.startsWith(c.ryuPrefix)) {
      throw new Error(`experimenter action prefix ${codec.ryuPrefix} overlaps ${c.ryuPrefix}`);
    }
  }
  byId.set(codec.experimenter, codec);
}

export function experimenterActions(experimenter: number): ExperimenterActionCodec | undefined {
  return byId.get(experimenter);
}

/** The codec whose Ryu class names `name` starts with. */
export function experimenterActionsForRyu(name: string): ExperimenterActionCodec | undefined {
  for (const c of byId.values()) if (name.startsWith(c.ryuPrefix)) return c;
  return undefined;
}
