/**
 * The PostgreSQL adapter: a pg Pool behind Kysely. BIGINT columns (every time, every pk) are
 * parsed to JS numbers for this pool only; `schema` puts every table in one schema through the
 * connection's search_path (tests use a fresh schema per file).
 */
import { Kysely, type LogEvent, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { postgresLockKeys } from '../booking.js';
import type { LedgerDialect } from '../dialect.js';
import { LedgerError } from '../errors.js';
import { KyselyStore } from '../store.js';
import type { LedgerDatabase } from '../tables.js';
import { postgresMigrations } from './migrations/index.js';

export interface PostgresStoreOptions {
  /** Schema holding the ledger (created by migrate); default: `?schema=` in the URL, else the server's search_path. */
  schema?: string;
  /** Most connections the pool opens (default 10). */
  poolMax?: number;
  /** How long to wait for a connection before failing (default 5000). */
  connectionTimeoutMs?: number;
  /** Called with errors of idle pooled connections (the pool replaces them). */
  onPoolError?: (err: Error) => void;
  /** Sees every query with its duration (metrics, tests of query plans). */
  log?: (event: LogEvent) => void;
}

/** Arbitrary, fixed: every callbackd migrator takes the same advisory lock. */
const MIGRATION_LOCK_KEY = 740_271_133;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

const INT8_OID = 20;
const bigintAsNumber: pg.CustomTypesConfig = {
  // Epoch ms and pks stay far below 2^53.
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

function postgresDialect(schema: string | undefined): LedgerDialect {
  return {
    name: 'postgres',
    migrations: postgresMigrations,
    parseJson: (value) => value,
    forUpdate: (qb) => qb.forUpdate(),
    forUpdateSkipLocked: (qb) => qb.forUpdate().skipLocked(),
    lockKeys: postgresLockKeys,
    beginMigration: async (trx) => {
      await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`.execute(trx);
      if (schema) await sql`create schema if not exists ${sql.id(schema)}`.execute(trx);
    },
  };
}

/**
 * A pg Pool on the ledger's database and schema (`url` may carry `?schema=name`, e.g. in
 * CALLBACKD_DB; an explicit `options.schema` wins). The cluster coordination opens its own small
 * pool with it, so its heartbeats never queue behind the ledger's work.
 */
export function openPostgresPool(
  url: string,
  options: PostgresStoreOptions = {},
): { pool: pg.Pool; schema: string | undefined } {
  const parsed = new URL(url);
  const schemaParam = parsed.searchParams.get('schema');
  parsed.searchParams.delete('schema');
  const schema = options.schema ?? schemaParam ?? undefined;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new LedgerError(
      'LEDGER_INVALID_SCHEMA',
      `schema ${JSON.stringify(schema)} is not a plain lower-case identifier ([a-z_][a-z0-9_]*, at most 63 characters)`,
    );
  }
  const pool = new pg.Pool({
    connectionString: parsed.toString(),
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
    application_name: 'callbackd',
    types: bigintAsNumber,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  pool.on('error', (err) => options.onPoolError?.(err));
  return { pool, schema };
}

export function openPostgresStore(url: string, options: PostgresStoreOptions = {}): KyselyStore {
  const { pool, schema } = openPostgresPool(url, options);
  const db = new Kysely<LedgerDatabase>({
    dialect: new PostgresDialect({ pool }),
    ...(options.log ? { log: options.log } : {}),
  });
  return new KyselyStore(db, postgresDialect(schema));
}
