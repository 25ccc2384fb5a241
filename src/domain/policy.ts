/**
 * Queue policy (DESIGN.md §5): what callbackd knows about a queue that Genesys does not hold,
 * and every check against it as a pure function. The clock is always an argument.
 */
import { Temporal } from 'temporal-polyfill';
import { z } from 'zod';
import { type Closure, ClosureSchema, closedUntil, closureAt, describeClosure } from './closures.js';
import { ERROR_CODES } from './errors.js';
import { LIMITS } from './limits.js';
import { maskPhone, normalisePhone, zoneForNumber } from './phone.js';
import { canonicalTimeZone, formatInstant, hhmmToMs, instantAtLocal, zonedFacts } from './time.js';
import type { EpochMs, Violation } from './types.js';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const DAY_MS = 86_400_000;

const hhmm = z.string().regex(/^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/, {
  message: 'expected a time of day "HH:mm" from 00:00 to 24:00',
});

const ianaZone = z.string().transform((value, ctx) => {
  const zone = canonicalTimeZone(value);
  if (!zone) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected an IANA time zone name such as America/New_York',
      input: value,
    });
    return z.NEVER;
  }
  return zone;
});

const e164 = z.string().transform((value, ctx) => {
  const normalised = normalisePhone(value);
  if (!normalised) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected an E.164 phone number such as +18005551234',
      input: value,
    });
    return z.NEVER;
  }
  return normalised;
});

export const WeeklyRangeSchema = z
  .strictObject({
    days: z.array(z.enum(WEEKDAYS)).min(1),
    /** Inclusive local start, "HH:mm". */
    start: hhmm,
    /** Exclusive local end, "HH:mm" ("24:00" = midnight). An end before the start runs past midnight. */
    end: hhmm,
  })
  .refine((r) => r.start !== r.end && r.start !== '24:00', {
    message: 'expected start and end to differ and start to be before 24:00',
  });
export type WeeklyRange = z.infer<typeof WeeklyRangeSchema>;

const ALWAYS_OPEN: WeeklyRange[] = [{ days: [...WEEKDAYS], start: '00:00', end: '24:00' }];

export const OpenHoursSchema = z.strictObject({
  /** The queue's zone: open hours are read in it, and it is the customer's zone of last resort. */
  timeZone: ianaZone,
  /** Weekly ranges; absent = open around the clock. */
  weekly: z
    .array(WeeklyRangeSchema)
    .min(1)
    .default(() => ALWAYS_OPEN.map((r) => ({ ...r, days: [...r.days] }))),
});
export type OpenHours = z.infer<typeof OpenHoursSchema>;

export const CallingWindowSchema = z
  .strictObject({ start: hhmm, end: hhmm })
  .refine((w) => hhmmToMs(w.start) < hhmmToMs(w.end), { message: 'expected start before end' });

export const DidSchema = z.strictObject({
  number: e164,
  /** The DID's trunk requires callbackFrom === callbackTo. */
  sameFromTo: z.boolean().default(false),
});
export type Did = z.infer<typeof DidSchema>;

/**
 * What an agent's wrap-up code (or a flow's end code) means for callbackd: the agent's wrap-up is
 * often the only record of "no answer" or "voicemail" (GENESYS.md), so the queue names it here.
 */
export const WrapUpOutcomeSchema = z
  .strictObject({
    status: z.enum(['completed', 'expired', 'rejected']),
    /** statusReason.code to record; defaults by status and unreached (NO_ANSWER, BUSY, VOICEMAIL, PLATFORM_REJECTED). */
    reason: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]*$/, { message: 'expected an upper-case reason code such as NO_ANSWER' })
      .optional(),
    /** Why the customer was not reached; only with status expired (default noAnswer). */
    unreached: z.enum(['noAnswer', 'busy', 'voicemail']).optional(),
  })
  .refine((o) => o.unreached === undefined || o.status === 'expired', {
    message: 'expected unreached only with status expired',
  });
export type WrapUpOutcome = z.infer<typeof WrapUpOutcomeSchema>;
const minutesOfDelay = z
  .number()
  .positive()
  .max(LIMITS.maxLeadDaysCeiling * 1440);

export const SlotsSchema = z
  .strictObject({
    /** Slot length; slots start at local midnight in the queue's zone and every `minutes` after. */
    minutes: z
      .number()
      .int()
      .min(1)
      .max(1440)
      .refine((m) => 1440 % m === 0, { message: 'expected a divisor of 1440 (a day), e.g. 10, 15, 30, 60' })
      .default(LIMITS.defaultSlotMinutes),
    /** Callbacks that may be scheduled to start in one slot; absent = no per-slot limit. */
    capacity: z.number().int().min(1).optional(),
    /** How long a hold reserves its unit. */
    holdSeconds: z.number().int().min(10).max(3600).default(LIMITS.defaultHoldSeconds),
  })
  .default({ minutes: LIMITS.defaultSlotMinutes, holdSeconds: LIMITS.defaultHoldSeconds });

export const ReattemptsSchema = z.strictObject({
  /** Re-attempts after the first call. */
  attempts: z.number().int().min(0).max(LIMITS.maxReattempts),
  /** Delay before the next attempt per cause; a cause left out is not re-attempted. */
  afterMinutes: z.strictObject({
    noAnswer: minutesOfDelay.optional(),
    busy: minutesOfDelay.optional(),
    voicemail: minutesOfDelay.optional(),
  }),
});
export type Reattempts = z.infer<typeof ReattemptsSchema>;

/** The policy's fields; extend this (e.g. with a name) and apply `refineQueuePolicy`. */
export const QueuePolicyObjectSchema = z.strictObject({
  minLeadSeconds: z.number().int().min(0).default(LIMITS.defaultMinLeadSeconds),
  maxLeadDays: z.number().positive().max(LIMITS.maxLeadDaysCeiling).default(LIMITS.defaultMaxLeadDays),
  openHours: OpenHoursSchema,
  /** The customer's legal calling window, [start, end) in the customer's zone. */
  callingWindow: CallingWindowSchema.default({ ...LIMITS.defaultCallingWindow }),
  maxCallbacks: z.number().int().min(1).default(LIMITS.defaultMaxCallbacks),
  overflowQueueId: z.string().min(1).optional(),
  verification: z.enum(['dtmf', 'none']).default('none'),
  wrapUpCodes: z.array(z.string().min(1)).default([]),
  /** Wrap-up code (as the platform reports it) → the outcome it decides. */
  wrapUpOutcomes: z.record(z.string().min(1), WrapUpOutcomeSchema).default({}),
  defaultPriority: z.number().int().default(LIMITS.defaultPriority),
  timeoutSeconds: z
    .strictObject({
      min: z.number().int().min(1).default(LIMITS.minTimeoutSeconds),
      max: z.number().int().min(1).default(LIMITS.maxTimeoutSeconds),
      default: z.number().int().min(1).default(LIMITS.defaultTimeoutSeconds),
    })
    .refine((t) => t.min <= t.default && t.default <= t.max, { message: 'expected min <= default <= max' })
    .default({
      min: LIMITS.minTimeoutSeconds,
      max: LIMITS.maxTimeoutSeconds,
      default: LIMITS.defaultTimeoutSeconds,
    }),
  dids: z.array(DidSchema).min(1),
  rejectionRetry: z
    .strictObject({
      attempts: z.number().int().min(0).default(LIMITS.defaultRejectionRetry.attempts),
      delayMinutes: z
        .strictObject({
          min: z.number().min(0).default(LIMITS.defaultRejectionRetry.delayMinutes.min),
          max: z.number().min(0).default(LIMITS.defaultRejectionRetry.delayMinutes.max),
        })
        .refine((d) => d.min <= d.max, { message: 'expected min <= max' })
        .default({ ...LIMITS.defaultRejectionRetry.delayMinutes }),
    })
    .default({
      attempts: LIMITS.defaultRejectionRetry.attempts,
      delayMinutes: { ...LIMITS.defaultRejectionRetry.delayMinutes },
    }),
  /** Dates and local date-time ranges in the queue's zone when it takes no callbacks. */
  closures: z.array(ClosureSchema).max(LIMITS.maxClosures).default([]),
  slots: SlotsSchema,
  /** Re-attempts after an attempt that did not reach the customer; absent = none. */
  reattempts: ReattemptsSchema.optional(),
  /** `one`: at most one active callback per customer and queue. */
  perCustomer: z.enum(['many', 'one']).default('many'),
});

/** Rules across fields of one policy. */
export function refineQueuePolicy(
  p: { minLeadSeconds: number; maxLeadDays: number },
  ctx: z.core.$RefinementCtx<unknown>,
): void {
  if (p.minLeadSeconds * 1000 >= p.maxLeadDays * DAY_MS) {
    ctx.addIssue({
      code: 'custom',
      path: ['minLeadSeconds'],
      message: `expected minLeadSeconds below maxLeadDays (${p.maxLeadDays} days = ${p.maxLeadDays * 86_400} seconds)`,
      input: p.minLeadSeconds,
    });
  }
}

export const QueuePolicySchema = QueuePolicyObjectSchema.superRefine(refineQueuePolicy);

/** A validated queue policy, defaults applied. */
export type QueuePolicy = z.output<typeof QueuePolicySchema>;
/** What a config file may write for a queue policy (defaults optional). */
export type QueuePolicyInput = z.input<typeof QueuePolicySchema>;

/** Parse a policy, throwing zod's error on bad input (config validation reports it nicely). */
export function parseQueuePolicy(input: unknown): QueuePolicy {
  return QueuePolicySchema.parse(input);
}

// ---------------------------------------------------------------------------------------------
// Checks. Each returns the violation(s) it finds; `field` is the request field they concern.

/** Not in the past, at least minLeadSeconds ahead, at most maxLeadDays ahead. Boundaries allowed. */
export function checkLeadTime(
  policy: Pick<QueuePolicy, 'minLeadSeconds' | 'maxLeadDays'>,
  scheduledMs: EpochMs,
  nowMs: EpochMs,
  field = 'scheduledTime',
): Violation | undefined {
  const earliest = nowMs + policy.minLeadSeconds * 1000;
  const latest = nowMs + policy.maxLeadDays * DAY_MS;
  const when = formatInstant(scheduledMs);
  if (scheduledMs < nowMs) {
    return {
      code: ERROR_CODES.SCHEDULED_TIME_IN_PAST,
      field,
      message: `${when} is in the past (server time is ${formatInstant(nowMs)}); send a time at or after ${formatInstant(earliest)}`,
    };
  }
  if (scheduledMs < earliest) {
    return {
      code: ERROR_CODES.SCHEDULED_TIME_TOO_SOON,
      field,
      message: `${when} is less than the queue's minimum lead time of ${policy.minLeadSeconds} seconds ahead; send a time at or after ${formatInstant(earliest)}`,
    };
  }
  if (scheduledMs > latest) {
    return {
      code: ERROR_CODES.SCHEDULED_TIME_TOO_FAR,
      field,
      message: `${when} is more than the queue's maximum lead time of ${policy.maxLeadDays} days ahead; send a time at or before ${formatInstant(latest)}`,
    };
  }
  return undefined;
}

function rangeContains(range: WeeklyRange, dayOfWeek: number, msOfDay: number): boolean {
  const start = hhmmToMs(range.start);
  const end = hhmmToMs(range.end);
  const today = range.days.includes(WEEKDAYS[dayOfWeek - 1]!);
  if (start < end) return today && msOfDay >= start && msOfDay < end;
  // Runs past midnight: from start on a listed day to end on the next day.
  const yesterday = range.days.includes(WEEKDAYS[(dayOfWeek + 5) % 7]!);
  return (today && msOfDay >= start) || (yesterday && msOfDay < end);
}

/** Open hours by wall-clock facts in the queue's zone (1 = Monday; ms since local midnight). */
export function openHoursContain(openHours: OpenHours, dayOfWeek: number, msOfDay: number): boolean {
  return openHours.weekly.some((r) => rangeContains(r, dayOfWeek, msOfDay));
}

export function isWithinOpenHours(openHours: OpenHours, epochMs: EpochMs): boolean {
  const { dayOfWeek, msOfDay } = zonedFacts(epochMs, openHours.timeZone);
  return openHoursContain(openHours, dayOfWeek, msOfDay);
}

/** The first instant after `epochMs` at which the queue opens, within the coming week. */
export function nextOpening(openHours: OpenHours, epochMs: EpochMs): EpochMs | undefined {
  const today = Temporal.Instant.fromEpochMilliseconds(epochMs).toZonedDateTimeISO(
    openHours.timeZone,
  ).dayOfWeek;
  let best: EpochMs | undefined;
  for (let daysAhead = 0; daysAhead <= 7; daysAhead++) {
    const weekday = WEEKDAYS[(today - 1 + daysAhead) % 7]!;
    for (const range of openHours.weekly) {
      if (!range.days.includes(weekday)) continue;
      const at = instantAtLocal(epochMs, openHours.timeZone, daysAhead, range.start);
      if (at > epochMs && (best === undefined || at < best)) best = at;
    }
    if (best !== undefined) return best;
  }
  return best;
}

const DAY_LABEL: Record<Weekday, string> = {
  mon: 'Mon',
  tue: 'Tue',
  wed: 'Wed',
  thu: 'Thu',
  fri: 'Fri',
  sat: 'Sat',
  sun: 'Sun',
};

function describeDays(days: readonly Weekday[]): string {
  const idx = [...new Set(days.map((d) => WEEKDAYS.indexOf(d)))].sort((a, b) => a - b);
  if (idx.length === 7) return 'every day';
  const consecutive = idx.every((v, i) => i === 0 || v === idx[i - 1]! + 1);
  if (consecutive && idx.length > 2)
    return `${DAY_LABEL[WEEKDAYS[idx[0]!]!]}–${DAY_LABEL[WEEKDAYS[idx.at(-1)!]!]}`;
  return idx.map((i) => DAY_LABEL[WEEKDAYS[i]!]).join(', ');
}

/** e.g. "Mon–Fri 09:00–17:00 America/New_York". */
export function describeOpenHours(openHours: OpenHours): string {
  return `${openHours.weekly.map((r) => `${describeDays(r.days)} ${r.start}–${r.end}`).join('; ')} ${openHours.timeZone}`;
}

/** What the queue-side time rules need: open hours and (optionally) closures. */
export type QueueHours = Pick<QueuePolicy, 'openHours'> & { closures?: readonly Closure[] };

/** Inside open hours and in no closure. */
export function isQueueOpen(policy: QueueHours, epochMs: EpochMs): boolean {
  return (
    isWithinOpenHours(policy.openHours, epochMs) &&
    closureAt(policy.closures, policy.openHours.timeZone, epochMs) === undefined
  );
}

/** The first instant at or after `fromMs` when the queue is open and not closed, up to `untilMs`. */
export function nextQueueOpenTime(
  policy: QueueHours,
  fromMs: EpochMs,
  untilMs: EpochMs = fromMs + 2 * LIMITS.maxLeadDaysCeiling * DAY_MS,
): EpochMs | undefined {
  let t = fromMs;
  // Every step moves strictly forward (to a closure's end or the next opening), so this ends.
  while (t <= untilMs) {
    const reopens = closedUntil(policy.closures, policy.openHours.timeZone, t);
    if (reopens > t) {
      t = reopens;
      continue;
    }
    if (isWithinOpenHours(policy.openHours, t)) return t;
    const next = nextOpening(policy.openHours, t);
    if (next === undefined) return undefined;
    t = next;
  }
  return undefined;
}

export function checkOpenHours(
  policy: QueueHours,
  scheduledMs: EpochMs,
  field = 'scheduledTime',
): Violation | undefined {
  const zone = policy.openHours.timeZone;
  const closure = closureAt(policy.closures, zone, scheduledMs);
  if (closure) {
    const reopens = nextQueueOpenTime(policy, closure.endMs);
    return {
      code: ERROR_CODES.QUEUE_CLOSED,
      field,
      message: `${formatInstant(scheduledMs)} falls in the queue's closure ${describeClosure(closure)} (${zone}); send a time ${reopens === undefined ? 'after it' : `at or after ${formatInstant(reopens)}, when the queue next opens`}`,
    };
  }
  if (isWithinOpenHours(policy.openHours, scheduledMs)) return undefined;
  const facts = zonedFacts(scheduledMs, zone);
  const next = nextQueueOpenTime(policy, scheduledMs);
  const suggestion =
    next === undefined ? 'send a time inside them' : `the queue next opens at ${formatInstant(next)}`;
  return {
    code: ERROR_CODES.OUTSIDE_OPEN_HOURS,
    field,
    message: `${formatInstant(scheduledMs)} is ${DAY_LABEL[WEEKDAYS[facts.dayOfWeek - 1]!]} ${facts.wallClock.slice(11)} in ${zone}, outside the queue's open hours (${describeOpenHours(policy.openHours)}); send a time inside them (${suggestion})`,
  };
}

export function isWithinCallingWindow(
  window: { start: string; end: string },
  epochMs: EpochMs,
  timeZone: string,
): boolean {
  const { msOfDay } = zonedFacts(epochMs, timeZone);
  return msOfDay >= hhmmToMs(window.start) && msOfDay < hhmmToMs(window.end);
}

export function checkCallingWindow(
  policy: Pick<QueuePolicy, 'callingWindow'>,
  scheduledMs: EpochMs,
  customerTimeZone: string,
  field = 'scheduledTime',
): Violation | undefined {
  const window = policy.callingWindow;
  if (isWithinCallingWindow(window, scheduledMs, customerTimeZone)) return undefined;
  const { msOfDay, wallClock } = zonedFacts(scheduledMs, customerTimeZone);
  const daysAhead = msOfDay < hhmmToMs(window.start) ? 0 : 1;
  const next = instantAtLocal(scheduledMs, customerTimeZone, daysAhead, window.start);
  return {
    code: ERROR_CODES.OUTSIDE_CALLING_WINDOW,
    field,
    message: `${formatInstant(scheduledMs)} is ${wallClock.slice(11)} for the customer (${customerTimeZone}), outside the calling window ${window.start}–${window.end}; send a time inside it (the window next opens at ${formatInstant(next)})`,
  };
}

export function checkWrapUpCode(
  policy: Pick<QueuePolicy, 'wrapUpCodes'>,
  wrapUpCode: string | undefined,
  field = 'routingData.wrapUpCode',
): Violation | undefined {
  if (wrapUpCode === undefined || policy.wrapUpCodes.includes(wrapUpCode)) return undefined;
  const allowed =
    policy.wrapUpCodes.length === 0
      ? 'the queue has no wrap-up codes configured, so leave it out'
      : `send one of ${policy.wrapUpCodes.join(', ')} or leave it out`;
  return {
    code: ERROR_CODES.UNKNOWN_WRAP_UP_CODE,
    field,
    message: `"${wrapUpCode}" is not a wrap-up code of this queue; ${allowed}`,
  };
}

const DTMF_DIGIT = /^[0-9]$/;

/** One digit, required when the queue verifies by DTMF and refused when it does not. */
export function checkDtmf(
  policy: Pick<QueuePolicy, 'verification'>,
  dtmf: string | undefined,
  field = 'dtmf',
): Violation | undefined {
  if (policy.verification === 'dtmf') {
    if (dtmf === undefined) {
      return {
        code: ERROR_CODES.DTMF_REQUIRED,
        field,
        message:
          'this queue verifies the customer by DTMF; send dtmf, the one digit (0-9) the customer must press',
      };
    }
    if (!DTMF_DIGIT.test(dtmf)) {
      return {
        code: ERROR_CODES.INVALID_DTMF,
        field,
        message: 'dtmf must be exactly one digit 0-9, e.g. "1"',
      };
    }
    return undefined;
  }
  if (dtmf !== undefined) {
    return {
      code: ERROR_CODES.DTMF_NOT_ALLOWED,
      field,
      message: 'this queue does not verify by DTMF; leave dtmf out',
    };
  }
  return undefined;
}

/** callbackFrom and callbackTo (already E.164) must be queue DIDs; a sameFromTo DID needs both equal. */
export function checkDids(
  policy: Pick<QueuePolicy, 'dids'>,
  from: string | undefined,
  to: string | undefined,
): Violation[] {
  const out: Violation[] = [];
  const known = policy.dids.map((d) => d.number);
  // The queue's DIDs are the business's own published numbers, shown in full so the fix is clear.
  const list = known.join(', ');
  const fromDid = from === undefined ? undefined : policy.dids.find((d) => d.number === from);
  const toDid = to === undefined ? undefined : policy.dids.find((d) => d.number === to);
  if (from !== undefined && !fromDid) {
    out.push({
      code: ERROR_CODES.DID_NOT_PROVISIONED,
      field: 'callbackFrom',
      message: `${maskPhone(from)} is not a DID provisioned for this queue; send one of ${list}`,
    });
  }
  if (to !== undefined && !toDid) {
    out.push({
      code: ERROR_CODES.DID_NOT_PROVISIONED,
      field: 'callbackTo',
      message: `${maskPhone(to)} is not a DID provisioned for this queue; send one of ${list}`,
    });
  }
  if (fromDid && toDid && from !== to && (fromDid.sameFromTo || toDid.sameFromTo)) {
    const strict = fromDid.sameFromTo ? fromDid : toDid;
    out.push({
      code: ERROR_CODES.FROM_TO_MUST_MATCH,
      field: 'callbackTo',
      message: `the trunk of DID ${maskPhone(strict.number)} requires callbackFrom and callbackTo to be the same number; send the same DID in both`,
    });
  }
  return out;
}

/** Apply the queue's default timeout and check bounds. */
export function checkTimeout(
  policy: Pick<QueuePolicy, 'timeoutSeconds'>,
  timeout: number | undefined,
  field = 'timeout',
): { timeout: number; violation?: Violation } {
  const bounds = policy.timeoutSeconds;
  if (timeout === undefined) return { timeout: bounds.default };
  if (timeout >= bounds.min && timeout <= bounds.max) return { timeout };
  return {
    timeout,
    violation: {
      code: ERROR_CODES.TIMEOUT_OUT_OF_BOUNDS,
      field,
      message: `timeout ${timeout} seconds is outside this queue's bounds; send a whole number from ${bounds.min} to ${bounds.max} seconds (or leave it out for ${bounds.default})`,
    },
  };
}

/** The request's priority, or the queue's default — never a silent 0. */
export function resolvePriority(
  policy: Pick<QueuePolicy, 'defaultPriority'>,
  priority: number | undefined,
): number {
  return priority ?? policy.defaultPriority;
}

export type CustomerZoneSource = 'request' | 'number' | 'queue';

/**
 * The customer's zone for the calling window: the request's timeZone when given, else the
 * number's country when that country has a single zone, else the queue's zone.
 */
export function resolveCustomerTimeZone(
  policy: Pick<QueuePolicy, 'openHours'>,
  requestTimeZone: string | undefined,
  callbackNumber: string | undefined,
): { timeZone: string; source: CustomerZoneSource } {
  if (requestTimeZone !== undefined) return { timeZone: requestTimeZone, source: 'request' };
  const fromNumber = callbackNumber === undefined ? undefined : zoneForNumber(callbackNumber);
  if (fromNumber !== undefined) return { timeZone: fromNumber, source: 'number' };
  return { timeZone: policy.openHours.timeZone, source: 'queue' };
}
