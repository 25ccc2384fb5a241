/**
 * Kysely's view of the ledger tables, shared by both adapters (the migrations of each dialect
 * create exactly these columns). Times are epoch ms: INTEGER in SQLite, BIGINT in PostgreSQL
 * (parsed back to JS numbers by the pg adapter). JSON columns are written as JSON text and come
 * back as text (SQLite) or parsed (PostgreSQL `json`); `Dialect.parseJson` evens that out.
 */
import type { ColumnType, Generated } from 'kysely';
import type { CallbackStatus } from '../domain/types.js';

type Json = ColumnType<unknown, string, string>;

export interface TenantsTable {
  id: string;
  created_at: number;
}

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  name: string;
  hash: string;
  scopes: Json;
  created_at: number;
  revoked_at: number | null;
}

export interface CallbacksTable {
  pk: Generated<number>;
  tenant_id: string;
  callback_id: string;
  status: CallbackStatus;
  status_reason_code: string | null;
  status_reason_message: string | null;
  spec: Json;
  fingerprint: string;
  queue_id: string;
  scheduled_at: number;
  conversation_id: string | null;
  attempts: number;
  next_attempt_at: number | null;
  submit_inflight_at: number | null;
  last_checked_at: number | null;
  /** Migration 0004. */
  first_dialed_at: number | null;
  last_changed_at: number;
  created_at: number;
  updated_at: number;
  /** 0005: `ext:<externalId>` or `num:<callbackNumber>`, for perCustomer (null on older rows). */
  customer_key: ColumnType<string | null, string | null | undefined, string | null>;
  /** 0005: 1 = the first call, 2 = the first re-attempt, … */
  call_attempt: ColumnType<number, number | undefined, number>;
}

/** 0005: a unit of a slot reserved while a customer fills in a form. */
export interface SlotHoldsTable {
  id: string;
  tenant_id: string;
  queue_id: string;
  slot_start: number;
  slot_end: number;
  created_at: number;
  expires_at: number;
  callback_pk: number | null;
  consumed_at: number | null;
}

export interface CallbackHistoryTable {
  id: Generated<number>;
  callback_pk: number;
  status: CallbackStatus;
  reason_code: string | null;
  reason_message: string | null;
  at: number;
}

export interface JobsTable {
  id: Generated<number>;
  kind: string;
  callback_pk: number;
  run_at: number;
  attempts: number;
  locked_by: string | null;
  locked_until: number | null;
  last_error: string | null;
  payload: Json | null;
  created_at: number;
}

export interface OutboxTable {
  id: string;
  channel: string;
  tenant_id: string;
  callback_pk: number;
  event_type: string;
  payload: Json;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
  delivered_at: number | null;
  dead_at: number | null;
  last_error: string | null;
  locked_until: number | null;
}

export interface DashboardSessionsTable {
  hash: string;
  api_key_id: string;
  created_at: number;
  expires_at: number;
  ended_at: number | null;
}

export interface SchemaMigrationsTable {
  id: string;
  checksum: string;
  applied_at: number;
}

export interface LedgerDatabase {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  callbacks: CallbacksTable;
  callback_history: CallbackHistoryTable;
  jobs: JobsTable;
  outbox: OutboxTable;
  slot_holds: SlotHoldsTable;
  schema_migrations: SchemaMigrationsTable;
  dashboard_sessions: DashboardSessionsTable;
}
