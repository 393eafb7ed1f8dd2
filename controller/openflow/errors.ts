// OpenFlow 1.3.5 error types and codes (OF1.3.5 §7.4.4), and OfpError: the one exception the codec throws.
//
// A decode failure *is* the OpenFlow error the switch (or controller) should be told, so a caller can answer
// a peer straight from the exception: `errType`/`code` are the values for an OFPT_ERROR reply.

/** enum ofp_error_type */
export const OFPET = {
  HELLO_FAILED: 0, // Hello protocol failed.
  BAD_REQUEST: 1, // Request was not understood.
  BAD_ACTION: 2, // Error in action description.
  BAD_INSTRUCTION: 3, // Error in instruction list.
  BAD_MATCH: 4, // Error in match.
  FLOW_MOD_FAILED: 5, // Problem modifying flow entry.
  GROUP_MOD_FAILED: 6, // Problem modifying group entry.
  PORT_MOD_FAILED: 7, // Port mod request failed.
  TABLE_MOD_FAILED: 8, // Table mod request failed.
  QUEUE_OP_FAILED: 9, // Queue operation failed.
  SWITCH_CONFIG_FAILED: 10, // Switch config request failed.
  ROLE_REQUEST_FAILED: 11, // Controller Role request failed.
  METER_MOD_FAILED: 12, // Error in meter.
  TABLE_FEATURES_FAILED: 13, // Setting table features failed.
  EXPERIMENTER: 0xffff, // Experimenter error messages.
} as const;

/** enum ofp_hello_failed_code */
export const OFPHFC = { INCOMPATIBLE: 0, EPERM: 1 } as const;

/** enum ofp_bad_request_code */
export const OFPBRC = {
  BAD_VERSION: 0, // ofp_header.version not supported.
  BAD_TYPE: 1, // ofp_header.type not supported.
  BAD_MULTIPART: 2, // ofp_multipart_request.type not supported.
  BAD_EXPERIMENTER: 3, // Experimenter id not supported.
  BAD_EXP_TYPE: 4, // Experimenter type not supported.
  EPERM: 5, // Permissions error.
  BAD_LEN: 6, // Wrong request length for type.
  BUFFER_EMPTY: 7, // Specified buffer has already been used.
  BUFFER_UNKNOWN: 8, // Specified buffer does not exist.
  BAD_TABLE_ID: 9, // Specified table-id invalid or does not exist.
  IS_SLAVE: 10, // Denied because controller is slave.
  BAD_PORT: 11, // Invalid port.
  BAD_PACKET: 12, // Invalid packet in packet-out.
  MULTIPART_BUFFER_OVERFLOW: 13, // ofp_multipart_request overflowed the assigned buffer.
} as const;

/** enum ofp_bad_action_code */
export const OFPBAC = {
  BAD_TYPE: 0,
  BAD_LEN: 1,
  BAD_EXPERIMENTER: 2,
  BAD_EXP_TYPE: 3,
  BAD_OUT_PORT: 4,
  BAD_ARGUMENT: 5,
  EPERM: 6,
  TOO_MANY: 7,
  BAD_QUEUE: 8,
  BAD_OUT_GROUP: 9,
  MATCH_INCONSISTENT: 10,
  UNSUPPORTED_ORDER: 11,
  BAD_TAG: 12,
  BAD_SET_TYPE: 13,
  BAD_SET_LEN: 14,
  BAD_SET_ARGUMENT: 15,
} as const;

/** enum ofp_bad_instruction_code */
export const OFPBIC = {
  UNKNOWN_INST: 0,
  UNSUP_INST: 1,
  BAD_TABLE_ID: 2,
  UNSUP_METADATA: 3,
  UNSUP_METADATA_MASK: 4,
  BAD_EXPERIMENTER: 5,
  BAD_EXP_TYPE: 6,
  BAD_LEN: 7,
  EPERM: 8,
} as const;

/** enum ofp_bad_match_code */
export const OFPBMC = {
  BAD_TYPE: 0,
  BAD_LEN: 1,
  BAD_TAG: 2,
  BAD_DL_ADDR_MASK: 3,
  BAD_NW_ADDR_MASK: 4,
  BAD_WILDCARDS: 5,
  BAD_FIELD: 6,
  BAD_VALUE: 7,
  BAD_MASK: 8,
  BAD_PREREQ: 9,
  DUP_FIELD: 10,
  EPERM: 11,
} as const;

/** enum ofp_flow_mod_failed_code */
export const OFPFMFC = {
  UNKNOWN: 0,
  TABLE_FULL: 1,
  BAD_TABLE_ID: 2,
  OVERLAP: 3,
  EPERM: 4,
  BAD_TIMEOUT: 5,
  BAD_COMMAND: 6,
  BAD_FLAGS: 7,
} as const;

/** enum ofp_group_mod_failed_code */
export const OFPGMFC = {
  GROUP_EXISTS: 0,
  INVALID_GROUP: 1,
  WEIGHT_UNSUPPORTED: 2,
  OUT_OF_GROUPS: 3,
  OUT_OF_BUCKETS: 4,
  CHAINING_UNSUPPORTED: 5,
  WATCH_UNSUPPORTED: 6,
  LOOP: 7,
  UNKNOWN_GROUP: 8,
  CHAINED_GROUP: 9,
  BAD_TYPE: 10,
  BAD_COMMAND: 11,
  BAD_BUCKET: 12,
  BAD_WATCH: 13,
  EPERM: 14,
} as const;

/** enum ofp_port_mod_failed_code */
export const OFPPMFC = { BAD_PORT: 0, BAD_HW_ADDR: 1, BAD_CONFIG: 2, BAD_ADVERTISE: 3, EPERM: 4 } as const;

/** enum ofp_table_mod_failed_code */
export const OFPTMFC = { BAD_TABLE: 0, BAD_CONFIG: 1, EPERM: 2 } as const;

/** enum ofp_queue_op_failed_code */
export const OFPQOFC = { BAD_PORT: 0, BAD_QUEUE: 1, EPERM: 2 } as const;

/** enum ofp_switch_config_failed_code */
export const OFPSCFC = { BAD_FLAGS: 0, BAD_LEN: 1, EPERM: 2 } as const;

/** enum ofp_role_request_failed_code */
export const OFPRRFC = { STALE: 0, UNSUP: 1, BAD_ROLE: 2 } as const;

/** enum ofp_meter_mod_failed_code */
export const OFPMMFC = {
  UNKNOWN: 0,
  METER_EXISTS: 1,
  INVALID_METER: 2,
  UNKNOWN_METER: 3,
  BAD_COMMAND: 4,
  BAD_FLAGS: 5,
  BAD_RATE: 6,
  BAD_BURST: 7,
  BAD_BAND: 8,
  BAD_BAND_VALUE: 9,
  OUT_OF_METERS: 10,
  OUT_OF_BANDS: 11,
} as const;

/** enum ofp_table_features_failed_code */
export const OFPTFFC = { BAD_TABLE: 0, BAD_METADATA: 1, BAD_TYPE: 2, BAD_LEN: 3, BAD_ARGUMENT: 4, EPERM: 5 } as const;

/** Error type value -> [type name, code table with its spec prefix]. Used by format() and error messages. */
const ERROR_TABLES: Record<number, [string, string, Record<string, number>]> = {
  [OFPET.HELLO_FAILED]: ['OFPET_HELLO_FAILED', 'OFPHFC_', OFPHFC],
  [OFPET.BAD_REQUEST]: ['OFPET_BAD_REQUEST', 'OFPBRC_', OFPBRC],
  [OFPET.BAD_ACTION]: ['OFPET_BAD_ACTION', 'OFPBAC_', OFPBAC],
  [OFPET.BAD_INSTRUCTION]: ['OFPET_BAD_INSTRUCTION', 'OFPBIC_', OFPBIC],
  [OFPET.BAD_MATCH]: ['OFPET_BAD_MATCH', 'OFPBMC_', OFPBMC],
  [OFPET.FLOW_MOD_FAILED]: ['OFPET_FLOW_MOD_FAILED', 'OFPFMFC_', OFPFMFC],
  [OFPET.GROUP_MOD_FAILED]: ['OFPET_GROUP_MOD_FAILED', 'OFPGMFC_', OFPGMFC],
  [OFPET.PORT_MOD_FAILED]: ['OFPET_PORT_MOD_FAILED', 'OFPPMFC_', OFPPMFC],
  [OFPET.TABLE_MOD_FAILED]: ['OFPET_TABLE_MOD_FAILED', 'OFPTMFC_', OFPTMFC],
  [OFPET.QUEUE_OP_FAILED]: ['OFPET_QUEUE_OP_FAILED', 'OFPQOFC_', OFPQOFC],
  [OFPET.SWITCH_CONFIG_FAILED]: ['OFPET_SWITCH_CONFIG_FAILED', 'OFPSCFC_', OFPSCFC],
  [OFPET.ROLE_REQUEST_FAILED]: ['OFPET_ROLE_REQUEST_FAILED', 'OFPRRFC_', OFPRRFC],
  [OFPET.METER_MOD_FAILED]: ['OFPET_METER_MOD_FAILED', 'OFPMMFC_', OFPMMFC],
  [OFPET.TABLE_FEATURES_FAILED]: ['OFPET_TABLE_FEATURES_FAILED', 'OFPTFFC_', OFPTFFC],
};

/** The spec name of an error type, e.g. `OFPET_BAD_MATCH`; `OFPET_0x1234` for an unknown one. */
export function errorTypeName(type: number): string {
  if (type === OFPET.EXPERIMENTER) return 'OFPET_EXPERIMENTER';
  return ERROR_TABLES[type]?.[0] ?? `OFPET_0x${type.toString(16)}`;
}

/** The spec name of an error code within its type, e.g. `OFPBMC_BAD_FIELD`; the number if unknown. */
export function errorCodeName(type: number, code: number): string {
  const t = ERROR_TABLES[type];
  if (t) {
    for (const [name, value] of Object.entries(t[2])) if (value === code) return t[1] + name;
  }
  return String(code);
}

/**
 * The codec's only exception. `errType`/`code` name the OpenFlow error a peer should receive for the input that
 * caused it; `data` (optional) is the offending bytes, as an OFPT_ERROR would carry them.
 */
export class OfpError extends Error {
  readonly errType: number;
  readonly code: number;
  data: Buffer | undefined;
  /** True when the input ended before the structure did (as opposed to bytes that are present but invalid). */
  readonly truncated: boolean;

  constructor(errType: number, code: number, detail: string, data?: Buffer) {
    super(`${errorTypeName(errType)}/${errorCodeName(errType, code)}: ${detail}`);
    this.name = 'OfpError';
    this.errType = errType;
    this.code = code;
    this.data = data;
    this.truncated = detail.startsWith('truncated');
  }
}
