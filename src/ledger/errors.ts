/**
 * Errors the ledger raises on purpose, with stable codes. Anything else a Store method throws is
 * the database failing (unreachable, disk full, locked past the busy timeout): the API answers 503.
 */
export type LedgerErrorCode =
  /** A transition named a terminal state in `from`: terminal states never change. */
  | 'LEDGER_TERMINAL_STATE'
  /** A transition with an empty `from` list (it could never apply). */
  | 'LEDGER_EMPTY_GUARD'
  /** The spec's scheduledTime is not an ISO instant (validate before accepting). */
  | 'LEDGER_INVALID_SPEC'
  /** The database holds a migration this build does not know (it was migrated by a newer build). */
  | 'LEDGER_SCHEMA_NEWER'
  /** An applied migration's SQL differs from the file that shipped it (landed migrations never change). */
  | 'LEDGER_MIGRATION_CHANGED'
  /** A PostgreSQL schema name outside [a-z_][a-z0-9_]*. */
  | 'LEDGER_INVALID_SCHEMA'
  /** A SQLite ledger file already served by another process (SQLite takes one process per file). */
  | 'LEDGER_IN_USE';

export class LedgerError extends Error {
  override readonly name = 'LedgerError';
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isLedgerError(err: unknown): err is LedgerError {
  return err instanceof LedgerError;
}
