import type { Migration } from '../../migration.js';

/** The initial SQLite schema. Landed: never edit; add 0002_… instead. */
export const migration: Migration = {
  id: '0001_init',
  up: [
    `create table tenants (
      id text primary key,
      created_at integer not null
    )`,
    `create table api_keys (
      id text primary key,
      tenant_id text not null references tenants (id),
      name text not null,
      hash text not null unique,
      scopes text not null,
      created_at integer not null,
      revoked_at integer
    )`,
    'create index api_keys_tenant on api_keys (tenant_id, created_at)',
    `create table callbacks (
      pk integer primary key autoincrement,
      tenant_id text not null,
      callback_id text not null,
      status text not null check (status in ('accepted', 'pending', 'completed', 'expired', 'rejected', 'cancelled')),
      status_reason_code text,
      status_reason_message text,
      spec text not null,
      fingerprint text not null,
      queue_id text not null,
      scheduled_at integer not null,
      conversation_id text,
      attempts integer not null default 0,
      next_attempt_at integer,
      submit_inflight_at integer,
      last_checked_at integer,
      last_changed_at integer not null,
      created_at integer not null,
      updated_at integer not null,
      unique (tenant_id, callback_id)
    )`,
    // List filters page by pk within a tenant (no OFFSET): one index per filter that keeps pk order.
    'create index callbacks_tenant_pk on callbacks (tenant_id, pk)',
    'create index callbacks_tenant_status_pk on callbacks (tenant_id, status, pk)',
    'create index callbacks_tenant_queue_pk on callbacks (tenant_id, queue_id, pk)',
    'create index callbacks_tenant_scheduled on callbacks (tenant_id, scheduled_at)',
    // Tracking touches only open callbacks: partial indexes stay small as terminal rows pile up.
    `create index callbacks_open_pk on callbacks (pk)
      where status in ('accepted', 'pending')`,
    `create index callbacks_tracked_due on callbacks (scheduled_at)
      where status in ('accepted', 'pending') and conversation_id is not null`,
    `create index callbacks_tracked_changed on callbacks (last_changed_at)
      where status in ('accepted', 'pending') and conversation_id is not null`,
    `create table callback_history (
      id integer primary key autoincrement,
      callback_pk integer not null references callbacks (pk),
      status text not null,
      reason_code text,
      reason_message text,
      at integer not null
    )`,
    'create index callback_history_callback on callback_history (callback_pk, id)',
    `create table jobs (
      id integer primary key autoincrement,
      kind text not null,
      callback_pk integer not null references callbacks (pk),
      run_at integer not null,
      attempts integer not null default 0,
      locked_by text,
      locked_until integer,
      last_error text,
      payload text,
      created_at integer not null
    )`,
    'create index jobs_due on jobs (kind, run_at, id)',
    'create index jobs_locked_by on jobs (locked_by) where locked_by is not null',
    'create index jobs_callback on jobs (callback_pk)',
    `create table outbox (
      id text primary key,
      channel text not null,
      tenant_id text not null,
      callback_pk integer not null references callbacks (pk),
      event_type text not null,
      payload text not null,
      created_at integer not null,
      attempts integer not null default 0,
      next_attempt_at integer not null,
      delivered_at integer,
      dead_at integer,
      last_error text,
      locked_until integer
    )`,
    `create index outbox_due on outbox (channel, next_attempt_at, created_at)
      where delivered_at is null and dead_at is null`,
    'create index outbox_dead on outbox (dead_at) where dead_at is not null',
    'create index outbox_callback on outbox (callback_pk)',
  ],
};
