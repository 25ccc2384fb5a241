/**
 * The capacity pre-flight's observation cache in the ledger (capacity_observations), so N
 * instances ask the platform for a queue's waiting callbacks once per cache window, not N times;
 * a create one instance sent counts for the others until the next observation.
 */
import { type Kysely, sql } from 'kysely';
import type { EpochMs } from '../domain/types.js';
import type { SharedCapacityCache } from '../jobs/capacity.js';
import type { LedgerDatabase } from '../ledger/tables.js';

export function ledgerCapacityCache(db: Kysely<LedgerDatabase>): SharedCapacityCache {
  return {
    async get(queueId) {
      const { rows } = await sql<{ waiting: number; observed_at: number | string }>`
        select waiting, observed_at from capacity_observations where queue_id = ${queueId}`.execute(db);
      const r = rows[0];
      return r ? { waiting: r.waiting, at: Number(r.observed_at) } : null;
    },
    async put(queueId: string, waiting: number, at: EpochMs) {
      await sql`
        insert into capacity_observations (queue_id, waiting, observed_at) values (${queueId}, ${waiting}, ${at}::bigint)
        on conflict (queue_id) do update set waiting = excluded.waiting, observed_at = excluded.observed_at`.execute(
        db,
      );
    },
    async noteSubmitted(queueId) {
      await sql`update capacity_observations set waiting = waiting + 1 where queue_id = ${queueId}`.execute(
        db,
      );
    },
  };
}
