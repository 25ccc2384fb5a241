import { describe, expect, it } from 'vitest';
import { bucketStart, foldStats, type StatsGroup } from '../../src/domain/stats.js';

const NY = 'America/New_York';
const at = (iso: string) => Date.parse(iso);
const group = (slot: string, more: Partial<StatsGroup>): StatsGroup => ({
  slotStart: at(slot),
  status: 'completed',
  reasonCode: null,
  count: 1,
  attempts: 1,
  kept: 0,
  due: 0,
  ...more,
});

describe('stats buckets', () => {
  it.each([
    ['15m', '2030-03-10T07:14:59.999Z', '2030-03-10T07:00:00.000Z'],
    ['1h', '2030-03-10T07:59:00.000Z', '2030-03-10T07:00:00.000Z'],
    // 2030-03-10 is the spring-forward day in New York: its midnight is 05:00Z, the next day's 04:00Z.
    ['1d', '2030-03-10T20:00:00.000Z', '2030-03-10T05:00:00.000Z'],
    ['1d', '2030-03-11T03:59:00.000Z', '2030-03-10T05:00:00.000Z'],
    ['1d', '2030-03-11T04:00:00.000Z', '2030-03-11T04:00:00.000Z'],
  ] as const)('puts %s %s in the bucket starting %s', (bucket, instant, start) => {
    expect(new Date(bucketStart(at(instant), bucket, NY)).toISOString()).toBe(start);
  });

  it('follows the zone calendar across DST: the short day is one bucket, not 23 hours spilling over', () => {
    const { buckets } = foldStats([group('2030-03-11T03:45:00.000Z', {})], {
      from: at('2030-03-09T05:00:00.000Z'),
      to: at('2030-03-12T04:00:00.000Z'),
      bucket: '1d',
      timeZone: NY,
    });
    expect(buckets.map((b) => new Date(b.start).toISOString())).toEqual([
      '2030-03-09T05:00:00.000Z',
      '2030-03-10T05:00:00.000Z',
      '2030-03-11T04:00:00.000Z',
    ]);
    expect(buckets.map((b) => b.counts.completed)).toEqual([0, 1, 0]);
  });
});

describe('promise-kept figures', () => {
  it('shares kept over due, leaving cancelled callbacks out, with reasons and attempts per completion', () => {
    const { totals } = foldStats(
      [
        group('2030-01-07T15:00:00.000Z', { count: 3, attempts: 4, kept: 2, due: 3 }),
        group('2030-01-07T15:00:00.000Z', { status: 'expired', reasonCode: 'NO_ANSWER', count: 2, due: 2 }),
        group('2030-01-07T15:15:00.000Z', { status: 'rejected', reasonCode: 'PLATFORM_REJECTED', due: 1 }),
        group('2030-01-07T15:15:00.000Z', { status: 'cancelled', count: 5, due: 5, kept: 1 }),
        group('2030-01-07T15:30:00.000Z', { status: 'pending', count: 4, due: 0 }),
      ],
      {
        from: at('2030-01-07T15:00:00.000Z'),
        to: at('2030-01-07T16:00:00.000Z'),
        bucket: '1h',
        timeZone: NY,
      },
    );
    expect(totals.due).toBe(6);
    expect(totals.kept).toBe(2);
    expect(totals.keptShare).toBeCloseTo(2 / 6);
    expect(totals.expiredByReason).toEqual({ NO_ANSWER: 2 });
    expect(totals.rejectedByReason).toEqual({ PLATFORM_REJECTED: 1 });
    expect(totals.attemptsPerCompletion).toBeCloseTo(4 / 3);
    expect(totals.counts).toMatchObject({ completed: 3, expired: 2, rejected: 1, cancelled: 5, pending: 4 });
  });

  it('claims no share while nothing is due yet', () => {
    const { totals } = foldStats([group('2030-01-07T15:00:00.000Z', { status: 'pending' })], {
      from: at('2030-01-07T15:00:00.000Z'),
      to: at('2030-01-07T16:00:00.000Z'),
      bucket: '15m',
      timeZone: NY,
    });
    expect(totals.keptShare).toBeNull();
    expect(totals.attemptsPerCompletion).toBeNull();
  });
});
