import type { Migration } from '../../migration.js';

/**
 * Cluster mode (several `callbackd serve` on one ledger):
 * - cluster_budget: one row per shared platform budget, the GCRA "theoretical arrival time" in
 *   epoch ms (fractional, so the emission interval does not round) on the database's clock;
 * - cluster_members: one row per running instance, renewed by its heartbeat;
 * - cluster_leases: named leases (the notification-listener leader, the sweep) with a fencing
 *   token that grows whenever the holder changes, and a little state (the sweep's position);
 * - capacity_observations: the last queue observation per queue (waiting callbacks), so a
 *   cluster asks the platform once per cache window, not once per instance.
 * Landed: never edit.
 */
export const migration: Migration = {
  id: '0006_cluster',
  up: [
    'create table cluster_budget (name text primary key, tat_ms double precision not null)',
    `create table cluster_members (
      id text primary key,
      host text not null,
      pid integer not null,
      version text not null,
      config_hash text not null,
      started_at bigint not null,
      heartbeat_at bigint not null,
      budget_granted_last_minute integer not null default 0,
      leases text not null default '[]'
    )`,
    `create table cluster_leases (
      name text primary key,
      holder text not null,
      token bigint not null,
      expires_at bigint not null,
      state text
    )`,
    `create table capacity_observations (
      queue_id text primary key,
      waiting integer not null,
      observed_at bigint not null
    )`,
  ],
};
