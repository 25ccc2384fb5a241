/**
 * Read models for the supervisor dashboard (and the one write it needs for sessions and
 * dead-letter retries), kept apart from the Store the engine uses. Every query is tenant-scoped
 * and written once for both dialects; where they differ (JSON access) the dialect name decides.
 * Aggregates are grouped in SQL so a week of callbacks comes back as a few hundred rows.
 */
import { type Kysely, sql } from 'kysely';
import type { CallbackStatus, EpochMs, Scope } from '../domain/types.js';
import type { ApiKeyRecord } from './port.js';
import type { LedgerDatabase } from './tables.js';

export interface DashboardLedger {
  db: Kysely<LedgerDatabase>;
  dialect: { name: 'sqlite' | 'postgres'; parseJson(value: unknown): unknown };
}

/** 15 minutes: the slot of the booking timeline and the finest bucket of the stats. */
export const SLOT_MS = 15 * 60_000;

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

// ---- sessions --------------------------------------------------------------------------------

export async function insertSession(
  l: DashboardLedger,
  s: { hash: string; apiKeyId: string; createdAt: EpochMs; expiresAt: EpochMs },
): Promise<void> {
  await l.db
    .insertInto('dashboard_sessions')
    .values({ hash: s.hash, api_key_id: s.apiKeyId, created_at: s.createdAt, expires_at: s.expiresAt })
    .execute();
}

/** The key behind a live session: not ended, not expired, and the key itself not revoked. */
export async function findSessionKey(
  l: DashboardLedger,
  hash: string,
  now: EpochMs,
): Promise<(ApiKeyRecord & { sessionExpiresAt: EpochMs }) | undefined> {
  const row = await l.db
    .selectFrom('dashboard_sessions as s')
    .innerJoin('api_keys as k', 'k.id', 's.api_key_id')
    .select([
      'k.id',
      'k.tenant_id',
      'k.name',
      'k.hash',
      'k.scopes',
      'k.created_at',
      'k.revoked_at',
      's.expires_at',
    ])
    .where('s.hash', '=', hash)
    .where('s.ended_at', 'is', null)
    .where('s.expires_at', '>', now)
    .where('k.revoked_at', 'is', null)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    hash: row.hash,
    scopes: l.dialect.parseJson(row.scopes) as Scope[],
    createdAt: num(row.created_at),
    revokedAt: null,
    sessionExpiresAt: num(row.expires_at),
  };
}

export async function endSession(l: DashboardLedger, hash: string, at: EpochMs): Promise<void> {
  await l.db
    .updateTable('dashboard_sessions')
    .set({ ended_at: at })
    .where('hash', '=', hash)
    .where('ended_at', 'is', null)
    .execute();
}

// ---- counts and stats ------------------------------------------------------------------------

export interface QueueStatusCount {
  queueId: string;
  status: CallbackStatus;
  count: number;
}

/** Callbacks per queue and status; with a range, only those scheduled in [from, to). */
export async function countByQueueAndStatus(
  l: DashboardLedger,
  tenantId: string,
  range: { from: EpochMs; to: EpochMs } | null,
  statuses?: readonly CallbackStatus[],
): Promise<QueueStatusCount[]> {
  let q = l.db
    .selectFrom('callbacks')
    .select(['queue_id', 'status', (eb) => eb.fn.countAll().as('n')])
    .where('tenant_id', '=', tenantId);
  if (range) q = q.where('scheduled_at', '>=', range.from).where('scheduled_at', '<', range.to);
  if (statuses) q = q.where('status', 'in', statuses);
  const rows = await q.groupBy(['queue_id', 'status']).execute();
  return rows.map((r) => ({ queueId: r.queue_id, status: r.status, count: num(r.n) }));
}

/** Open (accepted or pending) callbacks per queue per 15-minute slot scheduled in [from, to). */
export async function openPerSlot(
  l: DashboardLedger,
  tenantId: string,
  from: EpochMs,
  to: EpochMs,
): Promise<{ queueId: string; slotStart: EpochMs; count: number }[]> {
  const slot = sql<number>`scheduled_at / ${sql.lit(SLOT_MS)}`;
  const rows = await l.db
    .selectFrom('callbacks')
    .select(['queue_id', slot.as('slot'), (eb) => eb.fn.countAll().as('n')])
    .where('tenant_id', '=', tenantId)
    .where('status', 'in', ['accepted', 'pending'])
    .where('scheduled_at', '>=', from)
    .where('scheduled_at', '<', to)
    .groupBy(['queue_id', slot])
    .execute();
  return rows.map((r) => ({
    queueId: r.queue_id,
    slotStart: Math.floor(num(r.slot)) * SLOT_MS,
    count: num(r.n),
  }));
}

export interface OutcomeGroup {
  /** Start of the 15-minute slot (UTC) the callbacks were scheduled in. */
  slotStart: EpochMs;
  status: CallbackStatus;
  reasonCode: string | null;
  count: number;
  attempts: number;
  /** First dialled within the promise window after the scheduled time. */
  kept: number;
  /** Their promise window has ended by `now`. */
  due: number;
}

/** The raw material of the promise-kept figures: one row per slot, status and reason. */
export async function outcomeGroups(
  l: DashboardLedger,
  tenantId: string,
  queueId: string,
  from: EpochMs,
  to: EpochMs,
  windowMs: number,
  now: EpochMs,
): Promise<OutcomeGroup[]> {
  const slot = sql<number>`scheduled_at / ${sql.lit(SLOT_MS)}`;
  // first_dialed_at: when the platform first dialled the customer for the current attempt.
  const kept = sql<number>`sum(case when first_dialed_at is not null and first_dialed_at <= scheduled_at + ${windowMs} then 1 else 0 end)`;
  const due = sql<number>`sum(case when scheduled_at + ${windowMs} <= ${now} then 1 else 0 end)`;
  const rows = await l.db
    .selectFrom('callbacks')
    .select([
      slot.as('slot'),
      'status',
      'status_reason_code',
      (eb) => eb.fn.countAll().as('n'),
      (eb) => eb.fn.sum('attempts').as('attempts'),
      kept.as('kept'),
      due.as('due'),
    ])
    .where('tenant_id', '=', tenantId)
    .where('queue_id', '=', queueId)
    .where('scheduled_at', '>=', from)
    .where('scheduled_at', '<', to)
    .groupBy([slot, 'status', 'status_reason_code'])
    .execute();
  return rows.map((r) => ({
    slotStart: Math.floor(num(r.slot)) * SLOT_MS,
    status: r.status,
    reasonCode: r.status_reason_code,
    count: num(r.n),
    attempts: num(r.attempts),
    kept: num(r.kept),
    due: num(r.due),
  }));
}

/** Accepted callbacks still waiting to be created on the platform, and submit jobs already due. */
export async function submitBacklog(
  l: DashboardLedger,
  tenantId: string,
  now: EpochMs,
): Promise<{ waiting: number; due: number }> {
  const waiting = await l.db
    .selectFrom('callbacks')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'accepted')
    .where('conversation_id', 'is', null)
    .executeTakeFirst();
  const due = await l.db
    .selectFrom('jobs as j')
    .innerJoin('callbacks as c', 'c.pk', 'j.callback_pk')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('c.tenant_id', '=', tenantId)
    .where('j.kind', '=', 'submit')
    .where('j.run_at', '<=', now)
    .executeTakeFirst();
  return { waiting: num(waiting?.n), due: num(due?.n) };
}

// ---- the callbacks list ----------------------------------------------------------------------

export const SORT_COLUMNS = {
  scheduledTime: 'scheduled_at',
  updatedAt: 'updated_at',
  createdAt: 'created_at',
  status: 'status',
  callbackId: 'callback_id',
} as const;
export type SortKey = keyof typeof SORT_COLUMNS;

export interface SearchFilter {
  status?: CallbackStatus;
  queueId?: string;
  scheduledFrom?: EpochMs;
  scheduledTo?: EpochMs;
  externalId?: string;
  /** Substring of the callback id. */
  callbackId?: string;
}

export interface SearchRow {
  callbackId: string;
  queueId: string;
  status: CallbackStatus;
  reasonCode: string | null;
  spec: unknown;
  conversationId: string | null;
  attempts: number;
  scheduledAt: EpochMs;
  updatedAt: EpochMs;
}

/** A sorted, offset-paged page of callbacks with the total that match (a list a person pages through). */
export async function searchCallbacks(
  l: DashboardLedger,
  tenantId: string,
  filter: SearchFilter,
  sort: { key: SortKey; descending: boolean },
  offset: number,
  limit: number,
): Promise<{ items: SearchRow[]; total: number }> {
  let q = l.db.selectFrom('callbacks').where('tenant_id', '=', tenantId);
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.queueId) q = q.where('queue_id', '=', filter.queueId);
  if (filter.scheduledFrom !== undefined) q = q.where('scheduled_at', '>=', filter.scheduledFrom);
  if (filter.scheduledTo !== undefined) q = q.where('scheduled_at', '<', filter.scheduledTo);
  if (filter.callbackId) {
    // instr/strpos rather than LIKE: the id may hold % and _ literally.
    const fn = l.dialect.name === 'sqlite' ? 'instr' : 'strpos';
    q = q.where(sql<number>`${sql.raw(fn)}(callback_id, ${filter.callbackId})`, '>', 0);
  }
  if (filter.externalId) {
    const ext =
      l.dialect.name === 'sqlite'
        ? sql<string>`json_extract(spec, '$.customerData.externalId')`
        : sql<string>`(spec -> 'customerData' ->> 'externalId')`;
    q = q.where(ext, '=', filter.externalId);
  }
  const total = await q.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
  const dir = sort.descending ? 'desc' : 'asc';
  const rows = await q
    .select([
      'callback_id',
      'queue_id',
      'status',
      'status_reason_code',
      'spec',
      'conversation_id',
      'attempts',
      'scheduled_at',
      'updated_at',
    ])
    .orderBy(SORT_COLUMNS[sort.key], dir)
    .orderBy('pk', dir)
    .limit(limit)
    .offset(offset)
    .execute();
  return {
    total: num(total?.n),
    items: rows.map((r) => ({
      callbackId: r.callback_id,
      queueId: r.queue_id,
      status: r.status,
      reasonCode: r.status_reason_code,
      spec: l.dialect.parseJson(r.spec),
      conversationId: r.conversation_id,
      attempts: num(r.attempts),
      scheduledAt: num(r.scheduled_at),
      updatedAt: num(r.updated_at),
    })),
  };
}

// ---- the transition stream -------------------------------------------------------------------

export interface TransitionRow {
  /** callback_history.id: monotonic, the stream's event id. */
  id: number;
  callbackId: string;
  queueId: string;
  status: CallbackStatus;
  reasonCode: string | null;
  reasonMessage: string | null;
  at: EpochMs;
}

export async function transitionsAfter(
  l: DashboardLedger,
  tenantId: string,
  afterId: number,
  limit: number,
): Promise<TransitionRow[]> {
  const rows = await l.db
    .selectFrom('callback_history as h')
    .innerJoin('callbacks as c', 'c.pk', 'h.callback_pk')
    .select(['h.id', 'c.callback_id', 'c.queue_id', 'h.status', 'h.reason_code', 'h.reason_message', 'h.at'])
    .where('h.id', '>', afterId)
    .where('c.tenant_id', '=', tenantId)
    .orderBy('h.id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: num(r.id),
    callbackId: r.callback_id,
    queueId: r.queue_id,
    status: r.status,
    reasonCode: r.reason_code,
    reasonMessage: r.reason_message,
    at: num(r.at),
  }));
}

/** The newest history id of any tenant: where a stream that asks for "from now on" starts. */
export async function latestTransitionId(l: DashboardLedger): Promise<number> {
  const row = await l.db
    .selectFrom('callback_history')
    .select((eb) => eb.fn.max('id').as('id'))
    .executeTakeFirst();
  return num(row?.id);
}

// ---- dead letters ----------------------------------------------------------------------------

export interface DeadLetterRow {
  eventId: string;
  channel: string;
  eventType: string;
  callbackId: string;
  attempts: number;
  createdAt: EpochMs;
  deadAt: EpochMs;
  lastError: string | null;
}

export async function listDeadLetters(
  l: DashboardLedger,
  tenantId: string,
  limit: number,
): Promise<{ items: DeadLetterRow[]; total: number }> {
  const base = l.db
    .selectFrom('outbox as o')
    .innerJoin('callbacks as c', 'c.pk', 'o.callback_pk')
    .where('o.tenant_id', '=', tenantId)
    .where('o.dead_at', 'is not', null);
  const total = await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
  const rows = await base
    .select([
      'o.id',
      'o.channel',
      'o.event_type',
      'c.callback_id',
      'o.attempts',
      'o.created_at',
      'o.dead_at',
      'o.last_error',
    ])
    .orderBy('o.dead_at', 'desc')
    .orderBy('o.id')
    .limit(limit)
    .execute();
  return {
    total: num(total?.n),
    items: rows.map((r) => ({
      eventId: r.id,
      channel: r.channel,
      eventType: r.event_type,
      callbackId: r.callback_id,
      attempts: num(r.attempts),
      createdAt: num(r.created_at),
      deadAt: num(r.dead_at),
      lastError: r.last_error,
    })),
  };
}

export async function countDeadLetters(l: DashboardLedger, tenantId: string): Promise<number> {
  const row = await l.db
    .selectFrom('outbox')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('dead_at', 'is not', null)
    .executeTakeFirst();
  return num(row?.n);
}

/**
 * Puts a dead letter back in the delivery queue with a fresh set of attempts: one guarded UPDATE
 * (only while it is still dead and this tenant's). False when nothing matched.
 */
export async function retryDeadLetter(
  l: DashboardLedger,
  tenantId: string,
  eventId: string,
  now: EpochMs,
): Promise<'retried' | 'not-dead' | 'not-found'> {
  const r = await l.db
    .updateTable('outbox')
    .set({ dead_at: null, attempts: 0, next_attempt_at: now, locked_until: null })
    .where('id', '=', eventId)
    .where('tenant_id', '=', tenantId)
    .where('dead_at', 'is not', null)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) > 0) return 'retried';
  const exists = await l.db
    .selectFrom('outbox')
    .select('id')
    .where('id', '=', eventId)
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  return exists ? 'not-dead' : 'not-found';
}
