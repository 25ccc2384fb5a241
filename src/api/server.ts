/**
 * The northbound HTTP API (DESIGN.md §1) on Fastify. Routes come from one table (routes.ts) that
 * also generates /openapi.json; auth, intake limits, body parsing and problem details live here.
 */

import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { TrustedLookupUnavailableError } from '../adapters/customers.js';
import { ERROR_CODES } from '../domain/errors.js';
import { LIMITS } from '../domain/limits.js';
import type { Scope, Violation } from '../domain/types.js';
import { GenesysAuthError } from '../genesys/auth.js';
import { PlatformError } from '../genesys/port.js';
import type { ApiKeyRecord, Store } from '../ledger/port.js';
import { parseJsonBody } from './json-body.js';
import { verifyApiKey } from './keys.js';
import { guardStore } from './ledger-guard.js';
import type { ApiMetrics } from './metrics.js';
import { createApiMetrics } from './metrics.js';
import { ApiError, PROBLEM_CONTENT_TYPE, problemOf } from './problem.js';
import { type IntakeLimit, KeyRateLimiter } from './rate-limit.js';
import { fastifyPath, type RouteSpec } from './route.js';
import { maskNumbers, SECURITY_HEADERS } from './security.js';
import type { Sessions } from './session.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated key (routes with a scope only). */
    apiKey: ApiKeyRecord | null;
    /** Authenticated by a dashboard session cookie rather than an Authorization header. */
    viaSession: boolean;
  }
}

export interface ServerCore {
  /** The guarded store: every failure becomes 503 LEDGER_UNAVAILABLE. */
  store: Store;
  metrics: ApiMetrics;
}

export interface BuildServerOptions {
  store: Store;
  /** Per key, for routes marked rateLimited (POST /api/v2/routing/callbacks). */
  intake: IntakeLimit;
  logger: Logger;
  bodyLimitBytes?: number;
  metrics?: ApiMetrics;
  /** Builds the route table once the guarded store and metrics exist. */
  routes(core: ServerCore): RouteSpec[];
  /** Dashboard sessions: a session cookie authenticates like the key it was exchanged for. */
  sessions?: Sessions;
  /** Runs before the server closes (ends long-lived streams so close does not wait on them). */
  preClose?: () => void;
}

/** Maps zod issues to violations with the domain's stable codes. */
export function zodViolations(error: z.ZodError, prefix = ''): Violation[] {
  return error.issues.flatMap((issue): Violation[] => {
    const path = [prefix, ...issue.path.map(String)].filter((p) => p !== '').join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        code: 'UNKNOWN_FIELD',
        field: path ? `${path}.${key}` : key,
        message: `"${key}" is not a parameter this endpoint knows; remove it (check its spelling)`,
      }));
    }
    const code = issue.code === 'invalid_type' ? 'INVALID_TYPE' : 'INVALID_VALUE';
    return [{ code, field: path, message: `${path || 'value'}: ${issue.message}` }];
  });
}

function sendProblem(
  reply: FastifyReply,
  status: number,
  errors: Violation[],
  detail: string,
  headers: Record<string, string> = {},
  extensions: Record<string, unknown> = {},
): FastifyReply {
  const body = problemOf(status, errors, detail, reply.request.url.split('?')[0], extensions);
  return reply.code(status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
}

/** Fastify's own errors (parsing, limits) mapped to problem documents with stable codes. */
function problemForFastifyError(err: FastifyError, bodyLimitBytes: number): ApiError {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return ApiError.one(
        413,
        'BODY_TOO_LARGE',
        '',
        `The body is larger than ${bodyLimitBytes} bytes; send one callback per request, without padding.`,
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return ApiError.one(
        415,
        ERROR_CODES.UNSUPPORTED_MEDIA_TYPE,
        'content-type',
        'The body must be JSON; send it with Content-Type: application/json.',
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return ApiError.one(400, 'INVALID_JSON', '', 'The body is empty; send a JSON object.');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return ApiError.one(
        400,
        ERROR_CODES.INVALID_CONTENT_LENGTH,
        'content-length',
        'Content-Length does not match the body sent.',
      );
    default:
      return ApiError.one(
        err.statusCode ?? 400,
        ERROR_CODES.BAD_REQUEST,
        '',
        'The request could not be read; send JSON with Content-Type: application/json.',
      );
  }
}

/**
 * A cookie rides along on cross-site requests SameSite does not stop (old browsers, same-site
 * subdomains): a changing request carrying a session must come from this origin.
 */
function checkSameOrigin(req: FastifyRequest): void {
  if (req.method === 'GET' || req.method === 'HEAD') return;
  const origin = req.headers.origin;
  let host: string | undefined;
  try {
    host = origin ? new URL(origin).host : undefined;
  } catch {
    host = undefined;
  }
  if (host !== req.headers.host) {
    throw ApiError.one(
      403,
      'CROSS_ORIGIN',
      'origin',
      'A changing request with a dashboard session must come from the dashboard itself; send it from the page, or use Authorization: Bearer <api key>.',
    );
  }
}

export async function buildServer(opts: BuildServerOptions): Promise<FastifyInstance> {
  const bodyLimitBytes = opts.bodyLimitBytes ?? LIMITS.maxBodyBytes;
  const metrics = opts.metrics ?? createApiMetrics();
  const log = opts.logger;
  const store = guardStore(opts.store, (err) => log.error({ err }, 'ledger call failed'));
  const limiter = new KeyRateLimiter(opts.intake);

  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: bodyLimitBytes,
    // Requests are logged once, on response, by the hook below (route template, status, tenant).
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify answers 503 to new requests while closing; in-flight ones finish.
    return503OnClosing: true,
    requestTimeout: LIMITS.httpRequestTimeoutMs,
    // Errors Fastify raises before routing (a path with broken percent-encoding) answer as
    // problem details too, not Fastify's own JSON.
    frameworkErrors: (err, _req, reply) =>
      sendProblem(
        reply,
        400,
        [
          {
            code: ERROR_CODES.BAD_REQUEST,
            field: 'path',
            message: `${err.message}; percent-encode the path as UTF-8.`,
          },
        ],
        'The request URL could not be read.',
      ),
  });
  app.decorateRequest('apiKey', null);
  app.decorateRequest('viaSession', false);
  app.addHook('onSend', async (_req, reply) => {
    reply.headers(SECURITY_HEADERS);
  });
  // The dashboard's pages never hold a whole phone number.
  app.addHook('preSerialization', async (req, _reply, payload) =>
    req.viaSession ? maskNumbers(payload) : payload,
  );
  if (opts.preClose) app.addHook('preClose', async () => opts.preClose?.());

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    let problem: ApiError;
    if (err instanceof ApiError) problem = err;
    else if (err instanceof PlatformError || err instanceof GenesysAuthError) {
      // An edit that needed the platform's confirmation did not get it: nothing was changed.
      req.log.warn(
        { code: err instanceof PlatformError ? err.reason.code : err.code },
        'platform unavailable',
      );
      problem = ApiError.one(
        503,
        ERROR_CODES.PLATFORM_UNAVAILABLE,
        '',
        'Genesys Cloud did not confirm the change, so nothing was changed; repeat the request later (it is safe to repeat).',
        { 'retry-after': '5' },
      );
    } else if (err instanceof TrustedLookupUnavailableError) {
      problem = ApiError.one(
        503,
        err.code,
        'customerData.externalId',
        `The customer's trusted record could not be checked (${err.message}); nothing was changed, retry later.`,
        { 'retry-after': '5' },
      );
    } else if (typeof err.code === 'string' && err.code.startsWith('FST_') && (err.statusCode ?? 500) < 500) {
      problem = problemForFastifyError(err, bodyLimitBytes);
    } else {
      req.log.error({ err, route: req.routeOptions.url }, 'unexpected error');
      problem = ApiError.one(
        500,
        ERROR_CODES.INTERNAL,
        '',
        'callbackd failed to answer; retry the same request (it is safe to repeat).',
      );
    }
    return sendProblem(
      reply,
      problem.status,
      problem.errors,
      problem.detail,
      problem.headers,
      problem.extensions,
    );
  });

  app.setNotFoundHandler((req, reply) =>
    sendProblem(
      reply,
      404,
      [
        {
          code: ERROR_CODES.NOT_FOUND,
          field: '',
          message: `No route ${req.method} ${req.url.split('?')[0]}; see /openapi.json for the API.`,
        },
      ],
      'No such route.',
    ),
  );

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ method: req.method, route }, seconds);
    req.log.debug(
      {
        method: req.method,
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        tenant: req.apiKey?.tenantId,
      },
      'request',
    );
  });

  async function authenticate(req: FastifyRequest, scope: Scope, rateLimited: boolean): Promise<void> {
    const header = req.headers.authorization;
    const challenge = { 'www-authenticate': 'Bearer realm="callbackd"' };
    // Session expiry is a person's time, so the wall clock, not the (possibly simulated) service clock.
    const fromSession = !header && opts.sessions ? await opts.sessions.verify(req, Date.now()) : undefined;
    if (fromSession) {
      checkSameOrigin(req);
      req.viaSession = true;
    }
    if (!header && !fromSession) {
      throw ApiError.one(
        401,
        'UNAUTHORIZED',
        'authorization',
        'No API key; send Authorization: Bearer <api key> (make one with `callbackd keys create`).',
        challenge,
      );
    }
    const match = header ? /^Bearer +(\S+) *$/i.exec(header) : null;
    const key = fromSession ?? (match ? await verifyApiKey(store, match[1]!) : undefined);
    if (!key) {
      throw ApiError.one(
        401,
        'UNAUTHORIZED',
        'authorization',
        'The API key is unknown, malformed or revoked; send Authorization: Bearer <a live cbk_… key>.',
        { 'www-authenticate': 'Bearer realm="callbackd", error="invalid_token"' },
      );
    }
    if (!key.scopes.includes(scope)) {
      throw ApiError.one(
        403,
        'MISSING_SCOPE',
        'authorization',
        `This API key lacks the scope ${scope}; use a key that has it (callbackd keys create --scopes ${scope}).`,
      );
    }
    req.apiKey = key;
    if (rateLimited) {
      const waitSeconds = limiter.take(key.id);
      if (waitSeconds > 0) {
        throw ApiError.one(
          429,
          'RATE_LIMITED',
          '',
          `This API key exceeded its intake rate; retry after ${waitSeconds} second(s).`,
          { 'retry-after': String(waitSeconds) },
        );
      }
    }
  }

  for (const route of opts.routes({ store, metrics })) {
    const scope = route.scope;
    app.route({
      method: route.method,
      url: fastifyPath(route.path),
      ...(scope
        ? { onRequest: async (req: FastifyRequest) => authenticate(req, scope, route.rateLimited === true) }
        : {}),
      handler: async (req, reply) => {
        if (route.query) {
          const parsed = route.query.safeParse(req.query ?? {});
          if (!parsed.success) {
            const errors = zodViolations(parsed.error);
            throw new ApiError(400, errors);
          }
        }
        if (route.body && req.body === undefined) {
          throw ApiError.one(
            400,
            'INVALID_JSON',
            '',
            'The body is missing; send a JSON object with Content-Type: application/json.',
          );
        }
        return route.handler(req, reply);
      },
    });
  }
  return app;
}
