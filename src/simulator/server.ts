/**
 * The HTTP side: routing, OAuth, bearer checks, the per-token rate limit, fault injection,
 * request counters, the platform endpoints and the /sim control API. Plain node:http, so that
 * faults can act on the socket itself (reset before commit, commit then silence).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { conversationDetailsQuery, queueObservationsQuery } from './analytics.js';
import { ClockError, type Scheduler } from './clock.js';
import { ApiError, badRequest, invalidValue, notFound } from './errors.js';
import { checkFaultRule, Faults } from './faults.js';
import { maskNumber } from './mask.js';
import { normalizeNumber, type Platform, type SimConversation } from './model.js';
import { HEARTBEAT_INTERVAL_MS, Notifications } from './notifications.js';
import type { NumberRule, Outcome, SimOrgDef } from './org.js';
import type { Random } from './random.js';
import { parseCreateCallback, parseInstant, parsePatchCallback, requireObject } from './validate.js';

type Json = Record<string, unknown>;

export const MAX_BODY_BYTES = 1024 * 1024;

/** Stable names of the platform endpoints, used by counters and fault rules. */
export const ENDPOINTS = [
  'token',
  'createCallback',
  'getCallback',
  'listCallbacks',
  'rescheduleCallback',
  'disconnectCallback',
  'bulkDisconnect',
  'listQueues',
  'getQueue',
  'getWrapupCodes',
  'listDids',
  'queueObservations',
  'conversationDetails',
  'createChannel',
  'listChannels',
  'headChannel',
  'getSubscriptions',
  'subscribe',
  'replaceSubscriptions',
  'deleteSubscriptions',
  'unknown',
] as const;
export type EndpointName = (typeof ENDPOINTS)[number];

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface RequestCtx {
  req: IncomingMessage;
  params: string[];
  query: URLSearchParams;
  rawBody: Buffer;
  json: () => unknown;
  clientId: string;
}

interface Route {
  method: string;
  pattern: RegExp;
  endpoint: EndpointName;
  auth: boolean;
  handler: (ctx: RequestCtx) => Reply;
}

interface TokenInfo {
  clientId: string;
  expiresMs: number;
}

interface RateWindow {
  startMs: number;
  count: number;
}

export interface SimSettings {
  analyticsLagMs: number;
  requestsPerMinute: number;
  tokenLifetimeSeconds: number;
}

const ID = '([^/]+)';
const ok = (body: unknown, status = 200): Reply => ({ status, body });

function paging(query: URLSearchParams, maxPageSize = 500): { pageSize: number; pageNumber: number } {
  const read = (name: string, dflt: number, min: number, max: number): number => {
    const raw = query.get(name);
    if (raw === null) return dflt;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) {
      throw invalidValue(name, `${name} must be an integer from ${min} to ${max}.`);
    }
    return n;
  };
  return { pageSize: read('pageSize', 25, 1, maxPageSize), pageNumber: read('pageNumber', 1, 1, 1_000_000) };
}

function paged<T>(all: T[], path: string, query: URLSearchParams): Json {
  const { pageSize, pageNumber } = paging(query);
  const pageCount = Math.max(1, Math.ceil(all.length / pageSize));
  const uri = (n: number): string => `${path}?pageSize=${pageSize}&pageNumber=${n}`;
  const out: Json = {
    entities: all.slice((pageNumber - 1) * pageSize, pageNumber * pageSize),
    pageSize,
    pageNumber,
    total: all.length,
    firstUri: uri(1),
    lastUri: uri(pageCount),
    selfUri: uri(pageNumber),
    pageCount,
  };
  if (pageNumber < pageCount) out['nextUri'] = uri(pageNumber + 1);
  if (pageNumber > 1) out['previousUri'] = uri(pageNumber - 1);
  return out;
}

export class SimServer {
  readonly server: Server;
  readonly faults: Faults;
  readonly notifications: Notifications;
  private readonly tokens = new Map<string, TokenInfo>();
  private readonly windows = new Map<string, RateWindow>();
  private counters = new Map<string, Map<string, number>>();
  private readonly routes: Route[];
  url = '';

  constructor(
    private readonly org: SimOrgDef,
    readonly platform: Platform,
    private readonly scheduler: Scheduler,
    private readonly random: Random,
    readonly settings: SimSettings,
    private readonly log: (line: string) => void,
    private readonly seed: number,
  ) {
    this.faults = new Faults(random);
    this.notifications = new Notifications(platform, () => scheduler.now(), log);
    this.routes = this.buildRoutes();
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err) => this.internalError(res, err));
    });
    this.server.on('upgrade', (req, socket, head) => {
      try {
        this.notifications.handleUpgrade(req, socket, head);
      } catch {
        socket.destroy();
      }
    });
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    this.startHeartbeat();
  }

  async listen(host: string, port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address() as AddressInfo;
    const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.url = `http://${h}:${addr.port}`;
    this.notifications.setWsBase(`ws://${h}:${addr.port}`);
    return this.url;
  }

  async close(): Promise<void> {
    this.notifications.closeAll();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private startHeartbeat(): void {
    const beat = (): void => {
      this.notifications.heartbeat();
      this.scheduler.schedule(this.scheduler.now() + HEARTBEAT_INTERVAL_MS, 'heartbeat', beat);
    };
    this.scheduler.schedule(this.scheduler.now() + HEARTBEAT_INTERVAL_MS, 'heartbeat', beat);
  }

  // ---- control ---------------------------------------------------------------------------------

  count(endpoint: string, outcome: string): void {
    let m = this.counters.get(endpoint);
    if (!m) {
      m = new Map();
      this.counters.set(endpoint, m);
    }
    m.set(outcome, (m.get(outcome) ?? 0) + 1);
  }

  countersSnapshot(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [ep, m] of this.counters) out[ep] = Object.fromEntries(m);
    return out;
  }

  resetCounters(): void {
    this.counters = new Map();
  }

  revokeTokens(): void {
    this.tokens.clear();
    this.windows.clear();
  }

  resetAll(): void {
    this.scheduler.clear();
    this.platform.resetState();
    this.faults.clear();
    this.random.reseed(this.seed);
    this.resetCounters();
    this.revokeTokens();
    this.notifications.reset();
    this.startHeartbeat();
  }

  orgJson(): Json {
    const q = (id: string) => this.platform.queues.get(id);
    return {
      name: this.org.name,
      urls: { api: this.url, login: this.url, websocketBase: this.url.replace(/^http/, 'ws') },
      oauth: {
        clientId: this.org.oauth.clientId,
        clientSecret: this.org.oauth.clientSecret,
        tokenLifetimeSeconds: this.settings.tokenLifetimeSeconds,
      },
      queues: this.org.queues.map((def) => ({
        id: def.id,
        name: def.name,
        mediaSettings: { callback: this.callbackMediaSettings() },
        wrapupCodes: def.wrapupCodes,
        agents: q(def.id)?.agents.length ?? 0,
        capacity: q(def.id)?.capacity ?? null,
      })),
      dids: this.org.dids,
      customers: this.org.customers,
      numberRules: Object.fromEntries(this.platform.numberRules),
      defaultRule: this.platform.defaultRule,
      requestsPerMinute: this.settings.requestsPerMinute,
      analyticsLagMs: this.settings.analyticsLagMs,
      clock: { now: this.scheduler.nowIso(), mode: this.scheduler.mode },
    };
  }

  private callbackMediaSettings(): Json {
    return {
      enableAutoAnswer: false,
      alertingTimeoutSeconds: 30,
      serviceLevel: { percentage: 0.8, durationMs: 20000 },
      autoAnswerAlertToneSeconds: 0,
      manualAnswerAlertToneSeconds: 0,
      mode: 'AgentFirst',
      enableAutoDialAndEnd: true,
      autoDialDelaySeconds: this.platform.timings.offerSeconds,
      autoEndDelaySeconds: 5,
      pacingModifier: 1,
      maxRetryCount: 0,
      retryDelaySeconds: 0,
      liveVoiceReactionType: 'TransferToQueue',
      answeringMachineReactionType: 'HangUp',
    };
  }

  // ---- request handling --------------------------------------------------------------------------

  private send(res: ServerResponse, reply: Reply, extra: Record<string, string> = {}): void {
    if (res.headersSent || res.destroyed) return;
    const headers: Record<string, string> = {
      'inin-correlation-id': randomUUID(),
      ...extra,
      ...reply.headers,
    };
    if (reply.body === undefined) {
      res.writeHead(reply.status, headers);
      res.end();
      return;
    }
    const text = JSON.stringify(reply.body);
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(text));
    res.writeHead(reply.status, headers);
    res.end(text);
  }

  private internalError(res: ServerResponse, err: unknown): void {
    this.log(`[sim] internal error: ${err instanceof Error ? err.message : String(err)}`);
    this.send(res, {
      status: 500,
      body: new ApiError(500, 'internal.server.error', 'The simulator failed to handle the request.').body(),
    });
  }

  private readBody(req: IncomingMessage): Promise<Buffer | 'tooLarge'> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) tooLarge = true;
        else chunks.push(c);
      });
      req.on('end', () => resolve(tooLarge ? 'tooLarge' : Buffer.concat(chunks)));
      req.on('error', reject);
    });
  }

  private match(method: string, path: string): { route?: Route; params: string[]; pathKnown: boolean } {
    let pathKnown = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      pathKnown = true;
      if (route.method === method) return { route, params: m.slice(1).map(decodeURIComponent), pathKnown };
    }
    return { params: [], pathKnown };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (path === '/sim' || path.startsWith('/sim/')) {
      const body = await this.readBody(req);
      this.send(res, this.handleSim(method, path, url.searchParams, body));
      return;
    }

    let matched: { route?: Route; params: string[]; pathKnown: boolean };
    try {
      matched = this.match(method, path);
    } catch {
      matched = { params: [], pathKnown: false };
    }
    const { route, params, pathKnown } = matched;
    const endpoint: EndpointName = route?.endpoint ?? 'unknown';
    const body = await this.readBody(req);

    const fault = this.faults.decide(endpoint);
    if (fault.latencyMs > 0) await new Promise((r) => setTimeout(r, fault.latencyMs));
    if (fault.terminal?.kind === 'reset') {
      this.count(endpoint, 'reset');
      req.socket.destroy();
      return;
    }
    if (fault.terminal?.kind === 'error') {
      const status = fault.terminal.status;
      this.count(endpoint, String(status));
      const code =
        status === 429
          ? 'too.many.requests'
          : status === 503
            ? 'service.unavailable'
            : status === 502
              ? 'bad.gateway'
              : status === 504
                ? 'gateway.timeout'
                : 'internal.server.error';
      this.send(res, {
        status,
        body: new ApiError(status, code, `Injected ${status} (simulator fault).`).body(),
        ...(status === 429
          ? { headers: { 'retry-after': String(fault.terminal.retryAfterSeconds ?? 1) } }
          : {}),
      });
      return;
    }

    const reply = this.process(req, res, route, params, url.searchParams, body, pathKnown);
    if (fault.terminal?.kind === 'commitNoAnswer') {
      this.count(endpoint, 'noAnswer');
      req.socket.destroy();
      return;
    }
    this.count(endpoint, String(reply.status));
    this.send(res, reply, reply.headers);
  }

  /** Auth, rate limit, body parsing and the handler; every failure becomes an ErrorBody reply. */
  private process(
    req: IncomingMessage,
    _res: ServerResponse,
    route: Route | undefined,
    params: string[],
    query: URLSearchParams,
    body: Buffer | 'tooLarge',
    pathKnown: boolean,
  ): Reply {
    const rateHeaders: Record<string, string> = {};
    try {
      if (!route) {
        if (pathKnown) {
          throw new ApiError(
            405,
            'method.not.allowed',
            `The method ${req.method} is not allowed on this resource.`,
          );
        }
        throw notFound(`No resource at ${req.method} ${(req.url ?? '').split('?')[0]}.`);
      }
      let clientId = '';
      if (route.auth) {
        clientId = this.authenticate(req);
        this.rateLimit(req, rateHeaders);
      }
      if (body === 'tooLarge') {
        throw new ApiError(
          413,
          'request.entity.too.large',
          `The request body exceeds ${MAX_BODY_BYTES} bytes.`,
        );
      }
      let parsed: { v: unknown } | undefined;
      const rawBody = body;
      const json = (): unknown => {
        if (parsed) return parsed.v;
        const type = (req.headers['content-type'] ?? '').toLowerCase();
        if (rawBody.length === 0) throw badRequest('A request body is required.');
        if (type !== '' && !type.startsWith('application/json')) {
          throw new ApiError(
            415,
            'unsupported.media.type',
            `Content-Type ${type.slice(0, 80)} is not supported; send application/json.`,
          );
        }
        try {
          parsed = { v: JSON.parse(rawBody.toString('utf8')) };
        } catch {
          throw badRequest('The request could not be understood by the server due to malformed syntax.');
        }
        return parsed.v;
      };
      const reply = route.handler({ req, params, query, rawBody, json, clientId });
      return { ...reply, headers: { ...rateHeaders, ...reply.headers } };
    } catch (err) {
      if (err instanceof ApiError) {
        const headers = { ...rateHeaders };
        if (err.status === 429) headers['retry-after'] = rateHeaders['retry-after'] ?? '1';
        return { status: err.status, body: err.body(), headers };
      }
      if (err instanceof OAuthError) {
        return {
          status: err.status,
          body: { error: err.error, description: err.message, error_description: err.message },
        };
      }
      this.log(`[sim] internal error: ${err instanceof Error ? err.message : String(err)}`);
      return {
        status: 500,
        body: new ApiError(
          500,
          'internal.server.error',
          'The simulator failed to handle the request.',
        ).body(),
        headers: rateHeaders,
      };
    }
  }

  private authenticate(req: IncomingMessage): string {
    const header = req.headers.authorization ?? '';
    const m = /^bearer\s+(\S+)$/i.exec(header);
    if (!m) {
      throw new ApiError(
        401,
        'authentication.required',
        'No authentication bearer token specified in authorization header.',
      );
    }
    const info = this.tokens.get(m[1]!);
    if (!info) throw new ApiError(401, 'bad.credentials', 'Invalid login credentials.');
    if (info.expiresMs <= this.scheduler.now()) {
      this.tokens.delete(m[1]!);
      throw new ApiError(401, 'bad.credentials', 'Invalid login credentials: the access token has expired.');
    }
    return info.clientId;
  }

  private rateLimit(req: IncomingMessage, headers: Record<string, string>): void {
    const token = /^bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')![1]!;
    const now = this.scheduler.now();
    let w = this.windows.get(token);
    if (!w || now - w.startMs >= 60_000) {
      w = { startMs: now, count: 0 };
      this.windows.set(token, w);
    }
    const allowed = this.settings.requestsPerMinute;
    const resetSeconds = Math.max(1, Math.ceil((w.startMs + 60_000 - now) / 1000));
    if (w.count >= allowed) {
      headers['inin-ratelimit-count'] = String(w.count);
      headers['inin-ratelimit-allowed'] = String(allowed);
      headers['inin-ratelimit-reset'] = String(resetSeconds);
      headers['retry-after'] = String(resetSeconds);
      throw new ApiError(
        429,
        'too.many.requests',
        `Rate limit exceeded the maximum. Retry the request in [${resetSeconds}] seconds`,
        { limit: String(allowed), retryAfterSeconds: String(resetSeconds) },
      );
    }
    w.count++;
    headers['inin-ratelimit-count'] = String(w.count);
    headers['inin-ratelimit-allowed'] = String(allowed);
    headers['inin-ratelimit-reset'] = String(resetSeconds);
  }

  // ---- OAuth -----------------------------------------------------------------------------------

  private token(ctx: RequestCtx): Reply {
    const header = ctx.req.headers.authorization ?? '';
    const m = /^basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
    if (!m) throw new OAuthError(401, 'invalid_client', 'Client authentication (HTTP Basic) is required.');
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const sep = decoded.indexOf(':');
    const id = sep < 0 ? decoded : decoded.slice(0, sep);
    const secret = sep < 0 ? '' : decoded.slice(sep + 1);
    const form = new URLSearchParams(ctx.rawBody.toString('utf8'));
    const grant = form.get('grant_type');
    if (grant === null) throw new OAuthError(400, 'invalid_request', 'grant_type is required.');
    if (grant !== 'client_credentials') {
      throw new OAuthError(
        400,
        'unsupported_grant_type',
        `grant_type ${grant.slice(0, 40)} is not supported.`,
      );
    }
    if (id !== this.org.oauth.clientId || secret !== this.org.oauth.clientSecret) {
      throw new OAuthError(401, 'invalid_client', 'authentication failed');
    }
    const accessToken = randomBytes(32).toString('base64url');
    const lifetime = this.settings.tokenLifetimeSeconds;
    this.tokens.set(accessToken, { clientId: id, expiresMs: this.scheduler.now() + lifetime * 1000 });
    return ok({ access_token: accessToken, token_type: 'bearer', expires_in: lifetime });
  }

  // ---- routes ----------------------------------------------------------------------------------

  private conv(id: string): SimConversation {
    const conv = this.platform.conversations.get(id);
    if (!conv)
      throw new ApiError(404, 'not.found', `Conversation ${id} was not found.`, { conversationId: id });
    return conv;
  }

  private createAnswer(conv: SimConversation): Json {
    return {
      conversation: { id: conv.id, selfUri: `/api/v2/conversations/${conv.id}` },
      callbackIdentifiers: [{ type: 'ACD', id: conv.callbackIdentifier }],
    };
  }

  private queueJson(id: string): Json {
    const q = this.platform.queues.get(id);
    if (!q) throw new ApiError(404, 'not.found', `Queue ${id} was not found.`, { queueId: id });
    const created = '2024-01-01T00:00:00.000Z';
    return {
      id,
      name: q.def.name,
      division: {
        id: this.org.divisionId,
        name: 'Home',
        selfUri: `/api/v2/authorization/divisions/${this.org.divisionId}`,
      },
      dateCreated: created,
      dateModified: created,
      memberCount: q.agents.length,
      userMemberCount: q.agents.length,
      joinedMemberCount: q.agents.length,
      mediaSettings: {
        call: { alertingTimeoutSeconds: 8, serviceLevel: { percentage: 0.8, durationMs: 20000 } },
        callback: this.callbackMediaSettings(),
      },
      routingRules: [],
      bullseye: { rings: [{ expansionCriteria: [] }] },
      acwSettings: { wrapupPrompt: 'MANDATORY_TIMEOUT', timeoutMs: 15000 },
      skillEvaluationMethod: 'ALL',
      autoAnswerOnly: false,
      enableTranscription: false,
      enableManualAssignment: false,
      agentOwnedRouting: {
        enableAgentOwnedCallbacks: false,
        maxOwnedCallbackHours: 1,
        maxOwnedCallbackDelayHours: 720,
      },
      callingPartyName: this.org.name,
      callingPartyNumber: this.org.dids.find((d) => d.queueId === id)?.phoneNumber,
      selfUri: `/api/v2/routing/queues/${id}`,
    };
  }

  private buildRoutes(): Route[] {
    const r = (
      method: string,
      path: string,
      endpoint: EndpointName,
      handler: (ctx: RequestCtx) => Reply,
      auth = true,
    ): Route => ({ method, pattern: new RegExp(`^${path}$`), endpoint, handler, auth });
    const cb = '/api/v2/conversations/callbacks';
    const ch = '/api/v2/notifications/channels';
    return [
      r('POST', '/oauth/token', 'token', (c) => this.token(c), false),
      r('POST', `${cb}/bulk/disconnect`, 'bulkDisconnect', (c) => this.bulkDisconnect(c)),
      r('POST', cb, 'createCallback', (c) => {
        const input = parseCreateCallback(c.json());
        return ok(this.createAnswer(this.platform.createCallback(input)));
      }),
      r('GET', cb, 'listCallbacks', () => {
        throw badRequest(
          "This request lists the calling user's callbacks and needs a user context; client credentials have none.",
        );
      }),
      r('PATCH', cb, 'rescheduleCallback', (c) => {
        const input = parsePatchCallback(c.json());
        return ok(this.createAnswer(this.platform.reschedule(input)));
      }),
      r('GET', `${cb}/${ID}`, 'getCallback', (c) => ok(this.platform.toWire(this.conv(c.params[0]!)))),
      r('PATCH', `${cb}/${ID}`, 'disconnectCallback', (c) => this.disconnectOne(c)),
      r('GET', '/api/v2/routing/queues', 'listQueues', (c) => {
        const name = c.query.get('name');
        const all = [...this.platform.queues.keys()]
          .map((id) => this.queueJson(id))
          .filter(
            (q) =>
              name === null ||
              String(q['name']).toLowerCase().startsWith(name.replace(/\*$/, '').toLowerCase()),
          );
        return ok(paged(all, '/api/v2/routing/queues', c.query));
      }),
      r('GET', `/api/v2/routing/queues/${ID}`, 'getQueue', (c) => ok(this.queueJson(c.params[0]!))),
      r('GET', `/api/v2/routing/queues/${ID}/wrapupcodes`, 'getWrapupCodes', (c) => {
        const id = c.params[0]!;
        const q = this.platform.queues.get(id);
        if (!q) throw new ApiError(404, 'not.found', `Queue ${id} was not found.`, { queueId: id });
        const name = c.query.get('name');
        const codes = q.def.wrapupCodes
          .filter((w) => name === null || w.name.toLowerCase().startsWith(name.toLowerCase()))
          .map((w) => ({ id: w.id, name: w.name, selfUri: `/api/v2/routing/wrapupcodes/${w.id}` }));
        return ok(paged(codes, `/api/v2/routing/queues/${id}/wrapupcodes`, c.query));
      }),
      r('GET', '/api/v2/telephony/providers/edges/dids', 'listDids', (c) => {
        const phone = c.query.get('phoneNumber');
        const dids = this.org.dids
          .filter((d) => phone === null || normalizeNumber(d.phoneNumber) === normalizeNumber(phone))
          .map((d) => ({
            id: d.id,
            name: d.phoneNumber,
            state: 'active',
            phoneNumber: d.phoneNumber,
            ownerType: 'IVR',
            selfUri: `/api/v2/telephony/providers/edges/dids/${d.id}`,
          }));
        return ok(paged(dids, '/api/v2/telephony/providers/edges/dids', c.query));
      }),
      r('POST', '/api/v2/analytics/queues/observations/query', 'queueObservations', (c) =>
        ok(queueObservationsQuery(this.platform, c.json())),
      ),
      r('POST', '/api/v2/analytics/conversations/details/query', 'conversationDetails', (c) =>
        ok(
          conversationDetailsQuery(
            this.platform,
            c.json(),
            this.scheduler.now(),
            this.settings.analyticsLagMs,
          ),
        ),
      ),
      r('POST', ch, 'createChannel', (c) => ok(this.notifications.create(c.clientId))),
      r('GET', ch, 'listChannels', (c) => ok(this.notifications.list(c.clientId))),
      r('HEAD', `${ch}/${ID}`, 'headChannel', (c) => {
        if (!this.notifications.exists(c.params[0]!, c.clientId)) throw notFound('Channel not found.');
        return { status: 200 };
      }),
      r('GET', `${ch}/${ID}/subscriptions`, 'getSubscriptions', (c) =>
        ok(this.notifications.topics(c.params[0]!, c.clientId)),
      ),
      r('POST', `${ch}/${ID}/subscriptions`, 'subscribe', (c) =>
        ok(this.notifications.subscribe(c.params[0]!, c.clientId, c.json(), false)),
      ),
      r('PUT', `${ch}/${ID}/subscriptions`, 'replaceSubscriptions', (c) =>
        ok(this.notifications.subscribe(c.params[0]!, c.clientId, c.json(), true)),
      ),
      r('DELETE', `${ch}/${ID}/subscriptions`, 'deleteSubscriptions', (c) => {
        this.notifications.unsubscribeAll(c.params[0]!, c.clientId);
        return { status: 200 };
      }),
    ];
  }

  private disconnectOne(c: RequestCtx): Reply {
    const id = c.params[0]!;
    const body = requireObject(c.json(), 'Conversation');
    if (body['state'] !== 'disconnected') {
      throw invalidValue('state', 'Only {"state": "disconnected"} is supported on a callback conversation.');
    }
    const conv = this.platform.disconnect(this.conv(id).id);
    const wire = this.platform.toWire(conv);
    return ok({
      id: conv.id,
      startTime: new Date(conv.createdMs).toISOString(),
      endTime: wire.participants[0]?.endTime,
      participants: wire.participants.map((p) => ({
        id: p.id,
        startTime: p.startTime,
        endTime: p.endTime,
        connectedTime: p.connectedTime,
        name: p.name,
        queueId: p.queue?.id,
        queueName: p.queue?.name,
        userId: p.user?.id,
        purpose: p.purpose,
        address: p.address,
        wrapupRequired: p.wrapupRequired,
        attributes: p.attributes,
      })),
      recordingState: 'none',
      state: 'disconnected',
      selfUri: `/api/v2/conversations/${conv.id}`,
    });
  }

  private bulkDisconnect(c: RequestCtx): Reply {
    const body = requireObject(c.json(), 'BulkCallbackDisconnectRequest');
    const ids = body['callbackDisconnectIdentifiers'];
    if (!Array.isArray(ids) || ids.length === 0) {
      throw new ApiError(400, 'bad.request', 'callbackDisconnectIdentifiers must be a non-empty array.', {
        field: 'callbackDisconnectIdentifiers',
      });
    }
    if (ids.length > 100) {
      throw invalidValue('callbackDisconnectIdentifiers', 'At most 100 callbacks per bulk disconnect.');
    }
    const targets = ids.map((raw, i) => {
      const item = raw as Json | null;
      const convId = item && typeof item === 'object' ? item['conversationId'] : undefined;
      const cbId = item && typeof item === 'object' ? item['callbackId'] : undefined;
      if (typeof convId !== 'string' || typeof cbId !== 'string') {
        throw invalidValue(
          `callbackDisconnectIdentifiers[${i}]`,
          `callbackDisconnectIdentifiers[${i}] needs conversationId and callbackId strings.`,
        );
      }
      return { convId, cbId };
    });
    // Unknown or already ended callbacks are skipped: the bulk call is fire-and-forget (202).
    for (const t of targets) {
      const conv = this.platform.conversations.get(t.convId);
      if (conv && conv.callbackIdentifier === t.cbId && conv.phase !== 'ended')
        this.platform.disconnect(conv.id);
    }
    return { status: 202 };
  }

  // ---- /sim control API --------------------------------------------------------------------------

  private handleSim(method: string, path: string, query: URLSearchParams, raw: Buffer | 'tooLarge'): Reply {
    try {
      if (raw === 'tooLarge') throw badRequest('Body too large.');
      const body = (): Json => {
        if (raw.length === 0) return {};
        try {
          return requireObject(JSON.parse(raw.toString('utf8')), 'control request');
        } catch (err) {
          if (err instanceof ApiError) throw err;
          throw badRequest('The control request body is not valid JSON.');
        }
      };
      const key = `${method} ${path}`;
      switch (key) {
        case 'GET /sim':
          return ok({ endpoints: SIM_HELP });
        case 'GET /sim/org':
          return ok(this.orgJson());
        case 'GET /sim/clock':
          return ok(this.clockJson(0));
        case 'POST /sim/clock': {
          const b = body();
          let ran = 0;
          if (b['advanceMs'] !== undefined) ran = this.scheduler.advanceMs(num(b['advanceMs'], 'advanceMs'));
          else if (b['advanceSeconds'] !== undefined) {
            ran = this.scheduler.advanceMs(num(b['advanceSeconds'], 'advanceSeconds') * 1000);
          } else if (typeof b['set'] === 'string')
            ran = this.scheduler.advanceTo(parseInstant(b['set'], 'set'));
          else throw badRequest('Send {"advanceMs": n}, {"advanceSeconds": n} or {"set": "<ISO instant>"}.');
          return ok(this.clockJson(ran));
        }
        case 'GET /sim/counters':
          return ok(this.countersSnapshot());
        case 'DELETE /sim/counters':
          this.resetCounters();
          return ok({});
        case 'GET /sim/conversations': {
          const callbackId = query.get('callbackId');
          const list = [...this.platform.conversations.values()]
            .filter((c) => callbackId === null || c.data['callbackId'] === callbackId)
            .map((c) => simConversationJson(this.platform, c));
          return ok({ total: list.length, conversations: list });
        }
        case 'GET /sim/rules':
          return ok({
            numberRules: Object.fromEntries(this.platform.numberRules),
            defaultRule: this.platform.defaultRule,
          });
        case 'POST /sim/rules': {
          const b = body();
          const rule = checkNumberRule(b['rule']);
          if (b['number'] === 'default') this.platform.defaultRule = rule;
          else if (typeof b['number'] === 'string' && /\d/.test(b['number'])) {
            this.platform.numberRules.set(normalizeNumber(b['number']), rule);
          } else throw badRequest('Send {"number": "+1415…" | "default", "rule": {"outcome": …}}.');
          return ok({
            numberRules: Object.fromEntries(this.platform.numberRules),
            defaultRule: this.platform.defaultRule,
          });
        }
        case 'GET /sim/faults':
          return ok({ faults: this.faults.list(), endpoints: ENDPOINTS });
        case 'POST /sim/faults': {
          const b = body();
          const list = Array.isArray(b['faults']) ? b['faults'] : [b];
          const rules = list.map((f) => wrapControlError(() => checkFaultRule(f)));
          if (b['replace'] === true || Array.isArray(b['faults'])) this.faults.set(rules);
          else for (const rule of rules) this.faults.add(rule);
          return ok({ faults: this.faults.list() });
        }
        case 'DELETE /sim/faults':
          this.faults.clear();
          return ok({ faults: [] });
        case 'POST /sim/settings': {
          const b = body();
          if (b['requestsPerMinute'] !== undefined) {
            this.settings.requestsPerMinute = intIn(
              b['requestsPerMinute'],
              'requestsPerMinute',
              1,
              1_000_000,
            );
          }
          if (b['analyticsLagMs'] !== undefined) {
            this.settings.analyticsLagMs = intIn(b['analyticsLagMs'], 'analyticsLagMs', 0, 86_400_000);
          }
          if (b['tokenLifetimeSeconds'] !== undefined) {
            this.settings.tokenLifetimeSeconds = intIn(
              b['tokenLifetimeSeconds'],
              'tokenLifetimeSeconds',
              1,
              172_800,
            );
          }
          return ok({ ...this.settings });
        }
        case 'POST /sim/tokens/revoke':
          this.revokeTokens();
          return ok({});
        case 'POST /sim/reset':
          this.resetAll();
          return ok({});
      }
      const qm = /^\/sim\/queues\/([^/]+)$/.exec(path);
      if (qm && method === 'POST') {
        const b = body();
        const id = decodeURIComponent(qm[1]!);
        if (b['agents'] !== undefined) this.platform.setAgentCount(id, intIn(b['agents'], 'agents', 0, 1000));
        if (b['capacity'] !== undefined) {
          const c = b['capacity'];
          if (c === null) this.platform.setQueueCapacity(id, undefined);
          else {
            const cap = requireObject(c, 'capacity');
            const mode = cap['mode'] ?? 'disconnect';
            if (mode !== 'disconnect' && mode !== 'refuse')
              throw badRequest('capacity.mode is disconnect or refuse.');
            this.platform.setQueueCapacity(id, {
              maxWaiting: intIn(cap['maxWaiting'], 'maxWaiting', 0, 1_000_000),
              mode,
            });
          }
        }
        return ok(this.orgJson()['queues']);
      }
      const cm = /^\/sim\/conversations\/([^/]+)$/.exec(path);
      if (cm && method === 'GET') {
        const conv = this.platform.conversations.get(decodeURIComponent(cm[1]!));
        if (!conv) throw notFound('No such conversation.');
        return ok(simConversationJson(this.platform, conv));
      }
      throw notFound(`No control endpoint ${method} ${path}; GET /sim lists them.`);
    } catch (err) {
      if (err instanceof ApiError) return { status: err.status, body: err.body() };
      if (err instanceof ClockError) return { status: 400, body: badRequest(err.message).body() };
      throw err;
    }
  }

  private clockJson(eventsRun: number): Json {
    return {
      now: this.scheduler.nowIso(),
      nowMs: this.scheduler.now(),
      mode: this.scheduler.mode,
      eventsRun,
    };
  }
}

class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

function num(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw badRequest(`${field} must be a non-negative number.`);
  return v;
}

function intIn(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw badRequest(`${field} must be an integer from ${min} to ${max}.`);
  }
  return v;
}

function wrapControlError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw badRequest(err instanceof Error ? err.message : String(err));
  }
}

const OUTCOMES: Outcome[] = ['answer', 'noAnswer', 'failDtmf', 'busy'];

export function checkNumberRule(raw: unknown): NumberRule {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw badRequest('rule must be an object {outcome, ringSeconds?, talkSeconds?}.');
  }
  const r = raw as Json;
  const secs = (f: string): number | undefined => {
    if (r[f] === undefined) return undefined;
    return intIn(r[f], f, 0, 86_400);
  };
  const ringSeconds = secs('ringSeconds');
  const talkSeconds = secs('talkSeconds');
  const timing = {
    ...(ringSeconds !== undefined ? { ringSeconds } : {}),
    ...(talkSeconds !== undefined ? { talkSeconds } : {}),
  };
  if (r['outcome'] === 'random') {
    const w = r['weights'];
    if (w === null || typeof w !== 'object' || Array.isArray(w))
      throw badRequest('A random rule needs weights.');
    const weights: Partial<Record<Outcome, number>> = {};
    for (const [k, v] of Object.entries(w as Json)) {
      if (!OUTCOMES.includes(k as Outcome) || typeof v !== 'number' || !(v >= 0)) {
        throw badRequest(`weights keys are ${OUTCOMES.join(', ')} with non-negative numbers.`);
      }
      weights[k as Outcome] = v;
    }
    if (!Object.values(weights).some((v) => (v ?? 0) > 0))
      throw badRequest('weights need one positive value.');
    return { outcome: 'random', weights, ...timing };
  }
  if (!OUTCOMES.includes(r['outcome'] as Outcome)) {
    throw badRequest(`rule.outcome must be one of ${[...OUTCOMES, 'random'].join(', ')}.`);
  }
  return { outcome: r['outcome'] as Outcome, ...timing };
}

/** The simulator's own view of a conversation (for tests): the wire form plus bookkeeping. */
export function simConversationJson(platform: Platform, c: SimConversation): Json {
  return {
    id: c.id,
    queueId: c.queueId,
    phase: c.phase,
    endReason: c.endReason ?? null,
    createdAt: new Date(c.createdMs).toISOString(),
    callbackScheduledTime: new Date(c.scheduledMs).toISOString(),
    callbackNumbersMasked: c.callbackNumbers.map(maskNumber),
    callerId: c.callerId ?? null,
    data: c.data,
    conversation: platform.toWire(c),
  };
}

const SIM_HELP = {
  'GET /sim/org': 'the demo organization (OAuth client, queues, DIDs, customers, number rules)',
  'GET /sim/clock': 'simulator time',
  'POST /sim/clock': '{advanceMs} | {advanceSeconds} | {set: ISO}: move time forward, running due events',
  'GET /sim/counters': 'requests by endpoint and outcome (HTTP status, reset, noAnswer)',
  'DELETE /sim/counters': 'zero the counters',
  'GET /sim/conversations[?callbackId=]': 'every conversation (filter by data.callbackId)',
  'GET /sim/conversations/{id}': 'one conversation with its phase and end reason',
  'GET /sim/rules': 'per-number outcome rules and the default rule',
  'POST /sim/rules':
    '{number: "+1…" | "default", rule: {outcome: answer|noAnswer|failDtmf|busy|random, ...}}',
  'GET /sim/faults': 'active fault rules and endpoint names',
  'POST /sim/faults': '{endpoint, kind, rate?, latencyMs?, status?, times?} adds; {faults: [...]} replaces',
  'DELETE /sim/faults': 'remove every fault rule',
  'POST /sim/settings': '{requestsPerMinute?, analyticsLagMs?, tokenLifetimeSeconds?}',
  'POST /sim/queues/{id}': '{agents?: n, capacity?: {maxWaiting, mode: disconnect|refuse} | null}',
  'POST /sim/tokens/revoke': 'invalidate every access token',
  'POST /sim/reset': 'forget conversations, counters, faults, tokens, channels; restore rules',
};
