import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BILLING_QUEUE_ID, SUPPORT_QUEUE_ID } from '../../src/simulator/index.js';
import { basic, CUSTOMER, createBody, DID, type Harness, startHarness } from './helpers.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.sim.close();
});

const CB = '/api/v2/conversations/callbacks';

describe('OAuth client credentials', () => {
  it('issues a bearer token with expires_in for the demo client', async () => {
    const r = await h.raw('POST', '/oauth/token', 'grant_type=client_credentials', {
      authorization: basic(),
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ token_type: 'bearer', expires_in: 86400 });
    expect(typeof r.body.access_token).toBe('string');
  });

  it('refuses a wrong secret with 401 invalid_client', async () => {
    const r = await h.raw('POST', '/oauth/token', 'grant_type=client_credentials', {
      authorization: basic('callbackd-demo', 'wrong'),
    });
    expect(r.status).toBe(401);
    expect(r.body.error).toBe('invalid_client');
  });

  it('refuses a missing Basic header and an unsupported grant', async () => {
    const none = await h.raw('POST', '/oauth/token', 'grant_type=client_credentials', {});
    expect(none.status).toBe(401);
    const grant = await h.raw('POST', '/oauth/token', 'grant_type=password', { authorization: basic() });
    expect(grant.status).toBe(400);
    expect(grant.body.error).toBe('unsupported_grant_type');
  });

  it('answers 401 on every /api/v2 route without a token, with a bad token, and once the token expires', async () => {
    const noToken = await h.raw('GET', `/api/v2/routing/queues/${SUPPORT_QUEUE_ID}`, undefined, {});
    expect(noToken.status).toBe(401);
    expect(noToken.body).toMatchObject({ status: 401, code: 'authentication.required' });
    const bad = await h.api('GET', `/api/v2/routing/queues/${SUPPORT_QUEUE_ID}`, undefined, {
      authorization: 'Bearer nope',
    });
    expect(bad.status).toBe(401);
    expect(bad.body.code).toBe('bad.credentials');
    expect((await h.api('GET', `/api/v2/routing/queues/${SUPPORT_QUEUE_ID}`)).status).toBe(200);
    h.sim.clock.advanceMs(86_400_000);
    const expired = await h.api('GET', `/api/v2/routing/queues/${SUPPORT_QUEUE_ID}`);
    expect(expired.status).toBe(401);
    expect(expired.body.code).toBe('bad.credentials');
    const created = await h.api('POST', CB, createBody());
    expect(created.status).toBe(401);
    expect(h.sim.control.conversations()).toHaveLength(0);
  });

  it('honours a short token lifetime set at start', async () => {
    const short = await startHarness({ tokenLifetimeSeconds: 300 });
    try {
      short.sim.clock.advanceMs(299_000);
      expect((await short.api('GET', `/api/v2/routing/queues/${SUPPORT_QUEUE_ID}`)).status).toBe(200);
      short.sim.clock.advanceMs(1_000);
      expect((await short.api('GET', `/api/v2/routing/queues/${SUPPORT_QUEUE_ID}`)).status).toBe(401);
    } finally {
      await short.sim.close();
    }
  });
});

describe('POST /api/v2/conversations/callbacks', () => {
  it('answers CreateCallbackResponse and the conversation carries data as customer attributes', async () => {
    const r = await h.api('POST', CB, createBody());
    expect(r.status).toBe(200);
    expect(r.body.conversation.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body.conversation.selfUri).toBe(`/api/v2/conversations/${r.body.conversation.id}`);
    expect(r.body.callbackIdentifiers).toEqual([{ type: 'ACD', id: expect.any(String) }]);
    const conv = await h.get(r.body.conversation.id);
    expect(conv.id).toBe(r.body.conversation.id);
    const customer = conv.participants.find((p: { purpose: string }) => p.purpose === 'customer');
    expect(customer).toMatchObject({
      state: 'none',
      callbackNumbers: [CUSTOMER],
      callbackScheduledTime: '2024-06-15T16:00:00.000Z',
      callbackUserName: 'Marcus Vance',
      attributes: { callbackId: 'cb-CRM-998271-20240615T160000Z', timeoutSeconds: '300' },
      queue: { id: SUPPORT_QUEUE_ID, name: 'Support' },
    });
    expect(customer.id).toBe(r.body.callbackIdentifiers[0].id);
    const acd = conv.participants.find((p: { purpose: string }) => p.purpose === 'acd');
    expect(acd).toMatchObject({ state: 'connected', queue: { id: SUPPORT_QUEUE_ID } });
  });

  it('creates a new conversation on every call: the platform does not deduplicate', async () => {
    const a = await h.create();
    const b = await h.create();
    expect(a).not.toBe(b);
    expect(h.sim.control.conversations({ callbackId: 'cb-CRM-998271-20240615T160000Z' })).toHaveLength(2);
  });

  it('accepts the top-level queueId form', async () => {
    const r = await h.api('POST', CB, { queueId: BILLING_QUEUE_ID, callbackNumbers: [CUSTOMER] });
    expect(r.status).toBe(200);
    expect(h.sim.control.conversation(r.body.conversation.id)?.queueId).toBe(BILLING_QUEUE_ID);
  });

  const bad: [string, string | Record<string, unknown>, number, string][] = [
    ['malformed JSON', '{"callbackNumbers": [', 400, 'bad.request'],
    ['a JSON array', '[1,2]', 400, 'bad.request'],
    ['missing callbackNumbers', createBody({ callbackNumbers: undefined }), 400, 'bad.request'],
    ['empty callbackNumbers', createBody({ callbackNumbers: [] }), 400, 'invalid.value'],
    ['callbackNumbers as a string', createBody({ callbackNumbers: CUSTOMER }), 400, 'invalid.value'],
    ['a number as callback number', createBody({ callbackNumbers: [14155552671] }), 400, 'invalid.value'],
    [
      'an unknown queue',
      createBody({ routingData: { queueId: '00000000-0000-0000-0000-000000000000' } }),
      400,
      'bad.request',
    ],
    ['no queue at all', createBody({ routingData: undefined }), 400, 'bad.request'],
    ['routingData without queueId', createBody({ routingData: { priority: 1 } }), 400, 'bad.request'],
    [
      'a non-integer priority',
      createBody({ routingData: { queueId: SUPPORT_QUEUE_ID, priority: '5' } }),
      400,
      'invalid.value',
    ],
    [
      'a date without zone',
      createBody({ callbackScheduledTime: '2024-06-15T16:00:00' }),
      400,
      'invalid.date',
    ],
    ['a date that is not a date', createBody({ callbackScheduledTime: 'tomorrow' }), 400, 'invalid.date'],
    ['a numeric data value', createBody({ data: { callbackId: 7 } }), 400, 'invalid.value'],
    ['data as an array', createBody({ data: ['x'] }), 400, 'invalid.value'],
    ['a callerId that is not E.164', createBody({ callerId: '8005551234' }), 400, 'invalid.value'],
    [
      'an unknown delivery mode',
      createBody({ customerFirstCallbackDeliveryMode: 'Later' }),
      400,
      'invalid.value',
    ],
    [
      'validated numbers that are not E.164',
      createBody({ validateCallbackNumbers: true, callbackNumbers: ['555-1234'] }),
      400,
      'invalid.value',
    ],
  ];
  for (const [what, body, status, code] of bad) {
    it(`refuses ${what} with ${status} ${code} and creates nothing`, async () => {
      const r = await h.raw('POST', CB, typeof body === 'string' ? body : JSON.stringify(body), {
        authorization: `Bearer ${h.token}`,
        'content-type': 'application/json',
      });
      expect(r.status).toBe(status);
      expect(r.body).toMatchObject({
        status,
        code,
        message: expect.any(String),
        contextId: expect.any(String),
      });
      expect(r.body.messageParams).toBeTypeOf('object');
      expect(h.sim.control.conversations()).toHaveLength(0);
    });
  }

  it('refuses a non-JSON content type with 415 and an empty body with 400', async () => {
    const text = await h.api('POST', CB, createBody(), { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    const empty = await h.raw('POST', CB, '', {
      authorization: `Bearer ${h.token}`,
      'content-type': 'application/json',
    });
    expect(empty.status).toBe(400);
  });

  it('refuses a body over 1 MiB with 413', async () => {
    const r = await h.api('POST', CB, createBody({ data: { big: 'x'.repeat(1_100_000) } }));
    expect(r.status).toBe(413);
  });

  it("ignores fields the platform does not know (such as the guide's callbackId)", async () => {
    const r = await h.api('POST', CB, createBody({ callbackId: 'ignored', timeout: 300 }));
    expect(r.status).toBe(200);
  });
});

describe('GET /api/v2/conversations/callbacks', () => {
  it('answers 404 not.found for an unknown conversation', async () => {
    const r = await h.api('GET', `${CB}/7d1b7c38-0000-4000-8000-000000000000`);
    expect(r.status).toBe(404);
    expect(r.body.code).toBe('not.found');
  });

  it('refuses the per-user listing for a client-credentials token', async () => {
    const r = await h.api('GET', CB);
    expect(r.status).toBe(400);
  });
});

describe('PATCH /api/v2/conversations/callbacks (reschedule)', () => {
  it('moves a callback that has not started and answers the create shape', async () => {
    const id = await h.create();
    const r = await h.api('PATCH', CB, {
      conversationId: id,
      callbackScheduledTime: '2024-06-15T18:00:00.000Z',
      callbackNumbers: ['+14155550199'],
    });
    expect(r.status).toBe(200);
    expect(r.body.conversation.id).toBe(id);
    const customer = await h.customer(id);
    expect(customer.callbackScheduledTime).toBe('2024-06-15T18:00:00.000Z');
    expect(customer.callbackNumbers).toEqual(['+14155550199']);
    h.sim.clock.advanceMs(61 * 60_000);
    expect((await h.customer(id)).state).toBe('none');
    h.sim.clock.advanceMs(2 * 3600_000);
    expect((await h.customer(id)).state).toBe('connected');
    h.sim.clock.advanceMs(3600_000);
    expect((await h.customer(id)).state).toBe('disconnected');
  });

  it('refuses a missing conversationId, an unknown conversation and a bad date', async () => {
    expect((await h.api('PATCH', CB, { callbackScheduledTime: '2024-06-15T18:00:00Z' })).status).toBe(400);
    const unknown = await h.api('PATCH', CB, { conversationId: '7d1b7c38-0000-4000-8000-000000000000' });
    expect(unknown.status).toBe(404);
    const id = await h.create();
    const date = await h.api('PATCH', CB, { conversationId: id, callbackScheduledTime: 'soon' });
    expect(date.status).toBe(400);
    expect(date.body.code).toBe('invalid.date');
  });

  it('refuses to reschedule a callback already routed to an agent', async () => {
    const id = await h.create();
    h.sim.clock.advanceMs(3600_000 + 1000);
    const r = await h.api('PATCH', CB, { conversationId: id, callbackScheduledTime: '2024-06-15T18:00:00Z' });
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/already been routed/);
  });
});

describe('PATCH /api/v2/conversations/callbacks/{id} and bulk disconnect', () => {
  it('disconnects with disconnectType client and never dials afterwards', async () => {
    const id = await h.create();
    const r = await h.api('PATCH', `${CB}/${id}`, { state: 'disconnected' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id, state: 'disconnected' });
    const customer = await h.customer(id);
    expect(customer).toMatchObject({ state: 'disconnected', disconnectType: 'client' });
    h.sim.clock.advanceMs(2 * 3600_000);
    const after = await h.get(id);
    expect(after.participants.some((p: { purpose: string }) => p.purpose === 'agent')).toBe(false);
  });

  it('refuses a second disconnect and any other state', async () => {
    const id = await h.create();
    expect((await h.api('PATCH', `${CB}/${id}`, { state: 'connected' })).status).toBe(400);
    expect((await h.api('PATCH', `${CB}/${id}`, { state: 'disconnected' })).status).toBe(200);
    const again = await h.api('PATCH', `${CB}/${id}`, { state: 'disconnected' });
    expect(again.status).toBe(400);
    expect(again.body.message).toMatch(/already disconnected/);
  });

  it('bulk-disconnects by conversationId + callbackId and answers 202 with no body', async () => {
    const a = await h.api('POST', CB, createBody());
    const b = await h.create();
    const r = await h.api('POST', `${CB}/bulk/disconnect`, {
      callbackDisconnectIdentifiers: [
        { conversationId: a.body.conversation.id, callbackId: a.body.callbackIdentifiers[0].id },
      ],
    });
    expect(r.status).toBe(202);
    expect(r.body).toBeUndefined();
    expect((await h.customer(a.body.conversation.id)).state).toBe('disconnected');
    expect((await h.customer(b)).state).toBe('none');
    const bad = await h.api('POST', `${CB}/bulk/disconnect`, {
      callbackDisconnectIdentifiers: [{ conversationId: 1 }],
    });
    expect(bad.status).toBe(400);
  });
});

describe('routing and telephony', () => {
  it('GET /routing/queues/{id} answers the queue with mediaSettings.callback', async () => {
    const r = await h.api('GET', `/api/v2/routing/queues/${SUPPORT_QUEUE_ID}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      id: SUPPORT_QUEUE_ID,
      name: 'Support',
      mediaSettings: { callback: { mode: 'AgentFirst', enableAutoDialAndEnd: true } },
      agentOwnedRouting: { maxOwnedCallbackDelayHours: 720 },
    });
    expect((await h.api('GET', '/api/v2/routing/queues/00000000-0000-0000-0000-000000000000')).status).toBe(
      404,
    );
  });

  it('pages wrap-up codes and DIDs', async () => {
    const codes = await h.api(
      'GET',
      `/api/v2/routing/queues/${SUPPORT_QUEUE_ID}/wrapupcodes?pageSize=1&pageNumber=1`,
    );
    expect(codes.status).toBe(200);
    expect(codes.body).toMatchObject({ pageSize: 1, pageNumber: 1, total: 7, pageCount: 7 });
    expect(codes.body.entities).toEqual([expect.objectContaining({ name: 'PROGRAMMATIC_CALLBACK' })]);
    expect(codes.body.nextUri).toContain('pageNumber=2');
    const page2 = await h.api(
      'GET',
      `/api/v2/routing/queues/${SUPPORT_QUEUE_ID}/wrapupcodes?pageSize=1&pageNumber=2`,
    );
    expect(page2.body.entities[0].name).toBe('RESOLVED');
    const dids = await h.api('GET', '/api/v2/telephony/providers/edges/dids');
    expect(dids.body.entities.map((d: { phoneNumber: string }) => d.phoneNumber)).toEqual([
      DID,
      '+18005551235',
    ]);
    const one = await h.api(
      'GET',
      `/api/v2/telephony/providers/edges/dids?phoneNumber=${encodeURIComponent(DID)}`,
    );
    expect(one.body.total).toBe(1);
    expect((await h.api('GET', '/api/v2/telephony/providers/edges/dids?pageSize=0')).status).toBe(400);
    expect(
      (await h.api('GET', '/api/v2/routing/queues/00000000-0000-0000-0000-000000000000/wrapupcodes')).status,
    ).toBe(404);
  });

  it('lists queues by name', async () => {
    const r = await h.api('GET', '/api/v2/routing/queues?name=Bill');
    expect(r.body.entities.map((q: { id: string }) => q.id)).toEqual([BILLING_QUEUE_ID]);
  });
});

describe('unknown routes', () => {
  it('answers 404 for an unknown path and 405 for a wrong method, as ErrorBody', async () => {
    const nf = await h.api('GET', '/api/v2/routing/callbacks');
    expect(nf.status).toBe(404);
    expect(nf.body.code).toBe('not.found');
    const na = await h.api('DELETE', `/api/v2/routing/queues/${SUPPORT_QUEUE_ID}`);
    expect(na.status).toBe(405);
  });
});
