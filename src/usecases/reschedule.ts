/**
 * Reschedule / change number (PATCH /api/v2/routing/callbacks/{id}): only while accepted or
 * pending, re-validated against the queue policy (domain validateReschedule) on the server clock,
 * safe to repeat (the same change again answers the same resource, unchanged).
 *
 * - accepted: the ledger spec is updated; the submit sends the new one. If a create request was
 *   already in flight with the old spec, a `reschedule` job patches the platform callback once the
 *   submit has recorded it.
 * - pending: the platform callback is patched first, then the ledger. If the platform does not
 *   confirm, nothing changes in the ledger and the caller gets 503 (repeat the PATCH).
 */

import {
  TrustedLookupUnavailableError,
  type TrustedNumberLookup,
  trustedNumbersFor,
} from '../adapters/customers.js';
import { ERROR_CODES } from '../domain/errors.js';
import type { QueuePolicy } from '../domain/policy.js';
import type { CallbackSpec, Clock, Reason } from '../domain/types.js';
import { validateReschedule } from '../domain/validate.js';
import { GenesysAuthError } from '../genesys/auth.js';
import { type GenesysPort, PlatformError } from '../genesys/port.js';
import { ROUTED_TO_OVERFLOW } from '../jobs/capacity.js';
import { DEFAULT_EVENT_CHANNELS, type EventChannel, transitionOf } from '../ledger/events.js';
import type { CallbackWithHistory, Store } from '../ledger/port.js';
import { rescheduleSlotProblem } from './booking.js';
import { type EditOutcome, notFound, notModifiable, platformUnavailable, reread } from './result.js';

/** History reason code of a reschedule or number change. */
export const RESCHEDULED = ERROR_CODES.RESCHEDULED;

export interface RescheduleContext {
  /** The policy of a configured queue (the same lookup validation uses). */
  policies: (queueId: string) => QueuePolicy | undefined;
  /** Consulted when the PATCH changes callbackNumber (toll-fraud guard). */
  trustedNumbers?: TrustedNumberLookup;
  channels?: readonly EventChannel[];
  /** When the follow-up patch of a create request that was in flight runs. */
  followupDelayMs?: number;
}

export async function rescheduleCallback(
  store: Store,
  genesys: Pick<GenesysPort, 'rescheduleCallback'>,
  clock: Clock,
  tenantId: string,
  callbackId: string,
  patchBody: unknown,
  ctx: RescheduleContext,
): Promise<EditOutcome> {
  const channels = ctx.channels ?? DEFAULT_EVENT_CHANNELS;

  for (let round = 0; round < 3; round++) {
    const rec = await store.get(tenantId, callbackId);
    if (!rec) return notFound(callbackId);
    if (rec.status !== 'accepted' && rec.status !== 'pending') return notModifiable(rec, 'rescheduled');

    const now = clock.now();
    let trusted: readonly string[] | null | undefined;
    const changesNumber =
      typeof patchBody === 'object' && patchBody !== null && 'callbackNumber' in patchBody;
    if (changesNumber && ctx.trustedNumbers) {
      try {
        trusted = await trustedNumbersFor(ctx.trustedNumbers, tenantId, rec.spec.customerData.externalId);
      } catch (err) {
        if (!(err instanceof TrustedLookupUnavailableError)) throw err;
        return {
          ok: false,
          refusal: 'unavailable',
          errors: [
            {
              code: err.code,
              field: 'callbackNumber',
              message: `the customer's trusted record could not be checked (${err.message}); nothing was changed, repeat the request later`,
            },
          ],
        };
      }
    }
    const validation = validateReschedule(patchBody, rec.spec, {
      now,
      queues: ctx.policies,
      ...(trusted === undefined ? {} : { trustedNumbers: trusted }),
    });
    if (!validation.ok)
      return { ok: false, refusal: 'invalid', errors: validation.violations, callback: rec };
    const spec = validation.spec;
    if (sameSchedule(spec, rec.spec)) return { ok: true, callback: rec, changed: false };
    const full = await rescheduleSlotProblem(
      { store, clock, policies: ctx.policies },
      rec.spec,
      spec,
      validation.details.customerTimeZone,
    );
    if (full) return { ok: false, refusal: 'slot_full', errors: full.violations, callback: rec };

    const reason: Reason = { code: RESCHEDULED, message: describeChange(rec.spec, spec) };
    if (rec.status === 'accepted') {
      const updated = await store.transition(
        transitionOf(rec, { from: ['accepted'], to: 'accepted', reason, at: now, set: { spec } }, channels),
      );
      if (!updated) continue;
      if (updated.submitInFlightAt !== null) {
        // The create request in flight carries the old spec; patch the platform once it is recorded.
        await store.enqueueJob({
          kind: 'reschedule',
          callbackPk: rec.pk,
          runAt: now + (ctx.followupDelayMs ?? 15_000),
        });
      }
      return { ok: true, callback: await reread(store, rec), changed: true };
    }

    try {
      await genesys.rescheduleCallback(rec.conversationId!, onPlatformQueue(rec, spec, ctx.policies));
    } catch (err) {
      if (err instanceof GenesysAuthError) return platformUnavailable('reschedule', err.code);
      if (!(err instanceof PlatformError)) throw err;
      if (err.kind === 'rejected') {
        return notModifiable(rec, 'rescheduled', `the platform refused the change: ${err.reason.message}`);
      }
      return platformUnavailable('reschedule', err.reason.code);
    }
    const updated = await store.transition(
      transitionOf(
        rec,
        { from: ['pending'], to: 'pending', reason, at: clock.now(), set: { spec } },
        channels,
      ),
    );
    if (!updated) continue;
    return { ok: true, callback: await reread(store, rec), changed: true };
  }
  const last = await store.get(tenantId, callbackId);
  return last ? notModifiable(last, 'rescheduled') : notFound(callbackId);
}

/**
 * The spec to patch with: the platform PATCH names a queue, so a callback the submitter routed to
 * its overflow queue (history reason ROUTED_TO_OVERFLOW since it went pending) must keep that queue.
 */
export function onPlatformQueue(
  rec: CallbackWithHistory,
  spec: CallbackSpec,
  policies: (queueId: string) => QueuePolicy | undefined,
): CallbackSpec {
  const overflowId = policies(spec.routingData.queueId)?.overflowQueueId;
  if (!overflowId) return spec;
  // The trailing run of `pending` history rows is the current platform callback's life.
  let routed = false;
  for (let i = rec.history.length - 1; i >= 0 && rec.history[i]!.status === 'pending'; i--) {
    if (rec.history[i]!.reason?.code === ROUTED_TO_OVERFLOW) routed = true;
  }
  return routed ? { ...spec, routingData: { ...spec.routingData, queueId: overflowId } } : spec;
}

function sameSchedule(a: CallbackSpec, b: CallbackSpec): boolean {
  return (
    a.scheduledTime === b.scheduledTime && a.callbackNumber === b.callbackNumber && a.timeZone === b.timeZone
  );
}

function describeChange(before: CallbackSpec, after: CallbackSpec): string {
  const parts: string[] = [];
  if (before.scheduledTime !== after.scheduledTime) {
    parts.push(`scheduled time ${before.scheduledTime} → ${after.scheduledTime}`);
  }
  if (before.callbackNumber !== after.callbackNumber) {
    parts.push(`callback number …${before.callbackNumber.slice(-4)} → …${after.callbackNumber.slice(-4)}`);
  }
  if (parts.length === 0 && before.timeZone !== after.timeZone) {
    parts.push(`customer time zone ${before.timeZone ?? '(none)'} → ${after.timeZone ?? '(none)'}`);
  }
  return `rescheduled: ${parts.join('; ')}`;
}
