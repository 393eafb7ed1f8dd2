// Errors a request to a switch can end with. Each names the switch, so a log line or an API answer built from
// it says which datapath refused what.
import { errorTypeName, errorCodeName } from './openflow/index.js';
import type { OfpMessage } from './openflow/index.js';

export function dpidText(dpid: bigint | undefined): string {
  return dpid === undefined ? 'unknown' : dpid.toString(16).padStart(16, '0');
}

/** The switch answered a request with OFPT_ERROR. */
export class SwitchError extends Error {
  constructor(
    readonly dpid: bigint | undefined,
    readonly errType: number,
    readonly code: number,
    /** The request that failed, when it is known (by xid). */
    readonly request: OfpMessage | undefined,
    readonly data: Buffer,
  ) {
    super(`switch ${dpidText(dpid)} refused ${request?.type ?? 'a message'}: ${errorTypeName(errType)}/${errorCodeName(errType, code)}`);
    this.name = 'SwitchError';
  }
}

/** The switch did not answer in time. */
export class RequestTimeoutError extends Error {
  constructor(
    readonly dpid: bigint | undefined,
    readonly request: OfpMessage,
    ms: number,
  ) {
    super(`switch ${dpidText(dpid)} did not answer ${request.type} (xid ${request.xid}) within ${ms} ms`);
    this.name = 'RequestTimeoutError';
  }
}

/** The connection went away while the request was outstanding. */
export class ConnectionClosedError extends Error {
  constructor(
    readonly dpid: bigint | undefined,
    reason: string,
  ) {
    super(`connection to switch ${dpidText(dpid)} closed: ${reason}`);
    this.name = 'ConnectionClosedError';
  }
}
