/**
 * The `reschedule` job kind: once the submit that was in flight during an accepted-state
 * reschedule has recorded the platform callback, patch it to the ledger's (new) spec if it
 * differs. The reschedule use case (src/usecases/reschedule.ts) enqueues it.
 */
import type { QueuePolicy } from '../domain/policy.js';
import type { Clock } from '../domain/types.js';
import type { GenesysPort } from '../genesys/port.js';
import type { Job, Store } from '../ledger/port.js';
import { onPlatformQueue } from '../usecases/reschedule.js';
import { complete, giveUp, retryAt, type TaskDefinition } from './runtime.js';

export const RESCHEDULE_FOLLOWUP_DEFAULTS = {
  batchSize: 20,
  leaseMs: 60_000,
  idleDelayMs: 5_000,
  /** Runs before giving up on a callback whose submit never records (it was cancelled or ended). */
  maxRuns: 10,
  retryDelayMs: 15_000,
} as const;

export interface RescheduleFollowupOptions {
  store: Store;
  genesys: Pick<GenesysPort, 'rescheduleCallback' | 'getCallbackConversation'>;
  clock: Clock;
  policies: (queueId: string) => QueuePolicy | undefined;
  batchSize?: number;
  leaseMs?: number;
  maxRuns?: number;
  retryDelayMs?: number;
}

/** The `reschedule` task: runOnce counts jobs by outcome (`patched` when it changed the platform). */
export function rescheduleFollowupTask(options: RescheduleFollowupOptions): TaskDefinition {
  const { store, genesys, clock } = options;
  const maxRuns = options.maxRuns ?? RESCHEDULE_FOLLOWUP_DEFAULTS.maxRuns;
  const retryDelayMs = options.retryDelayMs ?? RESCHEDULE_FOLLOWUP_DEFAULTS.retryDelayMs;

  async function handle(job: Job) {
    const rec = await store.getByPk(job.callbackPk);
    if (rec?.status === 'accepted' && rec.submitInFlightAt !== null && job.attempts < maxRuns) {
      return retryAt(clock.now() + retryDelayMs, 'submit still in flight', 'waiting');
    }
    // Not submitted yet (the submit sends the new spec), or over: nothing to patch.
    if (rec?.status !== 'pending' || !rec.conversationId) return complete('done');
    const conversation = await genesys.getCallbackConversation(rec.conversationId);
    const customer =
      conversation.participants.find((p) => p.callbackScheduledTime !== undefined) ??
      conversation.participants[0];
    const platformTime = customer?.callbackScheduledTime
      ? Date.parse(customer.callbackScheduledTime)
      : Number.NaN;
    const platformNumber = customer?.callbackNumbers?.[0];
    const differs =
      platformTime !== Date.parse(rec.spec.scheduledTime) ||
      (platformNumber !== undefined && platformNumber !== rec.spec.callbackNumber);
    if (!differs) return complete('unchanged');
    await genesys.rescheduleCallback(rec.conversationId, onPlatformQueue(rec, rec.spec, options.policies));
    return complete('patched');
  }

  return {
    kind: 'reschedule',
    handle,
    // A job that keeps failing stops after maxRuns (each failure is logged).
    onError: (err, job) =>
      job.attempts >= maxRuns
        ? giveUp(`failed ${job.attempts} times`, 'error')
        : retryAt(clock.now() + retryDelayMs, err, 'error'),
    batchSize: options.batchSize ?? RESCHEDULE_FOLLOWUP_DEFAULTS.batchSize,
    concurrency: 1,
    leaseMs: options.leaseMs ?? RESCHEDULE_FOLLOWUP_DEFAULTS.leaseMs,
    idleDelayMs: RESCHEDULE_FOLLOWUP_DEFAULTS.idleDelayMs,
  };
}
