/** Routes of booking (issue 14): the bookable slots of a queue and slot holds. */
import { z } from 'zod';
import {
  type BookingDeps,
  BookingError,
  type BookingProblem,
  HoldBodySchema,
  holdSlot,
  listSlots,
  SlotsQuerySchema,
} from '../usecases/booking.js';
import { ApiError } from './problem.js';
import type { RouteSpec } from './route.js';
import { QueueIdParamsSchema } from './schemas.js';

const SlotSchema = z.object({
  start: z.string().describe('UTC instant the slot starts'),
  end: z.string().describe('UTC instant the slot ends (the next one starts)'),
  localStart: z.string().describe('The start on the wall clock of timeZone, with its offset'),
  remaining: z.number().int().nullable().describe('Free units; null when the queue sets no capacity'),
});

const SlotsAnswerSchema = z
  .object({
    queueId: z.string(),
    timeZone: z.string().describe('The customer zone the calling window was read in'),
    slots: z.array(SlotSchema),
  })
  .meta({ title: 'Slots' });

const HoldAnswerSchema = z
  .object({ holdId: z.string(), start: z.string(), end: z.string(), expiresAt: z.string() })
  .meta({ title: 'SlotHold' });

export function bookingApiError(problem: BookingProblem): ApiError {
  return new ApiError(problem.status, problem.violations, undefined, {}, problem.extensions ?? {});
}

async function answering<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof BookingError) throw bookingApiError(err.problem);
    throw err;
  }
}

const SLOTS = '/api/v2/routing/queues/{queueId}/slots';

export function bookingRoutes(deps: BookingDeps): RouteSpec[] {
  return [
    {
      method: 'GET',
      path: SLOTS,
      operationId: 'listSlots',
      summary: 'The slots a callback could be booked into now',
      description:
        "Every time rule (lead limits, open hours, closures, the customer's calling window) and the per-slot capacity, " +
        'between from and to (at most 31 days).',
      tags: ['queues'],
      scope: 'routing:callback:view',
      usesLedger: true,
      params: QueueIdParamsSchema,
      query: SlotsQuerySchema,
      responses: {
        200: { description: 'The bookable slots in order', schema: SlotsAnswerSchema },
        404: { description: 'UNKNOWN_QUEUE' },
      },
      handler: (req) =>
        answering(() =>
          listSlots(deps, (req.params as { queueId: string }).queueId, SlotsQuerySchema.parse(req.query)),
        ),
    },
    {
      method: 'POST',
      path: `${SLOTS}/holds`,
      operationId: 'holdSlot',
      summary: 'Reserve one unit of a slot while a customer fills in a form',
      description:
        'The hold counts against the slot until it expires (the queue’s slots.holdSeconds, default 300) or a POST ' +
        'of a callback with its slotHoldId books it.',
      tags: ['queues'],
      scope: 'routing:callback:create',
      usesLedger: true,
      params: QueueIdParamsSchema,
      body: HoldBodySchema,
      responses: {
        201: { description: 'Held', schema: HoldAnswerSchema },
        404: { description: 'UNKNOWN_QUEUE' },
        409: { description: 'SLOT_FULL, with the nearest free slots in alternatives[]' },
      },
      handler: async (req, reply) => {
        const { queueId } = req.params as { queueId: string };
        const hold = await answering(() =>
          holdSlot(deps, req.apiKey!.tenantId, queueId, HoldBodySchema.parse(req.body)),
        );
        reply.code(201);
        return hold;
      },
    },
  ];
}
