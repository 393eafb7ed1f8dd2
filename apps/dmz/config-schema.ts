// The site config's JSON schema: the contract for the YAML file (and its documentation). Shapes and formats are
// checked here; cross-references (a DTN's switch exists, its port has role dtn, ...) in config.ts.
import { NX_HASH_FIELDS } from '../../controller/openflow/nx-actions.js';
import { PORT_ROLES, PROTOCOLS } from './site.js';

const mac = { type: 'string', pattern: '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$' };
const name = { type: 'string', pattern: '^[a-zA-Z][a-zA-Z0-9_.-]{0,62}$' };
const portNo = { type: 'integer', minimum: 1, maximum: 0xffffff00 };
const ipv4 = { type: 'string', format: 'ipv4' };
const ipv6 = { type: 'string', format: 'ipv6' };
const duration = {
  anyOf: [
    { type: 'integer', minimum: 1 },
    { type: 'string', pattern: '^\\d+(s|m|h|d)?$' },
  ],
  description: 'seconds, or a number with unit s/m/h/d (e.g. 12h)',
};
const portRange = {
  anyOf: [
    { type: 'integer', minimum: 0, maximum: 65535 },
    { type: 'string', pattern: '^\\d{1,5}(-\\d{1,5})?$' },
  ],
};

const linkEnd = { type: 'string', pattern: '^[a-zA-Z][a-zA-Z0-9_.-]{0,62}:[1-9][0-9]{0,9}$', description: 'SWITCH:PORT, e.g. core1:3' };

const host = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'switch', 'port', 'mac'],
  properties: {
    name,
    switch: name,
    port: portNo,
    mac,
    ipv4: { type: 'array', items: ipv4, uniqueItems: true },
    ipv6: { type: 'array', items: ipv6, uniqueItems: true },
  },
};

export const SITE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['site', 'switches'],
  properties: {
    site: name,
    switches: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'dpid', 'ports'],
        properties: {
          name,
          dpid: {
            anyOf: [
              { type: 'integer', minimum: 0 },
              { type: 'string', pattern: '^(0x)?[0-9a-fA-F]{1,16}$|^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){7}$' },
            ],
            description: 'datapath id: hex (0x1, 0000000000000001) or 8 colon-separated bytes',
          },
          ports: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['port', 'role'],
              properties: {
                port: portNo,
                role: { enum: [...PORT_ROLES] },
                name,
                'router-mac': {
                  ...mac,
                  description:
                    "wan-routed only: the MAC of the border router on this port; a lease that leaves by it addresses it (needed when the DTNs' gateway is another entry's router)",
                },
              },
            },
          },
          'lag-hash': {
            enum: [...NX_HASH_FIELDS],
            description:
              "the fields this switch hashes to spread transfers over parallel links (Open vSwitch's bundle action); without it, a select group and the switch's own hash",
          },
          certificate: {
            type: 'object',
            additionalProperties: false,
            minProperties: 1,
            description: 'the TLS certificate this switch connects with: its datapath id is refused to any other (and to plain TCP)',
            properties: {
              subject: {
                type: 'string',
                pattern: '^/?[A-Za-z.0-9]+=[^,/]+([,/] *[A-Za-z.0-9]+=[^,/]+)*$',
                description: 'attributes the subject must have, e.g. "CN=sw1 id:551fcfcb-..." or "CN=sw1, O=Example"',
              },
              fingerprint: {
                type: 'string',
                pattern: '^([0-9a-fA-F]{2}:?){19}[0-9a-fA-F]{2}$|^([0-9a-fA-F]{2}:?){31}[0-9a-fA-F]{2}$',
                description: 'SHA-1 (as `ovs-pki fingerprint` prints it) or SHA-256 fingerprint, hex, colons optional',
              },
            },
          },
        },
      },
    },
    dtns: { type: 'array', items: host },
    perfsonar: { type: 'array', items: host },
    lan: { type: 'array', items: host },
    circuits: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'switch', 'trunk-port', 'vlan', 'far-end-mac'],
        properties: {
          name,
          switch: name,
          'trunk-port': portNo,
          vlan: { type: 'integer', minimum: 1, maximum: 4094 },
          'far-end-mac': mac,
          'capacity-mbps': {
            type: 'integer',
            minimum: 1,
            description: 'admission control: the rates of the transfers on the circuit never sum to more',
          },
        },
      },
    },
    links: {
      type: 'array',
      description: 'cables between site switches: both ends are ports with role fabric; LLDP checks them',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['a', 'b', 'capacity-mbps'],
        properties: {
          a: linkEnd,
          b: linkEnd,
          'capacity-mbps': { type: 'integer', minimum: 1 },
          cost: { type: 'integer', minimum: 1, maximum: 65535, description: 'for path selection, lower preferred; default 1' },
        },
      },
    },
    clusters: {
      type: 'array',
      description: 'DTN clusters: a transfer naming a cluster covers every member DTN',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'members'],
        properties: { name, members: { type: 'array', items: name, minItems: 1, uniqueItems: true } },
      },
    },
    policy: {
      type: 'object',
      additionalProperties: false,
      properties: {
        'max-lease': duration,
        ports: { type: 'array', items: portRange, minItems: 1 },
        protocols: { type: 'array', items: { enum: [...PROTOCOLS] }, minItems: 1, uniqueItems: true },
        'lease-flow-budget': {
          type: 'integer',
          minimum: 2,
          maximum: 1_000_000,
          description: 'most flows one transfer (or one block, on each switch) may install; default 256',
        },
        'switch-flow-budget': {
          type: 'integer',
          minimum: 2,
          maximum: 100_000_000,
          description:
            'most transfer and block flows one switch may hold in all; default 65536, capped by the table size the switch reports (OFPMP_TABLE_FEATURES max_entries) less the pipeline flows',
        },
        'circuit-default-rate-mbps': {
          type: 'number',
          exclusiveMinimum: 0,
          description: "the rate of a transfer on a circuit with capacity-mbps that asks for none; default the circuit's whole capacity",
        },
        'backup-paths': {
          type: 'boolean',
          description:
            'whether a transfer across the fabric gets, at each switch of its path, a detour around the next link as a fast-failover group; default false',
        },
      },
    },
  },
} as const;
