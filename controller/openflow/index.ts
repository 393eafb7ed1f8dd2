// The OpenFlow 1.3 codec's public surface. It imports nothing outside this folder.
import './all-codecs.js';

export { decode } from './decode.js';
export { encode, encodeInto, toRyuJson, fromRyuJson, format, registeredCodecs, isMultipartReply } from './registry.js';
export type { MessageCodec } from './registry.js';
export { Framer } from './framer.js';
export { Reader, Writer } from './buffer.js';
export * from './errors.js';
export * from './constants.js';
export type { OfpMessage, OfpMessageType, MessageOf } from './messages.js';
export type { OxmTlv, OxmValue, OxmDef } from './oxm.js';
export { OXM_FIELDS, oxmDef } from './oxm.js';
export type { Match } from './match.js';
export { formatMatch, readMatch, writeMatch } from './match.js';
export { canonicalMatchKey, canonicalFlowKey, flowKeyText } from './match-key.js';
export type { Action } from './actions.js';
export type { Instruction } from './instructions.js';
export type { Bucket } from './bucket.js';
export type { MeterBand } from './meter-band.js';
export type { Port } from './port.js';
export * from './addr.js';
export * from './onf-bundle.js';
