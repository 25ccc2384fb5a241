/**
 * The shape of callbackd's configuration, validated with zod at start-up. Every default lives
 * here or in LIMITS; the loader (load.ts) only merges sources and reports problems.
 */
import { z } from 'zod';
import { LIMITS } from '../domain/limits.js';
import { normalisePhone } from '../domain/phone.js';
import { QueuePolicyObjectSchema, refineQueuePolicy } from '../domain/policy.js';
import { CALLBACK_STATUSES } from '../domain/types.js';

const httpUrl = z.string().refine((v) => /^https?:\/\/[^\s/]+/i.test(v) && URL.canParse(v), {
  message: 'expected an http:// or https:// URL',
});

const positiveInt = z.number().int().positive();

export const ServerSchema = z.strictObject({
  /** Interface to listen on; 127.0.0.1 unless you mean to expose callbackd. */
  host: z.string().min(1).default('127.0.0.1'),
  /** 0 = an ephemeral port (tests). */
  port: z.number().int().min(0).max(65_535).default(8080),
});

export const DEFAULT_LEDGER_URL = './data/callbackd.db';

export const LedgerSchema = z.strictObject({
  /** A SQLite file path (or ":memory:"), or a postgres:// URL. */
  url: z
    .string()
    .min(1)
    .refine((v) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(v) || /^postgres(?:ql)?:\/\//i.test(v), {
      message: 'expected a SQLite file path (e.g. ./data/callbackd.db) or a postgres:// URL',
    })
    .default(DEFAULT_LEDGER_URL),
});

export type LedgerKind = 'sqlite' | 'postgres';

export function ledgerKind(url: string): LedgerKind {
  return /^postgres(?:ql)?:\/\//i.test(url) ? 'postgres' : 'sqlite';
}

export const GenesysSchema = z
  .strictObject({
    /** e.g. mypurecloud.ie: API at https://api.<region>, login at https://login.<region>. */
    region: z
      .string()
      .regex(/^[a-z0-9-]+(?:\.[a-z0-9-]+)+$/i, { message: 'expected a region host such as mypurecloud.ie' })
      .optional(),
    /** API host URL; wins over region. */
    baseUrl: httpUrl.optional(),
    /** OAuth host URL; defaults to baseUrl (how a separately started simulator is used). */
    loginUrl: httpUrl.optional(),
    clientId: z.string().min(1).optional(),
    clientSecret: z.string().min(1).optional(),
    /** Client-side token bucket, per client-credentials token. */
    requestsPerMinute: positiveInt.default(LIMITS.genesysRequestsPerMinute),
    requestTimeoutMs: positiveInt.default(LIMITS.genesysRequestTimeoutMs),
  })
  .superRefine((g, ctx) => {
    if ((g.clientId === undefined) !== (g.clientSecret === undefined)) {
      const missing = g.clientId === undefined ? 'clientId' : 'clientSecret';
      ctx.addIssue({
        code: 'custom',
        path: [missing],
        message: `expected clientId and clientSecret together (set GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET), or neither for the built-in simulator`,
        input: undefined,
      });
    }
    if (
      (g.region !== undefined || g.baseUrl !== undefined) &&
      g.clientId === undefined &&
      g.clientSecret === undefined
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['clientId'],
        message:
          'expected OAuth client credentials (GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET) when a Genesys region or base URL is set; unset both to run the built-in simulator',
        input: undefined,
      });
    }
    if (g.loginUrl !== undefined && g.baseUrl === undefined && g.region === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['loginUrl'],
        message: 'expected baseUrl or region alongside loginUrl (loginUrl alone names no API host)',
        input: g.loginUrl,
      });
    }
  })
  .transform((g) => ({
    ...g,
    loginUrl: g.loginUrl ?? g.baseUrl,
  }));

export type GenesysEndpoints =
  | { mode: 'simulator' }
  | { mode: 'platform'; apiUrl: string; loginUrl: string; clientId: string; clientSecret: string };

/** Where to talk to Genesys: the platform (region or explicit URLs) or, without credentials, the built-in simulator. */
export function genesysEndpoints(g: z.output<typeof GenesysSchema>): GenesysEndpoints {
  if (g.clientId === undefined || g.clientSecret === undefined) return { mode: 'simulator' };
  const apiUrl = g.baseUrl ?? (g.region ? `https://api.${g.region}` : undefined);
  const loginUrl = g.loginUrl ?? (g.region ? `https://login.${g.region}` : apiUrl);
  if (apiUrl === undefined || loginUrl === undefined) {
    // Credentials without a host: the default region of the platform's own SDKs.
    return {
      mode: 'platform',
      apiUrl: 'https://api.mypurecloud.com',
      loginUrl: 'https://login.mypurecloud.com',
      clientId: g.clientId,
      clientSecret: g.clientSecret,
    };
  }
  return { mode: 'platform', apiUrl, loginUrl, clientId: g.clientId, clientSecret: g.clientSecret };
}

export const QueueConfigSchema = QueuePolicyObjectSchema.extend({
  /** Display name (dashboard, doctor). */
  name: z.string().min(1),
}).superRefine(refineQueuePolicy);

const e164 = z.string().transform((value, ctx) => {
  const normalised = normalisePhone(value);
  if (!normalised) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected an E.164 phone number such as +14155552671',
      input: value,
    });
    return z.NEVER;
  }
  return normalised;
});

export const CustomerRecordSchema = z.strictObject({
  externalId: z.string().min(1),
  firstName: z.string().optional(),
  lastName: z.string().optional(),
  /** The trusted numbers: callbacks are only ever dialled to these. */
  numbers: z.array(e164).min(1),
});
export type CustomerRecord = z.output<typeof CustomerRecordSchema>;

export const CustomersSchema = z
  .strictObject({
    /** builtin: `records` below; file: a JSON/YAML/CSV file of records; http: a lookup URL. */
    source: z.enum(['builtin', 'file', 'http']).default('builtin'),
    file: z.string().min(1).optional(),
    url: httpUrl.optional(),
    records: z.array(CustomerRecordSchema).default([]),
  })
  .superRefine((c, ctx) => {
    if (c.source === 'file' && c.file === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['file'],
        message: 'expected a file path when source is "file"',
        input: undefined,
      });
    }
    if (c.source === 'http' && c.url === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'expected a lookup URL when source is "http"',
        input: undefined,
      });
    }
    const seen = new Set<string>();
    c.records.forEach((r, i) => {
      if (seen.has(r.externalId)) {
        ctx.addIssue({
          code: 'custom',
          path: ['records', i, 'externalId'],
          message: 'expected each externalId once',
          input: r.externalId,
        });
      }
      seen.add(r.externalId);
    });
  });

const statusMapShape = Object.fromEntries(
  CALLBACK_STATUSES.map((s) => [s, z.string().min(1).optional()]),
) as Record<(typeof CALLBACK_STATUSES)[number], z.ZodOptional<z.ZodString>>;

export const CrmSchema = z
  .strictObject({
    webhookUrl: httpUrl.optional(),
    /** HMAC-SHA256 key for Callbackd-Signature. */
    secret: z.string().min(16, { message: 'expected a secret of at least 16 characters' }).optional(),
    /** CRM status per callback state; unset states use DEFAULT_CRM_STATUS. */
    statusMap: z.strictObject(statusMapShape).default({}),
  })
  .superRefine((c, ctx) => {
    if (c.webhookUrl !== undefined && c.secret === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['secret'],
        message:
          'expected a signing secret (CALLBACKD_CRM_WEBHOOK_SECRET) whenever a webhook URL is set: webhooks are always signed',
        input: undefined,
      });
    }
  });

export const TrackingSchema = z.strictObject({
  /**
   * 'poll' reads callbacks that can have changed; 'events' follows the platform's notification
   * channel (queue callback topics) instead, with the poll off and the sweep repairing gaps.
   */
  mode: z.enum(['poll', 'events']).default('poll'),
  /**
   * How the tracker reads callbacks: 'get' (one GET per callback read) or 'analytics' (one
   * analytics details query per 100 callbacks: far fewer platform calls, but it sees changes only
   * after the platform's analytics lag, seconds to minutes).
   */
  readMode: z.enum(['get', 'analytics']).default('get'),
  /**
   * Listen to the notification channel in poll mode too: its callback events settle an unclear
   * create within seconds (the look-up by callbackId reads them) and bring changes early. A few
   * platform calls a day; off = the look-up waits for the search and analytics windows.
   */
  channel: z.boolean().default(true),
  /** Event mode: no message (event or heartbeat, sent every 30 s) for this long → reconnect. */
  heartbeatTimeoutMs: positiveInt.default(60_000),
  /** How often callbacks that can have changed (due, dialing, recently changed) are polled. */
  pollIntervalMs: positiveInt.default(5_000),
  /** Reconciliation sweep of every non-terminal callback. */
  sweepIntervalMs: positiveInt.default(60_000),
  /** How long after a change a callback still counts as "recently changed". */
  recentWindowMs: positiveInt.default(300_000),
});

/**
 * The submitter's timings (engine/submitter.ts SUBMITTER_DEFAULTS when unset). Keep
 * genesys.requestTimeoutMs < sendWindowMs < leaseMs, and analyticsLagMs at least the platform's
 * real analytics lag: an unclear create is sent again only after sendWindowMs + analyticsLagMs.
 */
export const SubmitterSchema = z.strictObject({
  leaseMs: positiveInt.optional(),
  sendWindowMs: positiveInt.optional(),
  analyticsLagMs: positiveInt.optional(),
  lookupIntervalMs: positiveInt.optional(),
  firstLookupDelayMs: positiveInt.optional(),
  pollIntervalMs: positiveInt.optional(),
  retryBaseDelayMs: positiveInt.optional(),
  retryMaxDelayMs: positiveInt.optional(),
});

export const IntakeSchema = z.strictObject({
  requestsPerMinutePerKey: positiveInt.default(LIMITS.defaultRequestsPerMinutePerKey),
});

export const AmqpSchema = z.strictObject({
  url: z
    .string()
    .refine((v) => /^amqps?:\/\//i.test(v) && URL.canParse(v), {
      message: 'expected an amqp:// or amqps:// URL',
    })
    .optional(),
  /** Topic exchange the lifecycle events are published to. */
  exchange: z.string().min(1).default('callbackd.events'),
});

/** The supervisor dashboard. */
export const DashboardSchema = z.strictObject({
  /** Promise kept = first dialled at most this many minutes after the promised time (the stats' default). */
  promiseWindowMinutes: positiveInt.max(240).default(5),
});

/** Cluster mode (several instances on one PostgreSQL ledger). */
export const ClusterSchema = z
  .strictObject({
    /** How often each instance renews its membership and leases. */
    heartbeatIntervalMs: positiveInt.default(2_000),
    /** A member silent this long is gone; its leases (the listener's leadership) expire after it. */
    memberTimeoutMs: positiveInt.default(10_000),
  })
  .refine((c) => c.heartbeatIntervalMs * 2 <= c.memberTimeoutMs, {
    message:
      'expected memberTimeoutMs at least twice heartbeatIntervalMs (a single late heartbeat must not lose the leases)',
    path: ['memberTimeoutMs'],
  });

export const CallbackdConfigSchema = z
  .strictObject({
    server: ServerSchema.prefault({}),
    ledger: LedgerSchema.prefault({}),
    genesys: GenesysSchema.prefault({}),
    queues: z.record(z.string().min(1), QueueConfigSchema).default({}),
    customers: CustomersSchema.prefault({}),
    crm: CrmSchema.prefault({}),
    tracking: TrackingSchema.prefault({}),
    submitter: SubmitterSchema.prefault({}),
    intake: IntakeSchema.prefault({}),
    amqp: AmqpSchema.prefault({}),
    cluster: ClusterSchema.prefault({}),
    dashboard: DashboardSchema.prefault({}),
  })
  .superRefine((c, ctx) => {
    for (const [id, queue] of Object.entries(c.queues)) {
      if (queue.overflowQueueId === undefined) continue;
      if (queue.overflowQueueId === id) {
        ctx.addIssue({
          code: 'custom',
          path: ['queues', id, 'overflowQueueId'],
          message: 'expected another queue than the queue itself',
          input: queue.overflowQueueId,
        });
      } else if (!(queue.overflowQueueId in c.queues)) {
        ctx.addIssue({
          code: 'custom',
          path: ['queues', id, 'overflowQueueId'],
          message: `expected the id of a configured queue (${Object.keys(c.queues).join(', ')})`,
          input: queue.overflowQueueId,
        });
      }
    }
  });

/** The validated configuration, defaults applied. */
export type CallbackdConfig = z.output<typeof CallbackdConfigSchema>;
/** What a config file may write (every section and most keys optional). */
export type CallbackdConfigInput = z.input<typeof CallbackdConfigSchema>;
export type QueueConfig = CallbackdConfig['queues'][string];
