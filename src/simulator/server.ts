/**
 * The HTTP core: routing, bearer checks and the rate limit (api/auth.ts), fault injection,
 * request counters and the /sim control API (api/control.ts). The platform endpoints live in
 * api/*.ts by area. Plain node:http, so that faults can act on the socket itself (reset before
 * commit, commit then silence).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { analyticsRoutes } from './api/analytics.js';
import { Auth, OAuthError } from './api/auth.js';
import { callbackRoutes } from './api/callbacks.js';
import { handleControl } from './api/control.js';
import type { EndpointName, Json, Reply, Route, SimContext, SimSettings } from './api/http.js';
import { notificationRoutes } from './api/notifications.js';
import { callbackMediaSettings, routingRoutes } from './api/routing.js';
import type { Scheduler } from './clock.js';
import { ApiError, badRequest, notFound } from './errors.js';
import { Faults } from './faults.js';
import type { Platform } from './model.js';
import { HEARTBEAT_INTERVAL_MS, Notifications } from './notifications.js';
import type { SimOrgDef } from './org.js';
import type { Random } from './random.js';
import type { ViewContext } from './views.js';

export { checkNumberRule, simConversationJson } from './api/control.js';
export { ENDPOINTS, type EndpointName, type SimSettings } from './api/http.js';

export const MAX_BODY_BYTES = 1024 * 1024;

export class SimServer {
  readonly server: Server;
  readonly faults: Faults;
  readonly notifications: Notifications;
  readonly views: ViewContext;
  private readonly auth: Auth;
  private counters = new Map<string, Map<string, number>>();
  private readonly routes: Route[];
  url = '';

  constructor(
    private readonly org: SimOrgDef,
    readonly platform: Platform,
    readonly scheduler: Scheduler,
    private readonly random: Random,
    readonly settings: SimSettings,
    private readonly log: (line: string) => void,
    private readonly seed: number,
  ) {
    this.faults = new Faults(random);
    const views: ViewContext = { divisionId: org.divisionId, queueName: (id) => platform.queueName(id) };
    this.views = views;
    this.notifications = new Notifications(platform, () => scheduler.now(), log, views);
    const ctx: SimContext = { org, platform, scheduler, settings, notifications: this.notifications, views };
    this.auth = new Auth(ctx);
    this.routes = [
      ...this.auth.routes(),
      ...callbackRoutes(ctx),
      ...routingRoutes(ctx),
      ...analyticsRoutes(ctx),
      ...notificationRoutes(ctx),
    ];
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
    this.auth.revoke();
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
        mediaSettings: { callback: callbackMediaSettings(this.platform, def.id) },
        wrapupCodes: def.wrapupCodes,
        agents: q(def.id)?.agents.length ?? 0,
        capacity: q(def.id)?.capacity ?? null,
        flow: q(def.id)?.def.flow,
        agentWrapUps: q(def.id)?.def.agentWrapUps,
        agentOnUnreached: q(def.id)?.def.agentOnUnreached,
      })),
      dids: this.org.dids,
      customers: this.org.customers,
      numberRules: Object.fromEntries(this.platform.numberRules),
      defaultRule: this.platform.defaultRule,
      settings: { ...this.settings },
      requestsPerMinute: this.settings.requestsPerMinute,
      analyticsLagMs: this.settings.analyticsLagMs,
      notifications: {
        enabled: this.notifications.enabled,
        forbiddenTopics: [...this.notifications.forbiddenTopics],
      },
      carrierRejectsUnknownCallerId: this.platform.carrierRejectsUnknownCallerId,
      clock: { now: this.scheduler.nowIso(), mode: this.scheduler.mode },
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
      this.send(res, handleControl(this, method, path, url.searchParams, body));
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
        // A valid token still counts and gets its headers on a 404/405, as every answer does.
        if (req.headers.authorization && (req.url ?? '').startsWith('/api/v2/')) {
          try {
            this.auth.authenticate(req);
            this.auth.rateLimit(req, 'unknown', rateHeaders);
          } catch (err) {
            if (!(err instanceof ApiError) || err.status === 429) throw err;
          }
        }
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
        clientId = this.auth.authenticate(req);
        this.auth.rateLimit(req, route.endpoint, rateHeaders);
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
}
