/**
 * The `cancel` job kind: disconnects live conversations of cancelled callbacks that no ledger row
 * points at (a create request that was in flight when the cancel landed, or whose answer was
 * lost). The cancel use case (src/usecases/cancel.ts) enqueues it; analytics lags, so the job
 * looks a few times, further apart each time.
 */
import type { Clock } from '../domain/types.js';
import type { CallbackLookup } from '../genesys/lookup.js';
import { ATTR } from '../genesys/mapping.js';
import type { GenesysPort } from '../genesys/port.js';
import { conversationFacts } from '../genesys/state-map.js';
import type { Job, Store } from '../ledger/port.js';
import { backoffMs } from '../shared/backoff.js';
import { complete, giveUp, retryAt, type TaskDefinition } from './runtime.js';

export const CANCEL_FOLLOWUP_DEFAULTS = {
  batchSize: 20,
  leaseMs: 60_000,
  idleDelayMs: 5_000,
  /** Look-ups per follow-up job (analytics lags): at +15 s, then +1 min, +2 min, +4 min. */
  checks: 4,
  spacingMs: 60_000,
} as const;

export interface CancelFollowupOptions {
  store: Store;
  genesys: Pick<GenesysPort, 'getCallbackConversation' | 'disconnectCallback'>;
  /** Finds the platform callbacks carrying a callbackId (genesys/lookup.ts). */
  lookup: Pick<CallbackLookup, 'lookup'>;
  clock: Clock;
  batchSize?: number;
  leaseMs?: number;
  checks?: number;
  spacingMs?: number;
}

/** The `cancel` task: runOnce counts jobs by outcome (`disconnected` when it disconnected any). */
export function cancelFollowupTask(options: CancelFollowupOptions): TaskDefinition {
  const { store, genesys, clock } = options;
  const checks = options.checks ?? CANCEL_FOLLOWUP_DEFAULTS.checks;
  const spacingMs = options.spacingMs ?? CANCEL_FOLLOWUP_DEFAULTS.spacingMs;

  async function handle(job: Job) {
    const rec = await store.getByPk(job.callbackPk);
    if (rec?.status !== 'cancelled') return complete('done');
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
    const outcome = disconnected > 0 ? 'disconnected' : 'checked';
    // leaseJobs counts each run as it leases: job.attempts is this run's number.
    if (job.attempts >= checks) return complete(outcome);
    const delay = backoffMs(job.attempts, {
      baseDelayMs: spacingMs,
      maxDelayMs: Number.POSITIVE_INFINITY,
      jitter: 'none',
    });
    return retryAt(now + delay, 'checking again: analytics lags', outcome);
  }

  return {
    kind: 'cancel',
    handle,
    // A job that keeps failing stops after a bounded number of runs (each failure is logged).
    onError: (err, job) =>
      job.attempts >= checks * 3
        ? giveUp(`failed ${job.attempts} times`, 'error')
        : retryAt(clock.now() + spacingMs, err, 'error'),
    batchSize: options.batchSize ?? CANCEL_FOLLOWUP_DEFAULTS.batchSize,
    concurrency: 1,
    leaseMs: options.leaseMs ?? CANCEL_FOLLOWUP_DEFAULTS.leaseMs,
    idleDelayMs: CANCEL_FOLLOWUP_DEFAULTS.idleDelayMs,
  };
}

/** A conversation stamped with another tenant's id is never touched (callbackIds are per tenant). */
function belongsTo(participants: { attributes?: Record<string, string> }[], tenantId: string): boolean {
  const stamped = participants.map((p) => p.attributes?.[ATTR.tenantId]).find((t) => t !== undefined);
  return stamped === undefined || stamped === tenantId;
}
