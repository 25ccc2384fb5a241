import { describe, expect, it } from 'vitest';
import {
  checkCallbackId,
  deriveCallbackId,
  isValidCallbackId,
  MAX_DERIVABLE_EXTERNAL_ID_LENGTH,
} from '../../src/domain/callback-id.js';
import { ERROR_CODES } from '../../src/domain/errors.js';

const JUNE_15_1600Z = Date.UTC(2024, 5, 15, 16, 0, 0);

describe('callbackId format [A-Za-z0-9._:-]{1,128}', () => {
  const cases = [
    ['cb-CRM-998271-20240615T160000Z', true],
    ['a', true],
    ['A.b_c:d-e', true],
    ['x'.repeat(128), true],
    ['x'.repeat(129), false],
    ['', false],
    ['has space', false],
    ['slash/id', false],
    ['ümlaut', false],
  ] as const;
  it.each(cases)('%s → %s', (id, valid) => {
    expect(isValidCallbackId(id)).toBe(valid);
    const r = checkCallbackId(id);
    expect(r.ok).toBe(valid);
    if (!r.ok) {
      expect(r.code).toBe(ERROR_CODES.INVALID_CALLBACK_ID);
      expect(r.message).toMatch(/send 1 to 128 characters/);
    }
  });
});

describe('deriveCallbackId', () => {
  it('is cb-<externalId>-<yyyyMMddTHHmmssZ>', () => {
    expect(deriveCallbackId('CRM-998271', JUNE_15_1600Z)).toEqual({
      ok: true,
      callbackId: 'cb-CRM-998271-20240615T160000Z',
    });
  });

  it('ignores milliseconds of the scheduled time', () => {
    expect(deriveCallbackId('X', JUNE_15_1600Z + 999)).toMatchObject({ callbackId: 'cb-X-20240615T160000Z' });
  });

  it('derives at the longest externalId that still fits 128 characters, and refuses one character more', () => {
    const longest = 'e'.repeat(MAX_DERIVABLE_EXTERNAL_ID_LENGTH);
    const ok = deriveCallbackId(longest, JUNE_15_1600Z);
    expect(ok.ok && ok.callbackId.length).toBe(128);
    expect(deriveCallbackId(`${longest}e`, JUNE_15_1600Z)).toMatchObject({
      ok: false,
      code: ERROR_CODES.CALLBACK_ID_UNDERIVABLE,
    });
  });

  const underivable = [undefined, '', 'CRM 998271', 'crm/1', 'ünï'] as const;
  it.each(underivable)('refuses externalId %j with a clear error', (externalId) => {
    const r = deriveCallbackId(externalId, JUNE_15_1600Z);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe(ERROR_CODES.CALLBACK_ID_UNDERIVABLE);
      expect(r.message).toMatch(/send a callbackId/);
    }
  });
});
