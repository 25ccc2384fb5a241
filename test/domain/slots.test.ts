import { describe, expect, it } from 'vitest';
import { parseQueuePolicy, resolveCustomerTimeZone } from '../../src/domain/policy.js';
import {
  bookableSlots,
  nearestFreeSlots,
  type SlotPolicy,
  slotContaining,
  slotsBetween,
} from '../../src/domain/slots.js';

const ms = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString();
const HOUR = 3_600_000;

function policy(extra: Record<string, unknown> = {}): SlotPolicy {
  return parseQueuePolicy({
    openHours: { timeZone: 'America/New_York' },
    callingWindow: { start: '00:00', end: '24:00' },
    dids: [{ number: '+18005551234' }],
    ...extra,
  });
}

describe('slot boundaries follow the wall clock across DST changes', () => {
  const days = [
    // zone, minutes, local day [from, to) in UTC, slot count, hours in the day
    ['America/New_York', 15, '2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z', 92, 23],
    ['America/New_York', 15, '2026-11-01T04:00:00Z', '2026-11-02T05:00:00Z', 100, 25],
    ['America/New_York', 15, '2026-06-01T04:00:00Z', '2026-06-02T04:00:00Z', 96, 24],
    ['Australia/Lord_Howe', 15, '2026-10-03T13:30:00Z', '2026-10-04T13:00:00Z', 94, 23.5],
    ['Australia/Lord_Howe', 15, '2026-04-04T13:00:00Z', '2026-04-05T13:30:00Z', 98, 24.5],
    // 60-minute slots where the clocks move by 30 minutes: the slot over the change is longer or shorter.
    ['Australia/Lord_Howe', 60, '2026-10-03T13:30:00Z', '2026-10-04T13:00:00Z', 23, 23.5],
    ['Australia/Lord_Howe', 60, '2026-04-04T13:00:00Z', '2026-04-05T13:30:00Z', 24, 24.5],
  ] as const;
  it.each(days)(
    '%s, %i-minute slots, day from %s: %i slots covering the day',
    (zone, minutes, from, to, count, hours) => {
      const slots = slotsBetween(zone, minutes, ms(from), ms(to));
      expect(slots).toHaveLength(count);
      expect(slots[0]!.startMs).toBe(ms(from));
      expect(slots.at(-1)!.endMs).toBe(ms(to));
      // A partition: each slot ends where the next starts, and together they cover the day.
      for (let i = 1; i < slots.length; i++) expect(slots[i]!.startMs).toBe(slots[i - 1]!.endMs);
      expect((ms(to) - ms(from)) / HOUR).toBe(hours);
    },
  );

  const around = [
    // zone, minutes, instant, slot start, slot end
    ['America/New_York', 15, '2026-03-08T06:59:59Z', '2026-03-08T06:45:00Z', '2026-03-08T07:00:00Z'], // 01:45 EST → 03:00 EDT
    ['America/New_York', 15, '2026-03-08T07:00:00Z', '2026-03-08T07:00:00Z', '2026-03-08T07:15:00Z'],
    ['America/New_York', 15, '2026-11-01T05:50:00Z', '2026-11-01T05:45:00Z', '2026-11-01T06:00:00Z'], // 01:45 EDT
    ['America/New_York', 15, '2026-11-01T06:10:00Z', '2026-11-01T06:00:00Z', '2026-11-01T06:15:00Z'], // 01:00 EST, second time
    ['Australia/Lord_Howe', 60, '2026-10-03T15:40:00Z', '2026-10-03T14:30:00Z', '2026-10-03T16:00:00Z'], // 01:00 → 03:00
    ['Australia/Lord_Howe', 60, '2026-04-04T15:10:00Z', '2026-04-04T14:00:00Z', '2026-04-04T15:30:00Z'], // 01:00 +11 → 02:00 +10:30
    ['Asia/Kolkata', 60, '2026-06-01T10:29:00Z', '2026-06-01T09:30:00Z', '2026-06-01T10:30:00Z'], // +05:30: slots on the local hour
  ] as const;
  it.each(around)('%s, %i-minute slots: %s falls in [%s, %s)', (zone, minutes, at, start, end) => {
    const slot = slotContaining(zone, minutes, ms(at));
    expect([iso(slot.startMs), iso(slot.endMs)]).toEqual([ms(start), ms(end)].map(iso));
  });
});

/** A queue open one hour on Sundays, in a zone. */
const sundayOnly = (timeZone: string, start: string, end: string) => ({
  openHours: { timeZone, weekly: [{ days: ['sun'], start, end }] },
});

describe('bookable slots', () => {
  const NOW = ms('2026-12-01T12:00:00Z');
  const weekdays = {
    timeZone: 'America/New_York',
    weekly: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' }],
  };
  const starts = (slots: { startMs: number }[]) => slots.map((s) => iso(s.startMs));

  const cases: {
    name: string;
    policy: Record<string, unknown>;
    now?: string;
    from: string;
    to: string;
    zone?: string;
    number?: string;
    taken?: Record<string, number>;
    expect: {
      count: number;
      first?: string;
      last?: string;
      absent?: string[];
      remaining?: Record<string, number | null>;
    };
  }[] = [
    {
      name: 'a closure spanning midnight removes the evening and the early morning',
      policy: { closures: [{ from: '2026-12-31T18:00', to: '2027-01-01T09:00', name: 'New Year' }] },
      now: '2026-12-20T00:00:00Z',
      from: '2026-12-31T22:00:00Z', // 17:00 New York
      to: '2027-01-01T15:00:00Z', // 10:00 New York
      // 17:00–17:45 on the 31st, then 09:00–09:45 on the 1st.
      expect: {
        count: 8,
        first: '2026-12-31T22:00:00.000Z',
        last: '2027-01-01T14:45:00.000Z',
        absent: ['2026-12-31T23:00:00.000Z', '2027-01-01T13:45:00.000Z'],
      },
    },
    {
      name: 'a whole-day closure removes the local day, not the UTC day',
      policy: { closures: [{ date: '2026-12-25', name: 'Christmas' }] },
      from: '2026-12-25T00:00:00Z',
      to: '2026-12-26T06:00:00Z',
      // 00:00Z–04:45Z on the 25th is still the 24th in New York; from 05:00Z on the 26th it is open again.
      expect: {
        count: 24,
        first: '2026-12-25T00:00:00.000Z',
        last: '2026-12-26T05:45:00.000Z',
        absent: ['2026-12-25T05:00:00.000Z', '2026-12-26T04:45:00.000Z'],
      },
    },
    {
      name: 'a London customer of a New York queue: open hours end first at 15:45 New York = 20:45 London',
      policy: { openHours: weekdays, callingWindow: { start: '08:00', end: '21:00' } },
      from: '2026-12-02T00:00:00Z',
      to: '2026-12-03T00:00:00Z',
      zone: 'Europe/London',
      expect: { count: 28, first: '2026-12-02T14:00:00.000Z', last: '2026-12-02T20:45:00.000Z' },
    },
    {
      name: 'the calling window comes from the number when no zone is given (+44 → London)',
      policy: { openHours: weekdays, callingWindow: { start: '08:00', end: '21:00' } },
      from: '2026-12-02T00:00:00Z',
      to: '2026-12-03T00:00:00Z',
      number: '+442079460123',
      expect: { count: 28, last: '2026-12-02T20:45:00.000Z' },
    },
    {
      name: 'a Tokyo customer of a New York weekday queue has no slot in common',
      policy: { openHours: weekdays, callingWindow: { start: '08:00', end: '21:00' } },
      from: '2026-12-02T00:00:00Z',
      to: '2026-12-04T00:00:00Z',
      zone: 'Asia/Tokyo',
      expect: { count: 0 },
    },
    {
      name: 'the minimum lead time: a slot exactly minLeadSeconds ahead is bookable',
      policy: { minLeadSeconds: 120 },
      now: '2026-12-02T13:58:00Z',
      from: '2026-12-02T13:00:00Z',
      to: '2026-12-02T15:00:00Z',
      expect: { count: 4, first: '2026-12-02T14:00:00.000Z' },
    },
    {
      name: 'the minimum lead time: one millisecond later that slot is gone',
      policy: { minLeadSeconds: 120 },
      now: '2026-12-02T13:58:00.001Z',
      from: '2026-12-02T13:00:00Z',
      to: '2026-12-02T15:00:00Z',
      expect: { count: 3, first: '2026-12-02T14:15:00.000Z' },
    },
    {
      name: 'the maximum lead time: the slot exactly maxLeadDays ahead is the last',
      policy: { maxLeadDays: 1 },
      now: '2026-12-02T14:00:00Z',
      from: '2026-12-03T13:00:00Z',
      to: '2026-12-03T16:00:00Z',
      expect: { count: 5, first: '2026-12-03T13:00:00.000Z', last: '2026-12-03T14:00:00.000Z' },
    },
    {
      name: 'capacity: a full slot is left out, the others show what remains',
      policy: { slots: { minutes: 30, capacity: 3 } },
      from: '2026-12-02T14:00:00Z',
      to: '2026-12-02T16:00:00Z',
      taken: { '2026-12-02T14:00:00Z': 3, '2026-12-02T14:30:00Z': 1 },
      expect: {
        count: 3,
        absent: ['2026-12-02T14:00:00.000Z'],
        remaining: { '2026-12-02T14:30:00.000Z': 2, '2026-12-02T15:00:00.000Z': 3 },
      },
    },
    {
      name: 'no capacity configured: remaining is null',
      policy: {},
      from: '2026-12-02T14:00:00Z',
      to: '2026-12-02T14:30:00Z',
      expect: { count: 2, remaining: { '2026-12-02T14:00:00.000Z': null } },
    },
    {
      name: 'spring forward in New York: 02:00–02:45 do not exist, 01:45 EST is followed by 03:00 EDT',
      policy: {},
      now: '2026-03-01T00:00:00Z',
      from: '2026-03-08T06:30:00Z',
      to: '2026-03-08T07:30:00Z',
      expect: { count: 4, first: '2026-03-08T06:30:00.000Z', last: '2026-03-08T07:15:00.000Z' },
    },
    {
      name: 'fall back in New York: 01:00–01:45 are offered twice, once in each offset',
      policy: sundayOnly('America/New_York', '01:00', '02:00'),
      now: '2026-10-25T00:00:00Z',
      from: '2026-11-01T00:00:00Z',
      to: '2026-11-02T00:00:00Z',
      expect: { count: 8, first: '2026-11-01T05:00:00.000Z', last: '2026-11-01T06:45:00.000Z' },
    },
    {
      name: 'Lord Howe spring forward by 30 minutes: the open 02:00–03:00 hour has two slots left',
      policy: sundayOnly('Australia/Lord_Howe', '02:00', '03:00'),
      now: '2026-09-30T00:00:00Z',
      from: '2026-10-03T00:00:00Z',
      to: '2026-10-05T00:00:00Z',
      // 02:30 and 02:45 (+11:00); 02:00 and 02:15 do not exist.
      expect: { count: 2, first: '2026-10-03T15:30:00.000Z', last: '2026-10-03T15:45:00.000Z' },
    },
  ];

  it.each(cases)('$name', (c) => {
    const p = policy(c.policy);
    const customer = resolveCustomerTimeZone(p, c.zone, c.number);
    const taken = new Map(Object.entries(c.taken ?? {}).map(([k, v]) => [ms(k), v] as const));
    const slots = bookableSlots({
      policy: p,
      nowMs: c.now ? ms(c.now) : NOW,
      fromMs: ms(c.from),
      toMs: ms(c.to),
      customerTimeZone: customer.timeZone,
      taken,
    });
    expect(slots).toHaveLength(c.expect.count);
    if (c.expect.first) expect(starts(slots)[0]).toBe(c.expect.first);
    if (c.expect.last) expect(starts(slots).at(-1)).toBe(c.expect.last);
    for (const a of c.expect.absent ?? []) expect(starts(slots)).not.toContain(a);
    for (const [at, remaining] of Object.entries(c.expect.remaining ?? {})) {
      expect(slots.find((s) => iso(s.startMs) === at)?.remaining).toBe(remaining);
    }
  });

  it('names the nearest free slots on either side of a full one', () => {
    const p = policy({ slots: { minutes: 15, capacity: 1 } });
    const taken = new Map([
      [ms('2026-12-02T14:00:00Z'), 1],
      [ms('2026-12-02T14:15:00Z'), 1],
      [ms('2026-12-02T13:45:00Z'), 1],
    ]);
    const slots = bookableSlots({
      policy: p,
      nowMs: NOW,
      fromMs: ms('2026-12-02T13:00:00Z'),
      toMs: ms('2026-12-02T15:00:00Z'),
      customerTimeZone: 'America/New_York',
      taken,
    });
    const near = nearestFreeSlots(slots, ms('2026-12-02T14:00:00Z'));
    expect(iso(near.before!.startMs)).toBe('2026-12-02T13:30:00.000Z');
    expect(iso(near.after!.startMs)).toBe('2026-12-02T14:30:00.000Z');
    expect(nearestFreeSlots([], ms('2026-12-02T14:00:00Z'))).toEqual({});
  });
});
