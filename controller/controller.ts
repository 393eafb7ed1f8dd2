// The controller: listens for switches over TCP and TLS (mutual authentication), runs each connection's
// handshake, keeps the registry of datapaths, and re-emits what apps need as typed events. It guards the
// registry: connections that have not finished their handshake are capped, a datapath id is held by one live
// connection at a time, and the owner may bind datapath ids to TLS certificates (`authorize`).
import { EventEmitter } from 'node:events';
import { createServer, Server, Socket, AddressInfo } from 'node:net';
import { createServer as createTlsServer, Server as TlsServer, TLSSocket } from 'node:tls';
import { SwitchConnection, ConnectionOptions, DEFAULT_CONNECTION_OPTIONS, type SwitchCertificate } from './switch-connection.js';
import { PendingConnections, DEFAULT_PENDING_LIMITS, sourceAddress, type PendingLimits } from './pending-connections.js';
import { Throttle } from './throttle.js';
import { SwitchError, dpidText } from './errors.js';
import { silentLogger, type Logger } from './log.js';
import { RoleRefusedError, type ControllerRole, type RoleClaim } from './role.js';
import type { MessageOf, OfpMessage } from './openflow/index.js';
import { parsePacket, type Packet } from './packet/index.js';

export interface TlsOptions {
  port: number;
  host?: string;
  /** PEM: our key and certificate, and the CA that signs switch certificates. */
  key: string | Buffer;
  cert: string | Buffer;
  ca: string | Buffer;
}

/** A connection's claim to a datapath id, for the owner's `authorize`. */
export interface DatapathClaim {
  dpid: bigint;
  remote: string;
  /** The switch's certificate, over TLS; undefined over plain TCP. */
  certificate: SwitchCertificate | undefined;
}

export interface ControllerOptions extends Partial<ConnectionOptions>, Partial<PendingLimits> {
  /** TCP port for plain OpenFlow (6653, the IANA port); null to not listen on TCP. */
  port?: number | null;
  host?: string;
  tls?: TlsOptions;
  logger?: Logger;
  /**
   * When a connection claims the datapath id a live connection holds, that one is sent an echo request: if it
   * answers within this time the newcomer is refused, else it is closed and the newcomer takes its place.
   */
  takeoverEchoMs?: number;
  /** Whether a connection may claim a datapath id: the reason to refuse it, or undefined. */
  authorize?: (claim: DatapathClaim) => string | undefined;
}

/** Why a connection was refused. */
export type RefusalReason = 'pending-cap' | 'pending-cap-per-source' | 'datapath-in-use' | 'identity';

export interface Refusal {
  reason: RefusalReason;
  remote: string;
  /** The datapath id it claimed (not for the pending caps: those refuse before any OpenFlow). */
  dpid?: bigint;
  detail: string;
}

const DEFAULT_TAKEOVER_ECHO_MS = 2000;
/** Refusals logged per reason (and datapath): the first at once, then one line per window with their count. */
const REFUSAL_LOG_WINDOW_MS = 10_000;

/** A packet-in with its frame parsed on first use (parsing costs more than most apps need). */
export class PacketIn {
  private parsed: Packet | null | undefined;
  constructor(
    readonly conn: SwitchConnection,
    readonly msg: MessageOf<'packetIn'>,
  ) {}

  /** The parsed frame, or null if it could not be parsed. */
  get packet(): Packet | null {
    if (this.parsed === undefined) {
      try {
        this.parsed = parsePacket(this.msg.data);
      } catch {
        this.parsed = null;
      }
    }
    return this.parsed;
  }

  /** The ingress port, from the match (OF1.3.5 §7.4.1: in_port is always present). */
  get inPort(): number | undefined {
    const f = this.msg.match.find((m) => m.field === 'in_port');
    return typeof f?.value === 'number' ? f.value : undefined;
  }
}

export interface ControllerEvents {
  switchUp: [SwitchConnection];
  switchDown: [SwitchConnection, string];
  packetIn: [PacketIn];
  portStatus: [SwitchConnection, MessageOf<'portStatus'>];
  flowRemoved: [SwitchConnection, MessageOf<'flowRemoved'>];
  /** OFPT_ERRORs that answer no outstanding request. */
  switchError: [SwitchConnection, SwitchError];
  /** Every other message from a ready switch. */
  message: [SwitchConnection, OfpMessage];
  /** A connection refused: over a cap on unauthenticated connections, or for the datapath id it claimed. */
  refused: [Refusal];
  /** A switch refused this controller's role claim (stale generation id, or another answer than claimed). */
  roleRefused: [SwitchConnection, RoleRefusedError];
}

/** One switch's answer to a role change. */
export interface RoleOutcome {
  conn: SwitchConnection;
  error?: Error;
}

export class Controller extends EventEmitter<ControllerEvents> {
  readonly log: Logger;
  private readonly opts: ConnectionOptions;
  private readonly datapaths = new Map<bigint, SwitchConnection>();
  /** The connection that holds each datapath id: admitted, ready or still completing its handshake. */
  private readonly holders = new Map<bigint, SwitchConnection>();
  /** Admissions per datapath id run one after another (the tail of each chain). */
  private readonly admissions = new Map<bigint, Promise<unknown>>();
  private readonly connections = new Set<SwitchConnection>();
  private readonly pending: PendingConnections;
  /** The pending slot of each TCP socket a TLS connection runs on, given back when its switch is ready. */
  private readonly tlsSlots = new WeakMap<Socket, () => void>();
  /** TCP sockets whose TLS handshake is under way (no SwitchConnection yet): ended by close(). */
  private readonly tlsHandshaking = new Set<Socket>();
  private readonly refusalLog: Throttle<Refusal>;
  private tcpServer: Server | undefined;
  private tlsTcpServer: Server | undefined;
  private tlsServer: TlsServer | undefined;
  /** Our role on every switch; claimed on each connection once it was ever set (equal is the switch's default). */
  private claim: RoleClaim = { role: 'equal', generationId: 0n };
  private roleSet = false;

  constructor(private readonly options: ControllerOptions = {}) {
    super();
    this.log = options.logger ?? silentLogger();
    this.opts = { ...DEFAULT_CONNECTION_OPTIONS, ...stripUndefined(options) };
    this.pending = new PendingConnections({
      ...DEFAULT_PENDING_LIMITS,
      ...stripUndefined({ maxPending: options.maxPending, maxPendingPerSource: options.maxPendingPerSource }),
    });
    this.refusalLog = new Throttle<Refusal>(REFUSAL_LOG_WINDOW_MS, (_key, count, r) => {
      this.log.warn(
        { reason: r.reason, remote: r.remote, ...(r.dpid !== undefined ? { dpid: dpidText(r.dpid) } : {}), detail: r.detail, count },
        'switch connection refused',
      );
    });
  }

  /** Connections that have not finished their handshake (counted against the pending caps). */
  get pendingConnections(): number {
    return this.pending.size;
  }

  /** Starts listening; resolves with the bound ports (useful with port 0). */
  async listen(): Promise<{ port?: number; tlsPort?: number }> {
    const out: { port?: number; tlsPort?: number } = {};
    const port = this.options.port === undefined ? 6653 : this.options.port;
    if (port !== null) {
      this.tcpServer = createServer((s) => {
        const release = this.takeSlot(s);
        if (release) this.accept(s, release);
      });
      out.port = await listenOn(this.tcpServer, port, this.options.host);
      this.log.info({ port: out.port, host: this.options.host ?? '(every address)' }, 'listening for switches (TCP)');
    }
    const tls = this.options.tls;
    if (tls) {
      // Mutual authentication: a switch must present a certificate signed by our CA. A TCP server of our own
      // takes the connections, so that one over the caps is refused before any TLS state is made for it.
      this.tlsServer = createTlsServer({
        key: tls.key,
        cert: tls.cert,
        ca: tls.ca,
        requestCert: true,
        rejectUnauthorized: true,
        handshakeTimeout: this.opts.handshakeTimeoutMs,
      });
      this.tlsTcpServer = createServer((raw) => {
        const release = this.takeSlot(raw);
        if (!release) return;
        this.tlsSlots.set(raw, release);
        this.tlsHandshaking.add(raw);
        raw.once('close', () => this.tlsHandshaking.delete(raw));
        this.tlsServer!.emit('connection', raw);
      });
      this.tlsServer.on('secureConnection', (s: TLSSocket) => {
        const raw = (s as TLSSocket & { _parent?: Socket })._parent; // the TCP socket under a server-side TLSSocket
        if (raw) this.tlsHandshaking.delete(raw);
        this.accept(s, (raw && this.tlsSlots.get(raw)) ?? (() => undefined), certificateOf(s));
      });
      // Node ends a connection whose client certificate fails verification without an error of its own (the
      // event says only "socket hang up"): the reason is in authorizationError. By then both sockets have lost
      // their handles and addresses, so the address is noted when the TCP connection arrives.
      const remotes = new WeakMap<Socket, string>();
      this.tlsServer.on('connection', (raw: Socket) => remotes.set(raw, `${raw.remoteAddress}:${raw.remotePort}`));
      this.tlsServer.on('tlsClientError', (e, s) => {
        const raw = (s as TLSSocket & { _parent?: Socket })._parent; // the TCP socket under a server-side TLSSocket
        const remote = (raw && remotes.get(raw)) ?? '?';
        const err = s.authorizationError ? `switch certificate rejected: ${String(s.authorizationError)}` : e.message;
        this.log.warn({ remote, err }, 'TLS handshake with switch failed');
      });
      out.tlsPort = await listenOn(this.tlsTcpServer, tls.port, tls.host ?? this.options.host);
      this.log.info({ port: out.tlsPort, host: tls.host ?? this.options.host ?? '(every address)' }, 'listening for switches (TLS)');
    }
    return out;
  }

  /** Whether a TCP or TLS listener is up (for readiness checks). */
  get listening(): boolean {
    return !!(this.tcpServer?.listening || this.tlsTcpServer?.listening);
  }

  /** Ready switches. */
  switches(): SwitchConnection[] {
    return [...this.datapaths.values()];
  }

  get(dpid: bigint): SwitchConnection | undefined {
    return this.datapaths.get(dpid);
  }

  /** The role this controller claims on every switch. */
  get role(): RoleClaim {
    return this.claim;
  }

  /**
   * Claims `role` on every connected switch and on each that connects from now on (OF1.3.5 §6.3.5). Resolves with
   * each switch's outcome; refusals are also emitted as roleRefused. Leaving master stops local writes at once.
   */
  async setRole(role: ControllerRole, generationId?: bigint): Promise<RoleOutcome[]> {
    if (generationId === undefined && role !== 'slave') throw new Error(`a ${role} claim needs a generation id`);
    this.claim = generationId === undefined ? { role } : { role, generationId };
    this.roleSet = true;
    const claim = this.claim;
    const targets = [...this.connections].filter((c) => c.state === 'ready' || c.roleClaimed);
    return Promise.all(
      targets.map((conn) =>
        conn.requestRole(claim).then(
          (): RoleOutcome => ({ conn }),
          (e: Error): RoleOutcome => {
            if (e instanceof RoleRefusedError) this.emit('roleRefused', conn, e);
            return { conn, error: e };
          },
        ),
      ),
    );
  }

  async close(): Promise<void> {
    this.refusalLog.close();
    for (const c of this.connections) c.close('controller shutting down');
    for (const raw of this.tlsHandshaking) raw.destroy();
    await Promise.all([closeServer(this.tcpServer), closeServer(this.tlsTcpServer), closeServer(this.tlsServer)]);
  }

  /** A pending slot for a new TCP connection, given back when it closes; undefined (and the socket ended) if over a cap. */
  private takeSlot(socket: Socket): (() => void) | undefined {
    const release = this.pending.take(sourceAddress(socket.remoteAddress));
    if (typeof release === 'string') {
      const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
      socket.on('error', () => undefined);
      socket.destroy();
      const limit =
        release === 'pending-cap'
          ? (this.options.maxPending ?? DEFAULT_PENDING_LIMITS.maxPending)
          : (this.options.maxPendingPerSource ?? DEFAULT_PENDING_LIMITS.maxPendingPerSource);
      this.refuse({
        reason: release,
        remote,
        detail: `${limit} connections ${release === 'pending-cap' ? '' : 'from this address '}have not finished their handshake`,
      });
      return undefined;
    }
    socket.once('close', release);
    return release;
  }

  private refuse(r: Refusal): void {
    this.refusalLog.note(r.dpid === undefined ? r.reason : `${r.reason} ${r.dpid}`, r);
    this.emit('refused', r);
  }

  private accept(socket: Socket, release: () => void, certificate?: SwitchCertificate): void {
    const conn: SwitchConnection = new SwitchConnection(socket, this.opts, this.log, {
      onMessage: (msg) => this.onMessage(conn, msg),
      admit: (c) => this.admit(c),
      role: () => (this.roleSet ? this.claim : undefined),
    });
    conn.certificate = certificate;
    this.connections.add(conn);
    conn.on('ready', () => {
      release();
      this.onReady(conn);
    });
    conn.on('close', (reason) => {
      release();
      this.connections.delete(conn);
      if (conn.dpid === undefined) return;
      if (this.holders.get(conn.dpid) === conn) this.holders.delete(conn.dpid);
      if (this.datapaths.get(conn.dpid) === conn) {
        this.datapaths.delete(conn.dpid);
        this.emit('switchDown', conn, reason);
      }
    });
    conn.on('switchError', (e) => this.emit('switchError', conn, e));
    conn.on('roleRefused', (e) => this.emit('roleRefused', conn, e));
  }

  /** Whether `conn` may hold the datapath id its features reply named; one admission per datapath id at a time. */
  private admit(conn: SwitchConnection): Promise<string | undefined> {
    const dpid = conn.dpid!;
    const next = (this.admissions.get(dpid) ?? Promise.resolve()).then(() => this.admitNow(conn, dpid));
    const tail = next.catch(() => undefined);
    this.admissions.set(dpid, tail);
    void tail.then(() => {
      if (this.admissions.get(dpid) === tail) this.admissions.delete(dpid);
    });
    return next;
  }

  private async admitNow(conn: SwitchConnection, dpid: bigint): Promise<string | undefined> {
    if (conn.isClosed()) return 'closed';
    const denied = this.options.authorize?.({ dpid, remote: conn.remote, certificate: conn.certificate });
    if (denied !== undefined) {
      this.refuse({ reason: 'identity', remote: conn.remote, dpid, detail: denied });
      return denied;
    }
    const holder = this.holders.get(dpid);
    if (holder && holder !== conn && !holder.isClosed()) {
      // A switch that restarted comes back while its old connection looks up (no FIN reached us): the old one
      // is asked to prove it is alive before anyone is believed.
      const ms = this.options.takeoverEchoMs ?? DEFAULT_TAKEOVER_ECHO_MS;
      const alive = await holder.request({ type: 'echoRequest', xid: 0, data: Buffer.alloc(0) }, ms).then(
        () => true,
        () => false,
      );
      if (alive && !holder.isClosed()) {
        const why = `datapath ${dpidText(dpid)} is connected from ${holder.remote}, which still answers echo requests`;
        this.refuse({ reason: 'datapath-in-use', remote: conn.remote, dpid, detail: why });
        return why;
      }
      this.log.info(
        { dpid: dpidText(dpid), old: holder.remote, new: conn.remote },
        'datapath reconnected; its old connection did not answer an echo request',
      );
      holder.close(`replaced by a new connection from the same datapath (no echo reply within ${ms} ms)`);
    }
    if (conn.isClosed()) return 'closed';
    this.holders.set(dpid, conn);
    return undefined;
  }

  private onReady(conn: SwitchConnection): void {
    const dpid = conn.dpid!;
    if (this.holders.get(dpid) !== conn) {
      conn.close('its datapath id was taken over before it was ready');
      return;
    }
    this.datapaths.set(dpid, conn);
    this.emit('switchUp', conn);
  }

  private onMessage(conn: SwitchConnection, msg: OfpMessage): void {
    switch (msg.type) {
      case 'packetIn':
        this.emit('packetIn', new PacketIn(conn, msg));
        return;
      case 'portStatus':
        this.emit('portStatus', conn, msg);
        return;
      case 'flowRemoved':
        this.emit('flowRemoved', conn, msg);
        return;
      default:
        this.emit('message', conn, msg);
    }
  }
}

function certificateOf(s: TLSSocket): SwitchCertificate | undefined {
  const c = s.getPeerCertificate();
  if (!c || !c.fingerprint256) return undefined;
  return { subject: { ...c.subject } as Record<string, string | string[]>, fingerprint: c.fingerprint, fingerprint256: c.fingerprint256 };
}

function listenOn(server: Server, port: number, host?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server | TlsServer | undefined): Promise<void> {
  return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
