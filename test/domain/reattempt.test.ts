import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/domain/errors.js';
import { parseQueuePolicy } from '../../src/domain/policy.js';
import { decideReattempt, nextAllowedTime, unreachedFromReason } from '../../src/domain/reattempt.js';

const ms = (iso: string) => Date.parse(iso);
const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());

const ladder = { attempts: 2, afterMinutes: { noAnswer: 30, busy: 10, voicemail: 60 } };
const weekdays = parseQueuePolicy({
  openHours: {
    timeZone: 'America/New_York',
    weekly: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' }],
  },
  closures: [{ date: '2026-12-25', name: 'Christmas' }],
  reattempts: ladder,
  dids: [{ number: '+18005551234' }],
});
const aroundTheClock = parseQueuePolicy({
  openHours: { timeZone: 'America/New_York' },
  callingWindow: { start: '08:00', end: '21:00' },
  reattempts: ladder,
  dids: [{ number: '+18005551234' }],
});

describe('the next attempt time', () => {
  const cases = [
    // name, policy, cause, ended at, customer zone, expected next attempt
    [
      'no answer: 30 minutes later, inside every rule',
      weekdays,
      'noAnswer',
      '2026-12-02T15:00:00Z',
      'America/New_York',
      '2026-12-02T15:30:00.000Z',
    ],
    [
      'busy: 10 minutes later',
      weekdays,
      'busy',
      '2026-12-02T15:00:00Z',
      'America/New_York',
      '2026-12-02T15:10:00.000Z',
    ],
    [
      'voicemail: 60 minutes later',
      weekdays,
      'voicemail',
      '2026-12-02T15:00:00Z',
      'America/New_York',
      '2026-12-02T16:00:00.000Z',
    ],
    // Thu 24th 16:50 + 30 min is after closing; Fri 25th is Christmas; then the weekend.
    [
      'pushed past the closing time, a closure and the weekend',
      weekdays,
      'noAnswer',
      '2026-12-24T21:50:00Z',
      'America/New_York',
      '2026-12-28T14:00:00.000Z',
    ],
    // 20:40 New York + 30 min is past the customer's 21:00: the next morning at 08:00.
    [
      'pushed past the end of the calling window into the next morning',
      aroundTheClock,
      'noAnswer',
      '2026-12-03T01:40:00Z',
      'America/New_York',
      '2026-12-03T13:00:00.000Z',
    ],
    // The window is read in the customer's zone: 20:55 London + 10 min → 08:00 London.
    [
      'the calling window of a customer in another zone',
      aroundTheClock,
      'busy',
      '2026-12-02T20:55:00Z',
      'Europe/London',
      '2026-12-03T08:00:00.000Z',
    ],
    // Spring forward: 01:50 EST + 10 min = 03:00 EDT; the window (from 00:00 here) holds it.
    [
      'across the spring-forward gap',
      parseQueuePolicy({
        openHours: { timeZone: 'America/New_York' },
        callingWindow: { start: '00:00', end: '24:00' },
        reattempts: ladder,
        dids: [{ number: '+18005551234' }],
      }),
      'busy',
      '2026-03-08T06:50:00Z',
      'America/New_York',
      '2026-03-08T07:00:00.000Z',
    ],
  ] as const;

  it.each(cases)('%s', (_name, policy, cause, ended, zone, expected) => {
    const d = decideReattempt(policy, { cause, attempt: 1, endedAtMs: ms(ended) }, zone, ms(ended));
    expect(d.kind).toBe('reattempt');
    if (d.kind !== 'reattempt') return;
    expect(iso(d.atMs)).toBe(expected);
    expect(d.attempt).toBe(2);
    expect(d.reason.code).toBe(ERROR_CODES.REATTEMPT_SCHEDULED);
    expect(d.reason.message).toContain(`attempt 2 is scheduled for ${expected}`);
  });

  it('waits from the later of the end and the clock (an outcome learned late)', () => {
    const d = decideReattempt(
      weekdays,
      { cause: 'busy', attempt: 1, endedAtMs: ms('2026-12-02T15:00:00Z') },
      'America/New_York',
      ms('2026-12-02T15:30:00Z'),
    );
    expect(d.kind === 'reattempt' && iso(d.atMs)).toBe('2026-12-02T15:40:00.000Z');
  });

  it('gives up when no allowed time comes within maxLeadDays', () => {
    const closedForever = parseQueuePolicy({
      openHours: { timeZone: 'UTC' },
      maxLeadDays: 2,
      closures: [{ from: '2026-12-01T00:00', to: '2027-01-01T00:00', name: 'Refit' }],
      reattempts: ladder,
      dids: [{ number: '+18005551234' }],
    });
    expect(
      nextAllowedTime(closedForever, ms('2026-12-02T00:00:00Z'), 'UTC', ms('2026-12-04T00:00:00Z')),
    ).toBeUndefined();
    const d = decideReattempt(
      closedForever,
      { cause: 'noAnswer', attempt: 1, endedAtMs: ms('2026-12-02T00:00:00Z') },
      'UTC',
      ms('2026-12-02T00:00:00Z'),
    );
    expect(d.kind).toBe('exhausted');
    if (d.kind === 'exhausted') expect(d.reason.code).toBe(ERROR_CODES.RETRIES_EXHAUSTED);
  });
});

describe('the ladder', () => {
  const at = ms('2026-12-02T15:00:00Z');
  it('re-attempts up to `attempts` times after the first call, then ends RETRIES_EXHAUSTED', () => {
    const kinds = [1, 2, 3].map((attempt) =>
      decideReattempt(weekdays, { cause: 'noAnswer', attempt, endedAtMs: at }, 'America/New_York', at),
    );
    expect(kinds.map((d) => d.kind)).toEqual(['reattempt', 'reattempt', 'exhausted']);
    const last = kinds[2]!;
    expect(last.kind === 'exhausted' && last.reason).toMatchObject({
      code: ERROR_CODES.RETRIES_EXHAUSTED,
      message: expect.stringContaining('not reached in 3 attempts (last: no answer)'),
    });
  });

  it('leaves the outcome alone for a cause the queue does not re-attempt', () => {
    const noBusy = { ...weekdays, reattempts: { attempts: 2, afterMinutes: { noAnswer: 30 } } };
    expect(decideReattempt(noBusy, { cause: 'busy', attempt: 1, endedAtMs: at }, 'UTC', at).kind).toBe(
      'none',
    );
    expect(
      decideReattempt(weekdays, { cause: 'failedVerification', attempt: 1, endedAtMs: at }, 'UTC', at).kind,
    ).toBe('none');
    const { reattempts: _none, ...noLadder } = weekdays;
    expect(decideReattempt(noLadder, { cause: 'noAnswer', attempt: 1, endedAtMs: at }, 'UTC', at).kind).toBe(
      'none',
    );
  });

  it('reads the state map’s expired reasons as causes until the outcome map carries `unreached`', () => {
    expect(
      ['NO_ANSWER', 'BUSY', 'VOICEMAIL', 'VERIFICATION_FAILED', 'QUEUE_FULL', undefined].map(
        unreachedFromReason,
      ),
    ).toEqual(['noAnswer', 'busy', 'voicemail', 'failedVerification', undefined, undefined]);
  });
});
