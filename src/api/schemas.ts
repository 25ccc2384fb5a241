/**
 * The zod schemas of what the API sends and the query strings it reads. Routes parse with them and
 * /openapi.json is generated from them, so the document cannot drift from the code.
 */
import { z } from 'zod';
import { LIMITS } from '../domain/limits.js';
import { CALLBACK_STATUSES } from '../domain/types.js';

const isoInstant = z.string().describe('UTC instant, YYYY-MM-DDTHH:mm:ss.sssZ');

export const ViolationSchema = z
  .object({
    code: z.string().describe('Stable error code clients can branch on'),
    field: z.string().describe('The field the problem concerns (dotted path; empty for the whole body)'),
    message: z.string().describe('What is wrong and what to send instead'),
  })
  .meta({ id: 'Violation' });

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z.array(ViolationSchema),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details (application/problem+json)' });

export const ReasonSchema = z.object({ code: z.string(), message: z.string() }).meta({ id: 'Reason' });

const StatusSchema = z.enum(CALLBACK_STATUSES).meta({ id: 'CallbackStatus' });

export const HistoryEntrySchema = z
  .object({ status: StatusSchema, at: isoInstant, reason: ReasonSchema.nullable() })
  .meta({ id: 'HistoryEntry' });

const CallbackFields = {
  callbackId: z.string(),
  callbackNumber: z.string().describe('E.164'),
  callbackFrom: z.string().describe('E.164 DID'),
  callbackTo: z.string().describe('E.164 DID'),
  scheduledTime: isoInstant,
  timeZone: z.string().optional().describe("The customer's IANA zone when the request named one"),
  timeout: z.number().int().describe('Seconds to wait for answer and DTMF'),
  routingData: z.object({
    queueId: z.string(),
    priority: z.number().int(),
    wrapUpCode: z.string().optional(),
  }),
  mediaType: z.literal('voice'),
  customerData: z.record(z.string(), z.string()),
  dtmf: z.string().optional(),
  status: StatusSchema,
  statusReason: ReasonSchema.nullable(),
  conversationId: z.string().nullable().describe('The Genesys Cloud conversation id once known'),
  attempts: z.number().int(),
  nextAttemptAt: isoInstant.nullable(),
  createdAt: isoInstant,
  updatedAt: isoInstant,
};

export const CallbackResourceSchema = z
  .object({ ...CallbackFields, history: z.array(HistoryEntrySchema) })
  .meta({ id: 'Callback' });

export const CallbackSummarySchema = z
  .object(CallbackFields)
  .meta({ id: 'CallbackSummary', description: 'A callback without its history (GET one callback for it)' });

export const CallbackListSchema = z
  .object({
    items: z.array(CallbackSummarySchema),
    nextCursor: z
      .string()
      .nullable()
      .describe('Pass as `cursor` to get the next page; null on the last page'),
  })
  .meta({ id: 'CallbackList' });

export const ListQuerySchema = z
  .object({
    status: StatusSchema.optional(),
    queueId: z.string().min(1).max(128).optional(),
    from: z.string().optional().describe('Scheduled at or after this ISO 8601 instant'),
    to: z.string().optional().describe('Scheduled before this ISO 8601 instant'),
    cursor: z.string().max(512).optional().describe('Opaque; from the previous page'),
    limit: z
      .string()
      .regex(/^\d{1,4}$/)
      .optional()
      .describe(`Page size, 1-${LIMITS.listMaxLimit}, default ${LIMITS.listDefaultLimit}`),
  })
  .strict();

export const CallbackIdParamsSchema = z.object({
  callbackId: z.string().describe('The callbackId given or derived at creation'),
});

export const QueueIdParamsSchema = z.object({ queueId: z.string() });

export const QueueSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    policy: z.record(z.string(), z.unknown()).describe("callbackd's policy for the queue (config)"),
    capacity: z.object({
      maxCallbacks: z.number().int(),
      waiting: z.number().int().nullable().describe('Waiting callbacks on the platform; null if unknown'),
      available: z.number().int().nullable(),
      overflowQueueId: z.string().nullable(),
      observedAt: isoInstant,
      error: z.string().nullable().describe('Why the platform could not be asked, when it could not'),
    }),
  })
  .meta({ id: 'Queue' });

export const HealthSchema = z.object({ status: z.string() });
