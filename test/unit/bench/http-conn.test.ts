// bench/http-conn.ts, the API benchmark's HTTP/1.1 client, against real servers on loopback: node:http for what
// a server normally sends, and a raw TCP server for answers cut into pieces, unasked bytes and cut connections.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { HttpConnection, requestOnce } from '../../../bench/http-conn.js';

const servers: Array<Server | TcpServer> = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

async function listen<S extends Server | TcpServer>(s: S): Promise<number> {
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}

/** A node:http server; `seen` gets each request's method, path, authorization, body and connection number. */
async function httpServer(handle: (req: IncomingMessage, body: string, res: ServerResponse) => void) {
  const seen: Array<{ method: string; url: string; auth: string | undefined; body: string; conn: number }> = [];
  const conns = new WeakMap<object, number>();
  let nconn = 0;
  const srv = createHttpServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      body += d;
    });
    req.on('end', () => {
      if (!conns.has(req.socket)) conns.set(req.socket, ++nconn);
      seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body, conn: conns.get(req.socket)! });
      handle(req, body, res);
    });
  });
  const port = await listen(srv);
  return { port, seen, srv };
}

/** A TCP server that answers every request's bytes with `answer(socket)` once a blank line arrived. */
async function tcpServer(answer: (s: Socket) => void) {
  const sockets: Socket[] = [];
  const srv = createTcpServer((s) => {
    sockets.push(s);
    let got = '';
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) {
        got = '';
        answer(s);
      }
    });
    s.on('error', () => undefined);
  });
  const port = await listen(srv);
  return {
    port,
    sockets,
    close: () => {
      for (const s of sockets) s.destroy();
    },
  };
}

describe('HttpConnection', () => {
  it('sends method, path, authorization and a JSON body, and reads status and body by Content-Length, on one kept-alive connection', async () => {
    const { port, seen, srv } = await httpServer((req, body, res) => {
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ echo: body, n: seen.length }));
    });
    const c = new HttpConnection(port, 'Bearer tok');
    const a = await c.request('POST', '/api/v1/transfers', '{"dtn":"dtn1"}');
    const b = await c.request('GET', '/api/v1/switches');
    const d = await c.request('DELETE', '/api/v1/transfers/7');
    c.close();
    srv.closeAllConnections();
    expect(a).toEqual({ status: 201, body: JSON.stringify({ echo: '{"dtn":"dtn1"}', n: 1 }) });
    expect(b).toEqual({ status: 200, body: JSON.stringify({ echo: '', n: 2 }) });
    expect(d.status).toBe(200);
    expect(seen.map((s) => [s.method, s.url, s.auth, s.conn])).toEqual([
      ['POST', '/api/v1/transfers', 'Bearer tok', 1],
      ['GET', '/api/v1/switches', 'Bearer tok', 1],
      ['DELETE', '/api/v1/transfers/7', 'Bearer tok', 1],
    ]);
  });

  it('counts Content-Length in bytes: a body with multi-byte characters, and a request body with them', async () => {
    const { port, seen, srv } = await httpServer((_req, body, res) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ got: body, name: 'Zürich–Genève ✓' }));
    });
    const c = new HttpConnection(port, 'Bearer t');
    const a = await c.request('POST', '/x', '{"note":"Ångström"}');
    const b = await c.request('GET', '/y');
    c.close();
    srv.closeAllConnections();
    expect(seen[0]!.body).toBe('{"note":"Ångström"}');
    expect(JSON.parse(a.body)).toEqual({ got: '{"note":"Ångström"}', name: 'Zürich–Genève ✓' });
    expect(b.status).toBe(200);
  });

  it('reads a chunked body whole', async () => {
    const { port, srv } = await httpServer((_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first part, ');
      setTimeout(() => {
        res.write('second part, ');
        res.end('end');
      }, 20);
    });
    const c = new HttpConnection(port, 'Bearer t');
    const a = await c.request('GET', '/');
    const b = await c.request('GET', '/');
    c.close();
    srv.closeAllConnections();
    expect(a).toEqual({ status: 200, body: 'first part, second part, end' });
    expect(b.body).toBe('first part, second part, end');
  });

  it('opens a new connection after an answer that said connection: close', async () => {
    const { port, seen, srv } = await httpServer((_req, _body, res) => {
      res.writeHead(200, { connection: 'close', 'content-type': 'text/plain' });
      res.end('bye');
    });
    const c = new HttpConnection(port, 'Bearer t');
    expect((await c.request('GET', '/1')).body).toBe('bye');
    expect((await c.request('GET', '/2')).body).toBe('bye');
    c.close();
    srv.closeAllConnections();
    expect(seen.map((s) => s.conn)).toEqual([1, 2]);
  });

  it('takes an answer that arrives in pieces, a 204 without a body, and a body that runs to the end of the connection', async () => {
    const answers = [
      (s: Socket) => {
        const text = 'HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"id":4242}';
        let at = 0;
        const next = () => {
          if (at < text.length) {
            s.write(text.slice(at, at + 7));
            at += 7;
            setTimeout(next, 2);
          }
        };
        next();
      },
      (s: Socket) => {
        s.write('HTTP/1.1 204 No Content\r\n\r\n');
      },
      (s: Socket) => {
        s.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end');
      },
    ];
    let k = 0;
    const t = await tcpServer((s) => answers[k++]!(s));
    const c = new HttpConnection(t.port, 'Bearer t');
    expect(await c.request('POST', '/a', '{}')).toEqual({ status: 201, body: '{"id":4242}' });
    expect(await c.request('DELETE', '/b')).toEqual({ status: 204, body: '' });
    expect(await c.request('GET', '/c')).toEqual({ status: 200, body: 'until the end' });
    c.close();
    t.close();
  });

  it('rejects when the server cuts the connection mid-answer, or sends something that is not HTTP, and recovers on a new connection', async () => {
    const answers = [
      (s: Socket) => {
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part');
        setTimeout(() => s.destroy(), 10);
      },
      (s: Socket) => {
        s.write('SSH-2.0-OpenSSH\r\n\r\n');
      },
      (s: Socket) => {
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      },
    ];
    let k = 0;
    const t = await tcpServer((s) => answers[k++]!(s));
    const c = new HttpConnection(t.port, 'Bearer t');
    await expect(c.request('GET', '/')).rejects.toThrow(/closed before the answer ended/);
    await expect(c.request('GET', '/')).rejects.toThrow(/not an HTTP answer/);
    expect(await c.request('GET', '/')).toEqual({ status: 200, body: 'ok' });
    c.close();
    t.close();
  });

  it('takes one request at a time', async () => {
    const t = await tcpServer((s) => {
      setTimeout(() => s.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'), 20);
    });
    const c = new HttpConnection(t.port, 'Bearer t');
    const first = c.request('GET', '/');
    await expect(c.request('GET', '/')).rejects.toThrow(/one request at a time/);
    expect(await first).toEqual({ status: 200, body: '' });
    c.close();
    t.close();
  });

  it('requestOnce makes one request on a connection of its own and closes it', async () => {
    const { port, seen } = await httpServer((_req, _body, res) => {
      res.writeHead(200);
      res.end('metrics');
    });
    expect(await requestOnce(port, 'Bearer t', 'GET', '/metrics')).toEqual({ status: 200, body: 'metrics' });
    expect(await requestOnce(port, 'Bearer t', 'GET', '/metrics')).toEqual({ status: 200, body: 'metrics' });
    expect(seen.map((s) => s.conn)).toEqual([1, 2]);
  });
});
