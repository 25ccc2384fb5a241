import { describe, expect, it } from 'vitest';
import { BILLING_QUEUE_ID, loadConfig, SUPPORT_QUEUE_ID } from '../../src/config/index.js';
import { ERROR_CODES } from '../../src/domain/errors.js';
import type { CallbackSpec } from '../../src/domain/types.js';
import {
  callbackRequestJsonSchema,
  rescheduleRequestJsonSchema,
  type ValidationContext,
  validateCallbackRequest,
  validateReschedule,
} from '../../src/domain/validate.js';

const config = loadConfig({ env: {} });
const NOW = Date.parse('2024-06-14T00:00:00.000Z');
const ctx = (over: Partial<ValidationContext> = {}): ValidationContext => ({
  now: NOW,
  queues: (id) => config.queues[id],
  trustedNumbers: ['+14155552671'],
  ...over,
});

/** The guide's example body. */
const guideBody = () => ({
  callbackNumber: '+14155552671',
  callbackFrom: '+18005551234',
  callbackTo: '+18005551234',
  scheduledTime: '2024-06-15T16:00:00.000Z',
  timeout: 300,
  routingData: { queueId: SUPPORT_QUEUE_ID, priority: 5, wrapUpCode: 'PROGRAMMATIC_CALLBACK' },
  mediaType: 'voice',
  customerData: { externalId: 'CRM-998271', firstName: 'Marcus', lastName: 'Vance' },
});

function violationsOf(body: unknown, c = ctx()) {
  const r = validateCallbackRequest(body, c);
  return r.ok ? [] : r.violations;
}

describe('validateCallbackRequest: the guide example against the default config', () => {
  it('is accepted and normalised, with the callbackId derived', () => {
    const r = validateCallbackRequest(guideBody(), ctx());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.spec).toEqual({
      callbackId: 'cb-CRM-998271-20240615T160000Z',
      callbackNumber: '+14155552671',
      callbackFrom: '+18005551234',
      callbackTo: '+18005551234',
      scheduledTime: '2024-06-15T16:00:00.000Z',
      timeout: 300,
      routingData: { queueId: SUPPORT_QUEUE_ID, priority: 5, wrapUpCode: 'PROGRAMMATIC_CALLBACK' },
      mediaType: 'voice',
      customerData: { externalId: 'CRM-998271', firstName: 'Marcus', lastName: 'Vance' },
    } satisfies CallbackSpec);
    expect(r.details).toEqual({
      scheduledEpochMs: Date.parse('2024-06-15T16:00:00.000Z'),
      customerTimeZone: 'America/New_York',
      customerTimeZoneSource: 'queue',
      callbackIdDerived: true,
    });
  });

  it('is accepted with an explicit callbackId, formatted numbers and an offset time', () => {
    const body = {
      ...guideBody(),
      callbackId: 'my-id_1',
      callbackNumber: '+1 (415) 555-2671',
      scheduledTime: '2024-06-15T12:00:00-04:00',
    };
    const r = validateCallbackRequest(body, ctx());
    expect(r.ok && r.spec).toMatchObject({
      callbackId: 'my-id_1',
      callbackNumber: '+14155552671',
      scheduledTime: '2024-06-15T16:00:00.000Z',
    });
    expect(r.ok && r.details.callbackIdDerived).toBe(false);
  });

  it('fills the queue defaults: priority, timeout and media type', () => {
    const { timeout: _t, mediaType: _m, ...body } = guideBody();
    const r = validateCallbackRequest({ ...body, routingData: { queueId: SUPPORT_QUEUE_ID } }, ctx());
    expect(r.ok && r.spec).toMatchObject({ timeout: 300, mediaType: 'voice', routingData: { priority: 0 } });
    expect(r.ok && 'wrapUpCode' in r.spec.routingData).toBe(false);
  });

  it('accepts scheduledLocalTime + timeZone and keeps the zone', () => {
    const { scheduledTime: _s, ...body } = guideBody();
    const r = validateCallbackRequest(
      { ...body, scheduledLocalTime: '2024-06-15T09:00:00', timeZone: 'America/Los_Angeles' },
      ctx(),
    );
    expect(r.ok && r.spec).toMatchObject({
      scheduledTime: '2024-06-15T16:00:00.000Z',
      timeZone: 'America/Los_Angeles',
    });
    expect(r.ok && r.details.customerTimeZoneSource).toBe('request');
  });
});

describe('validateCallbackRequest: every violation at once', () => {
  it('reports shape and domain problems together', () => {
    const body = {
      callbackId: 'bad id',
      callbackNumber: '+19005551234',
      callbackFrom: '+18005559999',
      scheduledTime: '2024-06-13T16:00:00Z',
      timeout: 5,
      routingData: { queueId: SUPPORT_QUEUE_ID, wrapUpCode: 'NOPE', priority: 1.5 },
      mediaType: 'chat',
      dtmf: '1',
      customerData: { externalId: 'CRM-998271', vip: true },
      color: 'blue',
    };
    const found = violationsOf(body).map((v) => `${v.code} ${v.field}`);
    expect(found).toEqual(
      expect.arrayContaining([
        'INVALID_CALLBACK_ID callbackId',
        'PREMIUM_RATE_NUMBER callbackNumber',
        'REQUIRED callbackTo',
        'DID_NOT_PROVISIONED callbackFrom',
        'SCHEDULED_TIME_IN_PAST scheduledTime',
        'TIMEOUT_OUT_OF_BOUNDS timeout',
        'UNKNOWN_WRAP_UP_CODE routingData.wrapUpCode',
        'INVALID_TYPE routingData.priority',
        'INVALID_VALUE mediaType',
        'DTMF_NOT_ALLOWED dtmf',
        'INVALID_TYPE customerData.vip',
        'UNKNOWN_FIELD color',
      ]),
    );
    expect(found).toHaveLength(12);
  });

  it('every message says what to send instead', () => {
    const body = { ...guideBody(), callbackNumber: '415', scheduledTime: 'tomorrow', dtmf: '1', extra: 1 };
    for (const v of violationsOf(body)) expect(v.message).toMatch(/send|remove|leave|did you mean/i);
  });

  it('refuses a body that is not an object', () => {
    for (const body of [null, [], 'x', 42]) {
      expect(violationsOf(body)).toEqual([
        expect.objectContaining({ code: ERROR_CODES.INVALID_TYPE, field: 'body' }),
      ]);
    }
  });

  it('reports every missing required field', () => {
    const found = violationsOf({}).map((v) => `${v.code} ${v.field}`);
    expect(found).toEqual(
      expect.arrayContaining([
        'REQUIRED callbackNumber',
        'REQUIRED callbackFrom',
        'REQUIRED callbackTo',
        'REQUIRED routingData',
        'REQUIRED scheduledTime',
      ]),
    );
  });

  it('suggests the right spelling for a misspelt field', () => {
    const [v] = violationsOf({ ...guideBody(), CallbackID: 'x' });
    expect(v).toMatchObject({ code: ERROR_CODES.UNKNOWN_FIELD, field: 'CallbackID' });
    expect(v?.message).toContain('did you mean "callbackId"');
  });
});

describe('validateCallbackRequest: schedule notation', () => {
  const { scheduledTime: _s, ...noTime } = guideBody();
  const cases = [
    [
      'both notations',
      { scheduledTime: '2024-06-15T16:00:00Z', scheduledLocalTime: '2024-06-15T12:00' },
      'CONFLICTING_FIELDS scheduledLocalTime',
    ],
    ['local time without zone', { scheduledLocalTime: '2024-06-15T12:00' }, 'REQUIRED timeZone'],
    [
      'unknown zone',
      { scheduledLocalTime: '2024-06-15T12:00', timeZone: 'Moon/Base' },
      'UNKNOWN_TIME_ZONE timeZone',
    ],
    ['missing offset', { scheduledTime: '2024-06-15T16:00:00' }, 'MISSING_OFFSET scheduledTime'],
    ['Feb 30', { scheduledTime: '2025-02-30T16:00:00Z' }, 'INVALID_DATE scheduledTime'],
    ['not ISO', { scheduledTime: '15/06/2024 16:00' }, 'INVALID_TIME_FORMAT scheduledTime'],
    [
      'DST overlap',
      { scheduledLocalTime: '2024-11-03T01:30', timeZone: 'America/New_York' },
      'DST_AMBIGUOUS scheduledLocalTime',
    ],
    [
      'bad dstPolicy',
      { scheduledLocalTime: '2024-06-15T12:00', timeZone: 'UTC', dstPolicy: 'first' },
      'INVALID_VALUE dstPolicy',
    ],
  ] as const;
  it.each(cases)('%s → %s', (_label, fields, expected) => {
    const found = violationsOf(
      { ...noTime, ...fields },
      ctx({ now: Date.parse('2024-06-01T00:00:00Z') }),
    ).map((v) => `${v.code} ${v.field}`);
    expect(found).toContain(expected);
  });

  it('a DST overlap names both candidates and dstPolicy resolves it', () => {
    const body = { ...noTime, scheduledLocalTime: '2024-11-03T01:30', timeZone: 'America/New_York' };
    const c = ctx({ now: Date.parse('2024-11-01T00:00:00Z') });
    const [v] = violationsOf(body, c);
    expect(v?.message).toContain('2024-11-03T05:30:00.000Z');
    expect(v?.message).toContain('2024-11-03T06:30:00.000Z');
    // 01:30 New York is outside the 08:00–21:00 calling window, so this only checks the time resolution.
    const later = validateCallbackRequest({ ...body, dstPolicy: 'later' }, c);
    expect(later.ok ? [] : later.violations.map((x) => x.code)).toEqual([ERROR_CODES.OUTSIDE_CALLING_WINDOW]);
  });
});

describe('validateCallbackRequest: queue policy', () => {
  const billingBody = (over: Record<string, unknown> = {}) => ({
    ...guideBody(),
    callbackFrom: '+18005551235',
    callbackTo: '+18005551235',
    scheduledTime: '2024-06-17T14:00:00Z', // Monday 10:00 New York
    routingData: { queueId: BILLING_QUEUE_ID },
    dtmf: '5',
    ...over,
  });

  it('Billing accepts a weekday in open hours with a DTMF digit', () => {
    expect(violationsOf(billingBody())).toEqual([]);
  });

  it('Billing refuses a Saturday, a missing digit and the Support DID', () => {
    const { dtmf: _d, ...body } = billingBody({
      scheduledTime: '2024-06-15T16:00:00Z',
      callbackFrom: '+18005551234',
    });
    expect(violationsOf(body).map((v) => v.code)).toEqual(
      expect.arrayContaining([
        ERROR_CODES.OUTSIDE_OPEN_HOURS,
        ERROR_CODES.DTMF_REQUIRED,
        ERROR_CODES.DID_NOT_PROVISIONED,
      ]),
    );
  });

  it('refuses an unknown queue but still checks everything else', () => {
    const found = violationsOf({
      ...guideBody(),
      callbackNumber: '+33810123456',
      routingData: { queueId: 'nope' },
    });
    expect(found.map((v) => v.code)).toEqual([ERROR_CODES.SHARED_COST_NUMBER, ERROR_CODES.UNKNOWN_QUEUE]);
  });

  it("checks the calling window in the number's zone when no timeZone is sent", () => {
    // 16:00Z is 17:00 in London (allowed) but 21:30 in Kolkata (outside 08:00–21:00).
    const uk = violationsOf(
      { ...guideBody(), callbackNumber: '+442079460958' },
      ctx({ trustedNumbers: undefined }),
    );
    expect(uk).toEqual([]);
    const india = violationsOf(
      { ...guideBody(), callbackNumber: '+919876543210' },
      ctx({ trustedNumbers: undefined }),
    );
    expect(india.map((v) => v.code)).toEqual([ERROR_CODES.OUTSIDE_CALLING_WINDOW]);
    expect(india[0]?.message).toContain('Asia/Kolkata');
  });
});

describe('validateCallbackRequest: trusted numbers and callbackId derivation', () => {
  it('skips the trust check when trustedNumbers is undefined', () => {
    expect(
      violationsOf({ ...guideBody(), callbackNumber: '+14155550123' }, ctx({ trustedNumbers: undefined })),
    ).toEqual([]);
  });

  it('refuses an untrusted number without revealing it', () => {
    const [v] = violationsOf({ ...guideBody(), callbackNumber: '+14155550123' });
    expect(v).toMatchObject({ code: ERROR_CODES.NUMBER_NOT_TRUSTED, field: 'callbackNumber' });
    expect(v?.message).not.toContain('4155550123');
  });

  it('compares trusted numbers in E.164 whatever their notation', () => {
    expect(violationsOf(guideBody(), ctx({ trustedNumbers: ['+1 (415) 555-2671'] }))).toEqual([]);
  });

  it('refuses an unknown customer', () => {
    expect(violationsOf(guideBody(), ctx({ trustedNumbers: null }))).toEqual([
      expect.objectContaining({ code: ERROR_CODES.CUSTOMER_NOT_FOUND, field: 'customerData.externalId' }),
    ]);
  });

  it('needs a callbackId or an externalId that can make one', () => {
    const noExt = { ...guideBody(), customerData: { firstName: 'Marcus' } };
    expect(violationsOf(noExt, ctx({ trustedNumbers: undefined })).map((v) => v.code)).toEqual([
      ERROR_CODES.CALLBACK_ID_UNDERIVABLE,
    ]);
    const spaced = { ...guideBody(), customerData: { externalId: 'CRM 998271' } };
    expect(violationsOf(spaced, ctx({ trustedNumbers: undefined })).map((v) => v.code)).toEqual([
      ERROR_CODES.CALLBACK_ID_UNDERIVABLE,
    ]);
    expect(violationsOf({ ...spaced, callbackId: 'given' }, ctx({ trustedNumbers: undefined }))).toEqual([]);
  });
});

describe('validateReschedule', () => {
  const accepted = validateCallbackRequest(guideBody(), ctx());
  if (!accepted.ok) throw new Error('guide body must validate');
  const existing = accepted.spec;

  it('moves the time and keeps the id and everything else', () => {
    const r = validateReschedule({ scheduledTime: '2024-06-16T14:00:00-04:00' }, existing, ctx());
    expect(r.ok && r.spec).toEqual({ ...existing, scheduledTime: '2024-06-16T18:00:00.000Z' });
  });

  it('re-validates the new time against the policy', () => {
    const r = validateReschedule({ scheduledTime: '2024-06-14T00:01:00Z' }, existing, ctx());
    expect(r.ok ? [] : r.violations.map((v) => v.code)).toEqual([ERROR_CODES.SCHEDULED_TIME_TOO_SOON]);
  });

  it('changes the number, re-checking it and the trusted record', () => {
    const moved = validateReschedule(
      { callbackNumber: '+1 415 555 0123' },
      existing,
      ctx({ trustedNumbers: ['+14155552671', '+14155550123'] }),
    );
    expect(moved.ok && moved.spec.callbackNumber).toBe('+14155550123');
    const refused = validateReschedule({ callbackNumber: '+14155550123' }, existing, ctx());
    expect(refused.ok ? [] : refused.violations.map((v) => v.code)).toEqual([ERROR_CODES.NUMBER_NOT_TRUSTED]);
  });

  it('does not re-apply lead-time rules when only the number changes', () => {
    const late = ctx({ now: Date.parse('2024-06-15T15:59:00Z') });
    expect(validateReschedule({ callbackNumber: '+14155552671' }, existing, late).ok).toBe(true);
  });

  it('reads a local time in the given zone', () => {
    const r = validateReschedule(
      { scheduledLocalTime: '2024-06-16T10:00', timeZone: 'Europe/London' },
      existing,
      ctx(),
    );
    expect(r.ok && r.spec).toMatchObject({
      scheduledTime: '2024-06-16T09:00:00.000Z',
      timeZone: 'Europe/London',
    });
  });

  it('refuses an empty patch and fields that cannot be patched', () => {
    const empty = validateReschedule({}, existing, ctx());
    expect(empty.ok ? [] : empty.violations.map((v) => v.code)).toEqual([ERROR_CODES.REQUIRED]);
    const other = validateReschedule({ timeout: 60, scheduledTime: '2024-06-16T18:00:00Z' }, existing, ctx());
    expect(other.ok ? [] : other.violations.map((v) => `${v.code} ${v.field}`)).toEqual([
      'UNKNOWN_FIELD timeout',
    ]);
  });
});

describe('JSON Schema export', () => {
  it('describes the POST body strictly, for OpenAPI', () => {
    const schema = callbackRequestJsonSchema() as {
      properties: Record<string, unknown>;
      required: string[];
      additionalProperties: boolean;
    };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(
      expect.arrayContaining(['callbackNumber', 'callbackFrom', 'callbackTo', 'routingData']),
    );
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining([
        'callbackId',
        'scheduledTime',
        'scheduledLocalTime',
        'timeZone',
        'dstPolicy',
        'dtmf',
      ]),
    );
  });

  it('describes the PATCH body', () => {
    const schema = rescheduleRequestJsonSchema() as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties).sort()).toEqual(
      ['callbackNumber', 'dstPolicy', 'scheduledLocalTime', 'scheduledTime', 'timeZone'].sort(),
    );
  });
});

describe('validateCallbackRequest: closures', () => {
  it('refuses a time inside a closure of the queue with QUEUE_CLOSED, and a reschedule into it too', () => {
    const support = config.queues[SUPPORT_QUEUE_ID]!;
    const closed = { ...support, closures: [{ date: '2024-06-15', name: 'Offsite' }] };
    const c = ctx({ queues: (id) => (id === SUPPORT_QUEUE_ID ? closed : undefined) });
    const v = violationsOf(guideBody(), c);
    expect(v.map((x) => [x.code, x.field])).toEqual([[ERROR_CODES.QUEUE_CLOSED, 'scheduledTime']]);
    expect(v[0]!.message).toContain('"Offsite" (2024-06-15)');
    const accepted = validateCallbackRequest(guideBody(), ctx());
    if (!accepted.ok) throw new Error('the guide body is valid');
    const moved = validateReschedule({ scheduledTime: '2024-06-15T18:00:00Z' }, accepted.spec, c);
    expect(moved.ok ? [] : moved.violations.map((x) => x.code)).toEqual([ERROR_CODES.QUEUE_CLOSED]);
  });
});
