/**
 * The ledger port: everything callbackd keeps durably. Adapters (SQLite, PostgreSQL) implement it
 * and pass the same contract tests (test/ledger/contract.ts).
 *
 * Rules every adapter keeps:
 * - every status change is one guarded UPDATE (`where pk = ? and status in (...)`) in a transaction
 *   that also inserts the history row and the outbox rows;
 * - terminal states never change;
 * - times are epoch milliseconds, passed in by the caller (the ledger never reads a clock).
 */

import type { CallbackSpec, CallbackStatus, EpochMs, HistoryEntry, Reason, Scope } from '../domain/types.js';
import type { BookingClaim, BookingRefusal, HoldInput, HoldOutcome, SlotUsage } from './booking.js';

export interface CallbackRecord {
  /** Internal row id: the cursor for paging and the key jobs refer to. */
  pk: number;
  tenantId: string;
  callbackId: string;
  spec: CallbackSpec;
  /** Digest of the spec as first accepted; a replay with another fingerprint is a conflict. */
  fingerprint: string;
  status: CallbackStatus;
  statusReason: Reason | null;
  conversationId: string | null;
  /** Submissions made to the platform so far (capacity retries count). */
  attempts: number;
  nextAttemptAt: EpochMs | null;
  /** Re-attempt ladder: 1 = the first call, 2 = the first re-attempt, … (absent = 1). */
  callAttempt?: number;
  /** Set just before a create request is sent, cleared when its answer is recorded. */
  submitInFlightAt: EpochMs | null;
  lastCheckedAt: EpochMs | null;
  /** When the platform first dialled the customer for the current attempt (tracker; null until seen). */
  firstDialedAt: EpochMs | null;
  createdAt: EpochMs;
  updatedAt: EpochMs;
}

export interface CallbackWithHistory extends CallbackRecord {
  history: HistoryEntry[];
}

export type AcceptOutcome =
  | { outcome: 'created'; callback: CallbackWithHistory }
  | { outcome: 'replayed'; callback: CallbackWithHistory }
  | { outcome: 'conflict'; callback: CallbackWithHistory };

/** What `acceptBooked` answers: an accept, or the booking check that refused it (nothing written). */
export type BookedAcceptOutcome = AcceptOutcome | { outcome: 'refused'; refusal: BookingRefusal };

export interface AcceptInput {
  tenantId: string;
  spec: CallbackSpec;
  fingerprint: string;
  at: EpochMs;
  /** Outbox rows to write with the first history row (CRM "Callback Requested", events). */
  outbox: OutboxDraft[];
  /** Slot capacity, hold and perCustomer checks, run in the accept's transaction (booking.ts). */
  booking?: BookingClaim;
}

export interface OutboxDraft {
  /** The event id receivers deduplicate on; the ledger generates a UUID when absent. */
  id?: string;
  /** 'webhook' for the CRM, 'amqp' for the event bus. */
  channel: 'webhook' | 'amqp';
  eventType: string;
  payload: unknown;
}

export interface TransitionInput {
  pk: number;
  /** The guard: the update applies only while the row is in one of these states. */
  from: readonly CallbackStatus[];
  to: CallbackStatus;
  reason: Reason | null;
  at: EpochMs;
  set?: {
    conversationId?: string | null;
    attempts?: number;
    nextAttemptAt?: EpochMs | null;
    submitInFlightAt?: EpochMs | null;
    firstDialedAt?: EpochMs | null;
    spec?: CallbackSpec;
    callAttempt?: number;
  };
  outbox: OutboxDraft[];
  /** A job to enqueue in the same transaction (e.g. resubmit at nextAttemptAt). */
  enqueue?: JobDraft;
}

export type JobKind = 'submit' | 'cancel' | 'reschedule';

export interface JobDraft {
  kind: JobKind;
  callbackPk: number;
  runAt: EpochMs;
  payload?: unknown;
}

export interface Job {
  id: number;
  kind: JobKind;
  callbackPk: number;
  runAt: EpochMs;
  attempts: number;
  lockedBy: string | null;
  lockedUntil: EpochMs | null;
  lastError: string | null;
  payload: unknown;
}

export interface OutboxRow {
  /** Also the event id receivers deduplicate on. */
  id: string;
  channel: 'webhook' | 'amqp';
  tenantId: string;
  callbackPk: number;
  eventType: string;
  payload: unknown;
  createdAt: EpochMs;
  attempts: number;
  nextAttemptAt: EpochMs;
  deliveredAt: EpochMs | null;
  deadAt: EpochMs | null;
  lastError: string | null;
}

export interface ApiKeyRecord {
  id: string;
  tenantId: string;
  name: string;
  /** Hex SHA-256 of the key; the key itself is never stored. */
  hash: string;
  scopes: Scope[];
  createdAt: EpochMs;
  revokedAt: EpochMs | null;
}

export interface ListFilter {
  status?: CallbackStatus;
  queueId?: string;
  /** Scheduled time range, inclusive start, exclusive end. */
  scheduledFrom?: EpochMs;
  scheduledTo?: EpochMs;
}

export interface Page<T> {
  items: T[];
  /** pk of the last item when more may follow. */
  nextAfterPk: number | null;
}

export interface Store {
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** Cheap round trip for /readyz. */
  ping(): Promise<void>;

  accept(input: AcceptInput): Promise<AcceptOutcome>;
  /** accept with slot capacity, hold and perCustomer checks in the same transaction. */
  acceptBooked(input: AcceptInput & { booking: BookingClaim }): Promise<BookedAcceptOutcome>;
  /** Reserve one unit of a slot (counted with the slot's callbacks and live holds). */
  holdSlot(input: HoldInput): Promise<HoldOutcome>;
  /** Open callbacks and live holds of a queue in [fromMs, toMs), grouped by instant. */
  slotUsage(queueId: string, fromMs: EpochMs, toMs: EpochMs, at: EpochMs): Promise<SlotUsage>;
  get(tenantId: string, callbackId: string): Promise<CallbackWithHistory | undefined>;
  getByPk(pk: number): Promise<CallbackWithHistory | undefined>;
  list(
    tenantId: string,
    filter: ListFilter,
    afterPk: number | null,
    limit: number,
  ): Promise<Page<CallbackRecord>>;
  /** Returns the updated row, or null when the guard did not hold (nothing was written). */
  transition(input: TransitionInput): Promise<CallbackRecord | null>;
  /** Marks a create request as about to be sent (guarded on status `accepted`). */
  markSubmitInFlight(pk: number, at: EpochMs): Promise<boolean>;
  recordChecked(pks: readonly number[], at: EpochMs): Promise<void>;

  /** Non-terminal callbacks with a conversation whose scheduled time is before `dueBefore`, or that changed after `changedSince`, least recently checked first. */
  listTrackable(dueBefore: EpochMs, changedSince: EpochMs, limit: number): Promise<CallbackRecord[]>;
  /** All non-terminal callbacks in pk order, a page at a time (the reconciliation sweep). */
  listNonTerminal(afterPk: number | null, limit: number): Promise<Page<CallbackRecord>>;

  enqueueJob(job: JobDraft): Promise<void>;
  /** Leases due jobs whose lease is free or expired: one guarded UPDATE per job. */
  leaseJobs(kind: JobKind, workerId: string, limit: number, leaseMs: number, now: EpochMs): Promise<Job[]>;
  completeJob(id: number, workerId: string): Promise<void>;
  retryJob(id: number, workerId: string, runAt: EpochMs, error: string): Promise<void>;
  /** Gives up every lease this worker holds (clean shutdown). */
  releaseLeases(workerId: string): Promise<void>;

  leaseOutbox(
    channel: 'webhook' | 'amqp',
    limit: number,
    leaseMs: number,
    now: EpochMs,
  ): Promise<OutboxRow[]>;
  markDelivered(id: string, at: EpochMs): Promise<void>;
  markDeliveryFailed(id: string, nextAttemptAt: EpochMs, error: string): Promise<void>;
  markDead(id: string, at: EpochMs, error: string): Promise<void>;
  listDead(limit: number): Promise<OutboxRow[]>;

  createApiKey(key: ApiKeyRecord): Promise<void>;
  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  listApiKeys(tenantId?: string): Promise<ApiKeyRecord[]>;
  revokeApiKey(id: string, at: EpochMs): Promise<boolean>;
}
