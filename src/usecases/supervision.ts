/**
 * The supervisor's use cases: a queue's figures (promise kept), the overview of every queue, and
 * putting a dead-letter delivery back in the queue. They read the ledger through the dashboard's
 * query functions and answer domain results; src/api maps them to HTTP.
 */
import { Temporal } from 'temporal-polyfill';
import type { QueuePolicy } from '../domain/policy.js';
import { foldStats, type StatsBucket, type StatsBucketFigures, type StatsFigures } from '../domain/stats.js';
import type { Clock, EpochMs } from '../domain/types.js';
import {
  countByQueueAndStatus,
  countDeadLetters,
  type DashboardLedger,
  openPerSlot,
  outcomeGroups,
  type QueueStatusCount,
  retryDeadLetter,
  SLOT_MS,
  submitBacklog,
} from '../ledger/dashboard-queries.js';

export interface SupervisedQueue {
  name: string;
  policy: QueuePolicy;
}

export interface SupervisionDeps {
  ledger: DashboardLedger;
  clock: Clock;
  queues: ReadonlyMap<string, SupervisedQueue>;
}

export const zoneOf = (policy: QueuePolicy): string => policy.openHours.timeZone;

export interface QueueStats {
  timeZone: string;
  withinMinutes: number;
  totals: StatsFigures;
  buckets: StatsBucketFigures[];
}

/** Figures over the callbacks of one queue scheduled in [from, to); null when the queue is not configured. */
export async function queueStats(
  deps: SupervisionDeps,
  tenantId: string,
  queueId: string,
  range: { from: EpochMs; to: EpochMs; bucket: StatsBucket; withinMinutes: number },
): Promise<QueueStats | null> {
  const queue = deps.queues.get(queueId);
  if (!queue) return null;
  const timeZone = zoneOf(queue.policy);
  const groups = await outcomeGroups(
    deps.ledger,
    tenantId,
    queueId,
    range.from,
    range.to,
    range.withinMinutes * 60_000,
    deps.clock.now(),
  );
  return {
    timeZone,
    withinMinutes: range.withinMinutes,
    ...foldStats(groups, { from: range.from, to: range.to, bucket: range.bucket, timeZone }),
  };
}

/** The queue's per-slot capacity, when it has one and its slots are the timeline's 15 minutes. */
function slotCapacity(policy: QueuePolicy): number | null {
  const slots = policy.slots;
  return slots?.capacity !== undefined && slots.minutes * 60_000 === SLOT_MS ? slots.capacity : null;
}

function countsOf(rows: QueueStatusCount[], queueId: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) if (r.queueId === queueId) out[r.status] = (out[r.status] ?? 0) + r.count;
  return out;
}

export interface QueueOverview {
  id: string;
  name: string;
  timeZone: string;
  open: Record<string, number>;
  todayFrom: EpochMs;
  todayTo: EpochMs;
  today: Record<string, number>;
  slots: { start: EpochMs; booked: number; capacity: number | null }[];
  maxCallbacks: number;
}

/** Per queue: open callbacks, today's (the queue's day) by status, and the next hours' 15-minute slots. */
export async function overview(
  deps: SupervisionDeps,
  tenantId: string,
  hoursAhead: number,
): Promise<{
  now: EpochMs;
  queues: QueueOverview[];
  submitBacklog: { waiting: number; due: number };
  deadLetters: number;
}> {
  const now = deps.clock.now();
  const slotFrom = Math.floor(now / SLOT_MS) * SLOT_MS;
  const slotTo = slotFrom + Math.max(1, hoursAhead) * 3_600_000;
  const [open, perSlot, backlog, dead] = await Promise.all([
    countByQueueAndStatus(deps.ledger, tenantId, null, ['accepted', 'pending']),
    openPerSlot(deps.ledger, tenantId, slotFrom, slotTo),
    submitBacklog(deps.ledger, tenantId, now),
    countDeadLetters(deps.ledger, tenantId),
  ]);
  const queues = await Promise.all(
    [...deps.queues].map(async ([id, q]): Promise<QueueOverview> => {
      const timeZone = zoneOf(q.policy);
      const dayStart = Temporal.Instant.fromEpochMilliseconds(now).toZonedDateTimeISO(timeZone).startOfDay();
      const todayFrom = dayStart.epochMilliseconds;
      const todayTo = dayStart.add({ days: 1 }).epochMilliseconds;
      const today = await countByQueueAndStatus(deps.ledger, tenantId, { from: todayFrom, to: todayTo });
      const booked = new Map(perSlot.filter((s) => s.queueId === id).map((s) => [s.slotStart, s.count]));
      const capacity = slotCapacity(q.policy);
      const slots = [];
      for (let s = slotFrom; s < slotTo; s += SLOT_MS)
        slots.push({ start: s, booked: booked.get(s) ?? 0, capacity });
      return {
        id,
        name: q.name,
        timeZone,
        open: countsOf(open, id),
        todayFrom,
        todayTo,
        today: countsOf(today, id),
        slots,
        maxCallbacks: q.policy.maxCallbacks,
      };
    }),
  );
  return { now, queues, submitBacklog: backlog, deadLetters: dead };
}

export type RetryOutcome =
  | { ok: true; nextAttemptAt: EpochMs }
  | { ok: false; refusal: 'not_found' | 'not_dead' };

/** Puts a dead letter back in the delivery queue, due now, with a fresh set of attempts. */
export async function retryDeadLetterDelivery(
  deps: SupervisionDeps,
  tenantId: string,
  eventId: string,
): Promise<RetryOutcome> {
  const now = deps.clock.now();
  const r = await retryDeadLetter(deps.ledger, tenantId, eventId, now);
  if (r === 'retried') return { ok: true, nextAttemptAt: now };
  return { ok: false, refusal: r === 'not-found' ? 'not_found' : 'not_dead' };
}
