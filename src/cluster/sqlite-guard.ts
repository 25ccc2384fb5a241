/**
 * SQLite takes one callbackd process per ledger file (its group commit and leases assume it).
 * A serve holds an exclusive lock on `<file>.serve-lock` for its whole life; the operating system
 * drops the lock when the process ends, however it ends (SIGKILL included), so there is no stale
 * lock to clean up. One-shot commands (`keys create`, `migrate`) do not take it: they may run next
 * to a serve, as before.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { LedgerError } from '../ledger/errors.js';

export interface SqliteServeLock {
  release(): void;
}

export function serveLockPath(ledgerFile: string): string {
  return `${resolve(ledgerFile)}.serve-lock`;
}

/** Takes the file's serve lock, or throws LEDGER_IN_USE saying what to do instead. */
export function lockSqliteLedger(ledgerFile: string): SqliteServeLock {
  const path = serveLockPath(ledgerFile);
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { timeout: 0 });
  try {
    // Rollback journal (the default), not WAL: the exclusive transaction holds the file's lock until close.
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('begin exclusive');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new LedgerError(
        'LEDGER_IN_USE',
        `another callbackd serve is already using the SQLite ledger ${resolve(ledgerFile)} (it holds ${path}). ` +
          'SQLite takes one process per file: stop that process first, or run several instances on ' +
          'PostgreSQL (CALLBACKD_DB=postgres://user@host/db), which coordinates them.',
      );
    }
    throw err;
  }
  return {
    release: () => {
      if (db.open) db.close();
    },
  };
}
