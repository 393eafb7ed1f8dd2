import { describe, expect, it } from 'vitest';
import { startHarness, transferBody } from './harness.js';

describe('smoke', () => {
  it('works', async () => {
    const h = await startHarness();
    try {
      const tok = await h.token();
      const r = await h.api.inject({ method: 'POST', url: '/api/v1/transfers', headers: h.auth(tok), payload: transferBody() });
      console.log(r.statusCode, r.body);
      const g = await h.api.inject({ method: 'GET', url: '/api/v1/transfers/1', headers: h.auth(tok) });
      console.log(g.statusCode, g.body);
      const bad = await h.api.inject({ method: 'POST', url: '/api/v1/transfers', headers: h.auth(tok), payload: transferBody({ extra: 1, duration: '5' }) });
      console.log(bad.statusCode, bad.body);
      const o = await h.api.inject({ method: 'GET', url: '/openapi.json' });
      console.log(o.statusCode, o.body.slice(0, 300));
      const d = await h.api.inject({ method: 'GET', url: '/docs' });
      console.log(d.statusCode, d.headers.location);
      const m = await h.api.inject({ method: 'GET', url: '/metrics' });
      console.log(m.statusCode, m.body.split('\n').filter(l => l.startsWith('dmzgate_') && !l.includes('process') && !l.includes('nodejs')).join('\n'));
      console.log(h.sw.flowCount());
    } finally { await h.close(); }
  });
});
