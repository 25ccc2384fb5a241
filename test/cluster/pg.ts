/** A fresh, migrated PostgreSQL schema per test, dropped afterwards; pools opened on it are closed. */
import pg from 'pg';
import { openPostgresPool, openPostgresStore } from '../../src/ledger/postgres/index.js';

export const PG_URL = process.env.CALLBACKD_TEST_PG_URL;

export interface TestSchema {
  name: string;
  /** A new pool on the schema (one per simulated instance). */
  pool(max?: number): pg.Pool;
  drop(): Promise<void>;
}

let seq = 0;

export async function freshSchema(url: string, label: string): Promise<TestSchema> {
  const name = `cb_${label}_${process.pid}_${Date.now().toString(36)}_${seq++}`;
  const store = openPostgresStore(url, { schema: name });
  try {
    await store.migrate();
  } finally {
    await store.close();
  }
  const pools: pg.Pool[] = [];
  return {
    name,
    pool(max = 4) {
      const { pool } = openPostgresPool(url, { schema: name, poolMax: max });
      pools.push(pool);
      return pool;
    },
    async drop() {
      await Promise.all(pools.splice(0).map((p) => p.end().catch(() => undefined)));
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`drop schema if exists "${name}" cascade`);
      } finally {
        await client.end();
      }
    },
  };
}

/** The most items of `times` (sorted or not) inside any half-open window [t, t + windowMs). */
export function busiestWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi]! - sorted[lo]! >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}
