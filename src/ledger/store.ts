/**
 * The Store facade, written once against Kysely for both dialects: one object the use cases, the
 * job runtime and the API hold, delegating to one module per aggregate (callbacks.ts, jobs.ts,
 * outbox.ts, keys.ts). What really differs between SQLite and PostgreSQL (row locks, JSON
 * decoding, migration locking, the schema files) comes in through `LedgerDialect` (dialect.ts).
 */
import { sql } from 'kysely';
import type { EpochMs } from '../domain/types.js';
import {
  type BookingClaim,
  type HoldInput,
  type HoldOutcome,
  holdSlot,
  type SlotUsage,
  slotUsage,
} from './booking.js';
import { CallbacksLedger } from './callbacks.js';
import type { Db, LedgerDialect } from './dialect.js';
import { JobsLedger } from './jobs.js';
import { KeysLedger } from './keys.js';
import { runMigrations } from './migrator.js';
import { OutboxLedger } from './outbox.js';
import type {
  AcceptInput,
  AcceptOutcome,
  ApiKeyRecord,
  BookedAcceptOutcome,
  CallbackRecord,
  CallbackWithHistory,
  Job,
  JobDraft,
  JobKind,
  ListFilter,
  OutboxRow,
  Page,
  Store,
  TransitionInput,
} from './port.js';

export interface KyselyStoreOptions {
  /**
   * Commit accepts that arrive together in one transaction (one fsync for the group). Worth it on
   * SQLite, where every commit is a durable fsync on a single connection.
   */
  groupCommitAccepts?: boolean;
  /** Most accepts one group commit takes. */
  maxAcceptGroup?: number;
}

export class KyselyStore implements Store {
  readonly #db: Db;
  readonly #dialect: LedgerDialect;
  readonly callbacks: CallbacksLedger;
  readonly jobs: JobsLedger;
  readonly outbox: OutboxLedger;
  readonly keys: KeysLedger;

  constructor(db: Db, dialect: LedgerDialect, options: KyselyStoreOptions = {}) {
    this.#db = db;
    this.#dialect = dialect;
    this.callbacks = new CallbacksLedger(db, dialect, options);
    this.jobs = new JobsLedger(db, dialect);
    this.outbox = new OutboxLedger(db, dialect);
    this.keys = new KeysLedger(db, dialect);
  }

  /** The Kysely instance, for adapter-specific tests and tools (not for the engine or API). */
  get kysely(): Db {
    return this.#db;
  }

  get dialect(): LedgerDialect {
    return this.#dialect;
  }

  /** The migrations recorded in this ledger, in the order they were applied. */
  async appliedMigrations(): Promise<{ id: string; appliedAt: EpochMs }[]> {
    const rows = await this.#db
      .selectFrom('schema_migrations')
      .select(['id', 'applied_at'])
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ id: r.id, appliedAt: Number(r.applied_at) }));
  }

  async migrate(): Promise<void> {
    await runMigrations(this.#db, this.#dialect);
  }

  async close(): Promise<void> {
    await this.callbacks.drained();
    await this.#db.destroy();
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.#db);
  }

  // ---- callbacks (callbacks.ts) ----------------------------------------------------------

  accept(input: AcceptInput): Promise<AcceptOutcome> {
    return this.callbacks.accept(input);
  }
  acceptBooked(input: AcceptInput & { booking: BookingClaim }): Promise<BookedAcceptOutcome> {
    return this.callbacks.acceptBooked(input);
  }

  // ---- booking (booking.ts) --------------------------------------------------------------

  holdSlot(input: HoldInput): Promise<HoldOutcome> {
    return holdSlot(this.#db, this.#dialect.lockKeys, input);
  }
  slotUsage(queueId: string, fromMs: EpochMs, toMs: EpochMs, at: EpochMs): Promise<SlotUsage> {
    return slotUsage(this.#db, queueId, fromMs, toMs, at);
  }
  get(tenantId: string, callbackId: string): Promise<CallbackWithHistory | undefined> {
    return this.callbacks.get(tenantId, callbackId);
  }
  getByPk(pk: number): Promise<CallbackWithHistory | undefined> {
    return this.callbacks.getByPk(pk);
  }
  list(
    tenantId: string,
    filter: ListFilter,
    afterPk: number | null,
    limit: number,
  ): Promise<Page<CallbackRecord>> {
    return this.callbacks.list(tenantId, filter, afterPk, limit);
  }
  listNonTerminal(afterPk: number | null, limit: number): Promise<Page<CallbackRecord>> {
    return this.callbacks.listNonTerminal(afterPk, limit);
  }
  listTrackable(dueBefore: EpochMs, changedSince: EpochMs, limit: number): Promise<CallbackRecord[]> {
    return this.callbacks.listTrackable(dueBefore, changedSince, limit);
  }
  transition(input: TransitionInput): Promise<CallbackRecord | null> {
    return this.callbacks.transition(input);
  }
  markSubmitInFlight(pk: number, at: EpochMs): Promise<boolean> {
    return this.callbacks.markSubmitInFlight(pk, at);
  }
  recordChecked(pks: readonly number[], at: EpochMs): Promise<void> {
    return this.callbacks.recordChecked(pks, at);
  }

  // ---- jobs (jobs.ts) --------------------------------------------------------------------

  enqueueJob(job: JobDraft): Promise<void> {
    return this.jobs.enqueue(job);
  }
  leaseJobs(kind: JobKind, owner: string, limit: number, leaseMs: number, now: EpochMs): Promise<Job[]> {
    return this.jobs.lease(kind, owner, limit, leaseMs, now);
  }
  completeJob(id: number, owner: string): Promise<void> {
    return this.jobs.complete(id, owner);
  }
  retryJob(id: number, owner: string, runAt: EpochMs, error: string): Promise<void> {
    return this.jobs.retry(id, owner, runAt, error);
  }
  releaseLeases(owner: string): Promise<void> {
    return this.jobs.releaseLeases(owner);
  }

  // ---- outbox (outbox.ts) ----------------------------------------------------------------

  leaseOutbox(
    channel: OutboxRow['channel'],
    limit: number,
    leaseMs: number,
    now: EpochMs,
  ): Promise<OutboxRow[]> {
    return this.outbox.lease(channel, limit, leaseMs, now);
  }
  markDelivered(id: string, at: EpochMs): Promise<void> {
    return this.outbox.markDelivered(id, at);
  }
  markDeliveryFailed(id: string, nextAttemptAt: EpochMs, error: string): Promise<void> {
    return this.outbox.markDeliveryFailed(id, nextAttemptAt, error);
  }
  markDead(id: string, at: EpochMs, error: string): Promise<void> {
    return this.outbox.markDead(id, at, error);
  }
  listDead(limit: number): Promise<OutboxRow[]> {
    return this.outbox.listDead(limit);
  }

  // ---- API keys (keys.ts) ----------------------------------------------------------------

  createApiKey(key: ApiKeyRecord): Promise<void> {
    return this.keys.create(key);
  }
  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    return this.keys.findByHash(hash);
  }
  listApiKeys(tenantId?: string): Promise<ApiKeyRecord[]> {
    return this.keys.list(tenantId);
  }
  revokeApiKey(id: string, at: EpochMs): Promise<boolean> {
    return this.keys.revoke(id, at);
  }
}
