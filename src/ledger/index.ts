/**
 * The ledger: `openStore(url)` picks the adapter from the URL.
 *   - `postgres://…` or `postgresql://…` → PostgreSQL
 *   - anything else is a SQLite file path (`:memory:` for a throwaway in-memory ledger);
 *     a `sqlite:` prefix is accepted and dropped.
 * The store is not migrated on open: call `store.migrate()` (idempotent) or run `callbackd migrate`.
 */
import { openPostgresStore, type PostgresStoreOptions } from './postgres/index.js';
import { openSqliteStore, type SqliteStoreOptions } from './sqlite/index.js';
import type { KyselyStore } from './store.js';

export type OpenStoreOptions = SqliteStoreOptions & PostgresStoreOptions;

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

export function openStore(url: string, options: OpenStoreOptions = {}): KyselyStore {
  if (isPostgresUrl(url)) return openPostgresStore(url, options);
  const filename = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url;
  return openSqliteStore(filename, options);
}

export { isLedgerError, LedgerError, type LedgerErrorCode } from './errors.js';
export type * from './port.js';
export { KyselyStore } from './store.js';
export { openPostgresStore, openSqliteStore, type PostgresStoreOptions, type SqliteStoreOptions };
