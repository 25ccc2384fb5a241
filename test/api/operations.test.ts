import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallbackResourceSchema, ProblemSchema } from '../../src/api/schemas.js';
import { guideBody, startTestApi, type TestApi } from './harness.js';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api.close();
});

describe('health, readiness and metrics', () => {
  it('reports alive and ready while the ledger answers', async () => {
    expect((await api.call('GET', '/healthz', { key: null })).body).toEqual({ status: 'ok' });
    expect((await api.call('GET', '/readyz', { key: null })).body).toEqual({ status: 'ready' });
  });

  it('serves Prometheus metrics that count requests by route and intake outcome', async () => {
    await api.call('POST', '/api/v2/routing/callbacks', { body: guideBody({ callbackId: 'metrics-1' }) });
    const res = await api.call('GET', '/metrics', { key: null });
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.text).toMatch(
      /callbackd_http_requests_total\{method="POST",route="\/api\/v2\/routing\/callbacks",status="201"\} 1/,
    );
    expect(res.text).toMatch(/callbackd_intake_total\{outcome="created"\} 1/);
  });

  it('serves the dashboard shell', async () => {
    const res = await api.call('GET', '/', { key: null });
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    // The built page: its script is a bundled file of this origin, none inline (the CSP forbids it).
    expect(res.text).toMatch(/<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js"><\/script>/);
    expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
  });

  it('answers unknown routes with a 404 problem', async () => {
    const res = await api.call('GET', '/api/v2/nothing-here');
    expect(res.status).toBe(404);
    expect(ProblemSchema.parse(res.body).errors[0]!.code).toBe('NOT_FOUND');
  });

  it('answers a path with broken percent-encoding with a 400 problem, not a bare framework error', async () => {
    const res = await api.call('GET', '/api/v2/routing/callbacks/%zz');
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = ProblemSchema.parse(res.body);
    expect(problem.errors[0]).toMatchObject({ code: 'BAD_REQUEST', field: 'path' });
  });
});

describe('/openapi.json', () => {
  it('documents exactly the routes the server answers, with their scopes and statuses', async () => {
    const doc = (await api.call('GET', '/openapi.json', { key: null })).body;
    expect(doc.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(documented).toEqual(
      [
        'POST /api/v2/routing/callbacks',
        'GET /api/v2/routing/callbacks',
        'GET /api/v2/routing/callbacks/{callbackId}',
        'PATCH /api/v2/routing/callbacks/{callbackId}',
        'DELETE /api/v2/routing/callbacks/{callbackId}',
        'GET /api/v2/routing/queues/{queueId}',
        'GET /api/v2/routing/queues/{queueId}/slots',
        'POST /api/v2/routing/queues/{queueId}/slots/holds',
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
        'GET /openapi.json',
        'GET /',
        'POST /api/v2/sessions',
        'GET /api/v2/sessions/current',
        'DELETE /api/v2/sessions/current',
        'GET /api/v2/routing/queues',
        'GET /api/v2/routing/queues/{queueId}/stats',
        'GET /api/v2/routing/overview',
        'GET /api/v2/routing/dashboard/callbacks',
        'GET /api/v2/routing/transitions',
        'GET /api/v2/routing/deadletters',
        'POST /api/v2/routing/deadletters/{eventId}/retry',
        'GET /assets/{file}',
      ].sort(),
    );
    const post = doc.paths['/api/v2/routing/callbacks'].post;
    expect(Object.keys(post.responses).sort()).toEqual([
      '200',
      '201',
      '400',
      '401',
      '403',
      '409',
      '413',
      '415',
      '429',
      '503',
    ]);
    expect(post.responses['201'].headers).toHaveProperty('Idempotent-Replayed');
    expect(post.responses['429'].headers).toHaveProperty('Retry-After');
    expect(post.security).toEqual([{ apiKey: ['routing:callback:create'] }]);
    expect(doc.paths['/healthz'].get.security).toEqual([]);
    // The request body schema is the one validation uses: unknown fields are refused there too.
    const body = post.requestBody.content['application/json'].schema;
    expect(body.additionalProperties).toBe(false);
    expect(Object.keys(body.properties)).toEqual(
      expect.arrayContaining([
        'callbackNumber',
        'routingData',
        'customerData',
        'slotHoldId',
        'replaceActive',
      ]),
    );
    const list = doc.paths['/api/v2/routing/callbacks'].get;
    expect(list.parameters.map((p: { name: string }) => p.name).sort()).toEqual([
      'cursor',
      'from',
      'limit',
      'queueId',
      'status',
      'to',
    ]);
    // Every $ref resolves.
    const refs = JSON.stringify(doc).match(/"#\/components\/schemas\/[^"]+"/g) ?? [];
    for (const ref of refs) expect(doc.components.schemas, ref).toHaveProperty([ref.slice(22, -1)]);
  });

  it('describes the answers the server really sends', async () => {
    const created = await api.call('POST', '/api/v2/routing/callbacks', {
      body: guideBody({ callbackId: 'shape-1' }),
    });
    expect(() => CallbackResourceSchema.strict().parse(created.body)).not.toThrow();
    const refused = await api.call('POST', '/api/v2/routing/callbacks', { body: {} });
    expect(() => ProblemSchema.strict().parse(refused.body)).not.toThrow();
  });
});

describe('ledger unavailable', () => {
  it('answers 503 on readiness and on API calls once the ledger is gone, and stays alive', async () => {
    const doomed = await startTestApi();
    const key = doomed.keys.all;
    await doomed.store.close();
    try {
      const ready = await doomed.call('GET', '/readyz', { key: null });
      expect(ready.status).toBe(503);
      expect(ready.body.errors[0].code).toBe('LEDGER_UNAVAILABLE');
      const post = await doomed.call('POST', '/api/v2/routing/callbacks', { key, body: guideBody() });
      expect(post.status).toBe(503);
      expect(post.headers.get('retry-after')).toBe('5');
      expect((await doomed.call('GET', '/healthz', { key: null })).status).toBe(200);
    } finally {
      await doomed.close().catch(() => undefined);
    }
  });
});
