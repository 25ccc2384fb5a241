import type { Migration } from '../../migration.js';

/**
 * Booking (issue 14): per-slot capacity is counted over open callbacks by queue and scheduled time;
 * perCustomer looks up a customer's open callback by a stored key; holds reserve one unit of a slot;
 * call_attempt numbers the re-attempts of one callback (1 = the first call). Landed: never edit.
 */
export const migration: Migration = {
  id: '0005_booking',
  up: [
    'alter table callbacks add column customer_key text',
    'alter table callbacks add column call_attempt integer not null default 1',
    `create index callbacks_open_queue_scheduled on callbacks (queue_id, scheduled_at)
      where status in ('accepted', 'pending')`,
    `create index callbacks_open_customer on callbacks (tenant_id, queue_id, customer_key)
      where status in ('accepted', 'pending') and customer_key is not null`,
    `create table slot_holds (
      id text primary key,
      tenant_id text not null,
      queue_id text not null,
      slot_start integer not null,
      slot_end integer not null,
      created_at integer not null,
      expires_at integer not null,
      callback_pk integer references callbacks (pk),
      consumed_at integer
    )`,
    'create index slot_holds_live on slot_holds (queue_id, slot_start, expires_at) where callback_pk is null',
  ],
};
