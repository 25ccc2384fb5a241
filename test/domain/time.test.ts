import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/domain/errors.js';
import {
  canonicalTimeZone,
  formatCompactUtc,
  formatInstant,
  parseInstant,
  resolveLocalTime,
} from '../../src/domain/time.js';

describe('resolveLocalTime: DST gaps are refused naming both candidate instants', () => {
  // [zone, local time inside the gap, earlier candidate, later candidate]
  const gaps = [
    ['America/New_York', '2024-03-10T02:30', '2024-03-10T06:30:00.000Z', '2024-03-10T07:30:00.000Z'],
    ['Europe/London', '2024-03-31T01:30', '2024-03-31T00:30:00.000Z', '2024-03-31T01:30:00.000Z'],
    ['Australia/Sydney', '2024-10-06T02:30', '2024-10-05T15:30:00.000Z', '2024-10-05T16:30:00.000Z'],
    // Lord Howe moves its clocks by 30 minutes: 02:00 → 02:30.
    ['Australia/Lord_Howe', '2024-10-06T02:15', '2024-10-05T15:15:00.000Z', '2024-10-05T15:45:00.000Z'],
  ] as const;

  it.each(gaps)('%s %s is DST_GAP with both candidates', (zone, local, earlier, later) => {
    const r = resolveLocalTime(local, zone);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe(ERROR_CODES.DST_GAP);
    expect(r.error.candidates).toEqual([earlier, later]);
    expect(r.error.message).toContain(earlier);
    expect(r.error.message).toContain(later);
    expect(r.error.message).toContain('dstPolicy');
  });

  it.each(gaps)('%s %s resolves with dstPolicy earlier/later', (zone, local, earlier, later) => {
    expect(resolveLocalTime(local, zone, 'earlier')).toMatchObject({ ok: true, iso: earlier });
    expect(resolveLocalTime(local, zone, 'later')).toMatchObject({ ok: true, iso: later });
  });
});

describe('resolveLocalTime: DST overlaps are refused naming both candidate instants', () => {
  const overlaps = [
    ['America/New_York', '2024-11-03T01:30', '2024-11-03T05:30:00.000Z', '2024-11-03T06:30:00.000Z'],
    ['Europe/London', '2024-10-27T01:30', '2024-10-27T00:30:00.000Z', '2024-10-27T01:30:00.000Z'],
    ['Australia/Sydney', '2024-04-07T02:30', '2024-04-06T15:30:00.000Z', '2024-04-06T16:30:00.000Z'],
    // Lord Howe falls back 02:00 → 01:30, so only 01:30–02:00 repeats, 30 minutes apart.
    ['Australia/Lord_Howe', '2024-04-07T01:45', '2024-04-06T14:45:00.000Z', '2024-04-06T15:15:00.000Z'],
  ] as const;

  it.each(overlaps)('%s %s is DST_AMBIGUOUS with both candidates', (zone, local, earlier, later) => {
    const r = resolveLocalTime(local, zone);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe(ERROR_CODES.DST_AMBIGUOUS);
    expect(r.error.candidates).toEqual([earlier, later]);
    expect(r.error.message).toContain(earlier);
    expect(r.error.message).toContain(later);
  });

  it.each(overlaps)('%s %s resolves with dstPolicy earlier/later', (zone, local, earlier, later) => {
    expect(resolveLocalTime(local, zone, 'earlier')).toMatchObject({ ok: true, iso: earlier });
    expect(resolveLocalTime(local, zone, 'later')).toMatchObject({ ok: true, iso: later });
  });
});

describe('resolveLocalTime: unambiguous local times', () => {
  const cases = [
    // just outside the New York gap and overlap
    ['America/New_York', '2024-03-10T01:59', '2024-03-10T06:59:00.000Z'],
    ['America/New_York', '2024-03-10T03:00', '2024-03-10T07:00:00.000Z'],
    ['America/New_York', '2024-11-03T00:59:59.999', '2024-11-03T04:59:59.999Z'],
    ['America/New_York', '2024-11-03T02:00', '2024-11-03T07:00:00.000Z'],
    ['Europe/London', '2024-06-15T12:00:00', '2024-06-15T11:00:00.000Z'],
    ['Australia/Lord_Howe', '2024-06-15T12:00', '2024-06-15T01:30:00.000Z'],
    // half- and quarter-hour zones
    ['Asia/Kolkata', '2024-06-15T12:00', '2024-06-15T06:30:00.000Z'],
    ['Asia/Kathmandu', '2024-06-15T12:00', '2024-06-15T06:15:00.000Z'],
    ['Asia/Kathmandu', '2024-12-31T23:59:59', '2024-12-31T18:14:59.000Z'],
    // a zone with no DST: the New York gap date is an ordinary day there
    ['Asia/Tokyo', '2024-03-10T02:30', '2024-03-09T17:30:00.000Z'],
    ['UTC', '2024-02-29T00:00', '2024-02-29T00:00:00.000Z'],
  ] as const;

  it.each(cases)('%s %s → %s', (zone, local, iso) => {
    expect(resolveLocalTime(local, zone)).toMatchObject({ ok: true, iso });
  });

  it('dstPolicy changes nothing for a time that exists once', () => {
    expect(resolveLocalTime('2024-06-15T12:00', 'Asia/Kolkata', 'later')).toMatchObject({
      ok: true,
      iso: '2024-06-15T06:30:00.000Z',
    });
  });
});

describe('resolveLocalTime: bad input has its own code', () => {
  const cases = [
    ['2024-06-15T12:00', 'Mars/Olympus_Mons', ERROR_CODES.UNKNOWN_TIME_ZONE],
    ['2024-06-15T12:00', '+05:30', ERROR_CODES.UNKNOWN_TIME_ZONE],
    ['2024-06-15T12:00', '', ERROR_CODES.UNKNOWN_TIME_ZONE],
    ['2024-02-30T12:00', 'Europe/London', ERROR_CODES.INVALID_DATE],
    ['2023-02-29T12:00', 'Europe/London', ERROR_CODES.INVALID_DATE],
    ['2024-06-15T24:00', 'Europe/London', ERROR_CODES.INVALID_DATE],
    ['2024-06-15T12:00Z', 'Europe/London', ERROR_CODES.INVALID_TIME_FORMAT],
    ['noon tomorrow', 'Europe/London', ERROR_CODES.INVALID_TIME_FORMAT],
  ] as const;
  it.each(cases)('%s in "%s" → %s', (local, zone, code) => {
    const r = resolveLocalTime(local, zone);
    expect(r.ok ? undefined : r.error.code).toBe(code);
  });
});

describe('parseInstant', () => {
  const valid = [
    ['2024-06-15T16:00:00Z', '2024-06-15T16:00:00.000Z'],
    ['2024-06-15T16:00:00.000Z', '2024-06-15T16:00:00.000Z'],
    ['2024-06-15T16:00Z', '2024-06-15T16:00:00.000Z'],
    ['2024-06-15T12:00:00-04:00', '2024-06-15T16:00:00.000Z'],
    ['2024-06-15T21:30:00+05:30', '2024-06-15T16:00:00.000Z'],
    ['2024-06-15T21:45:00+05:45', '2024-06-15T16:00:00.000Z'],
    ['2024-06-15T21:45:00+0545', '2024-06-15T16:00:00.000Z'],
    ['2024-06-15t16:00:00z', '2024-06-15T16:00:00.000Z'],
    // sub-millisecond digits are truncated to the canonical millisecond form
    ['2024-06-15T16:00:00.123456789Z', '2024-06-15T16:00:00.123Z'],
    ['2024-02-29T23:59:59.999Z', '2024-02-29T23:59:59.999Z'],
  ] as const;
  it.each(valid)('%s → %s', (input, iso) => {
    expect(parseInstant(input)).toMatchObject({ ok: true, iso, epochMs: Date.parse(iso) });
  });

  const invalid = [
    ['2024-06-15T16:00:00', ERROR_CODES.MISSING_OFFSET],
    ['2024-06-15T16:00', ERROR_CODES.MISSING_OFFSET],
    ['2024-02-30T16:00:00Z', ERROR_CODES.INVALID_DATE],
    ['2023-02-29T16:00:00Z', ERROR_CODES.INVALID_DATE],
    ['2024-13-01T16:00:00Z', ERROR_CODES.INVALID_DATE],
    ['2024-06-15T25:00:00Z', ERROR_CODES.INVALID_DATE],
    ['2024-06-15T23:59:60Z', ERROR_CODES.INVALID_DATE],
    ['2024-02-30T16:00:00', ERROR_CODES.INVALID_DATE],
    ['2024-06-15', ERROR_CODES.INVALID_TIME_FORMAT],
    ['June 15, 2024 4pm', ERROR_CODES.INVALID_TIME_FORMAT],
    ['1718467200000', ERROR_CODES.INVALID_TIME_FORMAT],
    ['2024-06-15T16:00:00Z[America/New_York]', ERROR_CODES.INVALID_TIME_FORMAT],
    ['', ERROR_CODES.INVALID_TIME_FORMAT],
  ] as const;
  it.each(invalid)('%s → %s', (input, code) => {
    const r = parseInstant(input);
    expect(r.ok ? undefined : r.error.code).toBe(code);
  });

  it('says what to send instead', () => {
    const r = parseInstant('2024-06-15T16:00:00');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/add one .*Z.*or send scheduledLocalTime with timeZone/);
  });
});

describe('formatting', () => {
  it('prints the canonical UTC form and the compact id form', () => {
    const ms = Date.UTC(2024, 5, 15, 16, 0, 0, 7);
    expect(formatInstant(ms)).toBe('2024-06-15T16:00:00.007Z');
    expect(formatCompactUtc(ms)).toBe('20240615T160000Z');
  });

  it('canonicalises zone spelling and refuses offsets', () => {
    expect(canonicalTimeZone('america/new_york')).toBe('America/New_York');
    expect(canonicalTimeZone('+05:00')).toBeUndefined();
    expect(canonicalTimeZone('Not/A_Zone')).toBeUndefined();
  });
});
