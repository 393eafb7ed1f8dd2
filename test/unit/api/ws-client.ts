// A WebSocket client for the event stream tests: collects messages, waits for them, reports refused handshakes.
import { WebSocket } from 'ws';

export interface Msg {
  id?: number;
  type?: string;
  control?: string;
  transfer?: { id: number; project: string; state: string };
  block?: { id: number };
  switch?: { dpid: string; reason?: string };
  [k: string]: unknown;
}

export class EventClient {
  readonly messages: Msg[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const text = Buffer.isBuffer(d) ? d.toString() : Array.isArray(d) ? Buffer.concat(d).toString() : Buffer.from(d).toString();
      this.messages.push(JSON.parse(text) as Msg);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      this.wake();
    });
  }

  get events(): Msg[] {
    return this.messages.filter((m) => m.id !== undefined);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves once `pred` holds (checked on every message), or rejects after `ms`. */
  async until(pred: (c: EventClient) => boolean, ms = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

/** Opens a stream; resolves with the client once the hello arrived. */
export async function connectEvents(url: string, opts: { headers?: Record<string, string>; protocols?: string[] } = {}): Promise<EventClient> {
  const ws = new WebSocket(url, opts.protocols ?? [], { headers: opts.headers ?? {} });
  const c = new EventClient(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake refused: ${res.statusCode}`)));
  });
  await c.until((x) => x.messages.some((m) => m.control === 'hello'), 5000, 'hello');
  return c;
}

/** A refused handshake's status, headers and JSON body. */
export function refusedHandshake(
  url: string,
  opts: { headers?: Record<string, string>; protocols?: string[] } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: { code: string } }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts.protocols ?? [], { headers: opts.headers ?? {} });
    ws.once('open', () => {
      ws.close();
      reject(new Error('handshake accepted'));
    });
    ws.once('error', () => undefined);
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => {
        text += s;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) as { code: string } }));
    });
  });
}
