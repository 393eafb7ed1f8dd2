// The REST API over HTTPS (ApiOptions.tls; `dmzgate controller --api-tls-key/--api-tls-cert`), spoken to by a
// real HTTPS client (node:https) that trusts the certificate made at test time with openssl, and the event
// stream over wss. Plain HTTP on the same port gets no answer from the API.
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startHarness, type Harness } from './harness.js';
import { selfSigned } from '../../helpers/self-signed.js';

function get(url: string, opts: { ca?: Buffer; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(
      url,
      { ...(opts.ca ? { ca: opts.ca } : {}), headers: opts.headers ?? {}, timeout: 5000 },
      (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (s: string) => {
            body += s;
          })
          .on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('the API over HTTPS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dmzgate-api-tls-'));
  let h: Harness;
  let pki: ReturnType<typeof selfSigned>;
  let port: number;
  beforeAll(async () => {
    pki = selfSigned(dir);
    h = await startHarness({ api: { tls: { key: pki.key, cert: pki.cert } } });
    await h.api.listen({ port: 0, host: '127.0.0.1' });
    port = (h.api.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers an HTTPS client that trusts its certificate, with and without a token', async () => {
    expect(await get(`https://127.0.0.1:${port}/healthz`, { ca: pki.cert })).toEqual({ status: 200, body: '{"status":"ok"}' });
    const tok = await h.token();
    const r = await get(`https://127.0.0.1:${port}/api/v1/transfers`, { ca: pki.cert, headers: h.auth(tok) });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ transfers: [] });
    expect((await get(`https://localhost:${port}/openapi.json`, { ca: pki.cert })).status).toBe(200);
  });

  it('a client that does not trust it is refused by its own TLS check; plain HTTP gets no API answer', async () => {
    await expect(get(`https://127.0.0.1:${port}/healthz`)).rejects.toThrow(/self-signed|self signed/);
    const plain = await get(`http://127.0.0.1:${port}/healthz`).catch((e: Error) => e);
    expect(plain instanceof Error ? plain.message : `HTTP ${plain.status}`).not.toBe('HTTP 200');
  });

  it('the event stream speaks wss', async () => {
    const tok = await h.token();
    const ws = new WebSocket(`wss://127.0.0.1:${port}/api/v1/events`, { headers: h.auth(tok), ca: pki.cert });
    const hello = await new Promise<Record<string, unknown>>((resolve, reject) => {
      ws.once('message', (m: Buffer) => resolve(JSON.parse(m.toString()) as Record<string, unknown>));
      ws.once('error', reject);
    });
    expect(hello.control).toBe('hello');
    ws.close();
  });
});
