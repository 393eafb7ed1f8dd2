// OFPMP_TABLE_FEATURES (OF1.3.5 §7.3.5.5): what each flow table can match, set and do. The reply lists every
// table; a request with an empty body asks for them, one with a body sets them. Both bodies are an array of
//
//   struct ofp_table_features { uint16_t length; uint8_t table_id; uint8_t pad[5];
//     char name[OFP_MAX_TABLE_NAME_LEN]; uint64_t metadata_match; uint64_t metadata_write; uint32_t config;
//     uint32_t max_entries; struct ofp_table_feature_prop_header properties[0]; };   (64 bytes + properties)
//
// The properties are in table-feature-props.ts. The name is UTF-8, as Ryu reads it.
import { Reader, Writer } from '../buffer.js';
import { OFPT, OFPMP, OFP_SIZES } from '../constants.js';
import { register } from '../registry.js';
import { RyuDict, bad, hex, jArr, jStr, jU64, u64ToJson } from '../ryu-json.js';
import { bodyList, counted, entry, jU8, jU32 } from './common.js';
import { TableFeatureProp, readProp, writeProp, propToRyu, propFromRyu, propLength, formatProp } from './table-feature-props.js';

export type { TableFeatureProp, FeatureId, OxmId } from './table-feature-props.js';

const OFP_MAX_TABLE_NAME_LEN = 32;

export interface TableFeatures {
  tableId: number;
  name: string;
  metadataMatch: bigint;
  metadataWrite: bigint;
  config: number;
  maxEntries: number;
  properties: TableFeatureProp[];
}

export interface TableFeaturesStatsRequestMsg {
  type: 'tableFeaturesStatsRequest';
  xid: number;
  flags: number;
  body: TableFeatures[];
}
export interface TableFeaturesStatsReplyMsg {
  type: 'tableFeaturesStatsReply';
  xid: number;
  flags: number;
  body: TableFeatures[];
}

function readName(r: Reader): string {
  const b = r.bytes(OFP_MAX_TABLE_NAME_LEN);
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? OFP_MAX_TABLE_NAME_LEN : nul);
}

/** The name, NUL-padded; cut to 31 bytes at a character boundary. */
function writeName(w: Writer, name: string): void {
  let b = Buffer.from(name, 'utf8');
  if (b.length >= OFP_MAX_TABLE_NAME_LEN) {
    let n = OFP_MAX_TABLE_NAME_LEN - 1;
    while (n > 0 && (b[n]! & 0xc0) === 0x80) n--; // don't split a multi-byte character
    b = b.subarray(0, n);
  }
  w.bytes(b);
  w.zeros(OFP_MAX_TABLE_NAME_LEN - b.length);
}

function readBody(r: Reader): TableFeatures[] {
  const body: TableFeatures[] = [];
  while (r.pos < r.end) {
    const e = entry(r, 0, OFP_SIZES.tableFeatures, 'table features');
    e.skip(2);
    const tableId = e.u8();
    e.skip(5);
    const t: TableFeatures = {
      tableId,
      name: readName(e),
      metadataMatch: e.u64(),
      metadataWrite: e.u64(),
      config: e.u32(),
      maxEntries: e.u32(),
      properties: [],
    };
    while (e.pos < e.end) t.properties.push(readProp(e));
    body.push(t);
  }
  return body;
}

function writeBody(w: Writer, body: TableFeatures[]): void {
  for (const t of body) {
    const start = w.pos;
    w.u16(0);
    w.u8(t.tableId);
    w.zeros(5);
    writeName(w, t.name);
    w.u64(t.metadataMatch);
    w.u64(t.metadataWrite);
    w.u32(t.config);
    w.u32(t.maxEntries);
    for (const p of t.properties) writeProp(w, p);
    if (w.pos - start > 0xffff) bad(`table ${t.tableId} features encode to ${w.pos - start} bytes, more than 65535`);
    w.setU16(start, w.pos - start);
  }
}

const entryLength = (t: TableFeatures) => t.properties.reduce<number>((n, p) => n + ((propLength(p) + 7) & ~7), OFP_SIZES.tableFeatures);

function bodyToRyu(body: TableFeatures[]): RyuDict {
  return {
    body: body.map((t) => ({
      OFPTableFeaturesStats: {
        length: entryLength(t),
        table_id: t.tableId,
        name: t.name,
        metadata_match: u64ToJson(t.metadataMatch),
        metadata_write: u64ToJson(t.metadataWrite),
        config: t.config,
        max_entries: t.maxEntries,
        properties: t.properties.map(propToRyu),
      },
    })),
  };
}

function bodyFromRyu(d: RyuDict): TableFeatures[] {
  return bodyList(d, 'OFPTableFeaturesStats').map((t) => ({
    tableId: jU8(t, 'table_id'),
    name: jStr(t, 'name'),
    metadataMatch: jU64(t, 'metadata_match'),
    metadataWrite: jU64(t, 'metadata_write'),
    config: jU32(t, 'config'),
    maxEntries: jU32(t, 'max_entries'),
    properties: jArr(t, 'properties').map(propFromRyu),
  }));
}

function formatBody(body: TableFeatures[]): string {
  return counted(
    body.map(
      (t) =>
        `table ${t.tableId} (${JSON.stringify(t.name)}): metadata:match=${hex(t.metadataMatch)},write=${hex(t.metadataWrite)} ` +
        `config=${hex(t.config)} max_entries=${t.maxEntries}${t.properties.map((p) => ` ${formatProp(p)}`).join('')}`,
    ),
    'tables',
  );
}

register<TableFeaturesStatsRequestMsg>({
  type: 'tableFeaturesStatsRequest',
  ofpType: OFPT.MULTIPART_REQUEST,
  mpType: OFPMP.TABLE_FEATURES,
  ryuName: 'OFPTableFeaturesStatsRequest',
  ofpName: 'OFPST_TABLE_FEATURES request',
  decode: (r, xid, flags) => ({ type: 'tableFeaturesStatsRequest', xid, flags, body: readBody(r) }),
  encode: (w, m) => writeBody(w, m.body),
  toRyu: (m) => bodyToRyu(m.body),
  fromRyu: (d, xid, flags) => ({ type: 'tableFeaturesStatsRequest', xid, flags, body: bodyFromRyu(d) }),
  format: (m) => (m.body.length ? formatBody(m.body) : ''),
});

register<TableFeaturesStatsReplyMsg>({
  type: 'tableFeaturesStatsReply',
  ofpType: OFPT.MULTIPART_REPLY,
  mpType: OFPMP.TABLE_FEATURES,
  ryuName: 'OFPTableFeaturesStatsReply',
  ofpName: 'OFPST_TABLE_FEATURES reply',
  decode: (r, xid, flags) => ({ type: 'tableFeaturesStatsReply', xid, flags, body: readBody(r) }),
  encode: (w, m) => writeBody(w, m.body),
  toRyu: (m) => bodyToRyu(m.body),
  fromRyu: (d, xid, flags) => ({ type: 'tableFeaturesStatsReply', xid, flags, body: bodyFromRyu(d) }),
  format: (m) => formatBody(m.body),
});
