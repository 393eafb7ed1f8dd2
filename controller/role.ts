// A controller's OpenFlow role (OF1.3.5 §6.3.5): equal, master or slave, with the generation id that orders
// competing master claims. The switch enforces it; the controller also refuses locally what a slave may not
// send, so that a follower's bug surfaces as a clear error here and not as OFPBRC_IS_SLAVE later.
import { OFPCR_ROLE, OFPET, OFPRRFC, type OfpMessage } from './openflow/index.js';
import { SwitchError, dpidText } from './errors.js';

export type ControllerRole = 'equal' | 'master' | 'slave';

export interface RoleClaim {
  role: ControllerRole;
  /**
   * Ignored by the switch for 'equal' (OF1.3.5 §7.3.9). None, for 'slave' only: slave here (writes refused
   * locally) without asking the switch, which would refuse a generation older than one it has seen as stale
   * (OF1.3.5 §6.3.5): a cluster member that does not know its leader's generation yet.
   */
  generationId?: bigint;
}

export const ROLE_CODES: Record<ControllerRole, number> = {
  equal: OFPCR_ROLE.EQUAL,
  master: OFPCR_ROLE.MASTER,
  slave: OFPCR_ROLE.SLAVE,
};

export function roleName(code: number): ControllerRole | undefined {
  return code === OFPCR_ROLE.EQUAL ? 'equal' : code === OFPCR_ROLE.MASTER ? 'master' : code === OFPCR_ROLE.SLAVE ? 'slave' : undefined;
}

/**
 * Messages a slave may not send: they change the switch's state (OF1.3.5 §6.3.5: packet-out, flow-mod, group-mod,
 * port-mod, table-mod; meter-mod alike, and a table-features request that carries a body).
 */
export function modifiesSwitch(msg: OfpMessage): boolean {
  switch (msg.type) {
    case 'flowMod':
    case 'groupMod':
    case 'meterMod':
    case 'packetOut':
    case 'portMod':
    case 'tableMod':
      return true;
    case 'tableFeaturesStatsRequest':
      return msg.body.length !== 0;
    default:
      return false;
  }
}

/** A message refused locally because this controller is not allowed to change the switch. */
export class NotMasterError extends Error {
  constructor(
    readonly dpid: bigint | undefined,
    readonly messageType: string,
    readonly why: string,
  ) {
    super(`not sending ${messageType} to switch ${dpidText(dpid)}: ${why} (OF1.3.5 §6.3.5)`);
    this.name = 'NotMasterError';
  }
}

/** A role request the switch refused or answered with another role than claimed. */
export class RoleRefusedError extends Error {
  constructor(
    readonly dpid: bigint | undefined,
    readonly claim: RoleClaim,
    /** OFPRRFC_STALE: a master claim with a generation id older than one the switch has seen. */
    readonly stale: boolean,
    detail: string,
  ) {
    super(`switch ${dpidText(dpid)} refused role ${claim.role} (generation id ${claim.generationId}): ${detail}`);
    this.name = 'RoleRefusedError';
  }

  static fromSwitchError(e: SwitchError, claim: RoleClaim): RoleRefusedError {
    const stale = e.errType === OFPET.ROLE_REQUEST_FAILED && e.code === OFPRRFC.STALE;
    return new RoleRefusedError(e.dpid, claim, stale, e.message);
  }
}
