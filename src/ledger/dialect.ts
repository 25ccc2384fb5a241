/** What really differs between SQLite and PostgreSQL, for the one Kysely-written ledger. */
import type { Kysely } from 'kysely';
import type { Migration } from './migration.js';
import type { LedgerDatabase } from './tables.js';

/** Anything Kysely can lock a selected row with (`select … for update [skip locked]`). */
export interface Lockable<Q> {
  forUpdate(): Q;
  skipLocked(): Q;
}

export interface LedgerDialect {
  name: 'sqlite' | 'postgres';
  migrations: readonly Migration[];
  /** JSON columns come back as text from SQLite and already parsed from pg. */
  parseJson(value: unknown): unknown;
  /** Row lock until commit where the database has row locks; SQLite's single writer already serializes. */
  forUpdate<Q extends Lockable<Q>>(qb: Q): Q;
  /** Lock rows other workers have not locked (PG `for update skip locked`). */
  forUpdateSkipLocked<Q extends Lockable<Q>>(qb: Q): Q;
  /** Serialize booking checks on named keys until commit (booking.ts). */
  lockKeys(trx: Kysely<LedgerDatabase>, keys: readonly string[]): Promise<void>;
  /** Runs first in every migration transaction: serialize concurrent migrators, create the schema. */
  beginMigration(trx: Kysely<LedgerDatabase>): Promise<void>;
}

export type Db = Kysely<LedgerDatabase>;
