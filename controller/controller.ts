// The controller: listens for switches over TCP and TLS (mutual authentication), runs each connection's
// handshake, keeps the registry of datapaths, and re-emits what apps need as typed events.
import { EventEmitter } from 'node:events';
import { createServer, Server, Socket, AddressInfo } from 'node:net';
import { createServer as createTlsServer, Server as TlsServer, TLSSocket } from 'node:tls';
import { SwitchConnection, ConnectionOptions, DEFAULT_CONNECTION_OPTIONS } from './switch-connection.js';
import { SwitchError } from './errors.js';
import { silentLogger, type Logger } from './log.js';
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

export interface ControllerOptions extends Partial<ConnectionOptions> {
  /** TCP port for plain OpenFlow (6653, the IANA port); null to not listen on TCP. */
  port?: number | null;
  host?: string;
  tls?: TlsOptions;
  logger?: Logger;
}

/** A packet-in with its frame parsed on first use (parsing costs more than most apps need). */
export class PacketIn {
  private parsed: Packet | null | undefined;
  constructor(readonly conn: SwitchConnection, readonly msg: MessageOf<'packetIn'>) {}

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
}

export class Controller extends EventEmitter<ControllerEvents> {
  readonly log: Logger;
  private readonly opts: ConnectionOptions;
  private readonly datapaths = new Map<bigint, SwitchConnection>();
  private readonly connections = new Set<SwitchConnection>();
  private tcpServer: Server | undefined;
  private tlsServer: TlsServer | undefined;

  constructor(private readonly options: ControllerOptions = {}) {
    super();
    this.log = options.logger ?? silentLogger();
    this.opts = { ...DEFAULT_CONNECTION_OPTIONS, ...stripUndefined(options) };
  }

  /** Starts listening; resolves with the bound ports (useful with port 0). */
  async listen(): Promise<{ port?: number; tlsPort?: number }> {
    const out: { port?: number; tlsPort?: number } = {};
    const port = this.options.port === undefined ? 6653 : this.options.port;
    if (port !== null) {
      this.tcpServer = createServer((s) => this.accept(s));
      out.port = await listenOn(this.tcpServer, port, this.options.host);
      this.log.info({ port: out.port }, 'listening for switches (TCP)');
    }
    const tls = this.options.tls;
    if (tls) {
      // Mutual authentication: a switch must present a certificate signed by our CA.
      this.tlsServer = createTlsServer({ key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: true, rejectUnauthorized: true });
      this.tlsServer.on('secureConnection', (s: TLSSocket) => this.accept(s));
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
      out.tlsPort = await listenOn(this.tlsServer, tls.port, tls.host ?? this.options.host);
      this.log.info({ port: out.tlsPort }, 'listening for switches (TLS)');
    }
    return out;
  }

  /** Whether a TCP or TLS listener is up (for readiness checks). */
  get listening(): boolean {
    return !!(this.tcpServer?.listening || this.tlsServer?.listening);
  }

  /** Ready switches. */
  switches(): SwitchConnection[] {
    return [...this.datapaths.values()];
  }

  get(dpid: bigint): SwitchConnection | undefined {
    return this.datapaths.get(dpid);
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.close('controller shutting down');
    await Promise.all([closeServer(this.tcpServer), closeServer(this.tlsServer)]);
  }

  private accept(socket: Socket): void {
    const conn: SwitchConnection = new SwitchConnection(socket, this.opts, this.log, (msg) => this.onMessage(conn, msg));
    this.connections.add(conn);
    conn.on('ready', () => this.onReady(conn));
    conn.on('close', (reason) => {
      this.connections.delete(conn);
      if (conn.dpid !== undefined && this.datapaths.get(conn.dpid) === conn) {
        this.datapaths.delete(conn.dpid);
        this.emit('switchDown', conn, reason);
      }
    });
    conn.on('switchError', (e) => this.emit('switchError', conn, e));
  }

  private onReady(conn: SwitchConnection): void {
    const dpid = conn.dpid!;
    const old = this.datapaths.get(dpid);
    if (old && old !== conn) {
      // The same datapath reconnected (e.g. after a switch restart): the new channel replaces the old one.
      this.log.info({ dpid: conn.dpidText, old: old.remote, new: conn.remote }, 'datapath reconnected; replacing old connection');
      old.close('replaced by a new connection from the same datapath');
    }
    this.datapaths.set(dpid, conn);
    this.emit('switchUp', conn);
  }

  private onMessage(conn: SwitchConnection, msg: OfpMessage): void {
    switch (msg.type) {
      case 'packetIn': this.emit('packetIn', new PacketIn(conn, msg)); return;
      case 'portStatus': this.emit('portStatus', conn, msg); return;
      case 'flowRemoved': this.emit('flowRemoved', conn, msg); return;
      default: this.emit('message', conn, msg);
    }
  }
}

function listenOn(server: Server | TlsServer, port: number, host?: string): Promise<number> {
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
