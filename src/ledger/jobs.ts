/** The jobs aggregate: durable work items (submit, cancel, reschedule) leased by the job runtime. */
import type { ExpressionBuilder, Selectable } from 'kysely';
import type { EpochMs } from '../domain/types.js';
import type { Db, LedgerDialect } from './dialect.js';
import type { Job, JobDraft, JobKind } from './port.js';
import type { JobsTable, LedgerDatabase } from './tables.js';

/** Inserts a job; `db` may be a transaction (a transition enqueues in its own). */
export async function insertJob(db: Db, job: JobDraft, createdAt: EpochMs): Promise<void> {
  await db
    .insertInto('jobs')
    .values({
      kind: job.kind,
      callback_pk: job.callbackPk,
      run_at: job.runAt,
      attempts: 0,
      locked_by: null,
      locked_until: null,
      last_error: null,
      payload: job.payload === undefined ? null : JSON.stringify(job.payload),
      created_at: createdAt,
    })
    .execute();
}

export class JobsLedger {
  constructor(
    private readonly db: Db,
    private readonly dialect: LedgerDialect,
  ) {}

  async enqueue(job: JobDraft): Promise<void> {
    await insertJob(this.db, job, job.runAt);
  }

  async lease(kind: JobKind, owner: string, limit: number, leaseMs: number, now: EpochMs): Promise<Job[]> {
    const free = (eb: ExpressionBuilder<LedgerDatabase, 'jobs'>) =>
      eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]);
    // The pick is a materialized CTE: as an `in (subquery)` PostgreSQL may re-run it per row and
    // overrun the limit. The lease is the guarded update itself: `free` is re-checked per row.
    const rows = await this.db
      .with(
        (cte) => cte('picked').materialized(),
        (db) =>
          this.dialect.forUpdateSkipLocked(
            db
              .selectFrom('jobs')
              .select('id')
              .where('kind', '=', kind)
              .where('run_at', '<=', now)
              .where(free)
              .orderBy('run_at')
              .orderBy('id')
              .limit(limit),
          ),
      )
      .updateTable('jobs')
      .set((eb) => ({ locked_by: owner, locked_until: now + leaseMs, attempts: eb('attempts', '+', 1) }))
      .where('id', 'in', (eb) => eb.selectFrom('picked').select('picked.id'))
      .where(free)
      .returningAll()
      .execute();
    return rows.map((r) => this.toJob(r)).sort((a, b) => a.runAt - b.runAt || a.id - b.id);
  }

  async complete(id: number, owner: string): Promise<void> {
    // Only the lease holder may finish a job; a worker whose lease expired finds nothing to delete.
    await this.db.deleteFrom('jobs').where('id', '=', id).where('locked_by', '=', owner).execute();
  }

  async retry(id: number, owner: string, runAt: EpochMs, error: string): Promise<void> {
    await this.db
      .updateTable('jobs')
      .set({ run_at: runAt, last_error: error, locked_by: null, locked_until: null })
      .where('id', '=', id)
      .where('locked_by', '=', owner)
      .execute();
  }

  async releaseLeases(owner: string): Promise<void> {
    await this.db
      .updateTable('jobs')
      .set({ locked_by: null, locked_until: null })
      .where('locked_by', '=', owner)
      .execute();
  }

  private toJob(r: Selectable<JobsTable>): Job {
    return {
      id: r.id,
      kind: r.kind as JobKind,
      callbackPk: r.callback_pk,
      runAt: r.run_at,
      attempts: r.attempts,
      lockedBy: r.locked_by,
      lockedUntil: r.locked_until,
      lastError: r.last_error,
      payload: r.payload === null ? undefined : this.dialect.parseJson(r.payload),
    };
  }
}
