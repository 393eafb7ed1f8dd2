// The API benchmark's HTTP/1.1 client: one keep-alive connection, one request at a time, each written whole and
// its answer read just far enough to know where it ends (status line, Content-Length or a chunked body).
//
// Why not node:http's Agent, which the bench used first: the load generator shares its core with ovs-vswitchd,
// and every microsecond it spends is one the switch waits for. Measured on this machine at concurrency 10 against
// dmzgate (writes off): the Agent took 0.176 ms of the generator's CPU per request, this client 0.044, and the
// server's rate in that pair of runs was 2,975 and 4,195 req/s (requests wait less behind the generator there).
// The same client drives every system.
import { connect, type Socket } from 'node:net';

export interface Answer {
  status: number;
  body: string;
}

const HEADER_END = Buffer.from('\r\n\r\n');

interface Waiting {
  resolve: (a: Answer) => void;
  reject: (e: Error) => void;
}

export class HttpConnection {
  private socket: Socket | undefined;
  private data: Buffer = Buffer.alloc(0);
  private waiting: Waiting | undefined;
  /** The server said it closes the connection after this answer (or did): the next request opens a new one. */
  private closing = false;

  constructor(
    private readonly port: number,
    private readonly authorization: string,
    private readonly host = '127.0.0.1',
  ) {}

  request(method: string, path: string, body?: string): Promise<Answer> {
    if (this.waiting) return Promise.reject(new Error('HttpConnection: one request at a time'));
    const head = `${method} ${path} HTTP/1.1\r\nhost: ${this.host}:${this.port}\r\nauthorization: ${this.authorization}\r\n`;
    const text =
      body === undefined ? `${head}\r\n` : `${head}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    return new Promise<Answer>((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.open().write(text);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private open(): Socket {
    if (this.socket && !this.closing) return this.socket;
    this.socket?.destroy();
    this.closing = false;
    this.data = Buffer.alloc(0);
    const s = connect(this.port, this.host);
    s.setNoDelay(true);
    // Events of a connection already replaced (closed by the server, then destroyed here) are not this one's.
    s.on('data', (chunk: Buffer) => {
      if (this.socket !== s) return;
      this.data = this.data.length === 0 ? chunk : Buffer.concat([this.data, chunk]);
      this.parse(false);
    });
    s.on('end', () => {
      if (this.socket === s) this.parse(true);
    });
    s.on('error', (e) => {
      if (this.socket === s) this.fail(e);
    });
    s.on('close', () => {
      if (this.socket !== s) return;
      this.socket = undefined;
      this.fail(new Error('connection closed before the answer ended'));
    });
    this.socket = s;
    return s;
  }

  /** Hands over the answer once `data` holds all of it; `ended`: the server closed its side. */
  private parse(ended: boolean): void {
    if (!this.waiting) {
      if (this.data.length > 0) this.fail(new Error(`bytes the server sent unasked: ${this.data.toString('latin1', 0, 80)}`));
      return;
    }
    const headEnd = this.data.indexOf(HEADER_END);
    if (headEnd < 0) return;
    const head = this.data.toString('latin1', 0, headEnd);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
    if (!status) return this.fail(new Error(`not an HTTP answer: ${head.slice(0, 80)}`));
    const start = headEnd + HEADER_END.length;
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (/\r\nconnection:\s*close/i.test(head) || head.startsWith('HTTP/1.0')) this.closing = true;
    let body: string;
    let end: number;
    if (length) {
      end = start + Number(length[1]);
      if (this.data.length < end) return;
      body = this.data.toString('utf8', start, end);
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const chunked = readChunked(this.data, start);
      if (chunked === undefined) return;
      if (chunked instanceof Error) return this.fail(chunked);
      ({ body, end } = chunked);
    } else if (status === 204 || status === 304) {
      body = '';
      end = start;
    } else {
      // No length: the body runs to the end of the connection.
      if (!ended) return;
      this.closing = true;
      end = this.data.length;
      body = this.data.toString('utf8', start, end);
    }
    this.data = this.data.subarray(end);
    const w = this.waiting;
    this.waiting = undefined;
    w.resolve({ status, body });
  }

  private fail(e: Error): void {
    const w = this.waiting;
    this.waiting = undefined;
    this.closing = true;
    w?.reject(e);
  }
}

/** A chunked body starting at `from`: its text and where it ends, undefined if not all of it is there yet. */
function readChunked(data: Buffer, from: number): { body: string; end: number } | Error | undefined {
  const parts: Buffer[] = [];
  let at = from;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const size = parseInt(data.toString('latin1', at, lineEnd), 16);
    if (!Number.isFinite(size)) return new Error('bad chunk size in a chunked answer');
    const start = lineEnd + 2;
    if (size === 0) {
      const trailerEnd = data.indexOf(HEADER_END, lineEnd);
      if (trailerEnd < 0) return undefined;
      return { body: Buffer.concat(parts).toString('utf8'), end: trailerEnd + HEADER_END.length };
    }
    if (data.length < start + size + 2) return undefined;
    parts.push(data.subarray(start, start + size));
    at = start + size + 2;
  }
}

/** One request on a connection of its own, closed after the answer (a single call outside the timed loops). */
export async function requestOnce(port: number, authorization: string, method: string, path: string, body?: string): Promise<Answer> {
  const c = new HttpConnection(port, authorization);
  try {
    return await c.request(method, path, body);
  } finally {
    c.close();
  }
}
