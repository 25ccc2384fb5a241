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
import { type GenesysPort, PlatformError } from '../genesys/port.js';
import { mapConversation } from '../genesys/state-map.js';
import { DEFAULT_EVENT_CHANNELS, type EventChannel, transitionOf } from '../ledger/events.js';
import type { Store } from '../ledger/port.js';
import { type EditOutcome, notFound, notModifiable, platformUnavailable, reread } from './result.js';

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
