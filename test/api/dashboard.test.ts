/** The dashboard's API over loopback HTTP on a real SQLite ledger: sessions, stats, stream, dead letters. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/api/keys.js';
import type { CallbackStatus } from '../../src/domain/types.js';
import { type AnyJson, BILLING, guideBody, SUPPORT, startTestApi, T0, type TestApi } from './harness.js';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api?.close();
});

async function signIn(key: string): Promise<string> {
  const res = await api.call('POST', '/api/v2/sessions', { key: null, body: { apiKey: key } });
  expect(res.status).toBe(201);
  const cookie = res.headers.get('set-cookie')!;
  expect(cookie).toMatch(/^callbackd_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
  return cookie.split(';')[0]!;
}

const withCookie = (cookie: string, extra: Record<string, string> = {}) => ({
  key: null,
  headers: { cookie, ...extra },
});

let seq = 0;
/** Schedules a callback through the API and, when asked, moves it to `status` in the ledger. */
async function seed(
  opts: {
    key?: string;
    queueId?: string;
    at?: number;
    status?: CallbackStatus;
    reason?: string;
    attempts?: number;
  } = {},
) {
  const at = opts.at ?? T0 + 3_600_000;
  const id = `dash-${++seq}`;
  const res = await api.call('POST', '/api/v2/routing/callbacks', {
    ...(opts.key ? { key: opts.key } : {}),
    body: guideBody({
      callbackId: id,
      scheduledTime: new Date(at).toISOString(),
      ...(opts.queueId === BILLING
        ? {
            callbackFrom: '+18005551235',
            callbackTo: '+18005551235',
            dtmf: '1',
            routingData: { queueId: BILLING, priority: 5, wrapUpCode: 'PROGRAMMATIC_CALLBACK' },
          }
        : {}),
    }),
  });
  expect(res.status).toBe(201);
  const tenant = opts.key === api.keys.other ? 'globex' : 'acme';
  const rec = (await api.store.get(tenant, id))!;
  if (opts.status && opts.status !== 'accepted') {
    const path: CallbackStatus[] = opts.status === 'pending' ? ['pending'] : ['pending', opts.status];
    let from: CallbackStatus = 'accepted';
    for (const to of path) {
      const moved = await api.store.transition({
        pk: rec.pk,
        from: [from],
        to,
        reason: to === opts.status && opts.reason ? { code: opts.reason, message: 'test' } : null,
        at: api.clock.now(),
        set: to === 'pending' ? { conversationId: `conv-${id}`, attempts: opts.attempts ?? 1 } : {},
        outbox: [],
      });
      expect(moved).not.toBeNull();
      from = to;
    }
  }
  return id;
}

describe('dashboard sessions', () => {
  it('exchanges an API key for an HttpOnly cookie that authenticates with the key’s tenant and scopes', async () => {
    const cookie = await signIn(api.keys.all);
    const me = await api.call('GET', '/api/v2/sessions/current', withCookie(cookie));
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ tenantId: 'acme', keyName: expect.any(String) });
    expect(me.body.scopes).toContain('routing:callback:edit');
    const id = await seed();
    const res = await api.call('GET', `/api/v2/routing/callbacks/${id}`, withCookie(cookie));
    expect(res.status).toBe(200);
    // A page never holds the whole number; a Bearer caller (the CRM) still gets it.
    expect(res.body.callbackNumber).toBe('+*******2671');
    expect((await api.call('GET', `/api/v2/routing/callbacks/${id}`)).body.callbackNumber).toBe(
      '+14155552671',
    );
    const other = await api.call(
      'GET',
      `/api/v2/routing/callbacks/${id}`,
      withCookie(await signIn(api.keys.other)),
    );
    expect(other.status).toBe(404);
  });

  it('ends the session when its key is revoked', async () => {
    const key = await api.keyFor('acme', ['routing:callback:view']);
    const cookie = await signIn(key);
    expect((await api.call('GET', '/api/v2/routing/queues', withCookie(cookie))).status).toBe(200);
    const record = await api.store.findApiKeyByHash(hashKey(key));
    await api.store.revokeApiKey(record!.id, Date.now());
    expect((await api.call('GET', '/api/v2/routing/queues', withCookie(cookie))).status).toBe(401);
    expect((await api.call('GET', '/api/v2/sessions/current', withCookie(cookie))).status).toBe(401);
    const again = await api.call('POST', '/api/v2/sessions', { key: null, body: { apiKey: key } });
    expect(again.status).toBe(401);
    expect(again.body.errors[0]).toMatchObject({ code: 'UNAUTHORIZED', field: 'apiKey' });
  });

  it('signs out, and the cookie no longer works', async () => {
    const cookie = await signIn(api.keys.all);
    const out = await api.call('DELETE', '/api/v2/sessions/current', withCookie(cookie));
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^callbackd_session=; .*Max-Age=0/);
    expect((await api.call('GET', '/api/v2/routing/queues', withCookie(cookie))).status).toBe(401);
  });

  it('keeps the key’s scopes: a view-only session cannot cancel', async () => {
    const cookie = await signIn(api.keys.view);
    const id = await seed();
    const res = await api.call(
      'DELETE',
      `/api/v2/routing/callbacks/${id}`,
      withCookie(cookie, { origin: api.url }),
    );
    expect(res.status).toBe(403);
    expect(res.body.errors[0].code).toBe('MISSING_SCOPE');
  });

  it('refuses a changing request with a session cookie from another origin', async () => {
    const cookie = await signIn(api.keys.all);
    const id = await seed();
    const res = await api.call(
      'DELETE',
      `/api/v2/routing/callbacks/${id}`,
      withCookie(cookie, { origin: 'https://evil.example' }),
    );
    expect(res.status).toBe(403);
    expect(res.body.errors[0].code).toBe('CROSS_ORIGIN');
    expect((await api.store.get('acme', id))!.status).toBe('accepted');
  });

  it('refuses a malformed sign-in body with the usual violations', async () => {
    const res = await api.call('POST', '/api/v2/sessions', { key: null, body: { key: 'x' } });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: AnyJson) => e.code)).toContain('UNKNOWN_FIELD');
  });
});

describe('GET /api/v2/routing/queues/{queueId}/stats', () => {
  it('counts by status and reason, and attempts per completion, per hour bucket', async () => {
    const key = await api.keyFor('stats-tenant', ['routing:callback:create', 'routing:callback:view']);
    const s = async (
      status: CallbackStatus,
      hour: number,
      more: { reason?: string; attempts?: number } = {},
    ) => {
      const id = `stats-${++seq}`;
      const res = await api.call('POST', '/api/v2/routing/callbacks', {
        key,
        body: guideBody({ callbackId: id, scheduledTime: new Date(T0 + hour * 3_600_000).toISOString() }),
      });
      expect(res.status).toBe(201);
      const rec = (await api.store.get('stats-tenant', id))!;
      let from: CallbackStatus = 'accepted';
      for (const to of status === 'accepted'
        ? []
        : status === 'pending'
          ? ['pending']
          : ['pending', status]) {
        await api.store.transition({
          pk: rec.pk,
          from: [from],
          to: to as CallbackStatus,
          reason: to === status && more.reason ? { code: more.reason, message: 'test' } : null,
          at: api.clock.now(),
          set: to === 'pending' ? { conversationId: `c-${id}`, attempts: more.attempts ?? 1 } : {},
          outbox: [],
        });
        from = to as CallbackStatus;
      }
    };
    await s('completed', 1, { attempts: 1 });
    await s('completed', 1, { attempts: 3 });
    await s('expired', 1, { reason: 'NO_ANSWER' });
    await s('expired', 2, { reason: 'NO_ANSWER' });
    await s('rejected', 2, { reason: 'PLATFORM_REJECTED' });
    await s('cancelled', 2);
    await s('pending', 3);
    const from = new Date(T0).toISOString();
    const to = new Date(T0 + 4 * 3_600_000).toISOString();
    const res = await api.call(
      'GET',
      `/api/v2/routing/queues/${SUPPORT}/stats?from=${from}&to=${to}&bucket=1h`,
      {
        key,
      },
    );
    expect(res.status).toBe(200);
    const t = res.body.totals;
    expect(t.counts).toEqual({
      accepted: 0,
      pending: 1,
      completed: 2,
      expired: 2,
      rejected: 1,
      cancelled: 1,
    });
    expect(t.expiredByReason).toEqual({ NO_ANSWER: 2 });
    expect(t.rejectedByReason).toEqual({ PLATFORM_REJECTED: 1 });
    expect(t.completions).toBe(2);
    expect(t.attemptsPerCompletion).toBe(2);
    expect(res.body.withinMinutes).toBe(5);
    expect(res.body.buckets.map((b: AnyJson) => b.start)).toEqual(
      [0, 1, 2, 3].map((h) => new Date(T0 + h * 3_600_000).toISOString()),
    );
    expect(res.body.buckets.map((b: AnyJson) => b.counts.completed + b.counts.expired)).toEqual([0, 3, 1, 0]);
    // Nothing is due yet on the test clock (all scheduled after T0), so no share is claimed.
    expect(t.keptShare).toBeNull();
  });

  it('refuses an unknown queue, a reversed range and too many buckets', async () => {
    const from = new Date(T0).toISOString();
    const later = new Date(T0 + 86_400_000).toISOString();
    expect((await api.call('GET', `/api/v2/routing/queues/nope/stats?from=${from}&to=${later}`)).status).toBe(
      404,
    );
    const reversed = await api.call(
      'GET',
      `/api/v2/routing/queues/${SUPPORT}/stats?from=${later}&to=${from}`,
    );
    expect(reversed.status).toBe(400);
    const year = new Date(T0 + 365 * 86_400_000).toISOString();
    const many = await api.call(
      'GET',
      `/api/v2/routing/queues/${SUPPORT}/stats?from=${from}&to=${year}&bucket=15m`,
    );
    expect(many.status).toBe(400);
    expect(many.body.errors[0].message).toMatch(/larger bucket/);
  });
});

describe('promise kept', () => {
  it('counts a callback as kept when first dialled at most N minutes after its scheduled time', async () => {
    const key = await api.keyFor('kept-tenant', ['routing:callback:create', 'routing:callback:view']);
    const at = T0 + 3_600_000;
    const make = async (status: CallbackStatus, firstDialedAfterMinutes: number | null) => {
      const id = `kept-${++seq}`;
      const res = await api.call('POST', '/api/v2/routing/callbacks', {
        key,
        body: guideBody({ callbackId: id, scheduledTime: new Date(at).toISOString() }),
      });
      expect(res.status).toBe(201);
      const rec = (await api.store.get('kept-tenant', id))!;
      const firstDialedAt = firstDialedAfterMinutes === null ? null : at + firstDialedAfterMinutes * 60_000;
      await api.store.transition({
        pk: rec.pk,
        from: ['accepted'],
        to: 'pending',
        reason: null,
        at: api.clock.now(),
        set: { conversationId: `c-${id}`, attempts: 1, firstDialedAt },
        outbox: [],
      });
      if (status !== 'pending') {
        await api.store.transition({
          pk: rec.pk,
          from: ['pending'],
          to: status,
          reason: null,
          at: api.clock.now(),
          outbox: [],
        });
      }
    };
    await make('completed', 2); // kept within 5 minutes
    await make('completed', 7); // kept only within 10
    await make('expired', null); // never dialled: broken
    await make('cancelled', null); // nobody was owed a call: left out
    api.clock.ms = at + 30 * 60_000;
    const q = `from=${new Date(T0).toISOString()}&to=${new Date(T0 + 2 * 3_600_000).toISOString()}`;
    const five = (await api.call('GET', `/api/v2/routing/queues/${SUPPORT}/stats?${q}`, { key })).body.totals;
    expect(five).toMatchObject({ due: 3, kept: 1 });
    expect(five.keptShare).toBeCloseTo(1 / 3);
    const ten = (
      await api.call('GET', `/api/v2/routing/queues/${SUPPORT}/stats?${q}&withinMinutes=10`, { key })
    ).body.totals;
    expect(ten).toMatchObject({ due: 3, kept: 2 });
    api.clock.ms = T0;
  });
});

describe('GET /api/v2/routing/overview and the callback search', () => {
  it('counts open and today’s callbacks per queue, books 15-minute slots, and searches with masked numbers', async () => {
    const key = await api.keyFor('overview-tenant', ['routing:callback:create', 'routing:callback:view']);
    for (const [i, minutes] of [20, 25, 50].entries()) {
      const res = await api.call('POST', '/api/v2/routing/callbacks', {
        key,
        body: guideBody({
          callbackId: `ov-${i}`,
          scheduledTime: new Date(T0 + minutes * 60_000).toISOString(),
          customerData: { externalId: i === 2 ? 'CRM-998271' : 'CRM-998271', firstName: 'M', lastName: 'V' },
        }),
      });
      expect(res.status).toBe(201);
    }
    const res = await api.call('GET', '/api/v2/routing/overview?hours=1', { key });
    expect(res.status).toBe(200);
    const support = res.body.queues.find((q: AnyJson) => q.id === SUPPORT);
    expect(support).toMatchObject({ name: 'Support', open: { accepted: 3 }, today: { accepted: 3 } });
    expect(support.slots.map((s: AnyJson) => s.booked)).toEqual([0, 2, 0, 1]);
    // The demo queues set no per-slot capacity.
    expect(support.slots.every((s: AnyJson) => s.capacity === null)).toBe(true);
    expect(res.body.queues.find((q: AnyJson) => q.id === BILLING).open).toEqual({});
    expect(res.body.submitBacklog.waiting).toBe(3);
    expect(res.body.platform.requestsPerMinute).toBe(300);

    const page = await api.call('GET', '/api/v2/routing/dashboard/callbacks?sort=scheduledTime&limit=2', {
      key,
    });
    expect(page.body.total).toBe(3);
    expect(page.body.items.map((r: AnyJson) => r.callbackId)).toEqual(['ov-0', 'ov-1']);
    expect(page.body.items[0].callbackNumber).toBe('+*******2671');
    const next = await api.call(
      'GET',
      '/api/v2/routing/dashboard/callbacks?sort=scheduledTime&limit=2&offset=2',
      {
        key,
      },
    );
    expect(next.body.items.map((r: AnyJson) => r.callbackId)).toEqual(['ov-2']);
    const byId = await api.call('GET', '/api/v2/routing/dashboard/callbacks?callbackId=v-1', { key });
    expect(byId.body.items.map((r: AnyJson) => r.callbackId)).toEqual(['ov-1']);
    const byCustomer = await api.call('GET', '/api/v2/routing/dashboard/callbacks?externalId=CRM-NOBODY', {
      key,
    });
    expect(byCustomer.body.total).toBe(0);
  });
});

describe('GET /api/v2/routing/transitions', () => {
  it('pages transitions after an id, only the caller’s tenant, as the polling fallback', async () => {
    const start = await api.call('GET', '/api/v2/routing/transitions');
    expect(start.body.items).toEqual([]);
    const lastId = start.body.lastId as number;
    const mine = await seed({ status: 'completed' });
    await seed({ key: api.keys.other });
    const page = await api.call('GET', `/api/v2/routing/transitions?after=${lastId}`);
    expect(page.body.items.map((t: AnyJson) => [t.callbackId, t.status])).toEqual([
      [mine, 'accepted'],
      [mine, 'pending'],
      [mine, 'completed'],
    ]);
    expect(page.body.lastId).toBe(page.body.items.at(-1).id);
  });

  it('streams server-sent events and resumes after Last-Event-ID', async () => {
    const ctl = new AbortController();
    const res = await fetch(`${api.url}/api/v2/routing/transitions`, {
      headers: { authorization: `Bearer ${api.keys.all}`, accept: 'text/event-stream' },
      signal: ctl.signal,
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    const reader = res.body!.getReader();
    let text = '';
    const id = await seed({ status: 'pending' });
    while (!/event: transition\ndata: .*"status":"pending"/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    ctl.abort();
    const events = [...text.matchAll(/id: (\d+)\nevent: transition\ndata: (.*)\n/g)].map((m) => ({
      id: Number(m[1]),
      data: JSON.parse(m[2]!),
    }));
    expect(events.map((e) => [e.data.callbackId, e.data.status])).toEqual([
      [id, 'accepted'],
      [id, 'pending'],
    ]);

    // Reconnecting with the first event's id replays only what came after it.
    const ctl2 = new AbortController();
    const again = await fetch(`${api.url}/api/v2/routing/transitions`, {
      headers: {
        authorization: `Bearer ${api.keys.all}`,
        accept: 'text/event-stream',
        'last-event-id': String(events[0]!.id),
      },
      signal: ctl2.signal,
    });
    const r2 = again.body!.getReader();
    let t2 = '';
    while (!/event: transition/.test(t2)) {
      const { value, done } = await r2.read();
      if (done) break;
      t2 += new TextDecoder().decode(value);
    }
    ctl2.abort();
    expect(t2).toContain(`id: ${events[1]!.id}\n`);
    expect(t2).not.toContain(`id: ${events[0]!.id}\n`);
  });
});

describe('dead letters', () => {
  it('lists this tenant’s dead deliveries and puts one back in the queue once', async () => {
    const id = await seed();
    // Deliveries give up the way the webhook worker does: leased, then marked dead.
    const pk = (await api.store.get('acme', id))!.pk;
    for (let round = 0; round < 20; round++) {
      const rows = await api.store.leaseOutbox('webhook', 100, 60_000, api.clock.now());
      for (const r of rows) await api.store.markDead(r.id, api.clock.now(), 'HTTP 500 from the CRM');
      if (rows.some((r) => r.callbackPk === pk) || rows.length === 0) break;
    }
    const list = await api.call('GET', '/api/v2/routing/deadletters');
    const mine = list.body.items.find((d: AnyJson) => d.callbackId === id);
    expect(mine).toMatchObject({ channel: 'webhook', lastError: 'HTTP 500 from the CRM' });
    expect(list.body.total).toBeGreaterThanOrEqual(1);
    expect(
      (await api.call('GET', '/api/v2/routing/deadletters', { key: api.keys.other })).body.items,
    ).toEqual(expect.not.arrayContaining([expect.objectContaining({ callbackId: id })]));

    const other = await api.call('POST', `/api/v2/routing/deadletters/${mine.eventId}/retry`, {
      key: api.keys.other,
    });
    expect(other.status).toBe(404);
    const viewOnly = await api.call('POST', `/api/v2/routing/deadletters/${mine.eventId}/retry`, {
      key: api.keys.view,
    });
    expect(viewOnly.status).toBe(403);
    const retried = await api.call('POST', `/api/v2/routing/deadletters/${mine.eventId}/retry`);
    expect(retried.status).toBe(200);
    const leased = await api.store.leaseOutbox('webhook', 100, 60_000, api.clock.now());
    expect(leased.map((r) => r.id)).toContain(mine.eventId);
    // The first attempt of a fresh set (leasing counts it).
    expect(leased.find((r) => r.id === mine.eventId)!.attempts).toBe(1);
    const twice = await api.call('POST', `/api/v2/routing/deadletters/${mine.eventId}/retry`);
    expect(twice.status).toBe(409);
    expect(twice.body.errors[0].code).toBe('NOT_A_DEAD_LETTER');
  });
});

describe('security headers', () => {
  it('sends the CSP, nosniff and no framing on API answers and the page', async () => {
    for (const path of ['/', '/healthz', '/api/v2/routing/queues']) {
      const res = await api.call('GET', path);
      expect(res.headers.get('content-security-policy')).toBe(
        "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
      );
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('serves the bundled assets and nothing outside them', async () => {
    const html = (await api.call('GET', '/', { key: null })).text;
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const res = await api.call('GET', script, { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await api.call('GET', '/assets/..%2Fpackage.json', { key: null })).status).toBe(404);
    expect((await api.call('GET', '/assets/missing.js', { key: null })).status).toBe(404);
  });
});
