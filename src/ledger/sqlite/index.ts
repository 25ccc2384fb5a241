/**
 * The SQLite adapter: better-sqlite3 on one connection, WAL with synchronous=FULL so a commit
 * that returned survives a crash or power loss, foreign keys on, and a busy timeout so another
 * process's write (e.g. `callbackd keys create` next to a running server) waits instead of failing.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  type LogEvent,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from 'kysely';
import type { LedgerDialect } from '../dialect.js';
import { KyselyStore } from '../store.js';
import type { LedgerDatabase } from '../tables.js';
import { sqliteMigrations } from './migrations/index.js';

export interface SqliteStoreOptions {
  /** How long a write waits for another process's write lock before failing (default 5000). */
  busyTimeoutMs?: number;
  /** Commit accepts that arrive together in one transaction (default true). */
  groupCommit?: boolean;
  /** Prepared statements kept for reuse (default 256). */
  statementCacheSize?: number;
  /** Sees every query with its duration (metrics, tests of query plans). */
  log?: (event: LogEvent) => void;
}

const sqliteDialect: LedgerDialect = {
  name: 'sqlite',
  migrations: sqliteMigrations,
  parseJson: (value) => (typeof value === 'string' ? JSON.parse(value) : value),
  forUpdate: (qb) => qb,
  forUpdateSkipLocked: (qb) => qb,
  lockKeys: async () => {},
  // BEGIN IMMEDIATE (see ImmediateSqliteDriver) already holds the write lock: migrators serialize.
  beginMigration: async () => {},
};

/**
 * Every transaction is BEGIN IMMEDIATE: it takes the write lock up front, so a transaction that
 * reads then writes never fails midway with SQLITE_BUSY because another process wrote in between;
 * it waits (busy_timeout) at BEGIN instead.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

/** Kysely prepares every query it runs; reusing the prepared statement saves that on hot paths. */
function withStatementCache(db: Database.Database, size: number): SqliteDialectConfig['database'] {
  const cache = new Map<string, Database.Statement>();
  return {
    close: () => db.close(),
    prepare: (text: string) => {
      let stmt = cache.get(text);
      if (!stmt) {
        // Statements with variable-length IN lists vary; a full reset keeps the cache bounded.
        if (cache.size >= size) cache.clear();
        stmt = db.prepare(text);
        cache.set(text, stmt);
      }
      return stmt;
    },
  };
}

export function openSqliteDatabase(filename: string, busyTimeoutMs = 5000): Database.Database {
  if (filename !== ':memory:' && filename !== '') mkdirSync(dirname(resolve(filename)), { recursive: true });
  const db = new Database(filename);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
  db.pragma('foreign_keys = ON');
  return db;
}

export function openSqliteStore(filename: string, options: SqliteStoreOptions = {}): KyselyStore {
  const raw = openSqliteDatabase(filename, options.busyTimeoutMs);
  const db = new Kysely<LedgerDatabase>({
    dialect: new ImmediateSqliteDialect({
      database: withStatementCache(raw, options.statementCacheSize ?? 256),
    }),
    ...(options.log ? { log: options.log } : {}),
  });
  return new KyselyStore(db, sqliteDialect, { groupCommitAccepts: options.groupCommit ?? true });
}
