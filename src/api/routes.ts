/** The route table of DESIGN.md §1: callbacks, queues, health, metrics, OpenAPI and the dashboard. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { TrustedNumberLookup } from '../adapters/customers.js';
import type { ClusterView } from '../cluster/index.js';
import { ERROR_CODES } from '../domain/errors.js';
import { LIMITS } from '../domain/limits.js';
import type { QueuePolicy } from '../domain/policy.js';
import { parseInstant } from '../domain/time.js';
import type { CallbackStatus, Clock } from '../domain/types.js';
import { CallbackRequestBodySchema, RescheduleBodySchema } from '../domain/validate.js';
import type { GenesysPort } from '../genesys/port.js';
import { DEFAULT_EVENT_CHANNELS, type EventChannel } from '../ledger/events.js';
import type { ListFilter } from '../ledger/port.js';
import { acceptCallback } from '../usecases/accept.js';
import { cancelCallback } from '../usecases/cancel.js';
import { rescheduleCallback } from '../usecases/reschedule.js';
import type { EditOutcome, EditRefusal } from '../usecases/result.js';
import { bookingApiError, bookingRoutes } from './booking-routes.js';
import { clusterRoute } from './cluster-route.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { buildOpenApi } from './openapi.js';
import { ApiError } from './problem.js';
import { callbackLocation, toResource, toSummary } from './resource.js';
import type { RouteSpec } from './route.js';
import {
  CallbackIdParamsSchema,
  CallbackListSchema,
  CallbackResourceSchema,
  HealthSchema,
  ListQuerySchema,
  QueueIdParamsSchema,
  QueueSchema,
} from './schemas.js';
import type { ServerCore } from './server.js';

export interface QueueInfo {
  name: string;
  policy: QueuePolicy;
}

export interface ApiDeps {
  clock: Clock;
  queues: ReadonlyMap<string, QueueInfo>;
  trusted: TrustedNumberLookup;
  genesys: GenesysPort;
  channels?: readonly EventChannel[];
  version: string;
  /** Folder holding index.html (the dashboard). */
  webDir: string;
  /** How long GET /queues/{id} waits for the platform's observation. */
  capacityTimeoutMs?: number;
  /** Called after a new callback was accepted (wakes the submitter so it need not wait for its poll). */
  onAccepted?: () => void;
  /** More routes served and documented alongside these (the dashboard's). */
  extraRoutes?: (core: ServerCore) => RouteSpec[];
  /** The instances on this ledger (GET /api/v2/routing/cluster). */
  cluster?: ClusterView;
}

const BASE = '/api/v2/routing/callbacks';
const ONE = `${BASE}/{callbackId}`;

/** The HTTP status of each use-case refusal (the use cases know no HTTP). */
const REFUSAL_STATUS: Readonly<Record<EditRefusal, 400 | 404 | 409 | 503>> = {
  invalid: 400,
  not_found: 404,
  invalid_state: 409,
  unconfirmed: 503,
  unavailable: 503,
  slot_full: 409,
};

function editAnswer(outcome: EditOutcome) {
  if (outcome.ok) return toResource(outcome.callback);
  const status = REFUSAL_STATUS[outcome.refusal];
  // 503s are safe to repeat: say when.
  const headers: Record<string, string> = status === 503 ? { 'retry-after': '5' } : {};
  throw new ApiError(status, outcome.errors, undefined, headers);
}

function instantParam(value: string | undefined, field: 'from' | 'to'): number | undefined {
  if (value === undefined) return undefined;
  const r = parseInstant(value, field);
  if (!r.ok) throw ApiError.one(400, r.error.code, field, r.error.message);
  return r.epochMs;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref(),
    ),
  ]);
}

export function apiRoutes(deps: ApiDeps) {
  const channels = deps.channels ?? DEFAULT_EVENT_CHANNELS;
  const policies = (queueId: string) => deps.queues.get(queueId)?.policy;
  let openapi: Record<string, unknown> | undefined;
  let dashboard: string | undefined;

  return ({ store, metrics }: ServerCore): RouteSpec[] => {
    const routes: RouteSpec[] = [
      {
        method: 'POST',
        path: BASE,
        operationId: 'createCallback',
        summary: 'Schedule a callback (idempotent per callbackId)',
        description:
          'Validates the request against the queue policy and the customer trusted record, stores it durably and answers 201. ' +
          'The same callbackId with the same parameters answers the original 201 again with Idempotent-Replayed: true; ' +
          'with different parameters 409 naming the differing fields.',
        tags: ['callbacks'],
        scope: 'routing:callback:create',
        rateLimited: true,
        usesLedger: true,
        body: CallbackRequestBodySchema,
        responses: {
          201: {
            description: 'Accepted (or the original answer replayed)',
            schema: CallbackResourceSchema,
            headers: {
              Location: 'The callback resource URL',
              'Idempotent-Replayed': '"true" when this answers an earlier identical request',
            },
          },
          200: {
            description:
              'replaceActive: the customer’s active callback (perCustomer one) was moved to this time instead',
            schema: CallbackResourceSchema,
          },
          409: {
            description:
              'CALLBACK_ID_CONFLICT: the callbackId exists with different parameters (errors[] names each differing field); ' +
              'SLOT_FULL: the slot is at capacity (alternatives[] holds the nearest free slots); HOLD_EXPIRED; ' +
              'ACTIVE_CALLBACK_EXISTS: the customer has an active callback on a perCustomer-one queue (activeCallbackId)',
          },
        },
        handler: async (req, reply) => {
          const tenantId = req.apiKey!.tenantId;
          const replaceActive = (tenant: string, callbackId: string, patch: Record<string, unknown>) =>
            rescheduleCallback(store, deps.genesys, deps.clock, tenant, callbackId, patch, {
              policies,
              trustedNumbers: deps.trusted,
              channels,
            });
          const answer = await acceptCallback(
            { store, clock: deps.clock, policies, trusted: deps.trusted, channels, replaceActive },
            tenantId,
            req.body,
          );
          if (answer.outcome === 'unavailable') {
            const [v] = answer.violations;
            throw ApiError.one(503, v!.code, v!.field, v!.message, { 'retry-after': '5' });
          }
          metrics.intake.inc({ outcome: answer.outcome });
          if (answer.outcome === 'refused') throw new ApiError(400, answer.violations);
          if (answer.outcome === 'conflict') throw new ApiError(409, answer.violations);
          if (answer.outcome === 'booking-refused') throw bookingApiError(answer.problem);
          if (answer.outcome === 'replaced') return editAnswer(answer.edit);
          if (answer.outcome === 'created') deps.onAccepted?.();
          reply.code(201).header('location', callbackLocation(answer.callback.callbackId));
          if (answer.outcome === 'replayed') reply.header('idempotent-replayed', 'true');
          return toResource(answer.callback);
        },
      },
      {
        method: 'GET',
        path: BASE,
        operationId: 'listCallbacks',
        summary: 'List callbacks, cursor-paged in creation order',
        tags: ['callbacks'],
        scope: 'routing:callback:view',
        usesLedger: true,
        query: ListQuerySchema,
        responses: {
          200: { description: 'A page of callbacks (without history)', schema: CallbackListSchema },
        },
        handler: async (req) => {
          const q = ListQuerySchema.parse(req.query);
          const filter: ListFilter = {};
          if (q.status) filter.status = q.status as CallbackStatus;
          if (q.queueId) filter.queueId = q.queueId;
          const from = instantParam(q.from, 'from');
          const to = instantParam(q.to, 'to');
          if (from !== undefined) filter.scheduledFrom = from;
          if (to !== undefined) filter.scheduledTo = to;
          const limit = q.limit === undefined ? LIMITS.listDefaultLimit : Number(q.limit);
          if (limit < 1 || limit > LIMITS.listMaxLimit) {
            throw ApiError.one(
              400,
              ERROR_CODES.INVALID_VALUE,
              'limit',
              `limit must be from 1 to ${LIMITS.listMaxLimit}`,
            );
          }
          const afterPk = q.cursor === undefined ? null : decodeCursor(q.cursor, filter);
          const page = await store.list(req.apiKey!.tenantId, filter, afterPk, limit);
          return {
            items: page.items.map(toSummary),
            nextCursor: page.nextAfterPk === null ? null : encodeCursor(page.nextAfterPk, filter),
          };
        },
      },
      {
        method: 'GET',
        path: ONE,
        operationId: 'getCallback',
        summary: 'One callback with its history',
        tags: ['callbacks'],
        scope: 'routing:callback:view',
        usesLedger: true,
        params: CallbackIdParamsSchema,
        responses: {
          200: { description: 'The callback', schema: CallbackResourceSchema },
          404: {
            description: 'No such callback for this tenant (also when another tenant has one by that id)',
          },
        },
        handler: async (req) => {
          const { callbackId } = req.params as { callbackId: string };
          const rec = await store.get(req.apiKey!.tenantId, callbackId);
          if (!rec) {
            throw ApiError.one(
              404,
              ERROR_CODES.CALLBACK_NOT_FOUND,
              'callbackId',
              `no callback "${callbackId}" for this tenant; list callbacks with GET ${BASE}`,
            );
          }
          return toResource(rec);
        },
      },
      {
        method: 'PATCH',
        path: ONE,
        operationId: 'rescheduleCallback',
        summary: 'Reschedule a callback or change its number (while accepted or pending)',
        tags: ['callbacks'],
        scope: 'routing:callback:edit',
        usesLedger: true,
        params: CallbackIdParamsSchema,
        body: RescheduleBodySchema,
        responses: {
          200: {
            description: 'The callback after the change (unchanged when the same change is repeated)',
            schema: CallbackResourceSchema,
          },
          404: { description: 'No such callback for this tenant' },
          409: {
            description:
              'INVALID_STATE: the callback is no longer accepted or pending; SLOT_FULL: the new time is in a slot at capacity',
          },
          503: {
            description: 'The ledger or the platform did not confirm; nothing changed, repeat the request',
          },
        },
        handler: async (req) => {
          const { callbackId } = req.params as { callbackId: string };
          return editAnswer(
            await rescheduleCallback(
              store,
              deps.genesys,
              deps.clock,
              req.apiKey!.tenantId,
              callbackId,
              req.body,
              {
                policies,
                trustedNumbers: deps.trusted,
                channels,
              },
            ),
          );
        },
      },
      {
        method: 'DELETE',
        path: ONE,
        operationId: 'cancelCallback',
        summary: 'Cancel a callback (safe to repeat)',
        tags: ['callbacks'],
        scope: 'routing:callback:edit',
        usesLedger: true,
        params: CallbackIdParamsSchema,
        responses: {
          200: {
            description: 'The cancelled callback (also when it was already cancelled)',
            schema: CallbackResourceSchema,
          },
          404: { description: 'No such callback for this tenant' },
          409: {
            description: 'INVALID_STATE: the callback already ended otherwise (completed, expired, rejected)',
          },
          503: {
            description: 'The ledger or the platform did not confirm; nothing changed, repeat the request',
          },
        },
        handler: async (req) => {
          const { callbackId } = req.params as { callbackId: string };
          return editAnswer(
            await cancelCallback(store, deps.genesys, deps.clock, req.apiKey!.tenantId, callbackId, {
              channels,
            }),
          );
        },
      },
      {
        method: 'GET',
        path: '/api/v2/routing/queues/{queueId}',
        operationId: 'getQueue',
        summary: "A queue's callback policy and live capacity",
        tags: ['queues'],
        scope: 'routing:callback:view',
        usesLedger: false,
        params: QueueIdParamsSchema,
        responses: {
          200: { description: 'Policy and capacity', schema: QueueSchema },
          404: { description: 'Not a configured queue' },
        },
        handler: async (req) => {
          const { queueId } = req.params as { queueId: string };
          const queue = deps.queues.get(queueId);
          if (!queue) {
            throw ApiError.one(
              404,
              ERROR_CODES.UNKNOWN_QUEUE,
              'queueId',
              `"${queueId}" is not a configured queue; configured queues: ${[...deps.queues.keys()].join(', ')}`,
            );
          }
          let waiting: number | null = null;
          let error: string | null = null;
          try {
            const obs = await withTimeout(
              deps.genesys.queueObservations([queueId]),
              deps.capacityTimeoutMs ?? 5_000,
            );
            waiting = obs.find((o) => o.queueId === queueId)?.waiting ?? 0;
          } catch (err) {
            error = `the platform could not be asked: ${(err as Error).message}`;
          }
          const max = queue.policy.maxCallbacks;
          return {
            id: queueId,
            name: queue.name,
            policy: queue.policy as unknown as Record<string, unknown>,
            capacity: {
              maxCallbacks: max,
              waiting,
              available: waiting === null ? null : Math.max(0, max - waiting),
              overflowQueueId: queue.policy.overflowQueueId ?? null,
              observedAt: new Date(deps.clock.now()).toISOString(),
              error,
            },
          };
        },
      },
      {
        method: 'GET',
        path: '/healthz',
        operationId: 'healthz',
        summary: 'Liveness: the process answers',
        tags: ['operations'],
        scope: null,
        usesLedger: false,
        responses: { 200: { description: 'Alive', schema: HealthSchema } },
        handler: async () => ({ status: 'ok' }),
      },
      {
        method: 'GET',
        path: '/readyz',
        operationId: 'readyz',
        summary: 'Readiness: the ledger answers',
        tags: ['operations'],
        scope: null,
        usesLedger: true,
        responses: { 200: { description: 'Ready', schema: HealthSchema } },
        handler: async () => {
          await store.ping();
          return { status: 'ready' };
        },
      },
      {
        method: 'GET',
        path: '/metrics',
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        tags: ['operations'],
        scope: null,
        usesLedger: false,
        responses: { 200: { description: 'Prometheus text exposition format', contentType: 'text/plain' } },
        handler: async (_req, reply) => {
          const m = await metrics.render();
          reply.type(m.contentType);
          return m.body;
        },
      },
      {
        method: 'GET',
        path: '/openapi.json',
        operationId: 'openapi',
        summary: 'This OpenAPI document',
        tags: ['operations'],
        scope: null,
        usesLedger: false,
        responses: { 200: { description: 'OpenAPI 3.1', schema: z.record(z.string(), z.unknown()) } },
        handler: async () => {
          openapi ??= buildOpenApi(routes, { version: deps.version });
          return openapi;
        },
      },
      {
        method: 'GET',
        path: '/',
        operationId: 'dashboard',
        summary: 'The supervisor dashboard (sign in with an API key once; a session cookie after that)',
        tags: ['operations'],
        scope: null,
        usesLedger: false,
        responses: { 200: { description: 'HTML', contentType: 'text/html' } },
        handler: async (_req, reply) => {
          dashboard ??= await readFile(join(deps.webDir, 'index.html'), 'utf8');
          reply.type('text/html; charset=utf-8');
          return dashboard;
        },
      },
      ...(deps.cluster ? [clusterRoute(deps.cluster)] : []),
    ];
    routes.push(...bookingRoutes({ store, clock: deps.clock, policies }));
    routes.push(...(deps.extraRoutes?.({ store, metrics }) ?? []));
    return routes;
  };
}
