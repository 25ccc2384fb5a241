/**
 * One platform budget for every instance on a PostgreSQL ledger: `genesys.requestsPerMinute`
 * holds for the cluster together, not per process.
 *
 * The budget is a GCRA (the virtual-scheduling form of a token bucket) kept in one row,
 * `cluster_budget.tat_ms`, on the database's clock. Each request is one guarded upsert that moves
 * the row's theoretical arrival time on by the emission interval T and returns when the request
 * may go; the caller sleeps until then. With a burst of C and T = 60 s / (N − C), any 60 s window
 * holds at most C + (N − C) = N grants, whichever instances asked, in whatever mix.
 *
 * Why not a library: rate-limiter-flexible's PostgreSQL store counts points per fixed window, so a
 * minute that straddles two windows can carry twice the budget, and it has no queueing; its author
 * says a rolling window cannot be built on it cheaply (discussion #126). Leased per-instance
 * slices would strand a dead instance's share until its lease ran out and leave a lone instance
 * short; one shared row has no shares to strand: a dead instance simply stops asking, and a lone
 * one gets every grant.
 *
 * Grants are times on the database's clock; each instance waits relative to the database's "now",
 * so clock skew between hosts does not matter. What is not controlled is the few ms between a
 * grant and the request leaving the process, so 1% of the budget (at least one request) is held
 * back for that jitter.
 */
import type { RequestLimiter } from '../genesys/limiter.js';
import { sleep as realSleep, type Sleep } from '../shared/sleep.js';

/** What the budget needs of a database connection (a pg Pool or Client fits). */
export interface Queryable {
  query<R extends object = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

export interface SharedBudgetOptions {
  db: Queryable;
  /** The budget's row; instances that share a platform org share the name. */
  name?: string;
  requestsPerMinute: number;
  /** Requests allowed back to back after an idle spell (default a twentieth of the budget, 1–10). */
  burst?: number;
  sleep?: Sleep;
  /** The window requestsPerMinute is counted over; only tests shorten it (default 60 000). */
  windowMs?: number;
}

const MINUTE_MS = 60_000;
export const DEFAULT_BUDGET_NAME = 'genesys';
/** Cap of the default burst: it is paid for in sustained rate, (N − C) / N of the budget. */
export const MAX_DEFAULT_BURST = 10;

/** The effective parameters: budget less the jitter reserve, the burst, the emission interval. */
export function budgetParameters(requestsPerMinute: number, burst?: number, windowMs = MINUTE_MS) {
  if (!Number.isFinite(requestsPerMinute) || requestsPerMinute < 3) {
    throw new RangeError(`requestsPerMinute must be at least 3, got ${requestsPerMinute}`);
  }
  const usable = requestsPerMinute - Math.max(1, Math.ceil(requestsPerMinute / 100));
  const c = Math.max(
    1,
    Math.min(burst ?? Math.min(MAX_DEFAULT_BURST, Math.floor(requestsPerMinute / 20)), usable - 1),
  );
  const emissionMs = windowMs / (usable - c);
  return { usable, burst: c, emissionMs, toleranceMs: (c - 1) * emissionMs };
}

/** One grant, on the database's clock. */
export interface Grant {
  /** When the request may go (epoch ms, database clock). */
  atMs: number;
  /** The database's clock when the grant was made. */
  nowMs: number;
}

export class SharedBudget implements RequestLimiter {
  readonly requestsPerMinute: number;
  readonly burst: number;
  readonly emissionMs: number;
  private readonly windowMs: number;
  private readonly toleranceMs: number;
  private readonly name: string;
  private readonly db: Queryable;
  private readonly sleep: Sleep;
  /** Local times of this instance's grants in the last minute (its share, for the cluster view). */
  private recent: number[] = [];

  constructor(opts: SharedBudgetOptions) {
    const p = budgetParameters(opts.requestsPerMinute, opts.burst, opts.windowMs);
    this.requestsPerMinute = opts.requestsPerMinute;
    this.burst = p.burst;
    this.emissionMs = p.emissionMs;
    this.toleranceMs = p.toleranceMs;
    this.windowMs = opts.windowMs ?? MINUTE_MS;
    this.name = opts.name ?? DEFAULT_BUDGET_NAME;
    this.db = opts.db;
    this.sleep = opts.sleep ?? realSleep;
  }

  /**
   * Takes the next slot of the shared schedule: one statement, the row lock orders concurrent
   * callers. With maxWaitMs, the slot is taken only if it comes within that long; otherwise
   * nothing changes and null is returned.
   */
  async reserve(maxWaitMs = Number.MAX_SAFE_INTEGER): Promise<Grant | null> {
    const { rows } = await this.db.query<{ tat_ms: number | string; now_ms: number | string }>(
      `with c as (select (extract(epoch from clock_timestamp()) * 1000)::float8 as now_ms)
       insert into cluster_budget as b (name, tat_ms)
       select $1, c.now_ms + $2::float8 from c
       on conflict (name) do update set tat_ms = greatest(b.tat_ms, excluded.tat_ms - $2::float8) + $2::float8
       where greatest(b.tat_ms, excluded.tat_ms - $2::float8) - $3::float8 <= excluded.tat_ms - $2::float8 + $4::float8
       returning b.tat_ms, (select now_ms from c) as now_ms`,
      [this.name, this.emissionMs, this.toleranceMs, Math.max(0, maxWaitMs)],
    );
    const row = rows[0];
    if (!row) return null;
    const tat = Number(row.tat_ms);
    const now = Number(row.now_ms);
    return { atMs: Math.max(now, tat - this.emissionMs - this.toleranceMs), nowMs: now };
  }

  /**
   * Waits for this request's slot. An aborted wait wastes its slot rather than handing it back:
   * later grants are already scheduled after it, and moving the schedule back could let a
   * window carry more than the budget. A slot later than maxWaitMs is not taken at all.
   */
  async acquire(signal?: AbortSignal, maxWaitMs?: number): Promise<boolean> {
    if (signal?.aborted) return false;
    const grant = await this.reserve(maxWaitMs);
    if (!grant) return false;
    const waitMs = Math.ceil(grant.atMs - grant.nowMs);
    if (waitMs > 0) await this.sleep(waitMs, signal);
    if (signal?.aborted) return false;
    this.recent.push(Date.now());
    return true;
  }

  /** Grants this instance used in the last window (a minute). */
  grantedLastMinute(nowMs = Date.now()): number {
    const from = nowMs - this.windowMs;
    let i = 0;
    while (i < this.recent.length && this.recent[i]! <= from) i++;
    if (i > 0) this.recent = this.recent.slice(i);
    return this.recent.length;
  }
}
