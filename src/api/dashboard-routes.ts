/**
 * The supervisor dashboard's API: sign-in sessions, queue stats (promise kept), the overview,
 * a sortable callback search, the transition stream and dead letters; plus the bundled page's
 * static files. Routes come in the same RouteSpec table as the rest, so they are in /openapi.json.
 */
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { ERROR_CODES } from '../domain/errors.js';
import { maskPhone } from '../domain/phone.js';
import type { QueuePolicy } from '../domain/policy.js';
import { bucketCount, type StatsBucket } from '../domain/stats.js';
import { parseInstant } from '../domain/time.js';
import type { CallbackSpec, Clock } from '../domain/types.js';
import {
  type DashboardLedger,
  listDeadLetters,
  type SearchFilter,
  type SortKey,
  searchCallbacks,
  transitionsAfter,
} from '../ledger/dashboard-queries.js';
import { overview, queueStats, retryDeadLetterDelivery, zoneOf } from '../usecases/supervision.js';
import {
  DeadLetterListSchema,
  DeadLetterRetrySchema,
  DeadLettersQuerySchema,
  EventIdParamsSchema,
  OverviewQuerySchema,
  OverviewSchema,
  QueueListSchema,
  QueueStatsSchema,
  SearchQuerySchema,
  SearchResultSchema,
  SessionBodySchema,
  SessionSchema,
  StatsQuerySchema,
  TransitionPageSchema,
  TransitionsQuerySchema,
} from './dashboard-schemas.js';
import { verifyApiKey } from './keys.js';
import { LEDGER_UNAVAILABLE_MESSAGE } from './ledger-guard.js';
import type { BudgetSampler } from './platform-budget.js';
import { ApiError } from './problem.js';
import type { RouteSpec } from './route.js';
import { QueueIdParamsSchema } from './schemas.js';
import { type ServerCore, zodViolations } from './server.js';
import { isHttps, SESSION_TTL_MS, type Sessions, sessionCookie } from './session.js';
import { type TransitionStreams, toTransition } from './transition-stream.js';

export interface DashboardDeps {
  ledger: DashboardLedger;
  sessions: Sessions;
  clock: Clock;
  queues: ReadonlyMap<string, { name: string; policy: QueuePolicy }>;
  budget: BudgetSampler;
  streams: TransitionStreams;
  /** The built dashboard (index.html and assets/). */
  webDir: string;
  /** Promise window N in minutes when a request does not say (default 5). */
  promiseWindowMinutes?: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

function instant(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const r = parseInstant(value, field);
  if (!r.ok) throw ApiError.one(400, r.error.code, field, r.error.message);
  return r.epochMs;
}

export function dashboardRoutes(deps: DashboardDeps) {
  const defaultWindow = deps.promiseWindowMinutes ?? 5;
  const queueOr404 = (queueId: string) => {
    const q = deps.queues.get(queueId);
    if (!q) {
      throw ApiError.one(
        404,
        ERROR_CODES.UNKNOWN_QUEUE,
        'queueId',
        `"${queueId}" is not a configured queue; list them with GET /api/v2/routing/queues`,
      );
    }
    return q;
  };

  return ({ store }: ServerCore): RouteSpec[] => routes(store).map(ledgerGuarded);

  function routes(store: ServerCore['store']): RouteSpec[] {
    return [
      {
        method: 'POST',
        path: '/api/v2/sessions',
        operationId: 'createSession',
        summary: 'Sign in to the dashboard: exchange an API key for an HttpOnly session cookie',
        description:
          "The session carries the key's tenant and scopes, is read through the key on every request (revoking the key ends it) and lasts 12 hours. " +
          'Requests with the cookie see callback numbers masked to their last 4 digits.',
        tags: ['dashboard'],
        scope: null,
        usesLedger: true,
        body: SessionBodySchema,
        responses: {
          201: {
            description: 'Signed in',
            schema: SessionSchema,
            headers: { 'Set-Cookie': 'callbackd_session=…; HttpOnly; SameSite=Strict; Path=/' },
          },
          401: { description: 'The key is unknown, malformed or revoked' },
        },
        handler: async (req, reply) => {
          const body = SessionBodySchema.safeParse(req.body);
          if (!body.success) throw new ApiError(400, zodViolations(body.error));
          const { apiKey } = body.data;
          const key = await verifyApiKey(store, apiKey.trim());
          if (!key) {
            throw ApiError.one(
              401,
              ERROR_CODES.UNAUTHORIZED,
              'apiKey',
              'That API key is unknown, malformed or revoked; paste a live cbk_… key (make one with `callbackd keys create`).',
            );
          }
          const { token, expiresAt } = await deps.sessions.create(key, Date.now());
          reply
            .code(201)
            .header('set-cookie', sessionCookie(token, SESSION_TTL_MS / 1000, isHttps(req)))
            .header('cache-control', 'no-store');
          return { tenantId: key.tenantId, scopes: key.scopes, keyName: key.name, expiresAt: iso(expiresAt) };
        },
      },
      {
        method: 'GET',
        path: '/api/v2/sessions/current',
        operationId: 'getSession',
        summary: 'The signed-in session: tenant, scopes and expiry',
        tags: ['dashboard'],
        scope: null,
        usesLedger: true,
        responses: {
          200: { description: 'Signed in', schema: SessionSchema },
          401: {
            description: 'No live session (never signed in, signed out, expired, or the key was revoked)',
          },
        },
        handler: async (req) => {
          const key = await deps.sessions.verify(req, Date.now());
          if (!key) {
            throw ApiError.one(
              401,
              ERROR_CODES.UNAUTHORIZED,
              'cookie',
              'No live dashboard session; sign in with POST /api/v2/sessions {"apiKey": "cbk_…"}.',
            );
          }
          return {
            tenantId: key.tenantId,
            scopes: key.scopes,
            keyName: key.name,
            expiresAt: iso((key as { sessionExpiresAt?: number }).sessionExpiresAt ?? Date.now()),
          };
        },
      },
      {
        method: 'DELETE',
        path: '/api/v2/sessions/current',
        operationId: 'deleteSession',
        summary: 'Sign out (safe to repeat)',
        tags: ['dashboard'],
        scope: null,
        usesLedger: true,
        responses: { 204: { description: 'Signed out; the cookie is cleared' } },
        handler: async (req, reply) => {
          await deps.sessions.end(req, Date.now());
          reply.code(204).header('set-cookie', sessionCookie('', 0, isHttps(req)));
          return reply.send();
        },
      },
      {
        method: 'GET',
        path: '/api/v2/routing/queues',
        operationId: 'listQueues',
        summary: 'The configured queues, by name',
        tags: ['queues'],
        scope: 'routing:callback:view',
        usesLedger: false,
        responses: { 200: { description: 'Queues', schema: QueueListSchema } },
        handler: async () => ({
          items: [...deps.queues].map(([id, q]) => ({
            id,
            name: q.name,
            timeZone: zoneOf(q.policy),
            maxCallbacks: q.policy.maxCallbacks,
          })),
        }),
      },
      {
        method: 'GET',
        path: '/api/v2/routing/queues/{queueId}/stats',
        operationId: 'getQueueStats',
        summary: "A queue's callbacks by status and the share of promises kept, per bucket",
        description:
          'Over callbacks scheduled in [from, to): counts by status; promise kept = first dialled at most withinMinutes (default 5) after the scheduled time, ' +
          'out of the callbacks (not cancelled) whose window has ended; expired and rejected by reason; platform submissions per completed callback.',
        tags: ['queues'],
        scope: 'routing:callback:view',
        usesLedger: true,
        params: QueueIdParamsSchema,
        query: StatsQuerySchema,
        responses: {
          200: { description: 'Figures for the range and each bucket', schema: QueueStatsSchema },
          404: { description: 'Not a configured queue' },
        },
        handler: async (req) => {
          const { queueId } = req.params as { queueId: string };
          const queue = queueOr404(queueId);
          const q = StatsQuerySchema.parse(req.query);
          const from = instant(q.from, 'from')!;
          const to = instant(q.to, 'to')!;
          const bucket: StatsBucket = q.bucket ?? '1h';
          if (to <= from || bucketCount(from, to, bucket) > 3000) {
            throw ApiError.one(
              400,
              ERROR_CODES.INVALID_VALUE,
              'to',
              'to must be after from, and the range at most 3000 buckets; use a larger bucket (15m, 1h, 1d) or a shorter range',
            );
          }
          const within = q.withinMinutes === undefined ? defaultWindow : Number(q.withinMinutes);
          const { timeZone, totals, buckets } = (await queueStats(deps, req.apiKey!.tenantId, queueId, {
            from,
            to,
            bucket,
            withinMinutes: within,
          }))!;
          return {
            queueId,
            name: queue.name,
            timeZone,
            from: iso(from),
            to: iso(to),
            bucket,
            withinMinutes: within,
            totals,
            buckets: buckets.map((b) => ({ ...b, start: iso(b.start) })),
          };
        },
      },
      {
        method: 'GET',
        path: '/api/v2/routing/overview',
        operationId: 'getOverview',
        summary:
          'Per queue: open callbacks, today by status, the slot timeline; the platform budget, backlog, dead letters',
        tags: ['dashboard'],
        scope: 'routing:callback:view',
        usesLedger: true,
        query: OverviewQuerySchema,
        responses: { 200: { description: 'The overview', schema: OverviewSchema } },
        handler: async (req) => {
          const tenantId = req.apiKey!.tenantId;
          const hours = Number(OverviewQuerySchema.parse(req.query).hours ?? 4);
          const o = await overview(deps, tenantId, hours);
          return {
            now: iso(o.now),
            queues: o.queues.map((q) => ({
              ...q,
              todayFrom: iso(q.todayFrom),
              todayTo: iso(q.todayTo),
              slots: q.slots.map((slot) => ({ ...slot, start: iso(slot.start) })),
            })),
            platform: deps.budget.read(),
            submitBacklog: o.submitBacklog,
            deadLetters: o.deadLetters,
          };
        },
      },
      {
        method: 'GET',
        path: '/api/v2/routing/dashboard/callbacks',
        operationId: 'searchCallbacks',
        summary: 'Callbacks filtered, sorted and paged for a person (numbers masked)',
        tags: ['dashboard'],
        scope: 'routing:callback:view',
        usesLedger: true,
        query: SearchQuerySchema,
        responses: { 200: { description: 'A page and the total that match', schema: SearchResultSchema } },
        handler: async (req) => {
          const q = SearchQuerySchema.parse(req.query);
          const filter: SearchFilter = {};
          if (q.status) filter.status = q.status;
          if (q.queueId) filter.queueId = q.queueId;
          if (q.externalId) filter.externalId = q.externalId;
          if (q.callbackId) filter.callbackId = q.callbackId;
          const from = instant(q.from, 'from');
          const to = instant(q.to, 'to');
          if (from !== undefined) filter.scheduledFrom = from;
          if (to !== undefined) filter.scheduledTo = to;
          const sort = q.sort ?? '-scheduledTime';
          const key = sort.replace(/^-/, '') as SortKey;
          const offset = Number(q.offset ?? 0);
          const limit = Math.max(1, Number(q.limit ?? 25));
          const page = await searchCallbacks(
            deps.ledger,
            req.apiKey!.tenantId,
            filter,
            { key, descending: sort.startsWith('-') },
            offset,
            limit,
          );
          return {
            total: page.total,
            offset,
            items: page.items.map((r) => {
              const spec = r.spec as CallbackSpec;
              const name = [spec.customerData?.firstName, spec.customerData?.lastName]
                .filter(Boolean)
                .join(' ');
              return {
                callbackId: r.callbackId,
                queueId: r.queueId,
                queueName: deps.queues.get(r.queueId)?.name ?? r.queueId,
                status: r.status,
                reasonCode: r.reasonCode,
                callbackNumber: maskPhone(spec.callbackNumber),
                externalId: spec.customerData?.externalId ?? null,
                customerName: name || null,
                conversationId: r.conversationId,
                attempts: r.attempts,
                scheduledTime: iso(r.scheduledAt),
                updatedAt: iso(r.updatedAt),
              };
            }),
          };
        },
      },
      {
        method: 'GET',
        path: '/api/v2/routing/transitions',
        operationId: 'streamTransitions',
        summary: "Every status change of this tenant's callbacks, as server-sent events or polled pages",
        description:
          'With Accept: text/event-stream: an SSE stream of `transition` events whose id is the history id; reconnecting with Last-Event-ID (or ?after=) resumes after it, ' +
          'without either the stream starts with changes from now on. Otherwise a JSON page of the transitions after `after` (the polling fallback).',
        tags: ['dashboard'],
        scope: 'routing:callback:view',
        usesLedger: true,
        query: TransitionsQuerySchema,
        responses: {
          200: {
            description: 'text/event-stream, or a JSON page',
            schema: TransitionPageSchema,
            headers: { 'Content-Type': 'text/event-stream or application/json' },
          },
        },
        handler: async (req, reply) => {
          const q = TransitionsQuerySchema.parse(req.query);
          const tenantId = req.apiKey!.tenantId;
          if ((req.headers.accept ?? '').includes('text/event-stream')) {
            const lastEventId = req.headers['last-event-id'];
            const resume =
              typeof lastEventId === 'string' && /^\d{1,15}$/.test(lastEventId) ? lastEventId : q.after;
            await deps.streams.open(req, reply, tenantId, resume === undefined ? null : Number(resume));
            return reply;
          }
          if (q.after === undefined) return { items: [], lastId: await deps.streams.latestId() };
          const after = Number(q.after);
          const rows = await transitionsAfter(deps.ledger, tenantId, after, Number(q.limit ?? 200) || 1);
          return { items: rows.map(toTransition), lastId: rows.at(-1)?.id ?? after };
        },
      },
      {
        method: 'GET',
        path: '/api/v2/routing/deadletters',
        operationId: 'listDeadLetters',
        summary: 'CRM webhook / event deliveries that gave up (newest first)',
        tags: ['dashboard'],
        scope: 'routing:callback:view',
        usesLedger: true,
        query: DeadLettersQuerySchema,
        responses: { 200: { description: 'Dead letters and their total', schema: DeadLetterListSchema } },
        handler: async (req) => {
          const limit = Math.max(1, Number(DeadLettersQuerySchema.parse(req.query).limit ?? 100));
          const page = await listDeadLetters(deps.ledger, req.apiKey!.tenantId, limit);
          return {
            total: page.total,
            items: page.items.map((d) => ({ ...d, createdAt: iso(d.createdAt), deadAt: iso(d.deadAt) })),
          };
        },
      },
      {
        method: 'POST',
        path: '/api/v2/routing/deadletters/{eventId}/retry',
        operationId: 'retryDeadLetter',
        summary: 'Send a dead-letter delivery again (a fresh set of attempts, from now)',
        tags: ['dashboard'],
        scope: 'routing:callback:edit',
        usesLedger: true,
        params: EventIdParamsSchema,
        responses: {
          200: { description: 'Back in the delivery queue', schema: DeadLetterRetrySchema },
          404: { description: 'No such delivery for this tenant' },
          409: { description: 'NOT_A_DEAD_LETTER: delivered, or already retried' },
        },
        handler: async (req) => {
          const { eventId } = req.params as { eventId: string };
          const r = await retryDeadLetterDelivery(deps, req.apiKey!.tenantId, eventId);
          if (!r.ok && r.refusal === 'not_found') {
            throw ApiError.one(
              404,
              ERROR_CODES.DEAD_LETTER_NOT_FOUND,
              'eventId',
              `no delivery "${eventId}" for this tenant; list dead letters with GET /api/v2/routing/deadletters`,
            );
          }
          if (!r.ok) {
            throw ApiError.one(
              409,
              ERROR_CODES.NOT_A_DEAD_LETTER,
              'eventId',
              `delivery "${eventId}" is not a dead letter (it was delivered or is already queued again); nothing to retry`,
            );
          }
          return { eventId, nextAttemptAt: iso(r.nextAttemptAt) };
        },
      },
      {
        method: 'GET',
        path: '/assets/{file}',
        operationId: 'dashboardAsset',
        summary: "The dashboard's bundled scripts and styles",
        tags: ['operations'],
        scope: null,
        usesLedger: false,
        responses: { 200: { description: 'A file', contentType: 'application/octet-stream' } },
        handler: async (req, reply) => {
          const { file } = req.params as { file: string };
          const type = CONTENT_TYPES[extname(file)];
          const body =
            type && /^[A-Za-z0-9_.-]+$/.test(file) && !file.startsWith('.')
              ? await readFile(join(deps.webDir, 'assets', file)).catch(() => undefined)
              : undefined;
          if (!body) {
            throw ApiError.one(
              404,
              ERROR_CODES.NOT_FOUND,
              'file',
              `no dashboard asset "${file}"; rebuild with npm run build`,
            );
          }
          // Vite puts a content hash in every asset name, so a name never changes meaning.
          reply.type(type!).header('cache-control', 'public, max-age=31536000, immutable');
          return body;
        },
      },
    ];
  }
}

/** These routes read the ledger directly (not through the guarded Store): a failure is a 503 too. */
function ledgerGuarded(route: RouteSpec): RouteSpec {
  if (!route.usesLedger) return route;
  return {
    ...route,
    handler: async (req, reply) => {
      try {
        return await route.handler(req, reply);
      } catch (err) {
        if (err instanceof ApiError) throw err;
        req.log.error({ err, route: route.path }, 'ledger read failed');
        throw ApiError.one(503, ERROR_CODES.LEDGER_UNAVAILABLE, '', LEDGER_UNAVAILABLE_MESSAGE, {
          'retry-after': '5',
        });
      }
    },
  };
}
