/** Ledger records → the callback resource (README, "The API"). */
import type { CallbackResource } from '../domain/types.js';
import type { CallbackRecord, CallbackWithHistory } from '../ledger/port.js';

const iso = (ms: number) => new Date(ms).toISOString();

export type CallbackSummary = Omit<CallbackResource, 'history'>;

export function toSummary(record: CallbackRecord): CallbackSummary {
  return {
    ...record.spec,
    status: record.status,
    statusReason: record.statusReason,
    conversationId: record.conversationId,
    attempts: record.attempts,
    nextAttemptAt: record.nextAttemptAt === null ? null : iso(record.nextAttemptAt),
    createdAt: iso(record.createdAt),
    updatedAt: iso(record.updatedAt),
  };
}

export function toResource(record: CallbackWithHistory): CallbackResource {
  return { ...toSummary(record), history: record.history };
}

export function callbackLocation(callbackId: string): string {
  return `/api/v2/routing/callbacks/${encodeURIComponent(callbackId)}`;
}
