import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/domain/errors.js';
import { maskPhone, normalisePhone, parsePhone, zoneForNumber } from '../../src/domain/phone.js';

describe('parsePhone normalises to E.164', () => {
  const cases = [
    ['+14155552671', '+14155552671'],
    ['+1 415 555 2671', '+14155552671'],
    ['+1 (415) 555-2671', '+14155552671'],
    ['  +1.415.555.2671 ', '+14155552671'],
    ['+44 20 7946 0958', '+442079460958'],
    ['+91 98765 43210', '+919876543210'],
  ] as const;
  it.each(cases)('%s → %s', (input, e164) => {
    expect(parsePhone(input)).toMatchObject({ ok: true, e164 });
  });
});

describe('parsePhone refuses numbers it must not dial, each with its own code', () => {
  const cases = [
    ['4155552671', ERROR_CODES.INVALID_PHONE_NUMBER], // no country code
    ['+1 415 555 2671 ext. 12', ERROR_CODES.INVALID_PHONE_NUMBER],
    ['+1415555', ERROR_CODES.INVALID_PHONE_NUMBER], // too short
    ['+1-800-FLOWERS', ERROR_CODES.INVALID_PHONE_NUMBER],
    ['', ERROR_CODES.INVALID_PHONE_NUMBER],
    ['+447700900123', ERROR_CODES.PHONE_NOT_DIALABLE], // possible length, unassigned (drama) range
    ['+19005551234', ERROR_CODES.PREMIUM_RATE_NUMBER], // US 900
    ['+449012345678', ERROR_CODES.PREMIUM_RATE_NUMBER], // UK 09
    ['+33810123456', ERROR_CODES.SHARED_COST_NUMBER], // FR 081
    ['+34901123456', ERROR_CODES.SHARED_COST_NUMBER], // ES 901
  ] as const;
  it.each(cases)('%s → %s', (input, code) => {
    const r = parsePhone(input);
    expect(r.ok ? undefined : r.code).toBe(code);
  });

  it('never puts the whole number in the message', () => {
    const r = parsePhone('+19005551234');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).not.toContain('9005551234');
      expect(r.message).toContain('1234');
      expect(r.message).toMatch(/send the customer's landline or mobile number/);
    }
  });

  it('accepts a premium-rate or toll-free number as a DID (our own number)', () => {
    expect(parsePhone('+18005551234', 'callbackFrom', 'did')).toMatchObject({
      ok: true,
      e164: '+18005551234',
    });
    expect(normalisePhone('+1 800 555 1234')).toBe('+18005551234');
    expect(normalisePhone('not a number')).toBeUndefined();
  });
});

describe('maskPhone', () => {
  const cases = [
    ['+14155552671', '+*******2671'],
    ['+1 (415) 555-2671', '+*******2671'],
    ['+442079460958', '+********0958'],
    ['4155552671', '******2671'],
    ['+1234', '+****'],
    ['', ''],
  ] as const;
  it.each(cases)('%s → %s', (input, masked) => {
    expect(maskPhone(input)).toBe(masked);
  });
});

describe('zoneForNumber', () => {
  const cases = [
    ['+442079460958', 'Europe/London'],
    ['+919876543210', 'Asia/Kolkata'],
    ['+97715512345', 'Asia/Kathmandu'],
    // countries spanning several zones give no answer rather than a guess
    ['+14155552671', undefined],
    ['+61291234567', undefined],
  ] as const;
  it.each(cases)('%s → %s', (number, zone) => {
    expect(zoneForNumber(number)).toBe(zone);
  });
});
