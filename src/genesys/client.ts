/**
 * The southbound Genesys Cloud client: GenesysPort over undici, with the shared OAuth token,
 * the shared token bucket and the retry policy applied to every call.
 */
import type { Models } from 'purecloud-platform-client-v2';
import { Agent, type Dispatcher } from 'undici';
import type { CallbackSpec, Clock, EpochMs } from '../domain/types.js';
import { systemClock } from '../domain/types.js';
import { type AuthLogger, TokenProvider } from './auth.js';
import {
  type AttributeSearchRow,
  compact,
  fromAnalyticsConversation,
  fromAttributeSearchRow,
  fromCallbackConversation,
  fromConversation,
} from './conversation-read.js';
import type { RequestLimiter } from './limiter.js';
import {
  DISCONNECT_BODY,
  toAttributeSearchRequest,
  toCallbackCandidatesQuery,
  toConversationIdsQuery,
  toCreateCallbackCommand,
  toPatchCallbackRequest,
  toQueueObservationQuery,
} from './mapping.js';
import { HeaderPacer } from './pacing.js';
import {
  type AttributeSearchPage,
  type CallbackCandidatesQuery,
  type CandidatesPage,
  type CreateCallbackOptions,
  type CreatedCallback,
  type GenesysPort,
  type NotificationChannel,
  type NotificationsPort,
  type PlatformConversation,
  PlatformError,
  type QueueObservation,
  type SubscribedTopic,
} from './port.js';
import { TokenBucket } from './rate-limit.js';
import { errorFromAnswer, errorFromFailure, FullJitterBackoff, RetryPolicy, type Sleep } from './retry.js';
import { exchange, type HttpAnswer } from './transport.js';

export { fromAnalyticsConversation, fromCallbackConversation, fromConversation };

export type GenesysLogger = AuthLogger;

export interface GenesysClientOptions {
  /** API host, e.g. https://api.mypurecloud.ie (or the simulator's URL). */
  baseUrl: string;
  /** OAuth host, e.g. https://login.mypurecloud.ie; defaults to baseUrl (how the simulator is used). */
  loginUrl?: string;
  clientId: string;
  clientSecret: string;
  /** Client-side budget shared by every call; default 300 (Genesys' per-token limit). */
  requestsPerMinute?: number;
  /** Back-to-back requests allowed after an idle spell; default requestsPerMinute / 10. */
  burst?: number;
  /** The budget every call passes (a cluster's shared one); default a TokenBucket of requestsPerMinute and burst. */
  limiter?: RequestLimiter;
  /** Per attempt, including reading the answer; default 10 000. */
  requestTimeoutMs?: number;
  /** Retries per call for 429/503/refused connections (and, for safe requests, unclear failures); default 4. */
  maxRetries?: number;
  /** Full-jitter backoff base and cap; defaults 500 and 30 000. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A Retry-After longer than this is handed to the caller instead of being waited out; default 60 000. */
  maxRetryAfterMs?: number;
  logger?: GenesysLogger;
  clock?: Clock;
  /** Tests: MockAgent or a custom pool. The client closes only a dispatcher it created. */
  dispatcher?: Dispatcher;
  /** Tests: virtual sleeps for the limiter and backoff. */
  sleep?: Sleep;
  random?: () => number;
}

export interface GenesysClientStats {
  /** API requests sent (each attempt counts; the token endpoint does not). */
  requests: number;
  retries: number;
  /** Answers of 429 Too Many Requests (the platform's rate limit pushed back). */
  throttled: number;
  tokenRequests: number;
  /** Answers that carried inin-ratelimit-* headers. */
  headersSeen: number;
  /** Requests slowed by a resource's inin-ratelimit-* headers, and for how long in total. */
  pacedRequests: number;
  pacedMs: number;
}

export interface GenesysClient extends GenesysPort, NotificationsPort {
  stats(): GenesysClientStats;
  close(): Promise<void>;
}

export const GENESYS_DEFAULTS = {
  requestsPerMinute: 300,
  requestTimeoutMs: 10_000,
  maxRetries: 4,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 60_000,
  pageSize: 100,
  /** Safety stop for paged reads. */
  maxPages: 50,
} as const;

/** Thrown inside a retried attempt to pass an error through the policy untouched. */
class PassThrough {
  constructor(readonly error: unknown) {}
}

interface Call {
  /** For logs and stats: a route template, never ids or numbers. */
  op: string;
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  body?: unknown;
  /** Safe to repeat: unclear failures (timeouts, 5xx) are retried too. */
  idempotent: boolean;
  /** No attempt may start after this instant (client clock). */
  sendBefore?: EpochMs;
}

export function createGenesysClient(options: GenesysClientOptions): GenesysClient {
  const clock = options.clock ?? systemClock;
  const requestTimeoutMs = options.requestTimeoutMs ?? GENESYS_DEFAULTS.requestTimeoutMs;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const loginUrl = (options.loginUrl ?? options.baseUrl).replace(/\/+$/, '');
  const ownDispatcher = options.dispatcher === undefined;
  const dispatcher =
    options.dispatcher ??
    new Agent({ connect: { timeout: Math.min(requestTimeoutMs, 10_000) }, keepAliveTimeout: 4_000 });
  const logger = options.logger;
  const stats = { requests: 0, retries: 0, throttled: 0, tokenRequests: 0 };

  const backoff = new FullJitterBackoff(
    {
      baseDelayMs: options.baseDelayMs ?? GENESYS_DEFAULTS.baseDelayMs,
      maxDelayMs: options.maxDelayMs ?? GENESYS_DEFAULTS.maxDelayMs,
    },
    options.random,
  );
  const policy = (idempotent: boolean, op: string) =>
    new RetryPolicy({
      maxRetries: options.maxRetries ?? GENESYS_DEFAULTS.maxRetries,
      maxRetryAfterMs: options.maxRetryAfterMs ?? GENESYS_DEFAULTS.maxRetryAfterMs,
      backoff,
      sleep: options.sleep,
      // 401 is handled (once) by the token refresh; after that it is final for this call.
      shouldRetry: (err) =>
        (err.kind === 'retryable' && err.httpStatus !== 401) || (idempotent && err.kind === 'unclear'),
      onRetry: ({ retry, delayMs, error }) => {
        stats.retries++;
        if (error.httpStatus === 429) stats.throttled++;
        logger?.warn(
          { op, retry, delayMs, code: error.reason.code, httpStatus: error.httpStatus },
          'genesys request retried',
        );
      },
    });

  const auth = new TokenProvider({
    loginUrl,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    dispatcher,
    clock,
    requestTimeoutMs,
    logger,
    retry: policy(true, 'POST /oauth/token'),
  });
  const requestsPerMinute = options.requestsPerMinute ?? GENESYS_DEFAULTS.requestsPerMinute;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? GENESYS_DEFAULTS.maxRetryAfterMs;
  const limiter: RequestLimiter =
    options.limiter ??
    new TokenBucket({
      requestsPerMinute,
      burst: options.burst,
      clock,
      sleep: options.sleep,
    });
  // In front of the budget: slows only a resource whose own headers say it is nearly spent.
  const pacer = new HeaderPacer({ clock, sleep: options.sleep, bucketPerMinute: requestsPerMinute });

  async function send(call: Call, token: string) {
    checkWindow(call);
    const paceMs = pacer.reserve(call.op);
    if (paceMs > maxRetryAfterMs) {
      // Like a long Retry-After: the caller reschedules instead of holding a worker (nothing sent).
      throw new PassThrough(
        new PlatformError(
          'retryable',
          {
            code: 'PLATFORM_RATE_LIMITED',
            message: `Not sent: the platform's rate-limit headers leave ${call.op} no room for ${Math.ceil(paceMs / 1000)} s; try again then.`,
          },
          null,
          paceMs,
        ),
      );
    }
    await pacer.wait(call.op, paceMs);
    checkWindow(call);
    // A call with a send window takes a budget slot only if the slot comes in time: a slot it
    // could not use would be lost to every other call (and, shared, to every other instance).
    const maxWaitMs =
      call.sendBefore === undefined ? undefined : call.sendBefore - clock.now() - requestTimeoutMs;
    if (!(await acquireBudget(maxWaitMs)) && maxWaitMs !== undefined) throw new PassThrough(windowClosed());
    checkWindow(call);
    stats.requests++;
    const ex = await exchange(dispatcher, {
      method: call.method,
      url: baseUrl + call.path,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(call.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: call.body !== undefined ? JSON.stringify(call.body) : undefined,
      timeoutMs: requestTimeoutMs,
    });
    if (ex.type === 'answer') {
      const retryAfterMs =
        ex.answer.status === 429 ? errorFromAnswer(ex.answer, clock.now()).retryAfterMs : undefined;
      pacer.observe(call.op, ex.answer, retryAfterMs);
    }
    return ex;
  }

  async function acquireBudget(maxWaitMs: number | undefined): Promise<boolean> {
    try {
      return await limiter.acquire(undefined, maxWaitMs);
    } catch (err) {
      // Nothing was sent: the caller may try again later, a create included.
      throw new PassThrough(
        new PlatformError(
          'retryable',
          {
            code: 'PLATFORM_BUDGET_UNAVAILABLE',
            message: `Not sent: the shared request budget could not be consulted (${(err as Error).message}); try again later.`,
          },
          null,
        ),
      );
    }
  }

  // Only retryable failures (surely not applied) lead to another attempt of a create, so stopping
  // here means nothing of this call took effect.
  function checkWindow(call: Call) {
    if (call.sendBefore !== undefined && clock.now() + requestTimeoutMs > call.sendBefore) {
      throw new PassThrough(windowClosed());
    }
  }

  function windowClosed() {
    return new PlatformError(
      'retryable',
      {
        code: 'PLATFORM_SEND_WINDOW_CLOSED',
        message:
          "Not sent: the next attempt could not finish inside the caller's send window; try again later.",
      },
      null,
    );
  }

  async function token(fn: () => Promise<string>): Promise<string> {
    try {
      return await fn();
    } catch (err) {
      // The token request has its own retries; do not multiply them here.
      throw new PassThrough(err);
    }
  }

  async function call(c: Call): Promise<HttpAnswer> {
    try {
      return await policy(c.idempotent, c.op).execute(async () => {
        let bearer = await token(() => auth.getToken());
        let ex = await send(c, bearer);
        if (ex.type === 'answer' && ex.answer.status === 401) {
          // A 401 means the request was refused before any effect: one refresh, one resend.
          logger?.debug({ op: c.op }, 'genesys token refused; refreshing once');
          bearer = await token(() => auth.renewAfterUnauthorized(bearer));
          ex = await send(c, bearer);
        }
        if (ex.type !== 'answer') throw errorFromFailure(ex);
        if (ex.answer.status >= 200 && ex.answer.status < 300) return ex.answer;
        throw errorFromAnswer(ex.answer, clock.now());
      });
    } catch (err) {
      if (err instanceof PassThrough) throw err.error;
      throw err;
    }
  }

  async function paged<T>(
    op: string,
    path: (page: number) => string,
    pick: (body: unknown) => T[],
  ): Promise<T[]> {
    const out: T[] = [];
    for (let page = 1; page <= GENESYS_DEFAULTS.maxPages; page++) {
      const answer = await call({ op, method: 'GET', path: path(page), idempotent: true });
      const items = pick(answer.body);
      out.push(...items);
      const b = answer.body as { pageCount?: unknown };
      const pageCount = typeof b?.pageCount === 'number' ? b.pageCount : undefined;
      if (items.length < GENESYS_DEFAULTS.pageSize || (pageCount !== undefined && page >= pageCount)) break;
    }
    return out;
  }

  return {
    async createCallback(spec: CallbackSpec, opts: CreateCallbackOptions = {}): Promise<CreatedCallback> {
      const answer = await call({
        sendBefore: opts.sendWithinMs !== undefined ? clock.now() + opts.sendWithinMs : undefined,
        op: 'POST /api/v2/conversations/callbacks',
        method: 'POST',
        path: '/api/v2/conversations/callbacks',
        body: toCreateCallbackCommand(spec, opts),
        idempotent: false,
      });
      const id = (answer.body as { conversation?: { id?: unknown } } | undefined)?.conversation?.id;
      if (typeof id !== 'string' || id === '') {
        // 2xx means the platform took it; without an id we cannot tell which conversation it made.
        throw new PlatformError(
          'unclear',
          {
            code: 'PLATFORM_BAD_ANSWER',
            message: 'Genesys accepted the callback but its answer named no conversation.',
          },
          answer.status,
        );
      }
      return { conversationId: id };
    },

    async getCallbackConversation(conversationId: string): Promise<PlatformConversation> {
      const answer = await call({
        op: 'GET /api/v2/conversations/callbacks/{id}',
        method: 'GET',
        path: `/api/v2/conversations/callbacks/${encodeURIComponent(conversationId)}`,
        idempotent: true,
      });
      return fromCallbackConversation(answer.body, conversationId);
    },

    async rescheduleCallback(conversationId: string, spec: CallbackSpec): Promise<void> {
      await call({
        op: 'PATCH /api/v2/conversations/callbacks',
        method: 'PATCH',
        path: '/api/v2/conversations/callbacks',
        body: toPatchCallbackRequest(conversationId, spec),
        idempotent: true,
      });
    },

    async disconnectCallback(conversationId: string): Promise<void> {
      await call({
        op: 'PATCH /api/v2/conversations/callbacks/{id}',
        method: 'PATCH',
        path: `/api/v2/conversations/callbacks/${encodeURIComponent(conversationId)}`,
        body: DISCONNECT_BODY,
        idempotent: true,
      });
    },

    async getConversation(conversationId: string): Promise<PlatformConversation> {
      const answer = await call({
        op: 'GET /api/v2/conversations/{id}',
        method: 'GET',
        path: `/api/v2/conversations/${encodeURIComponent(conversationId)}`,
        idempotent: true,
      });
      return fromConversation(answer.body, conversationId);
    },

    async searchAttributes(from: EpochMs, to: EpochMs, maxPages: number): Promise<AttributeSearchPage> {
      const rows: AttributeSearchRow[] = [];
      let cursor: string | undefined;
      for (let page = 1; page <= maxPages; page++) {
        const answer = await call({
          op: 'POST /api/v2/conversations/participants/attributes/search',
          method: 'POST',
          path: '/api/v2/conversations/participants/attributes/search',
          body: toAttributeSearchRequest(new Date(from).toISOString(), new Date(to).toISOString(), cursor),
          idempotent: true,
        });
        const b = (answer.body ?? {}) as { results?: unknown; cursor?: unknown };
        const results = Array.isArray(b.results) ? b.results : [];
        rows.push(
          ...results.map(fromAttributeSearchRow).filter((r): r is AttributeSearchRow => r !== undefined),
        );
        cursor = typeof b.cursor === 'string' && b.cursor !== '' && results.length > 0 ? b.cursor : undefined;
        if (cursor === undefined) return { rows, complete: true, pages: page };
      }
      return { rows, complete: false, pages: maxPages };
    },

    async findCallbackCandidates(q: CallbackCandidatesQuery): Promise<CandidatesPage> {
      const out: PlatformConversation[] = [];
      const size = GENESYS_DEFAULTS.pageSize;
      for (let page = 1; page <= q.maxPages; page++) {
        const answer = await call({
          op: 'POST /api/v2/analytics/conversations/details/query',
          method: 'POST',
          path: '/api/v2/analytics/conversations/details/query',
          body: toCallbackCandidatesQuery(q, page, size),
          idempotent: true,
        });
        const b = (answer.body ?? {}) as { conversations?: unknown; totalHits?: unknown };
        const convs = Array.isArray(b.conversations) ? b.conversations : [];
        out.push(
          ...convs.map(fromAnalyticsConversation).filter((c): c is PlatformConversation => c !== undefined),
        );
        const total = typeof b.totalHits === 'number' ? b.totalHits : undefined;
        if (convs.length < size || (total !== undefined && out.length >= total)) {
          return { conversations: out, complete: true, pages: page };
        }
      }
      return { conversations: out, complete: false, pages: q.maxPages };
    },

    async getConversationsByIds(
      conversationIds: readonly string[],
      from: EpochMs,
      to: EpochMs,
    ): Promise<PlatformConversation[]> {
      const ids = [...new Set(conversationIds)];
      const out: PlatformConversation[] = [];
      const fromIso = new Date(from).toISOString();
      const toIso = new Date(Math.max(to, from + 1)).toISOString();
      const size = GENESYS_DEFAULTS.pageSize;
      // One query per `size` ids, so that each answers in a single page.
      for (let i = 0; i < ids.length; i += size) {
        const chunk = ids.slice(i, i + size);
        const answer = await call({
          op: 'POST /api/v2/analytics/conversations/details/query',
          method: 'POST',
          path: '/api/v2/analytics/conversations/details/query',
          body: toConversationIdsQuery(chunk, fromIso, toIso, 1, size),
          idempotent: true,
        });
        const b = (answer.body ?? {}) as { conversations?: unknown };
        const convs = Array.isArray(b.conversations) ? b.conversations : [];
        out.push(
          ...convs.map(fromAnalyticsConversation).filter((c): c is PlatformConversation => c !== undefined),
        );
      }
      return out;
    },

    async queueObservations(queueIds: readonly string[]): Promise<QueueObservation[]> {
      if (queueIds.length === 0) return [];
      const answer = await call({
        op: 'POST /api/v2/analytics/queues/observations/query',
        method: 'POST',
        path: '/api/v2/analytics/queues/observations/query',
        body: toQueueObservationQuery(queueIds),
        idempotent: true,
      });
      const results = (answer.body as { results?: unknown } | undefined)?.results;
      const byQueue = new Map<string, QueueObservation>(
        queueIds.map((id) => [id, { queueId: id, waiting: 0, interacting: 0 }]),
      );
      for (const r of Array.isArray(results) ? results : []) {
        const queueId = r?.group?.queueId;
        const obs = typeof queueId === 'string' ? byQueue.get(queueId) : undefined;
        if (!obs) continue;
        for (const d of Array.isArray(r.data) ? r.data : []) {
          const count = typeof d?.stats?.count === 'number' ? d.stats.count : 0;
          if (d?.metric === 'oWaiting') obs.waiting += count;
          else if (d?.metric === 'oInteracting') obs.interacting += count;
        }
      }
      return [...byQueue.values()];
    },

    async getQueue(queueId: string): Promise<{ id: string; name: string } | undefined> {
      try {
        const answer = await call({
          op: 'GET /api/v2/routing/queues/{id}',
          method: 'GET',
          path: `/api/v2/routing/queues/${encodeURIComponent(queueId)}`,
          idempotent: true,
        });
        const b = (answer.body ?? {}) as { id?: unknown; name?: unknown };
        return {
          id: typeof b.id === 'string' ? b.id : queueId,
          name: typeof b.name === 'string' ? b.name : '',
        };
      } catch (err) {
        if (err instanceof PlatformError && err.httpStatus === 404) return undefined;
        throw err;
      }
    },

    listWrapupCodes(queueId: string) {
      return paged(
        'GET /api/v2/routing/queues/{id}/wrapupcodes',
        (page) =>
          `/api/v2/routing/queues/${encodeURIComponent(queueId)}/wrapupcodes?pageSize=${GENESYS_DEFAULTS.pageSize}&pageNumber=${page}`,
        (body) =>
          entities(body).flatMap((e) =>
            typeof e.id === 'string' && typeof e.name === 'string' ? [{ id: e.id, name: e.name }] : [],
          ),
      );
    },

    listDids() {
      return paged(
        'GET /api/v2/telephony/providers/edges/dids',
        (page) =>
          `/api/v2/telephony/providers/edges/dids?pageSize=${GENESYS_DEFAULTS.pageSize}&pageNumber=${page}`,
        (body) => entities(body).flatMap((e) => (typeof e.phoneNumber === 'string' ? [e.phoneNumber] : [])),
      );
    },

    async createNotificationChannel(): Promise<NotificationChannel> {
      // Repeating it after an unclear failure at worst leaves an unused channel, which the
      // platform drops (oldest unconnected first) when the client reaches its channel limit.
      const answer = await call({
        op: 'POST /api/v2/notifications/channels',
        method: 'POST',
        path: '/api/v2/notifications/channels',
        idempotent: true,
      });
      const b = (answer.body ?? {}) as Models.Channel;
      if (typeof b.id !== 'string' || typeof b.connectUri !== 'string' || typeof b.expires !== 'string') {
        throw new PlatformError(
          'unclear',
          {
            code: 'PLATFORM_BAD_ANSWER',
            message:
              'The platform created a notification channel but did not say its id, connectUri and expires.',
          },
          answer.status,
        );
      }
      return { id: b.id, connectUri: b.connectUri, expires: b.expires };
    },

    async subscribe(channelId: string, topics: readonly string[]): Promise<SubscribedTopic[]> {
      const answer = await call({
        op: 'POST /api/v2/notifications/channels/{id}/subscriptions',
        method: 'POST',
        path: `/api/v2/notifications/channels/${encodeURIComponent(channelId)}/subscriptions`,
        body: topics.map((id) => ({ id }) satisfies Models.ChannelTopic),
        // Adding a topic twice leaves one subscription.
        idempotent: true,
      });
      return entities(answer.body).flatMap((e) => {
        const t = e as Models.ChannelTopic;
        if (typeof t.id !== 'string') return [];
        return [
          compact<SubscribedTopic>({
            id: t.id,
            state: str(t.state),
            rejectionReason: str(t.rejectionReason),
          }),
        ];
      });
    },

    stats: () => ({ ...stats, tokenRequests: auth.requests, ...pacer.stats }),

    async close() {
      if (ownDispatcher) await dispatcher.close();
    },
  };
}

function entities(body: unknown): Record<string, unknown>[] {
  const e = (body as { entities?: unknown } | undefined)?.entities;
  return Array.isArray(e) ? e.filter((x): x is Record<string, unknown> => !!x && typeof x === 'object') : [];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
