// OfpMessage: every OpenFlow 1.3 message as one discriminated union on `type`. Each family file defines its
// members; this file only gathers them, so that `switch (msg.type)` narrows without casts.
import type { HelloMsg } from './hello.js';
import type { ErrorMsg } from './error-msg.js';
import type { EchoRequestMsg, EchoReplyMsg } from './echo.js';
import type { ExperimenterMsg } from './experimenter.js';
import type { FeaturesRequestMsg, FeaturesReplyMsg } from './features.js';
import type { GetConfigRequestMsg, GetConfigReplyMsg, SetConfigMsg } from './switch-config.js';
import type { BarrierRequestMsg, BarrierReplyMsg } from './barrier.js';
import type { RoleRequestMsg, RoleReplyMsg } from './role.js';
import type { GetAsyncRequestMsg, GetAsyncReplyMsg, SetAsyncMsg } from './async-config.js';
import type { QueueGetConfigRequestMsg, QueueGetConfigReplyMsg } from './queue-config.js';
import type { PacketInMsg } from './packet-in.js';
import type { FlowRemovedMsg } from './flow-removed.js';
import type { PortStatusMsg } from './port-status.js';
import type { PortModMsg } from './port-mod.js';
import type { TableModMsg } from './table-mod.js';
import type { FlowModMsg } from './flow-mod.js';
import type { PacketOutMsg } from './packet-out.js';
import type { GroupModMsg } from './group-mod.js';
import type { MeterModMsg } from './meter-mod.js';
import type { MultipartMsg } from './multipart/index.js';

export type OfpMessage =
  | HelloMsg
  | ErrorMsg
  | EchoRequestMsg
  | EchoReplyMsg
  | ExperimenterMsg
  | FeaturesRequestMsg
  | FeaturesReplyMsg
  | GetConfigRequestMsg
  | GetConfigReplyMsg
  | SetConfigMsg
  | PacketInMsg
  | FlowRemovedMsg
  | PortStatusMsg
  | PacketOutMsg
  | FlowModMsg
  | GroupModMsg
  | PortModMsg
  | TableModMsg
  | MeterModMsg
  | BarrierRequestMsg
  | BarrierReplyMsg
  | QueueGetConfigRequestMsg
  | QueueGetConfigReplyMsg
  | RoleRequestMsg
  | RoleReplyMsg
  | GetAsyncRequestMsg
  | GetAsyncReplyMsg
  | SetAsyncMsg
  | MultipartMsg;

export type OfpMessageType = OfpMessage['type'];

/** The member of the union with the given discriminator. */
export type MessageOf<T extends OfpMessageType> = Extract<OfpMessage, { type: T }>;
