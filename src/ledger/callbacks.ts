/**
 * The callbacks aggregate: the callback rows, their history, and every status change as one
 * guarded statement in a transaction that also writes the history and outbox rows (and any job).
 */
import { type Expression, type ExpressionBuilder, type Selectable, type SqlBool, sql } from 'kysely';
import { TERMINAL_STATUSES } from '../domain/lifecycle.js';
import type { EpochMs, HistoryEntry } from '../domain/types.js';
import { bookingLockKeys, checkBooking, consumeHold, customerKeyOf } from './booking.js';
import type { Db, LedgerDialect } from './dialect.js';
import { LedgerError } from './errors.js';
import { insertJob } from './jobs.js';
import { insertOutbox } from './outbox.js';
import type {
  AcceptInput,
  AcceptOutcome,
  BookedAcceptOutcome,
  CallbackRecord,
  CallbackWithHistory,
  ListFilter,
  Page,
  TransitionInput,
} from './port.js';
import type { CallbacksTable, LedgerDatabase } from './tables.js';

/**
 * The partial indexes' predicate, written as a literal so both planners can match it to the
 * index definition (a bound parameter would not match).
 */
const isOpen = sql<SqlBool>`status in ('accepted', 'pending')`;

type CallbackRow = Selectable<CallbacksTable>;

const RECORD_CHECKED_CHUNK = 500;

export class CallbacksLedger {
  private readonly accepts: AcceptGroup | null;

  constructor(
    private readonly db: Db,
    private readonly dialect: LedgerDialect,
    options: { groupCommitAccepts?: boolean; maxAcceptGroup?: number } = {},
  ) {
    this.accepts = options.groupCommitAccepts
      ? new AcceptGroup(db, (trx, input) => this.acceptIn(trx, input), options.maxAcceptGroup ?? 64)
      : null;
  }

  /** Resolves once every accept submitted so far has been answered (before closing). */
  async drained(): Promise<void> {
    await this.accepts?.drained();
  }

  async accept(input: AcceptInput): Promise<AcceptOutcome> {
    const { booking: _checksOnlyInAcceptBooked, ...plain } = input;
    const outcome = await this.acceptBooked(plain);
    // Only a booking check refuses, and there is none here.
    if (outcome.outcome === 'refused') throw new Error('accept without booking checks was refused');
    return outcome;
  }

  /** accept, with the booking checks of `input.booking` (booking.ts) in the same transaction. */
  acceptBooked(input: AcceptInput): Promise<BookedAcceptOutcome> {
    if (this.accepts) return this.accepts.submit(input);
    return this.db.transaction().execute((trx) => this.acceptIn(trx, input));
  }

  /** Insert-once: `on conflict do nothing`, then read the winner. Never check-then-insert. */
  private async acceptIn(trx: Db, input: AcceptInput): Promise<BookedAcceptOutcome> {
    const { spec, tenantId, at } = input;
    const scheduledAt = Date.parse(spec.scheduledTime);
    if (!Number.isFinite(scheduledAt)) {
      throw new LedgerError(
        'LEDGER_INVALID_SPEC',
        `scheduledTime ${JSON.stringify(spec.scheduledTime)} is not an ISO 8601 instant; validate the request before accepting it`,
      );
    }
    const specJson = JSON.stringify(spec);
    if (input.booking) {
      // Under the slot / customer lock, so the count below and the insert are one decision.
      await this.dialect.lockKeys(trx, bookingLockKeys(tenantId, spec.routingData.queueId, input.booking));
      const existing = await this.existingAccept(trx, input);
      if (existing) return existing;
      const refusal = await checkBooking(trx, tenantId, spec.routingData.queueId, input.booking, at);
      if (refusal) return { outcome: 'refused', refusal };
    }
    const inserted = await trx
      .insertInto('callbacks')
      .values({
        tenant_id: tenantId,
        callback_id: spec.callbackId,
        status: 'accepted',
        status_reason_code: null,
        status_reason_message: null,
        spec: specJson,
        fingerprint: input.fingerprint,
        queue_id: spec.routingData.queueId,
        scheduled_at: scheduledAt,
        conversation_id: null,
        attempts: 0,
        next_attempt_at: null,
        submit_inflight_at: null,
        last_checked_at: null,
        first_dialed_at: null,
        last_changed_at: at,
        created_at: at,
        updated_at: at,
        customer_key: customerKeyOf(spec.customerData.externalId, spec.callbackNumber),
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'callback_id']).doNothing())
      .returning('pk')
      .executeTakeFirst();

    if (!inserted) {
      const existing = await this.existingAccept(trx, input);
      if (!existing)
        throw new Error(`callback ${spec.callbackId} conflicted on insert but cannot be read back`);
      return existing;
    }

    const pk = inserted.pk;
    if (input.booking) await consumeHold(trx, input.booking, pk, at);
    await trx
      .insertInto('callback_history')
      .values({ callback_pk: pk, status: 'accepted', reason_code: null, reason_message: null, at })
      .execute();
    await insertOutbox(trx, input.outbox, tenantId, pk, at);
    await insertJob(trx, { kind: 'submit', callbackPk: pk, runAt: at }, at);

    return {
      outcome: 'created',
      callback: {
        pk,
        tenantId,
        callbackId: spec.callbackId,
        // What a later read returns: the stored JSON, not the caller's object.
        spec: JSON.parse(specJson),
        fingerprint: input.fingerprint,
        status: 'accepted',
        statusReason: null,
        conversationId: null,
        attempts: 0,
        nextAttemptAt: null,
        callAttempt: 1,
        submitInFlightAt: null,
        lastCheckedAt: null,
        firstDialedAt: null,
        createdAt: at,
        updatedAt: at,
        history: [{ status: 'accepted', at: new Date(at).toISOString(), reason: null }],
      },
    };
  }

  /** The callback already stored under the input's (tenant, callbackId), as a replay or a conflict. */
  private async existingAccept(trx: Db, input: AcceptInput): Promise<AcceptOutcome | undefined> {
    const existing = await this.getWhere(trx, (eb) =>
      eb.and([eb('c.tenant_id', '=', input.tenantId), eb('c.callback_id', '=', input.spec.callbackId)]),
    );
    if (!existing) return undefined;
    return {
      outcome: existing.fingerprint === input.fingerprint ? 'replayed' : 'conflict',
      callback: existing,
    };
  }

  get(tenantId: string, callbackId: string): Promise<CallbackWithHistory | undefined> {
    return this.getWhere(this.db, (eb) =>
      eb.and([eb('c.tenant_id', '=', tenantId), eb('c.callback_id', '=', callbackId)]),
    );
  }

  getByPk(pk: number): Promise<CallbackWithHistory | undefined> {
    return this.getWhere(this.db, (eb) => eb('c.pk', '=', pk));
  }

  /** The row and its history in one statement, so they come from one snapshot. */
  private async getWhere(
    db: Db,
    where: (eb: ExpressionBuilder<LedgerDatabase & { c: CallbacksTable }, 'c'>) => Expression<SqlBool>,
  ): Promise<CallbackWithHistory | undefined> {
    const rows = await db
      .selectFrom('callbacks as c')
      .leftJoin('callback_history as h', 'h.callback_pk', 'c.pk')
      .selectAll('c')
      .select([
        'h.id as h_id',
        'h.status as h_status',
        'h.reason_code as h_reason_code',
        'h.reason_message as h_reason_message',
        'h.at as h_at',
      ])
      .where(where as never)
      .orderBy('h.id')
      .execute();
    const first = rows[0];
    if (!first) return undefined;
    const history: HistoryEntry[] = [];
    for (const r of rows) {
      if (r.h_id === null || r.h_status === null || r.h_at === null) continue;
      history.push({
        status: r.h_status,
        at: new Date(r.h_at).toISOString(),
        reason:
          r.h_reason_code === null ? null : { code: r.h_reason_code, message: r.h_reason_message ?? '' },
      });
    }
    return { ...this.toRecord(first), history };
  }

  async list(
    tenantId: string,
    filter: ListFilter,
    afterPk: number | null,
    limit: number,
  ): Promise<Page<CallbackRecord>> {
    let q = this.db.selectFrom('callbacks').selectAll().where('tenant_id', '=', tenantId);
    if (filter.status !== undefined) q = q.where('status', '=', filter.status);
    if (filter.queueId !== undefined) q = q.where('queue_id', '=', filter.queueId);
    if (filter.scheduledFrom !== undefined) q = q.where('scheduled_at', '>=', filter.scheduledFrom);
    if (filter.scheduledTo !== undefined) q = q.where('scheduled_at', '<', filter.scheduledTo);
    if (afterPk !== null) q = q.where('pk', '>', afterPk);
    const rows = await q
      .orderBy('pk')
      .limit(limit + 1)
      .execute();
    return this.page(rows, limit);
  }

  async listNonTerminal(afterPk: number | null, limit: number): Promise<Page<CallbackRecord>> {
    let q = this.db.selectFrom('callbacks').selectAll().where(isOpen);
    if (afterPk !== null) q = q.where('pk', '>', afterPk);
    const rows = await q
      .orderBy('pk')
      .limit(limit + 1)
      .execute();
    return this.page(rows, limit);
  }

  async listTrackable(dueBefore: EpochMs, changedSince: EpochMs, limit: number): Promise<CallbackRecord[]> {
    // Two range searches, one per partial index, joined with UNION ALL (duplicates are harmless
    // under IN). Both an OR and a plain UNION make SQLite walk every open callback instead.
    const tracked = this.db
      .selectFrom('callbacks')
      .select('pk')
      .where(isOpen)
      .where('conversation_id', 'is not', null);
    const rows = await this.db
      .selectFrom('callbacks')
      .selectAll()
      .where('pk', 'in', () =>
        tracked
          .where('scheduled_at', '<', dueBefore)
          .unionAll(tracked.where('last_changed_at', '>', changedSince)),
      )
      .orderBy('last_checked_at', (ob) => ob.asc().nullsFirst())
      .orderBy('pk')
      .limit(limit)
      .execute();
    return rows.map((r) => this.toRecord(r));
  }

  private page(rows: CallbackRow[], limit: number): Page<CallbackRecord> {
    const more = rows.length > limit;
    const items = (more ? rows.slice(0, limit) : rows).map((r) => this.toRecord(r));
    return { items, nextAfterPk: more ? (items.at(-1)?.pk ?? null) : null };
  }

  async transition(input: TransitionInput): Promise<CallbackRecord | null> {
    if (input.from.length === 0) {
      throw new LedgerError('LEDGER_EMPTY_GUARD', 'transition needs at least one state in `from`');
    }
    const terminal = input.from.filter((s) => TERMINAL_STATUSES.includes(s));
    if (terminal.length > 0) {
      throw new LedgerError(
        'LEDGER_TERMINAL_STATE',
        `cannot transition out of terminal state ${terminal.join(', ')}: terminal states never change; guard on accepted or pending`,
      );
    }
    return this.db.transaction().execute(async (trx) => {
      // Locked (PG) so that "did the status change?" below is decided on the row the update sees.
      const before = await this.dialect
        .forUpdate(trx.selectFrom('callbacks').select(['status', 'tenant_id']).where('pk', '=', input.pk))
        .executeTakeFirst();
      if (!before) return null;

      const { set = {}, reason, at, to } = input;
      const statusChanges = before.status !== to;
      const changes: Partial<Record<keyof CallbacksTable, unknown>> = {
        status: to,
        updated_at: at,
        last_changed_at: at,
      };
      // A new status drops the old reason; a same-status change keeps it unless given a new one.
      if (reason !== null || statusChanges) {
        changes.status_reason_code = reason?.code ?? null;
        changes.status_reason_message = reason?.message ?? null;
      }
      if (set.conversationId !== undefined) changes.conversation_id = set.conversationId;
      if (set.attempts !== undefined) changes.attempts = set.attempts;
      if (set.nextAttemptAt !== undefined) changes.next_attempt_at = set.nextAttemptAt;
      if (set.submitInFlightAt !== undefined) changes.submit_inflight_at = set.submitInFlightAt;
      if (set.firstDialedAt !== undefined) changes.first_dialed_at = set.firstDialedAt;
      if (set.callAttempt !== undefined) changes.call_attempt = set.callAttempt;
      if (set.spec !== undefined) {
        const scheduledAt = Date.parse(set.spec.scheduledTime);
        if (!Number.isFinite(scheduledAt)) {
          throw new LedgerError(
            'LEDGER_INVALID_SPEC',
            `scheduledTime ${set.spec.scheduledTime} is not an ISO instant`,
          );
        }
        changes.spec = JSON.stringify(set.spec);
        changes.queue_id = set.spec.routingData.queueId;
        changes.scheduled_at = scheduledAt;
        changes.customer_key = customerKeyOf(set.spec.customerData.externalId, set.spec.callbackNumber);
      }

      // The guard: the one statement that decides whether this transition happens.
      const row = await trx
        .updateTable('callbacks')
        .set(changes as never)
        .where('pk', '=', input.pk)
        .where('status', 'in', input.from)
        .returningAll()
        .executeTakeFirst();
      if (!row) return null;

      if (statusChanges || reason !== null) {
        await trx
          .insertInto('callback_history')
          .values({
            callback_pk: input.pk,
            status: to,
            reason_code: reason?.code ?? null,
            reason_message: reason?.message ?? null,
            at,
          })
          .execute();
      }
      await insertOutbox(trx, input.outbox, row.tenant_id, input.pk, at);
      if (input.enqueue) await insertJob(trx, input.enqueue, at);
      return this.toRecord(row);
    });
  }

  async markSubmitInFlight(pk: number, at: EpochMs): Promise<boolean> {
    const res = await this.db
      .updateTable('callbacks')
      .set({ submit_inflight_at: at, updated_at: at })
      .where('pk', '=', pk)
      .where('status', '=', 'accepted')
      .executeTakeFirst();
    return res.numUpdatedRows > 0n;
  }

  async recordChecked(pks: readonly number[], at: EpochMs): Promise<void> {
    for (let i = 0; i < pks.length; i += RECORD_CHECKED_CHUNK) {
      const chunk = pks.slice(i, i + RECORD_CHECKED_CHUNK);
      await this.db.updateTable('callbacks').set({ last_checked_at: at }).where('pk', 'in', chunk).execute();
    }
  }

  // ---- row mapping -----------------------------------------------------------------------

  private toRecord(r: CallbackRow): CallbackRecord {
    return {
      pk: r.pk,
      tenantId: r.tenant_id,
      callbackId: r.callback_id,
      spec: this.dialect.parseJson(r.spec) as CallbackRecord['spec'],
      fingerprint: r.fingerprint,
      status: r.status,
      statusReason:
        r.status_reason_code === null
          ? null
          : { code: r.status_reason_code, message: r.status_reason_message ?? '' },
      conversationId: r.conversation_id,
      attempts: r.attempts,
      nextAttemptAt: r.next_attempt_at,
      callAttempt: r.call_attempt,
      submitInFlightAt: r.submit_inflight_at,
      firstDialedAt: r.first_dialed_at === null ? null : Number(r.first_dialed_at),
      lastCheckedAt: r.last_checked_at,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    };
  }
}

interface PendingAccept {
  input: AcceptInput;
  resolve(outcome: BookedAcceptOutcome): void;
  reject(err: unknown): void;
}

/**
 * Group commit for accepts: those that arrive while a commit is running (or in the same turn of
 * the event loop) are committed together in the next transaction, so N accepts cost one fsync.
 * Each accept is idempotent on (tenant, callbackId), so when a group fails as a whole nothing was
 * committed and every member is simply retried alone, which isolates the one that failed.
 */
class AcceptGroup {
  readonly #queue: PendingAccept[] = [];
  #running: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly acceptIn: (trx: Db, input: AcceptInput) => Promise<BookedAcceptOutcome>,
    private readonly maxGroup: number,
  ) {}

  submit(input: AcceptInput): Promise<BookedAcceptOutcome> {
    return new Promise<BookedAcceptOutcome>((resolve, reject) => {
      this.#queue.push({ input, resolve, reject });
      this.#running ??= this.#drain();
    });
  }

  /** Resolves once every accept submitted so far has been answered. */
  async drained(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #drain(): Promise<void> {
    // Let the accepts of this event-loop turn join the first group.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#queue.length > 0) {
      const group = this.#queue.splice(0, this.maxGroup);
      await this.#commit(group);
    }
    this.#running = null;
  }

  async #commit(group: PendingAccept[]): Promise<void> {
    try {
      const outcomes = await this.db.transaction().execute(async (trx) => {
        const out: BookedAcceptOutcome[] = [];
        for (const item of group) out.push(await this.acceptIn(trx, item.input));
        return out;
      });
      for (const [i, item] of group.entries()) item.resolve(outcomes[i] as BookedAcceptOutcome);
    } catch (err) {
      if (group.length === 1) {
        group[0]?.reject(err);
        return;
      }
      for (const item of group) {
        try {
          item.resolve(await this.db.transaction().execute((trx) => this.acceptIn(trx, item.input)));
        } catch (e) {
          item.reject(e);
        }
      }
    }
  }
}
