/**
 * The submitter: turns each accepted callback into exactly one callback on the platform
 * (DESIGN.md §3). Genesys has no idempotency key on creation, so the ledger provides it:
 *
 * 1. Lease a `submit` job. A callback no longer `accepted` needs nothing: the job is done.
 * 2. Before sending, mark the attempt in flight (`submitInFlightAt`) in the ledger.
 * 3. Send the create request, carrying `data.callbackId` (and the tenant), within a send window
 *    that ends well before the lease does, so no byte is sent once another worker may own the job.
 * 4. Record the answer: accepted → pending with the conversation id; a final refusal → rejected;
 *    surely-not-applied (429/503 after retries, refused connection) → clear the mark, retry later.
 * 5. Unclear (timeout, reset, 502/504, a crash mid-attempt, an expired lease: the mark is still
 *    set when a job is leased) → never re-send blindly: look the callback up on the platform by
 *    its callbackId (genesys/lookup.ts: channel events, the attribute search, the details query by
 *    queue and number, each matched on our side), adopt what is found (the history reason names the
 *    strategy), and send again only once every lag window has passed and a complete search or
 *    details pass found nothing.
 *
 * The one limit: if the platform's search and analytics both lose a created conversation (or
 * take longer than their lag windows to show it), an unclear create is sent again after them.
 */
import { ERROR_CODES } from '../domain/errors.js';
import { LIMITS } from '../domain/limits.js';
import type { Clock, EpochMs, Reason } from '../domain/types.js';
import { GenesysAuthError } from '../genesys/auth.js';
import { type CallbackLookup, createCallbackLookup, type LookupReport } from '../genesys/lookup.js';
import { type GenesysPort, PlatformError } from '../genesys/port.js';
import { DEFAULT_EVENT_CHANNELS, type EventChannel, transitionOf } from '../ledger/events.js';
import type { CallbackRecord, Job, Store } from '../ledger/port.js';
import { backoffMs } from '../shared/backoff.js';
import type { CapacityGate, PolicyLookup } from './capacity.js';
import { describeError } from './loop.js';
import { reattemptAt } from './reattempt.js';
import {
  complete,
  createJobLoop,
  type JobLoop,
  type JobResult,
  retryAt,
  type TaskDefinition,
} from './runtime.js';

export interface SubmitterLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
  debug?(obj: Record<string, unknown>, msg: string): void;
}

export interface SubmitterOptions {
  store: Store;
  genesys: GenesysPort;
  clock: Clock;
  /** Unique per process (the loop leases as `<workerId>/submit`). */
  workerId: string;
  /** Finds an unclear create on the platform; default: search + details on `genesys`, no events. */
  lookup?: CallbackLookup;
  /** Capacity pre-flight before each create (capacity.ts); none = no callbackd-side limit. */
  capacity?: CapacityGate;
  /** Queue policies, for the capacity-refusal retry budget (rejectionRetry). */
  policies?: PolicyLookup;
  channels?: readonly EventChannel[];
  logger?: SubmitterLogger;
  /** Jobs leased per iteration. */
  batchSize?: number;
  /** Jobs handled at once within a batch. */
  concurrency?: number;
  /** Job lease; must exceed sendWindowMs plus a lookup. */
  leaseMs?: number;
  /** Sleep between iterations that found no job. */
  pollIntervalMs?: number;
  /** How long the platform's search and analytics may take to show a new conversation (default lookup). */
  analyticsLagMs?: number;
  /** Spacing of look-ups while waiting out the lag windows. */
  lookupIntervalMs?: number;
  /** First look-up after an unclear answer: channel events usually settle it within seconds. */
  firstLookupDelayMs?: number;
  /** Longest time from marking an attempt in flight to the start of its last request byte. */
  sendWindowMs?: number;
  /** Backoff of jobs whose create was surely not applied (429/503/unreachable), full jitter. */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  random?: () => number;
}

export const SUBMITTER_DEFAULTS = {
  batchSize: 20,
  concurrency: 4,
  leaseMs: 60_000,
  pollIntervalMs: 1_000,
  analyticsLagMs: 60_000,
  lookupIntervalMs: 10_000,
  firstLookupDelayMs: 3_000,
  sendWindowMs: 30_000,
  retryBaseDelayMs: 5_000,
  retryMaxDelayMs: 300_000,
} as const;

export type JobOutcome =
  /** Created on the platform and recorded as pending. */
  | 'created'
  /** An earlier unclear attempt was found on the platform and adopted. */
  | 'adopted'
  | 'rejected'
  /** Capacity: not sent now, job runs again later. */
  | 'deferred'
  /** Surely not applied; job runs again after a backoff. */
  | 'retry'
  /** Outcome unknown; the job looks it up after a pause. */
  | 'unclear'
  /** In flight and not found yet; waiting out the analytics lag. */
  | 'waiting'
  /** Nothing to do (no longer accepted). */
  | 'done'
  /** The job failed with an unexpected error (logged; retried after a pause). */
  | 'error';

/** The submit kind's loop; runOnce counts its jobs by JobOutcome. */
export type Submitter = JobLoop;

/** The `submit` task: runOnce counts its jobs by JobOutcome. */
export function submitTask(options: SubmitterOptions): TaskDefinition {
  const o = { ...SUBMITTER_DEFAULTS, ...stripUndefined(options) };
  const { store, genesys, clock, logger } = options;
  const channels = options.channels ?? DEFAULT_EVENT_CHANNELS;
  const random = options.random ?? Math.random;
  if (o.sendWindowMs >= o.leaseMs) {
    throw new RangeError(
      `sendWindowMs (${o.sendWindowMs}) must be shorter than leaseMs (${o.leaseMs}): a create must never be sent after the lease that guards it has expired`,
    );
  }

  const retryDelayMs = (attempt: number) =>
    backoffMs(
      attempt,
      { baseDelayMs: o.retryBaseDelayMs, maxDelayMs: o.retryMaxDelayMs, jitter: 'full' },
      random,
    );

  const lookup =
    options.lookup ??
    createCallbackLookup({ genesys, clock, searchLagMs: o.analyticsLagMs, detailsLagMs: o.analyticsLagMs });

  /** Where an unclear create of `rec` could be: its queue or the overflow, sent within the send window. */
  function lookupTarget(rec: CallbackRecord, inFlightAt: EpochMs) {
    const queueId = rec.spec.routingData.queueId;
    const overflow = options.policies?.(queueId)?.overflowQueueId;
    return {
      callbackId: rec.callbackId,
      tenantId: rec.tenantId,
      queueIds: overflow ? [queueId, overflow] : [queueId],
      callbackNumber: rec.spec.callbackNumber,
      attemptFrom: inFlightAt,
      attemptTo: inFlightAt + o.sendWindowMs,
      // A re-attempt must not adopt an earlier attempt's (ended) callback, nor the other way round.
      callAttempt: rec.callAttempt ?? 1,
    };
  }

  async function adopt(rec: CallbackRecord, report: LookupReport, now: EpochMs): Promise<boolean> {
    const [keep, ...extra] = report.found;
    if (!keep) return false;
    if (extra.length > 0) {
      // Only possible if search and analytics both missed a create past their lag and it was re-sent.
      logger?.warn(
        { callbackId: rec.callbackId, tenantId: rec.tenantId, conversations: report.found.length },
        'submitter: more than one platform callback carries this callbackId; adopting the first',
      );
    }
    const afterS = Math.max(0, Math.round((now - (rec.submitInFlightAt ?? now)) / 1000));
    const updated = await store.transition(
      transitionOf(
        rec,
        {
          from: ['accepted'],
          to: 'pending',
          reason: {
            code: ERROR_CODES.LOOKUP_ADOPTED,
            message: `an unclear create was found on the platform by ${report.settledBy} ${afterS} s after it was sent; adopted, not sent again`,
          },
          at: now,
          set: {
            conversationId: keep,
            submitInFlightAt: null,
            attempts: rec.attempts + 1,
            nextAttemptAt: reattemptAt(rec),
          },
        },
        channels,
      ),
    );
    if (updated) {
      logger?.info(
        {
          callbackId: rec.callbackId,
          tenantId: rec.tenantId,
          conversationId: keep,
          strategy: report.settledBy,
        },
        'submitter: adopted the callback an unclear attempt had created',
      );
    }
    return updated !== null;
  }

  async function clearInFlight(rec: CallbackRecord, at: EpochMs): Promise<void> {
    // Same-status change without a reason: no history row, no event; only the mark goes.
    await store.transition({
      pk: rec.pk,
      from: ['accepted'],
      to: 'accepted',
      reason: null,
      at,
      set: { submitInFlightAt: null },
      outbox: [],
    });
  }

  async function reject(rec: CallbackRecord, reason: Reason, at: EpochMs): Promise<void> {
    await store.transition(
      transitionOf(
        rec,
        {
          from: ['accepted'],
          to: 'rejected',
          reason,
          at,
          set: { submitInFlightAt: null, attempts: rec.attempts + 1, nextAttemptAt: null },
        },
        channels,
      ),
    );
  }

  /** Not sent now for capacity: note why (once per spell) and run the job again at runAt. */
  async function defer(rec: CallbackRecord, reason: Reason, runAt: EpochMs, at: EpochMs): Promise<JobResult> {
    if (rec.statusReason?.code !== reason.code || rec.nextAttemptAt !== runAt) {
      await store.transition({
        pk: rec.pk,
        from: ['accepted'],
        to: 'accepted',
        reason: rec.statusReason?.code === reason.code ? null : reason,
        at,
        set: { nextAttemptAt: runAt, submitInFlightAt: null },
        outbox: [],
      });
    }
    return retryAt(runAt, reason.message, 'deferred');
  }

  async function handle(job: Job): Promise<JobResult> {
    const rec = await store.getByPk(job.callbackPk);
    if (rec?.status !== 'accepted') {
      return complete('done');
    }
    const now = clock.now();
    const log = { callbackId: rec.callbackId, tenantId: rec.tenantId, job: job.id };

    if (rec.submitInFlightAt !== null) {
      const report = await lookup.lookup(lookupTarget(rec, rec.submitInFlightAt));
      if (report.found.length > 0) {
        await adopt(rec, report, clock.now());
        return complete('adopted');
      }
      if (!report.absent) {
        // A lag window is still open, or no strategy could see everything: never send yet.
        if (now >= report.absentFrom) {
          logger?.warn(
            { ...log, strategies: report.strategies },
            'submitter: create outcome still unknown past every lag window; no look-up could prove absence, not sending again',
          );
        }
        const next =
          now < report.absentFrom
            ? Math.min(report.absentFrom, now + o.lookupIntervalMs)
            : now + o.lookupIntervalMs;
        return retryAt(next, 'create outcome unknown: looking it up by callbackId', 'waiting');
      }
      logger?.warn(
        {
          ...log,
          inFlightSince: new Date(rec.submitInFlightAt).toISOString(),
          strategies: report.strategies,
        },
        'submitter: an earlier create left no callback on the platform; sending again',
      );
    }

    let queueId = rec.spec.routingData.queueId;
    let routeReason: Reason | null = null;
    if (options.capacity) {
      const decision = await options.capacity.preflight(queueId);
      if (decision.action === 'defer') {
        return defer(rec, decision.reason, decision.runAt, now);
      }
      queueId = decision.queueId;
      routeReason = decision.reason;
    }

    const markAt = clock.now();
    if (!(await store.markSubmitInFlight(rec.pk, markAt))) {
      // Changed under us (cancelled): nothing to send.
      return complete('done');
    }
    // The last request must start early enough to end before our lease does.
    const leaseEnd = job.lockedUntil ?? markAt + o.leaseMs;
    const sendWithinMs = Math.max(0, Math.min(markAt + o.sendWindowMs, leaseEnd) - clock.now());

    let conversationId: string;
    try {
      const created = await genesys.createCallback(rec.spec, {
        ...(queueId !== rec.spec.routingData.queueId ? { queueId } : {}),
        tenantId: rec.tenantId,
        ...((rec.callAttempt ?? 1) > 1 ? { attempt: rec.callAttempt } : {}),
        sendWithinMs,
      });
      conversationId = created.conversationId;
    } catch (err) {
      return onCreateFailed(rec, job, err);
    }

    options.capacity?.noteSubmitted(queueId);
    const at = clock.now();
    const updated = await store.transition(
      transitionOf(
        rec,
        {
          from: ['accepted'],
          to: 'pending',
          reason: routeReason,
          at,
          set: {
            conversationId,
            submitInFlightAt: null,
            attempts: rec.attempts + 1,
            nextAttemptAt: reattemptAt(rec),
          },
        },
        channels,
      ),
    );
    if (!updated) {
      // Cancelled while the request was out: the callback must not ring.
      const now2 = await store.getByPk(rec.pk);
      logger?.warn(
        { ...log, status: now2?.status, conversationId },
        'submitter: callback changed while its create was in flight; disconnecting the new platform callback',
      );
      if (now2?.status === 'cancelled') {
        await genesys
          .disconnectCallback(conversationId)
          .catch((e: unknown) =>
            logger?.error({ ...log, conversationId, err: describeError(e) }, 'submitter: disconnect failed'),
          );
      }
    }
    return complete('created');
  }

  async function onCreateFailed(rec: CallbackRecord, job: Job, err: unknown): Promise<JobResult> {
    const now = clock.now();
    const log = { callbackId: rec.callbackId, tenantId: rec.tenantId, job: job.id };
    if (err instanceof GenesysAuthError) {
      // Nothing was sent: the credentials were refused at login.
      await clearInFlight(rec, now);
      logger?.error({ ...log, code: err.code }, err.message);
      return retryAt(now + o.retryMaxDelayMs, err.message, 'retry');
    }
    if (!(err instanceof PlatformError)) {
      // Unknown failure after the mark: treat as unclear (the mark stays, the lookup decides).
      logger?.error({ ...log, err: describeError(err) }, 'submitter: create failed unexpectedly');
      return retryAt(now + o.lookupIntervalMs, err, 'unclear');
    }
    switch (err.kind) {
      case 'rejected': {
        if (err.reason.code === ERROR_CODES.QUEUE_FULL) return capacityRefused(rec, err.reason, now);
        await reject(rec, err.reason, now);
        logger?.info({ ...log, code: err.reason.code }, 'submitter: platform refused the callback');
        return complete('rejected');
      }
      case 'retryable': {
        await clearInFlight(rec, now);
        const delay = Math.max(err.retryAfterMs ?? 0, retryDelayMs(job.attempts));
        logger?.warn(
          { ...log, code: err.reason.code, delayMs: delay },
          'submitter: create not applied; retrying later',
        );
        return retryAt(now + delay, err.message, 'retry');
      }
      case 'unclear': {
        // Keep the mark: the next run looks the callback up before anything is sent again.
        logger?.warn({ ...log, code: err.reason.code }, 'submitter: create outcome unclear; will look it up');
        return retryAt(now + o.firstLookupDelayMs, err.message, 'unclear');
      }
    }
  }

  /** The platform refused the create for capacity: retry later within the queue's budget. */
  async function capacityRefused(rec: CallbackRecord, reason: Reason, now: EpochMs): Promise<JobResult> {
    const retry =
      options.policies?.(rec.spec.routingData.queueId)?.rejectionRetry ?? LIMITS.defaultRejectionRetry;
    const refusals = rec.attempts + 1;
    if (refusals > retry.attempts) {
      await reject(
        rec,
        {
          code: ERROR_CODES.RETRIES_EXHAUSTED,
          message: `the platform refused the callback for capacity ${refusals} times: ${reason.message}`,
        },
        now,
      );
      return complete('rejected');
    }
    const { min, max } = retry.delayMinutes;
    const runAt = now + Math.round((min + random() * (max - min)) * 60_000);
    await store.transition({
      pk: rec.pk,
      from: ['accepted'],
      to: 'accepted',
      reason,
      at: now,
      set: { submitInFlightAt: null, attempts: refusals, nextAttemptAt: runAt },
      outbox: [],
    });
    return retryAt(runAt, reason.message, 'deferred');
  }

  return {
    kind: 'submit',
    handle: (job) => handle(job),
    batchSize: o.batchSize,
    concurrency: o.concurrency,
    leaseMs: o.leaseMs,
    idleDelayMs: o.pollIntervalMs,
    errorDelayMs: Math.max(o.pollIntervalMs, 5_000),
    errorRetryMs: o.lookupIntervalMs,
  };
}

/** The submit task on its own loop (tests, benchmarks; the app registers submitTask in its JobRuntime). */
export function createSubmitter(options: SubmitterOptions): Submitter {
  const { store, clock, workerId, logger } = options;
  return createJobLoop({ store, clock, workerId, ...(logger ? { logger } : {}) }, submitTask(options));
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
