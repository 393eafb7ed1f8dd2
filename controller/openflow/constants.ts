// OpenFlow 1.3.5 protocol constants (openflow.h, OF1.3.5 §7), kept with their spec names so that code reads
// like the spec: OFPT.FLOW_MOD is OFPT_FLOW_MOD. Struct sizes are asserted by the codec's tests.

export const OFP_VERSION = 0x04;
export const OFP_HEADER_LEN = 8;
/** Largest message the 16-bit length field can describe. */
export const OFP_MAX_MESSAGE_LEN = 0xffff;

/** enum ofp_type (§7.1) */
export const OFPT = {
  HELLO: 0,
  ERROR: 1,
  ECHO_REQUEST: 2,
  ECHO_REPLY: 3,
  EXPERIMENTER: 4,
  FEATURES_REQUEST: 5,
  FEATURES_REPLY: 6,
  GET_CONFIG_REQUEST: 7,
  GET_CONFIG_REPLY: 8,
  SET_CONFIG: 9,
  PACKET_IN: 10,
  FLOW_REMOVED: 11,
  PORT_STATUS: 12,
  PACKET_OUT: 13,
  FLOW_MOD: 14,
  GROUP_MOD: 15,
  PORT_MOD: 16,
  TABLE_MOD: 17,
  MULTIPART_REQUEST: 18,
  MULTIPART_REPLY: 19,
  BARRIER_REQUEST: 20,
  BARRIER_REPLY: 21,
  QUEUE_GET_CONFIG_REQUEST: 22,
  QUEUE_GET_CONFIG_REPLY: 23,
  ROLE_REQUEST: 24,
  ROLE_REPLY: 25,
  GET_ASYNC_REQUEST: 26,
  GET_ASYNC_REPLY: 27,
  SET_ASYNC: 28,
  METER_MOD: 29,
} as const;

/** enum ofp_multipart_type (§7.3.5) */
export const OFPMP = {
  DESC: 0,
  FLOW: 1,
  AGGREGATE: 2,
  TABLE: 3,
  PORT_STATS: 4,
  QUEUE: 5,
  GROUP: 6,
  GROUP_DESC: 7,
  GROUP_FEATURES: 8,
  METER: 9,
  METER_CONFIG: 10,
  METER_FEATURES: 11,
  TABLE_FEATURES: 12,
  PORT_DESC: 13,
  EXPERIMENTER: 0xffff,
} as const;

/** enum ofp_multipart_request_flags / ofp_multipart_reply_flags */
export const OFPMPF_REQ_MORE = 1 << 0; // More requests to follow.
export const OFPMPF_REPLY_MORE = 1 << 0; // More replies to follow.

/** enum ofp_port_no: reserved port numbers (§7.2.1) */
export const OFPP = {
  MAX: 0xffffff00, // Maximum number of physical and logical switch ports.
  IN_PORT: 0xfffffff8, // Send the packet out the input port.
  TABLE: 0xfffffff9, // Submit the packet to the first flow table (packet-out only).
  NORMAL: 0xfffffffa, // Forward using non-OpenFlow pipeline.
  FLOOD: 0xfffffffb, // Flood using non-OpenFlow pipeline.
  ALL: 0xfffffffc, // All standard ports except input port.
  CONTROLLER: 0xfffffffd, // Send to controller.
  LOCAL: 0xfffffffe, // Local openflow "port".
  ANY: 0xffffffff, // Special value used in some requests when no port is specified (i.e. wildcarded).
} as const;

/** enum ofp_group: reserved group numbers */
export const OFPG = { MAX: 0xffffff00, ALL: 0xfffffffc, ANY: 0xffffffff } as const;

/** enum ofp_meter: reserved meter numbers */
export const OFPM = { MAX: 0xffff0000, SLOWPATH: 0xfffffffd, CONTROLLER: 0xfffffffe, ALL: 0xffffffff } as const;

/** enum ofp_table */
export const OFPTT = { MAX: 0xfe, ALL: 0xff } as const;

/** No buffering: the packet-in carries the whole frame, a packet-out carries its own data. */
export const OFP_NO_BUFFER = 0xffffffff;

/** enum ofp_controller_max_len */
export const OFPCML = { MAX: 0xffe5, NO_BUFFER: 0xffff } as const;

/** enum ofp_flow_mod_command */
export const OFPFC = { ADD: 0, MODIFY: 1, MODIFY_STRICT: 2, DELETE: 3, DELETE_STRICT: 4 } as const;

/** enum ofp_flow_mod_flags */
export const OFPFF = {
  SEND_FLOW_REM: 1 << 0,
  CHECK_OVERLAP: 1 << 1,
  RESET_COUNTS: 1 << 2,
  NO_PKT_COUNTS: 1 << 3,
  NO_BYT_COUNTS: 1 << 4,
} as const;

/** Default flow priority, and the spec's OFP_FLOW_PERMANENT timeout value. */
export const OFP_DEFAULT_PRIORITY = 0x8000;
export const OFP_FLOW_PERMANENT = 0;

/** enum ofp_packet_in_reason */
export const OFPR = { NO_MATCH: 0, ACTION: 1, INVALID_TTL: 2 } as const;

/** enum ofp_flow_removed_reason */
export const OFPRR = { IDLE_TIMEOUT: 0, HARD_TIMEOUT: 1, DELETE: 2, GROUP_DELETE: 3 } as const;

/** enum ofp_port_reason */
export const OFPPR = { ADD: 0, DELETE: 1, MODIFY: 2 } as const;

/** enum ofp_port_config */
export const OFPPC = { PORT_DOWN: 1 << 0, NO_RECV: 1 << 2, NO_FWD: 1 << 5, NO_PACKET_IN: 1 << 6 } as const;

/** enum ofp_port_state */
export const OFPPS = { LINK_DOWN: 1 << 0, BLOCKED: 1 << 1, LIVE: 1 << 2 } as const;

/** enum ofp_port_features */
export const OFPPF = {
  '10MB_HD': 1 << 0,
  '10MB_FD': 1 << 1,
  '100MB_HD': 1 << 2,
  '100MB_FD': 1 << 3,
  '1GB_HD': 1 << 4,
  '1GB_FD': 1 << 5,
  '10GB_FD': 1 << 6,
  '40GB_FD': 1 << 7,
  '100GB_FD': 1 << 8,
  '1TB_FD': 1 << 9,
  OTHER: 1 << 10,
  COPPER: 1 << 11,
  FIBER: 1 << 12,
  AUTONEG: 1 << 13,
  PAUSE: 1 << 14,
  PAUSE_ASYM: 1 << 15,
} as const;

/** enum ofp_capabilities */
export const OFPC = {
  FLOW_STATS: 1 << 0,
  TABLE_STATS: 1 << 1,
  PORT_STATS: 1 << 2,
  GROUP_STATS: 1 << 3,
  IP_REASM: 1 << 5,
  QUEUE_STATS: 1 << 6,
  PORT_BLOCKED: 1 << 8,
} as const;

/** enum ofp_config_flags */
export const OFPC_FRAG = { NORMAL: 0, DROP: 1, REASM: 2, MASK: 3 } as const;

/** enum ofp_controller_role */
export const OFPCR_ROLE = { NOCHANGE: 0, EQUAL: 1, MASTER: 2, SLAVE: 3 } as const;

/** enum ofp_hello_elem_type */
export const OFPHET_VERSIONBITMAP = 1;

/** enum ofp_action_type (§7.2.5) */
export const OFPAT = {
  OUTPUT: 0,
  COPY_TTL_OUT: 11,
  COPY_TTL_IN: 12,
  SET_MPLS_TTL: 15,
  DEC_MPLS_TTL: 16,
  PUSH_VLAN: 17,
  POP_VLAN: 18,
  PUSH_MPLS: 19,
  POP_MPLS: 20,
  SET_QUEUE: 21,
  GROUP: 22,
  SET_NW_TTL: 23,
  DEC_NW_TTL: 24,
  SET_FIELD: 25,
  PUSH_PBB: 26,
  POP_PBB: 27,
  EXPERIMENTER: 0xffff,
} as const;

/** enum ofp_instruction_type (§7.2.4) */
export const OFPIT = {
  GOTO_TABLE: 1,
  WRITE_METADATA: 2,
  WRITE_ACTIONS: 3,
  APPLY_ACTIONS: 4,
  CLEAR_ACTIONS: 5,
  METER: 6,
  EXPERIMENTER: 0xffff,
} as const;

/** enum ofp_group_mod_command / ofp_group_type */
export const OFPGC = { ADD: 0, MODIFY: 1, DELETE: 2 } as const;
export const OFPGT = { ALL: 0, SELECT: 1, INDIRECT: 2, FF: 3 } as const;

/** enum ofp_meter_mod_command / ofp_meter_flags / ofp_meter_band_type */
export const OFPMC = { ADD: 0, MODIFY: 1, DELETE: 2 } as const;
export const OFPMF = { KBPS: 1 << 0, PKTPS: 1 << 1, BURST: 1 << 2, STATS: 1 << 3 } as const;
export const OFPMBT = { DROP: 1, DSCP_REMARK: 2, EXPERIMENTER: 0xffff } as const;

/** enum ofp_table_config */
export const OFPTC_DEPRECATED_MASK = 3;

/** enum ofp_table_feature_prop_type (§7.3.5.5.2) */
export const OFPTFPT = {
  INSTRUCTIONS: 0,
  INSTRUCTIONS_MISS: 1,
  NEXT_TABLES: 2,
  NEXT_TABLES_MISS: 3,
  WRITE_ACTIONS: 4,
  WRITE_ACTIONS_MISS: 5,
  APPLY_ACTIONS: 6,
  APPLY_ACTIONS_MISS: 7,
  MATCH: 8,
  WILDCARDS: 10,
  WRITE_SETFIELD: 12,
  WRITE_SETFIELD_MISS: 13,
  APPLY_SETFIELD: 14,
  APPLY_SETFIELD_MISS: 15,
  EXPERIMENTER: 0xfffe,
  EXPERIMENTER_MISS: 0xffff,
} as const;

/** enum ofp_queue_properties */
export const OFPQT = { MIN_RATE: 1, MAX_RATE: 2, EXPERIMENTER: 0xffff } as const;
export const OFPQ_ALL = 0xffffffff;

/** enum ofp_match_type; enum ofp_oxm_class */
export const OFPMT_STANDARD = 0;
export const OFPMT_OXM = 1;
export const OFPXMC = { NXM_0: 0x0000, NXM_1: 0x0001, OPENFLOW_BASIC: 0x8000, EXPERIMENTER: 0xffff } as const;

/** enum ofp_vlan_id */
export const OFPVID_PRESENT = 0x1000;
export const OFPVID_NONE = 0x0000;

/** Experimenter ids that appear in OpenFlow 1.3 traffic. */
export const NX_EXPERIMENTER_ID = 0x00002320; // Nicira (Open vSwitch)
export const ONF_EXPERIMENTER_ID = 0x4f4e4600; // Open Networking Foundation

/** Sizes of fixed structures (asserted by tests against what the encoders write). */
export const OFP_SIZES = {
  header: 8,
  switchFeatures: 32,
  switchConfig: 12,
  port: 64,
  packetIn: 34,
  packetOut: 24,
  flowMod: 56,
  flowRemoved: 56,
  portStatus: 80,
  groupMod: 16,
  bucket: 16,
  portMod: 40,
  tableMod: 16,
  meterMod: 16,
  multipartHeader: 16,
  flowStatsRequest: 40,
  flowStats: 56,
  aggregateStatsReply: 24,
  tableStats: 24,
  portStats: 112,
  queueStats: 40,
  groupStats: 40,
  bucketCounter: 16,
  groupDesc: 8,
  groupFeatures: 40,
  meterStats: 40,
  meterBandStats: 16,
  meterConfig: 8,
  meterFeatures: 16,
  tableFeatures: 64,
  desc: 1056,
  roleRequest: 24,
  asyncConfig: 32,
  queueGetConfigRequest: 16,
  queueGetConfigReply: 16,
  packetQueue: 16,
  errorMsg: 12,
  experimenterHeader: 16,
  match: 8,
  actionOutput: 16,
  instructionActions: 8,
} as const;
