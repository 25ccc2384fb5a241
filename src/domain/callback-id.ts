/**
 * Callback ids: the client's idempotency key. Either sent, or derived from the customer's
 * externalId and the scheduled UTC time, so a client retrying the same request without an id
 * still lands on the same callback.
 */
import { ERROR_CODES, type ErrorCode } from './errors.js';
import { LIMITS } from './limits.js';
import { formatCompactUtc } from './time.js';
import type { EpochMs } from './types.js';

export const CALLBACK_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const CALLBACK_ID_CHARS = /^[A-Za-z0-9._:-]*$/;
const DERIVED_PREFIX = 'cb-';
// "cb-" + "-" + yyyyMMddTHHmmssZ (16 characters)
const DERIVED_OVERHEAD = DERIVED_PREFIX.length + 1 + 16;
export const MAX_DERIVABLE_EXTERNAL_ID_LENGTH = LIMITS.callbackIdMaxLength - DERIVED_OVERHEAD;

export type CallbackIdResult =
  | { ok: true; callbackId: string }
  | { ok: false; code: ErrorCode; message: string };

export function isValidCallbackId(value: string): boolean {
  return CALLBACK_ID_PATTERN.test(value);
}

/** Check a client-sent callbackId. */
export function checkCallbackId(value: string): CallbackIdResult {
  if (isValidCallbackId(value)) return { ok: true, callbackId: value };
  const why =
    value.length === 0
      ? 'is empty'
      : value.length > LIMITS.callbackIdMaxLength
        ? `is ${value.length} characters long`
        : 'holds characters other than A-Z a-z 0-9 . _ : -';
  return {
    ok: false,
    code: ERROR_CODES.INVALID_CALLBACK_ID,
    message: `callbackId ${why}; send 1 to ${LIMITS.callbackIdMaxLength} characters from A-Z a-z 0-9 . _ : - (e.g. cb-CRM-998271-20240615T160000Z), or leave it out to have it derived from customerData.externalId`,
  };
}

/** `cb-<externalId>-<yyyyMMddTHHmmssZ>`, e.g. cb-CRM-998271-20240615T160000Z. */
export function deriveCallbackId(
  externalId: string | undefined,
  scheduledEpochMs: EpochMs,
): CallbackIdResult {
  if (externalId === undefined || externalId.length === 0) {
    return {
      ok: false,
      code: ERROR_CODES.CALLBACK_ID_UNDERIVABLE,
      message:
        'no callbackId was sent and there is no customerData.externalId to derive one from; send a callbackId or customerData.externalId',
    };
  }
  if (!CALLBACK_ID_CHARS.test(externalId) || externalId.length > MAX_DERIVABLE_EXTERNAL_ID_LENGTH) {
    const why =
      externalId.length > MAX_DERIVABLE_EXTERNAL_ID_LENGTH
        ? `is longer than ${MAX_DERIVABLE_EXTERNAL_ID_LENGTH} characters`
        : 'holds characters other than A-Z a-z 0-9 . _ : -';
    return {
      ok: false,
      code: ERROR_CODES.CALLBACK_ID_UNDERIVABLE,
      message: `customerData.externalId ${why}, so no valid callbackId can be derived from it; send a callbackId of your own`,
    };
  }
  return { ok: true, callbackId: `${DERIVED_PREFIX}${externalId}-${formatCompactUtc(scheduledEpochMs)}` };
}
