/**
 * The one policy object: every default and limit of callbackd in one place (pg-boss style), each
 * name carrying its unit. Components take these as their defaults; the config schema takes its
 * defaults from here; `checkPolicy` validates the relations between values of a loaded config at
 * start-up (docs/ARCHITECTURE.md, "How to add a config key").
 *
 * The request and queue-policy limits the domain enforces stay in the domain (domain/limits.ts,
 * which must not import outside the domain) and are part of this object as `limits`.
 */
import { LIMITS } from './domain/limits.js';

export const POLICY = {
  limits: LIMITS,

  server: {
    /** `serve` exits within this after SIGTERM/SIGINT, whatever the backlog or the platform's state. */
    shutdownTimeoutMs: 10_000,
  },

  intake: {
    requestsPerMinutePerKey: LIMITS.defaultRequestsPerMinutePerKey,
  },

  dashboard: {
    /** Promise kept = first dialled at most this many minutes after the promised time. */
    promiseWindowMinutes: 5,
  },

  genesys: {
    /** Client-side token bucket (Genesys: 300 per minute per client-credentials token). */
    requestsPerMinute: LIMITS.genesysRequestsPerMinute,
    /** Per attempt, reading the answer included. */
    requestTimeoutMs: LIMITS.genesysRequestTimeoutMs,
    /** Retries per call for 429/503/refused connections (and, for safe requests, unclear failures). */
    maxRetries: 4,
    /** Full-jitter backoff of those retries. */
    baseDelayMs: 500,
    maxDelayMs: 30_000,
    /** A Retry-After longer than this is handed to the caller instead of being waited out. */
    maxRetryAfterMs: 60_000,
    pageSize: 100,
    /** Safety stop for paged reads. */
    maxPages: 50,
  },

  jobs: {
    /** Retry delay of a job whose handler threw, when its task says nothing else. */
    errorRetryMs: 10_000,
  },

  submit: {
    /** Jobs leased per iteration, and handled at once within a batch. */
    batchSize: 20,
    concurrency: 4,
    /** Job lease; must exceed sendWindowMs plus a look-up. */
    leaseMs: 60_000,
    /** Sleep between iterations that found no job. */
    pollIntervalMs: 1_000,
    /** How long the platform's analytics may take to show a new conversation. */
    analyticsLagMs: 60_000,
    /** Spacing of look-ups while waiting out the analytics lag. */
    lookupIntervalMs: 10_000,
    /** First look-up after an unclear create (the channel's events usually carry it by then). */
    firstLookupDelayMs: 3_000,
    /** Longest time from marking an attempt in flight to the start of its last request byte. */
    sendWindowMs: 30_000,
    /** Backoff (full jitter) of creates that were surely not applied (429/503/unreachable). */
    retryBaseDelayMs: 5_000,
    retryMaxDelayMs: 300_000,
  },

  capacity: {
    /** How long one observation of a queue is reused. */
    cacheMs: 5_000,
    /** A full queue defers the submit by a uniform delay in [deferMinMs, deferMaxMs]. */
    deferMinMs: 60_000,
    deferMaxMs: 180_000,
  },

  cancel: {
    /** When the first follow-up look-up for a conversation a concurrent submit may have created runs. */
    followupDelayMs: 15_000,
  },

  cancelFollowup: {
    batchSize: 20,
    leaseMs: 60_000,
    idleDelayMs: 5_000,
    /** Look-ups per follow-up job (analytics lags): at +15 s, then +1 min, +2 min, +4 min. */
    checks: 4,
    spacingMs: 60_000,
  },

  reschedule: {
    /** When the follow-up patch of a create request that was in flight runs. */
    followupDelayMs: 15_000,
  },

  rescheduleFollowup: {
    batchSize: 20,
    leaseMs: 60_000,
    idleDelayMs: 5_000,
    /** Runs before giving up on a callback whose submit never records (it was cancelled or ended). */
    maxRuns: 10,
    retryDelayMs: 15_000,
  },

  tracking: {
    /** How often callbacks that can have changed (due, dialling, recently changed) are polled. */
    pollIntervalMs: 5_000,
    /** Reconciliation sweep of every non-terminal callback. */
    sweepIntervalMs: 60_000,
    /**
     * How long after a change a callback still counts as "recently changed" and is polled before
     * it is due: reads at +5 s, +15 s and +45 s after the change (README, "How tracking works").
     * Was 300 000 in the config schema and 120 000 in the tracker; 120 000 won because it gives
     * exactly the documented three reads (300 000 added a fourth at +135 s that nothing needs).
     */
    recentWindowMs: 120_000,
    /** Event mode: no message (event or heartbeat, sent every 30 s) for this long → reconnect. */
    heartbeatTimeoutMs: 60_000,
    /** Callbacks read per poll at most (the rest wait for the next poll, least recently read first). */
    pollBatchSize: 200,
    /** Page size of the sweep's walk, and platform reads per sweep at most. */
    sweepPageSize: 200,
    sweepMaxChecks: 200,
    /** Bounds of how often the sweep re-reads a callback that is not yet due. */
    sweepMinFutureSpacingMs: 10 * 60_000,
    sweepMaxSpacingMs: 6 * 3_600_000,
    /** Platform reads in flight at once. */
    concurrency: 4,
    /** Longest spacing of reads of a live call that has not changed (tracker nextPollAt). */
    activeMaxSpacingMs: 30_000,
    /** A platform-side schedule/queue change is recorded only once the ledger row has been still this long. */
    platformChangeSettleMs: 60_000,
  },

  notifications: {
    heartbeatTimeoutMs: 60_000,
    /** Move to a new channel this long before the current one expires. */
    renewBeforeExpiryMs: 10 * 60_000,
    /** Reconnect backoff (full jitter). */
    reconnectBaseDelayMs: 1_000,
    reconnectMaxDelayMs: 60_000,
    /** How often (wall time) the listener checks heartbeat silence and channel expiry. */
    watchIntervalMs: 1_000,
  },

  webhook: {
    /** Per-request timeout. */
    timeoutMs: 10_000,
    batchSize: 50,
    /** How long a leased row stays invisible to other workers; longer than timeoutMs. */
    leaseMs: 60_000,
    /** Delivery attempts before the row becomes a dead letter. */
    maxAttempts: 12,
    /** Backoff after a failure: doubles per attempt, ±25 % jitter. */
    backoffBaseMs: 5_000,
    backoffMaxMs: 3_600_000,
    /** Callbacks whose rows are delivered at once. */
    concurrency: 4,
  },

  amqp: {
    exchange: 'callbackd.events',
    batchSize: 100,
    leaseMs: 60_000,
    maxAttempts: 12,
    backoffBaseMs: 5_000,
    backoffMaxMs: 3_600_000,
    /** Connection and publisher-confirm timeout. */
    timeoutMs: 10_000,
  },
} as const;

export type Policy = typeof POLICY;

/** One broken relation between configured values. */
export interface PolicyProblem {
  /** Dotted config key. */
  key: string;
  message: string;
}

/** The values `checkPolicy` relates (a loaded config supplies them; absent ones take POLICY's). */
export interface PolicyInput {
  genesys: { requestTimeoutMs: number };
  submitter: { leaseMs?: number | undefined; sendWindowMs?: number | undefined };
  server?: { shutdownTimeoutMs?: number | undefined };
}

/**
 * The relations between values that each pass validation alone but not together; checked at
 * start-up so a bad combination stops `serve` with a message instead of misbehaving later.
 */
export function checkPolicy(c: PolicyInput): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const requestTimeoutMs = c.genesys.requestTimeoutMs;
  const sendWindowMs = c.submitter.sendWindowMs ?? POLICY.submit.sendWindowMs;
  const leaseMs = c.submitter.leaseMs ?? POLICY.submit.leaseMs;
  if (!(requestTimeoutMs < sendWindowMs)) {
    problems.push({
      key: 'submitter.sendWindowMs',
      message: `expected more than genesys.requestTimeoutMs (${requestTimeoutMs}): a create attempt must be able to finish inside the send window; got ${sendWindowMs}`,
    });
  }
  if (!(sendWindowMs < leaseMs)) {
    problems.push({
      key: 'submitter.leaseMs',
      message: `expected more than submitter.sendWindowMs (${sendWindowMs}): a create must never be sent after the lease that guards it has expired; got ${leaseMs}`,
    });
  }
  return problems;
}
