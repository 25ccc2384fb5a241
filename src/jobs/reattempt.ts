/**
 * The re-attempt ladder's hook in the tracker: when a platform callback ends without reaching the
 * customer, the domain decides (src/domain/reattempt.ts) and this turns the decision into one
 * guarded transition. A re-attempt goes back to `accepted` with the next time in its spec and a
 * submit job, so the submitter creates the next platform callback exactly once, as for any accept
 * (its data carries the attempt number: see ATTR.attempt).
 */
import { type QueuePolicy, resolveCustomerTimeZone } from '../domain/policy.js';
import { decideReattempt, type Unreached, unreachedFromReason } from '../domain/reattempt.js';
import { formatInstant } from '../domain/time.js';
import type { EpochMs } from '../domain/types.js';
import type { MappedConversation } from '../genesys/state-map.js';
import { type EventChannel, transitionOf } from '../ledger/events.js';
import type { CallbackRecord, TransitionInput } from '../ledger/port.js';

/** Causes of today's state table rows, until the outcome map says `unreached` itself (contracts item 1). */
const CAUSE_BY_RULE: Readonly<Record<string, Unreached>> = {
  'no-answer': 'noAnswer',
  busy: 'busy',
  'dtmf-failed': 'failedVerification',
};

/** Why the attempt did not reach the customer, or undefined when it did (or ended otherwise). */
export function unreachedOf(mapped: MappedConversation & { unreached?: Unreached }): Unreached | undefined {
  if (mapped.status !== 'expired') return undefined;
  return mapped.unreached ?? CAUSE_BY_RULE[mapped.rule] ?? unreachedFromReason(mapped.reason?.code);
}

/** What the submitter keeps as nextAttemptAt once a re-attempt is on the platform: its time. */
export function reattemptAt(rec: CallbackRecord): EpochMs | null {
  return (rec.callAttempt ?? 1) > 1 ? Date.parse(rec.spec.scheduledTime) : null;
}

/**
 * The transition for an attempt that ended unreached, or undefined when the queue re-attempts
 * nothing for its cause (the mapped outcome then stands).
 */
export function reattemptTransition(
  rec: CallbackRecord,
  mapped: MappedConversation,
  policy: QueuePolicy | undefined,
  now: EpochMs,
  channels: readonly EventChannel[],
): TransitionInput | undefined {
  const cause = unreachedOf(mapped);
  if (!policy || !cause) return undefined;
  const zone = resolveCustomerTimeZone(policy, rec.spec.timeZone, rec.spec.callbackNumber).timeZone;
  const attempt = rec.callAttempt ?? 1;
  const decision = decideReattempt(policy, { cause, attempt, endedAtMs: now }, zone, now);
  if (decision.kind === 'none') return undefined;
  if (decision.kind === 'exhausted') {
    return transitionOf(
      rec,
      { from: ['pending'], to: 'expired', reason: decision.reason, at: now, set: { nextAttemptAt: null } },
      channels,
    );
  }
  return transitionOf(
    rec,
    {
      from: ['pending'],
      to: 'accepted',
      reason: decision.reason,
      at: now,
      // The ended conversation is over; the submit creates the next one, at the new time.
      set: {
        conversationId: null,
        submitInFlightAt: null,
        nextAttemptAt: decision.atMs,
        callAttempt: decision.attempt,
        // first_dialed_at is per attempt (contracts item 2): the next attempt has not been dialled.
        firstDialedAt: null,
        spec: { ...rec.spec, scheduledTime: formatInstant(decision.atMs) },
      },
      enqueue: { kind: 'submit', callbackPk: rec.pk, runAt: now },
    },
    channels,
  );
}
