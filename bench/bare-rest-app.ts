// The bare REST app for bench/api.ts: bench/osken_rest_app.py's program (the least a REST app granting transfer
// bypasses does) written on dmzgate's own stack, fastify and controller/ (codec, switch connection), so that every
// run measures what this machine allows a server built on that stack before any of dmzgate's work: a JSON schema,
// a bearer token compared in constant time, the two flow-mods and a barrier, the 201 after the barrier reply.
// Nothing else: no token constraints beyond the one remote range, no policy, overlap index, desired state, bundle,
// state file, audit trail, events, metrics or log lines (dmzgate does all of those on the same request).
// Never a way to run a controller.
//
// Run by bench/api.ts as  taskset -c CORE node dist/bench/bare-rest-app.js --openflow-port PORT
// with BARE_TOKEN in the environment (the bearer token every request must carry). It prints one JSON line when its
// API listens ({"msg":"listening","api":"http://127.0.0.1:PORT"}) and one when the switch (dpid 1) is connected.
//
// The same API subset and answers as the os-ken app: POST /api/v1/transfers (dtn1, routed, one DTN-side port and
// one remote port; 201, 409 for an exact duplicate of an active transfer, 502 with the switch's error, 503 without
// a switch), DELETE /api/v1/transfers/ID (delete-strict of both flows + barrier), GET /api/v1/switches.
import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyReply } from 'fastify';
import { Controller } from '../controller/controller.js';
import type { SwitchConnection } from '../controller/switch-connection.js';
import type { SwitchError } from '../controller/errors.js';
import { OFPFC, OFPFF, OFPG, OFPP, OFP_NO_BUFFER, parseIpv4, type MessageOf } from '../controller/openflow/index.js';
import { ownerCookie } from '../controller/cookie.js';
import { OWNER } from '../apps/dmz/owners.js';

const DPID = 1n;
const WAN_PORT = 1;
const DTN_PORT = 5;
const DTN_IPV4 = '10.10.1.10';
const LEASE_PRIORITY = 40000;
const BARRIER_TIMEOUT_MS = 10_000;
const IP_PROTO = { tcp: 6, udp: 17 } as const;
/** The token's one constraint, as the os-ken app checks it: the remote is in 198.18.0.0/15. */
const ALLOWED = { net: 0xc6120000, mask: 0xfffe0000 };

interface Transfer {
  id: number;
  remote: string;
  protocol: 'tcp' | 'udp';
  lport: number;
  rport: number;
  duration: number;
}
interface CreateBody {
  dtn: string;
  remote: string;
  protocol: 'tcp' | 'udp';
  local_ports: string[];
  remote_ports: string[];
  path: string;
  duration: number;
}

const ONE_PORT = { type: 'array', minItems: 1, maxItems: 1, items: { type: 'string', pattern: '^[0-9]{1,5}$' } };
const CREATE_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['dtn', 'remote', 'protocol', 'local_ports', 'remote_ports', 'path', 'duration'],
  properties: {
    dtn: { type: 'string', maxLength: 64 },
    remote: { type: 'string', format: 'ipv4' },
    protocol: { enum: ['tcp', 'udp'] },
    local_ports: ONE_PORT,
    remote_ports: ONE_PORT,
    path: { type: 'string', maxLength: 64 },
    duration: { type: 'integer', minimum: 1, maximum: 65535 },
  },
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const quad = new Uint8Array(4);
/** The address as a number, NaN if it is not a dotted quad. */
function ipv4(text: string): number {
  if (!parseIpv4(text, 0, text.length, quad, 0)) return NaN;
  return quad[0]! * 0x1000000 + ((quad[1]! << 16) | (quad[2]! << 8) | quad[3]!);
}

function port(text: string, field: string): number {
  const p = Number(text);
  if (!(p > 0 && p < 65536)) throw new HttpError(400, 'DMZ_INVALID_FIELD', `${field}: ${text} is not a port`);
  return p;
}

function flowMods(t: Transfer, command: number): Array<MessageOf<'flowMod'>> {
  const l4 = t.protocol;
  const mod = (inPort: number, src: string, dst: string, sport: number, dport: number, out: number): MessageOf<'flowMod'> => ({
    type: 'flowMod',
    xid: 0,
    cookie: ownerCookie(OWNER.LEASES, t.id),
    cookieMask: 0n,
    tableId: 0,
    command,
    idleTimeout: 0,
    hardTimeout: t.duration,
    priority: LEASE_PRIORITY,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: OFPFF.SEND_FLOW_REM,
    match: [
      { field: 'in_port', value: inPort },
      { field: 'eth_type', value: 0x0800 },
      { field: 'ipv4_src', value: src },
      { field: 'ipv4_dst', value: dst },
      { field: 'ip_proto', value: IP_PROTO[l4] },
      { field: `${l4}_src`, value: sport },
      { field: `${l4}_dst`, value: dport },
    ],
    instructions: [{ type: 'applyActions', actions: [{ type: 'output', port: out, maxLen: 0 }] }],
  });
  return [mod(WAN_PORT, t.remote, DTN_IPV4, t.rport, t.lport, DTN_PORT), mod(DTN_PORT, DTN_IPV4, t.remote, t.lport, t.rport, WAN_PORT)];
}

class BareApp {
  private sw: SwitchConnection | undefined;
  private nextId = 1;
  private readonly active = new Map<number, Transfer>();
  private readonly byTuple = new Map<string, number>();
  /** Flow-mod xid -> the error slot of the request waiting for its barrier (errors arrive before the barrier reply). */
  private readonly errors = new Map<number, { error: string | undefined }>();

  attach(ctl: Controller): void {
    ctl.on('switchUp', (conn) => {
      if (conn.dpid !== DPID) return;
      this.sw = conn;
      conn.on('switchError', (e: SwitchError) => {
        const slot = e.request && this.errors.get(e.request.xid);
        if (slot && slot.error === undefined) slot.error = e.message;
      });
      console.log(JSON.stringify({ msg: 'switch ready', dpid: conn.dpidText }));
    });
    ctl.on('switchDown', (conn) => {
      if (this.sw === conn) this.sw = undefined;
    });
  }

  get connected(): boolean {
    return this.sw !== undefined;
  }

  /** Sends the flow-mods then a barrier; resolves with the first error the switch sent for one of them. */
  private async sendConfirmed(msgs: Array<MessageOf<'flowMod'>>): Promise<string | undefined> {
    const sw = this.sw;
    if (!sw) throw new HttpError(503, 'DMZ_SWITCH_DOWN', 'the switch is not connected');
    const slot: { error: string | undefined } = { error: undefined };
    const xids = msgs.map((m) => sw.send(m));
    for (const x of xids) this.errors.set(x, slot);
    try {
      await sw.barrier(BARRIER_TIMEOUT_MS);
    } finally {
      for (const x of xids) this.errors.delete(x);
    }
    return slot.error;
  }

  async grant(b: CreateBody): Promise<Record<string, unknown>> {
    if (b.dtn !== 'dtn1' || b.path !== 'routed') throw new HttpError(422, 'DMZ_POLICY', 'only dtn1 over the routed path');
    if ((ipv4(b.remote) & ALLOWED.mask) >>> 0 !== ALLOWED.net) throw new HttpError(403, 'DMZ_REMOTE_DENIED', "/remote: outside the token's remotes");
    const t: Transfer = {
      id: this.nextId,
      remote: b.remote,
      protocol: b.protocol,
      lport: port(b.local_ports[0]!, '/local_ports'),
      rport: port(b.remote_ports[0]!, '/remote_ports'),
      duration: b.duration,
    };
    const key = `${t.remote} ${t.protocol} ${t.lport} ${t.rport}`;
    const held = this.byTuple.get(key);
    if (held !== undefined) throw new HttpError(409, 'DMZ_OVERLAP', `overlaps transfer ${held}`);
    if (!this.sw) throw new HttpError(503, 'DMZ_SWITCH_DOWN', 'the switch is not connected');
    this.nextId++;
    this.byTuple.set(key, t.id); // held while the switch round trip is under way
    let error: string | undefined;
    try {
      error = await this.sendConfirmed(flowMods(t, OFPFC.ADD));
    } catch (e) {
      this.byTuple.delete(key);
      throw e;
    }
    if (error) {
      this.byTuple.delete(key);
      await this.sendConfirmed(flowMods(t, OFPFC.DELETE_STRICT));
      throw new HttpError(502, 'DMZ_SWITCH_REFUSED', error);
    }
    this.active.set(t.id, t);
    return {
      id: t.id,
      state: 'active',
      dtn: 'dtn1',
      remote: t.remote,
      protocol: t.protocol,
      local_ports: [String(t.lport)],
      remote_ports: [String(t.rport)],
      path: 'routed',
      duration: t.duration,
    };
  }

  async release(id: number): Promise<Record<string, unknown>> {
    const t = this.active.get(id);
    if (!t) throw new HttpError(404, 'DMZ_TRANSFER_NOT_FOUND', `no transfer ${id}`);
    const error = await this.sendConfirmed(flowMods(t, OFPFC.DELETE_STRICT));
    if (error) throw new HttpError(502, 'DMZ_SWITCH_REFUSED', error);
    this.active.delete(id);
    this.byTuple.delete(`${t.remote} ${t.protocol} ${t.lport} ${t.rport}`);
    return { id, state: 'released' };
  }
}

function send(reply: FastifyReply, e: unknown): FastifyReply {
  if (e instanceof HttpError) return reply.code(e.status).send({ code: e.code, message: e.message });
  return reply.code(504).send({ code: 'DMZ_SWITCH_TIMEOUT', message: (e as Error).message });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const ofPort = Number(argv[argv.indexOf('--openflow-port') + 1]);
  const token = Buffer.from(`Bearer ${process.env.BARE_TOKEN ?? ''}`);
  if (!(ofPort > 0) || !process.env.BARE_TOKEN) throw new Error('usage: BARE_TOKEN=... bare-rest-app.js --openflow-port PORT');
  const ctl = new Controller({ port: ofPort, host: '127.0.0.1' });
  const app = new BareApp();
  app.attach(ctl);
  await ctl.listen();
  // Unknown fields refused, as dmzgate refuses them (fastify's default would drop them and go on).
  const api = Fastify({ logger: false, bodyLimit: 64 * 1024, ajv: { customOptions: { removeAdditional: false } } });
  api.addHook('onRequest', async (req, reply) => {
    const auth = Buffer.from(req.headers.authorization ?? '');
    if (auth.length !== token.length || !timingSafeEqual(auth, token)) return reply.code(401).send({ code: 'DMZ_TOKEN_INVALID' });
  });
  api.post('/api/v1/transfers', { schema: { body: CREATE_BODY } }, async (req, reply) => {
    try {
      return reply.code(201).send(await app.grant(req.body as CreateBody));
    } catch (e) {
      return send(reply, e);
    }
  });
  api.delete('/api/v1/transfers/:id', { schema: { params: { type: 'object', properties: { id: { type: 'integer' } } } } }, async (req, reply) => {
    try {
      return reply.send(await app.release((req.params as { id: number }).id));
    } catch (e) {
      return send(reply, e);
    }
  });
  api.get('/api/v1/switches', async () => ({ switches: [{ dpid: '0000000000000001', connected: app.connected }] }));
  const url = await api.listen({ port: 0, host: '127.0.0.1' });
  console.log(JSON.stringify({ msg: 'listening', api: url }));
  const stop = () => {
    void Promise.all([api.close(), ctl.close()]).then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
