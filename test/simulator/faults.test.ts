import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BILLING_QUEUE_ID, SUPPORT_QUEUE_ID } from '../../src/simulator/index.js';
import { createBody, fetchToken, type Harness, startHarness } from './helpers.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.sim.close();
});

const QUEUE = `/api/v2/routing/queues/${SUPPORT_QUEUE_ID}`;
const CB = '/api/v2/conversations/callbacks';

describe('rate limit per token', () => {
  it('answers 429 with Retry-After and inin-ratelimit-* headers past the limit, until the minute ends', async () => {
    h.sim.control.setRequestsPerMinute(5);
    h.sim.clock.advanceMs(10_000);
    for (let i = 1; i <= 5; i++) {
      const r = await h.api('GET', QUEUE);
      expect(r.status).toBe(200);
      expect(r.headers.get('inin-ratelimit-count')).toBe(String(i));
      expect(r.headers.get('inin-ratelimit-allowed')).toBe('5');
    }
    h.sim.clock.advanceMs(20_000);
    const limited = await h.api('GET', QUEUE);
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ status: 429, code: 'too.many.requests.retry.after' });
    expect(limited.headers.get('retry-after')).toBe('40');
    expect(limited.headers.get('inin-ratelimit-reset')).toBe('40');
    expect(limited.headers.get('inin-ratelimit-allowed')).toBe('5');
    // A refused create creates nothing.
    expect((await h.api('POST', CB, createBody())).status).toBe(429);
    expect(h.sim.control.conversations()).toHaveLength(0);
    h.sim.clock.advanceMs(40_000);
    expect((await h.api('GET', QUEUE)).status).toBe(200);
    expect(h.sim.control.counters()['getQueue']).toEqual({ '200': 6, '429': 1 });
  });

  it('counts each token separately', async () => {
    h.sim.control.setRequestsPerMinute(2);
    await h.api('GET', QUEUE);
    await h.api('GET', QUEUE);
    expect((await h.api('GET', QUEUE)).status).toBe(429);
    const other = await fetchToken(h.sim.url);
    expect((await h.api('GET', QUEUE, undefined, { authorization: `Bearer ${other}` })).status).toBe(200);
  });

  it('defaults to 300 requests per minute', async () => {
    const r = await h.api('GET', QUEUE);
    expect(r.headers.get('inin-ratelimit-allowed')).toBe('300');
  });

  it('carries inin-ratelimit-* on ordinary answers of every kind, 2xx and 4xx alike', async () => {
    const answers = [
      await h.api('GET', QUEUE),
      await h.api('GET', '/api/v2/conversations/callbacks/nope'),
      await h.api('POST', CB, { callbackNumbers: [] }),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 404, 400]);
    expect(answers.map((r) => r.headers.get('inin-ratelimit-count'))).toEqual(['1', '2', '3']);
    for (const r of answers) expect(r.headers.get('inin-ratelimit-reset')).toMatch(/^\d+$/);
  });

  it('a resource with its own lower limit reports it in the headers and is shared by every token', async () => {
    h.sim.control.setResourceLimits({ conversationDetails: 2 });
    const query = { interval: '2024-06-15T00:00:00.000Z/2024-06-16T00:00:00.000Z' };
    const first = await h.api('POST', '/api/v2/analytics/conversations/details/query', query);
    expect(first.headers.get('inin-ratelimit-allowed')).toBe('2');
    expect(first.headers.get('inin-ratelimit-count')).toBe('1');
    // Other resources still show the token's window.
    expect((await h.api('GET', QUEUE)).headers.get('inin-ratelimit-allowed')).toBe('300');
    const other = await fetchToken(h.sim.url);
    const second = await h.api('POST', '/api/v2/analytics/conversations/details/query', query, {
      authorization: `Bearer ${other}`,
    });
    expect(second.headers.get('inin-ratelimit-count')).toBe('2');
    const third = await h.api('POST', '/api/v2/analytics/conversations/details/query', query);
    expect(third.status).toBe(429);
    expect(third.body.code).toBe('too.many.requests.retry.after');
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await h.api('GET', QUEUE)).status).toBe(200);
  });

  it('a valid token gets its headers on an unknown path too', async () => {
    const r = await h.api('GET', '/api/v2/nothing/here');
    expect(r.status).toBe(404);
    expect(r.headers.get('inin-ratelimit-count')).toBe('1');
    expect(
      (await h.raw('GET', '/api/v2/nothing/here', undefined, {})).headers.get('inin-ratelimit-count'),
    ).toBeNull();
  });

  it('can answer without any inin-ratelimit-* header (to break header pacing on purpose)', async () => {
    const r = await h.raw('POST', '/sim/settings', JSON.stringify({ rateLimitHeaders: false }), {});
    expect(r.body.rateLimitHeaders).toBe(false);
    const a = await h.api('GET', QUEUE);
    expect(a.status).toBe(200);
    expect([...a.headers.keys()].filter((k) => k.startsWith('inin-ratelimit'))).toEqual([]);
    const bad = await h.raw('POST', '/sim/settings', JSON.stringify({ resourceLimits: { nope: 1 } }), {});
    expect(bad.status).toBe(400);
  });
});

/** Sends a request and reports whether the socket was cut instead of answered. */
function rawRequest(url: string, path: string, token: string, body: string): Promise<'reset' | number> {
  return new Promise((resolve) => {
    const req = request(`${url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve('reset'));
    req.end(body);
  });
}

describe('fault injection', () => {
  it('reset: the connection drops before the create takes effect', async () => {
    h.sim.control.addFault({ endpoint: 'createCallback', kind: 'reset', times: 1 });
    const outcome = await rawRequest(h.sim.url, CB, h.token, JSON.stringify(createBody()));
    expect(outcome).toBe('reset');
    expect(h.sim.control.conversations()).toHaveLength(0);
    expect(h.sim.control.counters()['createCallback']).toEqual({ reset: 1 });
    // times: 1 — the next one goes through.
    expect((await h.api('POST', CB, createBody())).status).toBe(200);
  });

  it('commitNoAnswer: the callback exists but the client never hears so', async () => {
    h.sim.control.addFault({ endpoint: 'createCallback', kind: 'commitNoAnswer', times: 1 });
    const outcome = await rawRequest(
      h.sim.url,
      CB,
      h.token,
      JSON.stringify(createBody({ data: { callbackId: 'x1' } })),
    );
    expect(outcome).toBe('reset');
    expect(h.sim.control.conversations({ callbackId: 'x1' })).toHaveLength(1);
    expect(h.sim.control.counters()['createCallback']).toEqual({ noAnswer: 1 });
  });

  it('error: answers the chosen 5xx as an ErrorBody and changes nothing', async () => {
    h.sim.control.addFault({ endpoint: 'createCallback', kind: 'error', status: 502 });
    const r = await h.api('POST', CB, createBody());
    expect(r.status).toBe(502);
    expect(r.body).toMatchObject({ status: 502, code: 'bad.gateway' });
    expect(h.sim.control.conversations()).toHaveLength(0);
    // Other endpoints are untouched.
    expect((await h.api('GET', QUEUE)).status).toBe(200);
  });

  it('latency: delays the answer by latencyMs', async () => {
    h.sim.control.addFault({ endpoint: 'getQueue', kind: 'latency', latencyMs: 300 });
    const t0 = Date.now();
    expect((await h.api('GET', QUEUE)).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
  });

  it('rates are drawn from the seeded PRNG: the same seed injects on the same requests', async () => {
    const pattern = async (): Promise<number[]> => {
      const other = await startHarness({ seed: 7 });
      try {
        other.sim.control.addFault({ endpoint: '*', kind: 'error', status: 503, rate: 0.3 });
        const statuses: number[] = [];
        for (let i = 0; i < 30; i++) statuses.push((await other.api('GET', QUEUE)).status);
        return statuses;
      } finally {
        await other.sim.close();
      }
    };
    const a = await pattern();
    expect(await pattern()).toEqual(a);
    expect(a).toContain(503);
    expect(a).toContain(200);
  });

  it('is configurable over HTTP and refuses a bad rule', async () => {
    const add = await h.raw(
      'POST',
      '/sim/faults',
      JSON.stringify({ endpoint: 'getQueue', kind: 'error', status: 504 }),
      {},
    );
    expect(add.status).toBe(200);
    expect((await h.api('GET', QUEUE)).status).toBe(504);
    const bad = await h.raw(
      'POST',
      '/sim/faults',
      JSON.stringify({ endpoint: 'getQueue', kind: 'explode' }),
      {},
    );
    expect(bad.status).toBe(400);
    expect((await h.raw('DELETE', '/sim/faults', undefined, {})).status).toBe(200);
    expect((await h.api('GET', QUEUE)).status).toBe(200);
  });
});

describe('control API over HTTP', () => {
  it("serves the demo org with the guide's ids and usable credentials", async () => {
    const r = await h.raw('GET', '/sim/org', undefined, {});
    expect(r.status).toBe(200);
    expect(r.body.oauth).toMatchObject({
      clientId: 'callbackd-demo',
      clientSecret: 'demo-secret-not-for-production',
    });
    expect(r.body.queues.map((q: { name: string }) => q.name)).toEqual(['Support', 'Billing']);
    expect(r.body.queues[0]).toMatchObject({
      id: 'a1b2c3d4-e5f6-7890-abcd-ef1234567890',
      mediaSettings: { callback: { mode: 'AgentFirst' } },
      wrapupCodes: expect.arrayContaining([expect.objectContaining({ name: 'PROGRAMMATIC_CALLBACK' })]),
    });
    expect(r.body.queues[1].id).toBe('b2c3d4e5-f6a7-8901-bcde-f12345678901');
    expect(r.body.dids.map((d: { phoneNumber: string }) => d.phoneNumber)).toEqual([
      '+18005551234',
      '+18005551235',
    ]);
    expect(r.body.customers[0]).toMatchObject({ externalId: 'CRM-998271', phoneNumbers: ['+14155552671'] });
    expect(r.body.urls.api).toBe(h.sim.url);
  });

  it('advances and reads the clock, refusing to go backwards', async () => {
    const adv = await h.raw('POST', '/sim/clock', JSON.stringify({ advanceSeconds: 90 }), {});
    expect(adv.body.now).toBe('2024-06-15T15:01:30.000Z');
    const set = await h.raw('POST', '/sim/clock', JSON.stringify({ set: '2024-06-15T17:00:00Z' }), {});
    expect(set.body.now).toBe('2024-06-15T17:00:00.000Z');
    const back = await h.raw('POST', '/sim/clock', JSON.stringify({ set: '2024-06-15T00:00:00Z' }), {});
    expect(back.status).toBe(400);
    expect(h.sim.clock.nowIso()).toBe('2024-06-15T17:00:00.000Z');
  });

  it('sets number rules, lists conversations by callbackId, counts, and resets', async () => {
    const rule = await h.raw(
      'POST',
      '/sim/rules',
      JSON.stringify({ number: '+1 415 555 0199', rule: { outcome: 'busy' } }),
      {},
    );
    expect(rule.status).toBe(200);
    const id = await h.create({ callbackNumbers: ['+14155550199'], data: { callbackId: 'k' } });
    await h.create({ data: { callbackId: 'other' } });
    h.sim.clock.advanceMs(3600_000 + 30_000);
    const list = await h.raw('GET', '/sim/conversations?callbackId=k', undefined, {});
    expect(list.body.total).toBe(1);
    expect(list.body.conversations[0]).toMatchObject({ id, endReason: 'busy' });
    const counters = await h.raw('GET', '/sim/counters', undefined, {});
    expect(counters.body.createCallback).toEqual({ '200': 2 });
    expect(counters.body.token).toEqual({ '200': 1 });
    expect((await h.raw('POST', '/sim/rules', JSON.stringify({ number: 'x', rule: {} }), {})).status).toBe(
      400,
    );
    expect((await h.raw('POST', '/sim/reset', undefined, {})).status).toBe(200);
    expect(h.sim.control.conversations()).toHaveLength(0);
    expect(h.sim.control.counters()).toEqual({});
    // Reset revokes tokens.
    expect((await h.api('GET', QUEUE)).status).toBe(401);
  });

  it('changes settings and queue staffing over HTTP', async () => {
    const s = await h.raw(
      'POST',
      '/sim/settings',
      JSON.stringify({ requestsPerMinute: 1, analyticsLagMs: 0 }),
      {},
    );
    expect(s.body.requestsPerMinute).toBe(1);
    await h.api('GET', QUEUE);
    expect((await h.api('GET', QUEUE)).status).toBe(429);
    const q = await h.raw(
      'POST',
      `/sim/queues/${SUPPORT_QUEUE_ID}`,
      JSON.stringify({ agents: 1, capacity: { maxWaiting: 3 } }),
      {},
    );
    expect(q.status).toBe(200);
    expect(q.body[0]).toMatchObject({ agents: 1, capacity: { maxWaiting: 3 } });
    expect((await h.raw('POST', '/sim/queues/nope', JSON.stringify({ agents: 1 }), {})).status).toBe(404);
    expect((await h.raw('POST', '/sim/settings', '{oops', {})).status).toBe(400);
  });

  it('lets a supervisor move or disconnect a callback outside the API, uncounted', async () => {
    const id = await h.create();
    h.sim.control.resetCounters();
    const moved = await h.raw(
      'POST',
      `/sim/conversations/${id}/reschedule`,
      JSON.stringify({ callbackScheduledTime: '2024-06-15T18:00:00.000Z', queueId: BILLING_QUEUE_ID }),
      {},
    );
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({
      queueId: BILLING_QUEUE_ID,
      callbackScheduledTime: '2024-06-15T18:00:00.000Z',
    });
    const customer = await h.customer(id);
    expect(customer).toMatchObject({
      callbackScheduledTime: '2024-06-15T18:00:00.000Z',
      queue: { id: BILLING_QUEUE_ID },
    });
    h.sim.control.supervisorDisconnect(id);
    expect(h.sim.control.conversation(id)?.endReason).toBe('disconnectedByApi');
    expect((await h.raw('POST', `/sim/conversations/${id}/disconnect`, undefined, {})).status).toBe(400);
    expect(h.sim.control.counters()['rescheduleCallback']).toBeUndefined();
  });
});
