/**
 * The outbox rows every status change writes (DESIGN.md §2): one per enabled channel, in the
 * same transaction as the change. Every writer of a transition (API accept, submitter, tracker,
 * cancel, reschedule) builds them here so the CRM and the event bus see one payload shape.
 *
 * The payload holds the callbackd status, not the CRM status: the webhook worker maps it through
 * the configured CRM status map at delivery time (outbox-webhook.ts).
 */
import type { CallbackSpec, CallbackStatus, EpochMs, Reason } from '../domain/types.js';
import type { CallbackRecord, JobDraft, OutboxDraft, TransitionInput } from './port.js';

export type EventChannel = 'webhook' | 'amqp';

/** Which outbox channels get a row per change. AMQP only when a broker is configured. */
export const DEFAULT_EVENT_CHANNELS: readonly EventChannel[] = ['webhook'];

/** What the CRM webhook and the event bus receive for each change (plus eventId/crmStatus at delivery). */
export interface CallbackEventPayload {
  tenantId: string;
  callbackId: string;
  externalId: string | null;
  queueId: string;
  scheduledTime: string;
  status: CallbackStatus;
  /** null for the first event (accepted at intake). */
  previousStatus: CallbackStatus | null;
  reason: Reason | null;
  conversationId: string | null;
  attempts: number;
  nextAttemptAt: string | null;
  occurredAt: string;
}

export interface ChangeDescription {
  tenantId: string;
  spec: CallbackSpec;
  from: CallbackStatus | null;
  to: CallbackStatus;
  reason: Reason | null;
  conversationId: string | null;
  attempts: number;
  nextAttemptAt: EpochMs | null;
  at: EpochMs;
}

/** Event type and AMQP routing key of a change: `callback.<status>`. */
export function eventTypeFor(status: CallbackStatus): string {
  return `callback.${status}`;
}

export function eventPayload(change: ChangeDescription): CallbackEventPayload {
  return {
    tenantId: change.tenantId,
    callbackId: change.spec.callbackId,
    externalId: change.spec.customerData.externalId ?? null,
    queueId: change.spec.routingData.queueId,
    scheduledTime: change.spec.scheduledTime,
    status: change.to,
    previousStatus: change.from,
    reason: change.reason,
    conversationId: change.conversationId,
    attempts: change.attempts,
    nextAttemptAt: change.nextAttemptAt === null ? null : new Date(change.nextAttemptAt).toISOString(),
    occurredAt: new Date(change.at).toISOString(),
  };
}

/** The outbox drafts for one change, one per channel. Pass them to Store.accept / Store.transition. */
export function changeOutbox(
  change: ChangeDescription,
  channels: readonly EventChannel[] = DEFAULT_EVENT_CHANNELS,
): OutboxDraft[] {
  const payload = eventPayload(change);
  return channels.map((channel) => ({ channel, eventType: eventTypeFor(change.to), payload }));
}

/** The outbox drafts for a callback accepted at intake (the CRM's "Callback Requested"). */
export function acceptedOutbox(
  tenantId: string,
  spec: CallbackSpec,
  at: EpochMs,
  channels: readonly EventChannel[] = DEFAULT_EVENT_CHANNELS,
): OutboxDraft[] {
  return changeOutbox(
    {
      tenantId,
      spec,
      from: null,
      to: 'accepted',
      reason: null,
      conversationId: null,
      attempts: 0,
      nextAttemptAt: null,
      at,
    },
    channels,
  );
}

/**
 * A guarded transition of `record` with its outbox rows. The guard defaults to the record's
 * current status, so a concurrent change makes the transition a no-op (Store.transition → null).
 */
export function transitionOf(
  record: CallbackRecord,
  change: {
    from?: readonly CallbackStatus[];
    to: CallbackStatus;
    reason: Reason | null;
    at: EpochMs;
    set?: TransitionInput['set'];
    enqueue?: JobDraft;
  },
  channels: readonly EventChannel[] = DEFAULT_EVENT_CHANNELS,
): TransitionInput {
  const set = change.set ?? {};
  const outbox = changeOutbox(
    {
      tenantId: record.tenantId,
      spec: set.spec ?? record.spec,
      from: record.status,
      to: change.to,
      reason: change.reason,
      conversationId: set.conversationId !== undefined ? set.conversationId : record.conversationId,
      attempts: set.attempts ?? record.attempts,
      nextAttemptAt: set.nextAttemptAt !== undefined ? set.nextAttemptAt : record.nextAttemptAt,
      at: change.at,
    },
    channels,
  );
  const input: TransitionInput = {
    pk: record.pk,
    from: change.from ?? [record.status],
    to: change.to,
    reason: change.reason,
    at: change.at,
    outbox,
  };
  if (change.set) input.set = change.set;
  if (change.enqueue) input.enqueue = change.enqueue;
  return input;
}
