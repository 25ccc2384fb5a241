import type { Migration } from '../../migration.js';

/**
 * Cluster mode tables (see the PostgreSQL 0006). SQLite runs one process per file, so callbackd
 * does not use them there; they exist so both dialects keep one schema. Landed: never edit.
 */
export const migration: Migration = {
  id: '0006_cluster',
  up: [
    'create table cluster_budget (name text primary key, tat_ms real not null)',
    `create table cluster_members (
      id text primary key,
      host text not null,
      pid integer not null,
      version text not null,
      config_hash text not null,
      started_at integer not null,
      heartbeat_at integer not null,
      budget_granted_last_minute integer not null default 0,
      leases text not null default '[]'
    )`,
    `create table cluster_leases (
      name text primary key,
      holder text not null,
      token integer not null,
      expires_at integer not null,
      state text
    )`,
    `create table capacity_observations (
      queue_id text primary key,
      waiting integer not null,
      observed_at integer not null
    )`,
  ],
};
