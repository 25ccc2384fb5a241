/**
 * Starts the real API server on 127.0.0.1:0 over a real SQLite ledger in a temp dir, with a
 * settable clock, the demo queues and the demo customer. Tests talk to it over HTTP only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { staticTrustedNumbers, type TrustedNumberLookup } from '../../src/adapters/customers.js';
import { dashboardRoutes } from '../../src/api/dashboard-routes.js';
import { createApiKey } from '../../src/api/keys.js';
import { createBudgetSampler } from '../../src/api/platform-budget.js';
import { apiRoutes, type QueueInfo } from '../../src/api/routes.js';
import { buildServer } from '../../src/api/server.js';
import { createSessions } from '../../src/api/session.js';
import { createTransitionStreams } from '../../src/api/transition-stream.js';
import { defaultConfigInput } from '../../src/config/defaults.js';
import { CallbackdConfigSchema } from '../../src/config/schema.js';
import { type Clock, SCOPES, type Scope } from '../../src/domain/types.js';
import type { GenesysPort } from '../../src/genesys/port.js';
import { KyselyStore, openStore } from '../../src/ledger/index.js';
import type { Store } from '../../src/ledger/port.js';

/** Monday 2030-01-07 10:00 in New York: inside both demo queues' hours and the calling window. */
export const T0 = Date.parse('2030-01-07T15:00:00.000Z');
export const SUPPORT = 'a1b2c3d4-e5f6-7890-abcd-ef1234567890';
export const BILLING = 'b2c3d4e5-f6a7-8901-bcde-f12345678901';

export class ManualClock implements Clock {
  constructor(public ms = T0) {}
  now(): number {
    return this.ms;
  }
}

/** The guide's example body, one hour after T0. */
export function guideBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    callbackNumber: '+14155552671',
    callbackFrom: '+18005551234',
    callbackTo: '+18005551234',
    scheduledTime: '2030-01-07T16:00:00.000Z',
    timeout: 300,
    routingData: { queueId: SUPPORT, priority: 5, wrapUpCode: 'PROGRAMMATIC_CALLBACK' },
    mediaType: 'voice',
    customerData: { externalId: 'CRM-998271', firstName: 'Marcus', lastName: 'Vance' },
    ...overrides,
  };
}

export function demoQueues(): Map<string, QueueInfo> {
  const config = CallbackdConfigSchema.parse(defaultConfigInput());
  return new Map(Object.entries(config.queues).map(([id, q]) => [id, { name: q.name, policy: q }]));
}

/** A GenesysPort for tests that must not reach the platform: every call fails loudly. */
export const unreachablePlatform: GenesysPort = new Proxy({} as GenesysPort, {
  get: (_t, prop) => () =>
    Promise.reject(new Error(`platform call ${String(prop)} not expected in this test`)),
});

// biome-ignore lint/suspicious/noExplicitAny: tests read answer bodies loosely and assert on them
export type AnyJson = any;

export interface TestApi {
  url: string;
  store: Store;
  clock: ManualClock;
  keys: Record<'all' | 'view' | 'create' | 'edit' | 'other', string>;
  keyFor(tenant: string, scopes: Scope[]): Promise<string>;
  call(
    method: string,
    path: string,
    opts?: { key?: string | null; body?: unknown; raw?: string | Buffer; headers?: Record<string, string> },
  ): Promise<{ status: number; headers: Headers; body: AnyJson; text: string }>;
  /** The counters the overview's platform budget reads (tests set them). */
  platformStats: { requests: number; retries: number; throttled: number; tokenRequests: number };
  close(): Promise<void>;
}

export async function startTestApi(
  opts: {
    ratePerMinute?: number;
    genesys?: GenesysPort;
    bodyLimitBytes?: number;
    trusted?: TrustedNumberLookup;
    /** Instead of the demo queues. */
    queues?: Map<string, QueueInfo>;
    /** Instead of a SQLite ledger in a temp dir (migrated and closed by the harness). */
    store?: Store;
    /** The routes' clock instead of `TestApi.clock` (e.g. a simulator clock). */
    routeClock?: Clock;
  } = {},
): Promise<TestApi> {
  const dir = mkdtempSync(join(tmpdir(), 'callbackd-api-'));
  const store = opts.store ?? openStore(join(dir, 'ledger.db'));
  await store.migrate();
  const clock = new ManualClock();
  const perMinute = opts.ratePerMinute ?? 60_000;
  const webDir = fileURLToPath(new URL('../../dist/web', import.meta.url));
  // The dashboard's read models query the ledger directly, so they need the Kysely-backed store.
  if (!(store instanceof KyselyStore)) throw new Error('startTestApi needs a store from openStore()');
  const ledger = { db: store.kysely, dialect: store.dialect };
  const sessions = createSessions(ledger);
  const streams = createTransitionStreams(ledger, { pollIntervalMs: 50 });
  const platformStats = {
    requests: 0,
    retries: 0,
    throttled: 0,
    tokenRequests: 0,
    headersSeen: 0,
    pacedRequests: 0,
    pacedMs: 0,
  };
  const budget = createBudgetSampler({ stats: () => platformStats, requestsPerMinute: 300 });
  const app = await buildServer({
    store,
    sessions,
    preClose: () => streams.closeAll(),
    intake: { ratePerSecond: perMinute / 60, burst: Math.max(1, Math.floor(perMinute / 10)) },
    logger: pino({ level: 'silent' }),
    ...(opts.bodyLimitBytes ? { bodyLimitBytes: opts.bodyLimitBytes } : {}),
    routes: apiRoutes({
      clock: opts.routeClock ?? clock,
      queues: opts.queues ?? demoQueues(),
      trusted: opts.trusted ?? staticTrustedNumbers(),
      genesys: opts.genesys ?? unreachablePlatform,
      version: 'test',
      webDir,
      extraRoutes: dashboardRoutes({
        ledger,
        sessions,
        clock: opts.routeClock ?? clock,
        queues: opts.queues ?? demoQueues(),
        budget,
        streams,
        webDir,
      }),
    }),
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const keyFor = async (tenant: string, scopes: Scope[]) =>
    (await createApiKey(store, { tenantId: tenant, scopes, clock })).key;
  const keys = {
    all: await keyFor('acme', [...SCOPES]),
    view: await keyFor('acme', ['routing:callback:view']),
    create: await keyFor('acme', ['routing:callback:create']),
    edit: await keyFor('acme', ['routing:callback:edit']),
    other: await keyFor('globex', [...SCOPES]),
  };
  return {
    url,
    store,
    clock,
    keys,
    keyFor,
    async call(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      const key = o.key === undefined ? keys.all : o.key;
      if (key !== null) headers.authorization = `Bearer ${key}`;
      let body: string | Buffer | undefined = o.raw;
      if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(url + path, { method, headers, ...(body === undefined ? {} : { body }) });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {}
      return { status: res.status, headers: res.headers, body: parsed, text };
    },
    platformStats,
    async close() {
      budget.stop();
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
