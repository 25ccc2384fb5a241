import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BILLING, guideBody, SUPPORT, startTestApi, T0, type TestApi } from './harness.js';

const BASE = '/api/v2/routing/callbacks';
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api.close();
});

function codes(body: { errors?: { code: string }[] }): string[] {
  return (body.errors ?? []).map((e) => e.code);
}

describe('POST /api/v2/routing/callbacks', () => {
  it('answers 201 with Location and the normalised resource for the guide example body', async () => {
    const res = await api.call('POST', BASE, { body: guideBody() });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`${BASE}/cb-CRM-998271-20300107T160000Z`);
    expect(res.headers.get('idempotent-replayed')).toBeNull();
    expect(res.body).toMatchObject({
      callbackId: 'cb-CRM-998271-20300107T160000Z',
      callbackNumber: '+14155552671',
      scheduledTime: '2030-01-07T16:00:00.000Z',
      status: 'accepted',
      statusReason: null,
      conversationId: null,
      attempts: 0,
      routingData: { queueId: SUPPORT, priority: 5, wrapUpCode: 'PROGRAMMATIC_CALLBACK' },
      history: [{ status: 'accepted', at: new Date(T0).toISOString(), reason: null }],
    });
  });

  it('replays the original 201 and resource with Idempotent-Replayed for the same callbackId and parameters', async () => {
    const body = guideBody({ callbackId: 'replay-1', scheduledTime: '2030-01-07T11:30:00-05:00' });
    const first = await api.call('POST', BASE, { body });
    // Same parameters in another notation: the offset time and a differently formatted number.
    const again = await api.call('POST', BASE, {
      body: { ...body, scheduledTime: '2030-01-07T16:30:00Z', callbackNumber: '+1 415 555 2671' },
    });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
    expect(again.body).toEqual(first.body);
  });

  it('replays a request whose time has since come too near, instead of refusing it', async () => {
    const body = guideBody({ callbackId: 'late-replay', scheduledTime: '2030-01-07T15:10:00.000Z' });
    const first = await api.call('POST', BASE, { body });
    expect(first.status).toBe(201);
    api.clock.ms = T0 + 9 * 60_000; // one minute before the call: inside the 2-minute minimum lead
    try {
      const again = await api.call('POST', BASE, { body });
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      const fresh = await api.call('POST', BASE, { body: { ...body, callbackId: 'late-fresh' } });
      expect(fresh.status).toBe(400);
      expect(codes(fresh.body)).toEqual(['SCHEDULED_TIME_TOO_SOON']);
    } finally {
      api.clock.ms = T0;
    }
  });

  it('answers 409 naming each differing field when the callbackId exists with other parameters', async () => {
    const body = guideBody({ callbackId: 'conflict-1' });
    expect((await api.call('POST', BASE, { body })).status).toBe(201);
    const res = await api.call('POST', BASE, {
      body: {
        ...body,
        scheduledTime: '2030-01-07T17:00:00.000Z',
        routingData: { queueId: SUPPORT, priority: 7 },
      },
    });
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(codes(res.body).every((c) => c === 'CALLBACK_ID_CONFLICT')).toBe(true);
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'routingData.priority',
      'routingData.wrapUpCode',
      'scheduledTime',
    ]);
    expect(res.text).not.toContain('4155552671');
  });

  it('answers concurrent identical requests identically with one ledger row', async () => {
    const body = guideBody({ callbackId: 'concurrent-1', scheduledTime: '2030-01-07T18:00:00.000Z' });
    const answers = await Promise.all(Array.from({ length: 25 }, () => api.call('POST', BASE, { body })));
    expect(answers.map((a) => a.status)).toEqual(Array(25).fill(201));
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') === null)).toHaveLength(1);
    for (const a of answers) expect(a.body).toEqual(answers[0]!.body);
    const page = await api.store.list(
      'acme',
      { scheduledFrom: Date.parse('2030-01-07T18:00:00Z'), scheduledTo: Date.parse('2030-01-07T18:00:01Z') },
      null,
      100,
    );
    expect(page.items.map((r) => r.callbackId)).toEqual(['concurrent-1']);
  });

  it('refuses bad input with 400 listing every violation with its own code', async () => {
    const res = await api.call('POST', BASE, {
      body: guideBody({
        callbackNumber: '+1900555',
        scheduledTime: '2029-01-01T00:00:00Z',
        routingData: { queueId: BILLING, wrapUpCode: 'NOPE' },
        colour: 'blue',
      }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 400, title: 'Bad Request' });
    const got = codes(res.body);
    expect(got).toContain('UNKNOWN_FIELD');
    expect(got).toContain('SCHEDULED_TIME_IN_PAST');
    expect(got).toContain('UNKNOWN_WRAP_UP_CODE');
    expect(got).toContain('DTMF_REQUIRED');
    for (const e of res.body.errors) {
      expect(e.code).toMatch(/^[A-Z_]+$/);
      expect(typeof e.field).toBe('string');
      expect(e.message.length).toBeGreaterThan(10);
    }
  });

  it("refuses a number that is not on the customer's trusted record", async () => {
    const res = await api.call('POST', BASE, { body: guideBody({ callbackNumber: '+14155550123' }) });
    expect(res.status).toBe(400);
    expect(codes(res.body)).toEqual(['NUMBER_NOT_TRUSTED']);
    expect(res.text).not.toContain('4155550123');
  });

  it('answers 413 for a body over 64 KiB', async () => {
    const res = await api.call('POST', BASE, {
      body: guideBody({ customerData: { externalId: 'CRM-998271', note: 'x'.repeat(70_000) } }),
    });
    expect(res.status).toBe(413);
    expect(codes(res.body)).toEqual(['BODY_TOO_LARGE']);
  });

  it('answers 415 for a body that is not JSON', async () => {
    const res = await api.call('POST', BASE, {
      raw: 'callbackNumber=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(415);
    expect(codes(res.body)).toEqual(['UNSUPPORTED_MEDIA_TYPE']);
  });

  it.each([
    ['invalid JSON', '{"callbackNumber": ', 'INVALID_JSON'],
    ['an empty body', '', 'INVALID_JSON'],
    ['a __proto__ key', '{"__proto__": {"admin": true}}', 'FORBIDDEN_KEY'],
    [
      'a nested constructor key',
      '{"customerData": {"constructor": {"prototype": {"x": 1}}}}',
      'FORBIDDEN_KEY',
    ],
    ['deep nesting', `${'['.repeat(5000)}${']'.repeat(5000)}`, 'JSON_TOO_DEEP'],
  ])('answers 400 for %s', async (_name, raw, code) => {
    const res = await api.call('POST', BASE, { raw, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(codes(res.body)).toEqual([code]);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('answers 400 for invalid UTF-8', async () => {
    const raw = Buffer.concat([
      Buffer.from('{"callbackId": "'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}'),
    ]);
    const res = await api.call('POST', BASE, { raw, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(codes(res.body)).toEqual(['INVALID_UTF8']);
  });

  it('answers 429 with Retry-After once a key exceeds its intake rate', async () => {
    const limited = await startTestApi({ ratePerMinute: 60 }); // burst 6
    try {
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 10; i++) {
        const res = await limited.call('POST', BASE, { body: guideBody({ callbackId: `rate-${i}` }) });
        statuses.push(res.status);
        if (res.status === 429) {
          retryAfter = res.headers.get('retry-after');
          expect(codes(res.body)).toEqual(['RATE_LIMITED']);
        }
      }
      expect(statuses.slice(0, 6)).toEqual(Array(6).fill(201));
      expect(statuses.slice(6)).toContain(429);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      // Reads are not intake: they stay open while the key is limited.
      expect((await limited.call('GET', BASE)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe('GET, PATCH and DELETE /api/v2/routing/callbacks/{callbackId}', () => {
  it('gets one callback with history, and 404 for an unknown id', async () => {
    await api.call('POST', BASE, { body: guideBody({ callbackId: 'get-1' }) });
    const res = await api.call('GET', `${BASE}/get-1`, { key: api.keys.view });
    expect(res.status).toBe(200);
    expect(res.body.callbackId).toBe('get-1');
    expect(res.body.history).toHaveLength(1);
    const missing = await api.call('GET', `${BASE}/nope`);
    expect(missing.status).toBe(404);
    expect(codes(missing.body)).toEqual(['CALLBACK_NOT_FOUND']);
  });

  it('reschedules an accepted callback, re-validating the new time', async () => {
    await api.call('POST', BASE, { body: guideBody({ callbackId: 'patch-1' }) });
    const ok = await api.call('PATCH', `${BASE}/patch-1`, {
      body: { scheduledTime: '2030-01-07T19:00:00Z' },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.scheduledTime).toBe('2030-01-07T19:00:00.000Z');
    const bad = await api.call('PATCH', `${BASE}/patch-1`, {
      body: { scheduledTime: '2030-01-07T02:00:00Z' },
    });
    expect(bad.status).toBe(400);
    expect(codes(bad.body)).toContain('OUTSIDE_CALLING_WINDOW');
    const unknown = await api.call('PATCH', `${BASE}/patch-1`, { body: { queueId: 'x' } });
    expect(unknown.status).toBe(400);
    expect(codes(unknown.body)).toContain('UNKNOWN_FIELD');
    // The original POST is still a replay: the fingerprint is of the spec as first accepted.
    const replay = await api.call('POST', BASE, { body: guideBody({ callbackId: 'patch-1' }) });
    expect(replay.status).toBe(201);
    expect(replay.body.scheduledTime).toBe('2030-01-07T19:00:00.000Z');
  });

  it('cancels idempotently, then refuses a reschedule of the cancelled callback with 409 INVALID_STATE', async () => {
    await api.call('POST', BASE, { body: guideBody({ callbackId: 'cancel-1' }) });
    const first = await api.call('DELETE', `${BASE}/cancel-1`, { key: api.keys.edit });
    expect(first.status).toBe(200);
    expect(first.body.status).toBe('cancelled');
    const again = await api.call('DELETE', `${BASE}/cancel-1`, { key: api.keys.edit });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const patch = await api.call('PATCH', `${BASE}/cancel-1`, {
      key: api.keys.edit,
      body: { scheduledTime: '2030-01-07T19:00:00Z' },
    });
    expect(patch.status).toBe(409);
    expect(codes(patch.body)).toEqual(['INVALID_STATE']);
    expect((await api.call('DELETE', `${BASE}/never-made`)).status).toBe(404);
  });
});

describe('GET /api/v2/routing/callbacks (list)', () => {
  it('pages with an opaque cursor and filters by status, queue and time', async () => {
    const lister = await startTestApi();
    try {
      for (let i = 0; i < 7; i++) {
        const minute = String(10 + i).padStart(2, '0');
        const res = await lister.call('POST', BASE, {
          body: guideBody({ callbackId: `list-${i}`, scheduledTime: `2030-01-07T17:${minute}:00Z` }),
        });
        expect(res.status).toBe(201);
      }
      await lister.call('DELETE', `${BASE}/list-3`);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
        const res = await lister.call('GET', `${BASE}?limit=3${q}`, { key: lister.keys.view });
        expect(res.status).toBe(200);
        expect(res.body.items.length).toBeLessThanOrEqual(3);
        expect(res.body.items[0]?.history).toBeUndefined();
        seen.push(...res.body.items.map((c: { callbackId: string }) => c.callbackId));
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual(['list-0', 'list-1', 'list-2', 'list-3', 'list-4', 'list-5', 'list-6']);

      const cancelled = await lister.call('GET', `${BASE}?status=cancelled`);
      expect(cancelled.body.items.map((c: { callbackId: string }) => c.callbackId)).toEqual(['list-3']);
      const window = await lister.call(
        'GET',
        `${BASE}?from=2030-01-07T17:12:00Z&to=2030-01-07T17:14:00Z&queueId=${SUPPORT}`,
      );
      expect(window.body.items.map((c: { callbackId: string }) => c.callbackId)).toEqual([
        'list-2',
        'list-3',
      ]);
      const otherQueue = await lister.call('GET', `${BASE}?queueId=${BILLING}`);
      expect(otherQueue.body.items).toEqual([]);
    } finally {
      await lister.close();
    }
  });

  it('refuses bad query parameters with 400 and specific codes', async () => {
    const cases: [string, string][] = [
      ['status=done', 'INVALID_VALUE'],
      ['limit=0', 'INVALID_VALUE'],
      ['limit=abc', 'INVALID_VALUE'],
      ['from=yesterday', 'INVALID_TIME_FORMAT'],
      ['cursor=not-a-cursor', 'INVALID_CURSOR'],
      ['colour=blue', 'UNKNOWN_FIELD'],
    ];
    for (const [query, code] of cases) {
      const res = await api.call('GET', `${BASE}?${query}`);
      expect(res.status, query).toBe(400);
      expect(codes(res.body), query).toContain(code);
    }
    const first = await api.call('GET', `${BASE}?limit=1`);
    const reused = await api.call('GET', `${BASE}?limit=1&status=pending&cursor=${first.body.nextCursor}`);
    expect(reused.status).toBe(400);
    expect(codes(reused.body)).toEqual(['INVALID_CURSOR']);
  });
});
