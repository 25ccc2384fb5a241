import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/domain/errors.js';
import {
  checkCallingWindow,
  checkDids,
  checkDtmf,
  checkLeadTime,
  checkOpenHours,
  checkTimeout,
  checkWrapUpCode,
  describeOpenHours,
  parseQueuePolicy,
  QueuePolicySchema,
  resolveCustomerTimeZone,
  resolvePriority,
} from '../../src/domain/policy.js';

const DAY = 86_400_000;
const NOW = Date.parse('2024-06-14T00:00:00.000Z');

const billing = parseQueuePolicy({
  minLeadSeconds: 120,
  maxLeadDays: 30,
  openHours: {
    timeZone: 'America/New_York',
    weekly: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' }],
  },
  verification: 'dtmf',
  wrapUpCodes: ['PROGRAMMATIC_CALLBACK'],
  defaultPriority: 7,
  dids: [{ number: '+18005551235', sameFromTo: true }, { number: '+18005551234' }],
});

const code = (v: { code: string } | undefined) => v?.code;

describe('QueuePolicy schema', () => {
  it('fills the DESIGN.md defaults', () => {
    const p = parseQueuePolicy({ openHours: { timeZone: 'UTC' }, dids: [{ number: '+18005551234' }] });
    expect(p).toMatchObject({
      minLeadSeconds: 120,
      maxLeadDays: 30,
      callingWindow: { start: '08:00', end: '21:00' },
      verification: 'none',
      timeoutSeconds: { min: 30, max: 3600, default: 300 },
      rejectionRetry: { attempts: 3, delayMinutes: { min: 15, max: 30 } },
      dids: [{ number: '+18005551234', sameFromTo: false }],
    });
    expect(describeOpenHours(p.openHours)).toBe('every day 00:00–24:00 UTC');
  });

  const bad = [
    ['maxLeadDays above the 30-day ceiling', { maxLeadDays: 31 }],
    ['unknown zone', { openHours: { timeZone: 'Nowhere/Land' } }],
    [
      'bad time of day',
      { openHours: { timeZone: 'UTC', weekly: [{ days: ['mon'], start: '9am', end: '17:00' }] } },
    ],
    ['unknown verification', { verification: 'sms' }],
    ['DID not E.164', { dids: [{ number: '555-1234' }] }],
    ['no DIDs', { dids: [] }],
    ['timeout default outside bounds', { timeoutSeconds: { min: 30, max: 60, default: 300 } }],
    ['calling window start after end', { callingWindow: { start: '21:00', end: '08:00' } }],
    ['min lead beyond max lead', { minLeadSeconds: 86_400, maxLeadDays: 1 }],
    ['unknown key', { maxLeadDay: 3 }],
    [
      'wrapUpOutcomes: unreached on a completed outcome',
      { wrapUpOutcomes: { X: { status: 'completed', unreached: 'busy' } } },
    ],
    ['wrapUpOutcomes: unknown status', { wrapUpOutcomes: { X: { status: 'cancelled' } } }],
    [
      'wrapUpOutcomes: a reason that is not a code',
      { wrapUpOutcomes: { X: { status: 'rejected', reason: 'queue full' } } },
    ],
  ] as const;

  it('takes wrapUpOutcomes (wrap-up code → outcome), empty by default', () => {
    const base = { openHours: { timeZone: 'UTC' }, dids: [{ number: '+18005551234' }] };
    expect(parseQueuePolicy(base).wrapUpOutcomes).toEqual({});
    const p = parseQueuePolicy({
      ...base,
      wrapUpOutcomes: {
        'Cust unavailable': { status: 'expired', unreached: 'noAnswer' },
        FULL: { status: 'rejected', reason: 'QUEUE_FULL' },
      },
    });
    expect(p.wrapUpOutcomes['Cust unavailable']).toEqual({ status: 'expired', unreached: 'noAnswer' });
  });
  it.each(bad)('refuses %s', (_label, override) => {
    const input = { openHours: { timeZone: 'UTC' }, dids: [{ number: '+18005551234' }], ...override };
    expect(QueuePolicySchema.safeParse(input).success).toBe(false);
  });
});

describe('checkLeadTime at each boundary and 1 ms either side', () => {
  const min = NOW + 120_000;
  const max = NOW + 30 * DAY;
  const cases = [
    ['1 ms in the past', NOW - 1, ERROR_CODES.SCHEDULED_TIME_IN_PAST],
    ['exactly now', NOW, ERROR_CODES.SCHEDULED_TIME_TOO_SOON],
    ['1 ms before the minimum lead', min - 1, ERROR_CODES.SCHEDULED_TIME_TOO_SOON],
    ['exactly the minimum lead', min, undefined],
    ['1 ms after the minimum lead', min + 1, undefined],
    ['1 ms before the maximum lead', max - 1, undefined],
    ['exactly the maximum lead', max, undefined],
    ['1 ms after the maximum lead', max + 1, ERROR_CODES.SCHEDULED_TIME_TOO_FAR],
  ] as const;
  it.each(cases)('%s → %s', (_label, at, expected) => {
    expect(code(checkLeadTime(billing, at, NOW))).toBe(expected);
  });

  it('with no minimum lead, now itself is allowed and 1 ms earlier is the past', () => {
    const p = { minLeadSeconds: 0, maxLeadDays: 1 };
    expect(checkLeadTime(p, NOW, NOW)).toBeUndefined();
    expect(code(checkLeadTime(p, NOW - 1, NOW))).toBe(ERROR_CODES.SCHEDULED_TIME_IN_PAST);
  });

  it('tells the client the earliest and latest times it may send', () => {
    expect(checkLeadTime(billing, min - 1, NOW)?.message).toContain('at or after 2024-06-14T00:02:00.000Z');
    expect(checkLeadTime(billing, max + 1, NOW)?.message).toContain('at or before 2024-07-14T00:00:00.000Z');
  });
});

describe('checkOpenHours (Mon–Fri 09:00–17:00 America/New_York) at each boundary and 1 ms either side', () => {
  // Monday 2024-06-17, EDT (-04:00): 09:00 = 13:00Z, 17:00 = 21:00Z
  const open = Date.parse('2024-06-17T13:00:00.000Z');
  const close = Date.parse('2024-06-17T21:00:00.000Z');
  // Monday 2024-01-15, EST (-05:00): 09:00 = 14:00Z
  const winterOpen = Date.parse('2024-01-15T14:00:00.000Z');
  const cases = [
    ['1 ms before opening', open - 1, false],
    ['exactly at opening', open, true],
    ['1 ms after opening', open + 1, true],
    ['1 ms before closing', close - 1, true],
    ['exactly at closing', close, false],
    ['1 ms after closing', close + 1, false],
    ['winter: 1 ms before opening', winterOpen - 1, false],
    ['winter: exactly at opening (EST)', winterOpen, true],
    ['Saturday noon', Date.parse('2024-06-15T16:00:00.000Z'), false],
  ] as const;
  it.each(cases)('%s → open %s', (_label, at, isOpen) => {
    const v = checkOpenHours(billing, at);
    expect(v === undefined).toBe(isOpen);
    if (v) expect(v.code).toBe(ERROR_CODES.OUTSIDE_OPEN_HOURS);
  });

  it('names the hours and the next opening', () => {
    const v = checkOpenHours(billing, Date.parse('2024-06-15T16:00:00.000Z'));
    expect(v?.message).toContain('Mon–Fri 09:00–17:00 America/New_York');
    expect(v?.message).toContain('next opens at 2024-06-17T13:00:00.000Z');
  });

  it('handles a range running past midnight', () => {
    const night = parseQueuePolicy({
      openHours: { timeZone: 'UTC', weekly: [{ days: ['fri'], start: '22:00', end: '02:00' }] },
      dids: [{ number: '+18005551234' }],
    });
    const friday22 = Date.parse('2024-06-14T22:00:00.000Z');
    const saturday02 = Date.parse('2024-06-15T02:00:00.000Z');
    expect(checkOpenHours(night, friday22 - 1)).toBeDefined();
    expect(checkOpenHours(night, friday22)).toBeUndefined();
    expect(checkOpenHours(night, saturday02 - 1)).toBeUndefined();
    expect(checkOpenHours(night, saturday02)).toBeDefined();
    // Thursday night is not covered: only Friday's range runs into Saturday.
    expect(checkOpenHours(night, Date.parse('2024-06-14T01:00:00.000Z'))).toBeDefined();
  });
});

describe('checkCallingWindow (08:00–21:00 customer time) at each boundary and 1 ms either side', () => {
  const zones = [
    // zone, 08:00 local as UTC, 21:00 local as UTC (on 2024-06-17)
    ['America/New_York', '2024-06-17T12:00:00.000Z', '2024-06-18T01:00:00.000Z'],
    ['Asia/Kolkata', '2024-06-17T02:30:00.000Z', '2024-06-17T15:30:00.000Z'],
    ['Asia/Kathmandu', '2024-06-17T02:15:00.000Z', '2024-06-17T15:15:00.000Z'],
    ['Australia/Lord_Howe', '2024-06-16T21:30:00.000Z', '2024-06-17T10:30:00.000Z'],
  ] as const;
  const cases = zones.flatMap(([zone, start, end]) => {
    const s = Date.parse(start);
    const e = Date.parse(end);
    return [
      [zone, 'start - 1 ms', s - 1, false],
      [zone, 'start', s, true],
      [zone, 'start + 1 ms', s + 1, true],
      [zone, 'end - 1 ms', e - 1, true],
      [zone, 'end', e, false],
      [zone, 'end + 1 ms', e + 1, false],
    ] as const;
  });
  it.each(cases)('%s at %s → allowed %s', (zone, _label, at, allowed) => {
    const v = checkCallingWindow(billing, at, zone);
    expect(v === undefined).toBe(allowed);
    if (v) expect(v.code).toBe(ERROR_CODES.OUTSIDE_CALLING_WINDOW);
  });

  it("suggests the window's next opening in the customer's zone", () => {
    const v = checkCallingWindow(billing, Date.parse('2024-06-17T16:00:00.000Z'), 'Asia/Kolkata');
    expect(v?.message).toContain('21:30 for the customer (Asia/Kolkata)');
    expect(v?.message).toContain('next opens at 2024-06-18T02:30:00.000Z');
  });
});

describe('customer time zone', () => {
  it('comes from the request first, then a single-zone number, then the queue', () => {
    expect(resolveCustomerTimeZone(billing, 'Europe/Paris', '+442079460958')).toEqual({
      timeZone: 'Europe/Paris',
      source: 'request',
    });
    expect(resolveCustomerTimeZone(billing, undefined, '+442079460958')).toEqual({
      timeZone: 'Europe/London',
      source: 'number',
    });
    expect(resolveCustomerTimeZone(billing, undefined, '+14155552671')).toEqual({
      timeZone: 'America/New_York',
      source: 'queue',
    });
  });
});

describe('wrap-up code, DTMF, DIDs, timeout, priority', () => {
  it('wrap-up code must be one of the queue’s', () => {
    expect(checkWrapUpCode(billing, 'PROGRAMMATIC_CALLBACK')).toBeUndefined();
    expect(checkWrapUpCode(billing, undefined)).toBeUndefined();
    const v = checkWrapUpCode(billing, 'programmatic_callback');
    expect(v?.code).toBe(ERROR_CODES.UNKNOWN_WRAP_UP_CODE);
    expect(v?.message).toContain('send one of PROGRAMMATIC_CALLBACK');
  });

  const dtmf = [
    ['dtmf', undefined, ERROR_CODES.DTMF_REQUIRED],
    ['dtmf', '1', undefined],
    ['dtmf', '0', undefined],
    ['dtmf', '12', ERROR_CODES.INVALID_DTMF],
    ['dtmf', '*', ERROR_CODES.INVALID_DTMF],
    ['dtmf', '', ERROR_CODES.INVALID_DTMF],
    ['none', undefined, undefined],
    ['none', '1', ERROR_CODES.DTMF_NOT_ALLOWED],
  ] as const;
  it.each(dtmf)('verification %s with dtmf %j → %s', (verification, digit, expected) => {
    expect(code(checkDtmf({ verification }, digit))).toBe(expected);
  });

  const dids = [
    ['+18005551235', '+18005551235', []],
    ['+18005551234', '+18005551234', []],
    // the sameFromTo DID on either side forces equality
    ['+18005551235', '+18005551234', [ERROR_CODES.FROM_TO_MUST_MATCH]],
    ['+18005551234', '+18005551235', [ERROR_CODES.FROM_TO_MUST_MATCH]],
    ['+18005559999', '+18005551234', [ERROR_CODES.DID_NOT_PROVISIONED]],
    ['+18005559999', '+18005559998', [ERROR_CODES.DID_NOT_PROVISIONED, ERROR_CODES.DID_NOT_PROVISIONED]],
  ] as const;
  it.each(dids)('from %s to %s → %j', (from, to, codes) => {
    expect(checkDids(billing, from, to).map((v) => v.code)).toEqual(codes);
  });

  const timeouts = [
    [undefined, 300, undefined],
    [29, 29, ERROR_CODES.TIMEOUT_OUT_OF_BOUNDS],
    [30, 30, undefined],
    [31, 31, undefined],
    [3599, 3599, undefined],
    [3600, 3600, undefined],
    [3601, 3601, ERROR_CODES.TIMEOUT_OUT_OF_BOUNDS],
  ] as const;
  it.each(timeouts)('timeout %s → %s seconds, %s', (input, effective, expected) => {
    const r = checkTimeout(billing, input);
    expect(r.timeout).toBe(effective);
    expect(code(r.violation)).toBe(expected);
  });

  it("priority defaults to the queue's default, never a silent 0", () => {
    expect(resolvePriority(billing, undefined)).toBe(7);
    expect(resolvePriority(billing, 0)).toBe(0);
    expect(resolvePriority(billing, 3)).toBe(3);
  });
});
