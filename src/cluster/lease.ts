/**
 * A named lease in `cluster_leases`, held by one cluster member at a time: taken when free or
 * expired, renewed by its holder's heartbeat, on the database's clock. Its fencing token grows by
 * one whenever the holder changes (release keeps the row, so the token never goes back), so work
 * done under the lease can be checked against the token it was started with.
 */
import type { Queryable } from './budget.js';

/** The database's clock in epoch ms, as SQL. */
export const DB_NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

export interface LeaseState {
  holder: string;
  token: number;
  expiresAt: number;
  /** Not expired on the database's clock. */
  live: boolean;
}

export class Lease {
  /** The token of the current holding, or null when this member does not hold the lease. */
  private heldToken: number | null = null;
  /** Local monotonic time by which the holding must be renewed, measured from before the renewal was sent. */
  private validUntil = 0;

  constructor(
    private readonly db: Queryable,
    readonly name: string,
    readonly holder: string,
    readonly ttlMs: number,
  ) {}

  /** The fencing token while held (and not past its local expiry), else null. */
  get token(): number | null {
    if (this.heldToken !== null && performance.now() >= this.validUntil) this.heldToken = null;
    return this.heldToken;
  }

  /** Takes the lease if it is free or expired, renews it if held; returns the token, or null when another member holds it. */
  async tryHold(): Promise<number | null> {
    const sentAt = performance.now();
    const { rows } = await this.db.query<{ token: number | string }>(
      `insert into cluster_leases as l (name, holder, token, expires_at)
       values ($1, $2, 1, ${DB_NOW_MS} + $3::bigint)
       on conflict (name) do update set
         holder = excluded.holder,
         token = case when l.holder = excluded.holder and l.expires_at >= ${DB_NOW_MS} then l.token else l.token + 1 end,
         expires_at = excluded.expires_at
       where l.holder = excluded.holder or l.expires_at < ${DB_NOW_MS}
       returning l.token`,
      [this.name, this.holder, this.ttlMs],
    );
    const row = rows[0];
    if (!row) {
      this.heldToken = null;
      return null;
    }
    // The database's expiry is counted from after the statement ran, ours from before it was sent:
    // this member always gives the lease up before another can take it.
    this.validUntil = sentAt + this.ttlMs;
    this.heldToken = Number(row.token);
    return this.heldToken;
  }

  /** Gives the lease up at once (the row stays, so the next holder's token is higher). */
  async release(): Promise<void> {
    this.heldToken = null;
    await this.db.query(
      `update cluster_leases set expires_at = 0 where name = $1 and holder = $2 and expires_at > 0`,
      [this.name, this.holder],
    );
  }

  /** Whether `token` is still the live holding of this lease (a fencing check before recording). */
  async stillHolds(token: number): Promise<boolean> {
    const { rows } = await this.db.query(
      `select 1 from cluster_leases where name = $1 and holder = $2 and token = $3 and expires_at > ${DB_NOW_MS}`,
      [this.name, this.holder, token],
    );
    return rows.length > 0;
  }

  static async read(db: Queryable, name: string): Promise<LeaseState | null> {
    const { rows } = await db.query<{
      holder: string;
      token: number | string;
      expires_at: number | string;
      live: boolean;
    }>(
      `select holder, token, expires_at, expires_at > ${DB_NOW_MS} as live from cluster_leases where name = $1`,
      [name],
    );
    const r = rows[0];
    return r
      ? { holder: r.holder, token: Number(r.token), expiresAt: Number(r.expires_at), live: r.live }
      : null;
  }
}
