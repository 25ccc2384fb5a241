/**
 * Booking use cases (issue 14): the bookable slots of a queue, slot holds, and what an accept
 * claims (slot capacity, a hold, one active callback per customer) and how a refusal reads.
 * The rules are the domain's (src/domain/slots.ts); the exact counting is the ledger's
 * (src/ledger/booking.ts, in the accept's transaction).
 */
import { z } from 'zod';
import { ERROR_CODES } from '../domain/errors.js';
import { LIMITS } from '../domain/limits.js';
import { parsePhone } from '../domain/phone.js';
import {
  checkLeadTime,
  checkOpenHours,
  type QueuePolicy,
  resolveCustomerTimeZone,
} from '../domain/policy.js';
import {
  type BookableSlot,
  bookableSlots,
  localIsoFormatter,
  nearestFreeSlots,
  slotContaining,
  slotsBetween,
  takenPerSlot,
} from '../domain/slots.js';
import { canonicalTimeZone, formatInstant, parseInstant, unknownTimeZoneMessage } from '../domain/time.js';
import type { CallbackSpec, Clock, EpochMs, Violation } from '../domain/types.js';
import { type BookingClaim, type BookingRefusal, customerKeyOf } from '../ledger/booking.js';
import type { Store } from '../ledger/port.js';

const DAY_MS = 86_400_000;
/** How far either side of a full slot the nearest free ones are looked for. */
const ALTERNATIVES_SEARCH_MS = 7 * DAY_MS;

export interface BookingDeps {
  store: Pick<Store, 'slotUsage' | 'holdSlot'>;
  clock: Clock;
  policies: (queueId: string) => QueuePolicy | undefined;
}

/** A refusal as the API answers it. */
export interface BookingProblem {
  status: 400 | 404 | 409;
  violations: Violation[];
  extensions?: Record<string, unknown>;
}

export class BookingError extends Error {
  constructor(readonly problem: BookingProblem) {
    super(problem.violations[0]?.message ?? 'booking refused');
    this.name = 'BookingError';
  }
}

const refuse = (status: BookingProblem['status'], code: string, field: string, message: string): never => {
  throw new BookingError({ status, violations: [{ code, field, message }] });
};

export interface SlotView {
  start: string;
  end: string;
  /** The start on the wall clock of the answer's zone, with its offset. */
  localStart: string;
  remaining: number | null;
}

/** The slots as the API shows them, local starts on the wall clock of `timeZone`. */
export function slotViews(slots: readonly BookableSlot[], timeZone: string): SlotView[] {
  const local = localIsoFormatter(timeZone);
  return slots.map((slot) => ({
    start: formatInstant(slot.startMs),
    end: formatInstant(slot.endMs),
    localStart: local(slot.startMs),
    remaining: slot.remaining,
  }));
}

function policyOf(deps: BookingDeps, queueId: string): QueuePolicy {
  const policy = deps.policies(queueId);
  if (!policy) {
    refuse(
      404,
      ERROR_CODES.UNKNOWN_QUEUE,
      'queueId',
      `"${queueId}" is not a configured queue; send the id of a queue callbackd is configured for`,
    );
  }
  return policy as QueuePolicy;
}

/** The bookable slots of a queue in [fromMs, toMs), the units taken counted from the ledger. */
async function freeSlots(
  deps: BookingDeps,
  queueId: string,
  policy: QueuePolicy,
  fromMs: EpochMs,
  toMs: EpochMs,
  customerTimeZone: string,
): Promise<BookableSlot[]> {
  const now = deps.clock.now();
  let taken = new Map<EpochMs, number>();
  if (policy.slots.capacity !== undefined) {
    // Usage comes per instant; fold it into the whole slots that cover [fromMs, toMs).
    const zone = policy.openHours.timeZone;
    const first = slotContaining(zone, policy.slots.minutes, fromMs).startMs;
    const slots = slotsBetween(zone, policy.slots.minutes, first, toMs);
    const usage = await deps.store.slotUsage(queueId, first, slots.at(-1)?.endMs ?? toMs, now);
    taken = takenPerSlot(slots, [...usage.callbacks, ...usage.holds]);
  }
  return bookableSlots({ policy, nowMs: now, fromMs, toMs, customerTimeZone, taken });
}

export const SlotsQuerySchema = z.strictObject({
  from: z.string().optional().meta({ description: 'ISO 8601 instant; default now.' }),
  to: z
    .string()
    .optional()
    .meta({
      description: `ISO 8601 instant, exclusive; default from + 1 day; at most ${LIMITS.maxSlotsRangeDays} days after from.`,
    }),
  timeZone: z.string().optional().meta({
    description: "The customer's IANA zone: the calling window is read in it, and localStart shown in it.",
  }),
  callbackNumber: z.string().optional().meta({
    description: "The customer's number (E.164): its country's zone when timeZone is absent, as intake does.",
  }),
});
export type SlotsQuery = z.infer<typeof SlotsQuerySchema>;

function instantOf(value: string | undefined, field: string, fallback: EpochMs): EpochMs {
  if (value === undefined) return fallback;
  const r = parseInstant(value, field);
  if (!r.ok) return refuse(400, r.error.code, field, r.error.message);
  return r.epochMs;
}

export async function listSlots(
  deps: BookingDeps,
  queueId: string,
  query: SlotsQuery,
): Promise<{ queueId: string; timeZone: string; slots: SlotView[] }> {
  const policy = policyOf(deps, queueId);
  const now = deps.clock.now();
  const fromMs = instantOf(query.from, 'from', now);
  const toMs = instantOf(query.to, 'to', fromMs + DAY_MS);
  if (toMs <= fromMs) refuse(400, ERROR_CODES.INVALID_VALUE, 'to', 'to must be after from; send a later to');
  if (toMs - fromMs > LIMITS.maxSlotsRangeDays * DAY_MS) {
    refuse(
      400,
      ERROR_CODES.INVALID_VALUE,
      'to',
      `from–to spans more than ${LIMITS.maxSlotsRangeDays} days; ask for at most ${LIMITS.maxSlotsRangeDays} days at a time (e.g. to=${formatInstant(fromMs + LIMITS.maxSlotsRangeDays * DAY_MS)})`,
    );
  }
  let zone: string | undefined;
  if (query.timeZone !== undefined) {
    zone = canonicalTimeZone(query.timeZone);
    if (!zone)
      refuse(
        400,
        ERROR_CODES.UNKNOWN_TIME_ZONE,
        'timeZone',
        unknownTimeZoneMessage('timeZone', query.timeZone),
      );
  }
  let number: string | undefined;
  if (query.callbackNumber !== undefined) {
    const r = parsePhone(query.callbackNumber, 'callbackNumber', 'customer');
    if (!r.ok) refuse(400, r.code, 'callbackNumber', r.message);
    else number = r.e164;
  }
  const customer = resolveCustomerTimeZone(policy, zone, number);
  const slots = await freeSlots(deps, queueId, policy, fromMs, toMs, customer.timeZone);
  return { queueId, timeZone: customer.timeZone, slots: slotViews(slots, customer.timeZone) };
}

export const HoldBodySchema = z
  .strictObject({
    start: z.string().meta({
      description: 'The start of a slot, as GET …/slots lists it (ISO 8601 instant).',
      examples: ['2026-12-02T14:00:00.000Z'],
    }),
  })
  .meta({ title: 'SlotHoldRequest' });

export async function holdSlot(
  deps: BookingDeps,
  tenantId: string,
  queueId: string,
  body: z.infer<typeof HoldBodySchema>,
): Promise<{ holdId: string; start: string; end: string; expiresAt: string }> {
  const policy = policyOf(deps, queueId);
  const now = deps.clock.now();
  const startMs = instantOf(body.start, 'start', now);
  const zone = policy.openHours.timeZone;
  const slot = slotContaining(zone, policy.slots.minutes, startMs);
  if (slot.startMs !== startMs) {
    refuse(
      400,
      ERROR_CODES.INVALID_VALUE,
      'start',
      `${formatInstant(startMs)} is not the start of a slot; send a start GET /api/v2/routing/queues/${queueId}/slots lists (this one falls in the slot starting ${formatInstant(slot.startMs)})`,
    );
  }
  const ruleBroken = checkLeadTime(policy, startMs, now, 'start') ?? checkOpenHours(policy, startMs, 'start');
  if (ruleBroken) throw new BookingError({ status: 400, violations: [ruleBroken] });
  const held = await deps.store.holdSlot({
    tenantId,
    queueId,
    startMs: slot.startMs,
    endMs: slot.endMs,
    ...(policy.slots.capacity === undefined ? {} : { capacity: policy.slots.capacity }),
    at: now,
    expiresAt: now + policy.slots.holdSeconds * 1000,
  });
  if (held.outcome === 'slotFull') {
    throw new BookingError(await slotFullProblem(deps, queueId, policy, slot, held.capacity, zone, 'start'));
  }
  return {
    holdId: held.holdId,
    start: formatInstant(slot.startMs),
    end: formatInstant(slot.endMs),
    expiresAt: formatInstant(held.expiresAt),
  };
}

/** What the accept of a validated spec claims; undefined when the queue needs no booking check. */
export function bookingClaimFor(
  policy: QueuePolicy,
  spec: CallbackSpec,
  slotHoldId: string | undefined,
): BookingClaim | undefined {
  const capacity = policy.slots.capacity;
  if (policy.perCustomer === 'many' && capacity === undefined && slotHoldId === undefined) return undefined;
  const scheduledMs = Date.parse(spec.scheduledTime);
  const slot = slotContaining(policy.openHours.timeZone, policy.slots.minutes, scheduledMs);
  return {
    customerKey: customerKeyOf(spec.customerData.externalId, spec.callbackNumber),
    perCustomer: policy.perCustomer,
    slot: {
      queueId: spec.routingData.queueId,
      startMs: slot.startMs,
      endMs: slot.endMs,
      ...(capacity === undefined ? {} : { capacity }),
      ...(slotHoldId === undefined ? {} : { holdId: slotHoldId }),
    },
  };
}

async function slotFullProblem(
  deps: BookingDeps,
  queueId: string,
  policy: QueuePolicy,
  slot: { startMs: EpochMs; endMs: EpochMs },
  capacity: number,
  customerTimeZone: string,
  field: string,
): Promise<BookingProblem> {
  const around = await freeSlots(
    deps,
    queueId,
    policy,
    slot.startMs - ALTERNATIVES_SEARCH_MS,
    slot.endMs + ALTERNATIVES_SEARCH_MS,
    customerTimeZone,
  );
  const near = nearestFreeSlots(around, slot.startMs);
  const alternatives = slotViews(
    [near.before, near.after].filter((s): s is BookableSlot => s !== undefined),
    customerTimeZone,
  );
  const offer =
    alternatives.length === 0
      ? 'no slot within 7 days either side is free; ask GET …/slots for a later window'
      : `the nearest free slots start at ${alternatives.map((a) => a.start).join(' and ')}`;
  return {
    status: 409,
    violations: [
      {
        code: ERROR_CODES.SLOT_FULL,
        field,
        message: `the slot ${formatInstant(slot.startMs)}–${formatInstant(slot.endMs)} holds its ${capacity} callback${capacity === 1 ? '' : 's'} already; book another slot (${offer})`,
      },
    ],
    extensions: { alternatives },
  };
}

/**
 * Whether moving a callback to `next`'s time would overfill the slot it lands in. A count, not
 * under the accept's lock: two reschedules racing for a slot's last unit can both pass.
 */
export async function rescheduleSlotProblem(
  deps: BookingDeps,
  before: CallbackSpec,
  next: CallbackSpec,
  customerTimeZone: string,
): Promise<BookingProblem | undefined> {
  const queueId = next.routingData.queueId;
  const policy = deps.policies(queueId);
  const capacity = policy?.slots.capacity;
  if (!policy || capacity === undefined) return undefined;
  const zone = policy.openHours.timeZone;
  const slot = slotContaining(zone, policy.slots.minutes, Date.parse(next.scheduledTime));
  const was = slotContaining(zone, policy.slots.minutes, Date.parse(before.scheduledTime));
  // Moving inside its own slot takes no new unit.
  if (was.startMs === slot.startMs && before.routingData.queueId === queueId) return undefined;
  const usage = await deps.store.slotUsage(queueId, slot.startMs, slot.endMs, deps.clock.now());
  const taken = [...usage.callbacks, ...usage.holds].reduce((n, u) => n + u.count, 0);
  if (taken < capacity) return undefined;
  return slotFullProblem(deps, queueId, policy, slot, capacity, customerTimeZone, 'scheduledTime');
}

/** A refused accept as the API answers it. */
export async function bookingRefusalProblem(
  deps: BookingDeps,
  spec: CallbackSpec,
  customerTimeZone: string,
  refusal: BookingRefusal,
): Promise<BookingProblem> {
  const queueId = spec.routingData.queueId;
  const field = 'slotHoldId';
  switch (refusal.kind) {
    case 'slotFull':
      return slotFullProblem(
        deps,
        queueId,
        policyOf(deps, queueId),
        refusal,
        refusal.capacity,
        customerTimeZone,
        'scheduledTime',
      );
    case 'holdNotFound':
      return {
        status: 400,
        violations: [
          {
            code: ERROR_CODES.HOLD_NOT_FOUND,
            field,
            message: refusal.used
              ? `hold "${refusal.holdId}" was already used for another callback; hold the slot again (POST …/slots/holds) or leave slotHoldId out`
              : `no hold "${refusal.holdId}" on this queue for this tenant; send the holdId POST /api/v2/routing/queues/${queueId}/slots/holds answered, or leave slotHoldId out`,
          },
        ],
      };
    case 'holdExpired':
      return {
        status: 409,
        violations: [
          {
            code: ERROR_CODES.HOLD_EXPIRED,
            field,
            message: `hold "${refusal.holdId}" expired at ${formatInstant(refusal.expiresAt)} and its unit is free again; hold the slot again, or book without slotHoldId while it has room`,
          },
        ],
      };
    case 'holdOtherSlot':
      return {
        status: 400,
        violations: [
          {
            code: ERROR_CODES.INVALID_VALUE,
            field,
            message: `hold "${refusal.holdId}" is for the slot ${formatInstant(refusal.startMs)}–${formatInstant(refusal.endMs)}; send a scheduledTime inside it, or leave slotHoldId out`,
          },
        ],
      };
    case 'activeExists':
      return {
        status: 409,
        violations: [
          {
            code: ERROR_CODES.ACTIVE_CALLBACK_EXISTS,
            field: 'customerData.externalId',
            message: `the customer already has an active callback "${refusal.callbackId}" on this queue (it allows one per customer); send "replaceActive": true to move it to this time, or change that one with PATCH /api/v2/routing/callbacks/${refusal.callbackId}`,
          },
        ],
        extensions: { activeCallbackId: refusal.callbackId },
      };
  }
}
