/**
 * The composition root: builds a running callbackd from a config — ledger, Genesys client (or the
 * in-process simulator when no credentials are configured), engine workers and the HTTP API — and
 * takes it down in order on close().
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { createAmqpPublisher } from './adapters/amqp.js';
import { createWebhookDelivery } from './adapters/crm-webhook.js';
import { type TrustedNumberLookup, trustedNumbersFromConfig } from './adapters/customers.js';
import { createEventsListener } from './adapters/notifications.js';
import { dashboardRoutes } from './api/dashboard-routes.js';
import { createApiKey, hashKey, KEY_PATTERN, randomBase62, verifyApiKey } from './api/keys.js';
import { createLogger } from './api/logger.js';
import { createApiMetrics } from './api/metrics.js';
import { createBudgetSampler } from './api/platform-budget.js';
import { apiRoutes, type QueueInfo } from './api/routes.js';
import { buildServer } from './api/server.js';
import { createSessions } from './api/session.js';
import { createTransitionStreams } from './api/transition-stream.js';
import { ledgerCapacityCache } from './cluster/capacity-cache.js';
import { readClaimer, sharedSweepPosition } from './cluster/claims.js';
import {
  type ClusterMode,
  type ClusterView,
  EVENTS_LISTENER_LEASE,
  type LeaderRole,
  localClusterView,
  lockSqliteLedger,
  memberIdentity,
  openClusterMode,
} from './cluster/index.js';
import { registerClusterMetrics } from './cluster/metrics.js';
import { type CallbackdConfig, genesysEndpoints } from './config/schema.js';
import { seedDemoCallbacks, withDemoCustomers } from './demo-traffic.js';
import { type Clock, SCOPES, systemClock } from './domain/types.js';
import { createGenesysClient, type GenesysClient, type GenesysClientOptions } from './genesys/client.js';
import { createCallbackEventIndex, createCallbackLookup } from './genesys/lookup.js';
import { bucketBurst } from './genesys/rate-limit.js';
import { cancelFollowupTask } from './jobs/cancel-followup.js';
import { createCapacityGate, type SharedCapacityCache } from './jobs/capacity.js';
import { WorkerLoop } from './jobs/loop.js';
import { rescheduleFollowupTask } from './jobs/reschedule-followup.js';
import { JobRuntime } from './jobs/runtime.js';
import { submitTask } from './jobs/submit.js';
import { createTracker, type TrackerOptions } from './jobs/tracker.js';
import type { EventChannel } from './ledger/events.js';
import { isPostgresUrl, openStore } from './ledger/index.js';
import type { Store } from './ledger/port.js';
import { DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, type Simulator, startSimulator } from './simulator/index.js';

/** Keep equal to package.json's version (the CLI states it too). */
export const VERSION = '0.1.0';
export const DEMO_TENANT = 'demo';
export const DEMO_KEY_FILE = 'demo-api-key';

export interface AppOptions {
  config: CallbackdConfig;
  /** Overrides config.server.port (0 = ephemeral). */
  port?: number;
  host?: string;
  logger?: Logger;
  /** Start the engine workers (default true). */
  workers?: boolean;
  /** Simulator mode only: start the simulator with a manual clock at this instant (tests), instead of real time. */
  simulatorStartTime?: number;
  /** Where the built dashboard (index.html, assets/) lives (default: the package's dist/web, built by `npm run build`). */
  webDir?: string;
  /** Simulator mode only: schedule demo callbacks on a first start (serve --demo, i.e. npm start). */
  demoTraffic?: boolean;
  /** Retry tuning of the Genesys client (tests, benchmarks); defaults otherwise. */
  genesysRetry?: Pick<GenesysClientOptions, 'maxRetries' | 'baseDelayMs' | 'maxDelayMs'>;
}

export interface App {
  url: string;
  mode: 'simulator' | 'platform';
  /** Simulator mode only: the demo API key (tenant demo, all scopes). */
  demoKey: string | null;
  simulator: Simulator | null;
  store: Store;
  clock: Clock;
  genesys: GenesysClient;
  workers: readonly Worker[];
  close(): Promise<void>;
}

/** A running engine worker: its name, and stop() that finishes the item in hand and releases its leases. */
export interface Worker {
  name: string;
  stop(): Promise<void>;
  /** Cuts an idle sleep short (new work arrived). */
  wake(): void;
}

const packageRoot = fileURLToPath(new URL('..', import.meta.url));

/** Where the ledger's neighbours (the demo key file) live: the SQLite file's folder, else ./data. */
export function dataDir(ledgerUrl: string): string {
  if (/^postgres(ql)?:\/\//i.test(ledgerUrl) || ledgerUrl === ':memory:') return resolve('data');
  return dirname(resolve(ledgerUrl.replace(/^sqlite:/, '')));
}

export function trustedLookupFrom(config: CallbackdConfig): TrustedNumberLookup {
  return trustedNumbersFromConfig(config.customers);
}

export function queuesFrom(config: CallbackdConfig): Map<string, QueueInfo> {
  return new Map(Object.entries(config.queues).map(([id, q]) => [id, { name: q.name, policy: q }]));
}

/**
 * The demo key survives restarts on the same data dir: it is kept in <dataDir>/demo-api-key
 * (mode 0600) and re-created when missing or no longer valid in the ledger.
 */
export async function ensureDemoKey(store: Store, clock: Clock, dir: string | null): Promise<string> {
  const file = dir ? join(dir, DEMO_KEY_FILE) : null;
  if (file && existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    const live = KEY_PATTERN.test(key) ? await verifyApiKey(store, key) : undefined;
    if (live && live.tenantId === DEMO_TENANT) return key;
  }
  const { key } = await createApiKey(store, {
    tenantId: DEMO_TENANT,
    scopes: [...SCOPES],
    name: 'demo (simulator mode)',
    clock,
  });
  if (file) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
  }
  return key;
}

/** Against the real platform the demo key must not work: revoke it and forget it. */
async function retireDemoKey(store: Store, clock: Clock, dir: string, log: Logger): Promise<void> {
  const file = join(dir, DEMO_KEY_FILE);
  if (!existsSync(file)) return;
  const key = readFileSync(file, 'utf8').trim();
  const record = await store.findApiKeyByHash(hashKey(key));
  if (record && record.revokedAt === null) await store.revokeApiKey(record.id, clock.now());
  rmSync(file, { force: true });
  log.warn({ keyId: record?.id }, 'revoked the simulator-mode demo API key: the real platform is configured');
}

export function eventChannels(config: CallbackdConfig): EventChannel[] {
  const channels: EventChannel[] = [];
  if (config.crm.webhookUrl) channels.push('webhook');
  if (config.amqp.url) channels.push('amqp');
  return channels;
}

function startWorkers(
  config: CallbackdConfig,
  deps: {
    store: Store;
    genesys: GenesysClient;
    clock: Clock;
    log: Logger;
    channels: EventChannel[];
    workerId: string;
    /** Cluster mode: work only one instance may do is handed to the leader election instead of started. */
    lead?: (role: LeaderRole) => void;
    /** Cluster mode: tracking reads claimed per instance, the sweep's position shared. */
    trackingSplit?: Pick<TrackerOptions, 'claimReads' | 'sweepPosition'>;
    /** Cluster mode: queue observations cached in the ledger for every instance. */
    sharedCapacity?: SharedCapacityCache;
  },
): Worker[] {
  const { store, genesys, clock, log, channels, workerId } = deps;
  const policies = (queueId: string) => config.queues[queueId];
  const onError = (err: unknown) => log.error({ err }, 'worker item failed');
  // Loops that hold no job leases (tracker, outbox deliverers): nothing of theirs to release.
  const loops: { name: string; loop: WorkerLoop }[] = [];
  const loop = (
    name: string,
    idleDelayMs: number,
    iterate: () => Promise<unknown>,
    onStop?: () => Promise<void>,
  ) => {
    loops.push({
      name,
      loop: new WorkerLoop({ name, idleDelayMs, iterate, logger: log, ...(onStop ? { onStop } : {}) }),
    });
  };
  // The job kinds: one leased loop each, each releasing only its own leases on stop.
  const jobs = new JobRuntime({ store, clock, workerId, logger: log });

  // The look-up by callbackId (unclear creates, cancels of in-flight creates) reads the channel's
  // callback events first; search and analytics windows carry it when the channel is down.
  const eventIndex = createCallbackEventIndex();
  const lag = config.submitter.analyticsLagMs;
  const lookup = createCallbackLookup({
    genesys,
    clock,
    events: eventIndex,
    searchLagMs: lag,
    detailsLagMs: lag,
  });
  const submitter = jobs.register(
    submitTask({
      store,
      genesys,
      clock,
      workerId,
      lookup,
      capacity: createCapacityGate({
        genesys,
        clock,
        policies,
        ...(deps.sharedCapacity ? { shared: deps.sharedCapacity } : {}),
      }),
      policies,
      channels,
      logger: log,
      ...config.submitter,
    }),
  );

  const eventMode = config.tracking.mode === 'events';
  const tracker = createTracker({
    store,
    genesys,
    clock,
    policies,
    channels,
    // Event mode: events bring the changes; runOnce only runs the sweep, which repairs gaps.
    poll: !eventMode,
    readMode: config.tracking.readMode,
    pollIntervalMs: config.tracking.pollIntervalMs,
    sweepIntervalMs: config.tracking.sweepIntervalMs,
    recentChangeWindowMs: config.tracking.recentWindowMs,
    onError,
    ...deps.trackingSplit,
  });
  loop('tracker', config.tracking.pollIntervalMs, () => tracker.runOnce());
  const listener =
    eventMode || config.tracking.channel
      ? createEventsListener({
          store,
          genesys,
          tracker,
          clock,
          eventIndex,
          queueIds: Object.keys(config.queues),
          heartbeatTimeoutMs: config.tracking.heartbeatTimeoutMs,
          onError: (err, context) => log.warn({ err, context }, 'tracking events listener'),
          onState: (state, detail) => log.info({ ...detail, state }, 'tracking events channel'),
        })
      : null;

  jobs.register(cancelFollowupTask({ store, genesys, lookup, clock }));
  jobs.register(rescheduleFollowupTask({ store, genesys, clock, policies }));

  if (config.crm.webhookUrl && config.crm.secret) {
    const delivery = createWebhookDelivery(store, clock, {
      url: config.crm.webhookUrl,
      secret: config.crm.secret,
      crmStatusMap: config.crm.statusMap,
    });
    loop('webhook-delivery', 1_000, async () => {
      const r = await delivery.runOnce();
      return r.delivered + r.failed + r.dead > 0;
    });
  }
  if (config.amqp.url) {
    const publisher = createAmqpPublisher(store, clock, {
      url: config.amqp.url,
      exchange: config.amqp.exchange,
    });
    loop(
      'amqp-publisher',
      1_000,
      async () => {
        const r = await publisher.runOnce();
        return r.published + r.failed + r.dead > 0;
      },
      () => publisher.close(),
    );
  }
  jobs.start();
  for (const l of loops) l.loop.start();
  if (listener && deps.lead) {
    deps.lead({ lease: EVENTS_LISTENER_LEASE, start: () => listener.start(), stop: () => listener.stop() });
  } else {
    listener?.start();
  }
  return [
    ...jobs.loops.map((l) => ({
      name: l === submitter ? 'submitter' : `${l.kind}-followup`,
      stop: () => l.stop(),
      wake: () => l.wake(),
    })),
    ...(listener ? [{ name: 'tracking-events', stop: () => listener.stop(), wake: () => {} }] : []),
    ...loops.map(({ name, loop: l }) => ({ name, stop: () => l.stop(), wake: () => l.wake() })),
  ];
}

export async function startApp(opts: AppOptions): Promise<App> {
  const config =
    opts.demoTraffic && genesysEndpoints(opts.config.genesys).mode === 'simulator'
      ? withDemoCustomers(opts.config)
      : opts.config;
  const log = opts.logger ?? createLogger();
  const endpoints = genesysEndpoints(config.genesys);
  const postgres = isPostgresUrl(config.ledger.url);
  // SQLite takes one process per file: a second serve on it is refused before anything starts.
  const sqliteLock =
    !postgres && config.ledger.url !== ':memory:'
      ? lockSqliteLedger(config.ledger.url.replace(/^sqlite:/, ''))
      : null;
  const store = openStore(config.ledger.url);
  const cleanups: (() => Promise<void>)[] = [async () => sqliteLock?.release(), () => store.close()];
  const cleanup = async () => {
    for (const fn of cleanups.reverse())
      await fn().catch((err) => log.error({ err }, 'shutdown step failed'));
  };
  try {
    await store.migrate();
    const memberId = `${hostname()}-${process.pid}-${randomBase62(6)}`;
    const identity = memberIdentity(memberId, config, VERSION);
    let cluster: ClusterMode | null = null;
    if (postgres) {
      cluster = openClusterMode({
        ledgerUrl: config.ledger.url,
        config,
        identity,
        now: () => clock.now(),
        onError: (err, context) => log.warn({ err, context }, 'cluster coordination'),
        onLeadership: (lease, held, token) =>
          log.info({ lease, held, token, member: memberId }, 'cluster lease'),
      });
      const c = cluster;
      cleanups.push(() => c.close());
    }

    let simulator: Simulator | null = null;
    let clock: Clock = systemClock;
    let genesys: GenesysClient;
    if (endpoints.mode === 'simulator') {
      simulator = await startSimulator({
        realTime: opts.simulatorStartTime === undefined,
        ...(opts.simulatorStartTime === undefined ? {} : { startTime: opts.simulatorStartTime }),
        log: (line) => log.info({ component: 'simulator' }, line),
      });
      cleanups.push(() => simulator!.close());
      clock = simulator.clock;
      genesys = createGenesysClient({
        baseUrl: simulator.url,
        clientId: DEMO_CLIENT_ID,
        clientSecret: DEMO_CLIENT_SECRET,
        requestsPerMinute: config.genesys.requestsPerMinute,
        requestTimeoutMs: config.genesys.requestTimeoutMs,
        ...(cluster ? { limiter: cluster.budget } : {}),
        logger: log,
        clock,
        ...opts.genesysRetry,
      });
    } else {
      genesys = createGenesysClient({
        baseUrl: endpoints.apiUrl,
        loginUrl: endpoints.loginUrl,
        clientId: endpoints.clientId,
        clientSecret: endpoints.clientSecret,
        requestsPerMinute: config.genesys.requestsPerMinute,
        requestTimeoutMs: config.genesys.requestTimeoutMs,
        ...(cluster ? { limiter: cluster.budget } : {}),
        logger: log,
        clock,
        ...opts.genesysRetry,
      });
    }
    cleanups.push(() => genesys.close());

    const dir = config.ledger.url === ':memory:' ? null : dataDir(config.ledger.url);
    let demoKey: string | null = null;
    if (simulator) demoKey = await ensureDemoKey(store, clock, dir);
    else if (dir) await retireDemoKey(store, clock, dir, log);

    const channels = eventChannels(config);
    let workers: Worker[] = [];
    const clusterView: ClusterView =
      cluster ??
      localClusterView(identity, config, Date.now(), bucketBurst(config.genesys.requestsPerMinute));
    const perMinute = config.intake.requestsPerMinutePerKey;
    const metrics = createApiMetrics({ defaultMetrics: true });
    registerClusterMetrics(metrics.registry, clusterView);
    const queues = queuesFrom(config);
    const webDir = opts.webDir ?? join(packageRoot, 'dist', 'web');
    const ledger = { db: store.kysely, dialect: store.dialect };
    const sessions = createSessions(ledger);
    const streams = createTransitionStreams(ledger, {
      onError: (err) => log.warn({ err }, 'transition stream ended: ledger read failed'),
    });
    const budget = createBudgetSampler({
      stats: () => genesys.stats(),
      requestsPerMinute: config.genesys.requestsPerMinute,
    });
    cleanups.push(async () => budget.stop());
    const api = apiRoutes({
      clock,
      queues,
      trusted: trustedLookupFrom(config),
      genesys,
      channels,
      version: VERSION,
      webDir,
      onAccepted: () => workers.find((w) => w.name === 'submitter')?.wake(),
      cluster: clusterView,
      extraRoutes: dashboardRoutes({
        ledger,
        sessions,
        clock,
        queues,
        budget,
        streams,
        webDir,
        promiseWindowMinutes: config.dashboard.promiseWindowMinutes,
      }),
    });
    const server = await buildServer({
      store,
      sessions,
      preClose: () => streams.closeAll(),
      logger: log,
      metrics,
      // A tenth of a minute's allowance may arrive at once; the rest at the sustained rate.
      intake: { ratePerSecond: perMinute / 60, burst: Math.max(1, Math.floor(perMinute / 10)) },
      routes: api,
    });
    const roles: LeaderRole[] = [];
    workers =
      opts.workers === false
        ? []
        : startWorkers(config, {
            store,
            genesys,
            clock,
            log,
            channels,
            workerId: memberId,
            ...(cluster
              ? {
                  lead: (role: LeaderRole) => roles.push(role),
                  sharedCapacity: ledgerCapacityCache(store.kysely),
                  trackingSplit: {
                    claimReads: readClaimer(store.kysely, () => clock.now()),
                    sweepPosition: sharedSweepPosition(store.kysely, memberId),
                  },
                }
              : {}),
          });
    // Stop order (cleanups run in reverse): HTTP first (in-flight requests finish), then the
    // workers (each releases its leases), then the cluster membership (the leader leases go at
    // once, so another instance takes over), then the platform client, the simulator, the ledger.
    if (cluster) {
      const c = cluster;
      await c.start(roles);
      cleanups.push(() => c.leave());
    }
    cleanups.push(async () => {
      await Promise.all(workers.map((w) => w.stop()));
    });
    cleanups.push(() => server.close());
    const url = await server.listen({
      host: opts.host ?? config.server.host,
      port: opts.port ?? config.server.port,
    });
    const [demoQueueId, demoQueue] = Object.entries(config.queues)[0] ?? [];
    if (simulator && opts.demoTraffic && demoQueueId && demoQueue?.dids[0]) {
      const made = await seedDemoCallbacks(
        {
          store,
          clock,
          policies: (id) => config.queues[id],
          trusted: trustedLookupFrom(config),
          channels,
          queueId: demoQueueId,
          wrapUpCode: demoQueue.wrapUpCodes[0] ?? 'PROGRAMMATIC_CALLBACK',
          did: demoQueue.dids[0].number,
          log,
        },
        DEMO_TENANT,
      );
      if (made > 0) workers.find((w) => w.name === 'submitter')?.wake();
    }

    let closed: Promise<void> | undefined;
    return {
      url,
      mode: endpoints.mode,
      demoKey,
      simulator,
      store,
      clock,
      genesys,
      workers,
      close: () => {
        closed ??= cleanup();
        return closed;
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
