import type { Models } from 'purecloud-platform-client-v2';
import { describe, expect, it } from 'vitest';
import {
  ATTR,
  callbackData,
  toAttributeSearchRequest,
  toCallbackCandidatesQuery,
  toCreateCallbackCommand,
  toPatchCallbackRequest,
  toQueueObservationQuery,
} from '../../src/genesys/mapping.js';
import { exampleSpec } from './example-spec.js';

describe('CallbackSpec → CreateCallbackCommand', () => {
  it("maps the guide's example field by field", () => {
    const body = toCreateCallbackCommand(exampleSpec({ dtmf: '1' }), { tenantId: 'demo' });
    expect(body).toEqual({
      callbackNumbers: ['+14155552671'],
      callerId: '+18005551234',
      callbackScheduledTime: '2030-06-15T16:00:00.000Z',
      routingData: { queueId: 'a1b2c3d4-e5f6-7890-abcd-ef1234567890', priority: 5 },
      callbackUserName: 'Marcus Vance',
      data: {
        callbackId: 'cb-CRM-998271-20300615T160000Z',
        callbackdTenant: 'demo',
        externalId: 'CRM-998271',
        wrapUpCode: 'PROGRAMMATIC_CALLBACK',
        dtmf: '1',
        callbackTo: '+18005551234',
        timeoutSeconds: '300',
      },
    });
  });

  it('routes to the overflow queue when told, and leaves out what the spec does not have', () => {
    const spec = exampleSpec({ customerData: {}, routingData: { queueId: 'q-own', priority: 0 } });
    const body = toCreateCallbackCommand(spec, { queueId: 'q-overflow' });
    expect(body.routingData).toEqual({ queueId: 'q-overflow', priority: 0 });
    expect(body).not.toHaveProperty('callbackUserName');
    expect(Object.keys(body.data ?? {}).sort()).toEqual(
      [ATTR.callbackId, ATTR.callbackTo, ATTR.timeoutSeconds].sort(),
    );
  });

  it('every data value is a string (the platform takes a string map)', () => {
    const data = callbackData(exampleSpec({ dtmf: '9', timeout: 45 }), { tenantId: 't' });
    expect(Object.values(data).every((v) => typeof v === 'string')).toBe(true);
    expect(data[ATTR.timeoutSeconds]).toBe('45');
  });

  it('look-up candidates: dimension predicates on queue, media type and number, never a property predicate', () => {
    const q = toCallbackCandidatesQuery(
      {
        queueIds: ['q1', 'q2'],
        callbackNumber: '+14155552671',
        from: Date.parse('2030-01-01T00:00:00.000Z'),
        to: Date.parse('2030-01-03T00:00:00.000Z'),
      },
      2,
      100,
    );
    expect(q.interval).toBe('2030-01-01T00:00:00.000Z/2030-01-03T00:00:00.000Z');
    const f = q.segmentFilters?.[0];
    expect(f?.predicates?.map((p) => [p.type, p.dimension, p.value])).toEqual([
      ['dimension', 'mediaType', 'callback'],
      ['dimension', 'callbackNumber', '+14155552671'],
    ]);
    expect(f?.clauses?.[0]?.predicates.map((p) => p.value)).toEqual(['q1', 'q2']);
    expect(JSON.stringify(q)).not.toContain('property');
    expect(q.paging).toEqual({ pageSize: 100, pageNumber: 2 });
  });

  it('the attribute search is a DATE_RANGE on startTime, with the cursor of the previous page', () => {
    expect(toAttributeSearchRequest('2030-01-01T00:00:00.000Z', '2030-01-01T04:00:00.000Z', 'c2')).toEqual({
      query: [
        {
          type: 'DATE_RANGE',
          fields: ['startTime'],
          startValue: '2030-01-01T00:00:00.000Z',
          endValue: '2030-01-01T04:00:00.000Z',
        },
      ],
      cursor: 'c2',
    });
  });

  it('reschedule and observation bodies carry what the platform reads', () => {
    expect(toPatchCallbackRequest('conv-1', exampleSpec())).toEqual({
      conversationId: 'conv-1',
      queueId: 'a1b2c3d4-e5f6-7890-abcd-ef1234567890',
      callbackScheduledTime: '2030-06-15T16:00:00.000Z',
      callbackNumbers: ['+14155552671'],
    });
    const obs = toQueueObservationQuery(['q1', 'q2']);
    expect(obs.filter.clauses?.[0]?.predicates.map((p) => p.value)).toEqual(['q1', 'q2']);
    expect(obs.metrics).toEqual(['oWaiting', 'oInteracting']);
  });
});

// Compile-time checks (npm test runs tsc over test/): the SDK's models reject invented fields,
// so a misspelt field in mapping.ts fails the typecheck rather than being dropped by the platform.
const good = {
  callbackNumbers: ['+14155552671'],
  routingData: { queueId: 'q' },
} satisfies Models.CreateCallbackCommand;
// @ts-expect-error callbackNumber (singular) is not a field of CreateCallbackCommand
const misspelt = { callbackNumber: ['+14155552671'] } satisfies Models.CreateCallbackCommand;
const wrongType = {
  callbackNumbers: ['+1'],
  // @ts-expect-error data is a string map: a number is refused
  data: { timeoutSeconds: 300 },
} satisfies Models.CreateCallbackCommand;
void [good, misspelt, wrongType];
