import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey, KEY_PATTERN } from '../../src/api/keys.js';
import { guideBody, startTestApi, type TestApi } from './harness.js';

const BASE = '/api/v2/routing/callbacks';
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
  expect((await api.call('POST', BASE, { body: guideBody({ callbackId: 'acme-1' }) })).status).toBe(201);
});
afterAll(async () => {
  await api.close();
});

const codes = (body: { errors?: { code: string }[] }) => (body.errors ?? []).map((e) => e.code);

describe('API keys', () => {
  it('are cbk_ plus at least 32 base62 characters, stored only as their SHA-256', async () => {
    expect(api.keys.all).toMatch(KEY_PATTERN);
    expect(api.keys.all.length).toBeGreaterThanOrEqual(36);
    const stored = await api.store.listApiKeys('acme');
    for (const k of stored) {
      expect(k.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(k)).not.toContain(api.keys.all.slice(4));
    }
  });
});

describe('authentication and scopes', () => {
  it('answers 401 with WWW-Authenticate without a key, with a malformed key and with an unknown key', async () => {
    const variants: Record<string, string>[] = [
      {},
      { authorization: 'Basic abc' },
      { authorization: 'Bearer not-a-key' },
      { authorization: `Bearer cbk_${'A'.repeat(40)}` },
    ];
    for (const headers of variants) {
      const res = await api.call('GET', `${BASE}/acme-1`, { key: null, headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(codes(res.body)).toEqual(['UNAUTHORIZED']);
    }
  });

  it('answers 401 before reading the body, so an anonymous client learns nothing about its payload', async () => {
    const res = await api.call('POST', BASE, {
      key: null,
      raw: 'x'.repeat(100_000),
      headers: { 'content-type': 'text/plain' },
    });
    expect(res.status).toBe(401);
  });

  it('answers 403 when the key lacks the scope, on every protected route', async () => {
    const cases: [string, string, string, unknown?][] = [
      ['POST', BASE, api.keys.view, guideBody()],
      ['GET', BASE, api.keys.create],
      ['GET', `${BASE}/acme-1`, api.keys.edit],
      ['PATCH', `${BASE}/acme-1`, api.keys.view, { scheduledTime: '2030-01-07T19:00:00Z' }],
      ['DELETE', `${BASE}/acme-1`, api.keys.create],
      ['GET', '/api/v2/routing/queues/a1b2c3d4-e5f6-7890-abcd-ef1234567890', api.keys.create],
    ];
    for (const [method, path, key, body] of cases) {
      const res = await api.call(method, path, { key, ...(body === undefined ? {} : { body }) });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(codes(res.body)).toEqual(['MISSING_SCOPE']);
    }
    // The refused DELETE changed nothing.
    expect((await api.call('GET', `${BASE}/acme-1`)).body.status).toBe('accepted');
  });

  it('stops accepting a key the moment it is revoked', async () => {
    const key = await api.keyFor('acme', ['routing:callback:view']);
    expect((await api.call('GET', `${BASE}/acme-1`, { key })).status).toBe(200);
    const record = await api.store.findApiKeyByHash(hashKey(key));
    expect(await api.store.revokeApiKey(record!.id, Date.now())).toBe(true);
    const res = await api.call('GET', `${BASE}/acme-1`, { key });
    expect(res.status).toBe(401);
  });

  it('leaves /healthz, /readyz, /metrics, /openapi.json and the dashboard open', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/']) {
      expect((await api.call('GET', path, { key: null })).status, path).toBe(200);
    }
  });
});

describe('tenant isolation', () => {
  it("answers 404, not 403, for another tenant's callback on every route", async () => {
    const other = api.keys.other;
    expect((await api.call('GET', `${BASE}/acme-1`, { key: other })).status).toBe(404);
    expect(
      (
        await api.call('PATCH', `${BASE}/acme-1`, {
          key: other,
          body: { scheduledTime: '2030-01-07T19:00:00Z' },
        })
      ).status,
    ).toBe(404);
    expect((await api.call('DELETE', `${BASE}/acme-1`, { key: other })).status).toBe(404);
    expect((await api.call('GET', BASE, { key: other })).body.items).toEqual([]);
    expect((await api.call('GET', `${BASE}/acme-1`)).body.status).toBe('accepted');
  });

  it('lets two tenants use the same callbackId independently', async () => {
    const body = guideBody({ callbackId: 'shared-id' });
    const a = await api.call('POST', BASE, { body });
    const b = await api.call('POST', BASE, { key: api.keys.other, body: { ...body, timeout: 600 } });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers.get('idempotent-replayed')).toBeNull();
    expect((await api.call('GET', `${BASE}/shared-id`)).body.timeout).toBe(300);
    expect((await api.call('GET', `${BASE}/shared-id`, { key: api.keys.other })).body.timeout).toBe(600);
  });
});
