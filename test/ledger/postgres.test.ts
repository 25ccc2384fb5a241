import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openPostgresStore, openStore } from '../../src/ledger/index.js';
import type { KyselyStore } from '../../src/ledger/store.js';
import { makeSpec, storeContract } from './contract.js';

const url = process.env.CALLBACKD_TEST_PG_URL;

if (!url) {
  describe('PostgreSQL store contract', () => {
    it.skip('skipped: set CALLBACKD_TEST_PG_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run it', () => {});
  });
} else {
  const pgUrl = url;
  // One fresh schema for this file, emptied before each test, dropped at the end.
  const schema = `cbtest_${process.pid}_${Date.now().toString(36)}`;
  const opened: KyselyStore[] = [];
  let migrated = false;

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    try {
      await client.query(`drop schema if exists "${schema}" cascade`);
    } finally {
      await client.end();
    }
  });

  const open = () => {
    const store = openPostgresStore(pgUrl, { schema, poolMax: 10 });
    opened.push(store);
    return store;
  };

  describe('PostgreSQL store contract', () => {
    storeContract({
      async fresh() {
        const store = open();
        if (!migrated) {
          await store.migrate();
          migrated = true;
        } else {
          // DELETE, not TRUNCATE: on these tiny tables it is ~100x faster.
          await sql`delete from outbox; delete from jobs; delete from callback_history; delete from callbacks; delete from api_keys; delete from tenants`.execute(
            store.kysely,
          );
        }
        return store;
      },
      async sibling() {
        return open();
      },
    });
  });

  describe('PostgreSQL connection settings', () => {
    it('openStore takes the schema from ?schema= in the URL and keeps every table in it', async () => {
      const urlSchema = `${schema}_url`;
      const withParam = new URL(pgUrl);
      withParam.searchParams.set('schema', urlSchema);
      const store = openStore(withParam.toString());
      opened.push(store);
      try {
        await store.migrate();
        const tables = await sql<{ table_name: string }>`
          select table_name from information_schema.tables where table_schema = ${urlSchema} order by table_name`.execute(
          store.kysely,
        );
        expect(tables.rows.map((r) => r.table_name)).toEqual([
          'api_keys',
          'callback_history',
          'callbacks',
          'capacity_observations',
          'cluster_budget',
          'cluster_leases',
          'cluster_members',
          'dashboard_sessions',
          'jobs',
          'outbox',
          'schema_migrations',
          'slot_holds',
          'tenants',
        ]);
      } finally {
        await sql`drop schema if exists ${sql.id(urlSchema)} cascade`.execute(store.kysely);
      }
    });

    it('refuses a schema name that is not a plain identifier', () => {
      expect(() => openPostgresStore(pgUrl, { schema: 'x; drop table y' })).toThrow(
        /plain lower-case identifier/,
      );
    });

    it('returns times and pks as JS numbers', async () => {
      const store = open();
      await store.migrate();
      const res = await store.accept({
        tenantId: 't',
        spec: makeSpec('cb-num'),
        fingerprint: 'f',
        at: 1_893_456_000_123,
        outbox: [],
      });
      const stored = await store.getByPk(res.callback.pk);
      expect(typeof stored?.pk).toBe('number');
      expect(stored?.createdAt).toBe(1_893_456_000_123);
    });
  });
}
