/**
 * The accept use case (POST /api/v2/routing/callbacks): validate, then accept exactly once per
 * (tenant, callbackId). It answers domain outcomes; src/api maps them to HTTP.
 *
 * Idempotency: the ledger's accept is atomic per (tenant, callbackId), so concurrent identical
 * requests produce one row and the same answer. A replay that arrives after its time has become
 * too near (or past) would fail the lead-time rule; it is still answered as the replay it is by
 * re-validating against the clock reading the original was accepted at.
 */

import {
  TrustedLookupUnavailableError,
  type TrustedNumberLookup,
  trustedNumbersFor,
} from '../adapters/customers.js';
import { deriveCallbackId } from '../domain/callback-id.js';
import { ERROR_CODES } from '../domain/errors.js';
import { fingerprintSpec } from '../domain/fingerprint.js';
import type { QueuePolicy } from '../domain/policy.js';
import { type DstPolicy, parseInstant, resolveLocalTime } from '../domain/time.js';
import type { CallbackSpec, Clock, Violation } from '../domain/types.js';
import { validateCallbackRequest } from '../domain/validate.js';
import { acceptedOutbox, type EventChannel } from '../ledger/events.js';
import type { AcceptInput, CallbackWithHistory, Store } from '../ledger/port.js';
import { type BookingProblem, bookingClaimFor, bookingRefusalProblem } from './booking.js';
import type { EditOutcome } from './result.js';

export interface IntakeDeps {
  store: Store;
  clock: Clock;
  policies: (queueId: string) => QueuePolicy | undefined;
  trusted: TrustedNumberLookup;
  channels: readonly EventChannel[];
  /** perCustomer one + `replaceActive: true`: reschedule the customer's active callback instead. */
  replaceActive?: (
    tenantId: string,
    callbackId: string,
    patch: Record<string, unknown>,
  ) => Promise<EditOutcome>;
}

export type IntakeAnswer =
  | { outcome: 'created' | 'replayed'; callback: CallbackWithHistory }
  | { outcome: 'refused'; violations: Violation[] }
  | { outcome: 'conflict'; violations: Violation[] }
  /** The customer's trusted record could not be checked: nothing was accepted, repeat later. */
  | { outcome: 'unavailable'; violations: Violation[] }
  /** Slot capacity, a hold or perCustomer refused it (409 / 400). */
  | { outcome: 'booking-refused'; problem: BookingProblem }
  /** replaceActive: the customer's active callback was moved instead. */
  | { outcome: 'replaced'; edit: EditOutcome };

type Raw = Record<string, unknown>;
const isRecord = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The fields in which two specs differ, as request field paths (values never quoted: they may be numbers). */
export function differingFields(a: CallbackSpec, b: CallbackSpec): string[] {
  const flat = (spec: CallbackSpec): Map<string, string> => {
    const out = new Map<string, string>();
    const walk = (value: unknown, path: string) => {
      if (isRecord(value)) for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k);
      else if (value !== undefined) out.set(path, JSON.stringify(value));
    };
    walk(spec, '');
    return out;
  };
  const fa = flat(a);
  const fb = flat(b);
  const fields = new Set([...fa.keys(), ...fb.keys()]);
  return [...fields].filter((f) => fa.get(f) !== fb.get(f)).sort();
}

function conflictViolations(stored: CallbackWithHistory, spec: CallbackSpec): Violation[] {
  const fields = differingFields(stored.spec, spec);
  const advice =
    'send the original parameters to get the original answer, or use a new callbackId for a new callback';
  if (fields.length === 0) {
    return [
      {
        code: ERROR_CODES.CALLBACK_ID_CONFLICT,
        field: 'callbackId',
        message: `callbackId "${spec.callbackId}" was first accepted with other parameters (it has been changed since); ${advice}`,
      },
    ];
  }
  return fields.map((field) => ({
    code: ERROR_CODES.CALLBACK_ID_CONFLICT,
    field,
    message: `callbackId "${spec.callbackId}" was first accepted with a different ${field}; ${advice}`,
  }));
}

/** The callbackId a body names or derives, when it can be told without the clock. */
function callbackIdOf(body: Raw): string | undefined {
  if (typeof body.callbackId === 'string') return body.callbackId;
  const customer = isRecord(body.customerData) ? body.customerData : {};
  const externalId = typeof customer.externalId === 'string' ? customer.externalId : undefined;
  let when: number | undefined;
  if (typeof body.scheduledTime === 'string') {
    const r = parseInstant(body.scheduledTime);
    if (r.ok) when = r.epochMs;
  } else if (typeof body.scheduledLocalTime === 'string' && typeof body.timeZone === 'string') {
    const dst = (['earlier', 'later', 'reject'] as unknown[]).includes(body.dstPolicy)
      ? (body.dstPolicy as DstPolicy)
      : 'reject';
    const r = resolveLocalTime(body.scheduledLocalTime, body.timeZone, dst);
    if (r.ok) when = r.epochMs;
  }
  if (when === undefined) return undefined;
  const id = deriveCallbackId(externalId, when);
  return id.ok ? id.callbackId : undefined;
}

const LATE_REPLAY_CODES: ReadonlySet<string> = new Set([
  ERROR_CODES.SCHEDULED_TIME_IN_PAST,
  ERROR_CODES.SCHEDULED_TIME_TOO_SOON,
]);

export async function acceptCallback(
  deps: IntakeDeps,
  tenantId: string,
  body: unknown,
): Promise<IntakeAnswer> {
  const now = deps.clock.now();
  let trusted: readonly string[] | null | undefined;
  if (isRecord(body)) {
    const externalId = isRecord(body.customerData) ? body.customerData.externalId : undefined;
    try {
      trusted = await trustedNumbersFor(
        deps.trusted,
        tenantId,
        typeof externalId === 'string' ? externalId : undefined,
      );
    } catch (err) {
      if (!(err instanceof TrustedLookupUnavailableError)) throw err;
      const message = `The customer's trusted record could not be checked (${err.message}); nothing was accepted, retry the same request later.`;
      return {
        outcome: 'unavailable',
        violations: [{ code: err.code, field: 'customerData.externalId', message }],
      };
    }
  }
  const ctx = { now, queues: deps.policies, ...(trusted === undefined ? {} : { trustedNumbers: trusted }) };
  const result = validateCallbackRequest(body, ctx);

  if (!result.ok) {
    // Only a lead-time refusal can be a late replay of a request that was valid when first sent.
    if (isRecord(body) && result.violations.every((v) => LATE_REPLAY_CODES.has(v.code))) {
      const id = callbackIdOf(body);
      const stored = id === undefined ? undefined : await deps.store.get(tenantId, id);
      if (stored) {
        const then = validateCallbackRequest(body, { ...ctx, now: stored.createdAt });
        if (then.ok && fingerprintSpec(then.spec) === stored.fingerprint)
          return { outcome: 'replayed', callback: stored };
      }
    }
    return { outcome: 'refused', violations: result.violations };
  }

  const spec = result.spec;
  const draft: AcceptInput = {
    tenantId,
    spec,
    fingerprint: fingerprintSpec(spec),
    at: now,
    outbox: acceptedOutbox(tenantId, spec, now, deps.channels),
  };
  const raw = body as Raw;
  const policy = deps.policies(spec.routingData.queueId);
  const claim = policy && bookingClaimFor(policy, spec, str(raw.slotHoldId));
  const outcome = claim
    ? await deps.store.acceptBooked({ ...draft, booking: claim })
    : await deps.store.accept(draft);
  if (outcome.outcome === 'refused') {
    const { refusal } = outcome;
    if (refusal.kind === 'activeExists' && raw.replaceActive === true && deps.replaceActive) {
      const patch = { scheduledTime: spec.scheduledTime, callbackNumber: spec.callbackNumber };
      return { outcome: 'replaced', edit: await deps.replaceActive(tenantId, refusal.callbackId, patch) };
    }
    const problem = await bookingRefusalProblem(deps, spec, result.details.customerTimeZone, refusal);
    return { outcome: 'booking-refused', problem };
  }
  if (outcome.outcome === 'conflict')
    return { outcome: 'conflict', violations: conflictViolations(outcome.callback, spec) };
  return outcome;
}
