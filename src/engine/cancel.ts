/**
 * Cancel (DELETE /api/v2/routing/callbacks/{id}): only while accepted or pending, safe to repeat.
 *
 * - accepted: one guarded transition accepted → cancelled. A submit that already marked its create
 *   request in flight cannot resurrect it (its accepted → pending transition is guarded and fails),
 *   but its conversation may still appear on the platform: a follow-up `cancel` job looks the
 *   callback up by its callbackId a few times while analytics catches up, and disconnects whatever
 *   live conversation it finds.
 * - pending: disconnect the platform callback first, then pending → cancelled. If the platform
 *   does not confirm, nothing changes and the caller gets 503 (repeat the DELETE).
 */
import { ERROR_CODES } from '../domain/errors.js';
import type { Clock, Reason } from '../domain/types.js';
import { GenesysAuthError } from '../genesys/auth.js';
import type { CallbackLookup } from '../genesys/lookup.js';
import { ATTR } from '../genesys/mapping.js';
import { type GenesysPort, PlatformError } from '../genesys/port.js';
import { conversationFacts, mapConversation } from '../genesys/state-map.js';
import type { Job, Store } from '../ledger/port.js';
import { type EditOutcome, notFound, notModifiable, platformUnavailable, reread } from './edit-result.js';
import { DEFAULT_EVENT_CHANNELS, type EventChannel, transitionOf } from './events.js';

export interface CancelOptions {
  channels?: readonly EventChannel[];
  /** When the first follow-up look-up for a conversation a concurrent submit may have created runs. */
  followupDelayMs?: number;
}

export const CANCEL_DEFAULTS = {
  followupDelayMs: 15_000,
  /** Look-ups per follow-up job (analytics lags): at +15 s, then +1 min, +2 min, +4 min. */
  followupChecks: 4,
  followupSpacingMs: 60_000,
} as const;

function cancelReason(): Reason {
  return { code: ERROR_CODES.CANCELLED_BY_USER, message: 'cancelled through the API' };
}

export async function cancelCallback(
  store: Store,
  genesys: Pick<GenesysPort, 'disconnectCallback' | 'getConversation'>,
  clock: Clock,
  tenantId: string,
  callbackId: string,
  options: CancelOptions = {},
): Promise<EditOutcome> {
  const channels = options.channels ?? DEFAULT_EVENT_CHANNELS;
  const followupDelayMs = options.followupDelayMs ?? CANCEL_DEFAULTS.followupDelayMs;

  // A concurrent change (submit, tracker) can move the row between our read and our guarded
  // write; each retry re-reads and decides again. Three rounds cover accepted → pending → end.
  for (let round = 0; round < 3; round++) {
    const rec = await store.get(tenantId, callbackId);
    if (!rec) return notFound(callbackId);
    if (rec.status === 'cancelled') return { ok: true, callback: rec, changed: false };
    if (rec.status !== 'accepted' && rec.status !== 'pending') return notModifiable(rec, 'cancelled');

    if (rec.status === 'accepted') {
      const now = clock.now();
      const updated = await store.transition(
        transitionOf(
          rec,
          {
            from: ['accepted'],
            to: 'cancelled',
            reason: cancelReason(),
            at: now,
            set: { nextAttemptAt: null },
          },
          channels,
        ),
      );
      if (!updated) continue;
      // The submitter marks a create request in flight before sending it; if it had, a
      // conversation may appear that no ledger row points at. Go and find it.
      if (updated.submitInFlightAt !== null || updated.conversationId !== null) {
        await store.enqueueJob({
          kind: 'cancel',
          callbackPk: rec.pk,
          runAt: now + followupDelayMs,
          payload: { reason: 'submit-in-flight' },
        });
      }
      return { ok: true, callback: await reread(store, rec), changed: true };
    }

    // pending: the platform holds it.
    const conversationId = rec.conversationId!;
    try {
      await genesys.disconnectCallback(conversationId);
    } catch (err) {
      if (err instanceof GenesysAuthError) return platformUnavailable('disconnect', err.code);
      if (!(err instanceof PlatformError)) throw err;
      if (err.kind !== 'rejected') return platformUnavailable('disconnect', err.reason.code);
      // Refused: most often because the conversation already ended. See how it ended.
      let mapped: ReturnType<typeof mapConversation>;
      try {
        mapped = mapConversation(await genesys.getConversation(conversationId));
      } catch (readErr) {
        if (readErr instanceof PlatformError || readErr instanceof GenesysAuthError) {
          return platformUnavailable('disconnect', err.reason.code);
        }
        throw readErr;
      }
      if (mapped.status === 'pending') {
        return notModifiable(
          rec,
          'cancelled',
          `the platform refused to disconnect it: ${err.reason.message}`,
        );
      }
      if (mapped.status === 'completed') {
        await store.transition(
          transitionOf(
            rec,
            { from: ['pending'], to: 'completed', reason: mapped.reason, at: clock.now() },
            channels,
          ),
        );
        const now = await reread(store, rec);
        return notModifiable(now, 'cancelled');
      }
      // Ended without reaching the customer (often our own earlier disconnect whose answer was
      // lost): the user's cancel is what it amounts to.
    }
    const updated = await store.transition(
      transitionOf(
        rec,
        {
          from: ['pending'],
          to: 'cancelled',
          reason: cancelReason(),
          at: clock.now(),
          set: { nextAttemptAt: null },
        },
        channels,
      ),
    );
    if (!updated) continue;
    return { ok: true, callback: await reread(store, rec), changed: true };
  }
  const last = await store.get(tenantId, callbackId);
  if (!last) return notFound(callbackId);
  if (last.status === 'cancelled') return { ok: true, callback: last, changed: false };
  return notModifiable(last, 'cancelled');
}

export interface CancelFollowupOptions {
  store: Store;
  genesys: Pick<GenesysPort, 'getCallbackConversation' | 'disconnectCallback'>;
  /** Finds the platform callbacks carrying a callbackId (genesys/lookup.ts). */
  lookup: Pick<CallbackLookup, 'lookup'>;
  clock: Clock;
  workerId: string;
  batchSize?: number;
  leaseMs?: number;
  checks?: number;
  spacingMs?: number;
  onError?: (err: unknown, job: Job) => void;
}

export interface CancelFollowup {
  /** Runs the due `cancel` jobs. Returns how many conversations it disconnected. */
  runOnce(): Promise<{ jobs: number; disconnected: number }>;
}

/**
 * Disconnects live conversations of cancelled callbacks that no ledger row points at (a create
 * request that was in flight when the cancel landed, or whose answer was lost).
 */
export function createCancelFollowup(options: CancelFollowupOptions): CancelFollowup {
  const { store, genesys, clock, workerId } = options;
  const batchSize = options.batchSize ?? 20;
  const leaseMs = options.leaseMs ?? 60_000;
  const checks = options.checks ?? CANCEL_DEFAULTS.followupChecks;
  const spacingMs = options.spacingMs ?? CANCEL_DEFAULTS.followupSpacingMs;

  async function handle(job: Job): Promise<number> {
    const rec = await store.getByPk(job.callbackPk);
    if (rec?.status !== 'cancelled') {
      await store.completeJob(job.id, workerId);
      return 0;
    }
    const now = clock.now();
    const report = await options.lookup.lookup({
      callbackId: rec.callbackId,
      tenantId: rec.tenantId,
      queueIds: [rec.spec.routingData.queueId],
      callbackNumber: rec.spec.callbackNumber,
      attemptFrom: rec.createdAt,
      attemptTo: now,
    });
    let disconnected = 0;
    for (const id of report.found) {
      const conversation = await genesys.getCallbackConversation(id);
      if (!belongsTo(conversation.participants, rec.tenantId)) continue;
      // Already over on the platform: nothing to disconnect.
      if (conversationFacts(conversation).ended) continue;
      await genesys.disconnectCallback(conversation.id);
      disconnected++;
    }
    // leaseJobs counts each run as it leases: job.attempts is this run's number.
    if (job.attempts < checks) {
      await store.retryJob(
        job.id,
        workerId,
        now + spacingMs * 2 ** Math.max(0, job.attempts - 1),
        'checking again: analytics lags',
      );
    } else {
      await store.completeJob(job.id, workerId);
    }
    return disconnected;
  }

  return {
    async runOnce() {
      const jobs = await store.leaseJobs('cancel', workerId, batchSize, leaseMs, clock.now());
      let disconnected = 0;
      for (const job of jobs) {
        try {
          disconnected += await handle(job);
        } catch (err) {
          options.onError?.(err, job);
          // A job that keeps failing stops after a bounded number of runs (onError saw each failure).
          const give = job.attempts >= checks * 3;
          await (give
            ? store.completeJob(job.id, workerId)
            : store.retryJob(job.id, workerId, clock.now() + spacingMs, describe(err))
          ).catch((e) => options.onError?.(e, job));
        }
      }
      return { jobs: jobs.length, disconnected };
    },
  };
}

/** A conversation stamped with another tenant's id is never touched (callbackIds are per tenant). */
function belongsTo(participants: { attributes?: Record<string, string> }[], tenantId: string): boolean {
  const stamped = participants.map((p) => p.attributes?.[ATTR.tenantId]).find((t) => t !== undefined);
  return stamped === undefined || stamped === tenantId;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
