import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUPPORT_QUEUE_ID } from '../../src/simulator/index.js';
import { createBody, type Harness, startHarness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ requestsPerMinute: 1_000_000 });
});
afterAll(async () => {
  await h.sim.close();
});

const hostile = fc.oneof(
  fc.jsonValue(),
  fc.constant({ __proto__: { polluted: true }, constructor: { prototype: { polluted: true } } }),
  fc.string(),
  fc.integer(),
  fc.constant(null),
  fc.array(fc.jsonValue(), { maxLength: 4 }),
);

/** A create body with one field replaced by something hostile. */
const mutatedCreate = fc
  .tuple(
    fc.constantFrom(
      'callbackNumbers',
      'routingData',
      'queueId',
      'callbackScheduledTime',
      'data',
      'callerId',
      'callbackUserName',
      'validateCallbackNumbers',
      'customerFirstCallbackDeliveryMode',
      '__proto__',
    ),
    hostile,
  )
  .map(([field, value]) => JSON.stringify({ ...createBody(), [field]: value }));

/** A search body whose criteria are partly hostile. */
const mutatedSearch = fc.tuple(hostile, hostile).map(([criterion, extra]) =>
  JSON.stringify({
    query: [
      { type: 'DATE_RANGE', fields: ['startTime'], startValue: '2024-06-15T00:00:00Z', endValue: extra },
      criterion,
    ],
    cursor: extra,
  }),
);

const rawBodies = fc.oneof(
  mutatedCreate,
  mutatedSearch,
  hostile.map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.constant('{"data": {"__proto__": "x", "constructor": "y"}, "callbackNumbers": ["+14155552671"]}'),
  fc.constant('{'.repeat(5000)),
);

const endpoints: [string, string][] = [
  ['POST', '/api/v2/conversations/callbacks'],
  ['PATCH', '/api/v2/conversations/callbacks'],
  ['PATCH', '/api/v2/conversations/callbacks/00000000-0000-4000-8000-000000000000'],
  ['POST', '/api/v2/conversations/callbacks/bulk/disconnect'],
  ['POST', '/api/v2/analytics/queues/observations/query'],
  ['POST', '/api/v2/analytics/conversations/details/query'],
  ['POST', '/api/v2/notifications/channels/unknown/subscriptions'],
  ['POST', '/api/v2/conversations/participants/attributes/search'],
  ['POST', '/api/v2/analytics/conversations/00000000-0000-4000-8000-000000000000/details/properties'],
];

describe('hostile input', () => {
  it('answers every malformed or hostile body with a 2xx or 4xx, never a 5xx, and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...endpoints), rawBodies, async ([method, path], body) => {
        const r = await h.raw(method, path, body, {
          authorization: `Bearer ${h.token}`,
          'content-type': 'application/json',
        });
        expect(r.status).toBeGreaterThanOrEqual(200);
        expect(r.status).toBeLessThan(500);
      }),
      { numRuns: 300, seed: 20240615 },
    );
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect((await h.api('GET', `/api/v2/routing/queues/${SUPPORT_QUEUE_ID}`)).status).toBe(200);
  });

  it('keeps a "__proto__" data key as an ordinary attribute', async () => {
    const r = await h.raw(
      'POST',
      '/api/v2/conversations/callbacks',
      '{"queueId": "a1b2c3d4-e5f6-7890-abcd-ef1234567890", "callbackNumbers": ["+14155552671"], "data": {"__proto__": "x"}}',
      { authorization: `Bearer ${h.token}`, 'content-type': 'application/json' },
    );
    expect(r.status).toBe(200);
    const conv = await h.get(r.body.conversation.id);
    const customer = conv.participants.find((p: { purpose: string }) => p.purpose === 'customer');
    expect(Object.hasOwn(customer.attributes, '__proto__')).toBe(true);
  });
});
