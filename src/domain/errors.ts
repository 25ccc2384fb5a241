/**
 * The stable error codes of callbackd. Clients branch on these, so a code is never renamed or
 * reused for another meaning; add new ones instead. Each violation message built by the domain
 * says what to send instead.
 */
export const ERROR_CODES = {
  // --- request body shape -------------------------------------------------------------------
  /** A required field is missing. */
  REQUIRED: 'REQUIRED',
  /** A field has the wrong JSON type (e.g. a string where a whole number is expected). */
  INVALID_TYPE: 'INVALID_TYPE',
  /** A field holds a value outside its allowed set (e.g. mediaType other than "voice"). */
  INVALID_VALUE: 'INVALID_VALUE',
  /** A field the API does not know; refused so typos are never silently ignored. */
  UNKNOWN_FIELD: 'UNKNOWN_FIELD',
  /** A string or list is longer than the limit allows. */
  TOO_LONG: 'TOO_LONG',
  /** Two fields that exclude each other were both sent (e.g. scheduledTime and scheduledLocalTime). */
  CONFLICTING_FIELDS: 'CONFLICTING_FIELDS',

  // --- schedule time ------------------------------------------------------------------------
  SCHEDULED_TIME_IN_PAST: 'SCHEDULED_TIME_IN_PAST',
  SCHEDULED_TIME_TOO_SOON: 'SCHEDULED_TIME_TOO_SOON',
  SCHEDULED_TIME_TOO_FAR: 'SCHEDULED_TIME_TOO_FAR',
  OUTSIDE_OPEN_HOURS: 'OUTSIDE_OPEN_HOURS',
  OUTSIDE_CALLING_WINDOW: 'OUTSIDE_CALLING_WINDOW',
  /** The time falls in one of the queue's closures (holiday, offsite). */
  QUEUE_CLOSED: 'QUEUE_CLOSED',
  /** A local time that does not exist (clocks jump forward over it). */
  DST_GAP: 'DST_GAP',
  /** A local time that happens twice (clocks fall back over it). */
  DST_AMBIGUOUS: 'DST_AMBIGUOUS',
  UNKNOWN_TIME_ZONE: 'UNKNOWN_TIME_ZONE',
  /** An ISO-shaped string naming a day or time that does not exist (Feb 30, 25:00). */
  INVALID_DATE: 'INVALID_DATE',
  /** scheduledTime without `Z` or an offset. */
  MISSING_OFFSET: 'MISSING_OFFSET',
  /** Not an ISO 8601 date-time at all. */
  INVALID_TIME_FORMAT: 'INVALID_TIME_FORMAT',

  // --- phone numbers ------------------------------------------------------------------------
  INVALID_PHONE_NUMBER: 'INVALID_PHONE_NUMBER',
  PHONE_NOT_DIALABLE: 'PHONE_NOT_DIALABLE',
  PREMIUM_RATE_NUMBER: 'PREMIUM_RATE_NUMBER',
  SHARED_COST_NUMBER: 'SHARED_COST_NUMBER',
  DID_NOT_PROVISIONED: 'DID_NOT_PROVISIONED',
  FROM_TO_MUST_MATCH: 'FROM_TO_MUST_MATCH',
  /** The callback number is not on the customer's trusted record (toll-fraud guard). */
  NUMBER_NOT_TRUSTED: 'NUMBER_NOT_TRUSTED',
  CUSTOMER_NOT_FOUND: 'CUSTOMER_NOT_FOUND',

  // --- ids, routing, verification -------------------------------------------------------------
  INVALID_CALLBACK_ID: 'INVALID_CALLBACK_ID',
  CALLBACK_ID_UNDERIVABLE: 'CALLBACK_ID_UNDERIVABLE',
  UNKNOWN_QUEUE: 'UNKNOWN_QUEUE',
  UNKNOWN_WRAP_UP_CODE: 'UNKNOWN_WRAP_UP_CODE',
  DTMF_REQUIRED: 'DTMF_REQUIRED',
  DTMF_NOT_ALLOWED: 'DTMF_NOT_ALLOWED',
  INVALID_DTMF: 'INVALID_DTMF',
  TIMEOUT_OUT_OF_BOUNDS: 'TIMEOUT_OUT_OF_BOUNDS',

  // --- API level (used by src/api; listed here so every code lives in one place) --------------
  INVALID_JSON: 'INVALID_JSON',
  BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  UNAUTHORIZED: 'UNAUTHORIZED',
  MISSING_SCOPE: 'MISSING_SCOPE',
  NOT_FOUND: 'NOT_FOUND',
  CALLBACK_NOT_FOUND: 'CALLBACK_NOT_FOUND',
  /** Same callbackId, different parameters (409). */
  CALLBACK_ID_CONFLICT: 'CALLBACK_ID_CONFLICT',
  /** PATCH/DELETE on a callback whose status no longer allows it (409). */
  INVALID_STATE: 'INVALID_STATE',
  RATE_LIMITED: 'RATE_LIMITED',
  LEDGER_UNAVAILABLE: 'LEDGER_UNAVAILABLE',
  INVALID_UTF8: 'INVALID_UTF8',
  JSON_TOO_DEEP: 'JSON_TOO_DEEP',
  FORBIDDEN_KEY: 'FORBIDDEN_KEY',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  INVALID_CURSOR: 'INVALID_CURSOR',
  INVALID_CONTENT_LENGTH: 'INVALID_CONTENT_LENGTH',
  BAD_REQUEST: 'BAD_REQUEST',
  INTERNAL: 'INTERNAL',
  // --- the dashboard's API -------------------------------------------------------------------
  /** A dashboard session sent a changing request from another origin (403). */
  CROSS_ORIGIN: 'CROSS_ORIGIN',
  DEAD_LETTER_NOT_FOUND: 'DEAD_LETTER_NOT_FOUND',
  /** Retry of an outbox row that is not (or no longer) a dead letter (409). */
  NOT_A_DEAD_LETTER: 'NOT_A_DEAD_LETTER',
  /** The platform did not confirm a cancel or reschedule; nothing changed, the request may be repeated (503). */
  PLATFORM_UNAVAILABLE: 'PLATFORM_UNAVAILABLE',
  /** The customer record source (file or CRM URL) could not answer (503). */
  TRUSTED_LOOKUP_UNAVAILABLE: 'TRUSTED_LOOKUP_UNAVAILABLE',
  /** Booking: the slot holds as many callbacks as its capacity allows (409, with alternatives). */
  SLOT_FULL: 'SLOT_FULL',
  /** Booking: the hold's time ran out; its unit is free again (409). */
  HOLD_EXPIRED: 'HOLD_EXPIRED',
  /** Booking: no hold with that id for this tenant and queue (400). */
  HOLD_NOT_FOUND: 'HOLD_NOT_FOUND',
  /** perCustomer one: the customer already has an active callback on the queue (409). */
  ACTIVE_CALLBACK_EXISTS: 'ACTIVE_CALLBACK_EXISTS',

  // --- status reasons (statusReason.code on rejected / expired / cancelled callbacks) ----------
  QUEUE_FULL: 'QUEUE_FULL',
  PLATFORM_REJECTED: 'PLATFORM_REJECTED',
  RETRIES_EXHAUSTED: 'RETRIES_EXHAUSTED',
  NO_ANSWER: 'NO_ANSWER',
  CANCELLED_BY_USER: 'CANCELLED_BY_USER',
  DISCONNECTED_ON_PLATFORM: 'DISCONNECTED_ON_PLATFORM',
  /** The customer's line was busy (from a wrap-up code mapped in wrapUpOutcomes). */
  BUSY: 'BUSY',
  /** The call reached a voicemail (from a wrap-up code mapped in wrapUpOutcomes). */
  VOICEMAIL: 'VOICEMAIL',
  /** The customer answered but the flow ended before an agent (DTMF not verified, timeout). */
  VERIFICATION_FAILED: 'VERIFICATION_FAILED',
  /** The platform ended the conversation with a code callbackd has no rule for; the raw code is in the message. */
  PLATFORM_OUTCOME_UNKNOWN: 'PLATFORM_OUTCOME_UNKNOWN',

  // --- history reasons on a same-status or routing change ---------------------------------------
  ROUTED_TO_OVERFLOW: 'ROUTED_TO_OVERFLOW',
  RESCHEDULED: 'RESCHEDULED',
  /** An unclear create was found on the platform by the look-up and adopted (message names the strategy). */
  LOOKUP_ADOPTED: 'LOOKUP_ADOPTED',
  /** The scheduled time or queue was changed on the platform (an agent or supervisor), not through callbackd. */
  CHANGED_ON_PLATFORM: 'CHANGED_ON_PLATFORM',
  /** An attempt did not reach the customer; the next one is scheduled. */
  REATTEMPT_SCHEDULED: 'REATTEMPT_SCHEDULED',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** One-line descriptions, for docs and OpenAPI. */
export const ERROR_DESCRIPTIONS: Readonly<Record<ErrorCode, string>> = {
  REQUIRED: 'A required field is missing.',
  INVALID_TYPE: 'A field has the wrong JSON type.',
  INVALID_VALUE: 'A field holds a value outside its allowed set.',
  UNKNOWN_FIELD: 'The body holds a field the API does not know.',
  TOO_LONG: 'A string or list exceeds its length limit.',
  CONFLICTING_FIELDS: 'Two mutually exclusive fields were both sent.',
  SCHEDULED_TIME_IN_PAST: 'The scheduled time is before the server clock.',
  SCHEDULED_TIME_TOO_SOON: "The scheduled time is closer than the queue's minimum lead time.",
  SCHEDULED_TIME_TOO_FAR: "The scheduled time is further ahead than the queue's maximum lead time.",
  OUTSIDE_OPEN_HOURS: "The scheduled time is outside the queue's open hours.",
  OUTSIDE_CALLING_WINDOW:
    "The scheduled time is outside the customer's calling window in the customer's zone.",
  QUEUE_CLOSED: "The scheduled time falls in one of the queue's closures.",
  DST_GAP: 'The local time does not exist in that zone (DST gap).',
  DST_AMBIGUOUS: 'The local time happens twice in that zone (DST overlap).',
  UNKNOWN_TIME_ZONE: 'The time zone is not an IANA zone name.',
  INVALID_DATE: 'The date or time does not exist (e.g. February 30).',
  MISSING_OFFSET: 'scheduledTime has no Z or UTC offset.',
  INVALID_TIME_FORMAT: 'The value is not an ISO 8601 date-time.',
  INVALID_PHONE_NUMBER: 'The value is not an E.164 phone number.',
  PHONE_NOT_DIALABLE: 'The number is not an assigned, dialable number.',
  PREMIUM_RATE_NUMBER: 'Premium-rate numbers are never dialled.',
  SHARED_COST_NUMBER: 'Shared-cost numbers are never dialled.',
  DID_NOT_PROVISIONED: 'The number is not one of the queue DIDs.',
  FROM_TO_MUST_MATCH: "The DID's trunk requires callbackFrom and callbackTo to be equal.",
  NUMBER_NOT_TRUSTED: "The callback number is not on the customer's trusted record.",
  CUSTOMER_NOT_FOUND: 'No customer record matches customerData.externalId.',
  INVALID_CALLBACK_ID: 'callbackId does not match [A-Za-z0-9._:-]{1,128}.',
  CALLBACK_ID_UNDERIVABLE: 'No callbackId was sent and none can be derived from customerData.externalId.',
  UNKNOWN_QUEUE: 'routingData.queueId is not a configured queue.',
  UNKNOWN_WRAP_UP_CODE: "routingData.wrapUpCode is not one of the queue's wrap-up codes.",
  DTMF_REQUIRED: 'The queue verifies by DTMF and no dtmf digit was sent.',
  DTMF_NOT_ALLOWED: 'The queue does not verify by DTMF, so dtmf must not be sent.',
  INVALID_DTMF: 'dtmf must be one digit 0-9.',
  TIMEOUT_OUT_OF_BOUNDS: "timeout is outside the queue's bounds.",
  INVALID_JSON: 'The body is not valid JSON.',
  BODY_TOO_LARGE: 'The body exceeds the size limit.',
  UNAUTHORIZED: 'No API key, or an unknown or revoked one.',
  MISSING_SCOPE: 'The API key lacks the scope this operation needs.',
  NOT_FOUND: 'No such resource.',
  CALLBACK_NOT_FOUND: 'No callback with that callbackId for this tenant.',
  CALLBACK_ID_CONFLICT: 'The callbackId exists with different parameters.',
  INVALID_STATE: 'The callback status does not allow this operation.',
  RATE_LIMITED: 'The API key exceeded its intake rate.',
  LEDGER_UNAVAILABLE: 'The ledger cannot be reached; retry later.',
  INVALID_UTF8: 'The body is not valid UTF-8.',
  JSON_TOO_DEEP: 'The JSON body nests deeper than allowed.',
  FORBIDDEN_KEY: 'The JSON body holds a prototype-pollution key (__proto__, constructor, prototype).',
  UNSUPPORTED_MEDIA_TYPE: 'The body is not application/json.',
  INVALID_CURSOR: 'The list cursor is malformed or belongs to other filters.',
  INVALID_CONTENT_LENGTH: 'The Content-Length header is malformed or does not match the body.',
  BAD_REQUEST: 'The request is malformed.',
  INTERNAL: 'An unexpected server error; it was logged.',
  CROSS_ORIGIN: 'A changing request with a dashboard session came from another origin.',
  DEAD_LETTER_NOT_FOUND: 'No dead-letter delivery with that event id for this tenant.',
  NOT_A_DEAD_LETTER: 'The delivery is not a dead letter (delivered, or already back in the queue).',
  PLATFORM_UNAVAILABLE: 'Genesys Cloud did not confirm the change; nothing changed, repeat the request.',
  TRUSTED_LOOKUP_UNAVAILABLE: 'The customer record source could not be reached; retry later.',
  SLOT_FULL: 'The slot is at capacity; the problem names the nearest free slots in alternatives.',
  HOLD_EXPIRED: 'The slot hold expired; hold the slot again or book another.',
  HOLD_NOT_FOUND: 'No slot hold with that id for this queue.',
  ACTIVE_CALLBACK_EXISTS:
    'The customer already has an active callback on this queue; send replaceActive: true to move it instead.',
  QUEUE_FULL: 'The queue (and its overflow) had no capacity.',
  PLATFORM_REJECTED: 'The platform refused the callback.',
  RETRIES_EXHAUSTED:
    'Every allowed attempt was used: refused for capacity, or (re-attempts) the customer was not reached.',
  NO_ANSWER: 'The customer did not answer.',
  CANCELLED_BY_USER: 'Cancelled through the API.',
  DISCONNECTED_ON_PLATFORM: 'The callback was disconnected on the platform without reaching the customer.',
  BUSY: "The customer's line was busy.",
  VOICEMAIL: 'The call reached a voicemail, not the customer.',
  VERIFICATION_FAILED:
    'The customer answered but did not complete verification before an agent took the call.',
  PLATFORM_OUTCOME_UNKNOWN:
    'The platform ended the callback with a code callbackd does not know; the raw code is kept in the message. Map it in wrapUpOutcomes if it has a meaning for you.',
  ROUTED_TO_OVERFLOW: 'The queue was full; the callback went to its overflow queue.',
  RESCHEDULED: 'The scheduled time or number was changed.',
  LOOKUP_ADOPTED:
    'An unclear create was found on the platform by its callbackId and adopted (not sent again).',
  CHANGED_ON_PLATFORM: 'The scheduled time or queue was changed on the platform by an agent or supervisor.',
  REATTEMPT_SCHEDULED: 'The attempt did not reach the customer; the next attempt is scheduled.',
};
