/** The zod schemas of the supervisor dashboard's API (sessions, stats, overview, stream, dead letters). */
import { z } from 'zod';
import { STATS_BUCKETS } from '../domain/stats.js';
import { CALLBACK_STATUSES, SCOPES } from '../domain/types.js';
import { SORT_COLUMNS } from '../ledger/dashboard-queries.js';
import { ReasonSchema } from './schemas.js';

const isoInstant = z.string().describe('UTC instant, YYYY-MM-DDTHH:mm:ss.sssZ');
const StatusSchema = z.enum(CALLBACK_STATUSES);
const countsByStatus = z.record(z.string(), z.number().int()).describe('Callbacks per status');
const wholeNumber = (max: number) =>
  z
    .string()
    .regex(/^\d{1,6}$/)
    .refine((v) => Number(v) <= max, `at most ${max}`);

export const SessionBodySchema = z
  .object({ apiKey: z.string().min(1).max(200).describe('A live API key (cbk_…), sent once') })
  .strict();

export const SessionSchema = z
  .object({
    tenantId: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    keyName: z.string(),
    expiresAt: isoInstant,
  })
  .meta({ id: 'Session' });

export const StatsQuerySchema = z
  .object({
    from: z.string().describe('Scheduled at or after this ISO 8601 instant'),
    to: z.string().describe('Scheduled before this ISO 8601 instant'),
    bucket: z
      .enum(STATS_BUCKETS)
      .optional()
      .describe("Bucket size (default 1h); hours and days follow the queue's time zone"),
    withinMinutes: wholeNumber(240)
      .optional()
      .describe('Promise window N: kept when first dialled at most N minutes after the scheduled time'),
  })
  .strict();

const FiguresFields = {
  counts: countsByStatus,
  due: z.number().int().describe('Callbacks (not cancelled) whose promise window has ended'),
  kept: z.number().int().describe('Of those, first dialled within the window'),
  keptShare: z.number().nullable().describe('kept / due; null when nothing was due'),
  expiredByReason: z.record(z.string(), z.number().int()),
  rejectedByReason: z.record(z.string(), z.number().int()),
  completions: z.number().int(),
  attemptsPerCompletion: z.number().nullable().describe('Platform submissions per completed callback'),
};

export const QueueStatsSchema = z
  .object({
    queueId: z.string(),
    name: z.string(),
    timeZone: z.string(),
    from: isoInstant,
    to: isoInstant,
    bucket: z.enum(STATS_BUCKETS),
    withinMinutes: z.number().int(),
    totals: z.object(FiguresFields),
    buckets: z.array(z.object({ start: isoInstant, ...FiguresFields })),
  })
  .meta({ id: 'QueueStats' });

export const QueueListSchema = z
  .object({
    items: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        timeZone: z.string(),
        maxCallbacks: z.number().int(),
      }),
    ),
  })
  .meta({ id: 'QueueList' });

export const OverviewQuerySchema = z
  .object({ hours: wholeNumber(48).optional().describe('Hours of slot timeline ahead (default 4)') })
  .strict();

export const OverviewSchema = z
  .object({
    now: isoInstant,
    queues: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        timeZone: z.string(),
        open: countsByStatus.describe('Accepted and pending callbacks now'),
        todayFrom: isoInstant.describe("Start of today in the queue's zone"),
        todayTo: isoInstant.describe("Start of tomorrow in the queue's zone"),
        today: countsByStatus.describe("Callbacks scheduled today (the queue's day), by status"),
        slots: z
          .array(
            z.object({
              start: isoInstant,
              booked: z.number().int(),
              capacity: z
                .number()
                .int()
                .nullable()
                .describe('Callbacks the slot can take, when the queue says'),
            }),
          )
          .describe('Open callbacks per 15-minute slot from the current slot on'),
        maxCallbacks: z.number().int().describe('Waiting callbacks the platform queue holds'),
      }),
    ),
    platform: z.object({
      requestsPerMinute: z.number().int().describe('genesys.requestsPerMinute'),
      callsLastMinute: z.number().int(),
      callsLastHour: z.number().int(),
      throttledLastMinute: z.number().int().describe('429 answers retried'),
      throttledLastHour: z.number().int(),
      retriesLastMinute: z.number().int(),
    }),
    submitBacklog: z.object({
      waiting: z.number().int().describe('Accepted callbacks not yet created on the platform'),
      due: z.number().int().describe('Submit jobs due now'),
    }),
    deadLetters: z.number().int(),
  })
  .meta({ id: 'Overview' });

export const SearchQuerySchema = z
  .object({
    status: StatusSchema.optional(),
    queueId: z.string().min(1).max(128).optional(),
    from: z.string().optional().describe('Scheduled at or after this ISO 8601 instant'),
    to: z.string().optional().describe('Scheduled before this ISO 8601 instant'),
    externalId: z.string().min(1).max(128).optional().describe('customerData.externalId, exact'),
    callbackId: z.string().min(1).max(128).optional().describe('Part of the callback id'),
    sort: z
      .enum(Object.keys(SORT_COLUMNS).flatMap((k) => [k, `-${k}`]) as [string, ...string[]])
      .optional()
      .describe('Sort key; a leading - sorts descending (default -scheduledTime)'),
    offset: wholeNumber(1_000_000).optional(),
    limit: wholeNumber(200).optional().describe('1-200, default 25'),
  })
  .strict();

export const SearchResultSchema = z
  .object({
    total: z.number().int(),
    offset: z.number().int(),
    items: z.array(
      z.object({
        callbackId: z.string(),
        queueId: z.string(),
        queueName: z.string(),
        status: StatusSchema,
        reasonCode: z.string().nullable(),
        callbackNumber: z.string().describe('Masked to the last 4 digits'),
        externalId: z.string().nullable(),
        customerName: z.string().nullable(),
        conversationId: z.string().nullable(),
        attempts: z.number().int(),
        scheduledTime: isoInstant,
        updatedAt: isoInstant,
      }),
    ),
  })
  .meta({ id: 'CallbackSearch' });

export const TransitionSchema = z
  .object({
    id: z.number().int().describe('Monotonic; the SSE event id'),
    callbackId: z.string(),
    queueId: z.string(),
    status: StatusSchema,
    reason: ReasonSchema.nullable(),
    at: isoInstant,
  })
  .meta({ id: 'Transition' });

export const TransitionsQuerySchema = z
  .object({
    after: z
      .string()
      .regex(/^\d{1,15}$/)
      .optional()
      .describe('Only transitions with a larger id; absent: none, just the current lastId to start from'),
    limit: wholeNumber(500).optional().describe('1-500, default 200'),
  })
  .strict();

export const TransitionPageSchema = z
  .object({
    items: z.array(TransitionSchema),
    lastId: z.number().int().describe('Pass as `after` next time'),
  })
  .meta({ id: 'TransitionPage' });

export const DeadLettersQuerySchema = z
  .object({ limit: wholeNumber(500).optional().describe('1-500, default 100') })
  .strict();

export const DeadLetterListSchema = z
  .object({
    total: z.number().int(),
    items: z.array(
      z.object({
        eventId: z.string(),
        channel: z.string(),
        eventType: z.string(),
        callbackId: z.string(),
        attempts: z.number().int(),
        createdAt: isoInstant,
        deadAt: isoInstant,
        lastError: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'DeadLetterList' });

export const EventIdParamsSchema = z.object({ eventId: z.string().describe('The delivery event id') });

export const DeadLetterRetrySchema = z
  .object({ eventId: z.string(), nextAttemptAt: isoInstant })
  .meta({ id: 'DeadLetterRetry' });
