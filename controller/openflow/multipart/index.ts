// Every multipart request and reply of OpenFlow 1.3 (OF1.3.5 §7.3.5). Importing this module registers their
// codecs; MultipartMsg is the union of their message types.
import type { DescStatsRequestMsg, DescStatsReplyMsg } from './desc.js';
import type { FlowStatsRequestMsg, FlowStatsReplyMsg } from './flow.js';
import type { AggregateStatsRequestMsg, AggregateStatsReplyMsg } from './aggregate.js';
import type { TableStatsRequestMsg, TableStatsReplyMsg } from './table.js';
import type { PortStatsRequestMsg, PortStatsReplyMsg } from './port-stats.js';
import type { QueueStatsRequestMsg, QueueStatsReplyMsg } from './queue.js';
import type { GroupStatsRequestMsg, GroupStatsReplyMsg } from './group.js';
import type { GroupDescStatsRequestMsg, GroupDescStatsReplyMsg } from './group-desc.js';
import type { GroupFeaturesStatsRequestMsg, GroupFeaturesStatsReplyMsg } from './group-features.js';
import type { MeterStatsRequestMsg, MeterStatsReplyMsg } from './meter.js';
import type { MeterConfigStatsRequestMsg, MeterConfigStatsReplyMsg } from './meter-config.js';
import type { MeterFeaturesStatsRequestMsg, MeterFeaturesStatsReplyMsg } from './meter-features.js';
import type { TableFeaturesStatsRequestMsg, TableFeaturesStatsReplyMsg } from './table-features.js';
import type { PortDescStatsRequestMsg, PortDescStatsReplyMsg } from './port-desc.js';
import type { ExperimenterStatsRequestMsg, ExperimenterStatsReplyMsg } from './experimenter.js';
import type { OnfFlowMonitorRequestMsg } from './onf-flow-monitor.js';

import './desc.js';
import './flow.js';
import './aggregate.js';
import './table.js';
import './port-stats.js';
import './queue.js';
import './group.js';
import './group-desc.js';
import './group-features.js';
import './meter.js';
import './meter-config.js';
import './meter-features.js';
import './table-features.js';
import './port-desc.js';
import './onf-flow-monitor.js';
import './experimenter.js';

export type { DescStatsRequestMsg, DescStatsReplyMsg } from './desc.js';
export type { FlowStats, FlowStatsRequestMsg, FlowStatsReplyMsg } from './flow.js';
export type { FlowFilter } from './flow-filter.js';
export type { AggregateStatsRequestMsg, AggregateStatsReplyMsg } from './aggregate.js';
export type { TableStats, TableStatsRequestMsg, TableStatsReplyMsg } from './table.js';
export type { PortStats, PortStatsRequestMsg, PortStatsReplyMsg } from './port-stats.js';
export type { QueueStats, QueueStatsRequestMsg, QueueStatsReplyMsg } from './queue.js';
export type { GroupStats, BucketCounter, GroupStatsRequestMsg, GroupStatsReplyMsg } from './group.js';
export type { GroupDesc, GroupDescStatsRequestMsg, GroupDescStatsReplyMsg } from './group-desc.js';
export type { GroupFeaturesStatsRequestMsg, GroupFeaturesStatsReplyMsg } from './group-features.js';
export type { MeterStats, MeterBandStats, MeterStatsRequestMsg, MeterStatsReplyMsg } from './meter.js';
export type { MeterConfig, MeterConfigStatsRequestMsg, MeterConfigStatsReplyMsg } from './meter-config.js';
export type { MeterFeatures, MeterFeaturesStatsRequestMsg, MeterFeaturesStatsReplyMsg } from './meter-features.js';
export type {
  TableFeatures,
  TableFeatureProp,
  FeatureId,
  OxmId,
  TableFeaturesStatsRequestMsg,
  TableFeaturesStatsReplyMsg,
} from './table-features.js';
export type { PortDescStatsRequestMsg, PortDescStatsReplyMsg } from './port-desc.js';
export type { ExperimenterStatsRequestMsg, ExperimenterStatsReplyMsg } from './experimenter.js';
export type { OnfFlowMonitorRequest, OnfFlowMonitorRequestMsg } from './onf-flow-monitor.js';

export type MultipartMsg =
  | DescStatsRequestMsg
  | DescStatsReplyMsg
  | FlowStatsRequestMsg
  | FlowStatsReplyMsg
  | AggregateStatsRequestMsg
  | AggregateStatsReplyMsg
  | TableStatsRequestMsg
  | TableStatsReplyMsg
  | PortStatsRequestMsg
  | PortStatsReplyMsg
  | QueueStatsRequestMsg
  | QueueStatsReplyMsg
  | GroupStatsRequestMsg
  | GroupStatsReplyMsg
  | GroupDescStatsRequestMsg
  | GroupDescStatsReplyMsg
  | GroupFeaturesStatsRequestMsg
  | GroupFeaturesStatsReplyMsg
  | MeterStatsRequestMsg
  | MeterStatsReplyMsg
  | MeterConfigStatsRequestMsg
  | MeterConfigStatsReplyMsg
  | MeterFeaturesStatsRequestMsg
  | MeterFeaturesStatsReplyMsg
  | TableFeaturesStatsRequestMsg
  | TableFeaturesStatsReplyMsg
  | PortDescStatsRequestMsg
  | PortDescStatsReplyMsg
  | ExperimenterStatsRequestMsg
  | ExperimenterStatsReplyMsg
  | OnfFlowMonitorRequestMsg;
