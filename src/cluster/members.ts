/**
 * Cluster membership on a PostgreSQL ledger: each `callbackd serve` keeps a row in
 * `cluster_members` fresh with its heartbeat (its budget share and the leases it holds), and
 * takes part in the named leases it is given (the notification listener's leadership). A member
 * whose heartbeat is older than memberTimeoutMs counts as gone; its leases expire by then too.
 */
import type { Queryable, SharedBudget } from './budget.js';
import { DB_NOW_MS, Lease } from './lease.js';

export interface MemberIdentity {
  id: string;
  host: string;
  pid: number;
  version: string;
  /** SHA-256 of the instance's config without secrets and listen address (instances must agree). */
  configHash: string;
}

export interface ClusterMember extends MemberIdentity {
  startedAt: number;
  heartbeatAt: number;
  /** Heartbeat within memberTimeoutMs. */
  alive: boolean;
  /** Platform requests this member was granted in the last minute (its share of the one budget). */
  budgetGrantedLastMinute: number | null;
  /** Named cluster leases held (e.g. events-listener), and ledger jobs leased right now. */
  leases: string[];
  jobsLeased: number;
}

export interface ClusterSnapshot {
  self: string;
  ledger: 'postgres' | 'sqlite';
  heartbeatIntervalMs: number;
  memberTimeoutMs: number;
  budget: { requestsPerMinute: number; burst: number; shared: boolean };
  leader: { lease: string; holder: string | null; token: number | null } | null;
  members: ClusterMember[];
}

/** What the API and /metrics read. */
export interface ClusterView {
  snapshot(): Promise<ClusterSnapshot>;
}

/** A leadership role: started while this member holds its lease, stopped when it loses it. */
export interface LeaderRole {
  lease: string;
  start(token: number): void | Promise<void>;
  stop(): void | Promise<void>;
}

export interface MembershipOptions {
  db: Queryable;
  identity: MemberIdentity;
  heartbeatIntervalMs: number;
  memberTimeoutMs: number;
  budget: SharedBudget;
  roles?: readonly LeaderRole[];
  /** The app's clock (jobs' lease times are on it). */
  now: () => number;
  onError?: (err: unknown, context: string) => void;
  onLeadership?: (lease: string, held: boolean, token: number | null) => void;
}

/** Members gone longer than this many timeouts are deleted from the view. */
const FORGET_AFTER_TIMEOUTS = 30;

export class ClusterMembership implements ClusterView {
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private readonly leases: { role: LeaderRole; lease: Lease; active: boolean; stepDown?: NodeJS.Timeout }[];
  private stopped = false;

  constructor(private readonly opts: MembershipOptions) {
    this.leases = (opts.roles ?? []).map((role) => ({
      role,
      lease: new Lease(opts.db, role.lease, opts.identity.id, opts.memberTimeoutMs),
      active: false,
    }));
  }

  get id(): string {
    return this.opts.identity.id;
  }

  /** Registers this member and runs the first heartbeat (leadership included) before returning. */
  async start(): Promise<void> {
    const m = this.opts.identity;
    await this.opts.db.query(
      `insert into cluster_members (id, host, pid, version, config_hash, started_at, heartbeat_at)
       values ($1, $2, $3, $4, $5, ${DB_NOW_MS}, ${DB_NOW_MS})
       on conflict (id) do update set heartbeat_at = excluded.heartbeat_at`,
      [m.id, m.host, m.pid, m.version, m.configHash],
    );
    await this.beat();
    this.schedule();
  }

  private schedule() {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.beating = this.beat().finally(() => {
        this.beating = null;
        this.schedule();
      });
    }, this.opts.heartbeatIntervalMs);
    this.timer.unref();
  }

  /** One heartbeat: renew or take the leases, then record this member's state. Never throws. */
  async beat(): Promise<void> {
    for (const l of this.leases) {
      let token: number | null = null;
      let renewed = false;
      try {
        token = await l.lease.tryHold();
        renewed = true;
      } catch (err) {
        this.opts.onError?.(err, `lease ${l.lease.name}`);
        // Unreachable ledger: keep the role only while the last renewal is still valid locally.
        token = l.lease.token;
      }
      await this.setActive(l, token);
      // Give the role up when the holding runs out locally, even if the next heartbeat is stuck
      // (an unreachable ledger): by then another member may hold the lease.
      if (renewed) {
        clearTimeout(l.stepDown);
        if (l.active) {
          l.stepDown = setTimeout(() => void this.setActive(l, l.lease.token), l.lease.ttlMs + 1);
          l.stepDown.unref();
        }
      }
    }
    try {
      const held = this.leases.filter((l) => l.active).map((l) => l.lease.name);
      await this.opts.db.query(
        `update cluster_members set heartbeat_at = ${DB_NOW_MS}, budget_granted_last_minute = $2, leases = $3
         where id = $1`,
        [this.id, this.opts.budget.grantedLastMinute(), JSON.stringify(held)],
      );
      await this.opts.db.query(`delete from cluster_members where heartbeat_at < ${DB_NOW_MS} - $1::bigint`, [
        this.opts.memberTimeoutMs * FORGET_AFTER_TIMEOUTS,
      ]);
    } catch (err) {
      this.opts.onError?.(err, 'heartbeat');
    }
  }

  private async setActive(l: (typeof this.leases)[number], token: number | null) {
    const held = token !== null && !this.stopped;
    if (held === l.active) return;
    l.active = held;
    this.opts.onLeadership?.(l.lease.name, held, token);
    try {
      if (held) await l.role.start(token);
      else await l.role.stop();
    } catch (err) {
      this.opts.onError?.(err, `role ${l.lease.name}`);
    }
  }

  /** Stops the roles, gives the leases up at once (so another member takes over without waiting) and leaves. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.beating;
    for (const l of this.leases) {
      clearTimeout(l.stepDown);
      await this.setActive(l, null);
      await l.lease.release().catch((err) => this.opts.onError?.(err, `release ${l.lease.name}`));
    }
    await this.opts.db
      .query('delete from cluster_members where id = $1', [this.id])
      .catch((err) => this.opts.onError?.(err, 'leave'));
  }

  async snapshot(): Promise<ClusterSnapshot> {
    const { rows } = await this.opts.db.query<{
      id: string;
      host: string;
      pid: number;
      version: string;
      config_hash: string;
      started_at: number | string;
      heartbeat_at: number | string;
      budget_granted_last_minute: number;
      leases: string;
      alive: boolean;
    }>(
      `select m.*, m.heartbeat_at >= ${DB_NOW_MS} - $1::bigint as alive
       from cluster_members m order by m.started_at, m.id`,
      [this.opts.memberTimeoutMs],
    );
    // Each job kind's loop leases as <memberId>/<kind>.
    const jobs = await this.opts.db.query<{ member: string; n: number | string }>(
      `select split_part(locked_by, '/', 1) as member, count(*) as n from jobs
       where locked_by is not null and locked_until > $1 group by 1`,
      [this.opts.now()],
    );
    const jobsBy = new Map(jobs.rows.map((r) => [r.member, Number(r.n)]));
    const leaderLease = this.leases[0]?.lease.name;
    const leader = leaderLease ? await Lease.read(this.opts.db, leaderLease) : null;
    return {
      self: this.id,
      ledger: 'postgres',
      heartbeatIntervalMs: this.opts.heartbeatIntervalMs,
      memberTimeoutMs: this.opts.memberTimeoutMs,
      budget: {
        requestsPerMinute: this.opts.budget.requestsPerMinute,
        burst: this.opts.budget.burst,
        shared: true,
      },
      leader: leaderLease
        ? {
            lease: leaderLease,
            holder: leader?.live ? leader.holder : null,
            token: leader?.token ?? null,
          }
        : null,
      members: rows.map((r) => ({
        id: r.id,
        host: r.host,
        pid: r.pid,
        version: r.version,
        configHash: r.config_hash,
        startedAt: Number(r.started_at),
        heartbeatAt: Number(r.heartbeat_at),
        alive: r.alive,
        budgetGrantedLastMinute: r.budget_granted_last_minute,
        leases: parseLeases(r.leases),
        jobsLeased: jobsBy.get(r.id) ?? 0,
      })),
    };
  }
}

function parseLeases(text: string): string[] {
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
