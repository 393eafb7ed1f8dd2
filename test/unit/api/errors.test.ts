// The error registry is the contract: every code is documented in the OpenAPI document and in api/ERRORS.md,
// every route has a schema with its responses, and error answers carry the registry's status and code.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS, ERROR_CODES, errorsMarkdown, ApiError } from '../../../api/index.js';
import { toApiError } from '../../../api/errors.js';
import { LeaseRefused } from '../../../apps/dmz/pipeline.js';
import { SwitchError, RequestTimeoutError, ConnectionClosedError } from '../../../controller/errors.js';
import { SwitchNotConnectedError } from '../../../controller/flow-manager.js';
import { CrossSwitchAbortedError, CrossSwitchRefusedError } from '../../../controller/cross-switch.js';
import { OFPET, OFPFMFC } from '../../../controller/openflow/index.js';
import { startHarness, type Harness } from './harness.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

describe('error registry', () => {
  it('codes are DMZ_ names with 4xx/5xx statuses and messages', () => {
    for (const c of ERROR_CODES) {
      expect(c).toMatch(/^DMZ_[A-Z_]+$/);
      expect(ERRORS[c].status).toBeGreaterThanOrEqual(400);
      expect(ERRORS[c].status).toBeLessThan(600);
      expect(ERRORS[c].message.length).toBeGreaterThan(5);
      expect(ERRORS[c].doc.length).toBeGreaterThan(10);
    }
  });

  it('api/ERRORS.md is the registry, every code with its status', () => {
    // DMZGATE_UPDATE_ERRORS_MD=1 npx vitest run test/unit/api/errors.test.ts regenerates it after a registry change.
    if (process.env.DMZGATE_UPDATE_ERRORS_MD === '1') writeFileSync(join(ROOT, 'api', 'ERRORS.md'), errorsMarkdown());
    const md = readFileSync(join(ROOT, 'api', 'ERRORS.md'), 'utf8');
    // The file is generated from the registry: regenerate it with errorsMarkdown() when a code changes.
    expect(md).toBe(errorsMarkdown());
    for (const c of ERROR_CODES) expect(md).toContain(`| \`${c}\` | ${ERRORS[c].status} |`);
  });

  it("maps the app's and the controller's errors to codes", () => {
    expect(toApiError(new LeaseRefused('overlap', 'x')).code).toBe('DMZ_LEASE_OVERLAP');
    expect(toApiError(new LeaseRefused('switch-down', 'x')).code).toBe('DMZ_SWITCH_DOWN');
    expect(toApiError(new LeaseRefused('not-found', 'x'), 'DMZ_BLOCK_NOT_FOUND').code).toBe('DMZ_BLOCK_NOT_FOUND');
    expect(toApiError(new LeaseRefused('some-new-rule', 'x'))).toMatchObject({ code: 'DMZ_SITE_POLICY', extra: { reason: 'some-new-rule' } });
    const se = toApiError(new SwitchError(1n, OFPET.FLOW_MOD_FAILED, OFPFMFC.TABLE_FULL, undefined, Buffer.alloc(0)));
    expect(se.code).toBe('DMZ_SWITCH_REFUSED');
    expect(se.extra.switch_error).toMatchObject({ dpid: '0000000000000001', type: 'OFPET_FLOW_MOD_FAILED', code: 'OFPFMFC_TABLE_FULL' });
    expect(toApiError(new RequestTimeoutError(1n, { type: 'barrierRequest', xid: 1 }, 5)).code).toBe('DMZ_SWITCH_TIMEOUT');
    expect(toApiError(new ConnectionClosedError(1n, 'gone')).code).toBe('DMZ_SWITCH_DOWN');
    expect(toApiError(new SwitchNotConnectedError(1n)).code).toBe('DMZ_SWITCH_DOWN');
    // A path over several switches: one refusing is a refusal; one lost or silent is down or a timeout.
    const at = { phase: 'commit' as const, failedDpid: 3n, undone: [1n, 2n], undoFailures: [], uncertain: [3n], total: 3 };
    const refusal = new SwitchError(3n, OFPET.FLOW_MOD_FAILED, OFPFMFC.TABLE_FULL, undefined, Buffer.alloc(0));
    expect(toApiError(new CrossSwitchRefusedError(refusal, 'add flow', at))).toMatchObject({
      code: 'DMZ_SWITCH_REFUSED',
      extra: { switch_error: { dpid: '0000000000000003', code: 'OFPFMFC_TABLE_FULL' } },
    });
    expect(toApiError(new CrossSwitchAbortedError(new ConnectionClosedError(3n, 'gone'), at)).code).toBe('DMZ_SWITCH_DOWN');
    expect(toApiError(new CrossSwitchAbortedError(new RequestTimeoutError(3n, { type: 'barrierRequest', xid: 1 }, 5), at)).code).toBe(
      'DMZ_SWITCH_TIMEOUT',
    );
    expect(toApiError(new TypeError('bug')).code).toBe('DMZ_INTERNAL');
    expect(new ApiError('DMZ_TOKEN_MISSING').headers['WWW-Authenticate']).toBe('Bearer realm="dmzgate"');
  });
});

describe('OpenAPI document', () => {
  let h: Harness;
  let doc: {
    paths: Record<string, Record<string, { responses?: Record<string, unknown>; security?: unknown }>>;
    components: { schemas: Record<string, { properties: { code: { enum: string[] } }; description: string }> };
  };
  beforeAll(async () => {
    h = await startHarness();
    const r = await h.api.inject({ method: 'GET', url: '/openapi.json' });
    expect(r.statusCode).toBe(200);
    doc = r.json();
  });
  afterAll(async () => h.close());

  it("documents every error code (the Error schema's enum and description)", () => {
    const err = doc.components.schemas.Error!;
    expect([...err.properties.code.enum].sort()).toEqual([...ERROR_CODES].sort());
    for (const c of ERROR_CODES) expect(err.description).toContain(`\`${c}\` (${ERRORS[c].status})`);
  });

  it('has every route, each with responses, the protected ones with bearer security', () => {
    const expected: [string, string][] = [
      ['post', '/api/v1/transfers'],
      ['get', '/api/v1/transfers'],
      ['get', '/api/v1/transfers/{id}'],
      ['patch', '/api/v1/transfers/{id}'],
      ['delete', '/api/v1/transfers/{id}'],
      ['post', '/api/v1/blocks'],
      ['get', '/api/v1/blocks'],
      ['delete', '/api/v1/blocks/{id}'],
      ['get', '/api/v1/switches'],
      ['get', '/api/v1/switches/{dpid}/flows'],
      ['get', '/api/v1/audit'],
      ['get', '/api/v1/events'],
      ['post', '/api/v1/tokens'],
      ['get', '/api/v1/tokens'],
      ['delete', '/api/v1/tokens/{id}'],
      ['get', '/healthz'],
      ['get', '/readyz'],
      ['get', '/metrics'],
      ['get', '/openapi.json'],
    ];
    for (const [m, p] of expected) {
      const op = doc.paths[p]?.[m];
      expect(op, `${m} ${p}`).toBeDefined();
      expect(Object.keys(op!.responses ?? {}).length, `${m} ${p} responses`).toBeGreaterThan(0);
      if (p.startsWith('/api/')) expect(op!.security, `${m} ${p} security`).toEqual([{ bearer: [] }]);
    }
    expect(doc.paths['/api/v1/transfers']!.post!.responses!['403']).toBeDefined();
  });

  it('serves the browsable docs at /docs', async () => {
    const r = await h.api.inject({ method: 'GET', url: '/docs' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/html/);
    expect(r.body).toContain('swagger');
  });
});
