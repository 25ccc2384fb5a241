/**
 * The outbox aggregate: CRM webhook and event-bus deliveries, written in the same transaction as
 * the change they report and delivered by the job runtime's outbox deliverer.
 */
import { randomUUID } from 'node:crypto';
import type { ExpressionBuilder, Selectable } from 'kysely';
import type { EpochMs } from '../domain/types.js';
import type { Db, LedgerDialect } from './dialect.js';
import type { OutboxDraft, OutboxRow } from './port.js';
import type { LedgerDatabase, OutboxTable } from './tables.js';

/** Inserts a change's outbox rows; `db` is the transaction that writes the change. */
export async function insertOutbox(
  db: Db,
  drafts: readonly OutboxDraft[],
  tenantId: string,
  callbackPk: number,
  at: EpochMs,
): Promise<void> {
  if (drafts.length === 0) return;
  await db
    .insertInto('outbox')
    .values(
      drafts.map((d) => ({
        id: d.id ?? randomUUID(),
        channel: d.channel,
        tenant_id: tenantId,
        callback_pk: callbackPk,
        event_type: d.eventType,
        payload: JSON.stringify(d.payload ?? null),
        created_at: at,
        attempts: 0,
        next_attempt_at: at,
        delivered_at: null,
        dead_at: null,
        last_error: null,
        locked_until: null,
      })),
    )
    .execute();
}

export class OutboxLedger {
  constructor(
    private readonly db: Db,
    private readonly dialect: LedgerDialect,
  ) {}

  async lease(
    channel: OutboxRow['channel'],
    limit: number,
    leaseMs: number,
    now: EpochMs,
  ): Promise<OutboxRow[]> {
    const free = (eb: ExpressionBuilder<LedgerDatabase, 'outbox'>) =>
      eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]);
    const rows = await this.db
      .with(
        (cte) => cte('picked').materialized(),
        (db) =>
          this.dialect.forUpdateSkipLocked(
            db
              .selectFrom('outbox')
              .select('id')
              .where('channel', '=', channel)
              .where('delivered_at', 'is', null)
              .where('dead_at', 'is', null)
              .where('next_attempt_at', '<=', now)
              .where(free)
              .orderBy('next_attempt_at')
              .orderBy('created_at')
              .limit(limit),
          ),
      )
      .updateTable('outbox')
      .set((eb) => ({ locked_until: now + leaseMs, attempts: eb('attempts', '+', 1) }))
      .where('id', 'in', (eb) => eb.selectFrom('picked').select('picked.id'))
      .where('delivered_at', 'is', null)
      .where('dead_at', 'is', null)
      .where(free)
      .returningAll()
      .execute();
    return rows
      .map((r) => this.toOutbox(r))
      .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.createdAt - b.createdAt);
  }

  /** Guarded on "not yet delivered or dead": a row's end is written once. */
  private async settle(
    id: string,
    set: { delivered_at?: EpochMs; dead_at?: EpochMs; next_attempt_at?: EpochMs; last_error: string | null },
  ): Promise<void> {
    await this.db
      .updateTable('outbox')
      .set({ ...set, locked_until: null })
      .where('id', '=', id)
      .where('delivered_at', 'is', null)
      .where('dead_at', 'is', null)
      .execute();
  }

  markDelivered(id: string, at: EpochMs): Promise<void> {
    return this.settle(id, { delivered_at: at, last_error: null });
  }

  markDeliveryFailed(id: string, nextAttemptAt: EpochMs, error: string): Promise<void> {
    return this.settle(id, { next_attempt_at: nextAttemptAt, last_error: error });
  }

  markDead(id: string, at: EpochMs, error: string): Promise<void> {
    return this.settle(id, { dead_at: at, last_error: error });
  }

  async listDead(limit: number): Promise<OutboxRow[]> {
    const rows = await this.db
      .selectFrom('outbox')
      .selectAll()
      .where('dead_at', 'is not', null)
      .orderBy('dead_at', 'desc')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => this.toOutbox(r));
  }

  private toOutbox(r: Selectable<OutboxTable>): OutboxRow {
    return {
      id: r.id,
      channel: r.channel as OutboxRow['channel'],
      tenantId: r.tenant_id,
      callbackPk: r.callback_pk,
      eventType: r.event_type,
      payload: this.dialect.parseJson(r.payload),
      createdAt: r.created_at,
      attempts: r.attempts,
      nextAttemptAt: r.next_attempt_at,
      deliveredAt: r.delivered_at,
      deadAt: r.dead_at,
      lastError: r.last_error,
    };
  }
}
