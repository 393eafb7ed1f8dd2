// The switch emulator: OpenFlow 1.3 switches built on our codec, for tests and benchmarks of the controller.
export { EmulatedSwitch } from './emulated-switch.js';
export type { EmulatedSwitchOptions, PortSpec, SwitchCounters, InjectResult } from './emulated-switch.js';
export { Fleet } from './fleet.js';
export { Cable, ethernetFields } from './cable.js';
export type { FleetOptions } from './fleet.js';
export { Dataplane } from './dataplane.js';
export type { PacketInRequest } from './dataplane.js';
export { Pipeline, isValidOutPort } from './flow-table.js';
export type { FlowEntry, GroupEntry, MeterEntry, FlowSelector } from './flow-table.js';
export type { PacketFields } from './match.js';
export type { PortState, SwitchDesc } from './multipart.js';
export { Traffic, LatencyRecorder } from './traffic.js';
export type { TrafficOptions, LatencySummary } from './traffic.js';
export {
  ONF_ET_BUNDLE_CONTROL,
  ONF_ET_BUNDLE_ADD_MESSAGE,
  OFPBCT,
  OFPBF,
  ONFBFC,
  ExperimenterError,
  bundleCtrlMsg,
  bundleAddMsg,
  asBundleCtrl,
  parseBundleCtrl,
} from './bundle.js';
