import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, describe, it } from 'vitest';
import { openPostgresStore } from '../../src/ledger/index.js';
import type { KyselyStore } from '../../src/ledger/store.js';
import { storeContract } from './contract.js';

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
}
