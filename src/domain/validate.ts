/**
 * Request validation: a raw JSON body in, a normalised CallbackSpec or every violation out.
 * zod checks the body's shape (types, unknown fields); the domain functions then check values
 * and the queue policy. Both passes run on every request so the client sees all problems at once.
 */
import { z } from 'zod';
import { checkCallbackId, deriveCallbackId } from './callback-id.js';
import { ERROR_CODES } from './errors.js';
import { LIMITS } from './limits.js';
import { maskPhone, normalisePhone, parsePhone } from './phone.js';
import {
  type CustomerZoneSource,
  checkCallingWindow,
  checkDids,
  checkDtmf,
  checkLeadTime,
  checkOpenHours,
  checkTimeout,
  checkWrapUpCode,
  type QueuePolicy,
  resolveCustomerTimeZone,
  resolvePriority,
} from './policy.js';
import {
  canonicalTimeZone,
  DST_POLICIES,
  type DstPolicy,
  parseInstant,
  resolveLocalTime,
  unknownTimeZoneMessage,
} from './time.js';
import type { CallbackSpec, CustomerData, EpochMs, Violation } from './types.js';

export interface ValidationContext {
  /** The server's clock reading; the client's clock is never trusted. */
  now: EpochMs;
  /** The policy of a configured queue, or undefined when no such queue exists. */
  queues: (queueId: string) => QueuePolicy | undefined;
  /**
   * The customer's trusted numbers (toll-fraud guard). undefined = skip the check;
   * null = no customer record for customerData.externalId (CUSTOMER_NOT_FOUND);
   * an array = callbackNumber must be one of them (NUMBER_NOT_TRUSTED).
   */
  trustedNumbers?: readonly string[] | null;
}

export interface ValidationDetails {
  scheduledEpochMs: EpochMs;
  /** The zone the calling window was checked in, and where it came from. */
  customerTimeZone: string;
  customerTimeZoneSource: CustomerZoneSource;
  /** True when callbackId was derived rather than sent. */
  callbackIdDerived: boolean;
}

export type ValidationResult =
  | { ok: true; spec: CallbackSpec; details: ValidationDetails }
  | { ok: false; violations: Violation[] };

// ---------------------------------------------------------------------------------------------
// Body shape. Value rules (formats, policy) live in the domain checks below so each gets its own
// code; the shape only fixes JSON types and known fields. Descriptions feed OpenAPI.

const customerDataSchema = z
  .object({
    externalId: z
      .string()
      .max(LIMITS.maxAttributeValueLength)
      .optional()
      .meta({
        description:
          "The customer's id in your CRM; used to find the trusted record and to derive callbackId.",
        examples: ['CRM-998271'],
      }),
    firstName: z
      .string()
      .max(LIMITS.maxAttributeValueLength)
      .optional()
      .meta({ examples: ['Marcus'] }),
    lastName: z
      .string()
      .max(LIMITS.maxAttributeValueLength)
      .optional()
      .meta({ examples: ['Vance'] }),
  })
  .catchall(z.string().max(LIMITS.maxAttributeValueLength))
  .superRefine((data, ctx) => {
    const keys = Object.keys(data);
    if (keys.length > LIMITS.maxCustomerDataAttributes) {
      ctx.addIssue({
        code: 'too_big',
        origin: 'object',
        maximum: LIMITS.maxCustomerDataAttributes,
        message: `customerData holds ${keys.length} attributes; send at most ${LIMITS.maxCustomerDataAttributes}`,
        input: data,
      });
    }
    for (const key of keys) {
      if (key.length > LIMITS.maxAttributeKeyLength) {
        ctx.addIssue({
          code: 'too_big',
          origin: 'string',
          maximum: LIMITS.maxAttributeKeyLength,
          path: [key],
          message: `attribute name is ${key.length} characters long; use at most ${LIMITS.maxAttributeKeyLength}`,
          input: key,
        });
      }
    }
  })
  .meta({
    description: 'Customer attributes: externalId, firstName, lastName and any extra string attributes.',
  });

const scheduleFields = {
  scheduledTime: z
    .string()
    .optional()
    .meta({
      description:
        'ISO 8601 instant with Z or an offset; normalised to UTC. Exclusive with scheduledLocalTime.',
      examples: ['2024-06-15T16:00:00.000Z'],
    }),
  scheduledLocalTime: z
    .string()
    .optional()
    .meta({
      description: 'Wall-clock time without offset, read in timeZone. Exclusive with scheduledTime.',
      examples: ['2024-06-15T12:00:00'],
    }),
  timeZone: z
    .string()
    .optional()
    .meta({
      description:
        "IANA zone of the customer: reads scheduledLocalTime, and sets the zone of the customer's calling window.",
      examples: ['America/New_York'],
    }),
  dstPolicy: z.enum(DST_POLICIES).optional().meta({
    description:
      'Which instant a scheduledLocalTime in a DST gap or overlap means; default reject (400 naming both candidates).',
  }),
};

const callbackNumberField = z.string().meta({
  description: "Customer number, E.164; must be on the customer's trusted record.",
  examples: ['+14155552671'],
});

export const CallbackRequestBodySchema = z
  .strictObject({
    callbackId: z
      .string()
      .optional()
      .meta({
        description:
          'Idempotency key, [A-Za-z0-9._:-]{1,128}. Derived as cb-<customerData.externalId>-<yyyyMMddTHHmmssZ> when absent.',
        examples: ['cb-CRM-998271-20240615T160000Z'],
      }),
    callbackNumber: callbackNumberField,
    callbackFrom: z
      .string()
      .meta({ description: 'A provisioned DID of the queue, E.164.', examples: ['+18005551234'] }),
    callbackTo: z
      .string()
      .meta({ description: 'A provisioned DID of the queue, E.164.', examples: ['+18005551234'] }),
    ...scheduleFields,
    timeout: z
      .number()
      .int()
      .optional()
      .meta({
        description: 'Seconds to wait for answer and DTMF; default and bounds per queue.',
        examples: [300],
      }),
    routingData: z.strictObject({
      queueId: z
        .string()
        .meta({ description: 'A configured queue.', examples: ['a1b2c3d4-e5f6-7890-abcd-ef1234567890'] }),
      priority: z.number().int().optional().meta({ description: "Default: the queue's defaultPriority." }),
      wrapUpCode: z
        .string()
        .optional()
        .meta({ description: "One of the queue's wrap-up codes.", examples: ['PROGRAMMATIC_CALLBACK'] }),
    }),
    mediaType: z.literal('voice').optional().meta({ description: 'Only voice; default voice.' }),
    customerData: customerDataSchema.optional(),
    dtmf: z.string().optional().meta({
      description:
        'One digit 0-9 the customer presses to verify; required when the queue verifies by DTMF, refused otherwise.',
    }),
    slotHoldId: z.string().max(64).optional().meta({
      description:
        'A hold from POST /api/v2/routing/queues/{queueId}/slots/holds: books the unit it reserved (scheduledTime must fall in its slot).',
    }),
    replaceActive: z.boolean().optional().meta({
      description:
        'With perCustomer one: move the customer’s active callback to this time instead of refusing with ACTIVE_CALLBACK_EXISTS.',
    }),
  })
  .meta({ title: 'CallbackRequest' });

export type CallbackRequestBody = z.input<typeof CallbackRequestBodySchema>;

export const RescheduleBodySchema = z
  .strictObject({
    ...scheduleFields,
    callbackNumber: callbackNumberField.optional(),
  })
  .meta({
    title: 'CallbackReschedule',
    description:
      'Send a new time (scheduledTime, or scheduledLocalTime read in timeZone or else the callback’s existing timeZone) and/or a new callbackNumber.',
  });

export type RescheduleBody = z.input<typeof RescheduleBodySchema>;

/** JSON Schema (draft 2020-12) of the POST body, for OpenAPI. */
export function callbackRequestJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(CallbackRequestBodySchema, { io: 'input' }) as Record<string, unknown>;
}

/** JSON Schema (draft 2020-12) of the PATCH body, for OpenAPI. */
export function rescheduleRequestJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(RescheduleBodySchema, { io: 'input' }) as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// zod issues → violations

const FIELD_HINTS: Record<string, string> = {
  body: 'a JSON object',
  callbackId: 'a string of 1-128 characters from A-Z a-z 0-9 . _ : -',
  callbackNumber: 'an E.164 number as a string, e.g. "+14155552671"',
  callbackFrom: 'a provisioned DID as an E.164 string, e.g. "+18005551234"',
  callbackTo: 'a provisioned DID as an E.164 string, e.g. "+18005551234"',
  scheduledTime: 'an ISO 8601 instant string, e.g. "2024-06-15T16:00:00.000Z"',
  scheduledLocalTime: 'a wall-clock time string, e.g. "2024-06-15T12:00:00"',
  timeZone: 'an IANA zone name string, e.g. "America/New_York"',
  dstPolicy: '"reject", "earlier" or "later"',
  timeout: 'a whole number of seconds, e.g. 300',
  routingData: 'an object {queueId, priority?, wrapUpCode?}',
  'routingData.queueId': 'the queue id as a string',
  'routingData.priority': 'a whole number',
  'routingData.wrapUpCode': 'a wrap-up code string',
  mediaType: '"voice"',
  customerData: 'an object of string attributes',
  dtmf: 'one digit as a string, e.g. "1"',
  slotHoldId: 'the holdId string a slot hold answered',
  replaceActive: 'true or false',
};

const KNOWN_FIELDS = [
  ...Object.keys(CallbackRequestBodySchema.shape),
  'queueId',
  'priority',
  'wrapUpCode',
  'externalId',
  'firstName',
  'lastName',
];

function hintFor(field: string): string {
  return FIELD_HINTS[field] ?? (field.startsWith('customerData.') ? 'a string' : 'a valid value');
}

function unknownFieldMessage(key: string, field: string): string {
  const near = KNOWN_FIELDS.find((k) => k.toLowerCase() === key.toLowerCase() && k !== key);
  return near
    ? `"${field}" is not a field of this request; did you mean "${near}"?`
    : `"${field}" is not a field of this request; remove it (extra customer attributes belong in customerData)`;
}

function violationsFromIssues(issues: readonly z.core.$ZodIssue[]): Violation[] {
  const out: Violation[] = [];
  for (const issue of issues) {
    const path = issue.path.map(String).join('.');
    const field = path === '' ? 'body' : path;
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          const f = path === '' ? key : `${path}.${key}`;
          out.push({ code: ERROR_CODES.UNKNOWN_FIELD, field: f, message: unknownFieldMessage(key, f) });
        }
        break;
      case 'invalid_type':
        if (issue.input === undefined) {
          out.push({
            code: ERROR_CODES.REQUIRED,
            field,
            message: `${field} is required; send ${hintFor(field)}`,
          });
        } else {
          out.push({ code: ERROR_CODES.INVALID_TYPE, field, message: `${field} must be ${hintFor(field)}` });
        }
        break;
      case 'invalid_value':
        out.push({ code: ERROR_CODES.INVALID_VALUE, field, message: `${field} must be ${hintFor(field)}` });
        break;
      case 'too_big':
        out.push({ code: ERROR_CODES.TOO_LONG, field, message: tooLongMessage(field, issue) });
        break;
      default:
        out.push({ code: ERROR_CODES.INVALID_VALUE, field, message: `${field}: ${issue.message}` });
    }
  }
  return out;
}

function tooLongMessage(field: string, issue: z.core.$ZodIssueTooBig): string {
  // Our own refinements already phrase the fix; zod's built-in ones only know the maximum.
  if (issue.origin === 'string' && !issue.message.startsWith('Too big')) return `${field}: ${issue.message}`;
  if (issue.origin === 'object') return issue.message;
  return `${field} is too long; send at most ${String(issue.maximum)} characters`;
}

// ---------------------------------------------------------------------------------------------
// Domain pass

type Raw = Record<string, unknown>;

function isRecord(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

interface DomainOptions {
  /** Lead-time rules apply when the time is new (POST, or PATCH of the time). */
  checkLeadTime: boolean;
  /** PATCH keeps the stored id. */
  fixedCallbackId?: string;
  /** The shape pass already refused the body: a field it refused may be missing here without a domain violation. */
  shapeInvalid?: boolean;
}

function validateDomain(body: Raw, ctx: ValidationContext, opts: DomainOptions): ValidationResult {
  const violations: Violation[] = [];
  const routing = isRecord(body.routingData) ? body.routingData : {};
  const customer = isRecord(body.customerData) ? body.customerData : {};

  // callbackId (checked when sent; derived at the end once the time is known)
  const sentId = str(body.callbackId);
  if (opts.fixedCallbackId === undefined && sentId !== undefined) {
    const r = checkCallbackId(sentId);
    if (!r.ok) violations.push({ code: r.code, field: 'callbackId', message: r.message });
  }

  // phone numbers
  let callbackNumber: string | undefined;
  const rawNumber = str(body.callbackNumber);
  if (rawNumber !== undefined) {
    const r = parsePhone(rawNumber, 'callbackNumber', 'customer');
    if (r.ok) callbackNumber = r.e164;
    else violations.push({ code: r.code, field: 'callbackNumber', message: r.message });
  }
  const dids: Record<'callbackFrom' | 'callbackTo', string | undefined> = {
    callbackFrom: undefined,
    callbackTo: undefined,
  };
  for (const field of ['callbackFrom', 'callbackTo'] as const) {
    const raw = str(body[field]);
    if (raw === undefined) continue;
    const r = parsePhone(raw, field, 'did');
    if (r.ok) dids[field] = r.e164;
    else violations.push({ code: r.code, field, message: r.message });
  }

  // schedule time
  let scheduledMs: EpochMs | undefined;
  let timeField = 'scheduledTime';
  let timeZone: string | undefined;
  const hasInstant = body.scheduledTime !== undefined;
  const hasLocal = body.scheduledLocalTime !== undefined;
  const rawZone = str(body.timeZone);
  let zoneOk = true;
  if (rawZone !== undefined) {
    timeZone = canonicalTimeZone(rawZone);
    if (!timeZone) {
      zoneOk = false;
      violations.push({
        code: ERROR_CODES.UNKNOWN_TIME_ZONE,
        field: 'timeZone',
        message: unknownTimeZoneMessage('timeZone', rawZone),
      });
    }
  }
  if (hasInstant && hasLocal) {
    violations.push({
      code: ERROR_CODES.CONFLICTING_FIELDS,
      field: 'scheduledLocalTime',
      message:
        'send either scheduledTime (an instant with offset) or scheduledLocalTime with timeZone, not both',
    });
  } else if (!hasInstant && !hasLocal) {
    violations.push({
      code: ERROR_CODES.REQUIRED,
      field: 'scheduledTime',
      message:
        'a time is required; send scheduledTime (e.g. "2024-06-15T16:00:00.000Z") or scheduledLocalTime with timeZone (e.g. "2024-06-15T12:00:00" and "America/New_York")',
    });
  } else if (hasInstant) {
    const raw = str(body.scheduledTime);
    if (raw !== undefined) {
      const r = parseInstant(raw, 'scheduledTime');
      if (r.ok) scheduledMs = r.epochMs;
      else violations.push({ code: r.error.code, field: 'scheduledTime', message: r.error.message });
    }
  } else {
    timeField = 'scheduledLocalTime';
    const raw = str(body.scheduledLocalTime);
    if (body.timeZone === undefined) {
      violations.push({
        code: ERROR_CODES.REQUIRED,
        field: 'timeZone',
        message: 'scheduledLocalTime needs timeZone, the IANA zone it is read in (e.g. "America/New_York")',
      });
    } else if (raw !== undefined && timeZone !== undefined && zoneOk) {
      const dst = (DST_POLICIES as readonly unknown[]).includes(body.dstPolicy)
        ? (body.dstPolicy as DstPolicy)
        : 'reject';
      const r = resolveLocalTime(raw, timeZone, dst, 'scheduledLocalTime');
      if (r.ok) scheduledMs = r.epochMs;
      else violations.push({ code: r.error.code, field: 'scheduledLocalTime', message: r.error.message });
    }
  }

  // queue and its policy
  const queueId = str(routing.queueId);
  const policy = queueId === undefined ? undefined : ctx.queues(queueId);
  if (queueId !== undefined && !policy) {
    violations.push({
      code: ERROR_CODES.UNKNOWN_QUEUE,
      field: 'routingData.queueId',
      message: `routingData.queueId "${queueId}" is not a configured queue; send the id of a queue callbackd is configured for (GET /api/v2/routing/queues/{queueId} shows one)`,
    });
  }
  const wrapUpCode = str(routing.wrapUpCode);
  const rawPriority =
    typeof routing.priority === 'number' && Number.isInteger(routing.priority) ? routing.priority : undefined;
  const dtmfPresent = body.dtmf !== undefined;
  const dtmf = str(body.dtmf);
  let timeout: number | undefined =
    typeof body.timeout === 'number' && Number.isInteger(body.timeout) ? body.timeout : undefined;
  const timeoutPresent = body.timeout !== undefined;
  let customerZone: { timeZone: string; source: CustomerZoneSource } | undefined;

  if (policy) {
    if (scheduledMs !== undefined) {
      if (opts.checkLeadTime) {
        const v = checkLeadTime(policy, scheduledMs, ctx.now, timeField);
        if (v) violations.push(v);
      }
      const open = checkOpenHours(policy, scheduledMs, timeField);
      if (open) violations.push(open);
      customerZone = resolveCustomerTimeZone(policy, timeZone, callbackNumber);
      const window = checkCallingWindow(policy, scheduledMs, customerZone.timeZone, timeField);
      if (window) violations.push(window);
    }
    const wrap = checkWrapUpCode(policy, wrapUpCode);
    if (wrap) violations.push(wrap);
    if (!dtmfPresent || dtmf !== undefined) {
      const v = checkDtmf(policy, dtmf);
      if (v) violations.push(v);
    }
    violations.push(...checkDids(policy, dids.callbackFrom, dids.callbackTo));
    if (!timeoutPresent || timeout !== undefined) {
      const t = checkTimeout(policy, timeout);
      timeout = t.timeout;
      if (t.violation) violations.push(t.violation);
    }
  }

  // trusted record (toll-fraud guard)
  if (ctx.trustedNumbers === null) {
    const ext = str(customer.externalId);
    violations.push({
      code: ERROR_CODES.CUSTOMER_NOT_FOUND,
      field: 'customerData.externalId',
      message:
        ext === undefined
          ? 'no customer record can be found without customerData.externalId; send the externalId of a known customer'
          : `no customer record has externalId "${ext}"; send the externalId of a known customer`,
    });
  } else if (ctx.trustedNumbers !== undefined && callbackNumber !== undefined) {
    const trusted = ctx.trustedNumbers.map((n) => normalisePhone(n) ?? n);
    if (!trusted.includes(callbackNumber)) {
      violations.push({
        code: ERROR_CODES.NUMBER_NOT_TRUSTED,
        field: 'callbackNumber',
        message: `${maskPhone(callbackNumber)} is not on the customer's trusted record, so it will not be dialled; send a number the customer's record holds`,
      });
    }
  }

  // callbackId derivation
  let callbackId = opts.fixedCallbackId ?? sentId;
  let derived = false;
  const externalIdPresent = customer.externalId !== undefined;
  const externalId = str(customer.externalId);
  if (
    callbackId === undefined &&
    body.callbackId === undefined &&
    (!externalIdPresent || externalId !== undefined)
  ) {
    // Whether the externalId can make an id does not depend on the time, so it is reported
    // even when the time itself was refused.
    const r = deriveCallbackId(externalId, scheduledMs ?? 0);
    if (!r.ok) violations.push({ code: r.code, field: 'callbackId', message: r.message });
    else if (scheduledMs !== undefined) {
      callbackId = r.callbackId;
      derived = true;
    }
  }

  if (violations.length > 0 || opts.shapeInvalid) return { ok: false, violations };

  // Every field below was checked above; an undefined here would be a bug in this function.
  if (
    callbackId === undefined ||
    callbackNumber === undefined ||
    dids.callbackFrom === undefined ||
    dids.callbackTo === undefined ||
    scheduledMs === undefined ||
    policy === undefined ||
    queueId === undefined ||
    timeout === undefined ||
    customerZone === undefined
  ) {
    throw new Error('validateCallbackRequest: a checked field is missing without a violation');
  }

  const customerData: CustomerData = {};
  for (const [key, value] of Object.entries(customer)) {
    if (typeof value === 'string') customerData[key] = value;
  }
  const spec: CallbackSpec = {
    callbackId,
    callbackNumber,
    callbackFrom: dids.callbackFrom,
    callbackTo: dids.callbackTo,
    scheduledTime: new Date(scheduledMs).toISOString(),
    ...(timeZone !== undefined ? { timeZone } : {}),
    timeout,
    routingData: {
      queueId,
      priority: resolvePriority(policy, rawPriority),
      ...(wrapUpCode !== undefined ? { wrapUpCode } : {}),
    },
    mediaType: 'voice',
    customerData,
    ...(dtmf !== undefined ? { dtmf } : {}),
  };
  return {
    ok: true,
    spec,
    details: {
      scheduledEpochMs: scheduledMs,
      customerTimeZone: customerZone.timeZone,
      customerTimeZoneSource: customerZone.source,
      callbackIdDerived: derived,
    },
  };
}

/**
 * Validate a POST body. Returns the normalised spec (E.164 numbers, canonical UTC time, default
 * priority and timeout, derived callbackId) or every violation found.
 */
export function validateCallbackRequest(body: unknown, ctx: ValidationContext): ValidationResult {
  const shape = CallbackRequestBodySchema.safeParse(body, { reportInput: true });
  const violations = shape.success ? [] : violationsFromIssues(shape.error.issues);
  if (!isRecord(body)) {
    return {
      ok: false,
      violations: violations.length
        ? violations
        : [{ code: ERROR_CODES.INVALID_TYPE, field: 'body', message: 'the body must be a JSON object' }],
    };
  }
  const domain = validateDomain(body, ctx, { checkLeadTime: true, shapeInvalid: violations.length > 0 });
  return mergeResults(violations, domain);
}

/**
 * Validate a PATCH body against the stored spec: a new time and/or number, re-validated
 * against the queue policy. Lead-time rules apply only when the time changes. A
 * scheduledLocalTime without timeZone is read in the callback's existing timeZone.
 */
export function validateReschedule(
  patchBody: unknown,
  existing: CallbackSpec,
  ctx: ValidationContext,
): ValidationResult {
  const shape = RescheduleBodySchema.safeParse(patchBody, { reportInput: true });
  const violations = shape.success ? [] : violationsFromIssues(shape.error.issues);
  if (!isRecord(patchBody)) {
    return {
      ok: false,
      violations: violations.length
        ? violations
        : [{ code: ERROR_CODES.INVALID_TYPE, field: 'body', message: 'the body must be a JSON object' }],
    };
  }
  const changesTime = patchBody.scheduledTime !== undefined || patchBody.scheduledLocalTime !== undefined;
  const changesNumber = patchBody.callbackNumber !== undefined;
  if (!changesTime && !changesNumber) {
    violations.push({
      code: ERROR_CODES.REQUIRED,
      field: 'body',
      message:
        'nothing to change; send scheduledTime, scheduledLocalTime (with timeZone) and/or callbackNumber',
    });
    return { ok: false, violations };
  }
  const merged: Raw = { ...(existing as unknown as Raw) };
  if (changesTime) {
    delete merged.scheduledTime;
    for (const key of ['scheduledTime', 'scheduledLocalTime', 'timeZone', 'dstPolicy'] as const) {
      if (patchBody[key] !== undefined) merged[key] = patchBody[key];
    }
  } else if (patchBody.timeZone !== undefined) {
    // A zone alone changes the customer's calling-window zone, not the instant.
    merged.timeZone = patchBody.timeZone;
  }
  if (changesNumber) merged.callbackNumber = patchBody.callbackNumber;
  const domain = validateDomain(merged, ctx, {
    checkLeadTime: changesTime,
    fixedCallbackId: existing.callbackId,
    shapeInvalid: violations.length > 0,
  });
  return mergeResults(violations, domain);
}

function mergeResults(shapeViolations: Violation[], domain: ValidationResult): ValidationResult {
  if (shapeViolations.length === 0) return domain;
  const seen = new Set(shapeViolations.map((v) => `${v.code}\u0000${v.field}`));
  const extra = domain.ok ? [] : domain.violations.filter((v) => !seen.has(`${v.code}\u0000${v.field}`));
  return { ok: false, violations: [...shapeViolations, ...extra] };
}
