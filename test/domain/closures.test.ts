import { describe, expect, it } from 'vitest';
import { closedUntil, closureAt } from '../../src/domain/closures.js';
import { ERROR_CODES } from '../../src/domain/errors.js';
import { checkOpenHours, parseQueuePolicy, QueuePolicySchema } from '../../src/domain/policy.js';

const ms = (iso: string) => Date.parse(iso);
const base = { openHours: { timeZone: 'America/New_York' }, dids: [{ number: '+18005551234' }] };

const holidays = parseQueuePolicy({
  ...base,
  openHours: {
    timeZone: 'America/New_York',
    weekly: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' }],
  },
  closures: [
    { date: '2026-12-25', name: 'Christmas' },
    { from: '2026-12-31T12:00', to: '2027-01-01T09:00', name: 'New Year' },
    { from: '2027-01-04T09:00', to: '2027-01-04T12:00' },
  ],
});

describe('closures in the queue policy', () => {
  it('defaults to none, and the other booking keys to their documented defaults', () => {
    const p = parseQueuePolicy(base);
    expect(p.closures).toEqual([]);
    expect(p.slots).toEqual({ minutes: 15, holdSeconds: 300 });
    expect(p.perCustomer).toBe('many');
    expect(p.reattempts).toBeUndefined();
  });

  const bad = [
    ['a date that does not exist', { closures: [{ date: '2026-02-30' }] }],
    [
      'a range that ends before it starts',
      { closures: [{ from: '2026-12-31T18:00', to: '2026-12-31T09:00' }] },
    ],
    ['a range bound with an offset', { closures: [{ from: '2026-12-31T18:00Z', to: '2027-01-01T09:00' }] }],
    ['a date and a range in one entry', { closures: [{ date: '2026-12-25', from: '2026-12-31T18:00' }] }],
    ['slot minutes that do not divide a day', { slots: { minutes: 7 } }],
    ['a slot capacity of zero', { slots: { capacity: 0 } }],
    ['re-attempts above the ceiling', { reattempts: { attempts: 11, afterMinutes: { noAnswer: 5 } } }],
    ['an unknown re-attempt cause', { reattempts: { attempts: 1, afterMinutes: { fax: 5 } } }],
    ['an unknown perCustomer value', { perCustomer: 'two' }],
  ] as const;
  it.each(bad)('refuses %s', (_name, extra) => {
    expect(QueuePolicySchema.safeParse({ ...base, ...extra }).success).toBe(false);
  });

  const at = [
    // instant, closure label or undefined
    ['2026-12-25T04:59:59Z', undefined], // still the 24th in New York
    ['2026-12-25T05:00:00Z', '"Christmas" (2026-12-25)'],
    ['2026-12-26T04:59:59Z', '"Christmas" (2026-12-25)'],
    ['2026-12-26T05:00:00Z', undefined],
    ['2026-12-31T16:59:59Z', undefined],
    ['2027-01-01T04:59:00Z', '"New Year" (2026-12-31T12:00–2027-01-01T09:00)'], // just before midnight
    ['2027-01-01T05:00:00Z', '"New Year" (2026-12-31T12:00–2027-01-01T09:00)'], // midnight
    ['2027-01-01T14:00:00Z', undefined], // 09:00, the end is exclusive
    ['2027-01-04T15:00:00Z', '2027-01-04T09:00–2027-01-04T12:00'], // no name: the range names it
  ] as const;
  it.each(at)('at %s the closure is %s', (instant, label) => {
    expect(closureAt(holidays.closures, 'America/New_York', ms(instant))?.label).toBe(label);
  });

  it('merges overlapping and adjacent closures when asked how long the queue stays closed', () => {
    const closures = [
      { from: '2026-12-24T12:00', to: '2026-12-25T00:00' },
      { date: '2026-12-25' },
      { from: '2026-12-25T20:00', to: '2026-12-26T10:00' },
    ];
    expect(closedUntil(closures, 'America/New_York', ms('2026-12-24T18:00:00Z'))).toBe(
      ms('2026-12-26T15:00:00Z'),
    );
    expect(closedUntil(closures, 'America/New_York', ms('2026-12-24T16:00:00Z'))).toBe(
      ms('2026-12-24T16:00:00Z'),
    );
  });
});

describe('the open-hours check honours closures', () => {
  it('answers QUEUE_CLOSED naming the closure and when the queue next opens', () => {
    // Christmas is a Friday: the queue next opens Monday 28th 09:00 New York.
    const v = checkOpenHours(holidays, ms('2026-12-25T15:00:00Z'));
    expect(v?.code).toBe(ERROR_CODES.QUEUE_CLOSED);
    expect(v?.message).toContain('"Christmas" (2026-12-25)');
    expect(v?.message).toContain('at or after 2026-12-28T14:00:00.000Z');
  });

  it('names a closure spanning midnight and the opening after it', () => {
    const v = checkOpenHours(holidays, ms('2027-01-01T03:00:00Z'));
    expect(v?.code).toBe(ERROR_CODES.QUEUE_CLOSED);
    expect(v?.message).toContain('"New Year"');
    expect(v?.message).toContain('at or after 2027-01-01T14:00:00.000Z');
  });

  it('suggests the next opening after a closure when the time is outside open hours', () => {
    // Thursday 24th 18:00 New York: closed for the evening, then Christmas, then the weekend.
    const v = checkOpenHours(holidays, ms('2026-12-24T23:00:00Z'));
    expect(v?.code).toBe(ERROR_CODES.OUTSIDE_OPEN_HOURS);
    expect(v?.message).toContain('the queue next opens at 2026-12-28T14:00:00.000Z');
  });

  it('lets a time inside open hours and outside every closure through', () => {
    expect(checkOpenHours(holidays, ms('2026-12-24T15:00:00Z'))).toBeUndefined();
    expect(checkOpenHours(holidays, ms('2027-01-04T17:00:00Z'))).toBeUndefined(); // 12:00, after the morning closure
  });
});
