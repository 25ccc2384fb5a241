/**
 * Applies the numbered migrations in order, each in its own transaction together with its row in
 * `schema_migrations`, so a migration is either fully applied and recorded or not at all.
 * Safe to run again (applied ones are skipped) and from several processes at once (the dialect
 * serializes migrators: BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL).
 */
import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { LedgerDialect } from './dialect.js';
import { LedgerError } from './errors.js';
import type { Migration } from './migration.js';
import type { LedgerDatabase } from './tables.js';

export function migrationChecksum(m: Migration): string {
  return createHash('sha256').update(m.up.join('\n;\n')).digest('hex');
}

export async function runMigrations(db: Kysely<LedgerDatabase>, dialect: LedgerDialect): Promise<string[]> {
  const known = new Set(dialect.migrations.map((m) => m.id));
  const applied: string[] = [];

  await db.transaction().execute(async (trx) => {
    await dialect.beginMigration(trx);
    await sql`create table if not exists schema_migrations (
      id text primary key,
      checksum text not null,
      applied_at bigint not null
    )`.execute(trx);
    const rows = await trx.selectFrom('schema_migrations').select('id').execute();
    const unknown = rows.map((r) => r.id).filter((id) => !known.has(id));
    if (unknown.length > 0) {
      throw new LedgerError(
        'LEDGER_SCHEMA_NEWER',
        `the ledger has migrations this build does not know (${unknown.join(', ')}): it was migrated by a newer callbackd; run that version or newer`,
      );
    }
  });

  for (const m of dialect.migrations) {
    const checksum = migrationChecksum(m);
    await db.transaction().execute(async (trx) => {
      await dialect.beginMigration(trx);
      const done = await trx
        .selectFrom('schema_migrations')
        .select('checksum')
        .where('id', '=', m.id)
        .executeTakeFirst();
      if (done) {
        if (done.checksum !== checksum) {
          throw new LedgerError(
            'LEDGER_MIGRATION_CHANGED',
            `migration ${m.id} differs from the one applied to this ledger: landed migrations never change; restore the file and put the change in a new numbered migration`,
          );
        }
        return;
      }
      for (const statement of m.up) await sql.raw(statement).execute(trx);
      // Audit metadata only: when the schema changed, not a business time.
      await trx
        .insertInto('schema_migrations')
        .values({ id: m.id, checksum, applied_at: Date.now() })
        .execute();
      applied.push(m.id);
    });
  }
  return applied;
}
