/**
 * Work split on a PostgreSQL ledger, so N instances do the tracking work once, not N times:
 * - a tracking read is claimed before it is made: one guarded statement moves each callback's
 *   last_checked_at from the value the poll saw to now, and only the instance whose claim
 *   matched reads it (the others see another value and skip it this poll);
 * - the reconciliation sweep runs once per sweepIntervalMs for the whole cluster, and its position
 *   lives in the ledger, so whichever instance sweeps next resumes where the last one stopped.
 */
import { type Kysely, sql } from 'kysely';
import type { EpochMs } from '../domain/types.js';
import type { CallbackRecord } from '../ledger/port.js';
import type { LedgerDatabase } from '../ledger/tables.js';

const SWEEP_POSITION = 'tracker-sweep';

/** Returns the callbacks this instance claimed, in the order given. */
export function readClaimer(db: Kysely<LedgerDatabase>, now: () => EpochMs) {
  return async (recs: readonly CallbackRecord[]): Promise<CallbackRecord[]> => {
    if (recs.length === 0) return [];
    const values = sql.join(recs.map((r) => sql`(${r.pk}::bigint, ${r.lastCheckedAt}::bigint)`));
    const { rows } = await sql<{ pk: number | string }>`
      update callbacks as c set last_checked_at = ${now()}::bigint
      from (values ${values}) as v(pk, seen)
      where c.pk = v.pk and c.last_checked_at is not distinct from v.seen
      returning c.pk`.execute(db);
    const claimed = new Set(rows.map((r) => Number(r.pk)));
    return recs.filter((r) => claimed.has(r.pk));
  };
}

/** The sweep's resume point, shared by every instance (null: start from the beginning). */
export function sharedSweepPosition(db: Kysely<LedgerDatabase>, memberId: string) {
  return {
    /**
     * Takes the cluster's next sweep if none ran within intervalMs (one guarded statement on the
     * row's expires_at, used here as "last swept at" on the app's clock): N instances sweep as
     * often as one would.
     */
    async claimTurn(now: EpochMs, intervalMs: number): Promise<boolean> {
      const { rows } = await sql<{ name: string }>`
        insert into cluster_leases as l (name, holder, token, expires_at, state)
        values (${SWEEP_POSITION}, ${memberId}, 0, ${now}::bigint, null)
        on conflict (name) do update set holder = excluded.holder, expires_at = excluded.expires_at
        where l.expires_at <= ${now - intervalMs}::bigint or l.expires_at > ${now}::bigint
        returning l.name`.execute(db);
      return rows.length > 0;
    },
    async load(): Promise<number | null> {
      const { rows } = await sql<{ state: string | null }>`
        select state from cluster_leases where name = ${SWEEP_POSITION}`.execute(db);
      const v = rows[0]?.state;
      return v ? Number(v) : null;
    },
    async save(pk: number | null): Promise<void> {
      await sql`
        insert into cluster_leases (name, holder, token, expires_at, state)
        values (${SWEEP_POSITION}, ${memberId}, 0, 0, ${pk === null ? null : String(pk)})
        on conflict (name) do update set state = excluded.state, holder = excluded.holder`.execute(db);
    },
  };
}

export type SweepPosition = ReturnType<typeof sharedSweepPosition>;
